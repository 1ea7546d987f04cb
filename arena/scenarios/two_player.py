"""Two-player scenarios for self-play (minigames.md, "Two-player scenarios"): both players are agents
(spec.num_agents = 2), each sees the map through its own camera under fog of war, and `outcome` says who won
(+1 player 1, -1 player 2, 0 a draw); the two-player environment rewards the players +1 / -1 / 0 from it when the
episode ends. Each player's score_cumulative[0] counts what it achieved (kills, beacons, shards); the races are
decided by it.

Sides. The maps are symmetric about the vertical centre line x = 32. Each episode a coin flip (`state.side`) picks
which player starts on the left: side 0 puts player 1 left. In the symmetric scenarios the right side's units are
the left side's mirrored (x -> 64 - x, with the same random jitter mirrored; spawn points lie on a 1/256 grid, so
the mirror is exact), and units fill the slots by side (left side first), not by player.

Mirror pairs. Every random draw of an episode is keyed by the seed's pair `seed // 2` (`pair_key`), and the coin
flip is the pair's flip XOR the seed's lowest bit. Seeds s and `mirror_seed(s)` = s ^ 1 therefore play the same
episodes with the players' places exchanged: in a symmetric scenario `initial_state(mirror_seed(s))` equals
`swap_players(initial_state(s))` exactly (seed aside), and since the engine treats both owners alike, the game stays
the swap of its mirror game when the agents change seats too, and its outcome is negated. A test checks fairness that
way; a league can play each seed with its mirror seed to cancel any advantage of a side.
"""

from __future__ import annotations

import abc
import math

import torch

from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.collect_mineral_shards import SHARD_REACH
from arena.scenarios.skirmish import Army, army_size
from arena.scenarios.spawn import any_true, column_positions, distance_to_nearest, first_valid, place, \
    points_in_rect, slot_range
from arena.sim import rng
from arena.sim.rules import LoopTrigger
from arena.sim.state import Owner, Score, State
from arena.sim.units import UNIT_SPECS, UnitType, unit_table

MAP_WIDTH = 64.0
CENTRE_X = MAP_WIDTH / 2
"""The vertical line both sides mirror about."""
GRID = 256.0
"""Spawn points are multiples of 1/256 map units: 64 - x is then exact in float32, and so is the mirror."""
STREAM_SIDE, STREAM_LAYOUT, STREAM_TARGETS = 1, 2, 3
MARINE_RADIUS = UNIT_SPECS[UnitType.MARINE].radius


# ---------------------------------------------------------------------------------------------------------------
# Sides, mirror pairs and the mirror.

def mirror_seed(seed: int | torch.Tensor) -> int | torch.Tensor:
    """The seed that plays the same episodes as `seed` with the players' places exchanged."""
    return seed ^ 1


def pair_key(state: State, stream: int, wave: torch.Tensor | None = None) -> torch.Tensor:
    """[B] the key of one random stream, shared by a seed and its mirror seed (default: the state's wave)."""
    pair = torch.div(state.seed, 2, rounding_mode="floor")
    return rng.episode_key(pair, state.episode, state.wave if wave is None else wave, stream)


def episode_side(state: State) -> torch.Tensor:
    """[B] long: 0 where player 1 starts on the left, 1 where player 2 does (a coin flip per episode)."""
    coin = (rng.uniform(pair_key(state, STREAM_SIDE), (1,))[:, 0] < 0.5).long()
    return coin ^ (state.seed & 1)


def on_grid(points: torch.Tensor) -> torch.Tensor:
    """Points rounded to the 1/256 grid."""
    return torch.round(points * GRID) / GRID


def mirror_x(points: torch.Tensor) -> torch.Tensor:
    """[..., 2] points mirrored about the map's vertical centre line."""
    return torch.stack([MAP_WIDTH - points[..., 0], points[..., 1]], dim=-1)


