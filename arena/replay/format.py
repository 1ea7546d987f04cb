"""The replay file: one game, readable with numpy and JSON alone (no pickle).

A replay is a zip archive (numpy's .npz layout) with two JSON members and columns of numbers as .npy members:

  header.json      format and version, scenario id and version, engine version, seed, players, limits, interface,
                   map, the unit types that appear (name, radius, sight, max HP and shields)
  outcome.json     each player's result (+1 win, 0 draw, -1 loss; one-player scenarios: the score), steps, game loops,
                   how it ended: "terminated" (the scenario's end), "truncated" (its time limit) or "stopped" (the
                   player stopped before either)
  actions.npy      int16 [T, P, 14]: what every player asked for at each step (ACTION_FIELDS); step t leads from
                   frame t to frame t + 1
  frame_*.npy      one row per frame (T + 1 frames: the start and after every step)
  unit_*.npy       one row per living unit per frame; frame f's units are rows frame_offsets[f] .. [f + 1]
  explain_*.npy    optional, a neural player's value estimate and top actions per frame (EXPLANATION_FIELDS)

`np.load(path)` opens it: arrays by name without ".npy", the JSON members as bytes ("header.json").
Positions are stored in 1/64 map units, HP and shields in quarters; frames compare exactly after that rounding.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from arena.files import atomic_path

FORMAT_NAME = "arena-replay"
FORMAT_VERSION = 1
SUFFIX = ".replay.npz"
POSITION_SCALE = 64.0
"""Stored positions are map units times this (uint16: maps up to 1024 map units wide)."""
HP_SCALE = 4.0
"""Stored HP and shields are these times this (uint16)."""

ACTION_FIELDS = ("function", "screen_x", "screen_y", "minimap_x", "minimap_y", "screen2_x", "screen2_y", "queued",
                 "select_point_act", "select_add", "control_group_act", "control_group_id", "select_worker")
"""Columns of actions.npy, a pysc2 FunctionCall's id and argument values (arena.interface.actions.BatchedAction)."""

UNIT_COLUMNS: dict[str, str] = {
    "slot": "int16",  # the unit's slot in the game (stable over its life: the viewer's identity of a unit)
    "type": "uint8",  # arena.sim.units.UnitType; header["unit_types"] names it
    "owner": "uint8",  # 0 player 1, 1 player 2, 2 neutral
    "x": "uint16",  # map units * POSITION_SCALE
    "y": "uint16",
    "hp": "uint16",  # * HP_SCALE
    "shields": "uint16",  # * HP_SCALE
    "order": "uint8",  # arena.sim.state.Order of the current order (0: idle)
    "target": "int16",  # slot the unit attacks or its order targets, -1 none
    "order_x": "uint16",  # the current order's point, * POSITION_SCALE
    "order_y": "uint16",
    "build": "uint8",  # 255: finished; otherwise progress of construction / morph, 0..254
    "selected": "uint8",  # bit p: selected by player p
    "visible": "uint8",  # bit p: seen by player p (its own units always; everything when fog is off)
}
"""Columns of the per-unit rows (unit_<name>.npy) and their dtypes."""

FRAME_COLUMNS: dict[str, str] = {
    "game_loop": "int32",  # [F]
    "camera": "float32",  # [F, P, 2] each agent player's camera centre in map units
    "reward": "float32",  # [F, P] the reward each player got on the step that led to this frame
    "score": "float32",  # [F, P] score_cumulative's score of each player
    "minerals": "float32",  # [F, P]
    "vespene": "float32",  # [F, P]
    "supply": "float32",  # [F, P, 2] supply used and cap (economy scenarios; zeros otherwise)
    "action_result": "int16",  # [F, P] pysc2's ActionResult of the player's last action (0: none that step)
    "apm_window": "int16",  # [F, P] counted actions in the APM cap's window (two-player scenarios under limits)
}
"""Columns of the per-frame arrays (frame_<name>.npy): F = T + 1 frames."""

EXPLANATION_FIELDS: dict[str, str] = {
    "value": "float32",  # [F, P] the player's value estimate (NaN where it gave none)
    "top_functions": "int16",  # [F, P, K] its most probable function ids, -1 padding
    "top_probs": "float32",  # [F, P, K]
    "heatmap": "uint8",  # [F, P, H, W] its spatial argument's probability over the screen, scaled to 0..255
}
"""Optional explanation columns of neural players (explain_<name>.npy): what the policy thought at each frame."""


