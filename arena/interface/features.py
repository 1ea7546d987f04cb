"""pysc2's screen and minimap feature layers, drawn from the units a player can see.

Each unit is drawn as a disc of its radius (at least its centre pixel). Where units overlap, the one in the higher
slot is drawn on top; unit_density counts them all. Layers the engine does not model (creep, power, effects,
buffs, ...) are zeros, as on a map without them. Layers are int16 [B, C, H, W].
"""

from __future__ import annotations

import torch

from arena.sim.geometry import planar_norm
from arena.interface.fog import disc_offsets
from arena.interface.view import (MINIMAP_LAYERS, SCREEN_LAYERS, InterfaceFormat, MapGeometry, minimap_scale,
                                  screen_world_rect, world_to_minimap)
from arena.sim.state import Owner, State
from arena.sim.units import UnitTable

PLAYER_ID_NEUTRAL = 16


class PlayerRelative:
    """pysc2's player_relative values."""

    NONE, SELF, ALLY, NEUTRAL, ENEMY = 0, 1, 2, 3, 4


def player_relative(owner: torch.Tensor, player: int) -> torch.Tensor:
    """pysc2 player_relative of units owned by `owner` [B, U], seen by `player`."""
    neutral = owner == int(Owner.NEUTRAL)
    return torch.where(neutral, PlayerRelative.NEUTRAL,
                       torch.where(owner == player, PlayerRelative.SELF, PlayerRelative.ENEMY))


def player_id(owner: torch.Tensor) -> torch.Tensor:
    """pysc2 player ids: 1 and 2 for the players, 16 for neutral."""
    return torch.where(owner == int(Owner.NEUTRAL), PLAYER_ID_NEUTRAL, owner + 1)


UNIT_LAYERS = ("player_id", "player_relative", "unit_type", "selected", "unit_hit_points", "unit_hit_points_ratio",
               "unit_shields", "unit_shields_ratio", "active")


def unit_layer_values(state: State, player: int, table: UnitTable) -> torch.Tensor:
    """[B, U, len(UNIT_LAYERS)] what each unit paints into each unit-driven layer."""
    kind = state.unit_type
    max_hp, max_shields = table.max_hp[kind], table.max_shields[kind].clamp(min=1.0)
    columns = [
        player_id(state.unit_owner).float(),
        player_relative(state.unit_owner, player).float(),
        table.pysc2_id[kind].float(),
        state.selected[:, player].float(),
        state.unit_hp.clamp(min=0).ceil(),
        (state.unit_hp.clamp(min=0) / max_hp * 255).floor(),
        state.unit_shields.ceil(),
        (state.unit_shields / max_shields * 255).floor(),
        torch.ones_like(state.unit_hp),
    ]
    return torch.stack(columns, dim=-1)