def swap_players(state: State) -> State:
    """The same game with players 1 and 2 exchanged: owners, and every per-player field (selection, control groups,
    camera, explored cells, score, bank, units made), and the side. Positions stay; the seed stays."""
    owner = state.unit_owner
    swapped = torch.where(owner == int(Owner.NEUTRAL), owner, 1 - owner)
    flip = lambda t: t.flip(1)  # noqa: E731 - the player axis
    return state.replace(unit_owner=swapped, selected=flip(state.selected), control_groups=flip(state.control_groups),
                         camera=flip(state.camera), explored=flip(state.explored), score=flip(state.score),
                         minerals=flip(state.minerals), vespene=flip(state.vespene), trained=flip(state.trained),
                         side=1 - state.side)


def assign_sides(state: State, side: torch.Tensor) -> State:
    """Spawns place the left side's units as player 1's and the right side's as player 2's; where `side` [B] is 1,
    the players change places."""
    owner = state.unit_owner
    flipped = (side[:, None] == 1) & (owner != int(Owner.NEUTRAL))
    return state.replace(unit_owner=torch.where(flipped, 1 - owner, owner), side=side)


def own_units(state: State, player: int) -> torch.Tensor:
    """[B, U] the living units of `player` (0 = Owner.PLAYER_1, 1 = Owner.PLAYER_2)."""
    return state.unit_alive & (state.unit_owner == player)


def preselect(state: State) -> State:
    """Each player starts with all its units selected."""
    return state.replace(selected=torch.stack([own_units(state, p) for p in range(state.num_agents)], dim=1))


def point_cameras(state: State, centres: torch.Tensor, bounds: tuple[float, float, float, float]) -> State:
    """Cameras [B, A, 2] at `centres`, kept inside the camera bounds."""
    x0, y0, x1, y1 = bounds
    camera = torch.stack([centres[..., 0].clamp(x0, x1), centres[..., 1].clamp(y0, y1)], dim=-1)
    return state.replace(camera=camera)


def score_kills(state: State, died: torch.Tensor) -> State:
    """+1 to each player's score per enemy unit that died in this loop (`died` [B, U])."""
    score = state.score.clone()
    for player in range(2):
        kills = died & (state.unit_owner == 1 - player)
        score[:, player, Score.SCORE] += kills.sum(dim=1).float()
    return state.replace(score=score)


def leader(state: State) -> torch.Tensor:
    """[B] long: +1 where player 1's score is higher, -1 where player 2's is, 0 where they are equal."""
    score = state.score[:, :, Score.SCORE]
    return torch.sign(score[:, 0] - score[:, 1]).long()


# ---------------------------------------------------------------------------------------------------------------
# Battles: two armies, win by killing the other one.

BATTLE_PLAYABLE = (16.0, 16.0, 48.0, 48.0)
"""32 x 32 in the middle of the map, as the Skirmish scenarios."""
LEFT_CENTRE = (24.0, 32.0)
"""The left army's front column; the right army's is its mirror (40, 32): 16 apart, beyond sight (9 or 10)."""
CENTRE_JITTER = 2.0
"""The front columns move by up to 2 per axis each episode (mirrored: the gap changes by up to 4)."""
BATTLE_TIME_S = 60.0


def formation(army: Army, centre: torch.Tensor, on_left: torch.Tensor) -> list[torch.Tensor]:
    """Each group's positions [B, n, 2]: vertical columns 1 apart (15 to a column), the first group's front column
    at `centre` [B, 2] (a left-side point) and later groups behind it; mirrored where `on_left` [B] is False."""
    B = centre.shape[0]
    outward = torch.full((B,), -1, dtype=torch.long, device=centre.device)
    groups, column = [], 0
    for _, count in army:
        rank = torch.arange(count, device=centre.device).expand(B, count)
        first = centre - torch.tensor([float(column), 0.0], device=centre.device)
        left = column_positions(rank, torch.full((B,), count, device=centre.device), first, outward)
        groups.append(torch.where(on_left[:, None, None], left, mirror_x(left)))
        column += math.ceil(count / 15)
    return groups


