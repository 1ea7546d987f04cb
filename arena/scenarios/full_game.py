"""The full 1v1 game (minigames.md, "Two-player scenarios"): economy, production and combat on a 64 x 64 map with
two bases, mirrored about x = 32 like the other two-player scenarios.

Each base (units.md, economy; the layout of melee maps): a town hall, 8 mineral fields (4 of 1,800 and 4 of 900)
6.5 to 7.2 map units from its centre on the side away from the map's centre, 2 vespene geysers (2,250 each) 7.3
away, every resource 3 cells or more from the town hall's footprint; 12 workers gathering; 50 minerals. A Terran
base has a Command Center and 12 SCVs (15 supply); a Zerg base a Hatchery (3 larva), 12 Drones and an Overlord
(6 + 8 supply). Each player's camera starts over its own town hall; nothing is selected.

Sides and seats: a coin flip per episode (`episode_side`) picks who starts left. In the mirror match-ups (FullGame,
Terran vs Terran; FullGameZvZ) the units fill the slots by side (left base first) and seeds s and s ^ 1 play the
same game with the players' places exchanged. In FullGameTvZ player 1 is always Terran and player 2 always Zerg (the
race goes with the seat, the side with the coin); its slots are filled by player.

Win: destroy every enemy structure (those under construction count); reward +1 / -1, a draw (0) when both players
lose their last structure on the same game loop, or at the time limit of 10 minutes of game time at "faster" speed
(13,440 game loops). Each player's score counts the enemy units it killed.
"""

from __future__ import annotations

import torch

from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.spawn import slot_range
from arena.scenarios.two_player import assign_sides, episode_side, mirror_x, point_cameras, score_kills
from arena.sim.economy import spawn_units
from arena.sim.rules import LoopTrigger
from arena.sim.state import Order, Owner, State
from arena.sim.units import LOOPS_PER_GAME_SECOND, Race, UnitType, unit_table

GAME_LOOPS = 13_440
"""10 minutes at "faster" speed (22.4 game loops a second)."""
PLAYABLE = (0.0, 0.0, 64.0, 64.0)
CAMERA_BOUNDS = (12.0, 12.0, 52.0, 52.0)
"""The camera's centre keeps the 24 x 24 screen on the map."""
TOWN_HALL = (12.5, 32.5)
"""The left town hall's centre (a 5 x 5 footprint centred on a cell); the right one is at (51.5, 32.5)."""
MINERAL_FIELDS = ((6.0, 29.5), (6.0, 30.5), (6.0, 31.5), (6.0, 33.5), (6.0, 34.5), (6.0, 35.5), (9.0, 26.5),
                  (9.0, 38.5))
"""The left base's mineral line: a column behind the town hall and a field at each end (2 x 1 footprints)."""
MINERAL_AMOUNTS = (900.0, 1800.0, 1800.0, 1800.0, 1800.0, 900.0, 900.0, 900.0)
GEYSERS = ((14.5, 25.5), (14.5, 39.5))
GEYSER_AMOUNT = 2250.0
START_WORKERS = 12
START_MINERALS = 50.0
WORKER_SPOTS = tuple((8.5 + 0.75 * (i % 2), 28.25 + 0.75 * i) for i in range(START_WORKERS))
"""Where the workers start: between the town hall and its minerals."""
BASE_UNITS = 1 + len(MINERAL_FIELDS) + len(GEYSERS) + START_WORKERS + 1
"""Slots one base takes at the start (its town hall, resources, workers and, for Zerg, an Overlord)."""
OVERLORD_SPOT = (12.5, 38.0)
START_LARVA = 3.0


def _base_layout(race: Race) -> list[tuple[UnitType, tuple[float, float], float]]:
    """(type, left-side position, resources) of every unit one base starts with."""
    hall, worker = ((UnitType.COMMAND_CENTER, UnitType.SCV) if race == Race.TERRAN
                    else (UnitType.HATCHERY, UnitType.DRONE))
    units = [(hall, TOWN_HALL, 0.0)]
    units += [(UnitType.MINERAL_FIELD, pos, amount) for pos, amount in zip(MINERAL_FIELDS, MINERAL_AMOUNTS)]
    units += [(UnitType.VESPENE_GEYSER, pos, GEYSER_AMOUNT) for pos in GEYSERS]
    units += [(worker, pos, 0.0) for pos in WORKER_SPOTS]
    if race == Race.ZERG:
        units.append((UnitType.OVERLORD, OVERLORD_SPOT, 0.0))
    return units


def place_base(state: State, race: Race, *, start: int, owner: Owner, on_left: torch.Tensor) -> State:
    """One base in the slots from `start`: mirrored where `on_left` [B] is False; the workers gather (worker i at
    field i mod 8) and a Hatchery has its larva."""
    layout = _base_layout(race)
    B, N = state.batch_size, len(layout)
    table = unit_table(state.device)
    kind = torch.tensor([int(k) for k, _, _ in layout], device=state.device).expand(B, N)
    left = torch.tensor([p for _, p, _ in layout], dtype=torch.float32, device=state.device).expand(B, N, 2)
    pos = torch.where(on_left[:, None, None], left, mirror_x(left))
    neutral = table.resource[kind] > 0
    owners = torch.where(neutral, int(Owner.NEUTRAL), int(owner))
    resources = torch.tensor([r for _, _, r in layout], device=state.device).expand(B, N)
    slots = slot_range(state, start, N)
    state = spawn_units(state, table, slots, kind, owners, pos, resources=resources)
    field_slots = [start + i for i, (k, _, _) in enumerate(layout) if k == UnitType.MINERAL_FIELD]
    worker_rows = [i for i, (k, _, _) in enumerate(layout) if table.worker[int(k)]]
    order_kind, order_unit = state.order_kind.clone(), state.order_unit.clone()
    for n, row in enumerate(worker_rows):
        order_kind[:, start + row, 0] = int(Order.GATHER)
        order_unit[:, start + row, 0] = field_slots[n % len(field_slots)]
    larva = state.unit_larva.clone()
    larva[:, start] = torch.where(kind[:, 0] == int(UnitType.HATCHERY), START_LARVA, 0.0)
    return state.replace(order_kind=order_kind, order_unit=order_unit, unit_larva=larva)


