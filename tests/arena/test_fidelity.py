"""The engine against StarCraft II's numbers.

Every number below is StarCraft II 5.0.3 unit data (the game's API dump, BurnySc2/sc2-techtree data/data.json, as
quoted in shared/specs/units.md), at "faster" speed: real seconds x 22.4 = game loops (pysc2:
REALTIME_GAME_LOOP_SECONDS = 1 / 22.4). Each test builds a tiny State by hand and steps the engine directly.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from arena.scenarios.spawn import place
from arena.sim.combat import MIN_DAMAGE, hit_damage
from arena.sim.orders import issue_orders
from arena.sim.state import Order, Owner, State, empty_state
from arena.sim.step import SimParams, game_loop, run_loops
from arena.sim.units import UnitType, unit_table

LOOPS_PER_SECOND = 22.4  # pysc2: REALTIME_GAME_LOOP_SECONDS = 1 / 22.4 ("faster" speed)
WHOLE_MAP = (0.0, 0.0, 64.0, 64.0)
P1, P2 = Owner.PLAYER_1, Owner.PLAYER_2
MARINE, MARAUDER, ZERGLING, BANELING = UnitType.MARINE, UnitType.MARAUDER, UnitType.ZERGLING, UnitType.BANELING
ROACH, ZEALOT, STALKER = UnitType.ROACH, UnitType.ZEALOT, UnitType.STALKER


# ---------------------------------------------------------------------------------------------------------------
# Helpers: a one-game State of a few units, orders, and a loop-by-loop recorder.

def build(*units: tuple[UnitType, Owner, tuple[float, float]], hp: dict[int, float] | None = None) -> State:
    """A single game (B = 1) with one unit per slot: (type, owner, (x, y)); `hp` overrides some slots' HP."""
    state = empty_state(batch=1, units=len(units), agents=1, cells=(64, 64))
    for slot, (kind, owner, pos) in enumerate(units):
        state = place(state, torch.tensor([[slot]]), kind, owner, torch.tensor([[pos]], dtype=torch.float32))
    if hp:
        new_hp = state.unit_hp.clone()
        for slot, value in hp.items():
            new_hp[0, slot] = value
        state = state.replace(unit_hp=new_hp)
    return state


def order(state: State, slots: int | list[int], kind: Order, pos: tuple[float, float] = (0.0, 0.0),
          target: int = -1, queued: bool = False) -> State:
    units = torch.zeros(1, state.num_units, dtype=torch.bool)
    units[0, slots] = True
    return issue_orders(state, units=units, kind=torch.tensor([int(kind)]),
                        pos=torch.tensor([pos], dtype=torch.float32), target=torch.tensor([target]),
                        queued=torch.tensor([queued]))


def params() -> SimParams:
    return SimParams.create(WHOLE_MAP)


def record(state: State, loops: int) -> tuple[State, list[State]]:
    """Run `loops` game loops; returns the final state and the state after every loop."""
    p, history = params(), []
    for _ in range(loops):
        state, _ = game_loop(state, p)
        history.append(state)
    return state, history


def damage_taken(state: State, slot: int) -> float:
    """HP a unit that started at full health lost in the last game loop, before that loop's Zerg regeneration."""
    table = unit_table()
    kind = int(state.unit_type[0, slot])
    return float(table.max_hp[kind] + table.regen[kind]) - hp_of(state, slot)


def hp_of(state: State, slot: int) -> float:
    return float(state.unit_hp[0, slot])


def pos_of(state: State, slot: int) -> torch.Tensor:
    return state.unit_pos[0, slot].clone()


def one_volley(attacker: UnitType, victim: UnitType) -> State:
    """`attacker` (player 1) and `victim` (player 2) 1.0 apart edge to edge (in range of every weapon tested here
    but not melee), after one game loop. The victim is ordered to move on the spot so it does not shoot back."""
    r = unit_table().radius
    gap = float(r[int(attacker)] + r[int(victim)]) + 1.0
    state = build((attacker, P1, (30.0, 30.0)), (victim, P2, (30.0 + gap, 30.0)))
    state = order(state, 1, Order.MOVE, (30.0 + gap, 30.0))
    state, _ = game_loop(state, params())
    return state


