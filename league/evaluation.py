"""Periodic evaluation of the league's learning players against fixed agents: `random` and `scripted`
(agents.registry.make_agent), which are not league players.

After a learning player's first match and then after every `eval_every` of its matches, the league process plays
the player's committed policy (whatever the executor, local or Ray), sampling, `eval_games` games against each fixed
agent, all of them side by side in one batch: the player in player 1's seat in the first half of each agent's games
(seeds s, s + 2, ...) and in player 2's seat in the other half (their mirror seeds s ^ 1, ...: the same games with the
places exchanged). Nothing is learned from these games and they never enter the payoff, the ratings or the
matchmaking; the store keeps their counts in a table of their own (league.store, `evaluations`), and the live table
shows each player's latest.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Sequence

import torch

from agents.base import BatchedAgent
from agents.policies.base import Policy, PolicyAgent
from arena.interface.actions import BatchedAction
from arena.scenarios.two_player import mirror_seed
from league.config import LeagueConfig


class FixedOpponent(str, enum.Enum):
    """The fixed agents a learning player is evaluated against (agents.registry names)."""

    RANDOM = "random"
    SCRIPTED = "scripted"


@dataclasses.dataclass(frozen=True)
class Tally:
    """The outcomes of an evaluation's games, from the learning player's side."""

    wins: int
    draws: int
    losses: int

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def win_rate(self) -> float:
        """(wins + draws / 2) / games, as the payoff counts them (0.5 without games)."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.5

    @staticmethod
    def of(outcomes: Sequence[int]) -> "Tally":
        """The tally of outcomes (+1 won, 0 drawn, -1 lost) from the player's side."""
        return Tally(wins=sum(o > 0 for o in outcomes), draws=sum(o == 0 for o in outcomes),
                     losses=sum(o < 0 for o in outcomes))


def evaluation_due(matches_since: int | None, every: int, *, reset_since: bool = False) -> bool:
    """Whether a learning player is evaluated after its match: `matches_since` is its matches (this one included)
    since its latest evaluation (None: never evaluated), `reset_since` whether it was reset since; `every` 0: never."""
    return every > 0 and (matches_since is None or reset_since or matches_since >= every)


def evaluation_seeds(seed: int, games: int) -> tuple[list[int], int]:
    """(the games' seeds, how many of the first games seat the learning player as player 1): the first half
    (rounded up) seeded `seed + 2i`, the rest their mirror seeds (`seed` even keeps every pair apart)."""
    first = (games + 1) // 2
    seeds = [seed + 2 * i for i in range(first)] + [mirror_seed(seed + 2 * i) for i in range(games - first)]
    return seeds, first


class SplitAgent(BatchedAgent):
    """Plays consecutive slices of the batch with different agents: agent k plays games
    [sum(sizes[:k]), sum(sizes[:k + 1]))."""

    name = "split"

    def __init__(self, agents: Sequence[BatchedAgent], sizes: Sequence[int]):
        parts = [(agent, size) for agent, size in zip(agents, sizes, strict=True) if size > 0]
        self.agents = [agent for agent, _ in parts]
        self.sizes = [size for _, size in parts]

    def reset(self, num_envs: int) -> None:
        if num_envs != sum(self.sizes):
            raise ValueError(f"this agent plays {sum(self.sizes)} games, not {num_envs}")
        for agent, size in zip(self.agents, self.sizes):
            agent.reset(size)

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        actions, start = [], 0
        for agent, size in zip(self.agents, self.sizes):
            part = {key: value[start:start + size] for key, value in obs.items()}
            actions.append(agent.act(part, first[start:start + size]))
            start += size
        return BatchedAction.cat(actions)


class Evaluator:
    """Plays evaluation batches on the league's scenario with its interface and fairness limits (the same
    environment as a match's), in this process, on the league's device. The games against every fixed agent share
    one batch (`eval_games` per agent), laid out so that the policy acts in two slices: player 1's seat in the
    first games of every agent, then player 2's seat in the others."""

    def __init__(self, config: LeagueConfig):
        self.config = config
        self._env = None

    def _environment(self, num_envs: int):
        if self._env is None or self._env.num_envs != num_envs:
            import arena

            self.close()
            train = self.config.train_config(self.config.seed)
            self._env = arena.make(self.config.scenario, num_envs=num_envs, device=self.config.device,
                                   step_mul=train.step_mul, interface=train.interface)
        return self._env

    def _opponents(self, seed: int) -> list[tuple[FixedOpponent, list[BatchedAgent]]]:
        """Each fixed agent the scenario has (one per seat), e.g. no scripted one for FullGame."""
        from agents.registry import make_agent

        found = []
        for index, opponent in enumerate(FixedOpponent):
            try:
                found.append((opponent, [make_agent(opponent.value, self.config.scenario, seed=seed + 2 * index + k)
                                         for k in (1, 2)]))
            except ValueError:
                continue
        return found

    def play(self, policy: Policy, seed: int) -> dict[FixedOpponent, Tally]:
        """`policy` (sampling) against every fixed agent the scenario has, `eval_games` games each, seeded by
        `evaluation_seeds(seed, eval_games)`; nothing is learned."""
        from agents.rollout import play_matches

        opponents = self._opponents(seed)
        if not opponents:
            return {}
        seeds, first = evaluation_seeds(seed, self.config.eval_games)
        second, count = len(seeds) - first, len(opponents)
        # games: [policy as player 1 against each agent (first games each)] + [as player 2 (second games each)]
        player_1 = SplitAgent([PolicyAgent(policy, seed=seed + 101)] + [fixed[0] for _, fixed in opponents],
                              [count * first] + [second] * count)
        player_2 = SplitAgent([fixed[1] for _, fixed in opponents] + [PolicyAgent(policy, seed=seed + 102)],
                              [first] * count + [count * second])
        env = self._environment(count * len(seeds))
        outcomes = play_matches(env, [player_1, player_2], seed=seeds[:first] * count + seeds[first:] * count).outcomes
        own: dict[FixedOpponent, list[int]] = {opponent: [] for opponent, _ in opponents}
        for game, outcome in enumerate(outcomes):
            if game < count * first:
                own[opponents[game // first][0]].append(outcome)
            else:
                own[opponents[(game - count * first) // second][0]].append(-outcome)
        return {opponent: Tally.of(results) for opponent, results in own.items()}

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
