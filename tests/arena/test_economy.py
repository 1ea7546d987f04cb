"""The engine's economy: income per worker against the game's figures, gas, placement, construction, production,
supply, larva and eggs, morphs, depletion, and the economy functions' refusal codes."""

from __future__ import annotations

import pytest
import torch

from arena.interface.actions import BatchedAction, apply_action, available_actions
from arena.interface.functions import ActionResult
from arena.interface.functions import FunctionId as F
from arena.interface.view import InterfaceFormat, MapGeometry, world_to_screen
from arena.sim.economy import allocate_slots, spawn_units, supply_cap, supply_used
from arena.sim.placement import Placement, placement_result, snap_to_grid
from arena.sim.state import Order, Score, State, empty_state
from arena.sim.step import SimParams, run_loops
from arena.sim.units import LOOPS_PER_REAL_SECOND, UnitType, unit_table

T = unit_table()
FMT = InterfaceFormat()
WHOLE_MAP = (0.0, 0.0, 64.0, 64.0)
GEOMETRY = MapGeometry(64.0, 64.0, (10.0, 8.0, 54.0, 44.0), playable=WHOLE_MAP)
PARAMS = SimParams.create(WHOLE_MAP, economy=True)
MINUTE = int(60 * LOOPS_PER_REAL_SECOND)
# A mineral line like the mini-game maps' west line (minigames.md), the Command Center on the grid beside it.
MINERAL_LINE = [(23, 28.5), (24, 29.5), (23, 26.5), (25, 22.5), (25, 32.5), (24, 23.5), (24, 31.5), (24, 25.5)]
CC_POS = (29.5, 27.5)


def world(units: list[tuple[UnitType, int, tuple[float, float]]], resources: dict[int, float] | None = None,
          minerals: float = 0.0, gas: float = 0.0, batch: int = 1) -> State:
    """A state with `units` (type, owner, position) in slots 0.., both players' banks set."""
    state = empty_state(batch=batch, units=64, agents=2, cells=(64, 64))
    n = len(units)
    kinds = torch.tensor([int(k) for k, _, _ in units]).expand(batch, n)
    owners = torch.tensor([o for _, o, _ in units]).expand(batch, n)
    pos = torch.tensor([p for _, _, p in units], dtype=torch.float32).expand(batch, n, 2)
    left = torch.zeros(n)
    for slot, amount in (resources or {}).items():
        left[slot] = amount
    state = spawn_units(state, T, torch.arange(n).expand(batch, n), kinds, owners, pos,
                        resources=left.expand(batch, n))
    return state.replace(minerals=torch.full((batch, 2), minerals), vespene=torch.full((batch, 2), gas),
                         camera=torch.tensor([[32.0, 28.0], [32.0, 28.0]]).expand(batch, 2, 2).clone())


def mineral_line(workers: int, amount: float = 1500.0) -> State:
    units = [(UnitType.COMMAND_CENTER, 0, CC_POS)] + [(UnitType.MINERAL_FIELD, 2, p) for p in MINERAL_LINE]
    units += [(UnitType.SCV, 0, (33.0 + i % 2, 22.0 + 0.5 * i)) for i in range(workers)]
    state = world(units, {1 + i: amount for i in range(8)})
    kind, target = state.order_kind.clone(), state.order_unit.clone()
    for i in range(workers):
        kind[:, 9 + i, 0] = int(Order.GATHER)
        target[:, 9 + i, 0] = 1 + i % 8
    return state.replace(order_kind=kind, order_unit=target)


def income_per_minute(state: State, warm_up_s: float = 20.0) -> float:
    state = run_loops(state, PARAMS, int(warm_up_s * LOOPS_PER_REAL_SECOND))
    before = float(state.minerals[0, 0] + state.vespene[0, 0])
    state = run_loops(state, PARAMS, MINUTE)
    return float(state.minerals[0, 0] + state.vespene[0, 0]) - before


