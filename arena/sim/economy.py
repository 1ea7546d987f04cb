"""Economy and production: workers gather minerals and gas in trips, structures are placed and built, producers train
units from their queues, Hatcheries make larva that hatch into units from eggs, supply caps what a player may have.

Facts (units.md, economy): an SCV carries 5 minerals a trip and mines a field for 1.99 s, then pauses 0.36 s; gas
is 4 a trip and three workers saturate a gas building; a field is mined by one worker at a time (the others wait).
Structures start at 10 % of their HP and grow to full while they are built; a Terran structure is built only while
its SCV stays on it, a Zerg one builds itself from the Drone that became it.

Every pass is a pure function of the State, batched over games and unit slots. New units (trained, hatched, built by
an SCV) take free slots: `allocate_slots` ranks the requests of each game against its free slots.
"""

from __future__ import annotations

import torch

from arena.sim.geometry import Pairs, gather_units, planar_norm
from arena.sim.orders import current_order, pop_orders
from arena.sim.placement import Placement, placement_result
from arena.sim.state import NO_RALLY, NUM_OWNERS, Order, Score, State
from arena.sim.units import (GAS_PER_TRIP, LOOPS_PER_REAL_SECOND, MINERALS_PER_TRIP,
                             RESOURCE_MINERALS, Race, UnitTable, UnitType)

MINING_LOOPS = 1.99 * LOOPS_PER_REAL_SECOND
"""A worker mines a mineral field for 1.99 s (units.md); nobody else mines that field meanwhile."""
GAS_LOOPS = 1.4 * LOOPS_PER_REAL_SECOND
"""A worker spends 1.4 s inside a gas building: with 4 gas a trip, three workers then give about 160 gas a minute
(units.md) at the usual distance from the town hall."""
HANDLING_LOOPS = (0.36 + 1.9) * LOOPS_PER_REAL_SECOND
"""After mining a worker pauses 0.36 s (units.md) before it leaves; the engine's workers also move without the
game's acceleration, turning and drop-off animation, which the extra 1.9 s stands for. Calibrated so that 16 workers
on 8 mineral fields collect 55-60 minerals per worker per minute (units.md), a test checks it."""
HARVEST_REACH = 0.3
"""A worker this close to a resource's or town hall's edge mines or drops off."""
BUILD_REACH = 0.5
"""A worker this close to a structure's circle places it."""
LARVA_LOOPS = 11.0 * LOOPS_PER_REAL_SECOND
"""A Hatchery makes a larva every 11 s (Liquipedia, "Larva")."""
MAX_LARVA = 3.0
SUPPLY_LIMIT = 200.0
START_HP_FRACTION = 0.1
"""A structure starts at 10 % of its HP when placed."""
RETARGET_DISTANCE = 12.0
"""A worker whose mineral field ran out moves on to the nearest field this close."""


# ---------------------------------------------------------------------------------------------------------------
# Per-owner sums, supply and tech.

def owner_one_hot(state: State) -> torch.Tensor:
    """[B, U, P] float: the unit belongs to owner p (neutral units to nobody)."""
    owners = torch.arange(NUM_OWNERS, device=state.device)
    return ((state.unit_owner[:, :, None] == owners) & state.unit_alive[:, :, None]).float()


def per_owner(state: State, values: torch.Tensor) -> torch.Tensor:
    """[B, U] values summed per owner -> [B, P]."""
    return (values[:, :, None] * owner_one_hot(state)).sum(dim=1)


def complete(state: State) -> torch.Tensor:
    """[B, U] living units that are finished (not a structure under construction, an egg or a cocoon)."""
    return state.unit_alive & (state.unit_build_left <= 0)


def supply_cap(state: State, table: UnitTable) -> torch.Tensor:
    """[B, P] supply each owner's finished structures and Overlords provide, at most 200."""
    provided = torch.where(complete(state), table.supply_provided[state.unit_type], 0.0)
    return per_owner(state, provided).clamp(max=SUPPLY_LIMIT)


def supply_used(state: State, table: UnitTable) -> torch.Tensor:
    """[B, P] supply of each owner's units, eggs and cocoons (their unit's) and training queues."""
    morph = state.unit_morph
    own = torch.where(morph > 0, table.supply[morph] * table.per_order[morph].float(), table.supply[state.unit_type])
    queued = table.supply[state.queue].sum(dim=2)
    return per_owner(state, own + queued)


