"""pysc2's economy functions: Build_*_screen (a worker places a structure), Harvest_Gather_screen / Smart on a
resource, Harvest_Return_quick, Train_*_quick (a structure's queue, a Hatchery's larva, a Zergling's cocoon) and
Rally_*_screen. Each checks what the game checks when the command is given and answers with its ActionResult:
tech requirements, minerals, gas, supply, a full queue, placement; the engine re-checks placement and cost when the
worker reaches the site.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from arena.interface.functions import NUM_FUNCTIONS, ActionResult, FunctionId
from arena.interface.selection import one_hot, pick_unit
from arena.interface.view import InterfaceFormat, MapGeometry, screen_to_world
from arena.sim.economy import (afford_result, allocate_slots, bank, charge, complete, has_finished, spawn_offset,
                               spawn_units, supply_cap, supply_used)
from arena.sim.geometry import gather_units, planar_norm
from arena.sim.orders import issue_orders
from arena.sim.placement import Placement, placement_result, snap_to_grid
from arena.sim.state import Order, State
from arena.sim.units import RESOURCE_MINERALS, UnitTable, UnitType

BUILD_FUNCTIONS: dict[FunctionId, UnitType] = {
    FunctionId.Build_SupplyDepot_screen: UnitType.SUPPLY_DEPOT,
    FunctionId.Build_Barracks_screen: UnitType.BARRACKS,
    FunctionId.Build_Refinery_screen: UnitType.REFINERY,
    FunctionId.Build_CommandCenter_screen: UnitType.COMMAND_CENTER,
    FunctionId.Build_Hatchery_screen: UnitType.HATCHERY,
    FunctionId.Build_SpawningPool_screen: UnitType.SPAWNING_POOL,
    FunctionId.Build_RoachWarren_screen: UnitType.ROACH_WARREN,
    FunctionId.Build_BanelingNest_screen: UnitType.BANELING_NEST,
    FunctionId.Build_Extractor_screen: UnitType.EXTRACTOR,
}
TRAIN_FUNCTIONS: dict[FunctionId, UnitType] = {
    FunctionId.Train_SCV_quick: UnitType.SCV,
    FunctionId.Train_Marine_quick: UnitType.MARINE,
    FunctionId.Train_Marauder_quick: UnitType.MARAUDER,
    FunctionId.Train_Drone_quick: UnitType.DRONE,
    FunctionId.Train_Overlord_quick: UnitType.OVERLORD,
    FunctionId.Train_Zergling_quick: UnitType.ZERGLING,
    FunctionId.Train_Roach_quick: UnitType.ROACH,
    FunctionId.Train_Baneling_quick: UnitType.BANELING,
}
RALLY_FUNCTIONS = (FunctionId.Rally_Units_screen, FunctionId.Rally_Workers_screen)
HARVEST_FUNCTIONS = (FunctionId.Harvest_Gather_screen, FunctionId.Harvest_Return_quick)
ECONOMY_FUNCTIONS = tuple(BUILD_FUNCTIONS) + tuple(TRAIN_FUNCTIONS) + RALLY_FUNCTIONS + HARVEST_FUNCTIONS


@lru_cache(maxsize=None)
def _function_to_type(kind: str, device: torch.device) -> torch.Tensor:
    """[573] long: the UnitType a Build ("build") or Train ("train") function makes, 0 for other functions."""
    mapping = BUILD_FUNCTIONS if kind == "build" else TRAIN_FUNCTIONS
    lookup = torch.zeros(NUM_FUNCTIONS, dtype=torch.long)
    for function, unit in mapping.items():
        lookup[int(function)] = int(unit)
    return lookup.to(device)


def _selected(state: State, player: int) -> torch.Tensor:
    return state.selected[:, player] & state.unit_alive & (state.unit_owner == player)


def _trains_something(table: UnitTable) -> torch.Tensor:
    """[K] bool: structures some unit is trained or hatched from (they take rally points)."""
    makers = torch.zeros_like(table.structure)
    makers[table.producer] = True
    return makers & table.structure


def rally_structures(table: UnitTable, function: torch.Tensor) -> torch.Tensor:
    """[B, K] bool: the structures whose rally `function` [B] sets. pysc2: Rally_Workers_screen is a town hall's
    (Rally_CommandCenter, Rally_Hatchery_Workers), Rally_Units_screen that of the other producers and the Hatchery
    (Rally_Building, Rally_Hatchery_Units); a Command Center has no units' rally."""
    makers = _trains_something(table)
    workers = makers & table.town_hall
    units = makers & (torch.arange(makers.shape[0], device=makers.device) != int(UnitType.COMMAND_CENTER))
    return torch.where((function == int(FunctionId.Rally_Workers_screen))[:, None], workers, units)