def select(state: State, player: int, *slots: int) -> State:
    selected = state.selected.clone()
    selected[:, player] = False
    for slot in slots:
        selected[:, player, slot] = True
    return state.replace(selected=selected)


def act(state: State, player: int, function: F, point: tuple[float, float] | None = None
        ) -> tuple[State, int]:
    """One economy action of `player`, a point given in map units."""
    arguments = {}
    if point is not None:
        px = world_to_screen(torch.tensor([[point]]), state.camera[:, player], FMT)[0, 0]
        arguments["screen"] = (int(px[0]), int(px[1]))
    action = BatchedAction.make(int(function), batch=state.batch_size, **arguments)
    state, result = apply_action(state, action, player, T, FMT, GEOMETRY, state.unit_alive, economy=True)
    return state, int(result[0])


@pytest.mark.slow
def test_sixteen_workers_on_eight_fields_earn_the_games_income_per_worker():
    per_worker = income_per_minute(mineral_line(16)) / 16
    assert 57.5 * 0.9 <= per_worker <= 57.5 * 1.1  # units.md: 55-60 minerals per worker-minute


@pytest.mark.slow
def test_a_saturated_mineral_line_tops_out_near_the_games_rate():
    line = income_per_minute(mineral_line(24))
    assert 1206 * 0.9 <= line <= 1206 * 1.1  # units.md: about 1,206 per real minute with 3 per field
    assert line / 24 < income_per_minute(mineral_line(16)) / 16  # a third worker on a field adds little


def test_one_worker_brings_five_minerals_a_trip_into_bank_and_score():
    state = run_loops(mineral_line(1), PARAMS, 8 * int(LOOPS_PER_REAL_SECOND))
    assert float(state.minerals[0, 0]) % 5 == 0 and float(state.minerals[0, 0]) >= 5
    assert float(state.score[0, 0, Score.COLLECTED_MINERALS]) == float(state.minerals[0, 0])
    assert float(state.unit_resources[0, 1]) == 1500 - float(state.minerals[0, 0]) - float(state.unit_cargo[0, 9])


@pytest.mark.slow
def test_three_workers_saturate_a_refinery_near_160_gas_a_minute():
    units = [(UnitType.COMMAND_CENTER, 0, CC_POS), (UnitType.REFINERY, 0, (29.5, 20.5))]
    units += [(UnitType.SCV, 0, (33.0, 22.0 + i)) for i in range(3)]
    state = world(units, {1: 2000.0})
    kind, target = state.order_kind.clone(), state.order_unit.clone()
    kind[:, 2:5, 0] = int(Order.GATHER)
    target[:, 2:5, 0] = 1
    gas = income_per_minute(state.replace(order_kind=kind, order_unit=target))
    assert 160 * 0.9 <= gas <= 160 * 1.1


def test_mined_out_field_disappears_and_its_workers_move_to_the_next():
    state = mineral_line(2, amount=5.0)
    state = run_loops(state, PARAMS, 10 * int(LOOPS_PER_REAL_SECOND))
    assert not bool(state.unit_alive[0, 1]) and not bool(state.unit_alive[0, 2])  # each gave one trip
    assert float(state.minerals[0, 0]) == 10.0
    assert (state.order_kind[0, 9:11, 0] == int(Order.GATHER)).all()
    assert bool(state.unit_alive[0, state.order_unit[0, 9, 0]])


def scv_and_cc(minerals: float = 1000.0) -> State:
    units = [(UnitType.COMMAND_CENTER, 0, CC_POS), (UnitType.MINERAL_FIELD, 2, (23.0, 28.5)),
             (UnitType.VESPENE_GEYSER, 2, (29.5, 37.5)), (UnitType.SCV, 0, (33.0, 27.0))]
    return select(world(units, {1: 1500.0, 2: 2000.0}, minerals=minerals, gas=100.0), 0, 3)


