"""A player's batched observation: pysc2's keys and layouts as tensors, from what that player can see."""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import sys
from typing import TYPE_CHECKING

import numpy as np
import torch

from arena.interface.actions import available_actions
from arena.interface.features import UNIT_LAYERS, minimap_layers, screen_layers
from arena.interface.functions import NUM_FUNCTIONS
from arena.interface.fog import Visibility, units_in_sight, units_in_sight_of_units, visibility_states, visible_cells
from arena.interface.kernel_tables import array, kernel_tables
from arena.interface.selection import army_units, idle_workers
from arena.interface.unit_list import (NUM_UNIT_FEATURES, SELECTION_FEATURES, control_group_summary, selection_rows,
                                       unit_list)
from arena.interface.view import (MINIMAP_LAYERS, SCREEN_LAYERS, InterfaceFormat, MapGeometry, minimap_scale,
                                  world_to_minimap, world_to_screen)
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


def unit_fields(state: State, player: int, ctx: ObservationContext, visible: torch.Tensor) -> dict[str, torch.Tensor]:
    """What `player`'s observation reads off the units, `visible` [B, U] those it sees: available_actions, player,
    multi_select (and its mask), control_groups, and as the format asks feature_units and raw_units with their
    masks. On the CPU a compiled kernel computes them (`unit_fields_compiled`); these torch
    operations are the reference it is tested against, and what runs elsewhere."""
    fmt, table = ctx.fmt, ctx.table
    camera = state.camera[:, player]
    screen_px = world_to_screen(state.unit_pos, camera, fmt)
    radius_px = table.radius[state.unit_type] * fmt.pixels_per_unit
    on_screen = visible & ((screen_px + radius_px[..., None] >= 0)
                           & (screen_px - radius_px[..., None] < fmt.screen_size)).all(dim=-1)
    fields = {
        "available_actions": available_actions(state, player, table, ctx.allowed, ctx.economy),
        "player": player_vector(state, player, table),
        "multi_select": selection_rows(state, player, table),
        "multi_select_mask": state.selected[:, player] & visible,
        "control_groups": control_group_summary(state, player, table),
    }
    if fmt.feature_units:
        fields["feature_units"] = unit_list(state, player, table, on_screen, screen_px, fmt.pixels_per_unit,
                                            on_screen)
        fields["feature_units_mask"] = on_screen
    if fmt.raw_units:
        listed = visible
        if fmt.mask_offscreen_enemies:
            enemy = (state.unit_owner != player) & (state.unit_owner != int(Owner.NEUTRAL))
            listed = visible & (~enemy | on_screen)
        minimap_px = world_to_minimap(state.unit_pos, fmt, ctx.geometry)
        fields["raw_units"] = unit_list(state, player, table, listed, minimap_px, minimap_scale(fmt, ctx.geometry),
                                        on_screen)
        fields["raw_units_mask"] = listed
    return fields


def unit_fields_compiled(state: State, player: int, ctx: ObservationContext, visible: torch.Tensor
                         ) -> dict[str, torch.Tensor]:
    """`unit_fields` on the CPU through the compiled kernel `arena.interface.kernels.observe_units`: the same keys,
    dtypes and values."""
    from arena.interface.kernels import observe_units  # numba compiles on first use
    from arena.sim.kernels import follow_torch_threads

    follow_torch_threads()
    fmt = ctx.fmt
    tables = kernel_tables(ctx.table, ctx.allowed)
    B, U = state.unit_type.shape
    G = state.control_groups.shape[2]

    out = {
        "available_actions": torch.empty(B, NUM_FUNCTIONS, dtype=torch.bool),
        "player": torch.empty(B, PLAYER_FIELDS, dtype=torch.float32),
        "multi_select": torch.empty(B, U, SELECTION_FEATURES, dtype=torch.float32),
        "multi_select_mask": torch.empty(B, U, dtype=torch.bool),
        "control_groups": torch.empty(B, G, 2, dtype=torch.long),
    }
    listed = {}
    for key, wanted in (("feature_units", fmt.feature_units), ("raw_units", fmt.raw_units)):
        shape = (B, U) if wanted else (1, 1)
        listed[key] = torch.empty(*shape, NUM_UNIT_FEATURES, dtype=torch.float32)
        listed[key + "_mask"] = torch.empty(*shape, dtype=torch.bool)
    observe_units(
        B, array(state.unit_type), array(state.unit_owner), array(state.unit_alive), array(state.unit_pos),
        array(state.unit_hp), array(state.unit_shields), array(state.unit_cooldown), array(state.order_kind),
        array(state.queue), array(state.selected[:, player]), array(state.control_groups[:, player]),
        array(state.unit_resources), array(state.unit_build_left), array(state.unit_morph), array(state.unit_larva),
        array(state.unit_cargo), array(state.wave), array(state.minerals), array(state.vespene), array(visible),
        array(state.camera[:, player]),
        tables.units, tables.functions, player, bool(ctx.economy), np.float32(fmt.pixels_per_unit),
        int(fmt.screen_size), np.float32(minimap_scale(fmt, ctx.geometry)), np.float32(ctx.geometry.height),
        bool(fmt.feature_units), bool(fmt.raw_units), bool(fmt.mask_offscreen_enemies),
        out["available_actions"].numpy(), out["player"].numpy(), out["control_groups"].numpy(),
        out["multi_select"].numpy(), out["multi_select_mask"].numpy(), listed["feature_units"].numpy(),
        listed["feature_units_mask"].numpy(), listed["raw_units"].numpy(), listed["raw_units_mask"].numpy())
    if fmt.feature_units:
        out["feature_units"], out["feature_units_mask"] = listed["feature_units"], listed["feature_units_mask"]
    if fmt.raw_units:
        out["raw_units"], out["raw_units_mask"] = listed["raw_units"], listed["raw_units_mask"]
    return out


