"""Between the batched protocol and pysc2: a row of a `BatchedAction` -> pysc2's `FunctionCall`, and a pysc2
observation -> the arrays of one row of the batched observation that `arena.interface.observation.observe` makes
(same keys, shapes and dtypes)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import torch

from arena.compat.pysc2 import load_pysc2
from arena.interface.actions import BatchedAction
from arena.interface.functions import NUM_FUNCTIONS, FunctionId
from arena.interface.unit_list import NUM_UNIT_FEATURES, SELECTION_FEATURES
from arena.interface.view import MINIMAP_LAYERS, InterfaceFormat

actions = load_pysc2().actions

INT16 = np.iinfo(np.int16)
CAMERA_LAYER = MINIMAP_LAYERS.index("camera")
"""pysc2's minimap layers are in MINIMAP_LAYERS' order."""
NO_OP_CALL = actions.FunctionCall(int(FunctionId.no_op), [])


def action_rows(action: BatchedAction) -> dict[str, np.ndarray]:
    """The action's fields as numpy arrays ([B] or [B, 2]), read once per step rather than per game."""
    return {field.name: getattr(action, field.name).cpu().numpy() for field in dataclasses.fields(action)}


def function_call(rows: dict[str, np.ndarray], row: int):
    """Row `row` of an action (from `action_rows`) as pysc2's FunctionCall, with the arguments its function takes in
    pysc2's order (`actions.FUNCTIONS[id].args`). Point arguments are [x, y]; the rest are [value].

    Argument types a BatchedAction does not carry (select_unit_act, select_unit_id, build_queue_id, unload_id, taken
    only by functions the embedded engine does not model) are sent as 0.
    """
    function = int(rows["function"][row])
    arguments = []
    for argument in actions.FUNCTIONS[function].args:
        value = rows.get(argument.name)
        if value is None:
            arguments.append([0])
        elif value.ndim == 2:
            arguments.append([int(v) for v in value[row]])
        else:
            arguments.append([int(value[row])])
    return actions.FunctionCall(function, arguments)


def available_mask(observation) -> np.ndarray:
    """[573] bool from pysc2's list of available function ids."""
    mask = np.zeros(NUM_FUNCTIONS, dtype=bool)
    mask[np.asarray(observation["available_actions"], dtype=np.int64)] = True
    return mask


def pad_rows(rows: np.ndarray, count: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A pysc2 list of rows [N, width] as a fixed [count, width] float32 block with a mask [count]: rows beyond N are
    zeros and False; rows beyond `count` are dropped (with a warning: raise max_units)."""
    rows = np.asarray(rows).reshape(-1, width)
    if rows.shape[0] > count:
        warnings.warn(f"{rows.shape[0]} units but max_units={count}: the rest are left out", RuntimeWarning,
                      stacklevel=2)
        rows = rows[:count]
    block = np.zeros((count, width), dtype=np.float32)
    block[:rows.shape[0]] = rows
    mask = np.zeros(count, dtype=bool)
    mask[:rows.shape[0]] = True
    return block, mask


def camera_centre(camera_layer: np.ndarray, map_size: tuple[float, float]) -> np.ndarray:
    """[2] float32 map units: the centre of the rectangle on the minimap's `camera` layer.

    pysc2 gives no camera position in feature mode, so it is read back from the layer: the minimap shows the whole
    map, its larger side over the minimap's width (pysc2 `features.init_camera`, arena `world_to_minimap`), y down.
    Precision is one minimap pixel (map side / minimap size, 1 map unit on a 64 x 64 map at minimap 64). A blank
    layer gives the map's centre.
    """
    width, height = map_size
    ys, xs = np.nonzero(camera_layer)
    if xs.size == 0:
        return np.array([width / 2, height / 2], dtype=np.float32)
    scale = camera_layer.shape[1] / max(width, height)  # minimap pixels per map unit
    x = (xs.min() + xs.max() + 1) / 2 / scale
    y = height - (ys.min() + ys.max() + 1) / 2 / scale
    return np.array([x, y], dtype=np.float32)


def observation_row(observation, *, fmt: InterfaceFormat, max_units: int, map_size: tuple[float, float],
                    action_result: int, last_action: int) -> dict[str, np.ndarray]:
    """One game's pysc2 observation as numpy arrays with the batched observation's keys, shapes and dtypes.

    The selection is pysc2's multi_select, or its single_select when one unit is selected (pysc2 fills one or the
    other). Unit lists are `max_units` rows with a mask. The camera comes from the minimap (see `camera_centre`).
    """
    selection = observation["multi_select"]
    if len(selection) == 0:
        selection = observation["single_select"]
    multi_select, multi_select_mask = pad_rows(selection, max_units, SELECTION_FEATURES)
    minimap = np.asarray(observation["feature_minimap"])
    row = {
        "available_actions": available_mask(observation),
        "player": np.asarray(observation["player"], dtype=np.float32),
        "score_cumulative": np.asarray(observation["score_cumulative"], dtype=np.float32),
        "game_loop": np.asarray(observation["game_loop"], dtype=np.int64).reshape(-1)[0],
        "action_result": np.int64(action_result),
        "last_actions": np.int64(last_action),
        "camera": camera_centre(minimap[CAMERA_LAYER], map_size),
        "multi_select": multi_select,
        "multi_select_mask": multi_select_mask,
        "control_groups": np.asarray(observation["control_groups"], dtype=np.int64),
    }
    if fmt.feature_layers:
        row["feature_screen"] = _int16(observation["feature_screen"])
        row["feature_minimap"] = _int16(minimap)
    for name, wanted in (("feature_units", fmt.feature_units), ("raw_units", fmt.raw_units)):
        if wanted:
            row[name], row[f"{name}_mask"] = pad_rows(observation[name], max_units, NUM_UNIT_FEATURES)
    return row


def _int16(layers) -> np.ndarray:
    return np.clip(np.asarray(layers), INT16.min, INT16.max).astype(np.int16)


def stack_rows(rows: list[dict[str, np.ndarray]], device: torch.device) -> dict[str, torch.Tensor]:
    """Rows of `observation_row` as the batched observation: tensors [B, ...] on `device`."""
    return {key: torch.from_numpy(np.stack([row[key] for row in rows])).to(device) for key in rows[0]}


__all__ = ["NO_OP_CALL", "action_rows", "available_mask", "camera_centre", "function_call", "observation_row", "pad_rows",
           "stack_rows"]
