"""DefeatZerglingsAndBanelings: let the wave come to a holding line, shoot the Banelings first, and step back from
them between shots.

The Marines walk towards the enemies until they are close enough to draw them (the enemies are idle until a
Marine comes within their sight), then hold position: the fast Zerglings arrive first and die to the line's fire.
Once a Baneling comes near, every Marine shoots it (the nearest, weakest one first), and while their weapons cool
down the Marines step back from the Banelings, so that fewer Banelings reach them.
"""

from __future__ import annotations

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.focus_fire import STICKY_TAG_NONE, focus_target, target_tag
from agents.scripted.units import INF, ScreenUnits, centroid, distances, gather_rows
from arena.interface.actions import BatchedAction
from arena.interface.functions import ABILITY_HOLD, FunctionId
from arena.sim.units import UNIT_SPECS, UnitType

BANELING_ID = UNIT_SPECS[UnitType.BANELING].pysc2_id
PX_PER_UNIT = 64 / 24
"""Screen pixels per map unit at the default camera width."""
PX_PER_HP = 3.0
"""A Baneling one pixel further away counts as 3 HP more."""
STANDOFF_PX = 7.0 * PX_PER_UNIT
"""Walk towards the enemies until one is this close (centre distance), then hold: Zerglings and Banelings see 8
beyond both radii, so they come."""
ENGAGE_PX = 7.5 * PX_PER_UNIT
"""Focus the Banelings once one is this close to a Marine (Marine range 5 plus both radii, and the time to turn)."""
KITE_PX = 3.0 * PX_PER_UNIT
"""Step back while a Baneling is this close to a Marine and the Marines' weapons cool down."""
BACK_PX = 3.0 * PX_PER_UNIT
"""How far to step back (the Move point; the Marines only walk one agent step before shooting again)."""
COOLING_LOOPS = 4.0
"""The Marines' weapons cool down when their mean cooldown is above this many game loops: stepping back for one
agent step (8 game loops) then costs no shot (Marine cooldown 0.61 s = 13.7 game loops)."""


def nearest_distance(units: ScreenUnits, mine: torch.Tensor, theirs: torch.Tensor, pair: torch.Tensor
                     ) -> torch.Tensor:
    """[B] the smallest distance (pixels) from a unit in `mine` [B, U] to one in `theirs` [B, U]."""
    return torch.where(mine[:, :, None] & theirs[:, None, :], pair, INF).flatten(1).min(dim=1).values


class DefeatZerglingsAndBanelingsAgent(BatchedAgent):
    """Hold the line against Zerglings, focus and kite Banelings."""

    name = "scripted-DefeatZerglingsAndBanelings"

    def __init__(self) -> None:
        self.target: torch.Tensor | None = None  # [B] float, tag of the focused Baneling

    def reset(self, num_envs: int) -> None:
        self.target = None

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        B, device = first.shape[0], first.device
        if self.target is None or self.target.shape[0] != B:
            self.target = torch.full((B,), STICKY_TAG_NONE, device=device)
        self.target = torch.where(first, STICKY_TAG_NONE, self.target)
        units = ScreenUnits.read(obs)
        size = int(obs["feature_screen"].shape[-1]) if "feature_screen" in obs else 64
        available = obs["available_actions"]
        own, enemy = units.own, units.enemy
        banes = enemy & (units.unit_type == BANELING_ID)
        pair = distances(units.pos, units.pos)  # [B, U, U]
        from_army = torch.where(own[:, :, None], pair, INF).min(dim=1).values  # [B, U]

        row, found = focus_target(units, banes & (from_army <= ENGAGE_PX), self.target, px_per_hp=PX_PER_HP)
        self.target = target_tag(units, row, found)
        attack = commands.screen_command(FunctionId.Attack_screen, gather_rows(units.pos, row), size)

        mean_cooldown = torch.where(own, units.weapon_cooldown, 0.0).sum(dim=1) / own.sum(dim=1).clamp(min=1)
        kite = (nearest_distance(units, own, banes, pair) <= KITE_PX) & (mean_cooldown > COOLING_LOOPS)
        army = centroid(units.pos, own)
        away = army - centroid(units.pos, banes)
        away = away / torch.linalg.vector_norm(away, dim=-1, keepdim=True).clamp(min=1e-6)
        back = commands.screen_command(FunctionId.Move_screen, army + away * BACK_PX, size)

        far = (nearest_distance(units, own, enemy, pair) > STANDOFF_PX) & enemy.any(dim=1)
        approach = commands.screen_command(FunctionId.Move_screen, centroid(units.pos, enemy), size)
        all_hold = ((units.order_ids[..., 0] == ABILITY_HOLD) | ~own).all(dim=1)
        hold = BatchedAction.make(int(FunctionId.HoldPosition_quick), batch=B, device=device)
        unselected = (own & ~units.selected).any(dim=1)
        can = available.bool()
        return commands.choose([
            (unselected & can[:, int(FunctionId.select_army)], commands.select_army(B, device)),
            (kite & can[:, int(FunctionId.Move_screen)], back),
            (found & can[:, int(FunctionId.Attack_screen)], attack),
            (far & can[:, int(FunctionId.Move_screen)], approach),
            (~all_hold & own.any(dim=1) & can[:, int(FunctionId.HoldPosition_quick)], hold),
        ], commands.no_op(B, device))
