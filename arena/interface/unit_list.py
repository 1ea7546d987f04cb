"""pysc2's unit lists: `feature_units` (on-screen units, screen pixels) and `raw_units` (every unit the player can
see, minimap pixels), both with pysc2's 46 FeatureUnit columns, as [B, U, 46] float tensors with a row per slot.
Rows of slots the list leaves out are zeros; a mask [B, U] tells which rows are units."""

from __future__ import annotations

import enum

import torch

from arena.interface.features import player_id, player_relative
from arena.interface.functions import ABILITY_ATTACK, ABILITY_HOLD, ABILITY_MOVE
from arena.sim.state import Order, State
from arena.sim.units import RESOURCE_MINERALS, UnitTable


class FeatureUnit(enum.IntEnum):
    """pysc2's FeatureUnit columns, in pysc2's order."""

    unit_type = 0
    alliance = 1
    health = 2
    shield = 3
    energy = 4
    cargo_space_taken = 5
    build_progress = 6
    health_ratio = 7
    shield_ratio = 8
    energy_ratio = 9
    display_type = 10
    owner = 11
    x = 12
    y = 13
    facing = 14
    radius = 15
    cloak = 16
    is_selected = 17
    is_blip = 18
    is_powered = 19
    mineral_contents = 20
    vespene_contents = 21
    cargo_space_max = 22
    assigned_harvesters = 23
    ideal_harvesters = 24
    weapon_cooldown = 25
    order_length = 26
    order_id_0 = 27
    order_id_1 = 28
    tag = 29
    hallucination = 30
    buff_id_0 = 31
    buff_id_1 = 32
    addon_unit_type = 33
    active = 34
    is_on_screen = 35
    order_progress_0 = 36
    order_progress_1 = 37
    order_id_2 = 38
    order_id_3 = 39
    is_in_cargo = 40
    buff_duration_remain = 41
    buff_duration_max = 42
    attack_upgrade_level = 43
    armor_upgrade_level = 44
    shield_upgrade_level = 45


NUM_UNIT_FEATURES = len(FeatureUnit)
DISPLAY_VISIBLE = 1
CLOAK_NOT_CLOAKED = 3
ORDER_ABILITY = {Order.NONE: 0, Order.MOVE: ABILITY_MOVE, Order.ATTACK_MOVE: ABILITY_ATTACK,
                 Order.ATTACK_UNIT: ABILITY_ATTACK, Order.HOLD: ABILITY_HOLD}


def order_abilities(order_kind: torch.Tensor) -> torch.Tensor:
    """Order kinds [B, U, Q] -> pysc2 ability ids."""
    lookup = torch.zeros(len(Order), dtype=torch.float32, device=order_kind.device)
    for order, ability in ORDER_ABILITY.items():
        lookup[int(order)] = ability
    return lookup[order_kind]


def unit_tags(state: State) -> torch.Tensor:
    """[B, U] a unit's tag: unique within an episode while the unit lives (units re-created by a wave get new ones)."""
    U = state.num_units
    slot = torch.arange(1, U + 1, device=state.device)
    return (slot[None, :] + state.wave[:, None] * U).float()


def build_progress(state: State, table: UnitTable) -> torch.Tensor:
    """[B, U] pysc2's build_progress in percent: 100 for finished units, less for structures under construction,
    eggs and cocoons."""
    making = torch.where(state.unit_morph > 0, state.unit_morph, state.unit_type)
    total = table.build_loops[making].clamp(min=1.0)
    return (100.0 * (1.0 - state.unit_build_left / total)).clamp(0.0, 100.0).floor()


def unit_list(state: State, player: int, table: UnitTable, rows: torch.Tensor, pos_px: torch.Tensor,
              scale: float, on_screen: torch.Tensor) -> torch.Tensor:
    """[B, U, 46] pysc2 unit features as `player` sees them, for the slots in `rows` [B, U].

    pos_px [B, U, 2] are positions in the list's pixels (screen or minimap), `scale` pixels per map unit.
    """
    kind = state.unit_type
    hp, shields = state.unit_hp.clamp(min=0), state.unit_shields
    orders = order_abilities(state.order_kind)
    zeros = torch.zeros_like(hp)
    columns = {
        FeatureUnit.unit_type: table.pysc2_id[kind].float(),
        FeatureUnit.alliance: player_relative(state.unit_owner, player).float(),
        FeatureUnit.health: hp.ceil(),
        FeatureUnit.shield: shields.ceil(),
        FeatureUnit.build_progress: build_progress(state, table),
        FeatureUnit.health_ratio: (hp / table.max_hp[kind] * 255).floor(),
        FeatureUnit.shield_ratio: (shields / table.max_shields[kind].clamp(min=1) * 255).floor(),
        FeatureUnit.display_type: torch.full_like(hp, DISPLAY_VISIBLE),
        FeatureUnit.owner: player_id(state.unit_owner).float(),
        FeatureUnit.x: pos_px[..., 0].floor(),
        FeatureUnit.y: pos_px[..., 1].floor(),
        FeatureUnit.radius: table.radius[kind] * scale,
        FeatureUnit.cloak: torch.full_like(hp, CLOAK_NOT_CLOAKED),
        FeatureUnit.mineral_contents: torch.where(table.resource[kind] == RESOURCE_MINERALS,
                                                  state.unit_resources, 0.0).ceil(),
        FeatureUnit.vespene_contents: torch.where(table.resource[kind] == RESOURCE_MINERALS, 0.0,
                                                  state.unit_resources).ceil(),
        FeatureUnit.is_selected: state.selected[:, player].float(),
        FeatureUnit.weapon_cooldown: state.unit_cooldown.clamp(min=0).ceil(),
        FeatureUnit.order_length: ((state.order_kind != 0).sum(dim=2) + (state.queue > 0).sum(dim=2)).float(),
        FeatureUnit.order_id_0: orders[:, :, 0],
        FeatureUnit.order_id_1: orders[:, :, 1],
        FeatureUnit.tag: unit_tags(state),
        FeatureUnit.is_on_screen: on_screen.float(),
        FeatureUnit.order_id_2: orders[:, :, 2],
        FeatureUnit.order_id_3: orders[:, :, 3],
    }
    table_ = torch.stack([columns.get(FeatureUnit(i), zeros) for i in range(NUM_UNIT_FEATURES)], dim=-1)
    return torch.where(rows[..., None], table_, 0.0)


SELECTION_FEATURES = 7
"""pysc2's UnitLayer columns of single_select / multi_select: unit_type, player_relative, health, shields, energy,
transport_slots_taken, build_progress."""


def selection_rows(state: State, player: int, table: UnitTable) -> torch.Tensor:
    """[B, U, 7] each slot as a pysc2 UnitLayer row (what single_select and multi_select show of it)."""
    kind = state.unit_type
    hp = state.unit_hp.clamp(min=0).ceil()
    zeros = torch.zeros_like(hp)
    return torch.stack([table.pysc2_id[kind].float(), player_relative(state.unit_owner, player).float(), hp,
                        state.unit_shields.ceil(), zeros, zeros, zeros], dim=-1)


def control_group_summary(state: State, player: int, table: UnitTable) -> torch.Tensor:
    """[B, 10, 2] pysc2's control_groups: (unit type id of the group's first unit, unit count) per group."""
    groups = state.control_groups[:, player] & state.unit_alive[:, None, :]  # [B, G, U]
    count = groups.sum(dim=2)
    first = groups.long().argmax(dim=2)  # the lowest slot in the group
    leader = table.pysc2_id[state.unit_type.gather(1, first)]
    return torch.stack([torch.where(count > 0, leader, 0), count], dim=-1)
