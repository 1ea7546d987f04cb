"""B two-player games stepped together: both players act every step, simultaneously, and each gets its own
observation, under the same fairness limits (APM cap, action delay, fog of war, camera-limited screen).

The batched path carries a player dimension: observations are dicts of tensors [B, P, ...] with pysc2's names (each
player's own view: its units are SELF), actions one BatchedAction [B] per player, rewards [B, P]: +1 for a win, -1 for
a loss, 0 for a draw, given on the step the episode ends (the scenario's `outcome`).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch

from arena.env import StepType, _seeds
from arena.interface.actions import BatchedAction, apply_action
from arena.interface.functions import ActionResult, FunctionId
from arena.interface.limits import ApmState, Limits, admit, window_counts
from arena.interface.fog import visible_cells
from arena.interface.observation import ObservationContext, observe, perceive
from arena.interface.view import InterfaceFormat
from arena.scenarios.base import Scenario
from arena.scenarios.registry import make_scenario
from arena.sim.state import Score, State, put_games
from arena.sim.step import Engine, SimParams, loop_function, loop_runner
from arena.sim.units import unit_table


@dataclasses.dataclass
class _Pending:
    """Actions waiting for their game loop: one BatchedAction per player, `loops` game loops from now."""

    loops: int
    actions: list[BatchedAction]
    valid: torch.Tensor  # [B] bool: false for games that began a new episode since (their actions are dropped)


def _stack_players(per_player: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([obs[key] for obs in per_player], dim=1) for key in per_player[0]}


def _masked(action: BatchedAction, keep: torch.Tensor) -> BatchedAction:
    """The action where `keep` [B] holds, no_op elsewhere."""
    return dataclasses.replace(action, function=torch.where(keep, action.function, int(FunctionId.no_op)))


class ArenaMultiEnv:
    """Two-player (P-player) scenarios, batched. Same protocol as ArenaEnv with a player dimension.

    Args:
        scenario: a registered id with two agents (e.g. "MarineMirror") or a Scenario.
        num_envs: games stepped together (B).
        limits: APM caps, action delay in game loops, fog of war (default: AlphaStar's; `Limits.off()` for none).
        interface: what observations hold, for both players.
    """

    def __init__(self, scenario: str | Scenario, *, num_envs: int = 1, device: torch.device | str = "cpu",
                 step_mul: int | None = None, interface: InterfaceFormat | None = None,
                 limits: Limits | None = None, engine: str | Engine = "auto"):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.scenario = make_scenario(scenario) if isinstance(scenario, str) else scenario
        spec = self.scenario.spec
        if spec.num_agents < 2:
            raise ValueError(f"{spec.id} is a one-player scenario; use arena.make")
        self.spec_ = spec
        self.num_envs, self.num_players = num_envs, spec.num_agents
        self.device = torch.device(device)
        self.step_mul = spec.step_mul if step_mul is None else step_mul
        if self.step_mul < 1:
            raise ValueError(f"step_mul must be at least 1, got {self.step_mul}")
        self.limits = limits if limits is not None else Limits()
        self.interface = interface or InterfaceFormat()
        self.params = SimParams.create(spec.playable, self.device, economy=spec.economy)
        self._game_loop = loop_function(engine, self.params)
        self._run_loops = loop_runner(engine, self.params, self.scenario.loop_trigger)
        self.context = ObservationContext.for_scenario(spec, unit_table(self.device), self.interface,
                                                       self.params.bounds, spec.fog and self.limits.fog)
        self.state: State | None = None
        self.apm = ApmState.empty(num_envs, self.num_players, self.limits, self.device)
        self._pending: list[_Pending] = []
        self._cells: list[torch.Tensor | None] = [None] * self.num_players
        self._needs_reset = torch.zeros(num_envs, dtype=torch.bool, device=self.device)

    # -- the protocol ------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | list[int] | None = None) -> tuple[dict[str, torch.Tensor], dict]:
        seeds = torch.tensor(_seeds(seed, self.num_envs), dtype=torch.long, device=self.device)
        episode = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self.state, cells = self._remember(self.scenario.initial_state(seeds, episode))
        self.apm = ApmState.empty(self.num_envs, self.num_players, self.limits, self.device)
        self._pending = []
        self._needs_reset = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        B, P = self.num_envs, self.num_players
        success = torch.full((B, P), int(ActionResult.Success), dtype=torch.long, device=self.device)
        obs = self._observe(success, torch.zeros(B, P, dtype=torch.long, device=self.device), cells)
        first = torch.full((B,), int(StepType.FIRST), dtype=torch.long, device=self.device)
        return obs, self._info(first, torch.zeros(B, dtype=torch.long, device=self.device))

    def step(self, actions: Sequence[BatchedAction]):
        """One action per player (a sequence of P BatchedActions of B games each)."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        actions = self._check_actions(actions)
        B, P = self.num_envs, self.num_players
        self._pending.append(_Pending(loops=self.limits.delay_loops, actions=actions, valid=~self._needs_reset))
        result = torch.full((B, P), int(ActionResult.Success), dtype=torch.long, device=self.device)
        last_action = torch.zeros(B, P, dtype=torch.long, device=self.device)
        state, loop = self.state, 0
        while loop < self.step_mul:
            state, result, last_action = self._apply_due(state, result, last_action)
            loops = self._loops_to_next_action(self.step_mul - loop)
            state = self._run_loops(state, self.params, loops, self.scenario.loop_rule)
            loop += loops
        new_state, cells = self._remember(self._autoreset(state))
        ended_before = self._needs_reset
        terminated = self.scenario.terminated(new_state) & ~ended_before
        truncated = (new_state.game_loop >= self.spec_.time_limit_loops) & ~terminated & ~ended_before
        ending = terminated | truncated
        outcome = torch.where(ending, self.scenario.outcome(new_state), 0)
        reward = torch.stack([outcome, -outcome], dim=1).float() if P == 2 else torch.zeros(B, P, device=self.device)
        step_type = torch.where(ended_before, int(StepType.FIRST),
                                torch.where(ending, int(StepType.LAST), int(StepType.MID)))
        result = torch.where(ended_before[:, None], int(ActionResult.Success), result)
        last_action = torch.where(ended_before[:, None], int(FunctionId.no_op), last_action)
        self.state = new_state
        self._needs_reset = ending
        obs = self._observe(result, last_action, cells)
        return obs, reward, terminated, truncated, self._info(step_type, outcome)

    def close(self) -> None:
        self.state = None
        self._pending = []

    # -- pieces ------------------------------------------------------------------------------------------------
    def _check_actions(self, actions: Sequence[BatchedAction]) -> list[BatchedAction]:
        actions = list(actions)
        if len(actions) != self.num_players:
            raise ValueError(f"expected one BatchedAction per player ({self.num_players}), got {len(actions)}")
        for player, action in enumerate(actions):
            if not isinstance(action, BatchedAction):
                raise TypeError(f"player {player}'s action must be a BatchedAction, got {type(action).__name__}")
            if action.function.shape != (self.num_envs,):
                raise ValueError(f"player {player}: expected one function per environment ({self.num_envs}), "
                                 f"got shape {tuple(action.function.shape)}")
        return [a.to(self.device) for a in actions]

    def _loops_to_next_action(self, left: int) -> int:
        """Game loops (at most `left`) to run before the next waiting action is due, from this loop on (whose due
        actions have been applied); the waiting actions' counts move on by the loops skipped, as `_apply_due` would
        have moved them loop by loop."""
        loops = min(left, 1 + min((p.loops for p in self._pending), default=left))
        self._pending = [dataclasses.replace(p, loops=p.loops - (loops - 1)) for p in self._pending]
        return loops

    def _apply_due(self, state: State, result: torch.Tensor, last_action: torch.Tensor
                   ) -> tuple[State, torch.Tensor, torch.Tensor]:
        """Carry out the actions whose delay runs out at this game loop, oldest first, each player in turn."""
        due = [p for p in self._pending if p.loops <= 0]
        self._pending = [dataclasses.replace(p, loops=p.loops - 1) for p in self._pending if p.loops > 0]
        for pending in due:
            for player, action in enumerate(pending.actions):
                action = _masked(action, pending.valid)
                refused, self.apm = admit(self.apm, action, player, state.game_loop, self.limits)
                # A click resolves against the cells the player saw at its last observation.
                visible, _ = perceive(state, player, self.context, self._cells[player])
                acted, outcome = apply_action(state, _masked(action, ~refused), player, self.context.table,
                                              self.interface, self.spec_.geometry, visible, self.context.allowed,
                                              self.context.economy)
                state = acted
                outcome = torch.where(refused, int(ActionResult.ApmCapExceeded), outcome)
                took = pending.valid
                result[:, player] = torch.where(took, outcome, result[:, player])
                done = took & ~refused & (outcome == int(ActionResult.Success))
                last_action[:, player] = torch.where(done, action.function, last_action[:, player])
        return state, result, last_action

    def _autoreset(self, stepped: State) -> State:
        """Games whose episode ended on the previous step begin a new one; their waiting actions are dropped and
        their APM history forgotten."""
        if not bool(self._needs_reset.any()):
            return stepped
        for pending in self._pending:
            pending.valid = pending.valid & ~self._needs_reset
        self.apm = self.apm.reset_where(self._needs_reset)
        index = self._needs_reset.nonzero()[:, 0]  # spawn new episodes for these games only
        fresh = self.scenario.initial_state(self.state.seed[index], self.state.episode[index] + 1)
        return put_games(stepped, index, fresh)

    def _remember(self, state: State) -> tuple[State, list[torch.Tensor | None]]:
        """Each player's visible cells now, added to what it has explored (None where no feature layer shows the
        map: without fog, or with unit lists only, where perceive then tests sight unit by unit).

        Under fog, what a player has seen is remembered at the end of every step (the one-player environment does
        it every game loop): a unit crossing a cell's edge inside a step may leave that sliver unexplored. Vision is
        the costliest part of the limits, and this keeps it to one pass per player per step, shared with the
        observation."""
        if not (self.context.fog and self.interface.feature_layers):  # no map to remember, nothing shows it
            self._cells = [None] * self.num_players
            return state, self._cells
        cells = [visible_cells(state, p, self.context.table, self.context.cells) for p in range(self.num_players)]
        self._cells = cells
        return state.replace(explored=state.explored | torch.stack(cells, dim=1)), cells

    def _observe(self, result: torch.Tensor, last_action: torch.Tensor, cells: list[torch.Tensor | None]
                 ) -> dict[str, torch.Tensor]:
        per_player = []
        for player in range(self.num_players):
            obs = observe(self.state, player, self.context, result[:, player], last_action[:, player],
                          cells[player])
            if self.limits.apm_caps:
                obs["apm_window_actions"] = window_counts(self.apm, self.state.game_loop,
                                                          self.limits.apm_caps[0])[:, player]
            else:
                obs["apm_window_actions"] = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
            obs["apm_refused"] = self.apm.refused[:, player]
            per_player.append(obs)
        return _stack_players(per_player)

    def _info(self, step_type: torch.Tensor, outcome: torch.Tensor) -> dict:
        return {"step_type": step_type, "outcome": outcome, "score": self.state.score[:, :self.num_players,
                                                                                          Score.SCORE],
                "discount": torch.where(step_type == int(StepType.MID), 1.0, 0.0)}


def player_view(obs: dict[str, torch.Tensor], player: int) -> dict[str, torch.Tensor]:
    """One player's observations [B, ...] out of a two-player observation [B, P, ...] (what one-player agents
    take)."""
    return {key: value[:, player] for key, value in obs.items()}


__all__ = ["ArenaMultiEnv", "Limits", "player_view"]
