"""StarCraft II unit data in one table.

Every number comes from ../shared/specs/units.md: StarCraft II 5.0.3 as the game's API data reports it
(BurnySc2/sc2-techtree data/data.json), cross-checked with Liquipedia, at "faster" speed. Times there are real
seconds at faster and speeds map units per real second at faster; the table converts both to game loops with
22.4 game loops per real second (pysc2: REALTIME_GAME_LOOP_SECONDS = 1 / 22.4).

Units are addressed by a dense index (`UnitType`), and the table maps each to pysc2's unit type id.
"""

from __future__ import annotations

import dataclasses
import enum
from functools import lru_cache

import torch

LOOPS_PER_REAL_SECOND = 22.4
"""Game loops per real second at "faster" speed."""
LOOPS_PER_GAME_SECOND = 16.0
"""Game loops per game second (map timers count game seconds)."""
MELEE_RANGE = 0.1
"""Melee weapons reach about 0.1 beyond both radii (units.md, rules of combat)."""
ZERG_REGEN_PER_SECOND = 0.27
"""Zerg units regenerate 0.27 HP per real second at faster (Liquipedia, "Zerg")."""


class Attribute(enum.IntFlag):
    LIGHT = 1
    ARMORED = 2
    BIOLOGICAL = 4
    MECHANICAL = 8
    PSIONIC = 16
    STRUCTURE = 32


RESOURCE_MINERALS = 1
RESOURCE_GAS = 2
MINERALS_PER_TRIP = 5.0
GAS_PER_TRIP = 4.0
"""units.md, economy: an SCV carries 5 minerals or 4 gas a trip."""


class Race(enum.IntEnum):
    NEUTRAL = 0
    TERRAN = 1
    ZERG = 2
    PROTOSS = 3


class UnitType(enum.IntEnum):
    """Dense index into the unit table. Slot 0 is an empty slot."""

    NONE = 0
    MARINE = 1
    MARAUDER = 2
    SCV = 3
    ZERGLING = 4
    BANELING = 5
    DRONE = 6
    QUEEN = 7
    ROACH = 8
    HYDRALISK = 9
    ZEALOT = 10
    STALKER = 11
    BEACON = 12
    MINERAL_SHARD = 13
    COMMAND_CENTER = 14
    SUPPLY_DEPOT = 15
    BARRACKS = 16
    REFINERY = 17
    HATCHERY = 18
    SPAWNING_POOL = 19
    ROACH_WARREN = 20
    BANELING_NEST = 21
    EXTRACTOR = 22
    OVERLORD = 23
    EGG = 24
    BANELING_COCOON = 25
    MINERAL_FIELD = 26
    VESPENE_GEYSER = 27


NUM_UNIT_TYPES = len(UnitType)


@dataclasses.dataclass(frozen=True)
class UnitSpec:
    """One row of the unit table, in the units of the spec (real seconds at faster, map units)."""

    name: str
    pysc2_id: int
    race: Race
    hp: float
    shields: float = 0.0
    armor: float = 0.0
    damage: float = 0.0
    attacks: int = 1
    """Hits per attack (Zealot: 8 x2)."""
    bonus_damage: float = 0.0
    bonus_attribute: Attribute = Attribute(0)
    cooldown_s: float = 0.0
    range: float = 0.0
    """Weapon range beyond both radii; melee weapons use MELEE_RANGE."""
    speed: float = 0.0
    sight: float = 0.0
    radius: float = 0.0
    attributes: Attribute = Attribute(0)
    splash_radius: float = 0.0
    suicide: bool = False
    """The unit dies when it attacks (Baneling)."""
    minerals: int = 0
    gas: int = 0
    build_s: float = 0.0
    supply: float = 0.0
    worker: bool = False
    collides: bool = True
    """Takes part in ground collisions; neutral markers (beacon, shards), flyers and eggs do not."""
    footprint: tuple[int, int] = (0, 0)
    """(width, height) in map cells of a structure or resource on the placement grid; (0, 0) for units."""
    supply_provided: float = 0.0
    town_hall: bool = False
    """Workers return cargo here."""
    resource: int = 0
    """RESOURCE_MINERALS or RESOURCE_GAS for mineral fields and vespene geysers."""
    gas_building: bool = False
    """Built on a vespene geyser (Refinery, Extractor); workers gather gas from it."""
    producer: str = ""
    """The UnitType name that makes this unit: a structure's queue, a Hatchery's larva, a worker's construction."""
    requires: str = ""
    """The UnitType name of a completed structure the player needs first (tech requirement)."""
    per_order: int = 1
    """Units one order makes (Zerglings hatch in pairs; the cost is for the pair)."""
    structure_damage: float = 0.0
    """Damage per hit against structures where it differs (Baneling: 80)."""


