"""Skirmishes: two armies face each other on a 32 x 32 playable area in the middle of the 64 x 64 map, one agent
player against the engine's built-in heuristic enemy (player 2's army gets an attack-move order towards the agent's
army when it spawns). The three settings are the ones JaxMARL's SMAX benchmarks (SMAC's "3m", "2s3z" and
"27m_vs_30m"), so the engine can be compared with SMAX on equal terms (benchmarks/engine.py).

Each army stands in vertical lines 1 apart (15 to a line), melee units in front; the whole formation is shifted by
up to 2 map units per axis at random each episode (SMAX spreads its units by +-2 around the same two points).
"""

from __future__ import annotations

import math

import torch

from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.spawn import column_positions, place, slot_range
from arena.sim import rng
from arena.sim.orders import issue_orders
from arena.sim.rules import LoopTrigger
from arena.sim.state import Order, Owner, Score, State
from arena.sim.units import UnitType

PLAYABLE = (16.0, 16.0, 48.0, 48.0)
"""32 x 32 in the middle of the 64 x 64 map (SMAX's default map is 32 x 32)."""
OWN_CENTRE, ENEMY_CENTRE = (24.0, 32.0), (40.0, 32.0)
"""A quarter and three quarters across the playable area, halfway up: SMAX's two start points."""
CENTRE_JITTER = 2.0
PER_COLUMN = 15
TIME_LIMIT_S = 50.0
"""100 agent steps of 8 game loops: SMAX's max_steps = 100 env steps of 8 world steps of 1/16 s."""
STREAM_CENTRES = 1

Army = tuple[tuple[UnitType, int], ...]
"""(unit type, count) groups, front line first."""


def army_size(army: Army) -> int:
    return sum(count for _, count in army)


def place_army(state: State, army: Army, *, start: int, owner: Owner, centre: torch.Tensor, outward: int) -> State:
    """Line up `army` in the slots from `start`: each group in its own columns, the first group at `centre` [B, 2]
    and later groups behind it (`outward` -1 puts them to the left, +1 to the right)."""
    B = state.batch_size
    outward_t = torch.full((B,), outward, dtype=torch.long, device=state.device)
    column = 0
    for unit_type, count in army:
        rank = torch.arange(count, device=state.device).expand(B, count)
        first = centre + torch.tensor([float(column * outward), 0.0], device=state.device)
        pos = column_positions(rank, torch.full((B,), count, device=state.device), first, outward_t, PER_COLUMN)
        state = place(state, slot_range(state, start, count), unit_type, owner, pos)
        start += count
        column += math.ceil(count / PER_COLUMN)
    return state


class Skirmish(Scenario):
    """Shared rules: the agent's army (player 1, slots first, preselected) against the enemy's (player 2)."""

    own_army: Army
    enemy_army: Army

    @property
    def loop_trigger(self) -> LoopTrigger:
        return LoopTrigger(kill_scores=(((self.num_own, None), 1.0),))

    @property
    def num_own(self) -> int:
        return army_size(self.own_army)

    def spawn(self, state: State) -> State:
        key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_CENTRES)
        shift = (rng.uniform(key, (2, 2)) * 2 - 1) * CENTRE_JITTER  # [B, side, 2]
        own_centre = torch.tensor(OWN_CENTRE, device=state.device) + shift[:, 0]
        enemy_centre = torch.tensor(ENEMY_CENTRE, device=state.device) + shift[:, 1]
        own = self.num_own
        state = place_army(state, self.own_army, start=0, owner=Owner.PLAYER_1, centre=own_centre, outward=-1)
        state = place_army(state, self.enemy_army, start=own, owner=Owner.PLAYER_2, centre=enemy_centre, outward=1)
        selected = state.selected.clone()
        selected[:, 0, :own] = True
        state = state.replace(selected=selected)
        # The heuristic enemy: attack-move towards where the agent's army stands.
        enemies = torch.zeros_like(state.unit_alive)
        enemies[:, own:] = True
        B = state.batch_size
        return issue_orders(state, units=enemies, kind=torch.full((B,), int(Order.ATTACK_MOVE), device=state.device),
                            pos=own_centre, target=torch.full((B,), -1, device=state.device),
                            queued=torch.zeros(B, dtype=torch.bool, device=state.device))

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        kills = died[:, self.num_own:].sum(dim=1).float()
        score = state.score.clone()
        score[:, 0, Score.SCORE] += kills
        return state.replace(score=score)

    def terminated(self, state: State) -> torch.Tensor:
        own = self.num_own
        return ~state.unit_alive[:, :own].any(dim=1) | ~state.unit_alive[:, own:].any(dim=1)


def _spec(name: str, units: int, armies: str) -> ScenarioSpec:
    return ScenarioSpec(
        name=name, version=1, num_units=units, playable=PLAYABLE, camera_start=(32.0, 32.0),
        time_limit_s=TIME_LIMIT_S,
        description=f"{armies}, facing each other on a 32 x 32 area (the agent's army preselected, on the left; the "
                    "enemy's attack-moves towards it from the start). +1 per enemy unit killed. Ends when one "
                    "army is dead or after 50 s (100 steps of 8 game loops).")


class Skirmish3m(Skirmish):
    own_army = ((UnitType.MARINE, 3),)
    enemy_army = ((UnitType.MARINE, 3),)
    spec = _spec("Skirmish3m", 6, "3 Marines against 3 Marines")


class Skirmish2s3z(Skirmish):
    own_army = ((UnitType.ZEALOT, 3), (UnitType.STALKER, 2))
    enemy_army = ((UnitType.ZEALOT, 3), (UnitType.STALKER, 2))
    spec = _spec("Skirmish2s3z", 10, "2 Stalkers and 3 Zealots on each side (Zealots in front)")


class Skirmish27mVs30m(Skirmish):
    own_army = ((UnitType.MARINE, 27),)
    enemy_army = ((UnitType.MARINE, 30),)
    spec = _spec("Skirmish27mVs30m", 57, "27 Marines against 30 Marines")
