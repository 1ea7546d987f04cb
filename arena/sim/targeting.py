"""Who each unit engages: its attack order's target, or the nearest enemy it acquires when idle, on attack-move or
holding position (units.md: units auto-acquire the nearest enemy in range when idle or on attack-move)."""

from __future__ import annotations

import torch

from arena.sim.geometry import RANGE_SLACK, Pairs, gather_pair
from arena.sim.orders import current_order
from arena.sim.state import Order, State
from arena.sim.units import UnitTable

INF = float("inf")
LOW_PRIORITY = 1000.0
"""Added to the distance of targets that cannot attack (structures, eggs, Overlords) when choosing whom to engage."""


def acquire_targets(state: State, table: UnitTable, geo: Pairs) -> State:
    """Set `unit_target` for this game loop."""
    kind = state.unit_type
    order = current_order(state)
    weapon_range = table.range[kind] + RANGE_SLACK  # [B, U]
    armed = table.armed[kind] & state.unit_alive
    holding = order == int(Order.HOLD)
    # Idle and attack-moving units look as far as they see; units holding position only as far as they shoot.
    acquire_range = torch.where(holding, weapon_range, torch.maximum(weapon_range, table.sight[kind]))
    in_range = geo.hostile & (geo.edge <= weapon_range[:, :, None])
    candidates = geo.hostile & (geo.edge <= acquire_range[:, :, None])
    # Units that can fight back come first (StarCraft II's target priority), then the nearest.
    threat = table.armed[kind] | table.worker[kind]
    nearest = torch.where(candidates, geo.edge + torch.where(threat, 0.0, LOW_PRIORITY)[:, None, :], INF).argmin(dim=2)
    found = candidates.any(dim=2)

    current = state.unit_target
    keep = (current >= 0) & gather_pair(in_range, current)  # stay on a target while it is in range
    auto = torch.where(keep, current, torch.where(found, nearest, -1))

    ordered = order == int(Order.ATTACK_UNIT)
    order_target = state.order_unit[:, :, 0]
    may_auto = (order == int(Order.NONE)) | (order == int(Order.ATTACK_MOVE)) | holding
    target = torch.where(ordered, order_target, torch.where(may_auto, auto, -1))
    return state.replace(unit_target=torch.where(armed, target, -1))
