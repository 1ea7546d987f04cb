"""The placement grid: structures and resources cover whole map cells (their footprints); a new structure must fit in
the playable area on free cells, and a town hall must keep 3 cells from mineral fields and geysers (StarCraft II's
"too close to resources"). Gas buildings go on a free vespene geyser instead.

Footprints are axis-aligned rectangles of cells: an odd-sized one centred on a cell's centre (x.5), an even-sized one
on a cell corner; `snap_to_grid` moves a clicked point there as the game's placement cursor does.
"""

from __future__ import annotations

import torch

from arena.sim.state import State
from arena.sim.units import UnitTable, UnitType

RESOURCE_CLEARANCE = 3.0
"""Cells a town hall keeps from mineral fields and geysers."""


class Placement:
    """pysc2 ActionResult codes of placement (s2clientprotocol error.proto)."""

    OK = 1
    CANT_BUILD_ON_THAT = 42
    LOCATION_INVALID = 44
    TOO_CLOSE_TO_RESOURCES = 47


def snap_to_grid(point: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """point [B, 2] map units, size [B, 2] cells -> the footprint's centre on the grid [B, 2]."""
    odd = (size % 2) == 1
    return torch.where(odd, point.floor() + 0.5, point.round())


def footprint_boxes(state: State, table: UnitTable) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(low [B, U, 2], high [B, U, 2], blocks [B, U] bool): the cells each living structure or resource covers."""
    size = table.footprint[state.unit_type].float()
    half = size * 0.5
    blocks = state.unit_alive & (size[..., 0] > 0)
    return state.unit_pos - half, state.unit_pos + half, blocks


def _overlaps(low: torch.Tensor, high: torch.Tensor, other_low: torch.Tensor, other_high: torch.Tensor
              ) -> torch.Tensor:
    """[B, 2] box against [B, U, 2] boxes -> [B, U] bool (touching edges do not overlap)."""
    return ((low[:, None] < other_high) & (other_low < high[:, None])).all(dim=-1)


def placement_result(state: State, table: UnitTable, kind: torch.Tensor, centre: torch.Tensor,
                     bounds: torch.Tensor, geyser: torch.Tensor) -> torch.Tensor:
    """[B] Placement code for a structure of `kind` [B] at `centre` [B, 2] (already snapped); `geyser` [B] is the
    slot clicked for a gas building (-1 for none). `bounds` [4] is the playable rectangle."""
    size = table.footprint[kind].float()
    low, high = centre - size * 0.5, centre + size * 0.5
    inside = (low >= bounds[:2]).all(dim=-1) & (high <= bounds[2:]).all(dim=-1)
    other_low, other_high, blocks = footprint_boxes(state, table)
    blocked = (_overlaps(low, high, other_low, other_high) & blocks).any(dim=1)
    resource = blocks & (table.resource[state.unit_type] > 0)
    near = _overlaps(low - RESOURCE_CLEARANCE, high + RESOURCE_CLEARANCE, other_low, other_high)
    too_close = table.town_hall[kind] & (near & resource).any(dim=1)
    ground = torch.where(~inside | blocked, Placement.LOCATION_INVALID,
                         torch.where(too_close, Placement.TOO_CLOSE_TO_RESOURCES, Placement.OK))
    on_geyser = (geyser >= 0) & state.unit_alive.gather(1, geyser.clamp(min=0)[:, None]).squeeze(1) & (
        state.unit_type.gather(1, geyser.clamp(min=0)[:, None]).squeeze(1) == int(UnitType.VESPENE_GEYSER))
    gas = torch.where(on_geyser, Placement.OK, Placement.CANT_BUILD_ON_THAT)
    return torch.where(table.gas_building[kind], gas, ground)
