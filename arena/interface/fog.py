"""Fog of war: what each player sees, from each own unit's sight range, with pysc2's three visibility states."""

from __future__ import annotations

import enum
import math

import torch

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
    """[B, H, W] bool: map cells within sight of one of `player`'s living units (H rows counted from y = 0): a cell
    is seen when its centre lies within the unit's sight radius of the unit's centre. On the CPU a compiled kernel
    marks them (arena.interface.kernels); elsewhere `visible_cells_in_runs`. Both equal `visible_cells_by_cell`."""
    if state.device.type == "cpu":
        from arena.interface.kernels import visible_cells_kernel  # numba compiles on first use

        return visible_cells_kernel(state, player, table, cells)
    return visible_cells_in_runs(state, player, table, cells)


def visible_cells_in_runs(state: State, player: int, table: UnitTable, cells: tuple[int, int]) -> torch.Tensor:
    """`visible_cells` in torch.

    A cell is seen when its centre lies within the unit's sight radius of the unit's centre. What a unit sees of
    each row of cells is one run of cells, so each unit marks, per row, where its run starts and ends ([B, U, R]
    marks, R rows of the widest sight), and a running sum along every row fills the runs in: far cheaper than
    testing every cell of every unit's square ([B, U, R, R])."""
    H, W = cells
    B, U = state.unit_type.shape
    sight = table.sight[state.unit_type]  # [B, U]
    own = state.unit_alive & (state.unit_owner == player)
    k = int(math.ceil(float(sight.max()))) if sight.numel() else 0  # the widest sight among these games' slots
    r = torch.arange(-k, k + 1, device=state.device)  # [R] row (and column) offsets from the unit's cell
    centre = state.unit_pos.floor()
    frac = state.unit_pos - centre  # [B, U, 2]
    centre = centre.long()
    gap_y = (r + 0.5) - frac[..., 1:2]  # [B, U, R] from the unit to the centres of the cells of each row
    reach2 = (sight * sight)[..., None]  # [B, U, 1]
    room = reach2 - gap_y * gap_y  # what is left of the squared sight for the horizontal gap

    def inside(column: torch.Tensor) -> torch.Tensor:
        """The sight rule exactly as written per cell: gap_x^2 + gap_y^2 <= sight^2."""
        gap_x = (column.float() + 0.5) - frac[..., 0:1]
        return gap_x * gap_x + gap_y * gap_y <= reach2

    half = room.clamp(min=0).sqrt()
    # First and last column offsets of each row's run, then moved by one where float rounding put them off.
    first = torch.ceil(frac[..., 0:1] - 0.5 - half).long().clamp(-k, k)
    first = torch.where(inside(first - 1) & (first > -k), first - 1, first)
    first = torch.where(~inside(first) & (first < k), first + 1, first)
    last = torch.floor(frac[..., 0:1] - 0.5 + half).long().clamp(-k, k)
    last = torch.where(inside(last + 1) & (last < k), last + 1, last)
    last = torch.where(~inside(last) & (last > -k), last - 1, last)
    row = centre[..., 1:2] + r  # [B, U, R]
    x0 = (centre[..., 0:1] + first).clamp(min=0)
    x1 = (centre[..., 0:1] + last).clamp(max=W - 1)
    marked = own[..., None] & (room >= 0) & inside(first) & (first <= last) & (row >= 0) & (row < H) & (x0 <= x1)
    stride = W + 1  # one spare column per row for the marks that end a run at the right edge
    dump = H * stride
    starts = torch.where(marked, row * stride + x0, dump).reshape(B, -1)
    ends = torch.where(marked, row * stride + x1 + 1, dump).reshape(B, -1)
    ones = torch.ones_like(starts, dtype=torch.int32)
    runs = torch.zeros(B, dump + 1, dtype=torch.int32, device=state.device)
    runs.scatter_add_(1, starts, ones).scatter_add_(1, ends, -ones)
    return runs[:, :dump].reshape(B, H, stride).cumsum(dim=2)[..., :W] > 0


def visible_cells_by_cell(state: State, player: int, table: UnitTable, cells: tuple[int, int]) -> torch.Tensor:
    """`visible_cells` computed cell by cell over each unit's whole square ([B, U, R, R]): the plain statement of the
    sight rule, kept to test the fast version against."""
    H, W = cells
    B, U = state.unit_type.shape
    sight = table.sight[state.unit_type]  # [B, U]
    own = state.unit_alive & (state.unit_owner == player)
    k = int(math.ceil(float(sight.max())))
    r = torch.arange(-k, k + 1, device=state.device)  # [R]
    centre = state.unit_pos.floor()
    frac = state.unit_pos - centre  # [B, U, 2]
    centre = centre.long()
    gap_x = (r + 0.5) - frac[..., 0:1]  # [B, U, R]
    gap_y = (r + 0.5) - frac[..., 1:2]
    cell_x, cell_y = centre[..., 0:1] + r, centre[..., 1:2] + r  # [B, U, R]
    row_ok = (cell_y >= 0) & (cell_y < H) & own[..., None]
    col_ok = (cell_x >= 0) & (cell_x < W)
    seen = ((gap_y * gap_y)[..., :, None] + (gap_x * gap_x)[..., None, :] <= (sight * sight)[..., None, None]) \
        & row_ok[..., :, None] & col_ok[..., None, :]  # [B, U, R, R]
    flat = torch.where(seen, cell_y[..., :, None] * W + cell_x[..., None, :], H * W).reshape(B, -1)
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


__all__ = ["Visibility", "visible_cells", "visible_cells_in_runs", "visible_cells_by_cell", "visibility_states",
           "units_in_sight", "full_vision", "Owner"]


def units_in_sight_of_units(state: State, player: int, table: UnitTable) -> torch.Tensor:
    """[B, U] the same as `units_in_sight(state, player, visible_cells(...))`, computed pair by pair: a unit is seen
    when the centre of the cell it stands on lies within sight of one of the player's living units. Much cheaper
    than painting the map when nothing needs the map (no feature layers)."""
    own = state.unit_alive & (state.unit_owner == player)
    sight = table.sight[state.unit_type]
    cell_centre = state.unit_pos.floor() + 0.5  # [B, U, 2] the cell each unit stands on
    gap_x = cell_centre[:, None, :, 0] - state.unit_pos[:, :, None, 0]  # [B, watcher, watched]
    gap_y = cell_centre[:, None, :, 1] - state.unit_pos[:, :, None, 1]
    seen = ((gap_x * gap_x + gap_y * gap_y <= (sight * sight)[:, :, None]) & own[:, :, None]).any(dim=1)
    return state.unit_alive & ((state.unit_owner == player) | seen)
