"""Weapons: cooldowns, range, armor, bonus damage by attribute, shields, Baneling splash, deaths, Zerg regeneration.

Rules (units.md): damage after armor is at least 0.5; bonus damage applies by attribute; shields absorb before HP
and ignore armor; Banelings deal splash in a radius and die.
"""

from __future__ import annotations

import torch

from arena.sim.geometry import RANGE_SLACK, Pairs, gather_pair, gather_units
from arena.sim.state import State
from arena.sim.units import UnitTable

MIN_DAMAGE = 0.5


def hit_damage(table: UnitTable, attacker: torch.Tensor, victim: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Damage of one attack of `attacker` types on `victim` types (broadcasting): (before armor, after armor).

    An attack of several hits (Zealot 8 x2) loses the armor on each hit.
    """
    bonus = (table.bonus_attribute[attacker] & table.attributes[victim]) != 0
    per_hit = table.damage[attacker] + torch.where(bonus, table.bonus_damage[attacker], 0.0)
    on_structure = table.structure[victim] & (table.structure_damage[attacker] > 0)
    per_hit = torch.where(on_structure, table.structure_damage[attacker], per_hit)
    hits = table.attacks[attacker]
    after_armor = torch.clamp(per_hit - table.armor[victim], min=MIN_DAMAGE)
    return per_hit * hits, after_armor * hits


def damage_by_type_pair(table: UnitTable) -> tuple[torch.Tensor, torch.Tensor]:
    """[K, K] damage of one attack of type a on type v, (before armor, after armor): a small table looked up once
    per attacker instead of evaluating `hit_damage` over every pair of units."""
    types = torch.arange(table.damage.shape[0], device=table.damage.device)
    return hit_damage(table, types[:, None], types[None, :])


def apply_damage(hp: torch.Tensor, shields: torch.Tensor, raw: torch.Tensor, armored: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Shields take raw damage first (shield armor 0); what gets through loses the unit's armor. All [B, U].

    As in StarCraft II, the hit that breaks the shields loses the full armor on its remainder: a Marine's 6 on a
    Zealot with 2 shields left takes the 2 and then 4 - 1 = 3 HP. `armored` already has armor off every hit, so
    HP lose `armored - to_shields` (exact when one hit breaks the shields in a loop; when several hits land on
    the same loop, the armor of a hit the shields swallowed whole is taken off too).
    """
    to_shields = torch.minimum(shields, raw)
    return hp - (armored - to_shields).clamp(min=0.0), shields - to_shields


def fire_weapons(state: State, table: UnitTable, geo: Pairs) -> State:
    """Units whose weapon is ready and whose target is in range attack; damage lands in the same game loop."""
    kind = state.unit_type
    target = state.unit_target
    in_range = (target >= 0) & (gather_pair(geo.edge, target) <= table.range[kind] + RANGE_SLACK)
    firing = state.unit_alive & in_range & (state.unit_cooldown <= 0.0) & gather_units(state.unit_alive, target)
    suicide = table.suicide[kind]

    raw_by_pair, armored_by_pair = damage_by_type_pair(table)
    K = raw_by_pair.shape[0]

    # Single-target weapons: sum every attacker's damage on its target.
    direct = firing & ~suicide
    hit = kind * K + gather_units(kind, target)
    raw, armored = raw_by_pair.flatten()[hit], armored_by_pair.flatten()[hit]
    B, U = kind.shape
    slot = target.clamp(min=0)
    total_raw = torch.zeros(B, U, device=kind.device).scatter_add_(1, slot, torch.where(direct, raw, 0.0))
    total_armored = torch.zeros(B, U, device=kind.device).scatter_add_(1, slot, torch.where(direct, armored, 0.0))

    # Splash weapons (Baneling): every enemy whose circle the blast reaches, centred on the attacker.
    blast = firing & suicide
    # Eagerly on the CPU, a loop without a blast skips the [B, U, U] splash work (most loops of most games);
    # compiled or on a GPU, the check would cost more than it saves.
    if torch.compiler.is_compiling() or blast.device.type != "cpu" or bool(blast.any()):
        reach = table.splash_radius[kind][:, :, None] + table.radius[kind][:, None, :]
        caught = blast[:, :, None] & geo.hostile & (geo.dist <= reach)
        pair_hit = kind[:, :, None] * K + kind[:, None, :]
        total_raw = total_raw + torch.where(caught, raw_by_pair.flatten()[pair_hit], 0.0).sum(dim=1)
        total_armored = total_armored + torch.where(caught, armored_by_pair.flatten()[pair_hit], 0.0).sum(dim=1)

    hp, shields = apply_damage(state.unit_hp, state.unit_shields, total_raw, total_armored)
    alive = state.unit_alive & (hp > 0) & ~blast
    return state.replace(
        unit_hp=hp, unit_shields=shields, unit_alive=alive,
        unit_cooldown=next_cooldown(state.unit_cooldown, firing, table.cooldown[kind]),
    )


def next_cooldown(cooldown: torch.Tensor, firing: torch.Tensor, weapon_cooldown: torch.Tensor) -> torch.Tensor:
    """Advance weapon cooldowns [B, U] by one game loop, carrying the fraction of a loop between attacks.

    A Marine's 13.66-loop cooldown then fires after 14, 14, 13, ... loops: 13.66 on average, as in the game.
    A unit that is ready and waiting keeps no credit.
    """
    return torch.where(firing, cooldown + weapon_cooldown - 1.0, torch.where(cooldown > 0, cooldown - 1.0, 0.0))


def regenerate(state: State, table: UnitTable) -> State:
    """Zerg units regain HP slowly."""
    kind = state.unit_type
    hp = torch.minimum(state.unit_hp + table.regen[kind], table.max_hp[kind])
    return state.replace(unit_hp=torch.where(state.unit_alive, hp, state.unit_hp))
