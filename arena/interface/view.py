"""What a player sees the world through: the interface format, the camera and the pixel <-> map transforms.

Map coordinates have y up as in StarCraft II; screen and minimap pixels have y down, as pysc2 draws them.
Spatial observations are indexed (y, x); point arguments are (x, y).
"""

from __future__ import annotations

import dataclasses

import torch

SCREEN_LAYERS = (
    "height_map", "visibility_map", "creep", "power", "player_id", "player_relative", "unit_type", "selected",
    "unit_hit_points", "unit_hit_points_ratio", "unit_energy", "unit_energy_ratio", "unit_shields",
    "unit_shields_ratio", "unit_density", "unit_density_aa", "effects", "hallucinations", "cloaked", "blip", "buffs",
    "buff_duration", "active", "build_progress", "pathable", "buildable", "placeholder",
)
"""pysc2's 27 screen feature layers, in pysc2's order."""
MINIMAP_LAYERS = (
    "height_map", "visibility_map", "creep", "camera", "player_id", "player_relative", "selected", "unit_type",
    "alerts", "pathable", "buildable",
)
"""pysc2's 11 minimap feature layers, in pysc2's order."""


@dataclasses.dataclass(frozen=True)
class InterfaceFormat:
    """What observations hold (pysc2's AgentInterfaceFormat, for the batched path)."""

    screen_size: int = 64
    """Screen feature layers are screen_size x screen_size pixels."""
    minimap_size: int = 64
    """Minimap feature layers are minimap_size x minimap_size pixels."""
    camera_width: float = 24.0
    """Map units the screen spans (pysc2's default camera_width_world_units)."""
    feature_layers: bool = True
    """Render screen and minimap feature layers (off for unit-list-only observations, which are much cheaper)."""
    feature_units: bool = True
    """Include pysc2's feature_units (on-screen units, screen pixels)."""
    raw_units: bool = False
    """Include pysc2's raw_units (every unit the player can see, minimap pixels)."""
    mask_offscreen_enemies: bool = False
    """Leave enemies outside the camera out of raw_units too (they stay on the minimap under fog of war), so
    that even the unit-list view is camera-limited (pysc2's `mask_offscreen_enemies` idea)."""

    def __post_init__(self) -> None:
        if self.screen_size < 8 or self.minimap_size < 8:
            raise ValueError(f"screen_size and minimap_size must be at least 8, got {self.screen_size} and "
                             f"{self.minimap_size}")
        if self.camera_width <= 0:
            raise ValueError(f"camera_width must be positive, got {self.camera_width}")

    @property
    def pixels_per_unit(self) -> float:
        return self.screen_size / self.camera_width


@dataclasses.dataclass(frozen=True)
class MapGeometry:
    """The map's size and the rectangle the camera centre may move in (map units)."""

    width: float
    height: float
    camera_bounds: tuple[float, float, float, float]
    playable: tuple[float, float, float, float] | None = None
    """The rectangle structures must be placed in (None: the whole map)."""

    @property
    def placement_bounds(self) -> tuple[float, float, float, float]:
        return self.playable if self.playable is not None else (0.0, 0.0, self.width, self.height)


def world_to_screen(pos: torch.Tensor, camera: torch.Tensor, fmt: InterfaceFormat) -> torch.Tensor:
    """pos [B, N, 2] map units, camera [B, 2] -> [B, N, 2] screen pixels (float, x right, y down)."""
    scale = fmt.pixels_per_unit
    half = fmt.screen_size / 2
    x = (pos[..., 0] - camera[:, None, 0]) * scale + half
    y = (camera[:, None, 1] - pos[..., 1]) * scale + half
    return torch.stack([x, y], dim=-1)


def screen_to_world(point: torch.Tensor, camera: torch.Tensor, fmt: InterfaceFormat) -> torch.Tensor:
    """point [B, 2] integer screen pixels (x, y) -> [B, 2] map units at the pixel's centre."""
    scale = fmt.pixels_per_unit
    half = fmt.screen_size / 2
    centre = point.to(torch.float32) + 0.5 - half
    return torch.stack([camera[:, 0] + centre[:, 0] / scale, camera[:, 1] - centre[:, 1] / scale], dim=-1)


def minimap_scale(fmt: InterfaceFormat, geometry: MapGeometry) -> float:
    """Minimap pixels per map unit (pysc2 scales the larger map side to the minimap)."""
    return fmt.minimap_size / max(geometry.width, geometry.height)


def world_to_minimap(pos: torch.Tensor, fmt: InterfaceFormat, geometry: MapGeometry) -> torch.Tensor:
    """pos [..., 2] map units -> [..., 2] minimap pixels (float)."""
    scale = minimap_scale(fmt, geometry)
    return torch.stack([pos[..., 0] * scale, (geometry.height - pos[..., 1]) * scale], dim=-1)


def minimap_to_world(point: torch.Tensor, fmt: InterfaceFormat, geometry: MapGeometry) -> torch.Tensor:
    """point [B, 2] integer minimap pixels -> [B, 2] map units at the pixel's centre."""
    scale = minimap_scale(fmt, geometry)
    centre = point.to(torch.float32) + 0.5
    return torch.stack([centre[:, 0] / scale, geometry.height - centre[:, 1] / scale], dim=-1)


def clamp_camera(centre: torch.Tensor, geometry: MapGeometry) -> torch.Tensor:
    """Keep camera centres [..., 2] inside the map's camera bounds."""
    x0, y0, x1, y1 = geometry.camera_bounds
    return torch.stack([centre[..., 0].clamp(x0, x1), centre[..., 1].clamp(y0, y1)], dim=-1)


def screen_world_rect(camera: torch.Tensor, fmt: InterfaceFormat) -> torch.Tensor:
    """[B, 4] the map rectangle (x0, y0, x1, y1) the screen shows."""
    half = fmt.camera_width / 2
    return torch.stack([camera[:, 0] - half, camera[:, 1] - half, camera[:, 0] + half, camera[:, 1] + half], dim=-1)