# ---------------------------------------------------------------------------------------------------------------
# Weapons: cooldown, damage, armor, bonus damage, shields.

def test_marine_kills_marine_in_eight_shots_spaced_by_cooldown():
    # Marine: 45 HP, 6 damage, cooldown 0.61 s = 13.66 game loops - SC2 5.0.3 unit data.
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (25.75, 30.0)))  # edge distance 5.0 = range
    _, history = record(state, 120)
    hits, previous = [], 45.0
    for loop, s in enumerate(history):
        hp = hp_of(s, 1)
        if hp != previous:
            assert previous - hp == pytest.approx(6.0), f"loop {loop}: a Marine shot takes {previous - hp}"
            hits.append(loop)
            previous = hp
    assert len(hits) == 8  # ceil(45 / 6)
    assert not bool(history[hits[-1]].unit_alive[0, 1]) and bool(history[hits[-2]].unit_alive[0, 1])
    gaps = [b - a for a, b in zip(hits, hits[1:])]
    assert gaps == [14, 14, 13, 14, 14, 13, 14]  # 13.66 loops carried over fractions of a loop
    assert (hits[-1] - hits[0]) / 7 == pytest.approx(0.61 * LOOPS_PER_SECOND, abs=0.1)


def test_cooldown_average_over_many_shots():
    # Roach cooldown 1.43 s = 32.03 loops - SC2 5.0.3 unit data. Over 20 shots the fraction of a loop is kept:
    # 19 gaps of 32.03 loops on average, not 33 (rounded up) or 32 (rounded down).
    state = build((ROACH, P1, (20.0, 30.0)), (MARAUDER, P2, (25.0, 30.0)))
    state = order(state, 0, Order.ATTACK_UNIT, target=1)
    p, hits = params(), []
    for loop in range(620):
        state = order(state, 1, Order.MOVE, (25.0, 30.0))  # the target stays still and silent
        state, _ = game_loop(state, p)
        if hp_of(state, 1) < 125.0:
            hits.append(loop)
            assert hp_of(state, 1) == 125.0 - 15.0  # Roach 16 - Marauder armor 1
        state = state.replace(unit_hp=torch.tensor([[145.0, 125.0]]))  # an endless target
    assert len(hits) == 20
    assert (hits[-1] - hits[0]) / 19 == pytest.approx(1.43 * LOOPS_PER_SECOND, abs=0.06)


@pytest.mark.parametrize("attacker,victim,damage", [
    (MARINE, MARINE, 6.0),  # Marine 6, Marine armor 0
    (MARINE, ROACH, 5.0),  # Marine 6 - Roach armor 1
    (MARINE, ZERGLING, 6.0),
    (MARAUDER, ROACH, 19.0),  # Marauder 10 (+10 armored) - armor 1
    (MARAUDER, MARINE, 10.0),  # no bonus on a light unit
    (MARAUDER, MARAUDER, 19.0),  # Marauder is armored, armor 1
    (STALKER, ROACH, 17.0),  # Stalker 13 (+5 armored) - armor 1
    (STALKER, MARINE, 13.0),
    (ROACH, MARINE, 16.0),  # Roach 16
    (ROACH, ROACH, 15.0),
    (UnitType.HYDRALISK, ROACH, 11.0),  # Hydralisk 12 - armor 1
    (UnitType.QUEEN, MARINE, 8.0),  # Queen 4 x2 ground
    (UnitType.QUEEN, ROACH, 6.0),  # each of the 2 hits loses 1 armor
])
def test_ranged_damage_after_armor_and_bonus(attacker, victim, damage):
    # SC2 5.0.3 unit data: damage (bonus vs attribute) minus the victim's armor, on each hit.
    state = one_volley(attacker, victim)
    assert damage_taken(state, 1) == pytest.approx(damage, abs=1e-4)


