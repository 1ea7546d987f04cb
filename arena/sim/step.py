"""One game loop of the engine: a pipeline of small pure passes over the State."""

from __future__ import annotations

import dataclasses
import enum
import functools
import warnings
from typing import Callable

import torch

from arena.sim.combat import fire_weapons, regenerate
from arena.sim.economy import economy_loop, nearest_town_hall
from arena.sim.geometry import pairs
from arena.sim.movement import arrivals, move_units, separate_units
from arena.sim.orders import attack_order_target_alive, current_order, pop_orders
from arena.sim.rules import LoopRule, LoopTrigger, Slots  # noqa: F401  (re-exported: their home before rules.py)
from arena.sim.state import Order, Owner, Score, State
from arena.sim.targeting import acquire_targets
from arena.sim.units import UnitTable, unit_table

@dataclasses.dataclass(frozen=True)
class SimParams:
    """What the engine needs besides the state: unit data and the playable area."""

    table: UnitTable
    bounds: torch.Tensor  # [4] playable rectangle (x0, y0, x1, y1) in map units
    economy: bool = False
    """Run the economy passes (gathering, construction, production); scenarios without workers or producers skip
    them."""

    @staticmethod
    def create(bounds: tuple[float, float, float, float], device: torch.device | str = "cpu",
               economy: bool = False) -> "SimParams":
        return SimParams(table=unit_table(torch.device(device)),
                         bounds=torch.tensor(bounds, dtype=torch.float32, device=device), economy=economy)


def dead_targets(state: State) -> torch.Tensor:
    """[B, U] units whose attack order's target has died: that order is done."""
    return (current_order(state) == int(Order.ATTACK_UNIT)) & ~attack_order_target_alive(state)


def record_kills(state: State, died: torch.Tensor, table: UnitTable) -> State:
    """Add the value of the units each player killed this loop to its killed_value_units."""
    value = torch.where(died, table.value[state.unit_type], 0.0)
    lost_by_1 = torch.where(state.unit_owner == int(Owner.PLAYER_1), value, 0.0).sum(dim=1)
    lost_by_2 = torch.where(state.unit_owner == int(Owner.PLAYER_2), value, 0.0).sum(dim=1)
    score = state.score.clone()
    score[:, 0, Score.KILLED_VALUE_UNITS] += lost_by_2
    score[:, 1, Score.KILLED_VALUE_UNITS] += lost_by_1
    return state.replace(score=score)


def forget_dead(state: State) -> State:
    """Dead units leave selections, control groups and orders."""
    alive = state.unit_alive
    return state.replace(
        selected=state.selected & alive[:, None, :],
        control_groups=state.control_groups & alive[:, None, None, :],
        order_kind=torch.where(alive[:, :, None], state.order_kind, 0),
        unit_target=torch.where(alive, state.unit_target, -1),
    )


CPU_COMPILE_OPTIONS = {"cpp.simdlen": 1}
"""Inductor's C++ code without SIMD: the game loop's short unit rows (often fewer slots than one vector's lanes) and
its gathers make inductor's vector code several times slower than its scalar code on CPU (3m at B = 1024: 4.4 ms a
game loop vectorised, 1.1 ms scalar, 3.8 ms eager). CUDA code is not affected."""


def compiled_game_loop() -> LoopFunction:
    """`game_loop` through torch.compile (optional speed-up on CPU, measured with `benchmarks/engine.py --engine
    compiled`: about 3x at B = 1, up to 2x at B = 1024, none on 27m_vs_30m, where the eager engine's list of close
    pairs for collisions wins). The first call of each batch shape compiles for tens of seconds."""
    warnings.filterwarnings("ignore", message=".*functools.lru_cache.*", category=UserWarning)
    return torch.compile(game_loop, dynamic=False, options=CPU_COMPILE_OPTIONS)


