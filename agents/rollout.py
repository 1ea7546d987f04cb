"""Playing whole episodes of a batched environment with a batched agent."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch

from agents.base import BatchedAgent
from arena.env import ArenaEnv, StepType

if TYPE_CHECKING:
    from arena.multi_env import ArenaMultiEnv
    from arena.replay.recorder import ReplayRecorder


def explanation_of(agent: BatchedAgent) -> dict[str, torch.Tensor] | None:
    """What a neural agent thought when it chose its last action (its `last_explanation`: value, top_functions,
    top_probs, heatmap; arena.replay.format.EXPLANATION_FIELDS), for replays; None for agents that say nothing."""
    return getattr(agent, "last_explanation", None)


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
                  on_step: Callable[[int, int], None] | None = None,
                  recorder: "ReplayRecorder | None" = None) -> EpisodeScores:
    """Play one episode in every environment of `env` (they run side by side) and return their scores.

    `on_step(finished, total)` is called after every batched step (for progress bars); `recorder` records the
    games as replays.
    """
    obs, info = env.reset(seed=seed)
    if recorder is not None:
        recorder.reset(env, obs)
    agent.reset(env.num_envs)
    first = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
    finished = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
    scores = torch.zeros(env.num_envs, device=env.device)
    steps = 0
    while not bool(finished.all()):
        action = agent.act(obs, first)
        obs, reward, terminated, truncated, info = env.step(action)
        if recorder is not None:
            recorder.step(env, action, obs, reward, info, [explanation_of(agent)])
        steps += 1
        ending = (info["step_type"] == int(StepType.LAST)) & ~finished
        scores = torch.where(ending, info["score"], scores)
        finished |= ending
        first = info["step_type"] == int(StepType.FIRST)
        if on_step is not None:
            on_step(int(finished.sum()), env.num_envs)
    return EpisodeScores(scores=[float(s) for s in scores.cpu()], steps=steps)


@dataclasses.dataclass(frozen=True)
class MatchRecord:
    """The outcome of each two-player game played, from player 1's side: +1 win, 0 draw, -1 loss."""

    outcomes: list[int]
    steps: int

    @property
    def wins(self) -> int:
        return sum(1 for o in self.outcomes if o > 0)

    @property
    def draws(self) -> int:
        return sum(1 for o in self.outcomes if o == 0)

    @property
    def losses(self) -> int:
        return sum(1 for o in self.outcomes if o < 0)


def play_matches(env: "ArenaMultiEnv", agents: list[BatchedAgent], *, seed: int = 0,
                 on_step: Callable[[int, int], None] | None = None,
                 recorder: "ReplayRecorder | None" = None) -> MatchRecord:
    """Play one game in every environment of a two-player `env`, agent i as player i, and return the outcomes
    (`recorder` records the games as replays)."""
    from arena.multi_env import player_view

    if len(agents) != env.num_players:
        raise ValueError(f"{env.spec_.id} needs {env.num_players} agents, got {len(agents)}")
    obs, info = env.reset(seed=seed)
    if recorder is not None:
        recorder.reset(env, obs)
    for agent in agents:
        agent.reset(env.num_envs)
    first = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
    finished = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
    outcomes = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
    steps = 0
    while not bool(finished.all()):
        actions = [agent.act(player_view(obs, player), first) for player, agent in enumerate(agents)]
        obs, reward, terminated, truncated, info = env.step(actions)
        if recorder is not None:
            recorder.step(env, actions, obs, reward, info, [explanation_of(agent) for agent in agents])
        steps += 1
        ending = (info["step_type"] == int(StepType.LAST)) & ~finished
        outcomes = torch.where(ending, info["outcome"], outcomes)
        finished |= ending
        first = info["step_type"] == int(StepType.FIRST)
        if on_step is not None:
            on_step(int(finished.sum()), env.num_envs)
    return MatchRecord(outcomes=[int(o) for o in outcomes.cpu()], steps=steps)


def record_games(scenario_id: str, agents: list[str], folder: str | Path, *, games: int = 1, seed: int = 0,
                 device: torch.device | str = "cpu") -> list[Path]:
    """Play `games` games of `scenario_id` side by side with the named agents (one name per player, see
    agents.registry) and write a replay of each into `folder`; returns the paths."""
    import arena
    from agents.registry import make_agent
    from arena.replay.recorder import ReplayRecorder

    env = arena.make(scenario_id, num_envs=games, device=device)
    recorder = ReplayRecorder(folder, agents)
    players = [make_agent(name, scenario_id, seed=seed + 1000 * i) for i, name in enumerate(agents)]
    if getattr(env, "num_players", 1) > 1:
        play_matches(env, players, seed=seed, recorder=recorder)
    else:
        if len(players) != 1:
            raise ValueError(f"{scenario_id} has one player; got agents {agents}")
        play_episodes(env, players[0], seed=seed, recorder=recorder)
    return recorder.saved
