"""Pairwise geometry between unit slots, computed once per pass and shared by the passes that need it."""

from __future__ import annotations

import dataclasses

import torch

from arena.sim.state import Owner, State
from arena.sim.units import UnitTable

RANGE_SLACK = 1e-3
"""A target this far beyond weapon range still counts as in range: a unit that walked up to the edge of its range
can stop a float32 rounding short of it (30.2 + 1e-7 == 30.2), and would otherwise never fire."""


@dataclasses.dataclass(frozen=True)
class Pairs:
    """Geometry of every ordered pair of slots (i, j) of each game."""

    dist: torch.Tensor  # [B, U, U] centre distance
    edge: torch.Tensor  # [B, U, U] distance between the two circles (centre distance minus both radii)
    hostile: torch.Tensor  # [B, U, U] bool, both alive, owned by the two different players


def unit_radius(state: State, table: UnitTable) -> torch.Tensor:
    """[B, U] radius of each slot's unit."""
    return table.radius[state.unit_type]


def hostile_pairs(state: State) -> torch.Tensor:
    """[B, U, U] bool: i and j are alive and belong to different players (neutral units are nobody's enemy)."""
    owner, alive = state.unit_owner, state.unit_alive
    is_player = (owner != int(Owner.NEUTRAL)) & alive
    return is_player[:, :, None] & is_player[:, None, :] & (owner[:, :, None] != owner[:, None, :])


def planar_norm(vector: torch.Tensor) -> torch.Tensor:
    """[..., 2] -> [...] Euclidean length. Written out: torch.linalg.vector_norm over a last dimension of 2 is
    several times slower on CPU."""
    x, y = vector[..., 0], vector[..., 1]
    return (x * x + y * y).sqrt()


def pair_offsets(pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, U, 2] -> (dx, dy), each [B, U, U]: pos_j - pos_i, one contiguous tensor per axis."""
    x, y = pos[..., 0], pos[..., 1]
    return x[:, None, :] - x[:, :, None], y[:, None, :] - y[:, :, None]


def pairs(state: State, table: UnitTable) -> Pairs:
    dx, dy = pair_offsets(state.unit_pos)
    dist = (dx * dx + dy * dy).sqrt()
    radius = unit_radius(state, table)
    edge = dist - radius[:, :, None] - radius[:, None, :]
    return Pairs(dist=dist, edge=edge, hostile=hostile_pairs(state))


def gather_pair(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values [B, U, U], index [B, U] (slot j per i, -1 allowed) -> values[b, i, index[b, i]] ([B, U])."""
    return values.gather(2, index.clamp(min=0)[:, :, None]).squeeze(2)


def gather_units(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values [B, U, ...], index [B, N] (-1 allowed, read as slot 0) -> values at those slots [B, N, ...]."""
    idx = index.clamp(min=0)
    if values.dim() == 2:
        return values.gather(1, idx)
    extra = values.shape[2:]
    return values.gather(1, idx.reshape(idx.shape + (1,) * len(extra)).expand(idx.shape + extra))
