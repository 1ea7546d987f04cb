"""Movement at unit speed towards each unit's goal, and collisions: units do not overlap, they push apart and slide
around each other (SMAX's `_push_units_away`, for circles of StarCraft II radii)."""

from __future__ import annotations

import torch

from arena.sim.economy import economy_goals
from arena.sim.geometry import Pairs, gather_pair, gather_units, pair_offsets, planar_norm, unit_radius
from arena.sim.orders import current_order
from arena.sim.state import Order, State
from arena.sim.units import UnitTable

ARRIVAL_DISTANCE = 0.1
"""A move order is done within this distance of its point."""
CROWD_ARRIVAL_DISTANCE = 1.5
"""...or within this distance when collisions keep the unit from getting closer (a group moving to one point)."""


def movement_goal(state: State, table: UnitTable, geo: Pairs, home: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each unit wants to go this loop and how far it wants to travel: ([B, U, 2], [B, U]). `home` [B, U]
    is each unit's nearest own town hall when the economy runs (workers carry cargo there)."""
    kind, order = state.unit_type, current_order(state)
    target = state.unit_target
    engaging = target >= 0
    target_pos = gather_units(state.unit_pos, target)
    chase = gather_pair(geo.edge, target) - table.range[kind]  # how far out of weapon range the target is
    order_pos = state.order_pos[:, :, 0]
    walking = (order == int(Order.MOVE)) | (order == int(Order.ATTACK_MOVE))
    to_order = planar_norm(order_pos - state.unit_pos)
    goal = torch.where(engaging[..., None], target_pos, order_pos)
    wanted = torch.where(engaging, chase.clamp(min=0), torch.where(walking, to_order, 0.0))
    if home is not None:
        on_economy, economy_goal, economy_wanted = economy_goals(state, table, home)
        goal = torch.where(on_economy[..., None], economy_goal, goal)
        wanted = torch.where(on_economy, economy_wanted, wanted)
    # Units on hold position or without legs never move.
    wanted = torch.where((order == int(Order.HOLD)) | ~table.mobile[kind] | ~state.unit_alive, 0.0, wanted)
    return goal, wanted


def move_units(state: State, table: UnitTable, geo: Pairs, home: torch.Tensor | None = None) -> State:
    goal, wanted = movement_goal(state, table, geo, home)
    offset = goal - state.unit_pos
    length = planar_norm(offset).clamp(min=1e-6)
    step = torch.minimum(wanted, table.speed[state.unit_type])
    return state.replace(unit_pos=state.unit_pos + offset * (step / length)[..., None])


GOLDEN_ANGLE = 2.399963
"""Pairs at the same point separate along a fixed direction that depends on the pair: (i + j) golden angles."""


def passes_through(state: State, table: UnitTable) -> torch.Tensor:
    """[B, U] workers harvesting: they ignore collisions, as StarCraft II's gathering workers do."""
    order = current_order(state)
    return table.worker[state.unit_type] & ((order == int(Order.GATHER)) | (order == int(Order.RETURN)))


def separate_units(state: State, table: UnitTable, bounds: torch.Tensor, before: torch.Tensor | None = None,
                   dist_before: torch.Tensor | None = None) -> State:
    """Push overlapping ground units apart (each moves half the overlap; against a structure or resource, which
    never moves, the unit moves all of it), then keep them in `bounds` [4].

    `before` [B, U, 2] are the positions at the start of the loop (given when the scenario has structures): a unit
    walking straight into a structure slides around it to the side its walk leans to. `dist_before` [B, U, U] are
    the centre distances at the start of the loop: then only pairs that were close enough to touch now are looked
    at, as a list (eager), instead of every pair (compiled, or without it); both give the same pushes."""
    pos = state.unit_pos
    radius = unit_radius(state, table)
    solid = table.collides[state.unit_type] & state.unit_alive & ~passes_through(state, table)
    movable = table.mobile[state.unit_type]
    if dist_before is not None and not torch.compiler.is_compiling():
        push, blocked = _pushes_of_close_pairs(pos, radius, solid, movable, dist_before, table)
    else:
        push, blocked = _pushes_of_all_pairs(pos, radius, solid, movable)
    push_x, push_y = push[..., 0], push[..., 1]
    if before is not None:
        push_x, push_y = _slide_around_obstacles(push_x, push_y, pos - before, blocked)
    new_pos = pos - torch.stack([push_x, push_y], dim=-1)
    low, high = bounds[:2] + radius[..., None], bounds[2:] - radius[..., None]
    new_pos = torch.where(solid[..., None], torch.minimum(torch.maximum(new_pos, low), high), new_pos)
    return state.replace(unit_pos=new_pos)


def _pair_push(dx: torch.Tensor, dy: torch.Tensor, reach: torch.Tensor, share: torch.Tensor, touching: torch.Tensor,
               i: torch.Tensor, j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The push on unit i from unit j (subtracted from i's position), for pairs given as tensors of any one shape:
    offsets j - i, both radii, i's share of the overlap, whether they touch, and the two slots."""
    dist = (dx * dx + dy * dy).sqrt()
    half_overlap = torch.where(touching & (dist < reach), (reach - dist) * share, 0.0)
    tie = dist <= 1e-6
    scale = torch.where(tie, 0.0, half_overlap / dist.clamp(min=1e-6))
    # Same point: i < j goes one way along the pair's direction, j < i the other, so the pair separates.
    tie_push = torch.where(tie, half_overlap, 0.0) * torch.where(i < j, 1.0, -1.0)
    angle = (i + j).float() * GOLDEN_ANGLE
    return dx * scale + tie_push * torch.cos(angle), dy * scale + tie_push * torch.sin(angle)


def _share(movable_i: torch.Tensor, movable_j: torch.Tensor) -> torch.Tensor:
    """The part of a pair's overlap that unit i moves: half between two units, all of it against a structure."""
    return torch.where(movable_i, torch.where(movable_j, 0.5, 1.0), 0.0)


def _pushes_of_all_pairs(pos: torch.Tensor, radius: torch.Tensor, solid: torch.Tensor, movable: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Pushes [B, U, 2] and contact with an obstacle [B, U], over [B, U, U] pair tensors (no [B, U, U, 2]
    intermediates), which torch.compile fuses into a single loop."""
    dx, dy = pair_offsets(pos)
    reach = radius[:, :, None] + radius[:, None, :]
    slot = torch.arange(pos.shape[1], device=pos.device)
    i, j = slot[:, None], slot[None, :]
    touching = solid[:, :, None] & solid[:, None, :] & (i != j)
    push_x, push_y = _pair_push(dx, dy, reach, _share(movable[:, :, None], movable[:, None, :]), touching, i, j)
    blocked = (touching & ((dx * dx + dy * dy).sqrt() < reach) & ~movable[:, None, :]).any(dim=2)
    return torch.stack([push_x.sum(dim=2), push_y.sum(dim=2)], dim=-1), blocked


def _pushes_of_close_pairs(pos: torch.Tensor, radius: torch.Tensor, solid: torch.Tensor, movable: torch.Tensor,
                           dist_before: torch.Tensor, table: UnitTable) -> tuple[torch.Tensor, torch.Tensor]:
    """As `_pushes_of_all_pairs`, over the list of pairs close enough at the start of the loop to touch now (no
    unit moves more than its speed in a loop before separation)."""
    B, U = solid.shape
    slack = 2.0 * float(table.speed.max()) + 1e-3
    reach_all = radius[:, :, None] + radius[:, None, :]
    close = solid[:, :, None] & solid[:, None, :] & (dist_before < reach_all + slack)
    close.diagonal(dim1=1, dim2=2).fill_(False)
    b, i, j = close.nonzero(as_tuple=True)
    offset = pos[b, j] - pos[b, i]
    reach = radius[b, i] + radius[b, j]
    push_x, push_y = _pair_push(offset[:, 0], offset[:, 1], reach, _share(movable[b, i], movable[b, j]),
                                torch.ones_like(b, dtype=torch.bool), i, j)
    row = b * U + i
    push = torch.zeros(B * U, 2, device=pos.device).index_add_(0, row, torch.stack([push_x, push_y], dim=-1))
    against = ((offset * offset).sum(dim=-1).sqrt() < reach) & ~movable[b, j]
    blocked = torch.zeros(B * U, device=pos.device).index_add_(0, row, against.float()) > 0
    return push.reshape(B, U, 2), blocked.reshape(B, U)


def _slide_around_obstacles(push_x: torch.Tensor, push_y: torch.Tensor, walked: torch.Tensor,
                            blocked: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A unit pushed straight back by an obstacle it walks into (push against its walk) also moves sideways by the
    push's length, to the side its walk leans to (left on an exact tie), so that it goes round the obstacle."""
    against = blocked  # [B, U] touching an obstacle
    wx, wy = walked[..., 0], walked[..., 1]
    back = push_x * wx + push_y * wy  # > 0: the push (subtracted) opposes the walk
    length = (push_x * push_x + push_y * push_y).sqrt()
    side = torch.where(push_x * wy - push_y * wx > 0, -1.0, 1.0)
    slide = against & (back > 0) & (length > 1e-6)
    tx, ty = -push_y * side, push_x * side
    return torch.where(slide, push_x + tx, push_x), torch.where(slide, push_y + ty, push_y)


def arrivals(state: State, before: torch.Tensor, table: UnitTable) -> torch.Tensor:
    """[B, U] units whose move or attack-move order is done this loop.

    `before` [B, U, 2] are the positions at the start of the loop: a unit near its point that collisions kept from
    making progress has arrived too, as a group sent to one point stops around it in StarCraft II.
    """
    order = current_order(state)
    walking = (order == int(Order.MOVE)) | ((order == int(Order.ATTACK_MOVE)) & (state.unit_target < 0))
    point = state.order_pos[:, :, 0]
    now = planar_norm(point - state.unit_pos)
    then = planar_norm(point - before)
    stuck = (then - now) < 0.25 * table.speed[state.unit_type]
    done = (now <= ARRIVAL_DISTANCE) | (stuck & (now <= CROWD_ARRIVAL_DISTANCE))
    return walking & done & state.unit_alive
