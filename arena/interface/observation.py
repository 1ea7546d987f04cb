"""A player's batched observation: pysc2's keys and layouts as tensors, from what that player can see."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch

from arena.interface.actions import available_actions
from arena.interface.features import minimap_layers, screen_layers
from arena.interface.functions import NUM_FUNCTIONS
from arena.interface.fog import Visibility, units_in_sight, units_in_sight_of_units, visibility_states, visible_cells
from arena.interface.selection import army_units, idle_workers
from arena.interface.unit_list import control_group_summary, selection_rows, unit_list
from arena.interface.view import InterfaceFormat, MapGeometry, minimap_scale, world_to_minimap, world_to_screen
from arena.sim.economy import supply_cap, supply_used
from arena.sim.state import Owner, State
from arena.sim.units import UnitTable

if TYPE_CHECKING:
    from arena.scenarios.base import ScenarioSpec

PLAYER_FIELDS = 11
"""pysc2's `player` vector: player_id, minerals, vespene, food_used, food_cap, food_army, food_workers,
idle_worker_count, army_count, warp_gate_count, larva_count."""


@dataclasses.dataclass(frozen=True)
class ObservationContext:
    """Constants of a scenario and interface format that observations need."""

    table: UnitTable
    fmt: InterfaceFormat
    geometry: MapGeometry
    playable: torch.Tensor  # [4] playable rectangle in map units
    fog: bool
    allowed: torch.Tensor | None = None
    """[573] bool: the scenario's functions (None: every modelled one)."""
    economy: bool = False
    """The scenario has an economy: its functions are offered and the player vector shows the bank and supply."""

    @staticmethod
    def for_scenario(spec: "ScenarioSpec", table: UnitTable, fmt: InterfaceFormat, playable: torch.Tensor, fog: bool
                     ) -> "ObservationContext":
        """The context of a scenario's spec (its map, function list and economy)."""
        allowed = None
        if spec.functions is not None:
            allowed = torch.zeros(NUM_FUNCTIONS, dtype=torch.bool, device=playable.device)
            allowed[list(spec.functions)] = True
        return ObservationContext(table=table, fmt=fmt, geometry=spec.geometry, playable=playable, fog=fog,
                                  allowed=allowed, economy=spec.economy)

    @property
    def cells(self) -> tuple[int, int]:
        return int(self.geometry.height), int(self.geometry.width)


def perceive(state: State, player: int, ctx: ObservationContext, cells: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """What `player` sees: (visible units [B, U], visibility [B, H, W] pysc2 states; None under fog when the
    interface has no feature layers, which are the only readers of the map). Also returns with fog off.
    `cells` [B, H, W] are the player's visible cells when the caller has already computed them for this state."""
    B = state.batch_size
    if not ctx.fog:
        everything = torch.full((1, 1, 1), int(Visibility.VISIBLE), dtype=torch.long, device=state.device)
        return state.unit_alive, everything.expand((B,) + ctx.cells)  # a view: no [B, H, W] memory
    if cells is None and not ctx.fmt.feature_layers:  # nothing shows the map: only which units are seen matters
        return units_in_sight_of_units(state, player, ctx.table), None
    visible = visible_cells(state, player, ctx.table, ctx.cells) if cells is None else cells
    return units_in_sight(state, player, visible), visibility_states(visible, state.explored[:, player] | visible)


def remember_seen(state: State, ctx: ObservationContext) -> State:
    """Add what every agent player sees now to what it has explored (fog of war's "seen" state)."""
    if not ctx.fog:
        return state
    seen = torch.stack([visible_cells(state, p, ctx.table, ctx.cells) for p in range(state.num_agents)], dim=1)
    return state.replace(explored=state.explored | seen)


def player_vector(state: State, player: int, table: UnitTable) -> torch.Tensor:
    """[B, 11] pysc2's `player` observation."""
    own = state.unit_alive & (state.unit_owner == player)
    supply = torch.where(own, table.supply[state.unit_type], 0.0)
    workers = own & table.worker[state.unit_type]
    B = state.batch_size
    vector = torch.zeros(B, PLAYER_FIELDS, device=state.device)
    vector[:, 0] = player + 1
    vector[:, 1] = state.minerals[:, player].floor()
    vector[:, 2] = state.vespene[:, player].floor()
    vector[:, 3] = supply_used(state, table)[:, player].ceil()
    vector[:, 4] = supply_cap(state, table)[:, player]
    vector[:, 10] = torch.where(own, state.unit_larva.floor(), 0.0).sum(dim=1)
    vector[:, 5] = torch.where(workers, 0.0, supply).sum(dim=1).ceil()
    vector[:, 6] = workers.sum(dim=1).float()
    vector[:, 7] = idle_workers(state, player, table).sum(dim=1).float()
    vector[:, 8] = army_units(state, player, table).sum(dim=1).float()
    return vector


def observe(state: State, player: int, ctx: ObservationContext, action_result: torch.Tensor,
            last_action: torch.Tensor, cells: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The observation of `player` as a dict of tensors with pysc2's names (`cells`: as for `perceive`)."""
    fmt, table = ctx.fmt, ctx.table
    visible, visibility = perceive(state, player, ctx, cells)
    camera = state.camera[:, player]
    screen_px = world_to_screen(state.unit_pos, camera, fmt)
    radius_px = table.radius[state.unit_type] * fmt.pixels_per_unit
    on_screen = visible & ((screen_px + radius_px[..., None] >= 0)
                           & (screen_px - radius_px[..., None] < fmt.screen_size)).all(dim=-1)
    obs = {
        "available_actions": available_actions(state, player, table, ctx.allowed, ctx.economy),
        "player": player_vector(state, player, table),
        "score_cumulative": state.score[:, player],
        "game_loop": state.game_loop,
        "action_result": action_result,
        "last_actions": last_action,
        "camera": camera,
        "multi_select": selection_rows(state, player, table),
        "multi_select_mask": state.selected[:, player] & visible,
        "control_groups": control_group_summary(state, player, table),
    }
    if fmt.feature_layers:
        obs["feature_screen"] = screen_layers(state, player, table, fmt, visible, visibility, ctx.playable, screen_px)
        obs["feature_minimap"] = minimap_layers(state, player, table, fmt, ctx.geometry, visible, visibility,
                                                ctx.playable)
    if fmt.feature_units:
        obs["feature_units"] = unit_list(state, player, table, on_screen, screen_px, fmt.pixels_per_unit, on_screen)
        obs["feature_units_mask"] = on_screen
    if fmt.raw_units:
        listed = visible
        if fmt.mask_offscreen_enemies:
            enemy = (state.unit_owner != player) & (state.unit_owner != int(Owner.NEUTRAL))
            listed = visible & (~enemy | on_screen)
        minimap_px = world_to_minimap(state.unit_pos, fmt, ctx.geometry)
        obs["raw_units"] = unit_list(state, player, table, listed, minimap_px, minimap_scale(fmt, ctx.geometry),
                                     on_screen)
        obs["raw_units_mask"] = listed
    return obs