def game_loop(state: State, params: SimParams) -> tuple[State, torch.Tensor]:
    """Advance every game by one game loop. Returns the new state and the units that died in it [B, U]."""
    table = params.table
    alive_before, pos_before = state.unit_alive, state.unit_pos
    geo = pairs(state, table)
    home = nearest_town_hall(state, table) if params.economy else None
    state = acquire_targets(state, table, geo)
    state = fire_weapons(state, table, geo)
    state = move_units(state, table, geo, home)
    state = separate_units(state, table, params.bounds, pos_before if params.economy else None, geo.dist)
    state = pop_orders(state, arrivals(state, pos_before, table) | dead_targets(state))
    state = regenerate(state, table)
    consumed = torch.zeros_like(alive_before)
    if params.economy:
        state, consumed = economy_loop(state, table, geo, home, params.bounds)
    died = alive_before & ~state.unit_alive & ~consumed
    state = record_kills(state, died, table)
    state = forget_dead(state)
    return state.replace(game_loop=state.game_loop + 1), died


LoopFunction = Callable[[State, SimParams], tuple[State, torch.Tensor]]


class Engine(str, enum.Enum):
    """What runs the game loop (`arena.make(..., engine=)`, `--engine`)."""

    AUTO = "auto"
    """The kernel where it applies (a CPU state), else the torch passes."""
    KERNEL = "kernel"
    """The compiled numba kernel (arena.sim.kernels): every scenario, on the CPU."""
    TORCH = "torch"
    """The torch passes, eagerly: every scenario, every device; the reference the kernel is tested against."""
    COMPILED = "compiled"
    """The torch passes through torch.compile (tens of seconds to compile per batch shape)."""

    @staticmethod
    def parse(name: "str | Engine") -> "Engine":
        """The engine called `name`.

        Raises:
            ValueError: no engine has that name (the message lists them).
        """
        try:
            return Engine(name)
        except ValueError:
            raise ValueError(f"unknown engine {name!r}; known: {', '.join(e.value for e in Engine)}") from None


def kernel_applies(params: SimParams) -> bool:
    """Whether the compiled kernel can run these games: a CPU state (the GPU runs the torch passes, for now)."""
    return params.bounds.device.type == "cpu"


def chosen_engine(engine: "str | Engine", params: SimParams) -> "Engine":
    """The engine that runs games with `params` (auto resolved: the kernel on the CPU, the torch passes on a GPU).

    Raises:
        ValueError: an unknown engine, or the kernel asked for on a GPU.
    """
    chosen = Engine.parse(engine)
    if chosen is Engine.AUTO:
        return Engine.KERNEL if kernel_applies(params) else Engine.TORCH
    if chosen is Engine.KERNEL and not kernel_applies(params):
        raise ValueError(f"engine='kernel' runs on the CPU, not {params.bounds.device}; use engine='torch' "
                         "(or 'auto') there")
    return chosen


def loop_function(engine: "str | Engine", params: SimParams) -> LoopFunction:
    """The game loop `engine` runs for games with `params`.

    Raises:
        ValueError: an unknown engine, or the kernel asked for on a GPU.
    """
    chosen = chosen_engine(engine, params)
    if chosen is Engine.KERNEL:
        from arena.sim.kernels import kernel_game_loop  # numba compiles on first use

        return kernel_game_loop
    if chosen is Engine.COMPILED:
        return compiled_game_loop()
    return game_loop


def run_loops(state: State, params: SimParams, loops: int, rule: LoopRule | None = None,
              loop: LoopFunction = game_loop) -> State:
    """Advance `loops` game loops, applying the scenario's `rule` after each one. `loop` may be a compiled
    `game_loop`."""
    for _ in range(loops):
        state, died = loop(state, params)
        if rule is not None:
            state = rule(state, died)
    return state


LoopRunner = Callable[[State, SimParams, int, "LoopRule | None"], State]
"""(state, params, loops, rule) -> the state after `loops` game loops, the rule applied after each."""


def loop_runner(engine: "str | Engine", params: SimParams, trigger: LoopTrigger | None, fog: bool = False
                ) -> LoopRunner:
    """How `engine` runs a step's game loops: on the kernel, with a scenario's `trigger`, all of a step's loops in
    one call (a game stops early only where the rule may act; with `fog` the kernel also remembers what the players
    see after each loop, as the rule it is given must); otherwise one `loop_function` call per loop.

    Raises:
        ValueError: as loop_function.
    """
    if trigger is not None and chosen_engine(engine, params) is Engine.KERNEL:
        from arena.sim.kernels import kernel_run_loops  # numba compiles on first use

        return functools.partial(kernel_run_loops, trigger=trigger, fog=fog)
    return functools.partial(run_loops, loop=loop_function(engine, params))