def economy_available(state: State, player: int, table: UnitTable) -> dict[FunctionId, torch.Tensor]:
    """[B] bool per economy function: pysc2 offers it for the current selection (resources are not checked; the
    command then fails with NotEnoughMinerals etc., as in the game)."""
    B = state.batch_size
    player_t = torch.full((B,), player, dtype=torch.long, device=state.device)
    selected = _selected(state, player) & complete(state)
    kind = state.unit_type
    workers = selected & table.worker[kind]
    available: dict[FunctionId, torch.Tensor] = {}
    for function, unit in {**BUILD_FUNCTIONS, **TRAIN_FUNCTIONS}.items():
        maker = int(table.producer[int(unit)])
        requires = table.requires[int(unit)].expand(B)
        available[function] = (selected & (kind == maker)).any(dim=1) & has_finished(state, requires, player_t)
    has_workers = workers.any(dim=1)
    available[FunctionId.Harvest_Gather_screen] = has_workers
    available[FunctionId.Harvest_Return_quick] = (workers & (state.unit_cargo > 0)).any(dim=1)
    for function in RALLY_FUNCTIONS:
        rallies = rally_structures(table, torch.full((B,), int(function), device=state.device))
        available[function] = (selected & rallies.gather(1, kind)).any(dim=1)
    return available


def _resource_under(state: State, point: torch.Tensor, player: int, table: UnitTable, visible: torch.Tensor,
                    tolerance: float) -> torch.Tensor:
    """[B] slot of the mineral field or the player's finished gas building at `point`, or -1."""
    kind = state.unit_type
    field = table.resource[kind] == RESOURCE_MINERALS
    gas = table.gas_building[kind] & (state.unit_owner == player) & (state.unit_build_left <= 0)
    return pick_unit(state, point, visible & state.unit_alive & (field | gas), table, tolerance)


def _build(state: State, kind: torch.Tensor, point: torch.Tensor, queued: torch.Tensor, go: torch.Tensor,
           player: int, table: UnitTable, geometry: MapGeometry, visible: torch.Tensor, tolerance: float
           ) -> tuple[State, torch.Tensor]:
    """Build_*_screen where `go` [B]: the selected builder nearest the point gets a BUILD order."""
    B = state.batch_size
    player_t = torch.full((B,), player, dtype=torch.long, device=state.device)
    builders = _selected(state, player) & (state.unit_type == table.producer[kind][:, None])
    distance = torch.where(builders, planar_norm(state.unit_pos - point[:, None]), float("inf"))
    builder = one_hot(torch.where(builders.any(dim=1), distance.argmin(dim=1), -1), state.num_units)
    geysers = visible & state.unit_alive & (state.unit_type == int(UnitType.VESPENE_GEYSER))
    geyser = torch.where(table.gas_building[kind], pick_unit(state, point, geysers, table, tolerance), -1)
    centre = torch.where(table.gas_building[kind][:, None] & (geyser[:, None] >= 0),
                         gather_units(state.unit_pos, geyser[:, None]).squeeze(1),
                         snap_to_grid(point, table.footprint[kind]))
    bounds = torch.tensor(geometry.placement_bounds, dtype=torch.float32, device=state.device)
    placed = placement_result(state, table, kind, centre, bounds, geyser)
    paid = afford_result(state, player_t, table.minerals[kind], table.gas[kind])
    allowed = has_finished(state, table.requires[kind], player_t)
    result = torch.where(~allowed, int(ActionResult.TechRequirementsNotMet),
                         torch.where(paid != 1, paid, placed))
    ok = go & (result == Placement.OK)
    state = issue_orders(state, units=builder & ok[:, None], kind=torch.full_like(kind, int(Order.BUILD)),
                         pos=centre, target=geyser, queued=queued, build=kind)
    return state, result


