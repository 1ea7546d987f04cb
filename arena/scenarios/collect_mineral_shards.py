"""CollectMineralShards (minigames.md): two Marines, twenty shards; +1 per shard walked over; 20 new when none
are left."""

from __future__ import annotations

import torch

from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.spawn import any_true, distance_to_nearest, first_valid, place, points_in_rect, slot_range
from arena.sim import rng
from arena.sim.rules import LoopTrigger
from arena.sim.state import Owner, Score, State
from arena.sim.units import UNIT_SPECS, UnitType, unit_table

PLAYABLE = (22.0, 20.0, 44.0, 36.0)
SHARD_AREA = (23.0, 21.0, 43.0, 35.0)
SHARD_MIN_DISTANCE = 2.0
MARINES, SHARDS = 2, 20
SHARD_REACH = UNIT_SPECS[UnitType.MARINE].radius + UNIT_SPECS[UnitType.MINERAL_SHARD].radius
"""A Marine collects a shard when their centres are this close (map units): their radii touch."""
TRIES = 16
STREAM_MARINES, STREAM_SHARDS = 1, 2


def shard_points(state: State) -> torch.Tensor:
    """[B, 20, 2] shard positions, each at least 2 from the nearest Marine."""
    key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_SHARDS)
    candidates = points_in_rect(key, (SHARDS, TRIES), SHARD_AREA)
    marines = state.unit_pos[:, :MARINES]
    alive = state.unit_alive[:, :MARINES]
    far = distance_to_nearest(candidates, marines, alive) >= SHARD_MIN_DISTANCE
    return first_valid(candidates, far)


class CollectMineralShards(Scenario):
    loop_trigger = LoopTrigger(near=((0, MARINES), (MARINES, MARINES + SHARDS), SHARD_REACH),
                               empty=(MARINES, MARINES + SHARDS))
    spec = ScenarioSpec(
        name="CollectMineralShards", version=1, num_units=MARINES + SHARDS, playable=PLAYABLE,
        camera_start=(33.0, 28.0), time_limit_s=120.0,
        description="2 Marines, 20 mineral shards. +1 per shard a Marine walks over; 20 new shards when none are "
                    "left. 120 s.")

    def spawn(self, state: State) -> State:
        key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_MARINES)
        r = 0.375
        marines = points_in_rect(key, (MARINES,), (PLAYABLE[0] + r, PLAYABLE[1] + r, PLAYABLE[2] - r,
                                                   PLAYABLE[3] - r))
        state = place(state, slot_range(state, 0, MARINES), UnitType.MARINE, Owner.PLAYER_1, marines)
        return place(state, slot_range(state, MARINES, SHARDS), UnitType.MINERAL_SHARD, Owner.NEUTRAL,
                     shard_points(state))

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        table = unit_table(state.device)
        marines, shards = state.unit_pos[:, :MARINES], state.unit_pos[:, MARINES:]
        reach = table.radius[int(UnitType.MARINE)] + table.radius[int(UnitType.MINERAL_SHARD)]
        touching = torch.linalg.vector_norm(shards[:, :, None] - marines[:, None], dim=-1) <= reach
        touching = touching & state.unit_alive[:, None, :MARINES]
        collected = state.unit_alive[:, MARINES:] & touching.any(dim=2)  # [B, 20]
        score = state.score.clone()
        score[:, 0, Score.SCORE] += collected.sum(dim=1).float()
        alive = state.unit_alive.clone()
        alive[:, MARINES:] &= ~collected
        state = state.replace(score=score, unit_alive=alive)
        cleared = ~alive[:, MARINES:].any(dim=1)
        state = state.replace(wave=state.wave + cleared.long())
        if not any_true(cleared):
            return state
        return place(state, slot_range(state, MARINES, SHARDS), UnitType.MINERAL_SHARD, Owner.NEUTRAL,
                     shard_points(state), where=cleared[:, None].expand(-1, SHARDS))