def disc_marks(drawn: torch.Tensor, pos_px: torch.Tensor, radius_px: torch.Tensor, slot: torch.Tensor, size: int,
               reach: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The pixels of units drawn as discs: (flat pixel index [B, N * K], with size * size where nothing is drawn;
    the unit's slot + 1 [B, N * K], 0 where nothing is drawn) for N units whose radii are at most `reach` pixels.

    drawn [B, N] bool, pos_px [B, N, 2] (x, y) pixels, radius_px [B, N], slot [B, N] the units' slots. A pixel is the
    unit's when its centre lies within the radius, and the pixel under the centre always is."""
    offsets = disc_offsets(max(reach, 0.0), pos_px.device)  # [K, 2]
    centre = pos_px.floor().long()
    cell = centre[:, :, None, :] + offsets[None, None]  # [B, N, K, 2]
    gap = cell.to(torch.float32) + 0.5 - pos_px[:, :, None, :]
    inside = (cell >= 0).all(dim=-1) & (cell < size).all(dim=-1)
    disc = (planar_norm(gap) <= radius_px[:, :, None]) | (offsets == 0).all(dim=-1)
    covered = drawn[:, :, None] & inside & disc  # [B, N, K]
    B = drawn.shape[0]
    flat = torch.where(covered, cell[..., 1] * size + cell[..., 0], size * size).reshape(B, -1)
    return flat, torch.where(covered, slot[:, :, None] + 1, 0).reshape(B, -1)


def compose(values: torch.Tensor, flat: torch.Tensor, slot: torch.Tensor, size: int
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Layers [B, F, size, size] (each pixel takes the values of its highest covering slot) and density
    [B, size, size] (how many units cover it) from `disc_marks`."""
    B, U, F = values.shape
    winner = torch.zeros(B, size * size + 1, dtype=torch.long, device=values.device)
    winner.scatter_reduce_(1, flat, slot, reduce="amax")
    winner = winner[:, :-1]
    padded = torch.cat([torch.zeros(B, 1, F, device=values.device, dtype=values.dtype), values], dim=1)
    layers = padded.gather(1, winner[:, :, None].expand(B, size * size, F))
    density = torch.zeros(B, size * size + 1, device=values.device).scatter_add_(1, flat, (slot > 0).float())
    return layers.transpose(1, 2).reshape(B, F, size, size), density[:, :-1].reshape(B, size, size)


def paint_units_together(values: torch.Tensor, drawn: torch.Tensor, pos_px: torch.Tensor, radius_px: torch.Tensor,
                         size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`paint_units` with every unit drawn over the square of the largest: the plain version, kept to test the
    split one against."""
    B, U, _ = values.shape
    slot = torch.arange(U, device=values.device).expand(B, U)
    reach = float(radius_px.max()) if radius_px.numel() else 0.0
    return compose(values, *disc_marks(drawn, pos_px, radius_px, slot, size, reach), size)


def size_split(radius_px: torch.Tensor, drawn: torch.Tensor) -> tuple[float, int]:
    """(reach of the small units, how many large ones the fullest game has): the split of the drawn units into
    small ones, painted over small squares in every slot, and the few large ones (structures), gathered and painted
    over the largest square, that costs the fewest pixels to test. The cost of a reach r is (2 ceil(r) + 1)^2."""
    U = radius_px.shape[1]
    sizes = torch.unique(torch.where(drawn, radius_px, 0.0))
    if sizes.numel() <= 1:
        return float(sizes.max()) if sizes.numel() else 0.0, 0
    larger = ((radius_px[:, :, None] > sizes) & drawn[..., None]).sum(dim=1).amax(dim=0)  # [S] per candidate reach
    square = lambda r: (2 * torch.ceil(r) + 1) ** 2  # noqa: E731
    cost = U * square(sizes) + larger * square(sizes.max())
    best = int(cost.argmin())
    return float(sizes[best]), int(larger[best])


def paint_units(values: torch.Tensor, drawn: torch.Tensor, pos_px: torch.Tensor, radius_px: torch.Tensor,
                size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw units as discs into a size x size grid.

    values [B, U, F], drawn [B, U] bool, pos_px [B, U, 2] (x, y) pixels, radius_px [B, U].
    Returns (layers [B, F, size, size] with the top unit's values, density [B, size, size]).

    On the CPU a compiled kernel paints them (arena.interface.kernels); elsewhere `paint_units_split`. Both give the
    pixels of `paint_units_together`."""
    if values.device.type == "cpu":
        from arena.interface.kernels import paint_units_kernel  # numba compiles on first use

        return paint_units_kernel(values, drawn, pos_px, radius_px, size)
    return paint_units_split(values, drawn, pos_px, radius_px, size)


def paint_units_split(values: torch.Tensor, drawn: torch.Tensor, pos_px: torch.Tensor, radius_px: torch.Tensor,
                      size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`paint_units` in torch: the pixels of `paint_units_together`, at a fraction of the cost when a few large units
    (structures) share the screen with many small ones: see `size_split`."""
    B, U, _ = values.shape
    slot = torch.arange(U, device=values.device).expand(B, U)
    if U == 0:
        return compose(values, *disc_marks(drawn, pos_px, radius_px, slot, size, 0.0), size)
    small_reach, large_count = size_split(radius_px, drawn)
    small = drawn & (radius_px <= small_reach)
    flat, slots = disc_marks(small, pos_px, radius_px, slot, size, small_reach)
    if large_count:
        large = drawn & ~small
        chosen = torch.where(large, radius_px, -1.0).topk(large_count, dim=1).indices  # [B, L]
        big_flat, big_slots = disc_marks(large.gather(1, chosen), pos_px.gather(1, chosen[..., None].expand(-1, -1, 2)),
                                         radius_px.gather(1, chosen), chosen, size, float(radius_px.max()))
        flat, slots = torch.cat([flat, big_flat], dim=1), torch.cat([slots, big_slots], dim=1)
    return compose(values, flat, slots, size)


def pixel_centres_world(origin: torch.Tensor, scale: float, size: int, map_height: float | None) -> torch.Tensor:
    """[B, size, size, 2] map coordinates of each pixel's centre.

    For the screen, origin [B, 2] is the map point of the screen's top-left corner (y down from it);
    for the minimap (map_height given) the origin is ignored: pixel (0, 0) is the map's top-left corner.
    """
    r = torch.arange(size, device=origin.device, dtype=torch.float32) + 0.5
    py, px = torch.meshgrid(r, r, indexing="ij")
    if map_height is not None:
        world = torch.stack([px / scale, map_height - py / scale], dim=-1)
        return world[None].expand(origin.shape[0], size, size, 2)
    return torch.stack([origin[:, None, None, 0] + px / scale, origin[:, None, None, 1] - py / scale], dim=-1)


def sample_cells(grid: torch.Tensor, world: torch.Tensor) -> torch.Tensor:
    """Read a per-cell map grid [B, H, W] at map points [B, ..., 2]; points off the map read 0."""
    B, H, W = grid.shape
    cell = world.floor().long()
    x, y = cell[..., 0], cell[..., 1]
    inside = (x >= 0) & (x < W) & (y >= 0) & (y < H)
    index = (y.clamp(0, H - 1) * W + x.clamp(0, W - 1)).reshape(B, -1)
    values = grid.reshape(B, -1).gather(1, index).reshape(x.shape)
    return torch.where(inside, values, torch.zeros_like(values))


def in_rect(world: torch.Tensor, rect: torch.Tensor) -> torch.Tensor:
    """world [B, ..., 2], rect [B, 4] or [4] -> bool [B, ...]."""
    rect = rect.reshape(rect.shape[:1] + (1,) * (world.dim() - 2) + (4,)) if rect.dim() == 2 else rect
    return ((world[..., 0] >= rect[..., 0]) & (world[..., 0] <= rect[..., 2])
            & (world[..., 1] >= rect[..., 1]) & (world[..., 1] <= rect[..., 3]))


def _stack(named: dict[str, torch.Tensor], order: tuple[str, ...], like: torch.Tensor) -> torch.Tensor:
    zeros = torch.zeros_like(like, dtype=torch.int16)
    return torch.stack([named[n].to(torch.int16) if n in named else zeros for n in order], dim=1)


def screen_layers(state: State, player: int, table: UnitTable, fmt: InterfaceFormat, visible_units: torch.Tensor,
                  visibility: torch.Tensor, playable: torch.Tensor, pos_px: torch.Tensor) -> torch.Tensor:
    """[B, 27, S, S] pysc2 screen feature layers of `player`. pos_px [B, U, 2] unit positions in screen pixels."""
    S, scale = fmt.screen_size, fmt.pixels_per_unit
    camera = state.camera[:, player]
    values = unit_layer_values(state, player, table)
    radius_px = table.radius[state.unit_type] * scale
    layers, density = paint_units(values, visible_units, pos_px, radius_px, S)
    named = {name: layers[:, i] for i, name in enumerate(UNIT_LAYERS)}
    rect = screen_world_rect(camera, fmt)
    world = pixel_centres_world(torch.stack([rect[:, 0], rect[:, 3]], dim=-1), scale, S, None)
    walkable = in_rect(world, playable)
    named.update(unit_density=density.clamp(max=15), unit_density_aa=(density * 255).clamp(max=255),
                 visibility_map=sample_cells(visibility, world), pathable=walkable, buildable=walkable)
    return _stack(named, SCREEN_LAYERS, density)


def minimap_layers(state: State, player: int, table: UnitTable, fmt: InterfaceFormat, geometry: MapGeometry,
                   visible_units: torch.Tensor, visibility: torch.Tensor, playable: torch.Tensor) -> torch.Tensor:
    """[B, 11, M, M] pysc2 minimap feature layers of `player`."""
    M, scale = fmt.minimap_size, minimap_scale(fmt, geometry)
    values = unit_layer_values(state, player, table)
    keep = [UNIT_LAYERS.index(n) for n in ("player_id", "player_relative", "selected", "unit_type")]
    pos_px = world_to_minimap(state.unit_pos, fmt, geometry)
    radius_px = table.radius[state.unit_type] * scale
    layers, density = paint_units(values[..., keep], visible_units, pos_px, radius_px, M)
    named = {name: layers[:, i] for i, name in enumerate(("player_id", "player_relative", "selected", "unit_type"))}
    world = pixel_centres_world(state.camera[:, player], scale, M, geometry.height)
    walkable = in_rect(world, playable)
    named.update(visibility_map=sample_cells(visibility, world), pathable=walkable, buildable=walkable,
                 camera=in_rect(world, screen_world_rect(state.camera[:, player], fmt)))
    return _stack(named, MINIMAP_LAYERS, density)

