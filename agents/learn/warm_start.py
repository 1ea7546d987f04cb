"""A supervised start for `arena train` (AlphaStar's order: imitate first, then reinforce): a teacher agent (the
scenario's scripted agent by default) plays episodes that are recorded as replays, a fresh policy of the run's
architecture is cloned from them (agents.learn.behaviour_cloning), and reinforcement learning starts from the clone
and, with a KL weight, stays near it.

Everything lands in the run's folder, under `warm_start/`: the replays, the cloned policy and `warm_start.json`
(the teacher's scores, the cloning's loss and accuracy per epoch, the seconds each part took).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable

import arena
from agents.learn.behaviour_cloning import CloningConfig, EpochStats, clone, collect_examples, new_policy_for
from agents.learn.config import TrainConfig
from agents.policies.checkpoint import save_policy
from agents.registry import make_agent
from agents.rollout import play_episodes
from arena.replay.recorder import ReplayRecorder

POLICY = "policy"
"""The cloned policy's file stem inside the warm-start folder (policy.json, policy.safetensors)."""
SUMMARY = "warm_start.json"


@dataclasses.dataclass(frozen=True)
class WarmStartReport:
    """What a warm start did."""

    policy: Path
    """The cloned policy's .json."""
    teacher_scores: list[float]
    examples: int
    epochs: list[EpochStats]
    seconds: dict[str, float]
    """Wall seconds of "play" (the teacher's episodes), "collect" (re-simulating them) and "clone"."""

    @property
    def teacher_mean(self) -> float:
        return sum(self.teacher_scores) / len(self.teacher_scores)


def cloned_policy_path(folder: str | Path) -> Path:
    """Where a warm start into `folder` saves its policy (the .json)."""
    return Path(folder) / f"{POLICY}.json"


def warm_start(config: TrainConfig, folder: str | Path,
               on_stage: Callable[[str], None] | None = None) -> WarmStartReport:
    """Record `config.warm_start_episodes` episodes of the `config.warm_start` agent on the run's scenario and
    interface into `folder`/replays, clone a policy of the run's kind and action space from them
    (`config.warm_start_epochs` epochs) and save it as `folder`/policy. `on_stage` hears each stage's name.

    Raises:
        ValueError: the teacher is unknown, or it played no step the action space allows.
    """
    folder = Path(folder)
    say = on_stage or (lambda stage: None)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    say(f"warm start: {config.warm_start} plays {config.warm_start_episodes} episodes")
    teacher = make_agent(config.warm_start, config.scenario, seed=config.seed)
    env = arena.make(config.scenario, num_envs=config.warm_start_episodes, device=config.device,
                     interface=config.interface, step_mul=config.step_mul)
    recorder = ReplayRecorder(folder / "replays", [config.warm_start])
    scores = play_episodes(env, teacher, seed=config.seed + 1_000_000, recorder=recorder).scores
    env.close()
    seconds["play"] = time.perf_counter() - start
    cloning = CloningConfig(policy=config.policy, epochs=config.warm_start_epochs, seed=config.seed,
                            device=config.device, action_space=config.action_space, see_time=config.see_time,
                            relative_positions=config.relative_positions,
                            selection_summary=config.selection_summary)
    paths = list(recorder.saved)
    policy = new_policy_for(paths, cloning)
    start = time.perf_counter()
    say(f"warm start: re-simulating {len(paths)} replays")
    examples = collect_examples(paths, policy, 0, config.device, batch_games=cloning.batch_games)
    if len(examples) == 0:
        raise ValueError(f"the {config.warm_start} agent took no action inside the {config.action_space!r} action "
                         "space: nothing to clone")
    seconds["collect"] = time.perf_counter() - start
    start = time.perf_counter()
    say(f"warm start: cloning {len(examples):,} steps, {config.warm_start_epochs} epochs")
    epoch_start = time.perf_counter()

    def on_epoch(stats: EpochStats) -> None:
        say(f"warm start: epoch {stats.epoch}/{config.warm_start_epochs}: loss {stats.loss:.3f}, function accuracy "
            f"{stats.function_accuracy:.3f} ({time.perf_counter() - epoch_start:.0f} s)")

    history = clone(policy, examples, cloning, on_epoch=on_epoch)
    seconds["clone"] = time.perf_counter() - start
    save_policy(policy, folder / POLICY)
    report = WarmStartReport(policy=cloned_policy_path(folder), teacher_scores=scores, examples=len(examples),
                             epochs=history, seconds=seconds)
    (folder / SUMMARY).write_text(json.dumps({
        "teacher": config.warm_start, "episodes": len(scores), "teacher_mean": report.teacher_mean,
        "examples": report.examples, "epochs": [vars(h) for h in history], "seconds": seconds,
        "policy": str(report.policy)}, indent=1))
    return report


__all__ = ["WarmStartReport", "cloned_policy_path", "warm_start"]
