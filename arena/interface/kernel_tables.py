"""The constant arrays the observation's and the actions' compiled kernels (arena.interface.kernels) read: the unit
table's columns, pysc2's ability id of each order, and which functions available_actions offers when. Made once per
unit table and set of allowed functions."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from arena.interface.economy_actions import BUILD_FUNCTIONS, RALLY_FUNCTIONS, TRAIN_FUNCTIONS, rally_structures
from arena.interface.functions import ALWAYS_AVAILABLE, NUM_FUNCTIONS, UNIT_COMMANDS, FunctionId
from arena.interface.kernels import FunctionTable, ObservedTable
from arena.interface.unit_list import ORDER_ABILITY
from arena.sim.state import Order
from arena.sim.units import UnitTable


@dataclasses.dataclass(frozen=True)
class KernelTables:
    units: ObservedTable
    functions: FunctionTable


_TABLES: dict[tuple[int, int], tuple[UnitTable, torch.Tensor | None, KernelTables]] = {}
"""By ids of (UnitTable, allowed functions), those two kept alive beside the arrays made from them."""


def kernel_tables(table: UnitTable, allowed: torch.Tensor | None) -> KernelTables:
    """The kernels' arrays of a unit table and a scenario's allowed functions [573] (None: all)."""
    key = (id(table), id(allowed))
    cached = _TABLES.get(key)
    if cached is None or cached[0] is not table or cached[1] is not allowed:
        cached = _TABLES[key] = (table, allowed, KernelTables(_unit_arrays(table), _function_arrays(table, allowed)))
    return cached[2]


def array(tensor: torch.Tensor) -> np.ndarray:
    """A CPU tensor as the C-contiguous numpy array the kernels take (numba compiles once per array layout): a view
    of its memory when it is contiguous already (the kernels then write through it), else a copy."""
    return tensor.contiguous().numpy()


def _numpy(t: torch.Tensor, dtype) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(dtype))


def _unit_arrays(table: UnitTable) -> ObservedTable:
    ability = np.zeros(len(Order), dtype=np.float32)
    for order, value in ORDER_ABILITY.items():
        ability[int(order)] = value
    return ObservedTable(
        pysc2_id=_numpy(table.pysc2_id, np.int64), max_hp=_numpy(table.max_hp, np.float32),
        max_shields=_numpy(table.max_shields, np.float32), radius=_numpy(table.radius, np.float32),
        resource=_numpy(table.resource, np.int64), build_loops=_numpy(table.build_loops, np.float32),
        supply=_numpy(table.supply, np.float32), per_order=_numpy(table.per_order, np.int64),
        supply_provided=_numpy(table.supply_provided, np.float32), worker=_numpy(table.worker, np.bool_),
        armed=_numpy(table.armed, np.bool_), mobile=_numpy(table.mobile, np.bool_), order_ability=ability)


def _function_arrays(table: UnitTable, allowed: torch.Tensor | None) -> FunctionTable:
    made = {**BUILD_FUNCTIONS, **TRAIN_FUNCTIONS}
    rallies = torch.tensor([int(f) for f in RALLY_FUNCTIONS], device=table.radius.device)
    attacks = (FunctionId.Attack_screen, FunctionId.Attack_minimap)
    return FunctionTable(
        always=np.array([int(f) for f in ALWAYS_AVAILABLE], dtype=np.int64), army=int(FunctionId.select_army),
        idle_worker=int(FunctionId.select_idle_worker),
        commands=np.array([int(f) for f in UNIT_COMMANDS], dtype=np.int64),
        command_attacks=np.array([f in attacks for f in UNIT_COMMANDS], dtype=np.bool_),
        makes=np.array([int(f) for f in made], dtype=np.int64),
        maker=np.array([int(table.producer[int(u)]) for u in made.values()], dtype=np.int64),
        requires=np.array([int(table.requires[int(u)]) for u in made.values()], dtype=np.int64),
        gather=int(FunctionId.Harvest_Gather_screen), harvest_return=int(FunctionId.Harvest_Return_quick),
        rallies=_numpy(rallies, np.int64), rally_types=_numpy(rally_structures(table, rallies), np.bool_),
        allowed=np.ones(NUM_FUNCTIONS, dtype=np.bool_) if allowed is None else _numpy(allowed, np.bool_))


__all__ = ["KernelTables", "array", "kernel_tables"]