@pytest.mark.parametrize("point, code", [
    ((29.5, 27.5), ActionResult.CantBuildLocationInvalid),  # on the Command Center
    ((23.0, 28.5), ActionResult.CantBuildLocationInvalid),  # on a mineral field
    ((36.0, 27.0), ActionResult.Success),
])
def test_supply_depot_placement(point, code):
    state, result = act(scv_and_cc(), 0, F.Build_SupplyDepot_screen, point)
    assert result == int(code)
    assert (int(state.order_kind[0, 3, 0]) == int(Order.BUILD)) == (code == ActionResult.Success)


def test_placement_must_fit_in_the_playable_area():
    state = scv_and_cc()
    kind = torch.tensor([int(UnitType.SUPPLY_DEPOT)])
    bounds = torch.tensor([22.0, 0.0, 64.0, 64.0])
    inside = placement_result(state, T, kind, torch.tensor([[37.0, 20.0]]), bounds, torch.tensor([-1]))
    across = placement_result(state, T, kind, torch.tensor([[22.0, 20.0]]), bounds, torch.tensor([-1]))
    assert int(inside) == Placement.OK and int(across) == Placement.LOCATION_INVALID


def test_clicks_snap_to_the_placement_grid():
    assert snap_to_grid(torch.tensor([[36.3, 27.8]]), torch.tensor([[2, 2]])).tolist() == [[36.0, 28.0]]
    assert snap_to_grid(torch.tensor([[36.3, 27.8]]), torch.tensor([[3, 3]])).tolist() == [[36.5, 27.5]]


def test_town_hall_keeps_three_cells_from_resources():
    state, result = act(scv_and_cc(), 0, F.Build_CommandCenter_screen, (23.5, 33.5))
    assert result == int(ActionResult.CantBuildTooCloseToResources)
    state, result = act(scv_and_cc(), 0, F.Build_CommandCenter_screen, (40.5, 28.5))
    assert result == int(ActionResult.Success)


def test_refinery_must_go_on_a_geyser_and_costs_are_checked():
    _, result = act(scv_and_cc(), 0, F.Build_Refinery_screen, (36.0, 27.0))
    assert result == int(ActionResult.CantBuildOnThat)
    state, result = act(scv_and_cc(), 0, F.Build_Refinery_screen, (29.5, 37.5))
    assert result == int(ActionResult.Success) and int(state.order_unit[0, 3, 0]) == 2
    _, result = act(scv_and_cc(minerals=50.0), 0, F.Build_SupplyDepot_screen, (36.0, 27.0))
    assert result == int(ActionResult.NotEnoughMinerals)


def test_barracks_needs_a_finished_supply_depot():
    state = scv_and_cc()
    assert not bool(available_actions(state, 0, T, economy=True)[0, int(F.Build_Barracks_screen)])
    state, result = act(state, 0, F.Build_Barracks_screen, (36.5, 20.5))
    assert result == int(ActionResult.InvalidAvailableAction)


def test_an_scv_builds_a_depot_which_grows_to_full_hp_and_raises_supply():
    state, _ = act(scv_and_cc(), 0, F.Build_SupplyDepot_screen, (36.0, 27.0))
    assert float(supply_cap(state, T)[0, 0]) == 15
    state = run_loops(state, PARAMS, 3 * int(LOOPS_PER_REAL_SECOND))
    depot = int(((state.unit_type[0] == int(UnitType.SUPPLY_DEPOT)) & state.unit_alive[0]).nonzero()[0])
    assert float(state.minerals[0, 0]) == 900.0  # paid when placed
    assert int(state.order_kind[0, 3, 0]) == int(Order.CONSTRUCT) and int(state.order_unit[0, 3, 0]) == depot
    early_hp = float(state.unit_hp[0, depot])
    assert 40.0 <= early_hp < 400.0
    assert float(supply_cap(state, T)[0, 0]) == 15  # not finished yet
    state = run_loops(state, PARAMS, 21 * int(LOOPS_PER_REAL_SECOND))
    assert float(state.unit_build_left[0, depot]) == 0 and float(state.unit_hp[0, depot]) == pytest.approx(400.0)
    assert float(supply_cap(state, T)[0, 0]) == 23
    assert int(state.order_kind[0, 3, 0]) == int(Order.NONE)  # the SCV is free again