class ReplayError(ValueError):
    """A replay file that cannot be read: it names the file and what is wrong."""

    def __init__(self, path: str | os.PathLike, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclasses.dataclass(frozen=True)
class Replay:
    """One recorded game: the header, every player's actions, the frames, the outcome, optional explanations."""

    header: dict[str, Any]
    outcome: dict[str, Any]
    actions: np.ndarray  # int16 [T, P, len(ACTION_FIELDS)]
    frames: dict[str, np.ndarray]  # FRAME_COLUMNS, each [F, ...]
    units: dict[str, np.ndarray]  # UNIT_COLUMNS, each [N]
    frame_offsets: np.ndarray  # int32 [F + 1]
    explanations: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.frame_offsets) - 1

    @property
    def num_players(self) -> int:
        return self.actions.shape[1]

    def frame_units(self, frame: int) -> dict[str, np.ndarray]:
        """The unit rows of one frame."""
        start, end = int(self.frame_offsets[frame]), int(self.frame_offsets[frame + 1])
        return {name: column[start:end] for name, column in self.units.items()}


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def replay_members(replay: Replay) -> dict[str, bytes]:
    """The archive's members, name -> bytes."""
    members = {"header.json": json.dumps(replay.header, sort_keys=True).encode(),
               "outcome.json": json.dumps(replay.outcome, sort_keys=True).encode(),
               "actions.npy": _npy_bytes(replay.actions.astype(np.int16)),
               "frame_offsets.npy": _npy_bytes(replay.frame_offsets.astype(np.int32))}
    for name, dtype in FRAME_COLUMNS.items():
        members[f"frame_{name}.npy"] = _npy_bytes(replay.frames[name].astype(dtype))
    for name, dtype in UNIT_COLUMNS.items():
        members[f"unit_{name}.npy"] = _npy_bytes(replay.units[name].astype(dtype))
    for name, array in replay.explanations.items():
        if name not in EXPLANATION_FIELDS:
            raise ValueError(f"unknown explanation {name!r}; known: {sorted(EXPLANATION_FIELDS)}")
        members[f"explain_{name}.npy"] = _npy_bytes(array.astype(EXPLANATION_FIELDS[name]))
    return members


def write_replay(path: str | os.PathLike, replay: Replay) -> Path:
    """Write `replay` to `path` (a temporary file renamed into place: a crash never leaves half a replay)."""
    path = Path(path)
    with atomic_path(path) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for name, data in replay_members(replay).items():
                archive.writestr(name, data)
    return path


