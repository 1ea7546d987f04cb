"""Batched pysc2 actions: a function id and its argument values per game, turned into selections, camera moves and
engine orders."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from arena.interface.economy_actions import ECONOMY_FUNCTIONS, apply_economy, economy_available
from arena.interface.functions import ALWAYS_AVAILABLE, NUM_FUNCTIONS, UNIT_COMMANDS, ActionResult, FunctionId
from arena.interface.kernel_tables import array, kernel_tables
from arena.interface.selection import (army_units, control_group, idle_workers, one_hot, pick_unit,
                                       replace_or_add, select_idle_worker, select_point)
from arena.interface.view import (InterfaceFormat, MapGeometry, clamp_camera, minimap_scale, minimap_to_world,
                                  screen_to_world, world_to_screen)
from arena.sim.orders import issue_orders
from arena.sim.state import Order, State
from arena.sim.units import UnitTable


@dataclasses.dataclass(frozen=True)
class BatchedAction:
    """One pysc2 FunctionCall per game, as tensors. Arguments a function does not take are ignored."""

    function: torch.Tensor  # [B] long, pysc2 function id
    screen: torch.Tensor  # [B, 2] long, (x, y) screen pixels
    minimap: torch.Tensor  # [B, 2] long, (x, y) minimap pixels
    screen2: torch.Tensor  # [B, 2] long, the rectangle's second corner
    queued: torch.Tensor  # [B] long, 0 now, 1 queued
    select_point_act: torch.Tensor  # [B] long, 0..3
    select_add: torch.Tensor  # [B] long, 0..1
    control_group_act: torch.Tensor  # [B] long, 0..4
    control_group_id: torch.Tensor  # [B] long, 0..9
    select_worker: torch.Tensor  # [B] long, 0..3

    @staticmethod
    def make(function: torch.Tensor | int, *, batch: int | None = None, device: torch.device | str = "cpu",
             **arguments: torch.Tensor | int | tuple[int, int]) -> "BatchedAction":
        """Build an action; scalars broadcast over the batch, missing arguments are zero."""
        if batch is None:
            batch = function.shape[0] if isinstance(function, torch.Tensor) else 1
        unknown = set(arguments) - {f.name for f in dataclasses.fields(BatchedAction)}
        if unknown:
            raise ValueError(f"unknown action arguments {sorted(unknown)}")
        fields = {}
        for field in dataclasses.fields(BatchedAction):
            point = field.name in ("screen", "minimap", "screen2")
            shape = (batch, 2) if point else (batch,)
            value = function if field.name == "function" else arguments.get(field.name, 0)
            fields[field.name] = torch.as_tensor(value, dtype=torch.long, device=device).expand(shape).clone()
        return BatchedAction(**fields)

    @staticmethod
    def cat(actions: "list[BatchedAction]") -> "BatchedAction":
        """One action of all the games of `actions`, in order (e.g. one-game actions made separately)."""
        if not actions:
            raise ValueError("BatchedAction.cat needs at least one action")
        return BatchedAction(**{f.name: torch.cat([getattr(a, f.name) for a in actions])
                                for f in dataclasses.fields(BatchedAction)})

    @staticmethod
    def no_op(batch: int, device: torch.device | str = "cpu") -> "BatchedAction":
        return BatchedAction.make(int(FunctionId.no_op), batch=batch, device=device)

    def to(self, device: torch.device | str) -> "BatchedAction":
        return BatchedAction(**{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)})


def available_actions(state: State, player: int, table: UnitTable, allowed: torch.Tensor | None = None,
                      economy: bool = False) -> torch.Tensor:
    """[B, 573] bool: pysc2's available_actions for `player`. `allowed` [573] bool limits the functions beyond
    those always available (a scenario's command cards); `economy` adds the economy functions."""
    B = state.batch_size
    available = torch.zeros(B, NUM_FUNCTIONS, dtype=torch.bool, device=state.device)
    for f in (FunctionId.no_op, FunctionId.move_camera, FunctionId.select_point, FunctionId.select_rect,
              FunctionId.select_control_group):
        available[:, int(f)] = True
    available[:, int(FunctionId.select_army)] = army_units(state, player, table).any(dim=1)
    available[:, int(FunctionId.select_idle_worker)] = idle_workers(state, player, table).any(dim=1)
    commandable = commandable_units(state, player, table)
    can_move = commandable.any(dim=1)
    can_attack = (commandable & table.armed[state.unit_type]).any(dim=1)
    for f in UNIT_COMMANDS:
        attack = f in (FunctionId.Attack_screen, FunctionId.Attack_minimap)
        available[:, int(f)] = can_attack if attack else can_move
    if economy:
        for f, offered in economy_available(state, player, table).items():
            available[:, int(f)] = offered
    if allowed is not None:
        available = available & allowed
        for f in ALWAYS_AVAILABLE:
            available[:, int(f)] = True
    return available


def commandable_units(state: State, player: int, table: UnitTable) -> torch.Tensor:
    """[B, U] selected units the player may command: its own living mobile units."""
    own = state.unit_alive & (state.unit_owner == player)
    return state.selected[:, player] & own & table.mobile[state.unit_type]


def _pixel_tolerance(fmt: InterfaceFormat) -> float:
    return 0.5 / fmt.pixels_per_unit


def apply_selection(state: State, action: BatchedAction, player: int, table: UnitTable, fmt: InterfaceFormat,
                    visible: torch.Tensor, chosen: torch.Tensor) -> State:
    """The selection functions, for the games in `chosen` [B] whose function is one of them."""
    f = action.function
    camera = state.camera[:, player]
    selected = state.selected[:, player]
    own = state.unit_alive & (state.unit_owner == player)
    pos_px = world_to_screen(state.unit_pos, camera, fmt)
    size = fmt.screen_size
    on_screen = ((pos_px >= 0) & (pos_px < size)).all(dim=-1) & visible

    clicked_slot = pick_unit(state, screen_to_world(action.screen, camera, fmt), on_screen, table,
                             _pixel_tolerance(fmt))
    clicked = one_hot(clicked_slot, state.num_units)
    clicked_type = state.unit_type.gather(1, clicked_slot.clamp(min=0)[:, None])
    same_type = own & on_screen & (state.unit_type == clicked_type) & (clicked_slot[:, None] >= 0)
    by_point = select_point(selected, clicked, action.select_point_act, same_type)

    low = torch.minimum(action.screen, action.screen2).float()
    high = torch.maximum(action.screen, action.screen2).float() + 1.0
    radius_px = (table.radius[state.unit_type] * fmt.pixels_per_unit)[..., None]
    in_box = ((pos_px + radius_px > low[:, None]) & (pos_px - radius_px < high[:, None])).all(dim=-1)
    by_rect = replace_or_add(selected, in_box & own & on_screen, action.select_add)

    by_army = replace_or_add(selected, army_units(state, player, table), action.select_add)
    by_worker = select_idle_worker(selected, idle_workers(state, player, table), action.select_worker)
    # Out-of-range ids are clamped only to index safely; those games are not `chosen` and keep their groups.
    group_id = action.control_group_id.clamp(0, state.control_groups.shape[2] - 1)
    by_group, groups = control_group(selected, state.control_groups[:, player], action.control_group_act, group_id)

    def when(fid: FunctionId) -> torch.Tensor:
        return (chosen & (f == int(fid)))[:, None]

    new = selected
    for fid, result in ((FunctionId.select_point, by_point), (FunctionId.select_rect, by_rect),
                        (FunctionId.select_army, by_army), (FunctionId.select_idle_worker, by_worker),
                        (FunctionId.select_control_group, by_group)):
        new = torch.where(when(fid), result, new)
    all_selected = state.selected.clone()
    all_selected[:, player] = new & state.unit_alive
    all_groups = state.control_groups.clone()
    all_groups[:, player] = torch.where(when(FunctionId.select_control_group)[:, :, None], groups,
                                        state.control_groups[:, player])
    return state.replace(selected=all_selected, control_groups=all_groups)


def apply_command(state: State, action: BatchedAction, player: int, table: UnitTable, fmt: InterfaceFormat,
                  geometry: MapGeometry, visible: torch.Tensor, chosen: torch.Tensor) -> State:
    """Unit commands (attack, move, smart, hold, stop) and move_camera, for the games in `chosen` [B]."""
    f = action.function
    camera = state.camera[:, player]
    on_minimap = (f == int(FunctionId.Attack_minimap)) | (f == int(FunctionId.Move_minimap)) | (
        f == int(FunctionId.Smart_minimap))
    point = torch.where(on_minimap[:, None], minimap_to_world(action.minimap, fmt, geometry),
                        screen_to_world(action.screen, camera, fmt))
    enemy = visible & (state.unit_owner != player) & (state.unit_owner != 2)
    under = torch.where(on_minimap, -1, pick_unit(state, point, enemy, table, _pixel_tolerance(fmt)))
    attack = (f == int(FunctionId.Attack_screen)) | (f == int(FunctionId.Attack_minimap))
    smart = (f == int(FunctionId.Smart_screen)) | (f == int(FunctionId.Smart_minimap))
    move = (f == int(FunctionId.Move_screen)) | (f == int(FunctionId.Move_minimap))
    on_unit = under >= 0
    kind = torch.full_like(f, int(Order.NONE))
    kind = torch.where(move | (smart & ~on_unit), int(Order.MOVE), kind)
    kind = torch.where((attack | smart) & on_unit, int(Order.ATTACK_UNIT), kind)
    kind = torch.where(attack & ~on_unit, int(Order.ATTACK_MOVE), kind)
    kind = torch.where(f == int(FunctionId.HoldPosition_quick), int(Order.HOLD), kind)
    commanding = chosen & (move | attack | smart | (f == int(FunctionId.HoldPosition_quick))
                           | (f == int(FunctionId.Stop_quick)))
    units = commandable_units(state, player, table) & commanding[:, None]
    # Unarmed units told to attack walk there instead.
    unarmed = ~table.armed[state.unit_type]
    armed_units, unarmed_units = units & ~unarmed, units & unarmed
    queued = (action.queued != 0) & (f != int(FunctionId.Stop_quick))
    state = issue_orders(state, units=armed_units, kind=kind, pos=point, target=torch.where(on_unit, under, -1),
                         queued=queued)
    walk = torch.where(kind == int(Order.ATTACK_UNIT), int(Order.MOVE), kind)
    walk = torch.where(walk == int(Order.ATTACK_MOVE), int(Order.MOVE), walk)
    state = issue_orders(state, units=unarmed_units, kind=walk, pos=point, target=torch.full_like(under, -1),
                         queued=queued)

    moving_camera = chosen & (f == int(FunctionId.move_camera))
    new_camera = clamp_camera(minimap_to_world(action.minimap, fmt, geometry), geometry)
    cameras = state.camera.clone()
    cameras[:, player] = torch.where(moving_camera[:, None], new_camera, camera)
    return state.replace(camera=cameras)


def validate_arguments(action: BatchedAction, fmt: InterfaceFormat) -> torch.Tensor:
    """[B] bool: every argument value is within pysc2's range for its type."""
    def within(value: torch.Tensor, size: int) -> torch.Tensor:
        return (value >= 0) & (value < size)

    screen_ok = within(action.screen, fmt.screen_size).all(dim=1) & within(action.screen2, fmt.screen_size).all(dim=1)
    return (screen_ok & within(action.minimap, fmt.minimap_size).all(dim=1) & within(action.queued, 2)
            & within(action.select_point_act, 4) & within(action.select_add, 2)
            & within(action.control_group_act, 5) & within(action.control_group_id, 10)
            & within(action.select_worker, 4) & within(action.function, NUM_FUNCTIONS))


def apply_action(state: State, action: BatchedAction, player: int, table: UnitTable, fmt: InterfaceFormat,
                 geometry: MapGeometry, visible: torch.Tensor, allowed: torch.Tensor | None = None,
                 economy: bool = False) -> tuple[State, torch.Tensor]:
    """Carry out one action per game for `player`. Returns the new state and pysc2's ActionResult per game [B].

    Functions that are not available, and arguments out of range, do nothing and report an error; economy
    functions that the game refuses (not enough minerals, invalid placement, ...) report the game's reason.
    `visible` [B, U] are the units the player can see (only those can be clicked); `allowed` and `economy` as for
    `available_actions`. On the CPU a compiled kernel carries out the selections, unit commands and camera moves
    (`apply_action_compiled`); `apply_action_torch` is the reference it is tested against.
    """
    if state.device.type == "cpu":
        return apply_action_compiled(state, action, player, table, fmt, geometry, visible, allowed, economy)
    return apply_action_torch(state, action, player, table, fmt, geometry, visible, allowed, economy)


def apply_action_torch(state: State, action: BatchedAction, player: int, table: UnitTable, fmt: InterfaceFormat,
                       geometry: MapGeometry, visible: torch.Tensor, allowed: torch.Tensor | None = None,
                       economy: bool = False) -> tuple[State, torch.Tensor]:
    """`apply_action` in torch operations (any device)."""
    available = available_actions(state, player, table, allowed, economy)
    in_range = validate_arguments(action, fmt)
    is_available = available.gather(1, action.function.clamp(0, NUM_FUNCTIONS - 1)[:, None]).squeeze(1)
    chosen = is_available & in_range
    state = apply_selection(state, action, player, table, fmt, visible, chosen)
    state = apply_command(state, action, player, table, fmt, geometry, visible, chosen)
    refused = torch.zeros_like(action.function)
    if economy:
        state, refused = apply_economy(state, action, player, table, fmt, geometry, visible, chosen)
    return state, action_results(chosen, in_range, refused)


def apply_action_compiled(state: State, action: BatchedAction, player: int, table: UnitTable, fmt: InterfaceFormat,
                          geometry: MapGeometry, visible: torch.Tensor, allowed: torch.Tensor | None = None,
                          economy: bool = False) -> tuple[State, torch.Tensor]:
    """`apply_action` on the CPU through the compiled kernel `arena.interface.kernels.apply_actions` (the economy's
    functions then through `apply_economy`, for the games that asked for one): the same new state and results."""
    from arena.interface.kernels import apply_actions  # numba compiles on first use
    from arena.sim.kernels import follow_torch_threads

    follow_torch_threads()
    tables = kernel_tables(table, allowed)
    B, U = state.unit_type.shape

    changed = {name: getattr(state, name).clone(memory_format=torch.contiguous_format)
               for name in ("order_kind", "order_pos", "order_unit", "order_type", "unit_target", "selected",
                            "control_groups", "camera")}
    chosen = torch.empty(B, dtype=torch.bool)
    result = torch.empty(B, dtype=torch.long)
    apply_actions(
        B, array(state.unit_type), array(state.unit_owner), array(state.unit_alive), array(state.unit_pos),
        array(state.unit_build_left), array(state.unit_cargo), changed["order_kind"].numpy(),
        changed["order_pos"].numpy(), changed["order_unit"].numpy(), changed["order_type"].numpy(),
        changed["unit_target"].numpy(), changed["selected"].numpy(), changed["control_groups"].numpy(),
        changed["camera"].numpy(), array(visible), tables.units, tables.functions, player, bool(economy),
        array(action.function), array(action.screen), array(action.minimap), array(action.screen2),
        array(action.queued), array(action.select_point_act), array(action.select_add),
        array(action.control_group_act), array(action.control_group_id), array(action.select_worker),
        np.float32(fmt.pixels_per_unit),
        int(fmt.screen_size), int(fmt.minimap_size), np.float32(minimap_scale(fmt, geometry)),
        np.float32(geometry.height), np.array(geometry.camera_bounds, dtype=np.float32),
        np.float32(0.5 / fmt.pixels_per_unit), np.empty((B, tables.functions.allowed.shape[0]), dtype=np.bool_),
        np.empty((B, U), dtype=np.bool_), chosen.numpy(), result.numpy())
    state = state.replace(**changed)
    if economy:
        # Smart_screen on a resource is the economy's too: the selected workers gather there.
        wanted = chosen & torch.isin(action.function, ECONOMY_OR_SMART)
        if bool(wanted.any()):
            state, refused = apply_economy(state, action, player, table, fmt, geometry, visible, chosen)
            result = torch.where(chosen & (refused > 0), refused, result)
    return state, result


ECONOMY_OR_SMART = torch.tensor([int(f) for f in ECONOMY_FUNCTIONS + (FunctionId.Smart_screen,)])
"""The functions `apply_economy` may act on (Smart_screen on a resource: the selected workers gather there)."""


def action_results(chosen: torch.Tensor, in_range: torch.Tensor, refused: torch.Tensor) -> torch.Tensor:
    """[B] pysc2's ActionResult: the economy's refusal (`refused` > 0) or Success where the action was carried out
    (`chosen`), else InvalidAvailableAction where its arguments were in range, else Error."""
    return torch.where(chosen, torch.where(refused > 0, refused, int(ActionResult.Success)),
                       torch.where(in_range, int(ActionResult.InvalidAvailableAction), int(ActionResult.Error)))
