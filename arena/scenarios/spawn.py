"""Placing units: pure helpers the scenarios share. Random draws come from counter-based streams (arena.sim.rng)
so that a batch of games equals the same games played one at a time."""

from __future__ import annotations

import math

import torch

from arena.sim import rng
from arena.sim.state import Owner, State
from arena.sim.units import UnitType, unit_table


def any_true(mask: torch.Tensor) -> bool:
    """Whether any game needs a respawn. Respawns are rare, so their (costly) work runs only when one is due;
    the check itself stays vectorised. This is the one host sync the rules make per game loop."""
    return bool(mask.any())


def place(state: State, slots: torch.Tensor, unit_type: UnitType, owner: Owner, pos: torch.Tensor,
          where: torch.Tensor | None = None, hp: torch.Tensor | None = None) -> State:
    """Create units of one type in `slots` [B, N] (slot indices) at `pos` [B, N, 2].

    `where` [B, N] bool limits which of them are created (default all); `hp` [B, N] overrides full health.
    Orders, targets and cooldowns of those slots are cleared.
    """
    B, N = slots.shape
    U = state.num_units
    if where is None:
        where = torch.ones(B, N, dtype=torch.bool, device=state.device)
    mask = torch.zeros(B, U, dtype=torch.bool, device=state.device).scatter_(1, slots, where)  # [B, U]
    table = unit_table(state.device)
    full = torch.zeros(B, U, 2, device=state.device).scatter_(1, slots[..., None].expand(B, N, 2), pos)
    health = table.max_hp[int(unit_type)].expand(B, N) if hp is None else hp
    hp_u = torch.zeros(B, U, device=state.device).scatter_(1, slots, health.to(torch.float32))
    m, m3 = mask[..., None], mask[..., None, None]
    return state.replace(
        unit_type=torch.where(mask, int(unit_type), state.unit_type),
        unit_owner=torch.where(mask, int(owner), state.unit_owner),
        unit_alive=state.unit_alive | mask,
        unit_pos=torch.where(m, full, state.unit_pos),
        unit_hp=torch.where(mask, hp_u, state.unit_hp),
        unit_shields=torch.where(mask, table.max_shields[int(unit_type)], state.unit_shields),
        unit_cooldown=torch.where(mask, 0.0, state.unit_cooldown),
        unit_target=torch.where(mask, -1, state.unit_target),
        order_kind=torch.where(m, 0, state.order_kind),
        order_pos=torch.where(m3, 0.0, state.order_pos),
        order_unit=torch.where(m, -1, state.order_unit),
    )


def slot_range(state: State, start: int, count: int) -> torch.Tensor:
    """[B, count] the slot indices start .. start + count - 1."""
    return torch.arange(start, start + count, device=state.device).expand(state.batch_size, count)


def points_in_rect(key: torch.Tensor, shape: tuple[int, ...], rect: tuple[float, float, float, float]) -> torch.Tensor:
    """[B, *shape, 2] uniform points in rect (x0, y0, x1, y1)."""
    u = rng.uniform(key, shape + (2,))
    x0, y0, x1, y1 = rect
    return torch.stack([x0 + u[..., 0] * (x1 - x0), y0 + u[..., 1] * (y1 - y0)], dim=-1)


def first_valid(candidates: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """candidates [B, N, T, 2], valid [B, N, T] -> [B, N, 2] the first valid candidate (the last if none is)."""
    T = valid.shape[-1]
    index = torch.where(valid.any(dim=-1), valid.long().argmax(dim=-1), T - 1)
    return candidates.gather(2, index[..., None, None].expand(-1, -1, 1, 2)).squeeze(2)


def distance_to_nearest(points: torch.Tensor, anchors: torch.Tensor, anchor_mask: torch.Tensor) -> torch.Tensor:
    """points [B, N, T, 2] or [B, N, 2], anchors [B, K, 2], mask [B, K] -> distance to the nearest anchor."""
    flat = points.reshape(points.shape[0], -1, 2)
    dist = torch.linalg.vector_norm(flat[:, :, None, :] - anchors[:, None, :, :], dim=-1)
    dist = torch.where(anchor_mask[:, None, :], dist, float("inf")).amin(dim=2)
    return dist.reshape(points.shape[:-1])


def lattice_sites(rect: tuple[float, float, float, float], spacing: float, jitter: float, key: torch.Tensor
                  ) -> torch.Tensor:
    """[B, S, 2] a jittered triangular lattice over rect: rows spacing * sqrt(3) / 2 apart, every other row shifted
    by half a spacing, so each site has its neighbours `spacing` away (the densest packing: 15% more sites than a
    square lattice). Each site is shaken by at most `jitter` per axis, which keeps sites at least
    spacing - (1 + sqrt(3)) * jitter apart (loop-free spawns of many units that must keep a minimum distance)."""
    x0, y0, x1, y1 = rect
    pitch = spacing * math.sqrt(3) / 2
    points = []
    for row in range(int(math.floor((y1 - y0 - 2 * jitter) / pitch)) + 1):
        offset = (row % 2) * spacing / 2
        for column in range(int(math.floor((x1 - x0 - 2 * jitter - offset) / spacing)) + 1):
            points.append((x0 + jitter + offset + column * spacing, y0 + jitter + row * pitch))
    base = torch.tensor(points, dtype=torch.float32, device=key.device)
    shake = (rng.uniform(key, (base.shape[0], 2)) * 2 - 1) * jitter
    return base[None] + shake


def choose_sites(sites: torch.Tensor, allowed: torch.Tensor, count: int, key: torch.Tensor,
                 fallback: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick `count` random allowed sites: ([B, count, 2], found [B, count] bool).

    With `fallback` [B, S] (>= 0) a game short of allowed sites fills up with the others, largest fallback first;
    `found` stays False for those.
    """
    rest = 2.0 if fallback is None else 2.0 + 1.0 / (1.0 + fallback)
    order = torch.where(allowed, rng.uniform(key, (sites.shape[1],)), rest)
    pick = order.topk(count, dim=1, largest=False).indices
    found = allowed.gather(1, pick)
    return sites.gather(1, pick[..., None].expand(-1, -1, 2)), found


def column_positions(rank: torch.Tensor, count: torch.Tensor, centre: torch.Tensor, outward: torch.Tensor,
                     per_column: int = 15) -> torch.Tensor:
    """Units in vertical lines 1 unit apart: rank [B, N] (0-based place in line), count [B] units in line,
    centre [B, 2] of the first column, outward [B] +1 or -1: the side further columns go. Returns [B, N, 2]."""
    column = torch.div(rank, per_column, rounding_mode="floor")
    row = rank % per_column
    in_column = count.clamp(max=per_column).float()[:, None]
    y = centre[:, 1:2] + row.float() - (in_column - 1) / 2
    x = centre[:, 0:1] + column.float() * outward.float()[:, None]
    return torch.stack([x, y], dim=-1)