def _read_json(archive: zipfile.ZipFile, name: str, path: str | os.PathLike) -> dict[str, Any]:
    try:
        value = json.loads(archive.read(name).decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReplayError(path, f"{name} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ReplayError(path, f"{name} should hold a JSON object, got {type(value).__name__}")
    return value


def _read_array(archive: zipfile.ZipFile, name: str, path: str | os.PathLike) -> np.ndarray:
    try:
        return np.lib.format.read_array(io.BytesIO(archive.read(name)), allow_pickle=False)
    except KeyError:
        raise ReplayError(path, f"the member {name} is missing") from None
    except ValueError as error:
        raise ReplayError(path, f"the member {name} is not a plain numpy array ({error})") from None


def check_header(header: dict[str, Any], path: str | os.PathLike) -> None:
    """Refuse files of another format or of a newer format version than this code reads."""
    if header.get("format") != FORMAT_NAME:
        raise ReplayError(path, f"not an arena replay (header format {header.get('format')!r})")
    version = header.get("format_version")
    if not isinstance(version, int):
        raise ReplayError(path, f"the header has no integer format_version (got {version!r})")
    if version > FORMAT_VERSION:
        raise ReplayError(path, f"format version {version} is newer than this arena reads ({FORMAT_VERSION}); "
                                "upgrade arena to read it")


def _check_shapes(replay: Replay, path: str | os.PathLike) -> None:
    F = replay.num_frames
    if F < 1:
        raise ReplayError(path, "it holds no frames")
    if replay.actions.ndim != 3 or replay.actions.shape[0] != F - 1 or replay.actions.shape[2] != len(ACTION_FIELDS):
        raise ReplayError(path, f"actions have shape {replay.actions.shape}, expected [{F - 1}, P, "
                                f"{len(ACTION_FIELDS)}] for {F} frames")
    offsets = replay.frame_offsets
    N = len(next(iter(replay.units.values())))
    if offsets[0] != 0 or offsets[-1] != N or bool(np.any(np.diff(offsets) < 0)):
        raise ReplayError(path, f"frame_offsets do not index the {N} unit rows in order")
    for name, column in {**replay.units}.items():
        if len(column) != N:
            raise ReplayError(path, f"unit_{name} has {len(column)} rows, unit_slot has {N}")
    for name, column in {**replay.frames, **replay.explanations}.items():
        if len(column) != F:
            raise ReplayError(path, f"{name} has {len(column)} frames, expected {F}")


def read_replay(path: str | os.PathLike) -> Replay:
    """Load a replay; a missing, truncated, corrupted or future-version file raises ReplayError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ReplayError(path, "no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "header.json" not in names:
                raise ReplayError(path, "not an arena replay (no header.json)")
            header = _read_json(archive, "header.json", path)
            check_header(header, path)
            outcome = _read_json(archive, "outcome.json", path) if "outcome.json" in names else {}
            frames = {name: _read_array(archive, f"frame_{name}.npy", path) for name in FRAME_COLUMNS}
            units = {name: _read_array(archive, f"unit_{name}.npy", path) for name in UNIT_COLUMNS}
            explanations = {name: _read_array(archive, f"explain_{name}.npy", path) for name in EXPLANATION_FIELDS
                            if f"explain_{name}.npy" in names}
            replay = Replay(header=header, outcome=outcome, actions=_read_array(archive, "actions.npy", path),
                            frames=frames, units=units,
                            frame_offsets=_read_array(archive, "frame_offsets.npy", path),
                            explanations=explanations)
    except zipfile.BadZipFile as error:
        raise ReplayError(path, f"truncated or not a replay archive ({error})") from None
    except (zipfile.LargeZipFile, EOFError, OSError) as error:
        raise ReplayError(path, f"cannot be read ({error})") from None
    except zlib.error as error:
        raise ReplayError(path, f"corrupted data ({error})") from None
    _check_shapes(replay, path)
    return replay


def read_header(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and outcome of a replay, without its arrays (for listings)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            header = _read_json(archive, "header.json", path)
            check_header(header, path)
            outcome = _read_json(archive, "outcome.json", path) if "outcome.json" in archive.namelist() else {}
    except KeyError:
        raise ReplayError(path, "not an arena replay (no header.json)") from None
    except zipfile.BadZipFile as error:
        raise ReplayError(path, f"truncated or not a replay archive ({error})") from None
    except (OSError, EOFError) as error:
        raise ReplayError(path, f"cannot be read ({error})") from None
    except zlib.error as error:
        raise ReplayError(path, f"corrupted data ({error})") from None
    return header, outcome


def replay_to_json(replay: Replay) -> dict[str, Any]:
    """The replay as plain JSON values for the browser viewer: positions in map units, HP as numbers.

    {"header", "outcome", "action_fields", "actions": [T][P][13], "frame_offsets": [F + 1],
     "frames": {name: [F] or [F][P] or [F][P][2]}, "units": {name: [N]}, "explanations": {name: ...}}
    """
    units = {name: column.tolist() for name, column in replay.units.items()}
    for name in ("x", "y", "order_x", "order_y"):
        units[name] = (replay.units[name] / POSITION_SCALE).round(3).tolist()
    for name in ("hp", "shields"):
        units[name] = (replay.units[name] / HP_SCALE).tolist()
    explanations = {name: np.where(np.isnan(a), None, a).tolist() if a.dtype.kind == "f" else a.tolist()
                    for name, a in replay.explanations.items()}
    return {"header": replay.header, "outcome": replay.outcome, "action_fields": list(ACTION_FIELDS),
            "actions": replay.actions.tolist(), "frame_offsets": replay.frame_offsets.tolist(),
            "frames": {name: column.tolist() for name, column in replay.frames.items()},
            "units": units, "explanations": explanations}


__all__ = ["ACTION_FIELDS", "EXPLANATION_FIELDS", "FORMAT_NAME", "FORMAT_VERSION", "FRAME_COLUMNS", "HP_SCALE",
           "POSITION_SCALE", "Replay", "ReplayError", "SUFFIX", "UNIT_COLUMNS", "check_header", "read_header",
           "read_replay", "replay_to_json", "write_replay"]
