"""Order queues: what each unit was told to do, and what happens when an order is done."""

from __future__ import annotations

import torch

from arena.sim.geometry import gather_units
from arena.sim.state import Order, State


def current_order(state: State) -> torch.Tensor:
    """[B, U] the order each unit is carrying out now."""
    return state.order_kind[:, :, 0]


def pop_orders(state: State, done: torch.Tensor) -> State:
    """Drop the current order of the units in `done` [B, U]; the next queued order becomes current."""
    kind = torch.cat([state.order_kind[:, :, 1:], torch.zeros_like(state.order_kind[:, :, :1])], dim=2)
    pos = torch.cat([state.order_pos[:, :, 1:], state.order_pos[:, :, -1:]], dim=2)
    unit = torch.cat([state.order_unit[:, :, 1:], torch.full_like(state.order_unit[:, :, :1], -1)], dim=2)
    build = torch.cat([state.order_type[:, :, 1:], torch.zeros_like(state.order_type[:, :, :1])], dim=2)
    return state.replace(
        order_kind=torch.where(done[:, :, None], kind, state.order_kind),
        order_pos=torch.where(done[:, :, None, None], pos, state.order_pos),
        order_unit=torch.where(done[:, :, None], unit, state.order_unit),
        order_type=torch.where(done[:, :, None], build, state.order_type),
    )


def issue_orders(state: State, *, units: torch.Tensor, kind: torch.Tensor, pos: torch.Tensor,
                 target: torch.Tensor, queued: torch.Tensor, build: torch.Tensor | None = None) -> State:
    """Give an order to the units in `units` [B, U].

    kind [B] Order (NONE clears the queue, as Stop does), pos [B, 2], target [B] slot or -1, queued [B] bool:
    append to the queue (dropped when the queue is full) instead of replacing it; build [B] the UnitType of a
    BUILD order.
    """
    B, U, Q = state.order_kind.shape
    occupied = state.order_kind != int(Order.NONE)
    free_slot = torch.where(occupied.all(dim=2), Q, (~occupied).long().argmax(dim=2))  # [B, U]
    slot = torch.where(queued[:, None], free_slot, torch.zeros_like(free_slot))
    q = torch.arange(Q, device=state.device)
    write = units[:, :, None] & (q[None, None, :] == slot[:, :, None])  # [B, U, Q]
    clear = units[:, :, None] & ~queued[:, None, None] & (q[None, None, :] > 0)
    new_kind = torch.where(write, kind[:, None, None], torch.where(clear, 0, state.order_kind))
    new_pos = torch.where(write[..., None], pos[:, None, None, :], state.order_pos)
    new_unit = torch.where(write, target[:, None, None], torch.where(clear, -1, state.order_unit))
    build = torch.zeros_like(kind) if build is None else build
    new_type = torch.where(write, build[:, None, None], torch.where(clear, 0, state.order_type))
    # A new current order drops the current engagement; the targeting pass picks again.
    retarget = units & ~queued[:, None]
    return state.replace(order_kind=new_kind, order_pos=new_pos, order_unit=new_unit, order_type=new_type,
                         unit_target=torch.where(retarget, -1, state.unit_target))


def attack_order_target_alive(state: State) -> torch.Tensor:
    """[B, U] bool: the unit's current order is ATTACK_UNIT and its target still lives."""
    target = state.order_unit[:, :, 0]
    alive = gather_units(state.unit_alive, target) & (target >= 0)
    return (current_order(state) == int(Order.ATTACK_UNIT)) & alive