@pytest.mark.parametrize("victim,damage", [(MARINE, 16.0), (ROACH, 14.0), (ZERGLING, 16.0), (MARAUDER, 14.0)])
def test_zealot_two_hits_each_reduced_by_armor(victim, damage):
    # Zealot: 8 x2 melee, cooldown 0.86 s - SC2 5.0.3 unit data; armor applies to each of the two hits.
    r = unit_table().radius
    gap = float(r[int(ZEALOT)] + r[int(victim)]) + 0.05  # within melee range (0.1 beyond both radii)
    state = build((ZEALOT, P1, (30.0, 30.0)), (victim, P2, (30.0 + gap, 30.0)))
    state = order(state, 1, Order.MOVE, (30.0 + gap, 30.0))
    state, _ = game_loop(state, params())
    assert damage_taken(state, 1) == pytest.approx(damage, abs=1e-4)


def test_shields_absorb_first_and_ignore_armor():
    # Zealot: 100 HP, 50 shields, armor 1; Marine 6 damage - SC2 5.0.3 unit data. Shield armor is 0.
    state = one_volley(MARINE, ZEALOT)
    assert float(state.unit_shields[0, 1]) == pytest.approx(50.0 - 6.0)
    assert hp_of(state, 1) == pytest.approx(100.0)
    # Stalker: 80 HP, 80 shields; Marauder 10 (+10 armored) = 20 to shields, none to HP.
    state = one_volley(MARAUDER, STALKER)
    assert float(state.unit_shields[0, 1]) == pytest.approx(60.0)
    assert hp_of(state, 1) == pytest.approx(80.0)


def test_hp_takes_damage_minus_armor_once_shields_are_gone():
    state = build((MARINE, P1, (30.0, 30.0)), (ZEALOT, P2, (31.875, 30.0)))
    shields = state.unit_shields.clone()
    shields[0, 1] = 0.0
    state = order(state.replace(unit_shields=shields), 1, Order.MOVE, (31.875, 30.0))
    state, _ = game_loop(state, params())
    assert hp_of(state, 1) == pytest.approx(100.0 - 5.0)  # 6 - armor 1
    assert float(state.unit_shields[0, 1]) == 0.0


def test_shield_breaking_hit_loses_armor_on_its_remainder():
    # SC2: the hit that breaks the shields has its remainder reduced by the unit's armor (Zealot armor 1,
    # SC2 5.0.3 unit data): 6 -> 2 to shields, 4 - 1 = 3 to HP.
    state = build((MARINE, P1, (30.0, 30.0)), (ZEALOT, P2, (31.875, 30.0)), (MARINE, P1, (30.0, 31.5)))
    shields = state.unit_shields.clone()
    shields[0, 1] = 2.0
    state = order(state.replace(unit_shields=shields), [1, 2], Order.MOVE, (0.0, 0.0))
    state = order(state, 1, Order.MOVE, (31.875, 30.0))
    state = order(state, 2, Order.MOVE, (30.0, 31.5))  # only slot 0 fires this loop
    state, _ = game_loop(state, params())
    assert float(state.unit_shields[0, 1]) == 0.0
    assert hp_of(state, 1) == pytest.approx(100.0 - 3.0)
    # Two Marines on the same loop: 2 to shields, then 4 - 1 and 6 - 1 to HP.
    state = build((MARINE, P1, (30.0, 30.0)), (ZEALOT, P2, (31.875, 30.0)), (MARINE, P1, (30.0, 31.5)))
    state = order(state.replace(unit_shields=shields), 1, Order.MOVE, (31.875, 30.0))
    state, _ = game_loop(state, params())
    assert hp_of(state, 1) == pytest.approx(100.0 - 3.0 - 5.0)


