"""Recording games from the batched path: a recorder taps the stream of a batched environment (the reset, then every
step's actions and results) and writes one replay per game when that game ends.

Per step it copies only small integer columns of the living units to the CPU, for all B games in one go; a game's
rows are gathered and compressed once, when the game ends, so the cost stays a small fraction of simulating it.
Each environment's first episode is recorded (what `agents.rollout.play_episodes` and `play_matches` play).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import torch

from arena.interface.actions import BatchedAction
from arena.interface.fog import units_in_sight, units_in_sight_of_units
from arena.replay.format import (ACTION_FIELDS, EXPLANATION_FIELDS, FORMAT_NAME, FORMAT_VERSION, FRAME_COLUMNS,
                                 HP_SCALE, POSITION_SCALE, SUFFIX, UNIT_COLUMNS, Replay, write_replay)
from arena.sim.economy import supply_cap, supply_used
from arena.sim.state import Score, State
from arena.sim.units import UnitTable, UnitType

if TYPE_CHECKING:
    from arena.env import ArenaEnv
    from arena.multi_env import ArenaMultiEnv

GAME_LOOPS_PER_SECOND = 22.4
"""Game loops per real second at the "faster" speed: StarCraft II's in-game clock (the mini-games' map timers count
game seconds of 16 game loops instead; specs/minigames.md, "Time")."""
FINISHED = 255
"""unit_build of a finished unit."""


def engine_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("sc2-arena")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclasses.dataclass(frozen=True)
class ReplaySampling:
    """Which games to keep: every `every`-th game (counting from the first), and with `decisive_only` only games a
    player won (two-player scenarios; one-player games always count as decisive)."""

    every: int = 1
    decisive_only: bool = False

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"replay sampling: every must be at least 1, got {self.every}")

    def keeps(self, game_index: int, result: Sequence[float], two_player: bool) -> bool:
        if game_index % self.every:
            return False
        return not (self.decisive_only and two_player and all(r == 0 for r in result))


def _action_rows(action: BatchedAction) -> torch.Tensor:
    """[B, 13] long: a BatchedAction in ACTION_FIELDS order."""
    return torch.cat([action.function[:, None], action.screen, action.minimap, action.screen2,
                      torch.stack([action.queued, action.select_point_act, action.select_add,
                                   action.control_group_act, action.control_group_id, action.select_worker], dim=1)],
                     dim=1)


def action_from_rows(rows: np.ndarray, device: torch.device | str = "cpu") -> BatchedAction:
    """The BatchedAction of rows [B, 13] (the inverse of the recording)."""
    t = torch.as_tensor(rows.astype(np.int64), device=device)
    return BatchedAction(function=t[:, 0], screen=t[:, 1:3], minimap=t[:, 3:5], screen2=t[:, 5:7], queued=t[:, 7],
                         select_point_act=t[:, 8], select_add=t[:, 9], control_group_act=t[:, 10],
                         control_group_id=t[:, 11], select_worker=t[:, 12])


def _bits(flags: list[torch.Tensor]) -> torch.Tensor:
    """[B, U] integer with bit p set where flags[p] holds."""
    out = torch.zeros_like(flags[0], dtype=torch.long)
    for p, flag in enumerate(flags):
        out |= flag.long() << p
    return out


def _quantize(value: torch.Tensor, scale: float, high: int = 65535) -> torch.Tensor:
    return (value * scale).round().clamp(0, high).long()


def unit_columns(state: State, table: UnitTable, visible: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """UNIT_COLUMNS of every unit slot [B, U] (long), before the living units are picked out."""
    B, U = state.unit_type.shape
    target = torch.where(state.unit_target >= 0, state.unit_target, state.order_unit[:, :, 0])
    build_loops = table.build_loops[torch.where(state.unit_morph > 0, state.unit_morph, state.unit_type)]
    progress = 1.0 - state.unit_build_left / build_loops.clamp(min=1.0)
    build = torch.where(state.unit_build_left > 0, (progress * 254).floor().clamp(0, 254).long(), FINISHED)
    return {"slot": torch.arange(U, device=state.device).expand(B, U),
            "type": state.unit_type, "owner": state.unit_owner,
            "x": _quantize(state.unit_pos[..., 0], POSITION_SCALE), "y": _quantize(state.unit_pos[..., 1], POSITION_SCALE),
            "hp": _quantize(state.unit_hp, HP_SCALE), "shields": _quantize(state.unit_shields, HP_SCALE),
            "order": state.order_kind[:, :, 0], "target": target,
            "order_x": _quantize(state.order_pos[:, :, 0, 0], POSITION_SCALE),
            "order_y": _quantize(state.order_pos[:, :, 0, 1], POSITION_SCALE),
            "build": build,
            "selected": _bits([state.selected[:, a] for a in range(state.num_agents)]),
            "visible": _bits(visible)}


@dataclasses.dataclass
class _StepRows:
    """One frame of all B games on the CPU: the living units' rows (grouped by game) and the frame columns."""

    starts: np.ndarray  # [B + 1] row offsets per game
    units: dict[str, np.ndarray]  # UNIT_COLUMNS, [N]
    frame: dict[str, np.ndarray]  # FRAME_COLUMNS, [B, ...]
    actions: np.ndarray | None  # [B, P, 13] the actions that led to this frame (None for the first)
    explanations: dict[str, np.ndarray]  # of the decision taken at this frame, [B, P, ...]