def place_formation(state: State, army: Army, *, start: int, owner: Owner, centre: torch.Tensor,
                    on_left: torch.Tensor) -> State:
    """Place `army` in the slots from `start` (see `formation`)."""
    for (unit_type, count), pos in zip(army, formation(army, centre, on_left)):
        state = place(state, slot_range(state, start, count), unit_type, owner, pos)
        start += count
    return state


def army_cost(army: Army) -> tuple[int, int]:
    """(minerals, gas) the army costs (units.md)."""
    minerals = sum(UNIT_SPECS[unit_type].minerals * count for unit_type, count in army)
    gas = sum(UNIT_SPECS[unit_type].gas * count for unit_type, count in army)
    return minerals, gas


class Battle(Scenario):
    """Shared rules: `armies` (player 1's, player 2's; the left and right side's where `symmetric`) face each other;
    +1 to a player's score per enemy unit killed; an army that dies loses; a draw at the time limit."""

    armies: tuple[Army, Army]
    symmetric: bool
    loop_trigger = LoopTrigger(kills_by_owner=True)

    def spawn(self, state: State) -> State:
        side = episode_side(state)
        shift = (rng.uniform(pair_key(state, STREAM_LAYOUT), (2,)) * 2 - 1) * CENTRE_JITTER
        centre = on_grid(torch.tensor(LEFT_CENTRE, device=state.device) + shift)  # [B, 2]
        first, second = self.armies
        split = army_size(first)
        left = torch.ones_like(side, dtype=torch.bool)
        if self.symmetric:  # slots by side: the left army first
            state = place_formation(state, first, start=0, owner=Owner.PLAYER_1, centre=centre, on_left=left)
            state = place_formation(state, second, start=split, owner=Owner.PLAYER_2, centre=centre, on_left=~left)
            state = assign_sides(state, side)
        else:  # slots by player: player 1's army first
            state = place_formation(state, first, start=0, owner=Owner.PLAYER_1, centre=centre, on_left=side == 0)
            state = place_formation(state, second, start=split, owner=Owner.PLAYER_2, centre=centre,
                                    on_left=side == 1)
            state = state.replace(side=side)
        armies = torch.stack([_centroid(state, own_units(state, p)) for p in range(2)], dim=1)
        return preselect(point_cameras(state, armies, self.spec.camera_bounds))

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        return score_kills(state, died)

    def terminated(self, state: State) -> torch.Tensor:
        return ~own_units(state, 0).any(dim=1) | ~own_units(state, 1).any(dim=1)

    def outcome(self, state: State) -> torch.Tensor:
        """The player whose army is alive when the other's is dead; a draw while both live or if both died."""
        alive_1, alive_2 = own_units(state, 0).any(dim=1), own_units(state, 1).any(dim=1)
        return (alive_1 & ~alive_2).long() - (alive_2 & ~alive_1).long()


def _centroid(state: State, mask: torch.Tensor) -> torch.Tensor:
    weight = mask.float()[..., None]
    return (state.unit_pos * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1.0)


def _battle_spec(name: str, units: int, description: str) -> ScenarioSpec:
    return ScenarioSpec(name=name, version=1, num_units=units, playable=BATTLE_PLAYABLE, camera_start=(32.0, 32.0),
                        time_limit_s=BATTLE_TIME_S, num_agents=2, fog=True, description=description)


class MarineMirror(Battle):
    armies = (((UnitType.MARINE, 8),), ((UnitType.MARINE, 8),))
    symmetric = True
    spec = _battle_spec(
        "MarineMirror", 16,
        "Two players, symmetric: 8 Marines each in a vertical line, 16 apart on a 32 x 32 area under fog of war, "
        "player 2's line the mirror of player 1's (a coin flip picks who starts left); each player's camera over its "
        "own Marines, which start selected. +1 to a player's score per enemy Marine killed. Win: the other army "
        "dead (reward +1 / -1); a draw (0) if both are alive after 60 s or both die on the same game loop.")


