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

    delta: torch.Tensor  # [B, U, U, 2] pos_j - pos_i
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


def pairs(state: State, table: UnitTable) -> Pairs:
    pos = state.unit_pos
    delta = pos[:, None, :, :] - pos[:, :, None, :]
    dist = torch.linalg.vector_norm(delta, dim=-1)
    radius = unit_radius(state, table)
    edge = dist - radius[:, :, None] - radius[:, None, :]
    return Pairs(delta=delta, dist=dist, edge=edge, hostile=hostile_pairs(state))


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