def structures_left(state: State, player: int) -> torch.Tensor:
    """[B] bool: `player` still owns a structure (finished or not)."""
    table = unit_table(state.device)
    return (state.unit_alive & (state.unit_owner == player) & table.structure[state.unit_type]).any(dim=1)


class FullGame(Scenario):
    """Shared rules of the full game; `races` are player 1's and player 2's (see the module docstring)."""

    races: tuple[Race, Race] = (Race.TERRAN, Race.TERRAN)
    loop_trigger = LoopTrigger(kills_by_owner=True)

    @property
    def symmetric(self) -> bool:
        return self.races[0] == self.races[1]

    def spawn(self, state: State) -> State:
        side = episode_side(state)
        left = torch.ones_like(side, dtype=torch.bool)
        size = BASE_UNITS
        if self.symmetric:  # slots by side: the left base first
            state = place_base(state, self.races[0], start=0, owner=Owner.PLAYER_1, on_left=left)
            state = place_base(state, self.races[1], start=size, owner=Owner.PLAYER_2, on_left=~left)
            state = assign_sides(state, side)
        else:  # slots by player: player 1's base first
            state = place_base(state, self.races[0], start=0, owner=Owner.PLAYER_1, on_left=side == 0)
            state = place_base(state, self.races[1], start=size, owner=Owner.PLAYER_2, on_left=side == 1)
            state = state.replace(side=side)
        B = state.batch_size
        state = state.replace(minerals=torch.full((B, 2), START_MINERALS, device=state.device))
        hall = torch.tensor(TOWN_HALL, device=state.device)
        player_1_left = (side == 0)[:, None]
        halls = torch.stack([torch.where(player_1_left, hall, mirror_x(hall)),
                             torch.where(player_1_left, mirror_x(hall), hall)], dim=1)
        return point_cameras(state, halls, self.spec.camera_bounds)

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        return score_kills(state, died)

    def terminated(self, state: State) -> torch.Tensor:
        return ~structures_left(state, 0) | ~structures_left(state, 1)

    def outcome(self, state: State) -> torch.Tensor:
        """The player with structures left when the other has none; a draw while both have some or if neither has."""
        left_1, left_2 = structures_left(state, 0), structures_left(state, 1)
        return (left_1 & ~left_2).long() - (left_2 & ~left_1).long()


NUM_UNITS = 128
"""Unit slots per game: 48 at the start, room for about 40 more units per player."""


def _spec(name: str, description: str) -> ScenarioSpec:
    return ScenarioSpec(name=name, version=1, num_units=NUM_UNITS, playable=PLAYABLE, camera_start=TOWN_HALL,
                        time_limit_s=GAME_LOOPS / LOOPS_PER_GAME_SECOND, num_agents=2, camera_bounds=CAMERA_BOUNDS,
                        fog=True, economy=True, description=description)


_RULES = ("Win: destroy every enemy structure (reward +1 / -1); a draw (0) if both lose their last one on the same "
          "game loop or both have some after 10 minutes (13,440 game loops). +1 to a player's score per enemy unit "
          "killed. Under fog of war; each camera starts over its own town hall.")


class FullGameTvT(FullGame):
    races = (Race.TERRAN, Race.TERRAN)
    spec = _spec("FullGame", "Two players, symmetric, Terran vs Terran on a 64 x 64 map: each starts with a Command "
                 "Center, 12 SCVs gathering, 8 mineral fields and 2 vespene geysers, 50 minerals, in bases mirrored "
                 "about x = 32 (a coin flip picks who starts left). Build Supply Depots, Barracks and Refineries, "
                 "train SCVs, Marines and Marauders. " + _RULES)


class FullGameTvZ(FullGame):
    races = (Race.TERRAN, Race.ZERG)
    spec = _spec("FullGameTvZ", "Two players, asymmetric: player 1 Terran (Command Center, 12 SCVs), player 2 Zerg "
                 "(Hatchery with 3 larva, 12 Drones, an Overlord), each with 8 mineral fields, 2 geysers and 50 "
                 "minerals, in bases mirrored about x = 32 (a coin flip picks who starts left). " + _RULES)


class FullGameZvZ(FullGame):
    races = (Race.ZERG, Race.ZERG)
    spec = _spec("FullGameZvZ", "Two players, symmetric, Zerg vs Zerg: each a Hatchery with 3 larva, 12 Drones and an "
                 "Overlord, 8 mineral fields, 2 geysers and 50 minerals, in bases mirrored about x = 32 (a coin flip "
                 "picks who starts left). Spawning Pool, Baneling Nest, Roach Warren, Extractor; Zerglings, "
                 "Banelings, Roaches. " + _RULES)


FULL_GAME_SCENARIOS: tuple[type[Scenario], ...] = (FullGameTvT, FullGameTvZ, FullGameZvZ)