def has_finished(state: State, kind: torch.Tensor, player: torch.Tensor) -> torch.Tensor:
    """[B] bool: `player` [B] owns a finished unit of `kind` [B] (NONE: always true)."""
    owns = complete(state) & (state.unit_type == kind[:, None]) & (state.unit_owner == player[:, None])
    return owns.any(dim=1) | (kind == int(UnitType.NONE))


def bank(values: torch.Tensor, player: torch.Tensor) -> torch.Tensor:
    """values [B, P], player [B] -> [B]."""
    return values.gather(1, player[:, None]).squeeze(1)


def charge(state: State, player: torch.Tensor, minerals: torch.Tensor, gas: torch.Tensor) -> State:
    """Take minerals and gas [B] from `player` [B]'s bank and count them as spent."""
    hot = torch.nn.functional.one_hot(player, NUM_OWNERS).float()
    score = state.score.clone()
    score[:, :, Score.SPENT_MINERALS] += hot * minerals[:, None]
    score[:, :, Score.SPENT_VESPENE] += hot * gas[:, None]
    return state.replace(minerals=state.minerals - hot * minerals[:, None],
                         vespene=state.vespene - hot * gas[:, None], score=score)


def afford_result(state: State, player: torch.Tensor, minerals: torch.Tensor, gas: torch.Tensor) -> torch.Tensor:
    """[B] ActionResult: Success (1), NotEnoughMinerals (9) or NotEnoughVespene (10)."""
    return torch.where(bank(state.minerals, player) < minerals, 9,
                       torch.where(bank(state.vespene, player) < gas, 10, 1))


# ---------------------------------------------------------------------------------------------------------------
# New units in free slots.

def allocate_slots(free: torch.Tensor, requests: torch.Tensor) -> torch.Tensor:
    """[B, U] free slots and [B, N] requests -> [B, N] the free slot each request gets (in slot order), or -1 when a
    game has more requests than free slots."""
    U = free.shape[1]
    rank = requests.long().cumsum(dim=1) - 1  # the k-th request of its game
    free_slots = torch.argsort((~free).to(torch.int8), dim=1, stable=True)  # free slots first, in order
    slot = free_slots.gather(1, rank.clamp(min=0, max=U - 1))
    granted = requests & (rank < free.sum(dim=1, keepdim=True))
    return torch.where(granted, slot, -1)