class ReplayRecorder:
    """Records the first episode of every game of a batched environment and writes each as a replay.

    Call `reset(env, obs)` after `env.reset` and `step(env, actions, obs, reward, info)` after every `env.step`
    (`agents.rollout.play_episodes` / `play_matches` do, given `recorder=`). With `folder=None` the replays are
    kept in memory (`replays`) instead of written (verification uses this).

    Args:
        folder: where the files go (made if missing); existing files are never overwritten.
        players: each player's descriptor (agent names), stored in the header.
        sampling: which games to keep.
        prefix: the file names' start (default: the scenario's name).
        on_saved: called with each written path.
    """

    def __init__(self, folder: str | Path | None, players: Sequence[str], *,
                 sampling: ReplaySampling = ReplaySampling(), prefix: str | None = None,
                 on_saved: Callable[[Path], None] | None = None,
                 player_details: Sequence[dict[str, Any]] | None = None):
        self.folder = None if folder is None else Path(folder)
        self.players = list(players)
        self.player_details = [dict(d) for d in player_details] if player_details else [{} for _ in self.players]
        if len(self.player_details) != len(self.players):
            raise ValueError(f"player_details has {len(self.player_details)} entries for {len(self.players)} players")
        self.sampling = sampling
        self.prefix = prefix
        self.on_saved = on_saved
        self.saved: list[Path] = []
        self.replays: list[Replay] = []
        self.games_ended = 0
        self._steps: list[_StepRows] = []
        self._recording: torch.Tensor | None = None

    # -- the stream --------------------------------------------------------------------------------------------
    def reset(self, env: "ArenaEnv | ArenaMultiEnv", obs: dict[str, torch.Tensor]) -> None:
        """Start recording every game of `env` (just reset)."""
        num_players = getattr(env, "num_players", 1)
        if len(self.players) != num_players:
            raise ValueError(f"the recorder got {len(self.players)} player names for {env.spec_.id}, which has "
                             f"{num_players} players")
        self._steps = []
        self._recording = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
        zeros = torch.zeros(env.num_envs, num_players, device=env.device)
        self._steps.append(self._rows(env, obs, zeros, actions=None))

    def step(self, env: "ArenaEnv | ArenaMultiEnv", actions: BatchedAction | Sequence[BatchedAction],
             obs: dict[str, torch.Tensor], reward: torch.Tensor, info: dict[str, torch.Tensor],
             explanations: Sequence[dict[str, torch.Tensor] | None] | None = None) -> None:
        """Record one step: the actions every player gave, the frame it led to; games that ended are written.
        `explanations`: per player, what a neural policy thought when it chose this step's action (or None)."""
        if self._recording is None:
            raise RuntimeError("call the recorder's reset(env, obs) after env.reset() first")
        if not bool(self._recording.any()):
            return
        actions = [actions] if isinstance(actions, BatchedAction) else list(actions)
        rows = torch.stack([_action_rows(a) for a in actions], dim=1)  # [B, P, 13]
        if explanations is not None:
            self._steps[-1].explanations = _explanation_rows(explanations, env.num_envs)
        reward = reward if reward.dim() == 2 else reward[:, None]
        self._steps.append(self._rows(env, obs, reward, actions=rows))
        ended = (info["step_type"] == 2) & self._recording
        if bool(ended.any()):
            for game in ended.nonzero()[:, 0].tolist():
                self._finish(env, game, info)
            self._recording &= ~ended

    def so_far(self, env: "ArenaEnv | ArenaMultiEnv", game: int) -> Replay:
        """The replay of a game that has not ended: its frames so far, "ended": "stopped" (the player stopped
        playing it, as pysc2's game_steps_per_episode does), the score so far as a one-player result, a draw for
        two."""
        P = getattr(env, "num_players", 1)
        result = [float(env.state.score[game, 0, Score.SCORE])] if P == 1 else [0] * P
        replay = self._replay_of(env, game, result)
        return dataclasses.replace(replay, outcome={**replay.outcome, "ended": "stopped"})

    # -- pieces ------------------------------------------------------------------------------------------------
    def _rows(self, env: "ArenaEnv | ArenaMultiEnv", obs: dict[str, torch.Tensor], reward: torch.Tensor,
              actions: torch.Tensor | None) -> _StepRows:
        state, table = env.state, env.context.table
        P = getattr(env, "num_players", 1)
        visible = [_seen_by(env, p) for p in range(P)]
        columns = unit_columns(state, table, visible)
        keep = state.unit_alive & self._recording[:, None]
        counts = keep.sum(dim=1)
        units = {name: value[keep].cpu().numpy().astype(UNIT_COLUMNS[name]) for name, value in columns.items()}
        starts = np.concatenate([[0], np.cumsum(counts.cpu().numpy())])
        frame = {name: value.cpu().numpy() for name, value in self._frame_columns(env, obs, reward).items()}
        return _StepRows(starts=starts, units=units, frame=frame,
                         actions=None if actions is None else actions.cpu().numpy().astype(np.int16),
                         explanations={})

    def _frame_columns(self, env: "ArenaEnv | ArenaMultiEnv", obs: dict[str, torch.Tensor], reward: torch.Tensor
                       ) -> dict[str, torch.Tensor]:
        state, table = env.state, env.context.table
        P = getattr(env, "num_players", 1)
        per_player = (lambda t: t) if P > 1 else (lambda t: t[:, None])
        if env.context.economy:
            supply = torch.stack([supply_used(state, table)[:, :P], supply_cap(state, table)[:, :P]], dim=2)
        else:
            supply = torch.zeros(state.batch_size, P, 2, device=state.device)
        apm = obs.get("apm_window_actions")
        return {"game_loop": state.game_loop, "camera": state.camera[:, :P], "reward": reward.float(),
                "score": state.score[:, :P, Score.SCORE], "minerals": state.minerals[:, :P],
                "vespene": state.vespene[:, :P], "supply": supply,
                "action_result": per_player(obs["action_result"]),
                "apm_window": torch.zeros_like(reward, dtype=torch.long) if apm is None else per_player(apm)}

    def _finish(self, env: "ArenaEnv | ArenaMultiEnv", game: int, info: dict[str, torch.Tensor]) -> None:
        index = self.games_ended
        self.games_ended += 1
        two_player = getattr(env, "num_players", 1) > 1
        result = _result(info, game, two_player)
        if not self.sampling.keeps(index, result, two_player):
            return
        replay = self._replay_of(env, game, result)
        if self.folder is None:
            self.replays.append(replay)
            return
        path = write_replay(self._free_path(env, game), replay)
        self.saved.append(path)
        if self.on_saved is not None:
            self.on_saved(path)

    def _replay_of(self, env: "ArenaEnv | ArenaMultiEnv", game: int, result: list[float]) -> Replay:
        steps = self._steps
        units = {name: np.concatenate([s.units[name][s.starts[game]:s.starts[game + 1]] for s in steps])
                 for name in UNIT_COLUMNS}
        counts = np.array([s.starts[game + 1] - s.starts[game] for s in steps])
        frames = {name: np.stack([s.frame[name][game] for s in steps]).astype(FRAME_COLUMNS[name])
                  for name in FRAME_COLUMNS}
        actions = np.stack([s.actions[game] for s in steps[1:]]) if len(steps) > 1 else \
            np.zeros((0, len(self.players), len(ACTION_FIELDS)), np.int16)
        explanations = _gather_explanations(steps, game)
        state = env.state
        seed = int(state.seed[game])
        header = replay_header(env, self.players, seed, self.player_details)
        outcome = {"result": result, "steps": len(steps) - 1, "game_loops": int(frames["game_loop"][-1]),
                   "ended": "terminated" if _terminated(env, game) else "truncated"}
        return Replay(header=header, outcome=outcome, actions=actions, frames=frames, units=units,
                      frame_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int32),
                      explanations=explanations)

    def _free_path(self, env: "ArenaEnv | ArenaMultiEnv", game: int) -> Path:
        assert self.folder is not None
        names = "-vs-".join(_file_part(name) for name in self.players) if len(self.players) > 1 else ""
        start = self.prefix or (f"{env.spec_.name}-{names}" if names else env.spec_.name)
        stem = f"{start}-seed{int(env.state.seed[game])}"
        path = self.folder / f"{stem}{SUFFIX}"
        n = 1
        while path.exists():
            path = self.folder / f"{stem}-{n}{SUFFIX}"
            n += 1
        return path


