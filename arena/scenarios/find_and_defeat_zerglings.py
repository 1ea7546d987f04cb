"""FindAndDefeatZerglings (minigames.md): three Marines explore a map larger than the screen under fog of war and
kill idle Zerglings: +1 per Zergling, -1 per Marine lost; 25 new Zerglings when all are dead."""

from __future__ import annotations

import math

import torch

from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.spawn import any_true, choose_sites, distance_to_nearest, lattice_sites, place, slot_range
from arena.sim import rng
from arena.sim.rules import LoopTrigger
from arena.sim.state import Owner, Score, State
from arena.sim.units import UnitType

PLAYABLE = (10.0, 12.0, 54.0, 44.0)
CENTRE = (32.0, 28.0)
MARINE_ANGLES_DEG = (210.0, 330.0, 90.0)
MARINES, ZERGLINGS = 3, 25
NEAR_ZERGLINGS = 2
NEAR_RING = (7.5, 9.5)
FAR_RADIUS = 10.5
APART = 5.0
RESPAWN_FROM_MARINES = 9.0
LATTICE_SPACING, LATTICE_JITTER = 5.2, 0.07
"""A triangular 5.2 lattice shaken by at most 0.07 per axis keeps sites at least 5.0 apart (5.2 - 2.73 * 0.07) and
has 60 sites: enough for 25 at least 9 from three Marines wherever they stand (a square 5.5 lattice has 48, and
three Marines spread over the map left fewer than 25)."""
STREAM_RING, STREAM_LATTICE, STREAM_PICK = 1, 2, 3


def _ring_zerglings(state: State) -> torch.Tensor:
    """[B, 2, 2] two Zerglings 7.5-9.5 from the centre, far enough apart (angles 60-300 degrees apart)."""
    u = rng.uniform(rng.episode_key(state.seed, state.episode, state.wave, STREAM_RING), (4,))
    first = u[:, 0] * 2 * math.pi
    angles = torch.stack([first, first + math.radians(60) + u[:, 1] * math.radians(240)], dim=1)
    radius = NEAR_RING[0] + u[:, 2:4] * (NEAR_RING[1] - NEAR_RING[0])
    centre = torch.tensor(CENTRE, device=state.device)
    return centre + torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1) * radius[..., None]


def _sites(state: State) -> torch.Tensor:
    margin = 0.375
    area = (PLAYABLE[0] + margin, PLAYABLE[1] + margin, PLAYABLE[2] - margin, PLAYABLE[3] - margin)
    key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_LATTICE)
    return lattice_sites(area, LATTICE_SPACING, LATTICE_JITTER, key)


def first_zerglings(state: State) -> tuple[torch.Tensor, torch.Tensor]:
    """The opening layout: 2 near the centre, 23 more outside radius 10.5, all at least 5 apart."""
    ring = _ring_zerglings(state)
    sites = _sites(state)
    centre = torch.tensor(CENTRE, device=state.device)
    allowed = (torch.linalg.vector_norm(sites - centre, dim=-1) > FAR_RADIUS) & (
        distance_to_nearest(sites, ring, torch.ones(ring.shape[:2], dtype=torch.bool, device=state.device)) >= APART)
    key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_PICK)
    far, found = choose_sites(sites, allowed, ZERGLINGS - NEAR_ZERGLINGS, key)
    positions = torch.cat([ring, far], dim=1)
    return positions, torch.cat([torch.ones_like(found[:, :2]), found], dim=1)


def respawned_zerglings(state: State) -> tuple[torch.Tensor, torch.Tensor]:
    """25 new Zerglings at least 9 from every Marine and 5 apart. Should the Marines stand so that fewer than 25
    sites are 9 away (rare), the rest go to the sites farthest from them: there are always 25."""
    sites = _sites(state)
    distance = distance_to_nearest(sites, state.unit_pos[:, :MARINES], state.unit_alive[:, :MARINES])
    key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_PICK)
    positions, _ = choose_sites(sites, distance >= RESPAWN_FROM_MARINES, ZERGLINGS, key, fallback=distance)
    return positions, torch.ones(positions.shape[:2], dtype=torch.bool, device=positions.device)


class FindAndDefeatZerglings(Scenario):
    loop_trigger = LoopTrigger(empty=(MARINES, None), kill_scores=(((MARINES, None), 1.0), ((0, MARINES), -1.0)))
    spec = ScenarioSpec(
        name="FindAndDefeatZerglings", version=1, num_units=MARINES + ZERGLINGS, playable=PLAYABLE,
        camera_start=CENTRE, time_limit_s=180.0, fog=True,
        description="3 Marines (preselected) against 25 idle Zerglings on a map larger than the screen, under fog "
                    "of war. +1 per Zergling killed, -1 per Marine lost; 25 new Zerglings when all are dead. Ends "
                    "when all Marines die or after 180 s.")

    def spawn(self, state: State) -> State:
        centre = torch.tensor(CENTRE, device=state.device)
        angles = torch.tensor([math.radians(a) for a in MARINE_ANGLES_DEG], device=state.device)
        marines = (centre + torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1)).expand(
            state.batch_size, MARINES, 2)
        state = place(state, slot_range(state, 0, MARINES), UnitType.MARINE, Owner.PLAYER_1, marines)
        selected = state.selected.clone()
        selected[:, 0, :MARINES] = True
        state = state.replace(selected=selected)
        positions, found = first_zerglings(state)
        return place(state, slot_range(state, MARINES, ZERGLINGS), UnitType.ZERGLING, Owner.PLAYER_2, positions,
                     where=found)

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        kills = died[:, MARINES:].sum(dim=1).float()
        losses = died[:, :MARINES].sum(dim=1).float()
        score = state.score.clone()
        score[:, 0, Score.SCORE] += kills - losses
        state = state.replace(score=score)
        cleared = ~state.unit_alive[:, MARINES:].any(dim=1) & state.unit_alive[:, :MARINES].any(dim=1)
        state = state.replace(wave=state.wave + cleared.long())
        if not any_true(cleared):
            return state
        positions, found = respawned_zerglings(state)
        return place(state, slot_range(state, MARINES, ZERGLINGS), UnitType.ZERGLING, Owner.PLAYER_2, positions,
                     where=found & cleared[:, None])

    def terminated(self, state: State) -> torch.Tensor:
        return ~state.unit_alive[:, :MARINES].any(dim=1)
