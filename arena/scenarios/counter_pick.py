"""CounterPick: a non-transitive two-player scenario. Each player first picks one of three Zerg armies of equal cost
(900 minerals + gas), unseen by the other, then the armies fight. Zerglings beat Roaches, Roaches beat Banelings,
Banelings beat Zerglings (benchmarks/counter_cycle.py measures the cycle), so plain self-play that learns a best
response to its latest self chases its tail, while a league's mixture learns to pick at random. Micro stays in the
fight: Zerglings that split against Banelings, or surround Roaches, win fights they would lose as a clump.

Why a choice phase in the state, not registered variants: a scenario sees only the State (spawn, loop_rule), and
the engine's action pipeline already turns a screen click into a unit's order. So the choice is a unit order: each
player starts with a chooser (an Overlord, selected, slow and unarmed) and three beacons, its choice zones, beside it
(on the screen: Zerglings above, Roaches level with it, Banelings below; on the right side all of it mirrored).
Any order with a target point (Move_screen, Attack_screen, Smart_screen, their minimap forms) picks the zone nearest
that point, if the point lies within 2.5 map units of it (the zones are 5 apart, so every zone can be hit and none
overlap). The choice is the chooser's current order when the choice phase ends at game loop 16 (1 game second,
two steps at the default step_mul 8: the latest order counts). No order, or a point away from every zone, picks
the default, Roaches (the middle zone). Then, in the loop rule, the choosers and beacons vanish and the armies
spawn in their place, in columns 16 apart as in the battles (two_player.Battle), preselected, each camera over its
own army.

Engines. The torch passes run the rule after every loop, the kernel after every step (LoopTrigger.after_step):
the armies spawn at the same loop on both wherever step_mul divides 16 (1, 2, 4, 8, 16), later on the kernel
otherwise.

Symmetric and mirror-safe as the other two-player scenarios (two_player.py): slots by side (the left side's 36
slots first), the right side the exact mirror of the left, seeds s and s ^ 1 the same games with the players'
places exchanged.
"""

from __future__ import annotations

import enum

import torch

from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.skirmish import Army
from arena.scenarios.spawn import any_true, place, slot_range
from arena.scenarios.two_player import (BATTLE_PLAYABLE, CENTRE_JITTER, LEFT_CENTRE, STREAM_LAYOUT, episode_side,
                                        formation, mirror_x, on_grid, own_units, pair_key, point_cameras, preselect,
                                        score_kills)
from arena.sim import rng
from arena.sim.rules import LoopTrigger
from arena.sim.state import Order, Owner, State, where
from arena.sim.units import UNIT_SPECS, UnitType


class Composition(enum.IntEnum):
    """The armies a player can pick; each beats the next (Banelings beat Zerglings)."""

    ZERGLINGS = 0
    ROACHES = 1
    BANELINGS = 2


ARMIES: dict[Composition, Army] = {
    Composition.ZERGLINGS: ((UnitType.ZERGLING, 36),),
    Composition.ROACHES: ((UnitType.ROACH, 9),),
    Composition.BANELINGS: ((UnitType.BANELING, 12),),
}
"""900 minerals + gas each: Zergling 25/0, Roach 75/25, Baneling 50/25 with the Zergling it morphs from (units.md).
Measured with the scripted agent on both sides, 32 games per pair and seat (benchmarks/counter_cycle.py): at 600
(24 / 6 / 8) Banelings beat Zerglings in only 20 of 32 games from either seat (10 draws); at 300 (12 / 3 / 4) in
10 of 32 (20 draws); at 900 in 24 of 32 (6 draws). Zerglings beat Roaches and Roaches beat Banelings in every game
at all three budgets."""
DEFAULT_COMPOSITION = Composition.ROACHES
"""Picked without an order, or with a point away from every zone: the middle zone."""
SIDE_SLOTS = 36
"""Unit slots per side: the largest army. The chooser and the beacons use the first four."""
CHOICE_LOOPS = 16
"""The choice phase: the chooser's order at this game loop (1 game second) is the choice."""
CHOOSER_OFFSET = (-5.0, 0.0)
"""The left chooser's position from the left army's front centre (two_player.LEFT_CENTRE, jittered)."""
ZONE_OFFSETS: dict[Composition, tuple[float, float]] = {
    Composition.ZERGLINGS: (0.0, 5.0),
    Composition.ROACHES: (0.0, 0.0),
    Composition.BANELINGS: (0.0, -5.0),
}
"""Each choice zone (a beacon) from the left army's front centre: the chooser's sight (11) covers them all."""
ZONE_REACH = 2.5
"""A point picks a zone within this distance (map units; half the zones' spacing)."""
EXPLORED_AROUND_CHOOSER = UNIT_SPECS[UnitType.OVERLORD].sight + 2.0
"""Each player starts having explored the cells within this distance of its chooser: all the chooser can see in the
choice phase (its sight, and more than it can fly in 16 loops). The engines remember what players see at different
moments around the rule (the kernel after the loop, the torch passes after the rule), so cells the chooser saw
first at the last loop would be remembered by one only; explored from the start, they are remembered alike."""
TIME_LIMIT_S = 61.0
"""The choice's second, then the battles' 60 s."""


