"""FindAndDefeatZerglings: sweep the fogged map with the three Marines, the camera following them, and focus fire on
every Zergling that shows up.

The agent remembers which minimap pixels it has seen with no enemy on them ("cleared"); the army attack-moves to the
nearest pixel not yet cleared. The memory is wiped when all 25 Zerglings of a wave are dead (they respawn anywhere)
or when the whole map has been cleared.
"""

from __future__ import annotations

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.focus_fire import STICKY_TAG_NONE, focus_target, target_tag
from agents.scripted.units import INF, ScreenUnits, centroid, gather_rows
from arena.interface.actions import BatchedAction
from arena.interface.fog import Visibility
from arena.interface.functions import FunctionId
from arena.interface.view import MINIMAP_LAYERS
from arena.sim.state import Score

VISIBILITY = MINIMAP_LAYERS.index("visibility_map")
PLAYER_RELATIVE = MINIMAP_LAYERS.index("player_relative")
SELECTED = MINIMAP_LAYERS.index("selected")
PATHABLE = MINIMAP_LAYERS.index("pathable")
SELF, ENEMY = 1, 4
ZERGLINGS_PER_WAVE = 25
ZERGLING_VALUE = 25.0
"""Minerals a Zergling is worth in score_cumulative's killed_value_units."""
CAMERA_SLACK = 4.0
"""Move the camera when the army is further than this (minimap pixels) from the screen's centre."""
PX_PER_HP = 3.0
"""A Zergling one screen pixel further away counts as 3 HP more."""


def pixel_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """[H * W, 2] (x, y) centres of a grid's pixels."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    return torch.stack([xs, ys], dim=-1).reshape(-1, 2).float() + 0.5


def nearest_pixel(mask: torch.Tensor, point: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The pixel of `mask` [B, H, W] nearest to `point` [B, 2] (x, y): (pixel centre [B, 2], found [B])."""
    B, H, W = mask.shape
    grid = pixel_grid(H, W, mask.device)
    dist = torch.linalg.vector_norm(grid[None] - point[:, None], dim=-1)
    index = torch.where(mask.reshape(B, -1), dist, INF).argmin(dim=1)
    return grid[index], mask.reshape(B, -1).any(dim=1)


class FindAndDefeatZerglingsAgent(BatchedAgent):
    """Explore with Attack_minimap, follow with move_camera, focus fire with Attack_screen."""

    name = "scripted-FindAndDefeatZerglings"

    def __init__(self, *, map_size: float = 64.0) -> None:
        self.map_size = map_size
        self.cleared: torch.Tensor | None = None  # [B, M, M] bool minimap pixels seen empty
        self.wave: torch.Tensor | None = None  # [B] long, Zergling waves wiped out
        self.target: torch.Tensor | None = None  # [B] float, focus target's tag

    def reset(self, num_envs: int) -> None:
        self.cleared = None

    def _remember(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> torch.Tensor:
        """Update the cleared pixels; returns the pixels still worth a visit [B, M, M]."""
        minimap = obs["feature_minimap"]
        B, device = first.shape[0], first.device
        if self.cleared is None or self.cleared.shape[0] != B:
            self.cleared = torch.zeros(minimap[:, 0].shape, dtype=torch.bool, device=device)
            self.wave = torch.zeros(B, dtype=torch.long, device=device)
            self.target = torch.full((B,), STICKY_TAG_NONE, device=device)
        kills = (obs["score_cumulative"][:, int(Score.KILLED_VALUE_UNITS)] / ZERGLING_VALUE).round().long()
        wave = kills // ZERGLINGS_PER_WAVE
        wiped = first | (wave != self.wave)
        self.wave = wave
        self.target = torch.where(first, STICKY_TAG_NONE, self.target)
        pathable = minimap[:, PATHABLE] > 0
        visible = minimap[:, VISIBILITY] == int(Visibility.VISIBLE)
        enemy = minimap[:, PLAYER_RELATIVE] == ENEMY
        cleared = (self.cleared & ~wiped[:, None, None]) | (visible & ~enemy)
        done = ~(pathable & ~cleared).flatten(1).any(dim=1)
        self.cleared = cleared & ~done[:, None, None]
        return pathable & ~self.cleared

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        unexplored = self._remember(obs, first)
        B, device = first.shape[0], first.device
        minimap = obs["feature_minimap"]
        M = minimap.shape[-1]
        S = int(obs["feature_screen"].shape[-1]) if "feature_screen" in obs else 64
        mm_scale = M / self.map_size
        grid = pixel_grid(M, M, device)[None].expand(B, -1, -1)
        own = (minimap[:, PLAYER_RELATIVE] == SELF).reshape(B, -1)
        army = centroid(grid, own)  # minimap pixels
        unselected = (own & ~(minimap[:, SELECTED] > 0).reshape(B, -1)).any(dim=1)
        camera_mm = torch.stack([obs["camera"][:, 0], self.map_size - obs["camera"][:, 1]], dim=-1) * mm_scale
        camera_off = torch.linalg.vector_norm(army - camera_mm, dim=-1) > CAMERA_SLACK * mm_scale

        units = ScreenUnits.read(obs)
        row, on_screen = focus_target(units, units.enemy, self.target, px_per_hp=PX_PER_HP)
        self.target = target_tag(units, row, on_screen)
        enemy_mm, seen = nearest_pixel(minimap[:, PLAYER_RELATIVE] == ENEMY, army)
        frontier, open_ = nearest_pixel(unexplored, army)
        available = obs["available_actions"]
        can_attack = available[:, int(FunctionId.Attack_screen)]
        return commands.choose([
            (unselected & available[:, int(FunctionId.select_army)], commands.select_army(B, device)),
            (camera_off & own.any(dim=1), commands.minimap_command(FunctionId.move_camera, army, M)),
            (on_screen & can_attack, commands.screen_command(FunctionId.Attack_screen,
                                                             gather_rows(units.pos, row), S)),
            (seen & can_attack, commands.minimap_command(FunctionId.Attack_minimap, enemy_mm, M)),
            (open_ & can_attack, commands.minimap_command(FunctionId.Attack_minimap, frontier, M)),
        ], commands.no_op(B, device))
