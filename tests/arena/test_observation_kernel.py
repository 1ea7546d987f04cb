"""The observation from the compiled kernels equals that of the torch reference: the unit-read fields (available
actions, the player vector, control groups, the selection's rows, the unit lists) key by key, dtype and value, and
the screen and minimap feature layers pixel by pixel, on random states of every scenario (mid-fight; economies with
queues, eggs, larva and cargo), for both players, several interface formats, random selections, control groups,
cameras and visibility, with and without fog of war."""

from __future__ import annotations

import pytest
import torch

from arena.interface import features, kernels, unit_list
from arena.interface.features import minimap_layers, screen_layers
from arena.interface.fog import visible_cells
from arena.interface.observation import (PLAYER_FIELDS, ObservationContext, feature_layers_compiled, perceive,
                                         unit_fields, unit_fields_compiled)
from arena.interface.view import InterfaceFormat, world_to_screen
from arena.scenarios.registry import make_scenario, scenario_ids
from arena.sim import economy
from arena.sim.state import Order, Owner
from arena.sim.units import RESOURCE_MINERALS, UnitType, unit_table
from tests.arena.test_kernels import random_state

FORMATS = {
    "unit lists": InterfaceFormat(feature_layers=False),
    "raw units, offscreen enemies masked, 32 px": InterfaceFormat(feature_layers=False, raw_units=True,
                                                                   mask_offscreen_enemies=True, screen_size=32),
    "raw units only": InterfaceFormat(feature_layers=False, feature_units=False, raw_units=True),
}


def context(scenario_id: str, fmt: InterfaceFormat, fog: bool = False) -> ObservationContext:
    spec = make_scenario(scenario_id).spec
    return ObservationContext.for_scenario(spec, unit_table(), fmt, torch.tensor(spec.playable), fog=fog)


def assert_fields_agree(expected: dict, actual: dict, context_: str) -> None:
    assert list(expected) == list(actual), context_
    for key in expected:
        assert expected[key].dtype == actual[key].dtype, f"{context_}: {key} dtype"
        assert torch.equal(expected[key], actual[key]), f"{context_}: {key}"


@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_the_kernel_reads_the_units_as_the_torch_reference_does(scenario_id: str) -> None:
    for name, fmt in FORMATS.items():
        ctx = context(scenario_id, fmt)
        for seed in range(2):
            state = random_state(scenario_id, batch=6, seed=seed)
            g = torch.Generator().manual_seed(seed)
            state = state.replace(selected=torch.rand(state.selected.shape, generator=g) < 0.5,
                                  control_groups=torch.rand(state.control_groups.shape, generator=g) < 0.3,
                                  camera=state.camera + torch.randn(state.camera.shape, generator=g) * 4)
            for player in range(state.selected.shape[1]):
                visible = state.unit_alive & (torch.rand(state.unit_alive.shape, generator=g) < 0.8)
                assert_fields_agree(unit_fields(state, player, ctx, visible),
                                    unit_fields_compiled(state, player, ctx, visible),
                                    f"{scenario_id}, {name}, seed {seed}, player {player}")


LAYER_FORMATS = [InterfaceFormat(screen_size=16, minimap_size=16),
                 InterfaceFormat(screen_size=32, minimap_size=24, camera_width=20.0)]


@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_the_kernel_paints_the_feature_layers_of_the_torch_reference(scenario_id: str) -> None:
    table = unit_table()
    for fmt in LAYER_FORMATS:
        for fog in (False, True):
            state = random_state(scenario_id, batch=6, seed=1)
            g = torch.Generator().manual_seed(1)
            state = state.replace(selected=torch.rand(state.selected.shape, generator=g) < 0.5,
                                  camera=state.camera + torch.randn(state.camera.shape, generator=g) * 4,
                                  explored=torch.rand(state.explored.shape, generator=g) < 0.3)
            ctx = context(scenario_id, fmt, fog)
            for player in range(state.selected.shape[1]):
                cells = visible_cells(state, player, table, ctx.cells) if fog else None
                visible, visibility = perceive(state, player, ctx, cells)
                pos_px = world_to_screen(state.unit_pos, state.camera[:, player], fmt)
                screen, minimap = feature_layers_compiled(state, player, ctx, visible, visibility)
                where = f"{scenario_id}, {fmt.screen_size} px, fog {fog}, player {player}"
                expected = screen_layers(state, player, table, fmt, visible, visibility, ctx.playable, pos_px)
                assert screen.dtype == expected.dtype and torch.equal(screen, expected), f"{where}: screen"
                expected = minimap_layers(state, player, table, fmt, ctx.geometry, visible, visibility, ctx.playable)
                assert minimap.dtype == expected.dtype and torch.equal(minimap, expected), f"{where}: minimap"