def _scatter(field: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """field [B, U, ...] with values [B, N, ...] written at index [B, N] (-1: nowhere)."""
    B, U = field.shape[:2]
    padded = torch.cat([field, field[:, :1]], dim=1)
    idx = torch.where(index >= 0, index, U)
    idx = idx.reshape(idx.shape + (1,) * (field.dim() - 2)).expand(values.shape)
    return padded.scatter(1, idx, values)[:, :U]


def spawn_units(state: State, table: UnitTable, slot: torch.Tensor, kind: torch.Tensor, owner: torch.Tensor,
                pos: torch.Tensor, build_left: torch.Tensor | None = None, morph: torch.Tensor | None = None,
                resources: torch.Tensor | None = None) -> State:
    """Write fresh units into `slot` [B, N] (-1: none): kind, owner [B, N], pos [B, N, 2]; full HP unless
    `build_left` [B, N] > 0 (then 10 %); `morph` the type an egg becomes; `resources` a gas building keeps."""
    zeros = torch.zeros_like(kind, dtype=torch.float32)
    build_left = zeros if build_left is None else build_left
    morph = torch.zeros_like(kind) if morph is None else morph
    resources = zeros if resources is None else resources
    max_hp = table.max_hp[kind]
    hp = torch.where(build_left > 0, max_hp * START_HP_FRACTION, max_hp)
    Q, R = state.order_kind.shape[2], state.queue.shape[2]
    minus = torch.full_like(kind, -1)

    def put(field: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        return _scatter(field, slot, values.to(field.dtype))

    return state.replace(
        unit_type=put(state.unit_type, kind), unit_owner=put(state.unit_owner, owner),
        unit_alive=put(state.unit_alive, torch.ones_like(kind, dtype=torch.bool)),
        unit_pos=put(state.unit_pos, pos), unit_hp=put(state.unit_hp, hp),
        unit_shields=put(state.unit_shields, table.max_shields[kind]), unit_cooldown=put(state.unit_cooldown, zeros),
        unit_target=put(state.unit_target, minus),
        order_kind=put(state.order_kind, torch.zeros_like(kind)[..., None].expand(kind.shape + (Q,))),
        order_unit=put(state.order_unit, minus[..., None].expand(kind.shape + (Q,))),
        order_type=put(state.order_type, torch.zeros_like(kind)[..., None].expand(kind.shape + (Q,))),
        unit_build_left=put(state.unit_build_left, build_left), unit_morph=put(state.unit_morph, morph),
        unit_resources=put(state.unit_resources, resources), unit_cargo=put(state.unit_cargo, zeros),
        unit_cargo_gas=put(state.unit_cargo_gas, torch.zeros_like(kind, dtype=torch.bool)),
        unit_timer=put(state.unit_timer, zeros), unit_larva=put(state.unit_larva, zeros),
        unit_rally_target=put(state.unit_rally_target, torch.full_like(kind, NO_RALLY)),
        queue=put(state.queue, torch.zeros_like(kind)[..., None].expand(kind.shape + (R,))),
        queue_progress=put(state.queue_progress, zeros),
    )


def count_trained(state: State, kind: torch.Tensor, owner: torch.Tensor, made: torch.Tensor,
                  count: torch.Tensor | float = 1.0) -> State:
    """Add `count` to trained[b, owner, kind] where `made` [B, N]."""
    K = state.trained.shape[2]
    flat = state.trained.reshape(state.batch_size, -1)
    index = owner.clamp(0, NUM_OWNERS - 1) * K + kind
    added = torch.where(made, torch.as_tensor(count, dtype=flat.dtype, device=flat.device), 0.0)
    return state.replace(trained=flat.scatter_add(1, index, added).reshape(state.trained.shape))


def spawn_offset(table: UnitTable, producer: torch.Tensor, kind: torch.Tensor) -> torch.Tensor:
    """[..., 2] where a new unit appears relative to its producer's centre: just below it."""
    gap = table.radius[producer] + table.radius[kind] + 0.2
    return torch.stack([torch.zeros_like(gap), -gap], dim=-1)


# ---------------------------------------------------------------------------------------------------------------
# Gathering.

MAX_TOWN_HALLS = 8
"""Town halls per game that workers consider for drop-off (the first eight finished ones by slot)."""


def nearest_town_hall(state: State, table: UnitTable) -> torch.Tensor:
    """[B, U] the slot of the nearest finished town hall of each unit's owner, or -1 (among a game's first
    MAX_TOWN_HALLS town halls by slot: a short list instead of every pair of slots)."""
    halls = complete(state) & table.town_hall[state.unit_type]
    U = halls.shape[1]
    k = min(MAX_TOWN_HALLS, U)
    order = torch.argsort((~halls).to(torch.int8), dim=1, stable=True)[:, :k]  # hall slots first
    is_hall = halls.gather(1, order)  # [B, k]
    hall_pos = gather_units(state.unit_pos, order)  # [B, k, 2]
    hall_owner = state.unit_owner.gather(1, order)
    mine = is_hall[:, None, :] & (hall_owner[:, None, :] == state.unit_owner[:, :, None])  # [B, U, k]
    dist = planar_norm(hall_pos[:, None, :, :] - state.unit_pos[:, :, None, :])
    nearest = torch.where(mine, dist, float("inf")).argmin(dim=2)
    return torch.where(mine.any(dim=2), order.gather(1, nearest), -1)


def edge_distance(state: State, table: UnitTable, other: torch.Tensor) -> torch.Tensor:
    """[B, U] distance between each unit's circle and the circle of the unit in slot `other` [B, U]."""
    pos = gather_units(state.unit_pos, other)
    radius = table.radius[gather_units(state.unit_type, other)]
    return planar_norm(pos - state.unit_pos) - table.radius[state.unit_type] - radius


def harvestable(state: State, table: UnitTable, resource: torch.Tensor) -> torch.Tensor:
    """[B, U] the slot `resource` [B, U] holds something this unit may gather: a mineral field with minerals left,
    or its owner's finished gas building with gas left."""
    kind = gather_units(state.unit_type, resource)
    alive = gather_units(state.unit_alive, resource) & (resource >= 0)
    left = gather_units(state.unit_resources, resource) > 0
    mineral = table.resource[kind] == RESOURCE_MINERALS
    gas = table.gas_building[kind] & (gather_units(state.unit_owner, resource) == state.unit_owner) & (
        gather_units(state.unit_build_left, resource) <= 0)
    return alive & left & (mineral | gas)


def economy_goals(state: State, table: UnitTable, home: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where workers on economy orders walk: (active [B, U], goal [B, U, 2], wanted distance [B, U])."""
    order = current_order(state)
    worker = table.worker[state.unit_type] & state.unit_alive
    harvesting = worker & ((order == int(Order.GATHER)) | (order == int(Order.RETURN)))
    carrying = state.unit_cargo > 0
    resource = state.order_unit[:, :, 0]
    to_home = harvesting & carrying
    target = torch.where(to_home, home, resource)
    goal = gather_units(state.unit_pos, target)
    wanted = (edge_distance(state, table, target) - 0.1).clamp(min=0)
    wanted = torch.where((state.unit_timer > 0) | (target < 0), 0.0, wanted)

    building = worker & (order == int(Order.BUILD))
    site = state.order_pos[:, :, 0]
    reach = table.radius[state.order_type[:, :, 0]] + table.radius[state.unit_type] + BUILD_REACH * 0.5
    to_site = (planar_norm(site - state.unit_pos) - reach).clamp(min=0)
    goal = torch.where(building[..., None], site, goal)
    wanted = torch.where(building, to_site, wanted)
    constructing = worker & (order == int(Order.CONSTRUCT))
    wanted = torch.where(constructing, 0.0, wanted)
    return harvesting | building | constructing, goal, wanted


def _retarget_depleted(state: State, table: UnitTable, geo: Pairs, lost: torch.Tensor) -> State:
    """Workers in `lost` [B, U] (their mineral field is gone) move on to the nearest field nearby, or stop."""
    fields = state.unit_alive & (table.resource[state.unit_type] == RESOURCE_MINERALS) & (state.unit_resources > 0)
    near = fields[:, None, :] & (geo.dist <= RETARGET_DISTANCE)
    nearest = torch.where(near, geo.dist, float("inf")).argmin(dim=2)
    found = near.any(dim=2)
    order_unit = state.order_unit.clone()
    order_unit[:, :, 0] = torch.where(lost & found, nearest, order_unit[:, :, 0])
    state = state.replace(order_unit=order_unit)
    return pop_orders(state, lost & ~found)


def harvest(state: State, table: UnitTable, geo: Pairs, home: torch.Tensor) -> State:
    """One game loop of gathering: mining at resources (one worker per resource at a time), carrying cargo home,
    dropping it off into the owner's bank and its collected score, depleting fields."""
    order = current_order(state)
    worker = table.worker[state.unit_type] & state.unit_alive
    gathering = worker & (order == int(Order.GATHER))
    returning = worker & (order == int(Order.RETURN))
    resource = state.order_unit[:, :, 0]
    carrying = state.unit_cargo > 0

    # Drop-offs.
    at_home = (home >= 0) & (edge_distance(state, table, home) <= HARVEST_REACH)
    deliver = (gathering | returning) & carrying & at_home & (state.unit_timer <= 0)
    gas = state.unit_cargo_gas
    minerals_in = per_owner(state, torch.where(deliver & ~gas, state.unit_cargo, 0.0))
    gas_in = per_owner(state, torch.where(deliver & gas, state.unit_cargo, 0.0))
    score = state.score.clone()
    score[:, :, Score.COLLECTED_MINERALS] += minerals_in
    score[:, :, Score.COLLECTED_VESPENE] += gas_in
    cargo = torch.where(deliver, 0.0, state.unit_cargo)
    state = state.replace(minerals=state.minerals + minerals_in, vespene=state.vespene + gas_in, score=score,
                          unit_cargo=cargo, unit_cargo_gas=state.unit_cargo_gas & ~deliver)
    carrying = cargo > 0

    # Mining: the timer counts the mining, then the pause; the field is busy during the mining only.
    on_gas = table.gas_building[gather_units(state.unit_type, resource)]
    mine_loops = torch.where(on_gas, GAS_LOOPS, MINING_LOOPS)
    timer = state.unit_timer
    busy_here = gathering & (timer > HANDLING_LOOPS)
    B, U = resource.shape
    slots = resource.clamp(min=0)
    busy = torch.zeros(B, U, device=state.device).scatter_add_(1, slots, busy_here.float()) > 0
    valid = harvestable(state, table, resource)
    ready = gathering & ~carrying & valid & (timer <= 0) & (edge_distance(state, table, resource) <= HARVEST_REACH)
    ready = ready & ~gather_units(busy, resource)
    slot_index = torch.arange(U, device=state.device).expand(B, U)
    first = torch.full((B, U), U, device=state.device, dtype=torch.long).scatter_reduce(
        1, slots, torch.where(ready, slot_index, U), reduce="amin")
    starts = ready & (gather_units(first, resource) == slot_index)
    new_timer = torch.where(starts, mine_loops + HANDLING_LOOPS, (timer - 1.0).clamp(min=0.0))
    finishes = gathering & (timer > HANDLING_LOOPS) & (new_timer <= HANDLING_LOOPS)
    per_trip = torch.where(on_gas, GAS_PER_TRIP, MINERALS_PER_TRIP)
    left = gather_units(state.unit_resources, resource)
    amount = torch.where(finishes, torch.minimum(per_trip, left), 0.0)
    resources = state.unit_resources.scatter_add(1, slots, -amount)
    depleted = state.unit_alive & (table.resource[state.unit_type] == RESOURCE_MINERALS) & (resources <= 0)
    state = state.replace(
        unit_timer=torch.where(gathering, new_timer, 0.0), unit_resources=resources,
        unit_cargo=torch.where(finishes, amount, state.unit_cargo),
        unit_cargo_gas=torch.where(finishes, on_gas, state.unit_cargo_gas),
        unit_alive=state.unit_alive & ~depleted)

    # Returning workers that dropped off are done; workers whose field ran out look for another.
    state = pop_orders(state, returning & deliver)
    lost = gathering & ~carrying & ~finishes & ~harvestable(state, table, resource) & ~on_gas
    if torch.compiler.is_compiling() or lost.device.type != "cpu" or bool(lost.any()):
        state = _retarget_depleted(state, table, geo, lost)
    gone_gas = gathering & ~carrying & ~finishes & on_gas & ~harvestable(state, table, resource)
    return pop_orders(state, gone_gas)


# ---------------------------------------------------------------------------------------------------------------
# Construction.

def start_construction(state: State, table: UnitTable, bounds: torch.Tensor) -> tuple[State, torch.Tensor]:
    """Workers that reached their BUILD site place the structure (one per game per loop, the lowest slot first),
    if it is still affordable, allowed and the site free; otherwise they drop the order. An SCV stays to build it;
    a Drone becomes it. Returns the state and the units consumed [B, U] (Drones that became an Extractor), which
    are gone without having died."""
    order = current_order(state)
    worker = table.worker[state.unit_type] & state.unit_alive
    kind = state.order_type[:, :, 0]
    site = state.order_pos[:, :, 0]
    reach = table.radius[kind] + table.radius[state.unit_type] + BUILD_REACH
    arrived = worker & (order == int(Order.BUILD)) & (planar_norm(site - state.unit_pos) <= reach)
    consumed = torch.zeros_like(arrived)
    if not (torch.compiler.is_compiling() or arrived.device.type != "cpu" or bool(arrived.any())):
        return state, consumed
    first = arrived & (arrived.long().cumsum(dim=1) == 1)
    builder = first.float().argmax(dim=1)  # [B]
    any_ = first.any(dim=1)

    def pick(values: torch.Tensor) -> torch.Tensor:
        return gather_units(values, builder[:, None]).squeeze(1)

    kind_b, centre, geyser, player = pick(kind), pick(site), pick(state.order_unit[:, :, 0]), pick(state.unit_owner)
    builder_type = pick(state.unit_type)
    placed = placement_result(state, table, kind_b, centre, bounds, geyser) == Placement.OK
    paid = afford_result(state, player, table.minerals[kind_b], table.gas[kind_b]) == 1
    allowed = has_finished(state, table.requires[kind_b], player)
    gas_building = table.gas_building[kind_b]
    zerg = table.race[builder_type] == int(Race.ZERG)
    free = ~state.unit_alive
    new_slot = torch.where(gas_building, geyser, torch.where(zerg, builder, allocate_slots(free, any_[:, None])[:, 0]))
    ok = any_ & placed & paid & allowed & (new_slot >= 0)
    failed = first & ~ok[:, None]

    geyser_gas = gather_units(state.unit_resources, geyser[:, None]).squeeze(1)
    pos = torch.where(gas_building[:, None], gather_units(state.unit_pos, geyser[:, None]).squeeze(1), centre)
    state = charge(state, player, torch.where(ok, table.minerals[kind_b], 0.0), torch.where(ok, table.gas[kind_b], 0.0))
    state = spawn_units(state, table, torch.where(ok, new_slot, -1)[:, None], kind_b[:, None], player[:, None],
                        pos[:, None], build_left=table.build_loops[kind_b][:, None],
                        resources=torch.where(gas_building, geyser_gas, 0.0)[:, None])
    builder_mask = first & ok[:, None]
    drone_used = builder_mask & zerg[:, None] & gas_building[:, None]
    consumed = drone_used
    scv = builder_mask & ~zerg[:, None]
    order_kind, order_unit = state.order_kind.clone(), state.order_unit.clone()
    order_kind[:, :, 0] = torch.where(scv, int(Order.CONSTRUCT), order_kind[:, :, 0])
    order_unit[:, :, 0] = torch.where(scv, new_slot[:, None], order_unit[:, :, 0])
    state = state.replace(order_kind=order_kind, order_unit=order_unit,
                          unit_alive=state.unit_alive & ~drone_used)
    return pop_orders(state, failed), consumed


def progress_construction(state: State, table: UnitTable) -> State:
    """Structures under construction advance one loop (Terran ones only while an SCV builds them); their HP grows
    with them. SCVs whose structure is finished or destroyed are done."""
    order = current_order(state)
    scv_on = table.worker[state.unit_type] & state.unit_alive & (order == int(Order.CONSTRUCT))
    target = state.order_unit[:, :, 0]
    B, U = target.shape
    builders = torch.zeros(B, U, device=state.device).scatter_add_(1, target.clamp(min=0), scv_on.float()) > 0
    kind = state.unit_type
    building = state.unit_alive & (state.unit_build_left > 0) & (state.unit_morph == 0)
    advances = building & (builders | (table.race[kind] == int(Race.ZERG)))
    total = table.build_loops[kind].clamp(min=1.0)
    hp = torch.minimum(state.unit_hp + table.max_hp[kind] * (1 - START_HP_FRACTION) / total, table.max_hp[kind])
    state = state.replace(unit_build_left=torch.where(advances, (state.unit_build_left - 1).clamp(min=0),
                                                      state.unit_build_left),
                          unit_hp=torch.where(advances, hp, state.unit_hp))
    finished = gather_units(state.unit_build_left, target) <= 0
    gone = ~gather_units(state.unit_alive, target)
    return pop_orders(state, scv_on & (finished | gone))


# ---------------------------------------------------------------------------------------------------------------
# Production, eggs and larva.

def produce(state: State, table: UnitTable) -> State:
    """Finished structures train the unit at the head of their queue; a finished unit appears below its producer
    (it waits while the game has no free slot) and goes to the rally point (a worker rallied to a resource gathers
    it)."""
    head = state.queue[:, :, 0]
    producing = complete(state) & (head > 0)
    progress = torch.where(producing, state.queue_progress + 1.0, state.queue_progress)
    done = producing & (progress >= table.build_loops[head])
    if not (torch.compiler.is_compiling() or done.device.type != "cpu" or bool(done.any())):
        return state.replace(queue_progress=progress)  # nothing finished: skip the (costly) spawn and rally
    slot = allocate_slots(~state.unit_alive, done)
    made = slot >= 0
    pos = state.unit_pos + spawn_offset(table, state.unit_type, head)
    producer_state = state
    state = spawn_units(state, table, slot, head, state.unit_owner, pos)
    state = count_trained(state, head, state.unit_owner, made)
    queue = torch.where(made[..., None], torch.cat([state.queue[:, :, 1:], torch.zeros_like(state.queue[:, :, :1])],
                                                   dim=2), state.queue)
    state = state.replace(queue=queue, queue_progress=torch.where(made, 0.0, progress))
    return rally(state, table, producer_state, slot, head)


def rally(state: State, table: UnitTable, producers: State, slot: torch.Tensor, kind: torch.Tensor) -> State:
    """New units in `slot` [B, N] made by the producers (indexed like `slot`, in `producers`) go to the rally."""
    target = producers.unit_rally_target
    if slot.shape[1] != target.shape[1]:
        raise ValueError("rally expects one new unit per producer slot")
    has = (slot >= 0) & (target != NO_RALLY)
    gather = has & (target >= 0) & table.worker[kind]
    kind_new = torch.where(gather, int(Order.GATHER), int(Order.MOVE))
    Q = state.order_kind.shape[2]
    order_kind = _scatter(state.order_kind, torch.where(has, slot, -1),
                          torch.nn.functional.pad(kind_new[..., None], (0, Q - 1)))
    order_pos = _scatter(state.order_pos, torch.where(has, slot, -1),
                         torch.nn.functional.pad(producers.unit_rally[:, :, None, :], (0, 0, 0, Q - 1)))
    units = torch.where(gather, target, -1)
    order_unit = _scatter(state.order_unit, torch.where(has, slot, -1),
                          torch.cat([units[..., None], torch.full(units.shape + (Q - 1,), -1, dtype=units.dtype,
                                                                  device=units.device)], dim=-1))
    return state.replace(order_kind=order_kind, order_pos=order_pos, order_unit=order_unit)


def hatch(state: State, table: UnitTable) -> State:
    """Eggs and cocoons count down and become their unit (Zerglings hatch in pairs: the second takes a free slot)."""
    morphing = state.unit_alive & (state.unit_morph > 0)
    left = torch.where(morphing, state.unit_build_left - 1.0, state.unit_build_left)
    hatched = morphing & (left <= 0)
    new_kind = torch.where(hatched, state.unit_morph, state.unit_type)
    state = state.replace(unit_type=new_kind, unit_build_left=torch.where(morphing, left.clamp(min=0), left),
                          unit_hp=torch.where(hatched, table.max_hp[new_kind], state.unit_hp),
                          unit_morph=torch.where(hatched, 0, state.unit_morph))
    state = count_trained(state, new_kind, state.unit_owner, hatched)
    twin = hatched & (table.per_order[new_kind] == 2)
    if torch.compiler.is_compiling() or twin.device.type != "cpu" or bool(twin.any()):
        slot = allocate_slots(~state.unit_alive, twin)
        offset = torch.tensor([0.5, 0.0], device=state.device)
        state = spawn_units(state, table, slot, new_kind, state.unit_owner, state.unit_pos + offset)
        state = count_trained(state, new_kind, state.unit_owner, slot >= 0)
    return state


def grow_larva(state: State, table: UnitTable) -> State:
    """Finished Hatcheries make a larva every 11 s while they have fewer than 3."""
    hatchery = complete(state) & (state.unit_type == int(UnitType.HATCHERY))
    grown = torch.where(hatchery & (state.unit_larva < MAX_LARVA),
                        (state.unit_larva + 1.0 / LARVA_LOOPS).clamp(max=MAX_LARVA), state.unit_larva)
    return state.replace(unit_larva=grown)


def economy_loop(state: State, table: UnitTable, geo: Pairs, home: torch.Tensor, bounds: torch.Tensor
                 ) -> tuple[State, torch.Tensor]:
    """One game loop of the economy. Returns the state and the units consumed (not killed) in it [B, U]."""
    state = harvest(state, table, geo, home)
    state, consumed = start_construction(state, table, bounds)
    state = progress_construction(state, table)
    state = produce(state, table)
    state = hatch(state, table)
    return grow_larva(state, table), consumed
