"""The one environment core under every embedded-engine shell: B games of a scenario, P players each, stepped together.

`GameCore` holds the games' state and runs a step: the players' actions reach the engine (at once, or through a
`FairnessLayer`: action delay and APM cap), the step's game loops run with the scenario's per-loop rule, games whose
episode ended on the previous step begin a new one (arena.protocol's next-step autoreset), and what each player has
seen is remembered. The shells (`arena.env.ArenaEnv` for one player, `arena.multi_env.ArenaMultiEnv` for two) only
shape what the core gives into their observations, rewards and infos.

Explored map (fog of war's SEEN cells): remembered after every game loop, for every player, as the one-player
environment always did (so exploring does not depend on step_mul: two steps of 4 loops equal one of 8), and only
where a feature layer shows the map, as the two-player environment did (unit lists never show it). Until 2027-01
the two-player environment remembered once per step; its observations may now show a few more SEEN cells. Replays
record neither the explored map nor the observations (only actions, units and their visibility now), so replays
recorded before still verify.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch

from arena.interface.actions import BatchedAction, apply_action
from arena.interface.fairness import ActionDelay, FairnessLayer, PendingActions, masked
from arena.interface.fog import visible_cells
from arena.interface.functions import ActionResult, FunctionId
from arena.interface.limits import Limits
from arena.interface.observation import ObservationContext, observe, perceive
from arena.interface.view import InterfaceFormat
from arena.protocol import episode_seeds
from arena.scenarios.base import Scenario
from arena.scenarios.registry import make_scenario
from arena.sim.state import State, put_games
from arena.sim.step import Engine, SimParams, loop_function, loop_runner
from arena.sim.units import unit_table


@dataclasses.dataclass(frozen=True)
class Transition:
    """What one step did to every game."""

    before: State
    after: State
    began: torch.Tensor  # [B] bool: games that began a new episode (their actions were ignored)
    terminated: torch.Tensor  # [B] bool: the scenario ended the episode
    truncated: torch.Tensor  # [B] bool: the time limit ended it
    action_result: torch.Tensor  # [B, P] long: pysc2's ActionResult of each player's action
    last_action: torch.Tensor  # [B, P] long: the function each player is told it carried out

    @property
    def ending(self) -> torch.Tensor:
        """[B] bool: episodes that ended on this step."""
        return self.terminated | self.truncated


def staggered_start(seeds: torch.Tensor, time_limit_loops: int, step_mul: int) -> torch.Tensor:
    """[B] long: the game loop each game's first episode starts at, a whole number of steps in [0, time limit),
    spread by a hash of the game's seed (the same seeds, the same starts, on every device). A learner whose games
    all end on the same step sees its value targets jump once per episode; staggered, their ends spread out."""
    steps = max(time_limit_loops // step_mul, 1)
    mixed = (seeds * 2654435761 + 40503) % 2147483647  # Knuth's multiplicative hash: neighbouring seeds spread out
    return (mixed % steps) * step_mul


class GameCore:
    """B games of one scenario and their players, stepped together (the state shared by the environment shells).

    Args:
        scenario: a registered id or a Scenario.
        num_envs: games stepped together (B).
        step_mul: game loops per step (None: the scenario's).
        interface: what observations hold, for every player.
        limits: the fairness limits (a `FairnessLayer` of them; fog of war only where the scenario has it too), or
            None for none: every action is carried out at the step's first game loop and reported as asked.
        engine: what runs the game loop (arena.sim.step.Engine).
    """

    def __init__(self, scenario: str | Scenario, *, num_envs: int, device: torch.device | str, step_mul: int | None,
                 interface: InterfaceFormat | None, limits: Limits | None, engine: str | Engine):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.scenario = make_scenario(scenario) if isinstance(scenario, str) else scenario
        spec = self.scenario.spec
        self.spec_ = spec
        self.num_envs, self.num_players = num_envs, spec.num_agents
        self.device = torch.device(device)
        self.step_mul = spec.step_mul if step_mul is None else step_mul
        if self.step_mul < 1:
            raise ValueError(f"step_mul must be at least 1, got {self.step_mul}")
        self.interface = interface or InterfaceFormat()
        self.limits = limits
        self.fairness = None if limits is None else FairnessLayer.from_limits(
            limits, num_envs=num_envs, num_players=self.num_players, device=self.device)
        self.params = SimParams.create(spec.playable, self.device, economy=spec.economy)
        self._game_loop = loop_function(engine, self.params)
        self.context = ObservationContext.for_scenario(spec, unit_table(self.device), self.interface,
                                                       self.params.bounds, spec.fog and (limits is None or limits.fog))
        self._run_loops = loop_runner(engine, self.params, self.scenario.loop_trigger, fog=self.remembers_explored)
        self._state: State | None = None
        self._cells: list[torch.Tensor | None] | None = None
        self._needs_reset = torch.zeros(num_envs, dtype=torch.bool, device=self.device)

    # -- public state ----------------------------------------------------------------------------------------
    @property
    def state(self) -> State | None:
        """The games now (None before the first reset and after close). May be replaced, e.g. from a checkpoint."""
        return self._state

    @state.setter
    def state(self, state: State | None) -> None:
        self._state, self._cells = state, None

    @property
    def needs_reset(self) -> torch.Tensor:
        """[B] bool: games whose episode ended on the latest step; the next step ignores their actions and begins a
        new episode for them (next-step autoreset). Settable together with `state`, to resume saved games."""
        return self._needs_reset

    @needs_reset.setter
    def needs_reset(self, games: torch.Tensor) -> None:
        self._needs_reset = games.to(device=self.device, dtype=torch.bool)

    @property
    def remembers_explored(self) -> bool:
        """Whether the players' explored cells are kept: under fog, where a feature layer shows the map."""
        return self.context.fog and self.interface.feature_layers

    def seen_cells(self) -> list[torch.Tensor | None]:
        """Each player's visible cells [B, H, W] in the current state; None where the explored map is not kept
        (`perceive` then tests sight unit by unit)."""
        if self._cells is None:
            self._cells = self._visible(self._state)
        return self._cells

    # -- the step --------------------------------------------------------------------------------------------
    def begin(self, seed: int | Sequence[int] | None, stagger: bool = False) -> None:
        """Every game begins its first episode (`stagger`: part of the way into its time limit, see
        `staggered_start`)."""
        seeds = torch.tensor(episode_seeds(seed, self.num_envs), dtype=torch.long, device=self.device)
        initial = self.scenario.initial_state(seeds, torch.zeros_like(seeds))
        if stagger:
            initial = initial.replace(game_loop=staggered_start(seeds, self.spec_.time_limit_loops, self.step_mul))
        self._state, self._cells = self._remember(initial)
        if self.fairness is not None:
            self.fairness.restart()
        self._needs_reset = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)

    def advance(self, actions: list[BatchedAction]) -> Transition:
        """One step: the players' actions (one per player, checked by arena.protocol.player_actions), the step's
        game loops, autoreset and the explored map."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        began, before = self._needs_reset, self._state
        B, P = self.num_envs, self.num_players
        result = torch.full((B, P), int(ActionResult.Success), dtype=torch.long, device=self.device)
        last_action = torch.full((B, P), int(FunctionId.no_op), dtype=torch.long, device=self.device)
        delay = ActionDelay(0) if self.fairness is None else self.fairness.delay
        delay.submit(actions, valid=~began)
        cells, state, loop = self.seen_cells(), before, 0  # clicks resolve against what each player saw last
        while loop < self.step_mul:
            for pending in delay.take_due():
                state = self._carry_out(state, pending, cells, result, last_action)
            loops = delay.loops_to_next_action(self.step_mul - loop)
            state = self._run_loops(state, self.params, loops, self._loop_rule)
            loop += loops
        after, self._cells = self._remember(self._autoreset(state))
        terminated = self.scenario.terminated(after) & ~began
        truncated = (after.game_loop >= self.spec_.time_limit_loops) & ~terminated & ~began
        self._state, self._needs_reset = after, terminated | truncated
        return Transition(before=before, after=after, began=began, terminated=terminated, truncated=truncated,
                          action_result=torch.where(began[:, None], int(ActionResult.Success), result),
                          last_action=torch.where(began[:, None], int(FunctionId.no_op), last_action))

    def observe_player(self, player: int, action_result: torch.Tensor, last_action: torch.Tensor
                       ) -> dict[str, torch.Tensor]:
        """`player`'s observation [B, ...] of the current state, with the fairness layer's counters if any."""
        obs = observe(self._state, player, self.context, action_result, last_action, self.seen_cells()[player])
        if self.fairness is not None:
            obs.update(self.fairness.apm.observation(player, self._state.game_loop))
        return obs

    def close(self, **kwargs) -> None:
        self.state = None
        if self.fairness is not None:
            self.fairness.delay.clear()

    # -- pieces ----------------------------------------------------------------------------------------------
    def _carry_out(self, state: State, pending: PendingActions, cells: list[torch.Tensor | None],
                   result: torch.Tensor, last_action: torch.Tensor) -> State:
        """Carry out one step's actions, each player in turn, filling in `result` and `last_action` [B, P]: without
        limits the function asked for (pysc2's batched convention, as Sc2Env reports it); under limits the one
        carried out, if any (a delayed step may carry out none, or an earlier step's)."""
        took = pending.valid
        for player, asked in enumerate(pending.actions):
            action = masked(asked, took)
            refused = None
            if self.fairness is not None:
                refused = self.fairness.apm.refuse(action, player, state.game_loop)
                action = masked(action, ~refused)
            visible, _ = perceive(state, player, self.context, cells[player])
            state, outcome = apply_action(state, action, player, self.context.table, self.interface,
                                          self.spec_.geometry, visible, self.context.allowed, self.context.economy)
            if refused is None:
                last_action[:, player] = asked.function
            else:
                outcome = torch.where(refused, int(ActionResult.ApmCapExceeded), outcome)
                done = took & ~refused & (outcome == int(ActionResult.Success))
                last_action[:, player] = torch.where(done, asked.function, last_action[:, player])
            result[:, player] = torch.where(took, outcome, result[:, player])
        return state

    def _loop_rule(self, state: State, died: torch.Tensor) -> State:
        """The scenario's rule after every game loop; then, where the explored map is kept, what each player sees
        in that loop is remembered (pysc2's SEEN cells), so exploring does not depend on step_mul."""
        return self._remember(self.scenario.loop_rule(state, died))[0]

    def _autoreset(self, stepped: State) -> State:
        """Games whose episode ended on the previous step begin a new one (their actions were ignored; under limits
        their waiting actions are dropped and their APM history forgotten). A new episode's spawn is built only for
        the games that need one, on steps where some game does."""
        if not bool(self._needs_reset.any()):
            return stepped
        if self.fairness is not None:
            self.fairness.forget(self._needs_reset)
        index = self._needs_reset.nonzero()[:, 0]
        fresh = self.scenario.initial_state(self._state.seed[index], self._state.episode[index] + 1)
        return put_games(stepped, index, fresh)

    def _visible(self, state: State) -> list[torch.Tensor | None]:
        """Each player's visible cells [B, H, W] in `state` (None each where the explored map is not kept)."""
        if not self.remembers_explored:
            return [None] * self.num_players
        return [visible_cells(state, p, self.context.table, self.context.cells) for p in range(self.num_players)]

    def _remember(self, state: State) -> tuple[State, list[torch.Tensor | None]]:
        """`state` with what each player sees now added to its explored cells, and those cells (kept for the
        observation of `state` and the clicks that answer it: one vision pass per player per step)."""
        cells = self._visible(state)
        if not self.remembers_explored:
            return state, cells
        return state.replace(explored=state.explored | torch.stack(cells, dim=1)), cells


__all__ = ["GameCore", "Transition", "staggered_start"]