_L, _A, _B, _M, _P = Attribute.LIGHT, Attribute.ARMORED, Attribute.BIOLOGICAL, Attribute.MECHANICAL, Attribute.PSIONIC
_S = Attribute.STRUCTURE

UNIT_SPECS: dict[UnitType, UnitSpec] = {
    UnitType.NONE: UnitSpec("None", 0, Race.NEUTRAL, hp=1.0, collides=False),
    # Marine: 45 HP, 6 damage, cooldown 0.61 s, range 5, speed 3.15, sight 9, radius 0.375 - SC2 5.0.3 unit data.
    UnitType.MARINE: UnitSpec(
        "Marine", 48, Race.TERRAN, hp=45, damage=6, cooldown_s=0.61, range=5, speed=3.15, sight=9,
        radius=0.375, attributes=_L | _B, minerals=50, build_s=18, supply=1, producer="BARRACKS"),
    # Marauder: 125 HP, armor 1, 10 (+10 armored), cooldown 1.07 s, range 6 - SC2 5.0.3 unit data.
    UnitType.MARAUDER: UnitSpec(
        "Marauder", 51, Race.TERRAN, hp=125, armor=1, damage=10, bonus_damage=10, bonus_attribute=_A,
        cooldown_s=1.07, range=6, speed=3.15, sight=10, radius=0.5625, attributes=_A | _B, minerals=100, gas=25,
        build_s=21, supply=2, producer="BARRACKS"),
    # SCV: 45 HP, 5 melee damage, cooldown 1.07 s, speed 3.94 - SC2 5.0.3 unit data.
    UnitType.SCV: UnitSpec(
        "SCV", 45, Race.TERRAN, hp=45, damage=5, cooldown_s=1.07, range=MELEE_RANGE, speed=3.94, sight=8,
        radius=0.375, attributes=_L | _B | _M, minerals=50, build_s=12, supply=1, worker=True,
        producer="COMMAND_CENTER"),
    # Zergling: 35 HP, 5 melee damage, cooldown 0.497 s, speed 4.13 - SC2 5.0.3 unit data.
    UnitType.ZERGLING: UnitSpec(
        "Zergling", 105, Race.ZERG, hp=35, damage=5, cooldown_s=0.497, range=MELEE_RANGE, speed=4.13, sight=8,
        radius=0.375, attributes=_L | _B, minerals=25, build_s=17, supply=0.5, producer="HATCHERY",
        requires="SPAWNING_POOL", per_order=2),
    # Baneling: 30 HP, 16 (+19 light) splash 2.2, dies on attack, speed 3.5 - SC2 5.0.3 unit data (the value the
    # 5.0.3 dump gives; 20 +15 before patch 4.0, 18 +17 later).
    UnitType.BANELING: UnitSpec(
        "Baneling", 9, Race.ZERG, hp=30, damage=16, bonus_damage=19, bonus_attribute=_L, cooldown_s=1.0,
        range=0.25, speed=3.5, sight=8, radius=0.375, attributes=_B, splash_radius=2.2, suicide=True,
        minerals=25, gas=25, build_s=14, supply=0.5, producer="ZERGLING", requires="BANELING_NEST",
        structure_damage=80),
    # Drone: 40 HP, 5 melee damage, cooldown 1.07 s, speed 3.94 - SC2 5.0.3 unit data.
    UnitType.DRONE: UnitSpec(
        "Drone", 104, Race.ZERG, hp=40, damage=5, cooldown_s=1.07, range=MELEE_RANGE, speed=3.94, sight=8,
        radius=0.375, attributes=_L | _B, minerals=50, build_s=12, supply=1, worker=True,
        producer="HATCHERY"),
    # Queen: 175 HP, armor 1, 4 x2 ground at range 5, cooldown 0.71 s, 1.31 off creep - SC2 5.0.3 unit data.
    UnitType.QUEEN: UnitSpec(
        "Queen", 126, Race.ZERG, hp=175, armor=1, damage=4, attacks=2, cooldown_s=0.71, range=5, speed=1.31,
        sight=9, radius=0.875, attributes=_B | _P, minerals=150, build_s=36, supply=2),
    # Roach: 145 HP, armor 1, 16 damage, cooldown 1.43 s, range 4, speed 3.15 - SC2 5.0.3 unit data.
    UnitType.ROACH: UnitSpec(
        "Roach", 110, Race.ZERG, hp=145, armor=1, damage=16, cooldown_s=1.43, range=4, speed=3.15, sight=9,
        radius=0.5, attributes=_A | _B, minerals=75, gas=25, build_s=19, supply=2, producer="HATCHERY",
        requires="ROACH_WARREN"),
    # Hydralisk: 90 HP, 12 damage, cooldown 0.59 s, range 5, speed 3.15 - SC2 5.0.3 unit data.
    UnitType.HYDRALISK: UnitSpec(
        "Hydralisk", 107, Race.ZERG, hp=90, damage=12, cooldown_s=0.59, range=5, speed=3.15, sight=9,
        radius=0.625, attributes=_L | _B, minerals=100, gas=50, build_s=24, supply=2),
    # Zealot: 100 HP, 50 shields, armor 1, 8 x2 melee, cooldown 0.86 s, speed 3.15 - SC2 5.0.3 unit data.
    UnitType.ZEALOT: UnitSpec(
        "Zealot", 73, Race.PROTOSS, hp=100, shields=50, armor=1, damage=8, attacks=2, cooldown_s=0.86,
        range=MELEE_RANGE, speed=3.15, sight=9, radius=0.5, attributes=_L | _B, minerals=100, build_s=27,
        supply=2),
    # Stalker: 80 HP, 80 shields, armor 1, 13 (+5 armored), cooldown 1.34 s, range 6, speed 4.13 - SC2 5.0.3.
    UnitType.STALKER: UnitSpec(
        "Stalker", 74, Race.PROTOSS, hp=80, shields=80, armor=1, damage=13, bonus_damage=5, bonus_attribute=_A,
        cooldown_s=1.34, range=6, speed=4.13, sight=10, radius=0.625, attributes=_A | _M, minerals=125, gas=50,
        build_s=30, supply=2),
    # Neutral mini-game markers. Their unit type ids are the ones the mini-game maps report in feature_units
    # (pysc2's units.py does not name them). Radius 1 for the beacon, shards are picked up by walking over them.
    UnitType.BEACON: UnitSpec("Beacon", 317, Race.NEUTRAL, hp=1, radius=1.0, collides=False),
    UnitType.MINERAL_SHARD: UnitSpec("MineralShard", 1680, Race.NEUTRAL, hp=1, radius=0.375, collides=False),
    # Structures (units.md): HP, armor, sight, radius (footprint), cost, build time, supply. Those units.md does not
    # list (Spawning Pool, Roach Warren, Baneling Nest, Extractor, Overlord, Egg, Baneling Cocoon, resources) are
    # from the same SC2 5.0.3 dump (BurnySc2/sc2-techtree data/data.json), cross-checked with Liquipedia.
    UnitType.COMMAND_CENTER: UnitSpec(
        "CommandCenter", 18, Race.TERRAN, hp=1500, armor=1, sight=11, radius=2.75, attributes=_A | _M | _S,
        minerals=400, build_s=71, footprint=(5, 5), supply_provided=15, town_hall=True, producer="SCV"),
    UnitType.SUPPLY_DEPOT: UnitSpec(
        "SupplyDepot", 19, Race.TERRAN, hp=400, armor=1, sight=9, radius=1.25, attributes=_A | _M | _S,
        minerals=100, build_s=21, footprint=(2, 2), supply_provided=8, producer="SCV"),
    UnitType.BARRACKS: UnitSpec(
        "Barracks", 21, Race.TERRAN, hp=1000, armor=1, sight=9, radius=1.8125, attributes=_A | _M | _S,
        minerals=150, build_s=46, footprint=(3, 3), producer="SCV", requires="SUPPLY_DEPOT"),
    UnitType.REFINERY: UnitSpec(
        "Refinery", 20, Race.TERRAN, hp=500, armor=1, sight=9, radius=1.6875, attributes=_A | _M | _S,
        minerals=75, build_s=21, footprint=(3, 3), gas_building=True, producer="SCV"),
    # Hatchery: 1500 HP, armor 1, +6 supply, 300 minerals, 71 s; larva every 11 s up to 3 (Liquipedia "Larva").
    UnitType.HATCHERY: UnitSpec(
        "Hatchery", 86, Race.ZERG, hp=1500, armor=1, sight=10, radius=2.75, attributes=_A | _B | _S,
        minerals=300, build_s=71, footprint=(5, 5), supply_provided=6, town_hall=True, producer="DRONE"),
    # Spawning Pool: 1000 HP, armor 1, 200 minerals, 46 s.
    UnitType.SPAWNING_POOL: UnitSpec(
        "SpawningPool", 89, Race.ZERG, hp=1000, armor=1, sight=9, radius=1.8125, attributes=_A | _B | _S,
        minerals=200, build_s=46, footprint=(3, 3), producer="DRONE", requires="HATCHERY"),
    # Roach Warren: 850 HP, armor 1, 150 minerals, 39 s.
    UnitType.ROACH_WARREN: UnitSpec(
        "RoachWarren", 97, Race.ZERG, hp=850, armor=1, sight=9, radius=1.8125, attributes=_A | _B | _S,
        minerals=150, build_s=39, footprint=(3, 3), producer="DRONE", requires="SPAWNING_POOL"),
    # Baneling Nest: 850 HP, armor 1, 100/50, 43 s.
    UnitType.BANELING_NEST: UnitSpec(
        "BanelingNest", 96, Race.ZERG, hp=850, armor=1, sight=9, radius=1.8125, attributes=_A | _B | _S,
        minerals=100, gas=50, build_s=43, footprint=(3, 3), producer="DRONE", requires="SPAWNING_POOL"),
    # Extractor: 500 HP, armor 1, 25 minerals, 21 s.
    UnitType.EXTRACTOR: UnitSpec(
        "Extractor", 88, Race.ZERG, hp=500, armor=1, sight=9, radius=1.6875, attributes=_A | _B | _S,
        minerals=25, build_s=21, footprint=(3, 3), gas_building=True, producer="DRONE"),
    # Overlord: 200 HP, speed 0.902, sight 11, +8 supply, 100 minerals, 18 s; it flies (no ground collisions).
    UnitType.OVERLORD: UnitSpec(
        "Overlord", 106, Race.ZERG, hp=200, speed=0.902, sight=11, radius=1.0, attributes=_A | _B, minerals=100,
        build_s=18, supply_provided=8, collides=False, producer="HATCHERY"),
    # Egg: 200 HP, armor 10; the larva's unit hatches from it. Baneling Cocoon: 50 HP, armor 5.
    UnitType.EGG: UnitSpec("Egg", 103, Race.ZERG, hp=200, armor=10, sight=5, radius=0.5, attributes=_B,
                           collides=False),
    UnitType.BANELING_COCOON: UnitSpec("BanelingCocoon", 8, Race.ZERG, hp=50, armor=5, sight=5, radius=0.5,
                                       attributes=_B, collides=False),
    # Resources: a mineral field is 2x1 cells, a geyser 3x3 (the game's footprints).
    UnitType.MINERAL_FIELD: UnitSpec("MineralField", 341, Race.NEUTRAL, hp=1, radius=0.75, footprint=(2, 1),
                                     resource=1),
    UnitType.VESPENE_GEYSER: UnitSpec("VespeneGeyser", 342, Race.NEUTRAL, hp=1, radius=1.6875, footprint=(3, 3),
                                      resource=2),
}