def test_construction_pauses_without_its_scv():
    state, _ = act(scv_and_cc(), 0, F.Build_SupplyDepot_screen, (36.0, 27.0))
    state = run_loops(state, PARAMS, 3 * int(LOOPS_PER_REAL_SECOND))
    depot = int(((state.unit_type[0] == int(UnitType.SUPPLY_DEPOT)) & state.unit_alive[0]).nonzero()[0])
    left = float(state.unit_build_left[0, depot])
    state = state.replace(unit_alive=state.unit_alive.clone().index_put_((torch.tensor([0]), torch.tensor([3])),
                                                                         torch.tensor(False)))
    state = run_loops(state, PARAMS, 50)
    assert float(state.unit_build_left[0, depot]) == left


def test_training_pays_queues_and_delivers_after_the_build_time():
    state = select(scv_and_cc(minerals=210.0), 0, 0)
    for _ in range(4):
        state, result = act(state, 0, F.Train_SCV_quick)
        assert result == int(ActionResult.Success)
    _, result = act(state, 0, F.Train_SCV_quick)
    assert result == int(ActionResult.NotEnoughMinerals)
    state = state.replace(minerals=state.minerals + 100)
    state, result = act(state, 0, F.Train_SCV_quick)
    assert result == int(ActionResult.Success)
    _, result = act(state, 0, F.Train_SCV_quick)
    assert result == int(ActionResult.QueueIsFull)
    assert float(supply_used(state, T)[0, 0]) == 6  # one SCV and five in the queue
    state = run_loops(state, PARAMS, int(12 * LOOPS_PER_REAL_SECOND) + 1)  # an SCV takes 12 s
    scvs = (state.unit_type[0] == int(UnitType.SCV)) & state.unit_alive[0]
    assert int(scvs.sum()) == 2 and float(state.trained[0, 0, UnitType.SCV]) == 1
    assert int((state.queue[0, 0] > 0).sum()) == 4


def test_supply_blocks_training():
    state = scv_and_cc()  # one SCV: 1 of 15
    slots = allocate_slots(~state.unit_alive, torch.ones(1, 6, dtype=torch.bool))
    state = spawn_units(state, T, slots, torch.full((1, 6), int(UnitType.MARAUDER)),
                        torch.zeros(1, 6, dtype=torch.long), torch.full((1, 6, 2), 40.0))
    assert float(supply_used(state, T)[0, 0]) == 13
    state = select(state, 0, 0)
    state, result = act(state, 0, F.Train_SCV_quick)
    assert result == int(ActionResult.Success)
    state, result = act(state, 0, F.Train_SCV_quick)
    assert result == int(ActionResult.Success)
    assert float(supply_used(state, T)[0, 0]) == 15  # queued units hold their supply
    _, result = act(state, 0, F.Train_SCV_quick)
    assert result == int(ActionResult.NotEnoughFood)


def test_rallied_workers_gather_the_field():
    state = select(scv_and_cc(), 0, 0)
    state, result = act(state, 0, F.Rally_Workers_screen, (23.0, 28.5))
    assert result == int(ActionResult.Success) and int(state.unit_rally_target[0, 0]) == 1
    state, _ = act(state, 0, F.Train_SCV_quick)
    state = run_loops(state, PARAMS, int(12 * LOOPS_PER_REAL_SECOND) + 1)
    new = int(((state.unit_type[0] == int(UnitType.SCV)) & state.unit_alive[0]).nonzero()[-1])
    assert int(state.order_kind[0, new, 0]) == int(Order.GATHER) and int(state.order_unit[0, new, 0]) == 1