def test_damage_after_armor_is_at_least_half_a_point():
    # units.md rules of combat: damage after armor is at least 0.5.
    table = unit_table()
    heavy = dataclasses.replace(table, armor=torch.full_like(table.armor, 10.0))
    _, after = hit_damage(heavy, torch.tensor(int(MARINE)), torch.tensor(int(ROACH)))
    assert float(after) == MIN_DAMAGE == 0.5
    _, zealot = hit_damage(heavy, torch.tensor(int(ZEALOT)), torch.tensor(int(ROACH)))
    assert float(zealot) == 2 * 0.5  # per hit
    _, normal = hit_damage(table, torch.tensor(int(MARINE)), torch.tensor(int(ROACH)))
    assert float(normal) == 5.0


def test_bonus_damage_follows_attributes_of_the_table():
    # Attributes - SC2 5.0.3 unit data: Roach, Marauder, Stalker armored; Marine, Zergling, Zealot light.
    table = unit_table()
    armored = {MARAUDER, ROACH, STALKER}
    for victim in (MARINE, MARAUDER, ZERGLING, ROACH, ZEALOT, STALKER, UnitType.HYDRALISK):
        raw, _ = hit_damage(table, torch.tensor(int(MARAUDER)), torch.tensor(int(victim)))
        assert float(raw) == (20.0 if victim in armored else 10.0), victim.name
        raw, _ = hit_damage(table, torch.tensor(int(BANELING)), torch.tensor(int(victim)))
        light = victim in {MARINE, ZERGLING, ZEALOT, UnitType.HYDRALISK}
        assert float(raw) == (35.0 if light else 16.0), victim.name


# ---------------------------------------------------------------------------------------------------------------
# Banelings.

def _baneling_field() -> State:
    """A player-2 Baneling at (30, 30), Marines of player 1 around it and a Zergling of its own beside it."""
    return build(
        (BANELING, P2, (30.0, 30.0)),
        (MARINE, P1, (30.95, 30.0)),  # edge distance 0.2: the Baneling's target (range 0.25)
        (MARINE, P1, (30.0, 31.5)),  # centre 1.5 away: in the 2.2 splash
        (MARINE, P1, (28.6, 30.0)),  # 1.4
        (MARINE, P1, (30.0, 28.2)),  # 1.8
        (MARINE, P1, (31.5, 28.3)),  # 2.27
        (MARINE, P1, (34.0, 30.0)),  # 4.0: outside
        (MARINE, P1, (30.0, 34.5)),  # 4.5: outside
        (ZERGLING, P2, (31.0, 31.3)),  # the Baneling's own side, 1.64 away
    )


def test_baneling_splash_hits_every_marine_in_radius_and_dies():
    # Baneling: 16 (+19 light) splash radius 2.2, dies on attack - SC2 5.0.3 unit data (the 5.0.3 dump's value).
    state = _baneling_field()
    for slot in range(1, 9):  # everyone else is told to stay where it is, so nobody else fires this loop
        state = order(state, slot, Order.MOVE, tuple(pos_of(state, slot).tolist()))
    state, died = game_loop(state, params())
    assert not bool(state.unit_alive[0, 0]) and bool(died[0, 0])
    assert [hp_of(state, s) for s in range(1, 6)] == [pytest.approx(45.0 - 35.0)] * 5
    assert [hp_of(state, s) for s in (6, 7)] == [45.0, 45.0]
    assert hp_of(state, 8) == 35.0  # own Zergling untouched
    assert bool(state.unit_alive[0, 1:].all())


def test_baneling_kills_zerglings_in_radius():
    # Zergling: 35 HP, light - SC2 5.0.3 unit data; 16 + 19 = 35 kills it in one blast.
    state = build(
        (BANELING, P2, (30.0, 30.0)),
        (ZERGLING, P1, (30.8, 30.0)),
        (ZERGLING, P1, (30.0, 31.2)),
        (ZERGLING, P1, (29.0, 29.0)),
        (ZERGLING, P1, (35.0, 30.0)),
        (ROACH, P1, (30.5, 28.7)),  # armored: 16 - 1 armor = 15, no light bonus
    )
    for slot in range(1, 6):
        state = order(state, slot, Order.MOVE, tuple(pos_of(state, slot).tolist()))
    state, died = game_loop(state, params())
    assert died[0].tolist() == [True, True, True, True, False, False]
    assert hp_of(state, 4) == 35.0
    assert damage_taken(state, 5) == pytest.approx(15.0, abs=1e-4)