@dataclasses.dataclass(frozen=True)
class UnitTable:
    """Per-unit-type constants as tensors indexed by `UnitType`, converted to game loops. Shapes: [K]."""

    pysc2_id: torch.Tensor  # [K] long
    race: torch.Tensor  # [K] long
    max_hp: torch.Tensor  # [K]
    max_shields: torch.Tensor  # [K]
    armor: torch.Tensor  # [K]
    damage: torch.Tensor  # [K] per hit
    attacks: torch.Tensor  # [K] hits per attack
    bonus_damage: torch.Tensor  # [K]
    bonus_attribute: torch.Tensor  # [K] long bitmask
    cooldown: torch.Tensor  # [K] game loops
    range: torch.Tensor  # [K] map units beyond both radii
    speed: torch.Tensor  # [K] map units per game loop
    sight: torch.Tensor  # [K]
    radius: torch.Tensor  # [K]
    attributes: torch.Tensor  # [K] long bitmask
    splash_radius: torch.Tensor  # [K]
    suicide: torch.Tensor  # [K] bool
    regen: torch.Tensor  # [K] HP per game loop
    value: torch.Tensor  # [K] minerals + gas
    supply: torch.Tensor  # [K]
    worker: torch.Tensor  # [K] bool
    armed: torch.Tensor  # [K] bool
    mobile: torch.Tensor  # [K] bool
    collides: torch.Tensor  # [K] bool
    structure: torch.Tensor  # [K] bool
    footprint: torch.Tensor  # [K, 2] long (width, height) in cells
    minerals: torch.Tensor  # [K] cost
    gas: torch.Tensor  # [K] cost
    build_loops: torch.Tensor  # [K] game loops to build, train or morph
    supply_provided: torch.Tensor  # [K]
    town_hall: torch.Tensor  # [K] bool
    resource: torch.Tensor  # [K] long, RESOURCE_*
    gas_building: torch.Tensor  # [K] bool
    producer: torch.Tensor  # [K] long UnitType that makes it (NONE: nothing)
    requires: torch.Tensor  # [K] long UnitType needed first (NONE: nothing)
    per_order: torch.Tensor  # [K] long
    structure_damage: torch.Tensor  # [K]

    @property
    def max_radius(self) -> float:
        return float(self.radius.max())


