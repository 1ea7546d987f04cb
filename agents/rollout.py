"""Playing whole episodes of a batched environment with a batched agent."""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from agents.base import BatchedAgent
from arena.env import ArenaEnv, StepType


@dataclasses.dataclass(frozen=True)
class EpisodeScores:
    """The final score of each episode played, in the order of the environments."""

    scores: list[float]
    steps: int
    """Batched steps taken."""

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores)

    @property
    def std(self) -> float:
        m = self.mean
        return (sum((s - m) ** 2 for s in self.scores) / len(self.scores)) ** 0.5


def play_episodes(env: ArenaEnv, agent: BatchedAgent, *, seed: int = 0,
                  on_step: Callable[[int, int], None] | None = None) -> EpisodeScores:
    """Play one episode in every environment of `env` (they run side by side) and return their scores.

    `on_step(finished, total)` is called after every batched step (for progress bars).
    """
    obs, info = env.reset(seed=seed)
    agent.reset(env.num_envs)
    first = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
    finished = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
    scores = torch.zeros(env.num_envs, device=env.device)
    steps = 0
    while not bool(finished.all()):
        obs, reward, terminated, truncated, info = env.step(agent.act(obs, first))
        steps += 1
        ending = (info["step_type"] == int(StepType.LAST)) & ~finished
        scores = torch.where(ending, info["score"], scores)
        finished |= ending
        first = info["step_type"] == int(StepType.FIRST)
        if on_step is not None:
            on_step(int(finished.sum()), env.num_envs)
    return EpisodeScores(scores=[float(s) for s in scores.cpu()], steps=steps)
