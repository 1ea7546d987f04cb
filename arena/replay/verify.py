"""Verifying a replay: re-simulate the game from its seed and recorded actions and compare every frame."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from arena.interface.limits import ApmCap, Limits
from arena.interface.view import InterfaceFormat
from arena.replay.format import FRAME_COLUMNS, UNIT_COLUMNS, Replay, ReplayError, read_replay
from arena.replay.recorder import ReplayRecorder, action_from_rows
from arena.scenarios.registry import make_scenario


@dataclasses.dataclass(frozen=True)
class Verification:
    """What re-simulating a replay found: frames that matched, and the first difference (None: every frame)."""

    path: str
    frames: int
    matched: int
    difference: str | None

    @property
    def ok(self) -> bool:
        return self.difference is None


def environment_for(replay: Replay, path: str | Path, device: torch.device | str = "cpu", *, num_envs: int = 1):
    """An environment of `num_envs` games set up as the recorded one was (scenario version, step_mul, interface,
    limits): one game to verify a replay, several to re-simulate replays of the same set-up side by side."""
    from arena.env import ArenaEnv
    from arena.multi_env import ArenaMultiEnv

    header = replay.header
    scenario_id = header["scenario"]["id"]
    try:
        scenario = make_scenario(scenario_id)
    except KeyError:
        raise ReplayError(path, f"the scenario {scenario_id} is not known to this arena") from None
    interface = InterfaceFormat(**header["interface"])
    recorded = header.get("limits")
    limits = None if recorded is None else Limits(apm_caps=tuple(ApmCap(a, w) for a, w in recorded["apm_caps"]),
                                                  delay_loops=recorded["delay_loops"], fog=recorded["fog"])
    shell = ArenaMultiEnv if scenario.spec.num_agents > 1 else ArenaEnv
    return shell(scenario, num_envs=num_envs, device=device, step_mul=header["step_mul"], interface=interface,
                 limits=limits)


def resimulate(replay: Replay, path: str | Path = "<replay>", device: torch.device | str = "cpu"
               ) -> tuple[Replay, bool]:
    """The replay the recorded actions give when played again from the recorded seed, and whether the game ended
    with them (if not, the frames so far)."""
    env = environment_for(replay, path, device)
    recorder = ReplayRecorder(None, [p["name"] for p in replay.header["players"]])
    obs, _ = env.reset(seed=[int(replay.header["seed"])])
    recorder.reset(env, obs)
    for step in range(len(replay.actions)):
        actions = [action_from_rows(replay.actions[step, p][None], env.device) for p in range(replay.num_players)]
        obs, reward, _, _, info = env.step(actions)  # one action per player, for one player too (arena.protocol)
        recorder.step(env, actions, obs, reward, info)
        if recorder.replays:
            return recorder.replays[0], True
    return recorder.so_far(env, game=0), False


def first_difference(recorded: Replay, replayed: Replay) -> tuple[int, str] | None:
    """(frame, what differs) of the first frame where the two replays differ, or None."""
    frames = min(recorded.num_frames, replayed.num_frames)
    for frame in range(frames):
        a, b = recorded.frame_units(frame), replayed.frame_units(frame)
        if len(a["slot"]) != len(b["slot"]):
            return frame, f"{len(a['slot'])} living units recorded, {len(b['slot'])} re-simulated"
        for name in UNIT_COLUMNS:
            bad = np.nonzero(a[name] != b[name])[0]
            if len(bad):
                i = int(bad[0])
                return frame, (f"unit in slot {int(a['slot'][i])}: {name} recorded {a[name][i]}, "
                               f"re-simulated {b[name][i]}")
        for name in FRAME_COLUMNS:
            if not np.array_equal(recorded.frames[name][frame], replayed.frames[name][frame]):
                return frame, (f"{name} recorded {recorded.frames[name][frame].tolist()}, "
                               f"re-simulated {replayed.frames[name][frame].tolist()}")
    if recorded.num_frames != replayed.num_frames:
        return frames, (f"the recording has {recorded.num_frames} frames, the re-simulated game ended after "
                        f"{replayed.num_frames}")
    return None


def verify_replay(path: str | Path, device: torch.device | str = "cpu") -> Verification:
    """Re-simulate the replay at `path` and check every frame. Unreadable files raise ReplayError."""
    replay = read_replay(path)
    replayed, ended = resimulate(replay, path, device)
    found = first_difference(replay, replayed)
    if found is None and not ended and replay.outcome.get("ended") != "stopped":
        found = (replay.num_frames, f"the game did not end after the {len(replay.actions)} recorded steps")
    if found is None:
        return Verification(str(path), replay.num_frames, replay.num_frames, None)
    frame, what = found
    loop = int(replay.frames["game_loop"][min(frame, replay.num_frames - 1)])
    return Verification(str(path), replay.num_frames, frame, f"frame {frame} (game loop {loop}): {what}")


__all__ = ["Verification", "environment_for", "first_difference", "resimulate", "verify_replay"]