def _column(name: str, dtype: torch.dtype, device: torch.device, fn=None) -> torch.Tensor:
    specs = [UNIT_SPECS[t] for t in UnitType]
    values = [fn(s) if fn else getattr(s, name) for s in specs]
    return torch.tensor([float(v) if dtype.is_floating_point else int(v) for v in values], dtype=dtype,
                        device=device)


def _total_value(spec: UnitSpec) -> float:
    """Minerals + gas a unit is worth, including the unit it morphed from (a Baneling is a Zergling and 25/25)."""
    value = spec.minerals + spec.gas
    if spec.producer and not UNIT_SPECS[UnitType[spec.producer]].worker and \
            not UNIT_SPECS[UnitType[spec.producer]].footprint[0]:
        value += _total_value(UNIT_SPECS[UnitType[spec.producer]])
    return value


@lru_cache(maxsize=None)
def unit_table(device: torch.device | str = "cpu") -> UnitTable:
    """The unit table on `device` (cached: it is constant)."""
    device = torch.device(device)
    f, i, b = torch.float32, torch.long, torch.bool
    zerg = lambda s: ZERG_REGEN_PER_SECOND / LOOPS_PER_REAL_SECOND if s.race == Race.ZERG else 0.0  # noqa: E731
    return UnitTable(
        pysc2_id=_column("pysc2_id", i, device),
        race=_column("race", i, device),
        max_hp=_column("hp", f, device),
        max_shields=_column("shields", f, device),
        armor=_column("armor", f, device),
        damage=_column("damage", f, device),
        attacks=_column("attacks", f, device),
        bonus_damage=_column("bonus_damage", f, device),
        bonus_attribute=_column("bonus_attribute", i, device),
        cooldown=_column("", f, device, lambda s: s.cooldown_s * LOOPS_PER_REAL_SECOND),
        range=_column("range", f, device),
        speed=_column("", f, device, lambda s: s.speed / LOOPS_PER_REAL_SECOND),
        sight=_column("sight", f, device),
        radius=_column("radius", f, device),
        attributes=_column("attributes", i, device),
        splash_radius=_column("splash_radius", f, device),
        suicide=_column("suicide", b, device),
        regen=_column("", f, device, zerg),
        value=_column("", f, device, _total_value),
        supply=_column("supply", f, device),
        worker=_column("worker", b, device),
        armed=_column("", b, device, lambda s: s.damage > 0),
        mobile=_column("", b, device, lambda s: s.speed > 0),
        collides=_column("collides", b, device),
        structure=_column("", b, device, lambda s: bool(s.attributes & Attribute.STRUCTURE)),
        footprint=torch.stack([_column("", i, device, lambda s: s.footprint[0]),
                               _column("", i, device, lambda s: s.footprint[1])], dim=1),
        minerals=_column("minerals", f, device),
        gas=_column("gas", f, device),
        build_loops=_column("", f, device, lambda s: s.build_s * LOOPS_PER_REAL_SECOND),
        supply_provided=_column("supply_provided", f, device),
        town_hall=_column("town_hall", b, device),
        resource=_column("resource", i, device),
        gas_building=_column("gas_building", b, device),
        producer=_column("", i, device, lambda s: UnitType[s.producer] if s.producer else 0),
        requires=_column("", i, device, lambda s: UnitType[s.requires] if s.requires else 0),
        per_order=_column("per_order", i, device),
        structure_damage=_column("structure_damage", f, device),
    )


PYSC2_ID_TO_TYPE: dict[int, UnitType] = {spec.pysc2_id: t for t, spec in UNIT_SPECS.items() if t != UnitType.NONE}