TERRAN_ARMY: Army = ((UnitType.MARAUDER, 2), (UnitType.MARINE, 6))
"""500 minerals + 50 gas = 550 (Marine 50/0, Marauder 100/25 - units.md)."""
ZERG_ARMY: Army = ((UnitType.ZERGLING, 2), (UnitType.ROACH, 5))
"""425 minerals + 125 gas = 550 (Zergling 25/0, Roach 75/25 - units.md). Of the Zerg armies worth 550, the closest
to an even fight: with the scripted army agent on both sides the Terran won 20 of 32 games; with 10 Zerglings and 3
Roaches it won 2 of 16, with 6 and 4 3 of 16, with 14 and 2 none."""


class TerranVsZerg(Battle):
    armies = (TERRAN_ARMY, ZERG_ARMY)
    symmetric = False
    spec = _battle_spec(
        "TerranVsZerg", army_size(TERRAN_ARMY) + army_size(ZERG_ARMY),
        "Two players, asymmetric, equal cost: player 1's 2 Marauders and 6 Marines (500 minerals + 50 gas = 550) "
        "against player 2's 2 Zerglings and 5 Roaches (425 minerals + 125 gas = 550), 16 apart on a 32 x 32 area "
        "under fog of war (a coin flip picks who starts left; Marauders and Zerglings in front); each player's "
        "camera over its own army, which starts selected. +1 to a player's score per enemy unit killed. Win: the "
        "other army dead (reward +1 / -1); a draw (0) if both are alive after 60 s or both die on the same loop.")


# ---------------------------------------------------------------------------------------------------------------
# Races: Marines race for beacons or shards (and may shoot each other); more points at the time limit wins.

RACE_PLAYABLE = (20.0, 20.0, 44.0, 36.0)
"""24 x 16, centred on x = 32: the screen (24 map units wide) shows all of it."""
RACE_CAMERA = (32.0, 28.0)
"""Both players' cameras: the whole playable area, own Marines included, is on the screen."""
RACE_TIME_S = 60.0
LEFT_MARINE_AREA = (RACE_PLAYABLE[0] + MARINE_RADIUS, RACE_PLAYABLE[1] + MARINE_RADIUS, 28.0,
                    RACE_PLAYABLE[3] - MARINE_RADIUS)
"""Where the left side's Marines start (4 or more from the centre line); the right side's start mirrored."""
TRIES = 32


class Race(Scenario):
    """Shared rules: Marines in the first slots, `marines` per side (left side first), the rest neutral targets.
    A Marine that dies comes back at once at its start point with full health (its orders and selection lost):
    dying costs the walk back. More points at the time limit wins; equal points are a draw."""

    marines: int
    reach: float
    """How close (map units, centre to centre) a Marine comes to a target to score it."""

    @property
    def loop_trigger(self) -> LoopTrigger:
        """The rule scores targets reached and brings dead Marines back."""
        marines = (0, 2 * self.marines)
        targets = (2 * self.marines, None)
        return LoopTrigger(on_death=True, near=(marines, targets, self.reach), empty=targets)

    def home(self, state: State) -> torch.Tensor:
        """[B, 2M, 2] every Marine's start point: the left side's at random, the right side's mirrored."""
        key = pair_key(state, STREAM_LAYOUT, wave=torch.zeros_like(state.wave))
        left = on_grid(points_in_rect(key, (self.marines,), LEFT_MARINE_AREA))
        return torch.cat([left, mirror_x(left)], dim=1)

    def place_marines(self, state: State, where: torch.Tensor | None = None) -> State:
        """(Re-)create the Marines in `where` [B, 2M] (default all) at their start points: the left side's (the first
        M slots) are player 1's where state.side is 0, player 2's where it is 1."""
        M = self.marines
        state = place(state, slot_range(state, 0, 2 * M), UnitType.MARINE, Owner.PLAYER_1, self.home(state), where)
        right = (torch.arange(2 * M, device=state.device) >= M).long()  # [2M] 0 left, 1 right
        owner = state.unit_owner.clone()
        owner[:, :2 * M] = right[None] ^ state.side[:, None]
        return state.replace(unit_owner=owner)

    @abc.abstractmethod
    def collect(self, state: State) -> tuple[State, torch.Tensor]:
        """Score what the Marines reached this loop; returns the state and the games [B] whose targets must be
        renewed (`renew`)."""

    @abc.abstractmethod
    def renew(self, state: State, games: torch.Tensor) -> State:
        """New targets in `games` [B]."""

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        state, due = self.collect(state)
        dead = ~state.unit_alive[:, :2 * self.marines]
        if not any_true(due | dead.any(dim=1)):  # one host sync per loop, for both rare events
            return state
        return self.renew(self.place_marines(state, dead), due)

    def start(self, state: State) -> State:
        """Marines, sides, preselection and cameras of a new episode (targets are the scenario's)."""
        state = self.place_marines(state.replace(side=episode_side(state)))
        camera = torch.tensor(RACE_CAMERA, device=state.device).expand(state.batch_size, state.num_agents, 2)
        return preselect(point_cameras(state, camera, self.spec.camera_bounds))

    def outcome(self, state: State) -> torch.Tensor:
        """The player with more points (read at the time limit); equal points are a draw."""
        return leader(state)