def test_the_random_states_exercise_what_the_fields_show() -> None:
    """The comparison above is only as good as its states: they hold selected units of both players and neutral
    ones, units on and off screen, economies with queues, eggs, larva, cargo and unfinished structures."""
    fmt = FORMATS["unit lists"]
    seen = {"on screen": False, "off screen": False, "queue": False, "egg": False, "larva": False, "cargo": False,
            "unfinished": False, "economy functions": False}
    for scenario_id in ("FullGameTvZ", "CollectMineralsAndGas", "BuildMarines", "DefeatRoaches"):
        state = random_state(scenario_id, batch=6, seed=0)
        state = state.replace(selected=state.unit_alive.clone()[:, None].expand_as(state.selected).contiguous())
        for player in range(state.selected.shape[1]):
            fields = unit_fields_compiled(state, player, context(scenario_id, fmt), state.unit_alive)
            seen["on screen"] |= bool(fields["feature_units_mask"].any())
            seen["off screen"] |= bool((state.unit_alive & ~fields["feature_units_mask"]).any())
            seen["larva"] |= bool((fields["player"][:, 10] > 0).any())
            seen["economy functions"] |= bool(fields["available_actions"][:, 264].any())  # Harvest_Gather_screen
        seen["queue"] |= bool((state.queue > 0).any())
        seen["egg"] |= bool((state.unit_morph > 0).any())
        seen["cargo"] |= bool((state.unit_cargo > 0).any())
        seen["unfinished"] |= bool(((state.unit_build_left > 0) & state.unit_alive).any())
    assert all(seen.values()), seen


def test_a_game_with_no_living_unit_shows_empty_lists() -> None:
    fmt = FORMATS["raw units, offscreen enemies masked, 32 px"]
    state = random_state("FullGame", batch=2, seed=3)
    state = state.replace(unit_alive=torch.zeros_like(state.unit_alive))
    ctx = context("FullGame", fmt)
    expected = unit_fields(state, 1, ctx, state.unit_alive)
    actual = unit_fields_compiled(state, 1, ctx, state.unit_alive)
    assert_fields_agree(expected, actual, "no living unit")
    assert not actual["feature_units"].any() and not actual["raw_units_mask"].any()
    assert actual["player"].shape == (2, PLAYER_FIELDS)


def test_the_observation_kernels_constants_are_the_torch_versions() -> None:
    expected = {
        "Owner.NEUTRAL": int(Owner.NEUTRAL), "PlayerRelative.SELF": features.PlayerRelative.SELF,
        "PlayerRelative.ENEMY": features.PlayerRelative.ENEMY,
        "PlayerRelative.NEUTRAL": features.PlayerRelative.NEUTRAL, "PLAYER_ID_NEUTRAL": features.PLAYER_ID_NEUTRAL,
        "Order.NONE": int(Order.NONE), "RESOURCE_MINERALS": RESOURCE_MINERALS, "UnitType.NONE": int(UnitType.NONE),
        "SUPPLY_LIMIT": economy.SUPPLY_LIMIT, "DISPLAY_VISIBLE": unit_list.DISPLAY_VISIBLE,
        "CLOAK_NOT_CLOAKED": unit_list.CLOAK_NOT_CLOAKED, "NUM_UNIT_FEATURES": unit_list.NUM_UNIT_FEATURES,
        "SELECTION_FEATURES": unit_list.SELECTION_FEATURES, "PLAYER_FIELDS": PLAYER_FIELDS}
    assert kernels.OBSERVATION_CONSTANTS == expected


def test_large_layers_are_zeros_in_huge_pages_and_small_ones_plain_zeros() -> None:
    from arena.interface.observation import HUGE_PAGE, zeros_in_huge_pages

    for shape in [(2, 3, 4, 4), (24, 27, 64, 64)]:  # under one huge page, and over several
        layers = zeros_in_huge_pages(shape, torch.int16)
        assert layers.shape == shape and layers.dtype == torch.int16 and not layers.any()
    assert 24 * 27 * 64 * 64 * 2 > 2 * HUGE_PAGE


def test_the_threaded_builds_observe_and_act_as_the_serial_ones() -> None:
    """On two threads the kernels run their threaded builds (games spread over the threads): the same observation
    and the same state after the same actions as on one thread."""
    import numba

    from arena.interface.actions import apply_action_compiled
    from tests.arena.test_action_kernel import random_actions

    scenario_id = "FullGameTvZ"
    spec = make_scenario(scenario_id).spec
    fmt = InterfaceFormat(screen_size=32, minimap_size=32, raw_units=True)
    ctx = context(scenario_id, fmt, fog=True)
    state = random_state(scenario_id, batch=8, seed=5)
    g = torch.Generator().manual_seed(5)
    state = state.replace(selected=torch.rand(state.selected.shape, generator=g) < 0.5)
    cells = visible_cells(state, 1, ctx.table, ctx.cells)
    visible, visibility = perceive(state, 1, ctx, cells)
    action = random_actions(state, 1, fmt, None, True, g, wild=False)

    def everything() -> list[torch.Tensor]:
        fields = unit_fields_compiled(state, 1, ctx, visible)
        layers = feature_layers_compiled(state, 1, ctx, visible, visibility)
        after, result = apply_action_compiled(state, action, 1, ctx.table, fmt, spec.geometry, visible, None, True)
        return [*fields.values(), *layers, after.order_kind, after.order_pos, after.selected, after.camera, result]

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        serial = everything()
        torch.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        threaded = everything()
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(serial, threaded))