# ---------------------------------------------------------------------------------------------------------------
# Movement, range, regeneration, collisions.

@pytest.mark.parametrize("kind,speed", [
    (MARINE, 3.15),  # 20 units in 6.35 s = 142 loops
    (ZERGLING, 4.13),
    (STALKER, 4.13),
    (ROACH, 3.15),
    (BANELING, 3.5),
])
def test_unit_speed(kind, speed):
    # Speeds in map units per real second at faster - SC2 5.0.3 unit data.
    start = torch.tensor([12.0, 30.0])
    state = order(build((kind, P1, tuple(start.tolist()))), 0, Order.MOVE, (34.0, 30.0))
    _, history = record(state, 170)
    travelled = [float(torch.linalg.vector_norm(s.unit_pos[0, 0] - start)) for s in history]
    loops = next(i + 1 for i, d in enumerate(travelled) if d >= 20.0 - 1e-4)
    expected = 20.0 / speed * LOOPS_PER_SECOND
    assert abs(loops - expected) <= 1.0, (loops, expected)
    assert travelled[99] == pytest.approx(100 * speed / LOOPS_PER_SECOND, rel=1e-4)
    assert float(history[-1].unit_pos[0, 0, 0]) == pytest.approx(34.0, abs=0.1)  # stops at its point
    assert int(history[-1].order_kind[0, 0, 0]) == int(Order.NONE)


def test_marine_crosses_twenty_units_in_142_loops():
    state = order(build((MARINE, P1, (10.0, 30.0))), 0, Order.MOVE, (30.0, 30.0))
    state = run_loops(state, params(), 142)
    assert float(state.unit_pos[0, 0, 0]) == pytest.approx(10.0 + 142 * 3.15 / 22.4, abs=1e-3)
    assert 20.0 - 3.15 / 22.4 <= float(state.unit_pos[0, 0, 0]) - 10.0 <= 20.0


def _first_damage_loop(history: list[State], slot: int, full: float) -> int | None:
    return next((i for i, s in enumerate(history) if hp_of(s, slot) < full), None)


def test_marine_in_range_fires_at_once():
    # Marine range 5 (edge to edge) - SC2 5.0.3 unit data.
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (25.75, 30.0)))  # edge 5.0
    state = order(state, 1, Order.HOLD)
    _, history = record(state, 3)
    assert _first_damage_loop(history, 1, 45.0) == 0
    assert torch.equal(history[-1].unit_pos[0, 0], torch.tensor([20.0, 30.0]))


def test_marine_out_of_range_walks_closer_first():
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (25.95, 30.0)))  # edge 5.2
    state = order(state, 1, Order.HOLD)  # the target neither moves nor reaches (hold acquires within range)
    _, history = record(state, 6)
    first = _first_damage_loop(history, 1, 45.0)
    assert first is not None and first >= 1
    moved = float(history[first].unit_pos[0, 0, 0]) - 20.0
    assert moved == pytest.approx(0.2, abs=1e-3)  # stops at the edge of its range, no closer
    assert hp_of(history[first - 1], 1) == 45.0