def _race_spec(name: str, units: int, description: str) -> ScenarioSpec:
    return ScenarioSpec(name=name, version=1, num_units=units, playable=RACE_PLAYABLE, camera_start=RACE_CAMERA,
                        time_limit_s=RACE_TIME_S, num_agents=2, fog=True, description=description)


BEACON_AREA = (21.5, 21.5, 42.5, 34.5)
BEACON_MIN_DISTANCE = 5.0
BEACON_REACH = 1.25
"""A Marine scores within 1.25 of the beacon's centre (MoveToBeacon's trigger)."""
BEACON_SLOT = 2


class BeaconRace(Race):
    marines = 1
    reach = BEACON_REACH
    spec = _race_spec(
        "BeaconRace", 3,
        "Two players, symmetric: one Marine each (player 2's start the mirror of player 1's; a coin flip picks who "
        "starts left) and one beacon, first on the centre line, on a 24 x 16 area under fog of war; the screen shows "
        "all of it, each Marine starts selected. +1 to a player's score each time its Marine reaches the beacon, "
        "which then moves to a random point at least 5 from both Marines (both score if they arrive together). The "
        "Marines are enemies and may fight: a Marine that dies comes back at once at its start point. Win: more "
        "beacons after 60 s (reward +1 / -1); equal is a draw (0).")

    def beacon_point(self, state: State, first: bool) -> torch.Tensor:
        """[B, 2] a beacon position at least 5 from every living Marine: on the centre line for the first beacon
        (as far from both Marines), anywhere in the beacon area later."""
        key = pair_key(state, STREAM_TARGETS)
        area = (CENTRE_X, BEACON_AREA[1], CENTRE_X, BEACON_AREA[3]) if first else BEACON_AREA
        candidates = on_grid(points_in_rect(key, (1, TRIES), area))  # [B, 1, T, 2]
        far = distance_to_nearest(candidates, state.unit_pos[:, :2], state.unit_alive[:, :2]) >= BEACON_MIN_DISTANCE
        return first_valid(candidates, far)[:, 0]

    def spawn(self, state: State) -> State:
        state = self.start(state)
        beacon = self.beacon_point(state, first=True)
        return place(state, slot_range(state, BEACON_SLOT, 1), UnitType.BEACON, Owner.NEUTRAL, beacon[:, None])

    def collect(self, state: State) -> tuple[State, torch.Tensor]:
        gap = torch.linalg.vector_norm(state.unit_pos[:, :2] - state.unit_pos[:, BEACON_SLOT, None], dim=-1)
        reached = state.unit_alive[:, :2] & (gap <= BEACON_REACH)  # [B, 2] per Marine slot
        score = state.score.clone()
        for player in range(2):
            score[:, player, Score.SCORE] += (reached & (state.unit_owner[:, :2] == player)).sum(dim=1).float()
        scored = reached.any(dim=1)
        return state.replace(score=score, wave=state.wave + scored.long()), scored

    def renew(self, state: State, games: torch.Tensor) -> State:
        pos = state.unit_pos.clone()
        pos[:, BEACON_SLOT] = torch.where(games[:, None], self.beacon_point(state, first=False), pos[:, BEACON_SLOT])
        return state.replace(unit_pos=pos)