def feature_layers_compiled(state: State, player: int, ctx: ObservationContext, visible: torch.Tensor,
                            visibility: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`screen_layers` and `minimap_layers` on the CPU through the compiled kernel
    `arena.interface.kernels.paint_layers`: the same int16 layers [B, 27, S, S] and [B, 11, M, M]."""
    from arena.interface.kernels import paint_layers  # numba compiles on first use
    from arena.sim.kernels import follow_torch_threads

    follow_torch_threads()
    fmt = ctx.fmt
    B = state.batch_size
    screen = zeros_in_huge_pages((B, len(SCREEN_LAYERS), fmt.screen_size, fmt.screen_size), torch.int16)
    minimap = zeros_in_huge_pages((B, len(MINIMAP_LAYERS), fmt.minimap_size, fmt.minimap_size), torch.int16)
    shared = visibility.stride(0) == 0  # one grid for every game (no fog of war): an expanded view
    grids = visibility[:1] if shared else visibility
    paint_layers(B, array(state.unit_type), array(state.unit_owner), array(state.unit_pos), array(state.unit_hp),
                 array(state.unit_shields), array(state.selected[:, player]), array(visible),
                 array(state.camera[:, player]), array(grids.to(torch.int64)), shared, kernel_tables(ctx.table, ctx.allowed).units, player,
                 np.float32(fmt.pixels_per_unit), np.float32(fmt.camera_width / 2),
                 np.float32(minimap_scale(fmt, ctx.geometry)), np.float32(ctx.geometry.height),
                 array(ctx.playable.to(torch.float32).cpu()), _SCREEN_CHANNELS, _MINIMAP_CHANNELS, screen.numpy(),
                 minimap.numpy())
    return screen, minimap


HUGE_PAGE = 2 << 20
"""Bytes of a transparent huge page on x86-64 and arm64 Linux."""


def zeros_in_huge_pages(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """A zero CPU tensor whose memory, when it spans huge pages, is asked for in them (Linux: madvise
    MADV_HUGEPAGE before first use). Each step's feature layers are a fresh tensor, tens of MiB at large batches:
    glibc maps such blocks anew every time, and faulting them in 4 KiB pages cost five times the zeroing
    (56 MiB: 50 ms against 9 ms). Elsewhere, or where the kernel refuses, this is torch.zeros."""
    tensor = torch.empty(shape, dtype=dtype)
    start = tensor.data_ptr()
    first = (start + HUGE_PAGE - 1) // HUGE_PAGE * HUGE_PAGE
    last = (start + tensor.numel() * tensor.element_size()) // HUGE_PAGE * HUGE_PAGE
    if last > first:
        _advise_huge_pages(first, last - first)
    return tensor.zero_()


def _advise_huge_pages(address: int, length: int) -> None:
    madvise = _madvise()
    if madvise is not None:
        madvise(address, length, _MADV_HUGEPAGE)  # a refusal (no THP, another kernel) leaves small pages


_MADV_HUGEPAGE = 14


@functools.lru_cache(maxsize=1)
def _madvise():
    """libc's madvise, or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_SCREEN_CHANNELS = np.array([SCREEN_LAYERS.index(name) for name in UNIT_LAYERS + (
    "unit_density", "unit_density_aa", "visibility_map", "pathable", "buildable")], dtype=np.int64)
"""The screen channels `paint_layers` writes, in its order."""
_MINIMAP_CHANNELS = np.array([MINIMAP_LAYERS.index(name) for name in (
    "player_id", "player_relative", "selected", "unit_type", "visibility_map", "pathable", "buildable", "camera")],
    dtype=np.int64)
"""The minimap channels `paint_layers` writes, in its order."""


def observe(state: State, player: int, ctx: ObservationContext, action_result: torch.Tensor,
            last_action: torch.Tensor, cells: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The observation of `player` as a dict of tensors with pysc2's names (`cells`: as for `perceive`)."""
    fmt, table = ctx.fmt, ctx.table
    visible, visibility = perceive(state, player, ctx, cells)
    camera = state.camera[:, player]
    compiled = state.device.type == "cpu"
    fields = (unit_fields_compiled if compiled else unit_fields)(state, player, ctx, visible)
    obs = {
        "available_actions": fields.pop("available_actions"),
        "player": fields.pop("player"),
        "score_cumulative": state.score[:, player],
        "game_loop": state.game_loop,
        "action_result": action_result,
        "last_actions": last_action,
        "camera": camera,
        "multi_select": fields.pop("multi_select"),
        "multi_select_mask": fields.pop("multi_select_mask"),
        "control_groups": fields.pop("control_groups"),
    }
    if fmt.feature_layers and compiled:
        obs["feature_screen"], obs["feature_minimap"] = feature_layers_compiled(state, player, ctx, visible,
                                                                                visibility)
    elif fmt.feature_layers:
        screen_px = world_to_screen(state.unit_pos, camera, fmt)
        obs["feature_screen"] = screen_layers(state, player, table, fmt, visible, visibility, ctx.playable, screen_px)
        obs["feature_minimap"] = minimap_layers(state, player, table, fmt, ctx.geometry, visible, visibility,
                                                ctx.playable)
    obs.update(fields)  # the unit lists and their masks, in pysc2's order
    return obs