@pytest.mark.parametrize("gap,fires_at_once", [(0.05, True), (0.09, True), (0.3, False), (0.6, False)])
def test_melee_range(gap, fires_at_once):
    # Melee weapons reach about 0.1 beyond both radii (units.md, rules of combat).
    r = float(unit_table().radius[int(ZERGLING)] + unit_table().radius[int(MARINE)])
    state = build((ZERGLING, P1, (30.0, 30.0)), (MARINE, P2, (30.0 + r + gap, 30.0)))
    state = order(state, 1, Order.MOVE, (30.0 + r + gap, 30.0))
    _, history = record(state, 8)
    first = _first_damage_loop(history, 1, 45.0)
    if fires_at_once:
        assert first == 0
        assert float(history[0].unit_pos[0, 0, 0]) == 30.0
    else:
        assert first is not None and first > 0
        assert hp_of(history[first], 1) == 45.0 - 5.0  # Zergling 5 melee damage
        edge = float(history[first].unit_pos[0, 1, 0] - history[first].unit_pos[0, 0, 0]) - r
        assert edge <= 0.1 + 1e-4


def test_zerg_regeneration():
    # Zerg units regenerate 0.27 HP per real second (Liquipedia, "Zerg"); Terran units do not.
    state = build((ZERGLING, P1, (20.0, 20.0)), (ROACH, P1, (25.0, 20.0)), (MARINE, P1, (30.0, 20.0)),
                  (ZERGLING, P1, (35.0, 20.0)), hp={0: 20.0, 1: 100.0, 2: 20.0, 3: 34.9})
    state = run_loops(state, params(), 224)  # 10 real seconds
    assert hp_of(state, 0) == pytest.approx(20.0 + 2.7, abs=1e-3)
    assert hp_of(state, 1) == pytest.approx(100.0 + 2.7, abs=1e-3)
    assert hp_of(state, 2) == 20.0
    assert hp_of(state, 3) == 35.0  # never above maximum


def test_units_do_not_overlap_after_collisions():
    # Marine radius 0.375 - SC2 5.0.3 unit data: two Marines end at least 0.75 apart.
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P1, (20.0, 31.0)))
    state = order(state, [0, 1], Order.MOVE, (30.0, 30.0))
    state = run_loops(state, params(), 150)
    assert float(torch.linalg.vector_norm(state.unit_pos[0, 0] - state.unit_pos[0, 1])) >= 0.75 - 0.01
    assert state.order_kind[0, :, 0].tolist() == [0, 0]  # both arrived (a crowd stops around its point)
    for slot in (0, 1):
        assert float(torch.linalg.vector_norm(state.unit_pos[0, slot] - torch.tensor([30.0, 30.0]))) < 1.5


def test_crowd_separates_to_radii():
    units = [(MARINE, P1, (20.0 + (i % 3), 28.0 + i // 3)) for i in range(6)] + [(ROACH, P1, (22.0, 31.0))]
    state = order(build(*units), list(range(7)), Order.MOVE, (32.0, 30.0))
    state = run_loops(state, params(), 200)
    radius = unit_table().radius[state.unit_type[0]]
    dist = torch.cdist(state.unit_pos[0], state.unit_pos[0])
    needed = radius[:, None] + radius[None, :]
    off_diagonal = ~torch.eye(7, dtype=torch.bool)
    assert bool((dist[off_diagonal] >= needed[off_diagonal] - 0.02).all()), (dist - needed).min()


def test_units_on_the_same_point_separate():
    state = build((MARINE, P1, (30.0, 30.0)), (MARINE, P1, (30.0, 30.0)))
    state = run_loops(state, params(), 5)
    assert float(torch.linalg.vector_norm(state.unit_pos[0, 0] - state.unit_pos[0, 1])) >= 0.75 - 0.01


def test_units_stay_in_bounds():
    state = order(build((MARINE, P1, (22.5, 25.0))), 0, Order.MOVE, (10.0, 25.0))
    state = run_loops(state, SimParams.create((22.0, 20.0, 44.0, 36.0)), 20)
    assert float(state.unit_pos[0, 0, 0]) == pytest.approx(22.0 + 0.375)


# ---------------------------------------------------------------------------------------------------------------
# Deaths.

def test_dead_units_never_act():
    # A Marine (slot 1) dies at loop 0 to two shots; its simultaneous shot is its last.
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (25.75, 30.0)), (MARAUDER, P1, (20.0, 28.0)),
                  hp={1: 10.0})
    state = order(state, 0, Order.ATTACK_UNIT, target=1)
    state = order(state, 2, Order.ATTACK_UNIT, target=1)
    _, history = record(state, 60)
    assert not bool(history[0].unit_alive[0, 1])
    assert hp_of(history[0], 0) == 39.0  # the simultaneous last shot lands
    dead_pos = pos_of(history[0], 1)
    for s in history[1:]:
        assert hp_of(s, 0) == 39.0 and hp_of(s, 2) == 125.0
        assert torch.equal(s.unit_pos[0, 1], dead_pos)
        assert int(s.unit_target[0, 1]) == -1 and int(s.order_kind[0, 1, 0]) == int(Order.NONE)
    # The killers' attack orders are done: they stand idle, not walking on.
    assert [int(history[-1].order_kind[0, s, 0]) for s in (0, 2)] == [0, 0]


def test_dead_slot_with_orders_does_not_move_or_fire():
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (24.0, 30.0)))
    state = order(state, 0, Order.MOVE, (40.0, 30.0))
    state = state.replace(unit_alive=torch.tensor([[False, True]]))
    state = order(state, 0, Order.MOVE, (40.0, 30.0))  # orders written into the dead slot anyway
    _, history = record(state, 30)
    for s in history:
        assert torch.equal(s.unit_pos[0, 0], torch.tensor([20.0, 30.0]))
        assert hp_of(s, 1) == 45.0