def _order_costs(state: State, kind: torch.Tensor, player: torch.Tensor, table: UnitTable
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """What one Train order of `kind` [B] costs `player` [B] (Zerglings come in pairs): (minerals, gas, the
    ActionResult of paying it, whether its supply fits under the cap)."""
    minerals, gas = table.minerals[kind] * table.per_order[kind], table.gas[kind] * table.per_order[kind]
    supply = table.supply[kind] * table.per_order[kind]
    fits = bank(supply_used(state, table), player) + supply <= bank(supply_cap(state, table), player)
    return minerals, gas, afford_result(state, player, minerals, gas), fits


def _train_from_queue(state: State, kind: torch.Tensor, go: torch.Tensor, player: int, table: UnitTable
                      ) -> tuple[State, torch.Tensor]:
    """Train_*_quick on a structure: the selected producer with the shortest queue takes it, paid now."""
    B = state.batch_size
    player_t = torch.full((B,), player, dtype=torch.long, device=state.device)
    producers = _selected(state, player) & complete(state) & (state.unit_type == table.producer[kind][:, None])
    length = (state.queue > 0).sum(dim=2)
    chosen_slot = torch.where(producers, length, 10**6).argmin(dim=1)
    has_room = (gather_units(length, chosen_slot[:, None]).squeeze(1) < state.queue.shape[2])
    minerals, gas, paid, fits = _order_costs(state, kind, player_t, table)
    result = torch.where(~has_room, int(ActionResult.QueueIsFull),
                         torch.where(paid != 1, paid, torch.where(fits, 1, int(ActionResult.NotEnoughFood))))
    ok = go & (result == 1) & producers.any(dim=1)
    entry = (state.queue > 0).sum(dim=2)  # first empty queue slot of each producer
    write = one_hot(torch.where(ok, chosen_slot, -1), state.num_units)[:, :, None] & (
        torch.arange(state.queue.shape[2], device=state.device) == entry[:, :, None])
    state = state.replace(queue=torch.where(write, kind[:, None, None], state.queue))
    return charge(state, player_t, torch.where(ok, minerals, 0.0), torch.where(ok, gas, 0.0)), result


def _train_from_larva(state: State, kind: torch.Tensor, go: torch.Tensor, player: int, table: UnitTable
                      ) -> tuple[State, torch.Tensor]:
    """Train_*_quick with a Hatchery selected: one of its larva becomes an egg of the unit, paid now."""
    B = state.batch_size
    player_t = torch.full((B,), player, dtype=torch.long, device=state.device)
    hatcheries = _selected(state, player) & complete(state) & (state.unit_type == int(UnitType.HATCHERY))
    with_larva = hatcheries & (state.unit_larva >= 1.0)
    hatchery = torch.where(with_larva, state.unit_larva, -1.0).argmax(dim=1)
    minerals, gas, paid, fits = _order_costs(state, kind, player_t, table)
    slot = allocate_slots(~state.unit_alive, torch.ones(B, 1, dtype=torch.bool, device=state.device))[:, 0]
    result = torch.where(~with_larva.any(dim=1), int(ActionResult.Error),
                         torch.where(paid != 1, paid, torch.where(fits, 1, int(ActionResult.NotEnoughFood))))
    result = torch.where((result == 1) & (slot < 0), int(ActionResult.Error), result)
    ok = go & (result == 1)
    larva = gather_units(state.unit_larva, hatchery[:, None]).squeeze(1)
    hatchery_type = torch.full_like(kind, int(UnitType.HATCHERY))
    # Eggs lie in a row below the Hatchery, one place per larva.
    pos = gather_units(state.unit_pos, hatchery[:, None]).squeeze(1) + spawn_offset(table, hatchery_type, kind)
    pos = pos + torch.stack([larva.floor() - 2.0, torch.zeros_like(larva)], dim=-1)
    state = state.replace(unit_larva=state.unit_larva - one_hot(torch.where(ok, hatchery, -1), state.num_units).float())
    state = spawn_units(state, table, torch.where(ok, slot, -1)[:, None],
                        torch.full_like(kind, int(UnitType.EGG))[:, None], player_t[:, None], pos[:, None],
                        build_left=table.build_loops[kind][:, None], morph=kind[:, None])
    return charge(state, player_t, torch.where(ok, minerals, 0.0), torch.where(ok, gas, 0.0)), result


def _morph_banelings(state: State, go: torch.Tensor, player: int, table: UnitTable) -> tuple[State, torch.Tensor]:
    """Train_Baneling_quick: every selected Zergling the bank pays for becomes a cocoon (25/25 each)."""
    B = state.batch_size
    player_t = torch.full((B,), player, dtype=torch.long, device=state.device)
    lings = _selected(state, player) & complete(state) & (state.unit_type == int(UnitType.ZERGLING)) & go[:, None]
    kind = int(UnitType.BANELING)
    minerals, gas = table.minerals[kind], table.gas[kind]
    rank = lings.long().cumsum(dim=1)
    affordable = (rank * minerals <= bank(state.minerals, player_t)[:, None]) & (
        rank * gas <= bank(state.vespene, player_t)[:, None])
    morphing = lings & affordable
    count = morphing.sum(dim=1).float()
    result = torch.where(morphing.any(dim=1) | ~lings.any(dim=1), 1,
                         afford_result(state, player_t, minerals.expand(B), gas.expand(B)))
    cocoon = int(UnitType.BANELING_COCOON)
    state = state.replace(
        unit_type=torch.where(morphing, cocoon, state.unit_type),
        unit_morph=torch.where(morphing, kind, state.unit_morph),
        unit_build_left=torch.where(morphing, table.build_loops[kind], state.unit_build_left),
        unit_hp=torch.where(morphing, table.max_hp[cocoon], state.unit_hp),
        order_kind=torch.where(morphing[:, :, None], int(Order.NONE), state.order_kind),
        unit_target=torch.where(morphing, -1, state.unit_target))
    return charge(state, player_t, count * minerals, count * gas), result


def apply_economy(state: State, action, player: int, table: UnitTable, fmt: InterfaceFormat,
                  geometry: MapGeometry, visible: torch.Tensor, chosen: torch.Tensor
                  ) -> tuple[State, torch.Tensor]:
    """The economy functions for the games in `chosen` [B] (available and with valid arguments). Returns the new
    state and the ActionResult of each game [B] (Success where no economy function was given)."""
    f = action.function
    tolerance = 0.5 / fmt.pixels_per_unit
    point = screen_to_world(action.screen, state.camera[:, player], fmt)
    queued = action.queued != 0
    result = torch.full_like(f, int(ActionResult.Success))
    f_index = f.clamp(0, NUM_FUNCTIONS - 1)

    build_kind = _function_to_type("build", state.device)[f_index]
    building = chosen & (build_kind > 0)
    if bool(building.any()):
        state, code = _build(state, build_kind.clamp(min=0), point, queued, building, player, table, geometry,
                             visible, tolerance)
        result = torch.where(building, code, result)

    train_kind = _function_to_type("train", state.device)[f_index]
    training = chosen & (train_kind > 0)
    if bool(training.any()):
        maker = table.producer[train_kind]
        from_larva = training & (maker == int(UnitType.HATCHERY))
        from_queue = training & table.structure[maker] & ~from_larva
        banelings = training & (train_kind == int(UnitType.BANELING))
        state, code = _train_from_queue(state, train_kind, from_queue, player, table)
        result = torch.where(from_queue, code, result)
        state, code = _train_from_larva(state, train_kind, from_larva, player, table)
        result = torch.where(from_larva, code, result)
        state, code = _morph_banelings(state, banelings, player, table)
        result = torch.where(banelings, code, result)

    workers = _selected(state, player) & table.worker[state.unit_type]
    resource = _resource_under(state, point, player, table, visible, tolerance)
    gather = chosen & ((f == int(FunctionId.Harvest_Gather_screen)) | (
        (f == int(FunctionId.Smart_screen)) & (resource >= 0)))
    state = issue_orders(state, units=workers & (gather & (resource >= 0))[:, None],
                         kind=torch.full_like(f, int(Order.GATHER)), pos=point, target=resource, queued=queued)
    result = torch.where(gather & (resource < 0), int(ActionResult.MustTargetResources), result)
    returning = chosen & (f == int(FunctionId.Harvest_Return_quick))
    state = issue_orders(state, units=workers & (state.unit_cargo > 0) & returning[:, None],
                         kind=torch.full_like(f, int(Order.RETURN)), pos=point, target=torch.full_like(f, -1),
                         queued=queued)

    rallying = chosen & ((f == int(FunctionId.Rally_Units_screen)) | (f == int(FunctionId.Rally_Workers_screen)))
    structures = _selected(state, player) & rally_structures(table, f).gather(1, state.unit_type) & rallying[:, None]
    target = torch.where(resource >= 0, resource, -1)
    state = state.replace(
        unit_rally=torch.where(structures[..., None], point[:, None], state.unit_rally),
        unit_rally_target=torch.where(structures, target[:, None], state.unit_rally_target))
    return state, result


__all__ = ["BUILD_FUNCTIONS", "TRAIN_FUNCTIONS", "ECONOMY_FUNCTIONS", "economy_available", "apply_economy"]