def _file_part(name: str) -> str:
    """An agent descriptor made safe for a file name ("bot:3" -> "bot3", "pkg.mod.Agent" -> "Agent")."""
    tail = name.rsplit(".", 1)[-1]
    return "".join(c for c in tail if c.isalnum() or c in "_+") or "agent"


def _seen_by(env: "ArenaEnv | ArenaMultiEnv", player: int) -> torch.Tensor:
    """[B, U] the units `player` sees now (every living unit without fog of war)."""
    state, context = env.state, env.context
    if not context.fog:
        return state.unit_alive
    cells = env.seen_cells()[player]
    if cells is not None:
        return units_in_sight(state, player, cells)
    return units_in_sight_of_units(state, player, context.table)


def _result(info: dict[str, torch.Tensor], game: int, two_player: bool) -> list[float]:
    if two_player:
        outcome = int(info["outcome"][game])
        return [outcome, -outcome]
    return [float(info["score"][game])]


def _terminated(env: "ArenaEnv | ArenaMultiEnv", game: int) -> bool:
    return int(env.state.game_loop[game]) < env.spec_.time_limit_loops


def _explanation_rows(explanations: Sequence[dict[str, torch.Tensor] | None], batch: int
                      ) -> dict[str, np.ndarray]:
    """Per explanation field [B, P, ...] on the CPU; players without one get NaN / -1 / 0."""
    out: dict[str, np.ndarray] = {}
    given = [e for e in explanations if e]
    for name in EXPLANATION_FIELDS:
        example = next((e[name] for e in given if name in e), None)
        if example is None:
            continue
        per_player = []
        for e in explanations:
            value = e.get(name) if e else None
            if value is None:
                fill = math.nan if name in ("value", "top_probs") else (-1 if name == "top_functions" else 0)
                value = torch.full_like(example, fill, dtype=example.dtype if name != "value" else torch.float32)
            per_player.append(value.detach().float().cpu() if name in ("value", "top_probs") else value.cpu())
        out[name] = torch.stack(per_player, dim=1).numpy()
    return out


