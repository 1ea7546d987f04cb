"""Actions carried out by the compiled kernel (arena.interface.actions.apply_action_compiled) leave exactly the state
and ActionResults of the torch reference (apply_action_torch): every field of the State, on random states of every
scenario, both players, two screen sizes, random available functions with random arguments (clicks aimed at units
half of the time, some arguments out of range, some functions not available)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from arena.interface import kernels
from arena.interface.actions import (BatchedAction, apply_action_compiled, apply_action_torch, available_actions)
from arena.interface.functions import ActionResult, FunctionId
from arena.interface.view import InterfaceFormat, world_to_screen
from arena.scenarios.registry import make_scenario, scenario_ids
from arena.sim.state import Order, State
from arena.sim.units import unit_table
from tests.arena.test_kernels import random_state

FORMATS = [InterfaceFormat(feature_layers=False, screen_size=16, minimap_size=16),
           InterfaceFormat(feature_layers=False)]


def random_actions(state: State, player: int, fmt: InterfaceFormat, allowed, economy: bool, g: torch.Generator,
                   wild: bool) -> BatchedAction:
    """Mostly available functions; screen points on a random unit's pixel in half the games; with `wild`, points
    one pixel beyond the screen's edges and control group ids up to 10 (out of range)."""
    B, U = state.unit_alive.shape
    table = unit_table()
    available = available_actions(state, player, table, allowed, economy)
    function = torch.multinomial(available.float() + 0.002, 1, generator=g)[:, 0]
    S, M = fmt.screen_size, fmt.minimap_size

    def ints(high: int, *shape: int) -> torch.Tensor:
        return torch.randint(0, high, (B,) + shape, generator=g)

    on_unit = world_to_screen(state.unit_pos, state.camera[:, player], fmt).floor().long()
    aimed = on_unit[torch.arange(B), ints(U)].clamp(0, S - 1)
    screen = torch.where((torch.rand(B, generator=g) < 0.5)[:, None], aimed, ints(S, 2))
    action = BatchedAction(function=function, screen=screen, minimap=ints(M, 2), screen2=ints(S, 2),
                           queued=ints(2), select_point_act=ints(4), select_add=ints(2), control_group_act=ints(5),
                           control_group_id=ints(10), select_worker=ints(4))
    if wild:
        action = dataclasses.replace(action, screen=action.screen + torch.randint(-1, 2, (B, 2), generator=g),
                                     control_group_id=ints(11))
    return action


def assert_same(expected: tuple[State, torch.Tensor], actual: tuple[State, torch.Tensor], context: str) -> None:
    assert torch.equal(expected[1], actual[1]), f"{context}: ActionResult"
    for field in dataclasses.fields(State):
        a, b = getattr(expected[0], field.name), getattr(actual[0], field.name)
        assert a.dtype == b.dtype and torch.equal(a, b), f"{context}: {field.name}"


@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_the_kernel_carries_out_actions_as_the_torch_reference_does(scenario_id: str) -> None:
    spec = make_scenario(scenario_id).spec
    table = unit_table()
    allowed = None
    if spec.functions is not None:
        allowed = torch.zeros(573, dtype=torch.bool)
        allowed[list(spec.functions)] = True
    for fmt in FORMATS:
        for seed in range(3):
            state = random_state(scenario_id, batch=24, seed=seed)
            g = torch.Generator().manual_seed(seed)
            state = state.replace(selected=torch.rand(state.selected.shape, generator=g) < 0.5,
                                  control_groups=torch.rand(state.control_groups.shape, generator=g) < 0.3)
            for player in range(state.selected.shape[1]):
                visible = state.unit_alive & (torch.rand(state.unit_alive.shape, generator=g) < 0.8)
                action = random_actions(state, player, fmt, allowed, spec.economy, g, wild=seed == 2)
                args = (state, action, player, table, fmt, spec.geometry, visible, allowed, spec.economy)
                assert_same(apply_action_torch(*args), apply_action_compiled(*args),
                            f"{scenario_id}, {fmt.screen_size} px, seed {seed}, player {player}")


def test_the_random_actions_exercise_the_rules() -> None:
    """Clicks that hit units, attacks on a unit, queued orders, every selection function, camera moves, refusals."""
    seen = {"clicked": False, "attack unit": False, "queued": False, "camera": False, "invalid": False,
            "error": False}
    functions = set()
    fmt = FORMATS[0]
    table = unit_table()
    for scenario_id in ("DefeatRoaches", "MarineMirror", "FullGame"):
        spec = make_scenario(scenario_id).spec
        state = random_state(scenario_id, batch=64, seed=0)
        g = torch.Generator().manual_seed(0)
        state = state.replace(selected=torch.rand(state.selected.shape, generator=g) < 0.5)
        action = random_actions(state, 0, fmt, None, spec.economy, g, wild=True)
        after, result = apply_action_compiled(state, action, 0, table, fmt, spec.geometry, state.unit_alive, None,
                                              spec.economy)
        ok = result == int(ActionResult.Success)
        functions |= set(action.function[ok].tolist())
        point = ok & (action.function == int(FunctionId.select_point)) & (action.select_point_act == 0)
        seen["clicked"] |= bool(after.selected[:, 0][point].any())
        seen["attack unit"] |= bool((after.order_kind == int(Order.ATTACK_UNIT)).logical_and(
            after.order_kind != state.order_kind).any())
        seen["queued"] |= bool((after.order_kind[:, :, 1:] != state.order_kind[:, :, 1:]).logical_and(
            after.order_kind[:, :, 1:] != 0).any())
        seen["camera"] |= bool((after.camera != state.camera).any())
        seen["invalid"] |= bool((result == int(ActionResult.InvalidAvailableAction)).any())
        seen["error"] |= bool((result == int(ActionResult.Error)).any())
    assert all(seen.values()), seen
    selections = {FunctionId.select_point, FunctionId.select_rect, FunctionId.select_army,
                  FunctionId.select_control_group, FunctionId.select_idle_worker}
    assert {int(f) for f in selections} <= functions


def test_the_action_kernels_constants_are_pysc2s_and_the_engines() -> None:
    expected = {f"FunctionId.{f.name}": int(f) for f in (
        FunctionId.no_op, FunctionId.move_camera, FunctionId.select_point, FunctionId.select_rect,
        FunctionId.select_control_group, FunctionId.select_idle_worker, FunctionId.select_army,
        FunctionId.Attack_screen, FunctionId.Attack_minimap, FunctionId.HoldPosition_quick, FunctionId.Move_screen,
        FunctionId.Move_minimap, FunctionId.Smart_screen, FunctionId.Smart_minimap, FunctionId.Stop_quick)}
    expected.update({f"ActionResult.{r.name}": int(r) for r in (
        ActionResult.Success, ActionResult.InvalidAvailableAction, ActionResult.Error)})
    expected.update({f"Order.{o.name}": int(o) for o in (Order.MOVE, Order.ATTACK_MOVE, Order.ATTACK_UNIT,
                                                          Order.HOLD)})
    assert kernels.ACTION_CONSTANTS == expected
