"""The built-in Terran bot's pure helpers (agents/bots/terran.py) on hand-made views: the minerals it keeps for due
structures (a Barracks' 150 among them), and where an attacking army goes when it sees no enemy."""

from __future__ import annotations

import dataclasses

import torch

from agents.bots.terran import (ATTACK_REPEAT_STEPS, BARRACKS_COST, BARRACKS_ID, CC_ID, DEPOT_COST, DEPOT_ID,
                                SWEEP_SPACING, BotConfig, BotMemory, BotView, OwnUnits, affordable, attack_target,
                                plan_construction)
from arena.interface.functions import NUM_FUNCTIONS
from arena.sim.units import UnitType

SCREEN, MINIMAP = 84, 64
LEFT_BASE_CAMERA = (16.0, 32.0)
"""Map units: the camera over the left base's town hall."""


def _view(*, minerals: float, structures: list[tuple[int, bool]], food_used: float = 14.0, food_cap: float = 23.0,
          workers: float = 14.0, enemy_pixels: tuple[tuple[int, int], ...] = ()) -> BotView:
    """One game: own (pysc2 unit type id, finished) structures on the screen, nothing else."""
    count = len(structures)
    kinds = torch.tensor([[kind for kind, _ in structures]], dtype=torch.long)
    everywhere = torch.ones(1, count, dtype=torch.bool)
    units = OwnUnits(pos=torch.zeros(1, count, 2), kind=kinds, present=everywhere, own=everywhere,
                     enemy=~everywhere, selected=~everywhere,
                     done=torch.tensor([[done for _, done in structures]]), orders=torch.zeros(1, count))
    enemy = torch.zeros(1, MINIMAP, MINIMAP, dtype=torch.bool)
    for x, y in enemy_pixels:
        enemy[0, y, x] = True
    return BotView(units=units, minerals=torch.tensor([minerals]), food_used=torch.tensor([food_used]),
                   food_cap=torch.tensor([food_cap]), workers=torch.tensor([workers]),
                   idle_workers=torch.zeros(1), army=torch.zeros(1, dtype=torch.long),
                   multi_selected=torch.zeros(1, dtype=torch.long),
                   available=torch.ones(1, NUM_FUNCTIONS, dtype=torch.bool), enemy_on_minimap=enemy,
                   camera=torch.tensor([LEFT_BASE_CAMERA]), minute=torch.zeros(1), screen=SCREEN, minimap=MINIMAP)


def _memory(step: int) -> BotMemory:
    return dataclasses.replace(BotMemory.fresh(1, torch.device("cpu")), step=torch.tensor([step]))


def test_a_due_barracks_keeps_its_minerals_from_scvs_and_marines():
    config = BotConfig(workers=20, barracks=2)
    base = [(CC_ID, True), (DEPOT_ID, True)]
    saving = plan_construction(_view(minerals=120.0, structures=base), _memory(100), config)
    assert not bool(saving.need_barracks) and saving.reserved.tolist() == [BARRACKS_COST]
    assert not bool(affordable(_view(minerals=120.0, structures=base), saving.reserved, UnitType.SCV))
    # With the Barracks paid for, an SCV still has to leave its 150.
    paid = _view(minerals=BARRACKS_COST + 49.0, structures=base)
    plan = plan_construction(paid, _memory(100), config)
    assert bool(plan.need_barracks) and not bool(affordable(paid, plan.reserved, UnitType.SCV))
    # Every Barracks built: nothing is kept.
    done = base + [(BARRACKS_ID, True), (BARRACKS_ID, True)]
    plan = plan_construction(_view(minerals=120.0, structures=done), _memory(100), config)
    assert plan.reserved.tolist() == [0.0] and bool(affordable(_view(minerals=120.0, structures=done),
                                                               plan.reserved, UnitType.MARINE))


def test_supply_comes_first_and_a_recent_build_order_keeps_its_cost():
    config = BotConfig(workers=20, barracks=2)
    # Free supply 2 < 3: a depot is due (and paid for); no finished depot yet, so no Barracks.
    short = _view(minerals=100.0, structures=[(CC_ID, True)], food_used=13.0, food_cap=15.0)
    plan = plan_construction(short, _memory(100), config)
    assert bool(plan.need_depot) and not bool(plan.need_barracks) and plan.reserved.tolist() == [DEPOT_COST]
    # A depot ordered 3 steps ago: its SCV is walking, no second order, its cost stays kept.
    walking = dataclasses.replace(_memory(100), depot_ordered=torch.tensor([97]))
    plan = plan_construction(short, walking, config)
    assert not bool(plan.need_depot) and plan.reserved.tolist() == [DEPOT_COST]


def test_an_army_that_sees_no_enemy_sweeps_the_enemy_base_and_goes_for_an_enemy_it_sees():
    view = _view(minerals=0.0, structures=[(CC_ID, True)])
    enemy_base = torch.tensor([64.0 - LEFT_BASE_CAMERA[0], 64.0 - LEFT_BASE_CAMERA[1]])  # minimap pixels (64 / 64)
    offsets = [attack_target(view, torch.tensor([step]))[0] - enemy_base
               for step in (0, ATTACK_REPEAT_STEPS, 2 * ATTACK_REPEAT_STEPS, 3 * ATTACK_REPEAT_STEPS)]
    assert [offset.tolist() for offset in offsets] == [[0.0, -SWEEP_SPACING], [0.0, 0.0], [0.0, SWEEP_SPACING],
                                                       [0.0, -SWEEP_SPACING]]
    seen = _view(minerals=0.0, structures=[(CC_ID, True)], enemy_pixels=((40, 10), (5, 60)))
    assert attack_target(seen, torch.tensor([0])).tolist() == [[40.5, 10.5]]