def test_kills_recorded_once_and_corpses_removed():
    # Marine 50 minerals - SC2 5.0.3 unit data; killed_value_units counts the value once.
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (25.0, 30.0)), hp={1: 5.0})
    state = order(state, 1, Order.MOVE, (25.0, 30.0))
    state = run_loops(state, params(), 40)
    assert float(state.score[0, 0, 5]) == 50.0 and float(state.score[0, 1, 5]) == 0.0
    assert not bool(state.unit_alive[0, 1])


# ---------------------------------------------------------------------------------------------------------------
# Orders and targeting.

def test_idle_unit_acquires_nearest_enemy_in_sight_and_chases():
    # Marine sight 9, range 5 - SC2 5.0.3 unit data.
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (28.0, 30.0)), (MARINE, P2, (20.0, 38.9)))
    state = order(state, [1, 2], Order.HOLD)  # edge 7.25 and 8.15: both in sight, out of range
    _, history = record(state, 40)
    assert int(history[0].unit_target[0, 0]) == 1  # the nearer one
    first = _first_damage_loop(history, 1, 45.0)
    assert first is not None
    assert hp_of(history[-1], 2) == 45.0
    x = float(history[first].unit_pos[0, 0, 0])
    assert x == pytest.approx(28.0 - 0.75 - 5.0, abs=1e-3)  # walked exactly into range


def test_idle_unit_ignores_enemies_beyond_sight():
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (30.5, 30.0)))  # edge 9.75 > sight 9
    state = order(state, 1, Order.HOLD)
    state = run_loops(state, params(), 30)
    assert torch.equal(state.unit_pos[0, 0], torch.tensor([20.0, 30.0]))
    assert int(state.unit_target[0, 0]) == -1 and hp_of(state, 1) == 45.0


def test_hold_position_never_moves():
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (27.0, 30.0)), (ZERGLING, P2, (20.0, 36.0)))
    state = order(state, 0, Order.HOLD)
    start = pos_of(state, 0)
    _, history = record(state, 60)
    for s in history:
        assert torch.equal(s.unit_pos[0, 0], start) or not bool(s.unit_alive[0, 0])
    assert hp_of(history[-1], 0) < 45.0  # it was attacked ...
    assert hp_of(history[-1], 1) < 45.0 or hp_of(history[-1], 2) < 35.0  # ... and fired back in range


def test_move_order_does_not_stop_to_fight():
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (24.0, 33.0)))
    state = order(state, 1, Order.HOLD)
    state = order(state, 0, Order.MOVE, (36.0, 30.0))
    _, history = record(state, 40)
    assert all(hp_of(s, 1) == 45.0 for s in history)
    assert float(history[-1].unit_pos[0, 0, 0]) == pytest.approx(20.0 + 40 * 3.15 / 22.4, abs=1e-3)


