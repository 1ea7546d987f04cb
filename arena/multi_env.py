"""B two-player games stepped together: both players act every step, simultaneously, and each gets its own
observation, under the same fairness limits (APM cap, action delay, fog of war, camera-limited screen).

The batched path carries a player dimension: observations are dicts of tensors [B, P, ...] with pysc2's names (each
player's own view: its units are SELF), actions one BatchedAction [B] per player, rewards [B, P]: +1 for a win, -1 for
a loss, 0 for a draw, given on the step the episode ends (the scenario's `outcome`). The step itself is
`arena.core.GameCore`'s, as for one player; the limits are its `arena.interface.fairness.FairnessLayer`.
"""

from __future__ import annotations

import torch

from arena.core import GameCore
from arena.interface.functions import ActionResult
from arena.interface.limits import ApmState, Limits
from arena.interface.view import InterfaceFormat
from arena.protocol import (AUTORESET_MODE, Actions, StepType, action_space, discount, observation_space,
                            player_actions, step_types)
from arena.scenarios.base import Scenario
from arena.scenarios.registry import make_scenario
from arena.sim.state import Score
from arena.sim.step import Engine


def _stack_players(per_player: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([obs[key] for obs in per_player], dim=1) for key in per_player[0]}


class ArenaMultiEnv(GameCore):
    """Two-player (P-player) scenarios, batched. Same protocol as ArenaEnv (arena.protocol) with a player dimension.

    Args:
        scenario: a registered id with two agents (e.g. "MarineMirror") or a Scenario.
        num_envs: games stepped together (B).
        limits: APM caps, action delay in game loops, fog of war (default: AlphaStar's; `Limits.off()` for none).
        interface: what observations hold, for both players.
    """

    metadata = {"autoreset_mode": AUTORESET_MODE}

    def __init__(self, scenario: str | Scenario, *, num_envs: int = 1, device: torch.device | str = "cpu",
                 step_mul: int | None = None, interface: InterfaceFormat | None = None,
                 limits: Limits | None = None, engine: str | Engine = "auto"):
        chosen = make_scenario(scenario) if isinstance(scenario, str) else scenario
        if chosen.spec.num_agents < 2:
            raise ValueError(f"{chosen.spec.id} is a one-player scenario; use arena.make")
        super().__init__(chosen, num_envs=num_envs, device=device, step_mul=step_mul, interface=interface,
                         limits=limits if limits is not None else Limits(), engine=engine)
        self.single_observation_space = observation_space(self.interface, self.spec_.num_units, True)
        self.single_action_space = action_space(self.interface)

    @property
    def apm(self) -> ApmState:
        """What the APM caps remember of every game and player."""
        return self.fairness.apm.state

    @apm.setter
    def apm(self, state: ApmState) -> None:
        self.fairness.apm.state = state

    # -- the protocol ------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None
              ) -> tuple[dict[str, torch.Tensor], dict]:
        """Begin an episode in every game (`options={"stagger": True}`: as ArenaEnv's)."""
        unknown = sorted(set(options or {}) - {"stagger"})
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; known: ['stagger']")
        self.begin(seed, stagger=bool((options or {}).get("stagger")))
        B, P = self.num_envs, self.num_players
        success = torch.full((B, P), int(ActionResult.Success), dtype=torch.long, device=self.device)
        obs = self._observe(success, torch.zeros(B, P, dtype=torch.long, device=self.device))
        first = torch.full((B,), int(StepType.FIRST), dtype=torch.long, device=self.device)
        return obs, self._info(first, torch.zeros(B, dtype=torch.long, device=self.device))

    def step(self, actions: Actions):
        """One action per player (a sequence of P BatchedActions of B games each): (obs, reward [B, P],
        terminated [B], truncated [B], info)."""
        step = self.advance(player_actions(actions, num_players=self.num_players, num_envs=self.num_envs,
                                           device=self.device))
        B, P = self.num_envs, self.num_players
        outcome = torch.where(step.ending, self.scenario.outcome(step.after), 0)
        reward = torch.stack([outcome, -outcome], dim=1).float() if P == 2 else torch.zeros(B, P, device=self.device)
        obs = self._observe(step.action_result, step.last_action)
        return obs, reward, step.terminated, step.truncated, self._info(step_types(step.began, step.ending), outcome)

    # -- pieces ------------------------------------------------------------------------------------------------
    def _observe(self, result: torch.Tensor, last_action: torch.Tensor) -> dict[str, torch.Tensor]:
        return _stack_players([self.observe_player(player, result[:, player], last_action[:, player])
                               for player in range(self.num_players)])

    def _info(self, step_type: torch.Tensor, outcome: torch.Tensor) -> dict:
        return {"step_type": step_type, "outcome": outcome,
                "score": self.state.score[:, :self.num_players, Score.SCORE], "discount": discount(step_type)}


def player_view(obs: dict[str, torch.Tensor], player: int) -> dict[str, torch.Tensor]:
    """One player's observations [B, ...] out of a two-player observation [B, P, ...] (what one-player agents
    take)."""
    return {key: value[:, player] for key, value in obs.items()}


__all__ = ["ArenaMultiEnv", "Limits", "player_view"]
