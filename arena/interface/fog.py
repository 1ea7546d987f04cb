"""Fog of war: what each player sees, from each own unit's sight range, with pysc2's three visibility states."""

from __future__ import annotations

import enum
import math

import torch

from arena.sim.geometry import planar_norm
from arena.sim.state import Owner, State
from arena.sim.units import UnitTable


class Visibility(enum.IntEnum):
    """pysc2's visibility_map values."""

    HIDDEN = 0
    SEEN = 1
    VISIBLE = 2


def disc_offsets(radius: float, device: torch.device) -> torch.Tensor:
    """[K, 2] integer cell offsets (dx, dy) of the square that holds a disc of `radius` cells."""
    k = int(math.ceil(radius))
    r = torch.arange(-k, k + 1, device=device)
    dy, dx = torch.meshgrid(r, r, indexing="ij")
    return torch.stack([dx.reshape(-1), dy.reshape(-1)], dim=-1)


def visible_cells(state: State, player: int, table: UnitTable, cells: tuple[int, int]) -> torch.Tensor:
    """[B, H, W] bool: map cells within sight of one of `player`'s living units (H rows counted from y = 0)."""
    H, W = cells
    B, U = state.unit_type.shape
    sight = table.sight[state.unit_type]  # [B, U]
    own = state.unit_alive & (state.unit_owner == player)
    offsets = disc_offsets(float(table.sight.max()), state.device)  # [K, 2]
    centre = state.unit_pos.floor().long()  # [B, U, 2]
    cell = centre[:, :, None, :] + offsets[None, None, :, :]  # [B, U, K, 2]
    gap = cell.to(torch.float32) + 0.5 - state.unit_pos[:, :, None, :]
    inside = (cell[..., 0] >= 0) & (cell[..., 0] < W) & (cell[..., 1] >= 0) & (cell[..., 1] < H)
    seen = own[:, :, None] & inside & (planar_norm(gap) <= sight[:, :, None])
    flat = torch.where(seen, cell[..., 1] * W + cell[..., 0], H * W).reshape(B, -1)
    grid = torch.zeros(B, H * W + 1, dtype=torch.bool, device=state.device)
    grid.scatter_(1, flat, True)
    return grid[:, :-1].reshape(B, H, W)


def visibility_states(visible: torch.Tensor, explored: torch.Tensor) -> torch.Tensor:
    """[B, H, W] long pysc2 visibility from what is visible now and what was ever seen."""
    return torch.where(visible, int(Visibility.VISIBLE), torch.where(explored, int(Visibility.SEEN), 0))


def units_in_sight(state: State, player: int, visible: torch.Tensor) -> torch.Tensor:
    """[B, U] bool: living units `player` can see: its own, and others standing on a visible cell."""
    B, H, W = visible.shape
    cell = state.unit_pos.floor().long()
    x, y = cell[..., 0].clamp(0, W - 1), cell[..., 1].clamp(0, H - 1)
    on_visible = visible.reshape(B, -1).gather(1, y * W + x)
    return state.unit_alive & ((state.unit_owner == player) | on_visible)


def full_vision(state: State, player: int) -> torch.Tensor:
    """[B, U] every living unit (fog of war off)."""
    return state.unit_alive


__all__ = ["Visibility", "visible_cells", "visibility_states", "units_in_sight", "full_vision", "Owner"]
