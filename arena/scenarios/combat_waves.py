"""DefeatRoaches and DefeatZerglingsAndBanelings (minigames.md): a line of Marines against an enemy wave on the
other side of the map; when the wave is dead, the Marines are lined up again with reinforcements and a new wave
comes. Marine slots are capped (48), far beyond what the best players keep alive in 120 s."""

from __future__ import annotations

import dataclasses

import torch

from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.spawn import any_true, column_positions, place, slot_range
from arena.sim import rng
from arena.sim.rules import LoopTrigger
from arena.sim.state import Owner, Score, State
from arena.sim.state import where as state_where
from arena.sim.units import UnitType, unit_table

PLAYABLE = (22.0, 20.0, 44.0, 36.0)
LEFT_BOX, RIGHT_BOX = (24.0, 25.0, 28.0, 31.0), (38.0, 25.0, 42.0, 31.0)
FIRST_MARINES = 9
MARINE_SLOTS = 48
STREAM_SIDE = 1


@dataclasses.dataclass(frozen=True)
class Wave:
    """The enemies of one wave: (type, count, y offsets from the box centre or None to stack at the centre)."""

    groups: tuple[tuple[UnitType, int, tuple[float, ...] | None], ...]
    reward_per_kill: float
    reinforcements: int

    @property
    def size(self) -> int:
        return sum(count for _, count, _ in self.groups)


def _box_centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


class CombatWaves(Scenario):
    """Shared rules of the two wave mini-games."""

    wave_spec: Wave

    @property
    def loop_trigger(self) -> LoopTrigger:
        kills = ((MARINE_SLOTS, None), self.wave_spec.reward_per_kill)
        return LoopTrigger(empty=(MARINE_SLOTS, None), kill_scores=(kills, ((0, MARINE_SLOTS), -1.0)))

    def _side(self, state: State) -> torch.Tensor:
        key = rng.episode_key(state.seed, state.episode, state.wave, STREAM_SIDE)
        return (rng.uniform(key, (1,))[:, 0] < 0.5).long()

    def _boxes(self, side: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres [B, 2] of the Marines' and the enemies' boxes: side 0 puts the Marines left."""
        left = torch.tensor(_box_centre(LEFT_BOX), device=side.device)
        right = torch.tensor(_box_centre(RIGHT_BOX), device=side.device)
        on_left = (side == 0)[:, None]
        return torch.where(on_left, left, right), torch.where(on_left, right, left)

    def _line_up(self, state: State, marines: torch.Tensor, centre: torch.Tensor, side: torch.Tensor) -> State:
        """Put the Marines in `marines` [B, M] into lines in their box, re-created (orders lost), and select them."""
        rank = (marines.long().cumsum(dim=1) - 1).clamp(min=0)
        outward = torch.where(side == 0, -1, 1)
        pos = column_positions(rank, marines.sum(dim=1), centre, outward)
        full = unit_table(state.device).max_hp[int(UnitType.MARINE)]
        hp = torch.where(state.unit_alive[:, :MARINE_SLOTS], state.unit_hp[:, :MARINE_SLOTS], full)
        state = place(state, slot_range(state, 0, MARINE_SLOTS), UnitType.MARINE, Owner.PLAYER_1, pos,
                      where=marines, hp=hp)
        selected = state.selected.clone()
        selected[:, 0] = False
        selected[:, 0, :MARINE_SLOTS] = marines
        return state.replace(selected=selected)

    def _enemies(self, state: State, centre: torch.Tensor, where: torch.Tensor) -> State:
        start = MARINE_SLOTS
        for unit_type, count, offsets in self.wave_spec.groups:
            dy = torch.tensor(offsets if offsets else (0.0,) * count, device=state.device)
            pos = torch.stack([centre[:, None, 0].expand(-1, count), centre[:, None, 1] + dy[None]], dim=-1)
            state = place(state, slot_range(state, start, count), unit_type, Owner.PLAYER_2, pos,
                          where=where[:, None].expand(-1, count))
            start += count
        return state

    def _new_wave(self, state: State, marines: torch.Tensor, where: torch.Tensor) -> State:
        """Line up `marines` [B, M] and bring a new wave, in the games of `where` [B]."""
        side = torch.where(where, self._side(state), state.side)
        own_box, enemy_box = self._boxes(side)
        lined = self._line_up(state, marines, own_box, side)
        lined = self._enemies(lined, enemy_box, where)
        return state_where(where, lined.replace(side=side), state)

    def spawn(self, state: State) -> State:
        marines = torch.zeros(state.batch_size, MARINE_SLOTS, dtype=torch.bool, device=state.device)
        marines[:, :FIRST_MARINES] = True
        return self._new_wave(state, marines, torch.ones(state.batch_size, dtype=torch.bool, device=state.device))

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        kills = died[:, MARINE_SLOTS:].sum(dim=1).float()
        losses = died[:, :MARINE_SLOTS].sum(dim=1).float()
        score = state.score.clone()
        score[:, 0, Score.SCORE] += kills * self.wave_spec.reward_per_kill - losses
        state = state.replace(score=score)
        survivors = state.unit_alive[:, :MARINE_SLOTS]
        cleared = ~state.unit_alive[:, MARINE_SLOTS:].any(dim=1) & survivors.any(dim=1)
        fresh = ~survivors & ((~survivors).long().cumsum(dim=1) <= self.wave_spec.reinforcements)
        state = state.replace(wave=state.wave + cleared.long())
        if not any_true(cleared):
            return state
        return self._new_wave(state, survivors | fresh, cleared)

    def terminated(self, state: State) -> torch.Tensor:
        return ~state.unit_alive[:, :MARINE_SLOTS].any(dim=1)


class DefeatRoaches(CombatWaves):
    wave_spec = Wave(groups=((UnitType.ROACH, 4, (0.5, 1.5, -0.5, -1.5)),), reward_per_kill=10.0, reinforcements=5)
    spec = ScenarioSpec(
        name="DefeatRoaches", version=1, num_units=MARINE_SLOTS + 4, playable=PLAYABLE, camera_start=(33.0, 28.0),
        time_limit_s=120.0,
        description="9 Marines (preselected) against 4 Roaches. +10 per Roach killed, -1 per Marine lost. When the "
                    "Roaches are dead, surviving Marines line up again with 5 more and 4 new Roaches come. Ends "
                    "when all Marines die or after 120 s.")


class DefeatZerglingsAndBanelings(CombatWaves):
    wave_spec = Wave(groups=((UnitType.ZERGLING, 6, None), (UnitType.BANELING, 4, None)), reward_per_kill=5.0,
                     reinforcements=4)
    spec = ScenarioSpec(
        name="DefeatZerglingsAndBanelings", version=1, num_units=MARINE_SLOTS + 10, playable=PLAYABLE,
        camera_start=(33.0, 28.0), time_limit_s=120.0,
        description="9 Marines (preselected) against 6 Zerglings and 4 Banelings. +5 per enemy killed (a Baneling "
                    "that explodes counts), -1 per Marine lost. When the wave is dead, surviving Marines line up "
                    "again with 4 more and a new wave comes. Ends when all Marines die or after 120 s.")
