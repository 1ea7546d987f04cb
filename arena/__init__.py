"""The game side: a batched StarCraft-like engine behind PySC2's interface."""

from arena.env import ArenaEnv, ArenaSingleEnv, StepType, make
from arena.interface.actions import BatchedAction
from arena.interface.functions import FunctionId
from arena.interface.view import InterfaceFormat
from arena.scenarios.registry import make_scenario, scenario_ids

__all__ = ["ArenaEnv", "ArenaSingleEnv", "BatchedAction", "FunctionId", "InterfaceFormat", "StepType", "make", "make_scenario",
           "scenario_ids"]
