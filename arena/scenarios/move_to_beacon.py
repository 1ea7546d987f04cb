"""MoveToBeacon (minigames.md): one Marine, one beacon; +1 each time the Marine reaches it, then it moves."""

from __future__ import annotations

import torch

from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.spawn import any_true, first_valid, place, points_in_rect, slot_range
from arena.sim import rng
from arena.sim.rules import LoopTrigger
from arena.sim.state import Owner, Score, State
from arena.sim.units import UnitType

PLAYABLE = (22.0, 20.0, 44.0, 36.0)
BEACON_AREA = (23.5, 21.5, 42.5, 34.5)
BEACON_HOLE_CENTRE = (33.0, 28.0)
BEACON_HOLE_RADIUS = 4.0
BEACON_MIN_DISTANCE = 5.0
REACH = 1.25
"""The Marine scores within 1.25 of the beacon centre (the map's trigger)."""
TRIES = 32
MARINE, BEACON = 0, 1
STREAM_MARINE, STREAM_BEACON = 1, 2


def beacon_point(state: State, marine_pos: torch.Tensor) -> torch.Tensor:
    """[B, 2] a beacon position: in the area, out of the centre hole, at least 5 from the Marine."""
    key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_BEACON)
    candidates = points_in_rect(key, (1, TRIES), BEACON_AREA)  # [B, 1, T, 2]
    hole = torch.tensor(BEACON_HOLE_CENTRE, device=state.device)
    out_of_hole = torch.linalg.vector_norm(candidates - hole, dim=-1) >= BEACON_HOLE_RADIUS
    far = torch.linalg.vector_norm(candidates - marine_pos[:, None, None, :], dim=-1) >= BEACON_MIN_DISTANCE
    return first_valid(candidates, out_of_hole & far)[:, 0]


class MoveToBeacon(Scenario):
    loop_trigger = LoopTrigger(near=((MARINE, MARINE + 1), (BEACON, BEACON + 1), REACH))
    spec = ScenarioSpec(
        name="MoveToBeacon", version=1, num_units=2, playable=PLAYABLE, camera_start=(33.0, 28.0),
        time_limit_s=120.0,
        description="1 Marine, 1 beacon. +1 each time the Marine reaches the beacon, which then moves at least 5 "
                    "away. 120 s.")

    def spawn(self, state: State) -> State:
        key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_MARINE)
        r = 0.375
        marine = points_in_rect(key, (1,), (PLAYABLE[0] + r, PLAYABLE[1] + r, PLAYABLE[2] - r, PLAYABLE[3] - r))
        state = place(state, slot_range(state, MARINE, 1), UnitType.MARINE, Owner.PLAYER_1, marine)
        beacon = beacon_point(state, marine[:, 0])
        return place(state, slot_range(state, BEACON, 1), UnitType.BEACON, Owner.NEUTRAL, beacon[:, None])

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        marine, beacon = state.unit_pos[:, MARINE], state.unit_pos[:, BEACON]
        reached = state.unit_alive[:, MARINE] & (torch.linalg.vector_norm(marine - beacon, dim=-1) <= REACH)
        score = state.score.clone()
        score[:, 0, Score.SCORE] += reached.float()
        state = state.replace(score=score, wave=state.wave + reached.long())
        if not any_true(reached):
            return state
        new_beacon = beacon_point(state, marine)
        pos = state.unit_pos.clone()
        pos[:, BEACON] = torch.where(reached[:, None], new_beacon, beacon)
        return state.replace(unit_pos=pos)
