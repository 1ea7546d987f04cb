"""The two-player battles (MarineMirror, TerranVsZerg): find the enemy army under fog of war and fight it with
attack-moves, focusing fire only where that costs no shots.

The whole army stays selected and the camera follows it. The army attack-moves (Attack_minimap: each unit engages
the nearest enemy it sees) to the nearest enemy the minimap shows; with none in sight, to where the enemy started
(the mirror of the army's own start: the maps are symmetric about their vertical centre line), and from there to the
nearest pathable pixel not in sight. An attack-move is given only when the army has no orders, or when its destination
moved while no enemy is on the screen: a new order makes every unit drop its target and pick again, which
spreads damage (an army re-ordered every step loses most mirror fights that one attack-move wins). When every unit
on the screen reaches the same enemy, they all shoot it (Attack_screen on the weakest such enemy), since none has to
walk for it.
The agent plays either seat: it reads only its own player's observation, where its units are SELF.
"""

from __future__ import annotations

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.find_and_defeat_zerglings import (ENEMY, PATHABLE, PLAYER_RELATIVE, SELF, VISIBILITY,
                                                      nearest_pixel, pixel_grid)
from agents.scripted.focus_fire import STICKY_TAG_NONE, target_tag
from agents.scripted.units import INF, ScreenUnits, centroid, distances, gather_rows
from arena.interface.actions import BatchedAction
from arena.interface.fog import Visibility
from arena.interface.functions import FunctionId
from arena.interface.unit_list import FeatureUnit
from arena.sim.units import UNIT_SPECS

ARMY_COUNT = 8
"""Index of army_count in pysc2's `player` vector."""
CAMERA_WIDTH = 24.0
"""Map units the screen spans (the interface's default)."""
CAMERA_SLACK = 4.0
"""Move the camera when the army is further than this (map units) from the screen's centre."""
ARRIVED = 3.0
"""The army has reached the enemy's start when its centre is this close (map units)."""
NEW_DESTINATION = 4.0
"""Give a new attack-move when the destination moved this far (map units) from the last one given."""
RANGE_SLACK = 0.25
"""Map units added to a weapon's range when judging whether a unit reaches a target (the engine's own slack and the
pixel rounding of positions)."""
_MAX_ID = max(spec.pysc2_id for spec in UNIT_SPECS.values())
WEAPON_RANGE = torch.zeros(_MAX_ID + 1)
"""Weapon range (map units, beyond both radii) by pysc2 unit type id."""
for _spec in UNIT_SPECS.values():
    WEAPON_RANGE[_spec.pysc2_id] = _spec.range


def reach_counts(units: ScreenUnits, radius: torch.Tensor, px_per_unit: float) -> torch.Tensor:
    """[B, U] for each enemy row, how many own units have it within weapon range (`radius` [B, U] in pixels)."""
    own_range = WEAPON_RANGE.to(units.pos.device)[units.unit_type.clamp(0, _MAX_ID)]  # [B, U]
    reach = (own_range + RANGE_SLACK) * px_per_unit + radius  # [B, U] own unit's reach beyond the target's radius
    gap = distances(units.pos, units.pos) - radius[:, None, :]  # [B, own, enemy]
    within = units.own[:, :, None] & units.enemy[:, None, :] & (gap <= reach[:, :, None])
    return within.sum(dim=1)