def zerg_base(minerals: float = 1000.0) -> State:
    units = [(UnitType.HATCHERY, 1, (40.5, 28.5)), (UnitType.DRONE, 1, (36.0, 27.0)),
             (UnitType.VESPENE_GEYSER, 2, (40.5, 37.5))]
    return world(units, {2: 2000.0}, minerals=minerals, gas=200.0)


def test_hatcheries_make_larva_every_eleven_seconds_up_to_three():
    state = run_loops(zerg_base(), PARAMS, int(11 * LOOPS_PER_REAL_SECOND) + 1)
    assert int(state.unit_larva[0, 0]) == 1
    state = run_loops(state, PARAMS, int(40 * LOOPS_PER_REAL_SECOND))
    assert float(state.unit_larva[0, 0]) == 3.0


def test_larva_hatch_into_units_and_zerglings_come_in_pairs():
    state = zerg_base().replace(unit_larva=torch.zeros(1, 64).index_fill_(1, torch.tensor([0]), 3.0))
    state = select(state, 1, 0)
    state, result = act(state, 1, F.Train_Drone_quick)
    assert result == int(ActionResult.Success) and float(state.minerals[0, 1]) == 950
    egg = int(((state.unit_type[0] == int(UnitType.EGG)) & state.unit_alive[0]).nonzero()[0])
    state, result = act(state, 1, F.Train_Zergling_quick)
    assert result == int(ActionResult.InvalidAvailableAction)  # no Spawning Pool yet
    state = run_loops(state, PARAMS, int(12 * LOOPS_PER_REAL_SECOND) + 1)
    assert int(state.unit_type[0, egg]) == int(UnitType.DRONE)
    pool = spawn_units(state, T, torch.tensor([[20]]), torch.tensor([[int(UnitType.SPAWNING_POOL)]]),
                       torch.tensor([[1]]), torch.tensor([[[46.5, 20.5]]]))
    state, result = act(pool, 1, F.Train_Zergling_quick)
    assert result == int(ActionResult.Success) and float(state.minerals[0, 1]) == 900  # 50 for the pair
    state = run_loops(state, PARAMS, int(17 * LOOPS_PER_REAL_SECOND) + 1)
    lings = (state.unit_type[0] == int(UnitType.ZERGLING)) & state.unit_alive[0]
    assert int(lings.sum()) == 2 and float(state.trained[0, 1, UnitType.ZERGLING]) == 2


def test_a_drone_becomes_its_structure_and_an_extractor_consumes_it():
    state = select(zerg_base(), 1, 1)
    state, result = act(state, 1, F.Build_SpawningPool_screen, (34.5, 20.5))
    assert result == int(ActionResult.Success)
    state = run_loops(state, PARAMS, 2 * int(LOOPS_PER_REAL_SECOND))
    assert int(state.unit_type[0, 1]) == int(UnitType.SPAWNING_POOL) and float(state.unit_build_left[0, 1]) > 0
    assert float(state.score[0, 0, Score.KILLED_VALUE_UNITS]) == 0
    drone = spawn_units(state, T, torch.tensor([[5]]), torch.tensor([[int(UnitType.DRONE)]]), torch.tensor([[1]]),
                        torch.tensor([[[37.0, 33.0]]]))
    state, result = act(select(drone, 1, 5), 1, F.Build_Extractor_screen, (40.5, 37.5))
    assert result == int(ActionResult.Success)
    state = run_loops(state, PARAMS, 3 * int(LOOPS_PER_REAL_SECOND))
    assert int(state.unit_type[0, 2]) == int(UnitType.EXTRACTOR) and int(state.unit_owner[0, 2]) == 1
    assert float(state.unit_resources[0, 2]) == 2000 and not bool(state.unit_alive[0, 5])
    assert float(state.score[0, 0, Score.KILLED_VALUE_UNITS]) == 0  # consumed, not killed