def composition_cost(composition: Composition) -> int:
    """Minerals + gas an army costs, a Baneling counted with its Zergling."""
    total = 0
    for unit_type, count in ARMIES[composition]:
        spec = UNIT_SPECS[unit_type]
        total += count * (spec.minerals + spec.gas)
        if unit_type == UnitType.BANELING:
            total += count * UNIT_SPECS[UnitType.ZERGLING].minerals  # 25 a Zergling (50 a pair)
    return total


def front_centre(state: State) -> torch.Tensor:
    """[B, 2] the left army's front centre: two_player.LEFT_CENTRE moved by up to 2 per axis, on the 1/256 grid."""
    shift = (rng.uniform(pair_key(state, STREAM_LAYOUT), (2,)) * 2 - 1) * CENTRE_JITTER
    return on_grid(torch.tensor(LEFT_CENTRE, device=state.device) + shift)


def zone_points(centre: torch.Tensor) -> torch.Tensor:
    """[B, 3, 2] the left side's choice zones, in Composition order."""
    offsets = torch.tensor([ZONE_OFFSETS[c] for c in Composition], device=centre.device)
    return centre[:, None] + offsets[None]


def side_slots(side: int) -> int:
    """The first slot of a side (0 left, 1 right)."""
    return side * SIDE_SLOTS


