"""Observations drawn by compiled kernels (numba), each game's units looped over straight into its grids, games
spread over the CPU's threads, instead of [B, U, K] pixel lists scattered by torch:

- `paint_discs`: units as discs in the feature layers, the pixels of
  `arena.interface.features.paint_units_together`: a unit covers the pixels whose centre lies within its radius and
  the pixel under its centre; where units overlap, the one in the higher slot is on top; density counts them all.
- `mark_sight` (in arena.sim.kernels, whose game loops mark what is seen too): fog of war's visible cells, those
  of `arena.interface.fog.visible_cells_by_cell`.

The torch versions stay as the references the tests compare against, pixel for pixel and cell for cell.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from arena.sim.kernels import follow_torch_threads, mark_sight  # (sets numba's threading layer first)

_HALF = np.float32(0.5)


@numba.njit(cache=True, parallel=True)
def paint_discs(values, drawn, pos_px, radius_px, layers, density):
    """values [B, U, F] float32, drawn [B, U] bool, pos_px [B, U, 2] float32 (x, y) pixels, radius_px [B, U]
    float32; writes layers [B, F, S, S] and density [B, S, S] (float32, zero on entry)."""
    B, U, F = values.shape
    S = layers.shape[2]
    for b in numba.prange(B):
        for u in range(U):
            if not drawn[b, u]:
                continue
            px = pos_px[b, u, 0]
            py = pos_px[b, u, 1]
            r = radius_px[b, u]
            cx = int(math.floor(px))
            cy = int(math.floor(py))
            k = int(math.ceil(max(r, np.float32(0.0))))
            for dy in range(-k, k + 1):
                y = cy + dy
                if y < 0 or y >= S:
                    continue
                gy = np.float32(y) + _HALF - py
                for dx in range(-k, k + 1):
                    x = cx + dx
                    if x < 0 or x >= S:
                        continue
                    gx = np.float32(x) + _HALF - px
                    if (dx == 0 and dy == 0) or np.float32(math.sqrt(gx * gx + gy * gy)) <= r:
                        for f in range(F):
                            layers[b, f, y, x] = values[b, u, f]
                        density[b, y, x] += 1.0


def visible_cells_kernel(state, player: int, table, cells: tuple[int, int]) -> torch.Tensor:
    """`arena.interface.fog.visible_cells` on the CPU through `mark_sight`: [B, H, W] bool."""
    follow_torch_threads()
    H, W = cells
    visible = torch.zeros(state.batch_size, H, W, dtype=torch.bool)
    own = state.unit_alive & (state.unit_owner == player)
    mark_sight(state.unit_pos.to(torch.float32).contiguous().numpy(),
               table.sight[state.unit_type].to(torch.float32).contiguous().numpy(), own.contiguous().numpy(),
               visible.numpy())
    return visible


def paint_units_kernel(values: torch.Tensor, drawn: torch.Tensor, pos_px: torch.Tensor, radius_px: torch.Tensor,
                       size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`arena.interface.features.paint_units` on the CPU through `paint_discs`: (layers [B, F, size, size], density
    [B, size, size]), both float32."""
    follow_torch_threads()
    B, U, F = values.shape
    layers = torch.zeros(B, F, size, size)
    density = torch.zeros(B, size, size)
    if U:
        paint_discs(values.to(torch.float32).contiguous().numpy(), drawn.contiguous().numpy(),
                    pos_px.to(torch.float32).contiguous().numpy(), radius_px.to(torch.float32).contiguous().numpy(),
                    layers.numpy(), density.numpy())
    return layers, density


__all__ = ["mark_sight", "paint_discs", "paint_units_kernel", "visible_cells_kernel"]