def test_attack_move_fights_on_the_way():
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (30.0, 33.0)), hp={1: 20.0})
    state = order(state, 1, Order.HOLD)
    state = order(state, 0, Order.ATTACK_MOVE, (40.0, 30.0))
    state, history = record(state, 300)
    assert not bool(state.unit_alive[0, 1])  # it stopped to kill the Marine on its way ...
    assert float(state.unit_pos[0, 0, 0]) == pytest.approx(40.0, abs=0.1)  # ... then went on


def test_queued_orders_run_in_order():
    waypoints = [(25.0, 30.0), (25.0, 35.0), (20.0, 35.0)]
    state = build((MARINE, P1, (20.0, 30.0)))
    state = order(state, 0, Order.MOVE, waypoints[0])
    for point in waypoints[1:]:
        state = order(state, 0, Order.MOVE, point, queued=True)
    assert (state.order_kind[0, 0] != 0).sum() == 3
    _, history = record(state, 160)
    reached = []
    for point in waypoints:
        p = torch.tensor(point)
        reached.append(next(i for i, s in enumerate(history)
                            if float(torch.linalg.vector_norm(s.unit_pos[0, 0] - p)) <= 0.1))
    assert reached == sorted(reached) and len(set(reached)) == 3
    # Each leg at Marine speed: 5 units = 35.6 loops.
    legs = [reached[0] + 1] + [b - a for a, b in zip(reached, reached[1:])]
    assert all(abs(leg - 5.0 / (3.15 / 22.4)) <= 1.5 for leg in legs), legs
    assert int(history[-1].order_kind[0, 0, 0]) == int(Order.NONE)


def test_stop_clears_the_queue():
    state = build((MARINE, P1, (20.0, 30.0)))
    state = order(state, 0, Order.MOVE, (25.0, 30.0))
    state = order(state, 0, Order.MOVE, (25.0, 35.0), queued=True)
    state = run_loops(state, params(), 5)
    state = order(state, 0, Order.NONE)  # Stop
    assert state.order_kind[0, 0].tolist() == [0, 0, 0, 0]
    here = pos_of(state, 0)
    state = run_loops(state, params(), 20)
    assert torch.equal(state.unit_pos[0, 0], here)


def test_non_queued_order_replaces_the_queue():
    state = build((MARINE, P1, (20.0, 30.0)))
    state = order(state, 0, Order.MOVE, (25.0, 30.0))
    state = order(state, 0, Order.MOVE, (25.0, 35.0), queued=True)
    state = order(state, 0, Order.MOVE, (15.0, 30.0))
    assert state.order_kind[0, 0].tolist() == [int(Order.MOVE), 0, 0, 0]
    state = run_loops(state, params(), 50)
    assert float(state.unit_pos[0, 0, 0]) == pytest.approx(15.0, abs=0.1)


def test_attack_unit_chases_its_target_past_others():
    # An ATTACK_UNIT order ignores nearer enemies and walks to its target.
    state = build((MARINE, P1, (20.0, 30.0)), (MARINE, P2, (24.0, 32.0)), (MARINE, P2, (33.0, 30.0)),
                  hp={0: 500.0})
    state = order(state, 1, Order.MOVE, (24.0, 32.0))
    state = order(state, 2, Order.MOVE, (33.0, 30.0))
    state = order(state, 0, Order.ATTACK_UNIT, target=2)
    _, history = record(state, 80)
    assert all(hp_of(s, 1) == 45.0 for s in history)
    assert hp_of(history[-1], 2) < 45.0
    final = history[-1].unit_pos[0]
    assert float(final[0, 0]) > 24.0  # walked past the nearer enemy
    assert float(torch.linalg.vector_norm(final[2] - final[0])) - 0.75 <= 5.0 + 1e-3