def focus_in_reach(units: ScreenUnits, counts: torch.Tensor, previous_tag: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The enemy row [B] to focus and whether there is one [B]: among the enemies every own unit on the screen
    reaches (`counts` [B, U] from `reach_counts`), the previous target, else the weakest."""
    eligible = units.enemy & (counts > 0) & (counts >= units.own.sum(dim=1, keepdim=True))
    cost = torch.where(eligible, units.health, INF)
    cost = torch.where(eligible & (units.tag == previous_tag[:, None]), -INF, cost)
    return cost.argmin(dim=1), eligible.any(dim=1)


class ArmyAgent(BatchedAgent):
    """select_army, move_camera to the army, Attack_minimap towards the enemy, Attack_screen a target all reach."""

    name = "scripted-army"

    def __init__(self, *, map_size: float = 64.0) -> None:
        self.map_size = map_size
        self.memory: dict[str, torch.Tensor] | None = None

    def reset(self, num_envs: int) -> None:
        self.memory = None

    def _remember(self, army: torch.Tensor, first: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-game memory, forgotten where an episode begins."""
        B, device = first.shape[0], first.device
        if self.memory is None or self.memory["start"].shape[0] != B:
            first = torch.ones_like(first)
            self.memory = {"start": army.clone()}
        none = torch.full((B,), STICKY_TAG_NONE, device=device)
        m, fresh = self.memory, {
            "start": army,  # [B, 2] minimap pixels: where the army began the episode
            "searching": torch.zeros(B, dtype=torch.bool, device=device),  # the enemy's start was empty
            "target": none, "attacked": none,  # tags of the focus target and of the last Attack_screen
            "destination": torch.full((B, 2), -INF, device=device),  # minimap pixels of the last attack-move
        }
        for key, value in fresh.items():
            old = m.get(key, value)
            m[key] = torch.where(first.reshape(-1, *([1] * (value.dim() - 1))), value, old)
        return m

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        B, device = first.shape[0], first.device
        minimap = obs["feature_minimap"]
        M, S = minimap.shape[-1], int(obs["feature_screen"].shape[-1])
        scale = M / self.map_size  # minimap pixels per map unit
        own = (minimap[:, PLAYER_RELATIVE] == SELF).reshape(B, -1)
        army = centroid(pixel_grid(M, M, device)[None].expand(B, -1, -1), own)
        m = self._remember(army, first)
        camera = torch.stack([obs["camera"][:, 0], self.map_size - obs["camera"][:, 1]], dim=-1) * scale

        units = ScreenUnits.read(obs)
        counts = reach_counts(units, obs["feature_units"][..., int(FeatureUnit.radius)], S / CAMERA_WIDTH)
        row, focus = focus_in_reach(units, counts, m["target"])
        m["target"] = target_tag(units, row, focus)
        enemy, seen = nearest_pixel(minimap[:, PLAYER_RELATIVE] == ENEMY, army)
        enemy_start = torch.stack([M - m["start"][:, 0], m["start"][:, 1]], dim=-1)
        m["searching"] |= torch.linalg.vector_norm(army - enemy_start, dim=-1) <= ARRIVED * scale
        unseen = (minimap[:, PATHABLE] > 0) & (minimap[:, VISIBILITY] != int(Visibility.VISIBLE))
        frontier, open_ = nearest_pixel(unseen, army)
        destination = torch.where(seen[:, None], enemy, torch.where((m["searching"] & open_)[:, None], frontier,
                                                                     enemy_start))
        idle = ~(units.own & (units.order_length > 0)).any(dim=1)
        moved = torch.linalg.vector_norm(destination - m["destination"], dim=-1) > NEW_DESTINATION * scale

        can = obs["available_actions"].bool()
        can_attack = can[:, int(FunctionId.Attack_screen)]
        select = (obs["player"][:, ARMY_COUNT] > obs["multi_select_mask"].sum(dim=1)) & can[
            :, int(FunctionId.select_army)]
        look = ~select & own.any(dim=1) & (torch.linalg.vector_norm(army - camera, dim=-1) > CAMERA_SLACK * scale)
        ready = ~select & ~look & can_attack
        attack = ready & focus & (m["target"] != m["attacked"])
        march = ready & ~focus & (idle | (moved & ~units.enemy.any(dim=1)))
        m["attacked"] = torch.where(attack, m["target"], m["attacked"])
        m["destination"] = torch.where(march[:, None], destination, m["destination"])
        return commands.choose([
            (select, commands.select_army(B, device)),
            (look, commands.minimap_command(FunctionId.move_camera, army, M)),
            (attack, commands.screen_command(FunctionId.Attack_screen, gather_rows(units.pos, row), S)),
            (march, commands.minimap_command(FunctionId.Attack_minimap, destination, M)),
        ], commands.no_op(B, device))
