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
    """Takes part in ground collisions; neutral markers (beacon, shards) do not."""


_L, _A, _B, _M, _P = Attribute.LIGHT, Attribute.ARMORED, Attribute.BIOLOGICAL, Attribute.MECHANICAL, Attribute.PSIONIC

UNIT_SPECS: dict[UnitType, UnitSpec] = {
    UnitType.NONE: UnitSpec("None", 0, Race.NEUTRAL, hp=1.0, collides=False),
    # Marine: 45 HP, 6 damage, cooldown 0.61 s, range 5, speed 3.15, sight 9, radius 0.375 - SC2 5.0.3 unit data.
    UnitType.MARINE: UnitSpec(
        "Marine", 48, Race.TERRAN, hp=45, damage=6, cooldown_s=0.61, range=5, speed=3.15, sight=9,
        radius=0.375, attributes=_L | _B, minerals=50, build_s=18, supply=1),
    # Marauder: 125 HP, armor 1, 10 (+10 armored), cooldown 1.07 s, range 6 - SC2 5.0.3 unit data.
    UnitType.MARAUDER: UnitSpec(
        "Marauder", 51, Race.TERRAN, hp=125, armor=1, damage=10, bonus_damage=10, bonus_attribute=_A,
        cooldown_s=1.07, range=6, speed=3.15, sight=10, radius=0.5625, attributes=_A | _B, minerals=100, gas=25,
        build_s=21, supply=2),
    # SCV: 45 HP, 5 melee damage, cooldown 1.07 s, speed 3.94 - SC2 5.0.3 unit data.
    UnitType.SCV: UnitSpec(
        "SCV", 45, Race.TERRAN, hp=45, damage=5, cooldown_s=1.07, range=MELEE_RANGE, speed=3.94, sight=8,
        radius=0.375, attributes=_L | _B | _M, minerals=50, build_s=12, supply=1, worker=True),
    # Zergling: 35 HP, 5 melee damage, cooldown 0.497 s, speed 4.13 - SC2 5.0.3 unit data.
    UnitType.ZERGLING: UnitSpec(
        "Zergling", 105, Race.ZERG, hp=35, damage=5, cooldown_s=0.497, range=MELEE_RANGE, speed=4.13, sight=8,
        radius=0.375, attributes=_L | _B, minerals=25, build_s=17, supply=0.5),
    # Baneling: 30 HP, 16 (+19 light) splash 2.2, dies on attack, speed 3.5 - SC2 5.0.3 unit data (the value the
    # 5.0.3 dump gives; 20 +15 before patch 4.0, 18 +17 later).
    UnitType.BANELING: UnitSpec(
        "Baneling", 9, Race.ZERG, hp=30, damage=16, bonus_damage=19, bonus_attribute=_L, cooldown_s=1.0,
        range=0.25, speed=3.5, sight=8, radius=0.375, attributes=_B, splash_radius=2.2, suicide=True,
        minerals=50, gas=25, build_s=14, supply=0.5),
    # Drone: 40 HP, 5 melee damage, cooldown 1.07 s, speed 3.94 - SC2 5.0.3 unit data.
    UnitType.DRONE: UnitSpec(
        "Drone", 104, Race.ZERG, hp=40, damage=5, cooldown_s=1.07, range=MELEE_RANGE, speed=3.94, sight=8,
        radius=0.375, attributes=_L | _B, minerals=50, build_s=12, supply=1, worker=True),
    # Queen: 175 HP, armor 1, 4 x2 ground at range 5, cooldown 0.71 s, 1.31 off creep - SC2 5.0.3 unit data.
    UnitType.QUEEN: UnitSpec(
        "Queen", 126, Race.ZERG, hp=175, armor=1, damage=4, attacks=2, cooldown_s=0.71, range=5, speed=1.31,
        sight=9, radius=0.875, attributes=_B | _P, minerals=150, build_s=36, supply=2),
    # Roach: 145 HP, armor 1, 16 damage, cooldown 1.43 s, range 4, speed 3.15 - SC2 5.0.3 unit data.
    UnitType.ROACH: UnitSpec(
        "Roach", 110, Race.ZERG, hp=145, armor=1, damage=16, cooldown_s=1.43, range=4, speed=3.15, sight=9,
        radius=0.5, attributes=_A | _B, minerals=75, gas=25, build_s=19, supply=2),
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

    @property
    def max_radius(self) -> float:
        return float(self.radius.max())


def _column(name: str, dtype: torch.dtype, device: torch.device, fn=None) -> torch.Tensor:
    specs = [UNIT_SPECS[t] for t in UnitType]
    values = [fn(s) if fn else getattr(s, name) for s in specs]
    return torch.tensor([float(v) if dtype.is_floating_point else int(v) for v in values], dtype=dtype,
                        device=device)


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
        value=_column("", f, device, lambda s: s.minerals + s.gas),
        supply=_column("supply", f, device),
        worker=_column("worker", b, device),
        armed=_column("", b, device, lambda s: s.damage > 0),
        mobile=_column("", b, device, lambda s: s.speed > 0),
        collides=_column("collides", b, device),
    )


PYSC2_ID_TO_TYPE: dict[int, UnitType] = {spec.pysc2_id: t for t, spec in UNIT_SPECS.items() if t != UnitType.NONE}
