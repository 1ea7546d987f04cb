"""pysc2's selection semantics: select_point (select, toggle, all of a type, add all of a type), select_rect
(replace or add), select_army, select_idle_worker and control groups. Each is a pure function of the selection."""

from __future__ import annotations

import torch

from arena.sim.geometry import planar_norm
from arena.sim.orders import current_order
from arena.sim.state import Order, State
from arena.sim.units import UnitTable


def pick_unit(state: State, point: torch.Tensor, candidates: torch.Tensor, table: UnitTable,
              tolerance: float) -> torch.Tensor:
    """[B] the slot of the candidate unit [B, U] whose circle holds `point` [B, 2] (nearest centre wins), or -1."""
    dist = planar_norm(state.unit_pos - point[:, None, :])
    hit = candidates & (dist <= table.radius[state.unit_type] + tolerance)
    slot = torch.where(hit, dist, float("inf")).argmin(dim=1)
    return torch.where(hit.any(dim=1), slot, -1)


def one_hot(slot: torch.Tensor, units: int) -> torch.Tensor:
    """[B] slot or -1 -> [B, U] bool."""
    return (torch.arange(units, device=slot.device)[None, :] == slot[:, None]) & (slot[:, None] >= 0)


def select_point(selected: torch.Tensor, clicked: torch.Tensor, act: torch.Tensor, same_type: torch.Tensor
                 ) -> torch.Tensor:
    """pysc2 select_point_act: 0 select, 1 toggle, 2 select all of the type on screen, 3 add all of the type.

    selected [B, U], clicked [B, U] one-hot (or empty), act [B], same_type [B, U] own on-screen units of the
    clicked unit's type.
    """
    act = act[:, None]
    return torch.where(act == 0, clicked,
                       torch.where(act == 1, selected ^ clicked,
                                   torch.where(act == 2, same_type, selected | same_type)))


def replace_or_add(selected: torch.Tensor, chosen: torch.Tensor, add: torch.Tensor) -> torch.Tensor:
    """select_add: 0 replaces the selection with `chosen`, 1 adds it."""
    return torch.where(add[:, None] != 0, selected | chosen, chosen)


def army_units(state: State, player: int, table: UnitTable) -> torch.Tensor:
    """[B, U] the player's living army units (armed, mobile, not workers)."""
    kind = state.unit_type
    own = state.unit_alive & (state.unit_owner == player)
    return own & table.armed[kind] & table.mobile[kind] & ~table.worker[kind]


def idle_workers(state: State, player: int, table: UnitTable) -> torch.Tensor:
    """[B, U] the player's living workers with no order."""
    own = state.unit_alive & (state.unit_owner == player)
    return own & table.worker[state.unit_type] & (current_order(state) == int(Order.NONE))


def select_idle_worker(selected: torch.Tensor, idle: torch.Tensor, mode: torch.Tensor) -> torch.Tensor:
    """pysc2 select_worker: 0 select one, 1 add one, 2 select all, 3 add all (the first idle worker by slot)."""
    first = idle & (idle.long().cumsum(dim=1) == 1)
    chosen = torch.where((mode >= 2)[:, None], idle, first)
    return torch.where((mode % 2 == 1)[:, None], selected | chosen, chosen)


def control_group(selected: torch.Tensor, groups: torch.Tensor, act: torch.Tensor, group_id: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """pysc2 control_group_act: 0 recall, 1 set, 2 append, 3 set and steal, 4 append and steal.

    selected [B, U], groups [B, G, U], act [B], group_id [B]. Returns (selection, groups).
    """
    G = groups.shape[1]
    this = torch.arange(G, device=groups.device)[None, :] == group_id[:, None]  # [B, G]
    group = groups.gather(1, group_id[:, None, None].expand(-1, 1, groups.shape[2])).squeeze(1)  # [B, U]
    act_ = act[:, None]
    new_group = torch.where(act_ == 0, group, torch.where((act_ == 1) | (act_ == 3), selected, group | selected))
    steal = (act == 3) | (act == 4)
    others = groups & ~(steal[:, None, None] & selected[:, None, :])  # stealing removes them from other groups
    new_groups = torch.where(this[:, :, None], new_group[:, None, :], others)
    new_selection = torch.where(act_ == 0, group, selected)
    return new_selection, new_groups
