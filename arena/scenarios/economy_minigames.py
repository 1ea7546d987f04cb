"""The two economy mini-games (minigames.md): CollectMineralsAndGas (score = minerals and gas collected) and
BuildMarines (+1 per Marine made), on one map: a Command Center between a west and an east mineral line.

Every episode is a fresh spawn: mineral fields and geysers start full again, so a mined-out field never carries
over into the next episode (the real maps' pysc2 bug #271).
"""

from __future__ import annotations

import torch

from arena.interface.functions import UNIT_COMMANDS, FunctionId
from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.spawn import column_positions, slot_range
from arena.sim.economy import spawn_units
from arena.sim.rules import LoopTrigger
from arena.sim.state import Order, Owner, Score, State
from arena.sim.units import UnitType, unit_table

PLAYABLE = (19.9, 19.0, 45.9, 37.0)
CAMERA_START = (32.9, 28.0)
"""The playable area's centre: one screen (24 map units) shows the Command Center, both mineral lines and every
geyser."""
COMMAND_CENTER = (29.8, 28.0)
WEST_FIELDS = ((23.0, 28.5), (24.0, 29.5), (23.0, 26.5), (25.0, 22.5), (25.0, 32.5), (24.0, 23.5), (24.0, 31.5),
               (24.0, 25.5))
EAST_FIELDS = ((41.0, 22.5), (42.0, 25.5), (42.0, 23.5), (41.0, 32.5), (43.0, 26.5), (43.0, 28.5), (42.0, 29.5),
               (42.0, 31.5))
GEYSERS = ((26.5, 20.5), (39.5, 20.5), (26.5, 34.5), (39.5, 34.5))
FIELD_MINERALS = 1500.0
GEYSER_GAS = 2000.0
"""The mini-game maps' reset sets fields to 1,500 and geysers to 2,000 (units.md, economy)."""
START_MINERALS = 50.0
SCVS = 12
SCV_COLUMNS_CENTRE = (33.5, 28.0)
"""The 12 SCVs stand in two columns of six, 1 unit apart, just east of the Command Center (radius 2.75)."""
SCVS_PER_COLUMN = 6

BUILD_MARINES_FUNCTIONS = tuple(int(f) for f in (
    FunctionId.select_idle_worker, FunctionId.select_army, *UNIT_COMMANDS,
    FunctionId.Harvest_Gather_screen, FunctionId.Harvest_Return_quick,
    FunctionId.Build_SupplyDepot_screen, FunctionId.Build_Barracks_screen,
    FunctionId.Train_SCV_quick, FunctionId.Rally_Workers_screen,
    FunctionId.Train_Marine_quick))
"""BuildMarines' command cards: SCVs gather, return cargo and build Supply Depots and Barracks; the Command Center
trains SCVs and sets its (workers') rally; Barracks train Marines (no rally: Rally_Units_screen is left out)."""


def spawn_base(state: State, fields: tuple[tuple[float, float], ...], geysers: tuple[tuple[float, float], ...]
               ) -> State:
    """The Command Center (slot 0), the mineral fields, the geysers and the 12 SCVs (the last slots), 50 minerals."""
    B, device = state.batch_size, state.device
    neutral = [(UnitType.MINERAL_FIELD, pos, FIELD_MINERALS) for pos in fields] + [
        (UnitType.VESPENE_GEYSER, pos, GEYSER_GAS) for pos in geysers]
    rank = torch.arange(SCVS, device=device).expand(B, SCVS)
    scv_pos = column_positions(rank, torch.full((B,), SCVS_PER_COLUMN, device=device),
                               torch.tensor(SCV_COLUMNS_CENTRE, device=device).expand(B, 2),
                               torch.ones(B, dtype=torch.long, device=device), per_column=SCVS_PER_COLUMN)
    kinds = [int(UnitType.COMMAND_CENTER)] + [int(kind) for kind, _, _ in neutral] + [int(UnitType.SCV)] * SCVS
    owners = [int(Owner.PLAYER_1)] + [int(Owner.NEUTRAL)] * len(neutral) + [int(Owner.PLAYER_1)] * SCVS
    fixed = torch.tensor([COMMAND_CENTER] + [pos for _, pos, _ in neutral], dtype=torch.float32, device=device)
    resources = torch.tensor([0.0] + [amount for _, _, amount in neutral] + [0.0] * SCVS, device=device)
    count = len(kinds)
    state = spawn_units(state, unit_table(device), slot_range(state, 0, count),
                        torch.tensor(kinds, device=device).expand(B, count),
                        torch.tensor(owners, device=device).expand(B, count),
                        torch.cat([fixed.expand(B, -1, 2), scv_pos], dim=1), resources=resources.expand(B, count))
    minerals = state.minerals.clone()
    minerals[:, int(Owner.PLAYER_1)] = START_MINERALS
    return state.replace(minerals=minerals)


class CollectMineralsAndGas(Scenario):
    loop_trigger = LoopTrigger(after_step=True)  # the score is recomputed from the state
    spec = ScenarioSpec(
        name="CollectMineralsAndGas", version=1, num_units=128, playable=PLAYABLE, camera_start=CAMERA_START,
        time_limit_s=420.0, economy=True,
        description="A Command Center, 12 idle SCVs, 16 mineral fields and 4 geysers. Score: minerals and gas "
                    "collected (spending does not lower it). 420 s.")

    def spawn(self, state: State) -> State:
        return spawn_base(state, WEST_FIELDS + EAST_FIELDS, GEYSERS)

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        score = state.score.clone()
        score[:, 0, Score.SCORE] = score[:, 0, Score.COLLECTED_MINERALS] + score[:, 0, Score.COLLECTED_VESPENE]
        return state.replace(score=score)


class BuildMarines(Scenario):
    loop_trigger = LoopTrigger(after_step=True)  # the score is recomputed from the state
    spec = ScenarioSpec(
        name="BuildMarines", version=1, num_units=256, playable=PLAYABLE, camera_start=CAMERA_START,
        time_limit_s=900.0, economy=True, functions=BUILD_MARINES_FUNCTIONS,
        description="A Command Center, 12 SCVs mining 8 mineral fields. +1 per Marine made; only SCVs, Supply "
                    "Depots, Barracks and Marines can be made. 900 s.")

    def spawn(self, state: State) -> State:
        state = spawn_base(state, WEST_FIELDS, ())
        first_scv = 1 + len(WEST_FIELDS)
        scvs = torch.arange(first_scv, first_scv + SCVS, device=state.device)
        fields = 1 + torch.arange(SCVS, device=state.device) % len(WEST_FIELDS)
        order_kind, order_unit = state.order_kind.clone(), state.order_unit.clone()
        order_kind[:, scvs, 0] = int(Order.GATHER)
        order_unit[:, scvs, 0] = fields
        return state.replace(order_kind=order_kind, order_unit=order_unit)

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        score = state.score.clone()
        score[:, 0, Score.SCORE] = state.trained[:, 0, UnitType.MARINE]
        return state.replace(score=score)


ECONOMY_MINI_GAMES = (CollectMineralsAndGas, BuildMarines)