def order_point(state: State, slot: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The target point [B, 2] of the current order of the unit in `slot`, and whether it has one [B]: a unit
    target counts at that unit's position."""
    kind, target = state.order_kind[:, slot, 0], state.order_unit[:, slot, 0]
    on_unit = kind == int(Order.ATTACK_UNIT)
    unit_pos = state.unit_pos.gather(1, target.clamp(min=0)[:, None, None].expand(-1, 1, 2))[:, 0]
    point = torch.where(on_unit[:, None], unit_pos, state.order_pos[:, slot, 0])
    has = state.unit_alive[:, slot] & (kind != int(Order.NONE)) & (kind != int(Order.HOLD))
    return point, has


def picked(point: torch.Tensor, has: torch.Tensor, zones: torch.Tensor) -> torch.Tensor:
    """[B] long Composition: the zone (of `zones` [B, 3, 2]) within ZONE_REACH of `point` [B, 2], else the default."""
    gap = torch.linalg.vector_norm(zones - point[:, None], dim=-1)  # [B, 3]
    nearest = gap.argmin(dim=1)
    valid = has & (gap.amin(dim=1) <= ZONE_REACH)
    return torch.where(valid, nearest, int(DEFAULT_COMPOSITION))


def choices(state: State) -> torch.Tensor:
    """[B, 2] long Composition each side (left, right) picks now."""
    zones = zone_points(front_centre(state))
    left = picked(*order_point(state, side_slots(0)), zones)
    right = picked(*order_point(state, side_slots(1)), mirror_x(zones))
    return torch.stack([left, right], dim=1)


def player_choices(state: State) -> torch.Tensor:
    """[B, 2] long Composition each player (1, 2) picks now."""
    by_side = choices(state)
    return torch.where(state.side[:, None] == 0, by_side, by_side.flip(1))


def cleared(state: State) -> State:
    """Every slot empty (no unit, order, selection or control group)."""
    return state.replace(unit_alive=torch.zeros_like(state.unit_alive), unit_type=torch.zeros_like(state.unit_type),
                         unit_hp=torch.zeros_like(state.unit_hp), unit_target=torch.full_like(state.unit_target, -1),
                         order_kind=torch.zeros_like(state.order_kind),
                         order_unit=torch.full_like(state.order_unit, -1),
                         selected=torch.zeros_like(state.selected),
                         control_groups=torch.zeros_like(state.control_groups))


def with_side_owners(state: State) -> State:
    """Every army slot owned by its side's player (left: player 1 where state.side is 0)."""
    right = (torch.arange(state.num_units, device=state.device) >= SIDE_SLOTS).long()
    return state.replace(unit_owner=right[None] ^ state.side[:, None])


def explored_around_choosers(state: State) -> State:
    """Each player's explored cells [B, A, H, W] with those within EXPLORED_AROUND_CHOOSER of its chooser."""
    H, W = state.explored.shape[-2:]
    ys = torch.arange(H, device=state.device).float() + 0.5
    xs = torch.arange(W, device=state.device).float() + 0.5
    explored = state.explored.clone()
    for side in range(2):
        chooser = state.unit_pos[:, side_slots(side)]  # [B, 2]
        gap2 = (xs[None, None, :] - chooser[:, None, None, 0]) ** 2 + (
            ys[None, :, None] - chooser[:, None, None, 1]) ** 2
        near = gap2 <= EXPLORED_AROUND_CHOOSER ** 2  # [B, H, W]
        player = state.side ^ side  # the left side's chooser is player 1's where side is 0
        for p in range(2):
            explored[:, p] |= near & (player == p)[:, None, None]
    return state.replace(explored=explored)


def cameras_on_own_units(state: State, bounds: tuple[float, float, float, float]) -> State:
    """Each player's camera over the centre of its units."""
    centres = []
    for player in range(2):
        weight = own_units(state, player).float()[..., None]
        centres.append((state.unit_pos * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1.0))
    return point_cameras(state, torch.stack(centres, dim=1), bounds)


def armies_placed(state: State, picks: torch.Tensor, bounds: tuple[float, float, float, float]) -> State:
    """The chosen armies (`picks` [B, 2] by side) in formation, 16 apart, preselected, cameras over them."""
    centre = front_centre(state)
    left = torch.ones(state.batch_size, dtype=torch.bool, device=state.device)
    state = cleared(state)
    for side, on_left in ((0, left), (1, ~left)):
        for composition, army in ARMIES.items():
            chosen = picks[:, side] == int(composition)
            start = side_slots(side)
            for (unit_type, count), pos in zip(army, formation(army, centre, on_left)):
                state = place(state, slot_range(state, start, count), unit_type, Owner.PLAYER_1, pos,
                              where=chosen[:, None].expand(-1, count))
                start += count
    state = with_side_owners(state)
    return preselect(cameras_on_own_units(state, bounds))


class CounterPick(Scenario):
    """Pick an army by an order to the chooser, then fight: see the module docstring."""

    loop_trigger = LoopTrigger(kills_by_owner=True, after_step=True)
    spec = ScenarioSpec(
        name="CounterPick", version=1, num_units=2 * SIDE_SLOTS, playable=BATTLE_PLAYABLE,
        camera_start=(32.0, 32.0), time_limit_s=TIME_LIMIT_S, num_agents=2, fog=True,
        description=(
            "Two players, symmetric, non-transitive: each player first picks an army worth 900 minerals + gas - "
            "36 Zerglings, 9 Roaches or 12 Banelings - by ordering its Overlord (selected at the start) to one of "
            "three beacons beside it: above it on the screen Zerglings, level Roaches, below Banelings (a point "
            "within 2.5 of a beacon; no such order: Roaches). The order standing at 1 game second is the choice, "
            "unseen by the other player. The armies then spawn 16 apart on a 32 x 32 area under fog of war (a coin "
            "flip picks who starts left, the right side mirrors the left), preselected, each camera over its own. "
            "Zerglings beat Roaches, Roaches beat Banelings, Banelings beat Zerglings. +1 to a player's score per "
            "enemy unit killed. Win: the other army dead (reward +1 / -1); a draw (0) if both are alive after 61 s "
            "or both die on the same game loop."))

    def spawn(self, state: State) -> State:
        state = state.replace(side=episode_side(state))
        centre = front_centre(state)
        chooser = centre + torch.tensor(CHOOSER_OFFSET, device=state.device)
        for side, flip in ((0, lambda p: p), (1, mirror_x)):
            start = side_slots(side)
            state = place(state, slot_range(state, start, 1), UnitType.OVERLORD, Owner.PLAYER_1,
                          flip(chooser)[:, None])
            state = place(state, slot_range(state, start + 1, len(Composition)), UnitType.BEACON, Owner.NEUTRAL,
                          flip(zone_points(centre)))
        neutral = state.unit_owner == int(Owner.NEUTRAL)
        state = state.replace(unit_owner=torch.where(neutral, state.unit_owner, with_side_owners(state).unit_owner))
        return explored_around_choosers(preselect(cameras_on_own_units(state, self.spec.camera_bounds)))

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        state = score_kills(state, died)
        due = (state.wave == 0) & (state.game_loop >= CHOICE_LOOPS)
        if not any_true(due):  # one host sync per rule call
            return state
        fought = armies_placed(state, choices(state), self.spec.camera_bounds).replace(wave=torch.ones_like(state.wave))
        return where(due, fought, state)

    def chosen(self, state: State) -> torch.Tensor:
        """[B] bool: the armies have spawned."""
        return state.wave > 0

    def terminated(self, state: State) -> torch.Tensor:
        alive = [own_units(state, p).any(dim=1) for p in range(2)]
        return self.chosen(state) & (~alive[0] | ~alive[1])

    def outcome(self, state: State) -> torch.Tensor:
        """The player whose army is alive when the other's is dead; a draw while both live, if both died, or before
        the armies spawned."""
        alive_1, alive_2 = own_units(state, 0).any(dim=1), own_units(state, 1).any(dim=1)
        decided = (alive_1 & ~alive_2).long() - (alive_2 & ~alive_1).long()
        return torch.where(self.chosen(state), decided, 0)