def _gather_explanations(steps: list[_StepRows], game: int) -> dict[str, np.ndarray]:
    names = {name for s in steps for name in s.explanations}
    out = {}
    for name in names:
        example = next(s.explanations[name][game] for s in steps if name in s.explanations)
        fill = np.nan if example.dtype.kind == "f" else (-1 if name == "top_functions" else 0)
        out[name] = np.stack([s.explanations[name][game] if name in s.explanations else np.full_like(example, fill)
                              for s in steps])
    return out


def replay_header(env: "ArenaEnv | ArenaMultiEnv", players: Sequence[str], seed: int,
                  player_details: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The header of a replay of one game of `env` seeded `seed`: everything needed to re-simulate and view it.
    `player_details`: more about each player, kept in its entry (e.g. a trained policy's action space)."""
    details = player_details or [{} for _ in players]
    spec = env.spec_
    table = env.context.table
    limits = getattr(env, "limits", None)
    types = {}
    for unit_type in UnitType:
        if unit_type == UnitType.NONE:
            continue
        k = int(unit_type)
        types[str(k)] = {"name": _type_name(unit_type), "radius": float(table.radius[k]),
                         "sight": float(table.sight[k]), "max_hp": float(table.max_hp[k]),
                         "max_shields": float(table.max_shields[k]), "structure": bool(table.structure[k])}
    x0, y0, x1, y1 = spec.playable
    return {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "scenario": {"id": spec.id, "name": spec.name, "version": spec.version},
        "engine_version": engine_version(), "seed": seed, "episode": 0, "step_mul": env.step_mul,
        "game_loops_per_second": GAME_LOOPS_PER_SECOND,
        "players": [{**details[i], "player": i, "name": name} for i, name in enumerate(players)],
        "limits": None if limits is None else {"apm_caps": [[c.actions, c.window_loops] for c in limits.apm_caps],
                                               "delay_loops": limits.delay_loops, "fog": limits.fog},
        "fog": bool(env.context.fog),
        "interface": dataclasses.asdict(env.interface),
        "map": {"width": spec.map_size[0], "height": spec.map_size[1], "playable": [x0, y0, x1, y1]},
        "unit_types": types,
        "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _type_name(unit_type: UnitType) -> str:
    return "".join(part.capitalize() for part in unit_type.name.split("_"))


__all__ = ["ReplayRecorder", "ReplaySampling", "action_from_rows", "engine_version", "replay_header",
           "unit_columns", "GAME_LOOPS_PER_SECOND"]
