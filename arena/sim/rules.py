"""What a scenario's per-loop rule is, and when it may act: the contract between the scenarios and whatever runs the
game loop (the torch passes in arena.sim.step, the compiled kernel in arena.sim.kernels). It lives apart from both so
that imports run one way: step chooses and calls the kernel, the kernel needs only these types."""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from arena.sim.state import State

LoopRule = Callable[[State, torch.Tensor], State]
"""A scenario's per-loop rule: (state after the loop, units that died in it [B, U]) -> state."""

Slots = tuple[int, "int | None"]
"""A range of unit slots [first, end); end None: to the last slot."""


@dataclasses.dataclass(frozen=True)
class LoopTrigger:
    """When a scenario's loop rule may change a game, so that the compiled engine can run a game's loops without
    calling the rule in between: after a loop in which a unit died (`on_death`); in which an alive unit of the
    first slots of `near` is within its distance (map units) of an alive unit of its second slots; or after which
    no unit of the `empty` slots is alive. After any other loop the rule must do no more than `kill_scores` says:
    add to player 1's score a weight per unit of a slot range that died in the loop, and with `kills_by_owner` give
    each of two players +1 per unit of the other's that died (the kernel does that itself).
    tests/arena/test_kernels.py steps every kind of scenario on both engines. `after_step`: the rule also runs
    once after the step's last loop, for rules that recompute a value from the state (the economy mini-games'
    scores)."""

    on_death: bool = False
    near: "tuple[Slots, Slots, float] | None" = None
    empty: "Slots | None" = None
    kill_scores: "tuple[tuple[Slots, float], ...]" = ()
    kills_by_owner: bool = False
    after_step: bool = False


__all__ = ["LoopRule", "LoopTrigger", "Slots"]
