"""Building batched actions for scripted agents: one constructor per pysc2 function they use, and `choose`, which
picks, per game, the first action whose condition holds (vectorised `if / elif / else` over the batch)."""

from __future__ import annotations

import dataclasses

import torch

from arena.interface.actions import BatchedAction
from arena.interface.functions import FunctionId


def _points(point: torch.Tensor, size: int) -> torch.Tensor:
    """Float or integer (x, y) points [B, 2] -> integer pixels clamped to a size x size grid."""
    return point.floor().long().clamp(0, size - 1) if point.is_floating_point() else point.clamp(0, size - 1)


def no_op(batch: int, device: torch.device) -> BatchedAction:
    return BatchedAction.no_op(batch, device)


def select_army(batch: int, device: torch.device, *, add: bool = False) -> BatchedAction:
    return BatchedAction.make(int(FunctionId.select_army), batch=batch, device=device, select_add=int(add))


def select_point(point: torch.Tensor, size: int, *, act: int = 0) -> BatchedAction:
    """select_point at screen pixels `point` [B, 2]; act 0 select, 1 toggle, 2 all of type, 3 add all of type."""
    return BatchedAction.make(int(FunctionId.select_point), batch=point.shape[0], device=point.device,
                              screen=_points(point, size), select_point_act=act)


def select_rect(corner: torch.Tensor, corner2: torch.Tensor, size: int, *, add: bool = False) -> BatchedAction:
    """select_rect between the screen pixels `corner` and `corner2` [B, 2]."""
    return BatchedAction.make(int(FunctionId.select_rect), batch=corner.shape[0], device=corner.device,
                              screen=_points(corner, size), screen2=_points(corner2, size), select_add=int(add))


def control_group(act: int, group: int, batch: int, device: torch.device) -> BatchedAction:
    """select_control_group: act 0 recall, 1 set, 2 append, 3 set and steal, 4 append and steal."""
    return BatchedAction.make(int(FunctionId.select_control_group), batch=batch, device=device,
                              control_group_act=act, control_group_id=group)


def screen_command(function: FunctionId, point: torch.Tensor, size: int,
                   queued: torch.Tensor | bool = False) -> BatchedAction:
    """A unit command on the screen (Move_screen, Attack_screen, Smart_screen) at pixels `point` [B, 2]."""
    queued_ = queued.long() if isinstance(queued, torch.Tensor) else int(queued)
    return BatchedAction.make(int(function), batch=point.shape[0], device=point.device,
                              screen=_points(point, size), queued=queued_)


def minimap_command(function: FunctionId, point: torch.Tensor, size: int) -> BatchedAction:
    """A minimap function (Attack_minimap, Move_minimap, move_camera) at minimap pixels `point` [B, 2]."""
    return BatchedAction.make(int(function), batch=point.shape[0], device=point.device,
                              minimap=_points(point, size))


def choose(cases: list[tuple[torch.Tensor, BatchedAction]], default: BatchedAction) -> BatchedAction:
    """Per game, the action of the first case whose condition [B] holds, else `default`."""
    fields = {f.name: getattr(default, f.name) for f in dataclasses.fields(BatchedAction)}
    for condition, action in reversed(cases):
        for name, value in fields.items():
            mask = condition.reshape(condition.shape + (1,) * (value.dim() - 1))
            fields[name] = torch.where(mask, getattr(action, name), value)
    return BatchedAction(**fields)