SHARDS = 20
SHARD_AREA = (21.0, 21.0, 43.0, 35.0)
LEFT_SHARD_AREA = (SHARD_AREA[0], SHARD_AREA[1], CENTRE_X - 0.5, SHARD_AREA[3])
"""Half the shards start here, the other half mirrored (no shard on the centre line meets its mirror)."""
SHARD_MIN_DISTANCE = 2.0
SHARD_TRIES = 16


class ShardRace(Race):
    marines = 2
    reach = SHARD_REACH
    spec = _race_spec(
        "ShardRace", 4 + SHARDS,
        "Two players, symmetric: two Marines each (player 2's starts the mirror of player 1's; a coin flip picks "
        "who starts left) and 20 mineral shards, 10 on each side, mirrored, each at least 2 from every Marine, on a "
        "24 x 16 area under fog of war; the screen shows all of it, the Marines start selected. +1 to a player's "
        "score per shard its Marines walk over (a shard both players reach on the same game loop counts for both); "
        "20 new shards, mirrored again, when none are left. The Marines are enemies and may fight: a Marine that "
        "dies comes back at once at its start point. Win: more shards after 60 s (reward +1 / -1); equal is a draw.")

    def shard_points(self, state: State) -> torch.Tensor:
        """[B, 20, 2] 10 shards on the left, 10 mirrored; each pair at least 2 from every living Marine."""
        key = pair_key(state, STREAM_TARGETS)
        half = SHARDS // 2
        candidates = on_grid(points_in_rect(key, (half, SHARD_TRIES), LEFT_SHARD_AREA))  # [B, 10, T, 2]
        marines, alive = state.unit_pos[:, :4], state.unit_alive[:, :4]
        far = (distance_to_nearest(candidates, marines, alive) >= SHARD_MIN_DISTANCE) & (
            distance_to_nearest(mirror_x(candidates), marines, alive) >= SHARD_MIN_DISTANCE)
        left = first_valid(candidates, far)
        return torch.cat([left, mirror_x(left)], dim=1)

    def spawn(self, state: State) -> State:
        state = self.start(state)
        return place(state, slot_range(state, 4, SHARDS), UnitType.MINERAL_SHARD, Owner.NEUTRAL,
                     self.shard_points(state))

    def collect(self, state: State) -> tuple[State, torch.Tensor]:
        table = unit_table(state.device)
        marines, shards = state.unit_pos[:, :4], state.unit_pos[:, 4:]
        reach = table.radius[int(UnitType.MARINE)] + table.radius[int(UnitType.MINERAL_SHARD)]
        touching = torch.linalg.vector_norm(shards[:, :, None] - marines[:, None], dim=-1) <= reach  # [B, 20, 4]
        touching = touching & state.unit_alive[:, 4:, None] & state.unit_alive[:, None, :4]
        owner = state.unit_owner[:, None, :4]
        by = [(touching & (owner == player)).any(dim=2) for player in range(2)]  # [B, 20] per player
        score = state.score.clone()
        for player in range(2):
            score[:, player, Score.SCORE] += by[player].sum(dim=1).float()
        alive = state.unit_alive.clone()
        alive[:, 4:] &= ~(by[0] | by[1])
        cleared = ~alive[:, 4:].any(dim=1)
        return state.replace(score=score, unit_alive=alive, wave=state.wave + cleared.long()), cleared

    def renew(self, state: State, games: torch.Tensor) -> State:
        return place(state, slot_range(state, 4, SHARDS), UnitType.MINERAL_SHARD, Owner.NEUTRAL,
                     self.shard_points(state), where=games[:, None].expand(-1, SHARDS))


TWO_PLAYER_SCENARIOS: tuple[type[Scenario], ...] = (MarineMirror, TerranVsZerg, BeaconRace, ShardRace)