def test_zerglings_morph_into_banelings_with_a_nest():
    state = zerg_base()
    state = spawn_units(state, T, torch.tensor([[5, 6, 7]]),
                        torch.tensor([[int(UnitType.BANELING_NEST), int(UnitType.ZERGLING), int(UnitType.ZERGLING)]]),
                        torch.tensor([[1, 1, 1]]), torch.tensor([[[46.5, 20.5], [30.0, 30.0], [30.0, 31.0]]]))
    state = state.replace(vespene=torch.tensor([[0.0, 30.0]]))  # gas for one
    state, result = act(select(state, 1, 6, 7), 1, F.Train_Baneling_quick)
    assert result == int(ActionResult.Success)
    assert int(state.unit_type[0, 6]) == int(UnitType.BANELING_COCOON) and int(state.unit_type[0, 7]) == int(
        UnitType.ZERGLING)
    state = run_loops(state, PARAMS, int(14 * LOOPS_PER_REAL_SECOND) + 1)
    assert int(state.unit_type[0, 6]) == int(UnitType.BANELING) and float(state.unit_hp[0, 6]) == 30


def test_units_walk_around_a_structure_in_their_way():
    units = [(UnitType.BARRACKS, 0, (32.5, 32.5)), (UnitType.MARINE, 0, (26.0, 32.5))]
    state = world(units)
    kind, pos = state.order_kind.clone(), state.order_pos.clone()
    kind[:, 1, 0] = int(Order.MOVE)
    pos[:, 1, 0] = torch.tensor([39.0, 32.5])
    state = run_loops(state.replace(order_kind=kind, order_pos=pos), PARAMS, 5 * int(LOOPS_PER_REAL_SECOND))
    assert float(state.unit_pos[0, 1, 0]) > 38.0  # around, not through or stuck
    assert torch.equal(state.unit_pos[0, 0], torch.tensor([32.5, 32.5]))  # the structure never moves


def test_units_engage_armed_enemies_before_structures():
    units = [(UnitType.MARINE, 0, (30.0, 30.0)), (UnitType.SUPPLY_DEPOT, 1, (33.0, 30.0)),
             (UnitType.MARINE, 1, (30.0, 35.5))]
    state = run_loops(world(units), PARAMS, 1)
    assert int(state.unit_target[0, 0]) == 2


def test_allocate_slots_ranks_requests_against_free_slots():
    free = torch.tensor([[False, True, False, True, False]])
    requests = torch.tensor([[True, False, True, True, False]])
    assert allocate_slots(free, requests).tolist() == [[1, -1, 3, -1, -1]]


def test_workers_leave_an_empty_gas_building_once_keeping_their_queued_orders():
    units = [(UnitType.COMMAND_CENTER, 0, CC_POS), (UnitType.REFINERY, 0, (29.5, 20.5)),
             (UnitType.MINERAL_FIELD, 2, (23.0, 28.5)), (UnitType.SCV, 0, (29.5, 23.0))]
    state = world(units, {1: 4.0, 2: 1500.0})
    kind, target, pos = state.order_kind.clone(), state.order_unit.clone(), state.order_pos.clone()
    kind[:, 3, 0], target[:, 3, 0] = int(Order.GATHER), 1
    kind[:, 3, 1], pos[:, 3, 1] = int(Order.MOVE), torch.tensor([40.0, 30.0])
    state = run_loops(state.replace(order_kind=kind, order_unit=target, order_pos=pos), PARAMS,
                      8 * int(LOOPS_PER_REAL_SECOND))
    assert float(state.vespene[0, 0]) == 4.0  # the one trip there was
    assert int(state.order_kind[0, 3, 0]) == int(Order.MOVE) or float(state.unit_pos[0, 3, 0]) > 39.0
