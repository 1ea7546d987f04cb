"""Observations drawn by compiled kernels (numba), each game's units looped over straight into its grids, games
spread over the CPU's threads, instead of [B, U, K] pixel lists scattered by torch:

- `paint_discs`: units as discs in the feature layers, the pixels of
  `arena.interface.features.paint_units_together`: a unit covers the pixels whose centre lies within its radius and
  the pixel under its centre; where units overlap, the one in the higher slot is on top; density counts them all.
- `mark_sight` (in arena.sim.kernels, whose game loops mark what is seen too): fog of war's visible cells, those
  of `arena.interface.fog.visible_cells_by_cell`.
- `observe_units`: everything of an observation that is read off the units (available actions, the player vector,
  control groups, the selection's rows, the unit lists `feature_units` and `raw_units` with their masks), the values
  of `arena.interface.observation.unit_fields`, in one pass over each game's units.

The torch versions stay as the references the tests compare against, pixel for pixel and cell for cell.
"""

from __future__ import annotations

import collections
import math

import numba
import numpy as np
import torch

from arena.sim.kernels import GamesKernel, follow_torch_threads, mark_sight  # (sets numba's threading layer first)

_HALF = np.float32(0.5)


@numba.njit(cache=True, inline="always")
def _disc_pixels(px, py, r, S):
    """The square of pixels a disc at (px, py) pixels with radius r may cover: (cx, cy, k), the pixels
    cx - k .. cx + k, cy - k .. cy + k (those inside the S x S grid and `_in_disc`)."""
    return int(math.floor(px)), int(math.floor(py)), int(math.ceil(max(r, np.float32(0.0))))


@numba.njit(cache=True, inline="always")
def _in_disc(x, y, dx, dy, px, py, r):
    """Whether pixel (x, y), offset (dx, dy) from the disc's centre pixel, is the disc's: its centre lies within the
    radius, or it is the pixel under the centre (arena.interface.features.disc_marks)."""
    gx = np.float32(x) + _HALF - px
    gy = np.float32(y) + _HALF - py
    return (dx == 0 and dy == 0) or np.float32(math.sqrt(gx * gx + gy * gy)) <= r


@numba.njit(cache=True)
def _paint_disc(grid, channels, values, density, counted, px, py, r):
    """One unit as a disc at (px, py) pixels with radius r into grid [C, S, S]: values[c] into channels[c] of every
    pixel it covers, over what is there (a later unit is on top); with `counted`, +1 into density [S, S] there."""
    S = grid.shape[1]
    cx, cy, k = _disc_pixels(px, py, r, S)
    for dy in range(-k, k + 1):
        y = cy + dy
        if y < 0 or y >= S:
            continue
        for dx in range(-k, k + 1):
            x = cx + dx
            if x < 0 or x >= S or not _in_disc(x, y, dx, dy, px, py, r):
                continue
            for c in range(channels.shape[0]):
                grid[channels[c], y, x] = values[c]
            if counted:
                density[y, x] += 1


@numba.njit(cache=True, parallel=True)
def paint_discs(values, drawn, pos_px, radius_px, layers, density):
    """values [B, U, F] float32, drawn [B, U] bool, pos_px [B, U, 2] float32 (x, y) pixels, radius_px [B, U]
    float32; writes layers [B, F, S, S] and density [B, S, S] (float32, zero on entry)."""
    B, U, F = values.shape
    channels = np.arange(F)
    for b in numba.prange(B):
        for u in range(U):
            if drawn[b, u]:
                _paint_disc(layers[b], channels, values[b, u], density[b], True, pos_px[b, u, 0], pos_px[b, u, 1],
                            radius_px[b, u])


paint_discs = GamesKernel(paint_discs)


def visible_cells_kernel(state, player: int, table, cells: tuple[int, int]) -> torch.Tensor:
    """`arena.interface.fog.visible_cells` on the CPU through `mark_sight`: [B, H, W] bool."""
    follow_torch_threads()
    H, W = cells
    visible = torch.zeros(state.batch_size, H, W, dtype=torch.bool)
    own = state.unit_alive & (state.unit_owner == player)
    mark_sight(state.batch_size, state.unit_pos.to(torch.float32).contiguous().numpy(),
               table.sight[state.unit_type].to(torch.float32).contiguous().numpy(), own.contiguous().numpy(),
               visible.numpy())
    return visible


def paint_units_kernel(values: torch.Tensor, drawn: torch.Tensor, pos_px: torch.Tensor, radius_px: torch.Tensor,
                       size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`arena.interface.features.paint_units` on the CPU through `paint_discs`: (layers [B, F, size, size], density
    [B, size, size]), both float32."""
    follow_torch_threads()
    B, U, F = values.shape
    layers = torch.zeros(B, F, size, size)
    density = torch.zeros(B, size, size)
    if U:
        paint_discs(B, values.to(torch.float32).contiguous().numpy(), drawn.contiguous().numpy(),
                    pos_px.to(torch.float32).contiguous().numpy(), radius_px.to(torch.float32).contiguous().numpy(),
                    layers.numpy(), density.numpy())
    return layers, density



# ---------------------------------------------------------------------------------------------------------------
# Unit-read observation fields (arena.interface.observation.unit_fields), one pass per game.

# Constants written out as literals (numba freezes globals into its cache, which only notices edits to this file);
# tests/arena/test_observation_kernel.py checks each against the torch version's own.
_NEUTRAL = 2  # arena.sim.state.Owner.NEUTRAL
_SELF, _ENEMY, _NEUTRAL_RELATIVE = 1, 4, 3  # arena.interface.features.PlayerRelative
_PLAYER_ID_NEUTRAL = 16  # arena.interface.features.PLAYER_ID_NEUTRAL
_ORDER_NONE = 0  # arena.sim.state.Order.NONE
_RESOURCE_MINERALS = 1  # arena.sim.units.RESOURCE_MINERALS
_UNIT_NONE = 0  # arena.sim.units.UnitType.NONE
_SUPPLY_LIMIT = np.float32(200.0)  # arena.sim.economy.SUPPLY_LIMIT
_DISPLAY_VISIBLE, _CLOAK_NOT_CLOAKED = np.float32(1.0), np.float32(3.0)  # arena.interface.unit_list
_UNIT_FEATURES = 46  # arena.interface.unit_list.NUM_UNIT_FEATURES
_SELECTION_FEATURES = 7  # arena.interface.unit_list.SELECTION_FEATURES
_PLAYER_FIELDS = 11  # arena.interface.observation.PLAYER_FIELDS
_ZERO, _ONE, _HUNDRED, _MAX_RATIO = np.float32(0.0), np.float32(1.0), np.float32(100.0), np.float32(255.0)

OBSERVATION_CONSTANTS = {
    "Owner.NEUTRAL": _NEUTRAL, "PlayerRelative.SELF": _SELF, "PlayerRelative.ENEMY": _ENEMY,
    "PlayerRelative.NEUTRAL": _NEUTRAL_RELATIVE, "PLAYER_ID_NEUTRAL": _PLAYER_ID_NEUTRAL, "Order.NONE": _ORDER_NONE,
    "RESOURCE_MINERALS": _RESOURCE_MINERALS, "UnitType.NONE": _UNIT_NONE, "SUPPLY_LIMIT": float(_SUPPLY_LIMIT),
    "DISPLAY_VISIBLE": float(_DISPLAY_VISIBLE), "CLOAK_NOT_CLOAKED": float(_CLOAK_NOT_CLOAKED),
    "NUM_UNIT_FEATURES": _UNIT_FEATURES, "SELECTION_FEATURES": _SELECTION_FEATURES, "PLAYER_FIELDS": _PLAYER_FIELDS}

ObservedTable = collections.namedtuple("ObservedTable", [
    "pysc2_id", "max_hp", "max_shields", "radius", "resource", "build_loops", "supply", "per_order",
    "supply_provided", "worker", "armed", "mobile", "order_ability"])
"""The unit table's columns the observation reads ([K] arrays indexed by UnitType), and pysc2's ability id of each
Order ([len(Order)] float32)."""

FunctionTable = collections.namedtuple("FunctionTable", [
    "always", "army", "idle_worker", "commands", "command_attacks", "makes", "maker", "requires", "gather",
    "harvest_return", "rallies", "rally_types", "allowed"])
"""Which function ids available_actions offers when: always [A]; select_army, select_idle_worker; the unit commands
[C] and which of them attack [C]; the Build and Train functions [E], their maker [E] and requirement [E] types;
Harvest_Gather_screen, Harvest_Return_quick; the Rally functions [R] and the types each rallies [R, K]; and the
scenario's allowed functions [573] (all True for none)."""


@numba.njit(cache=True, inline="always")
def _floor(x):
    """float32 floor (math.floor would make an integer, undefined for inf and nan)."""
    return np.float32(np.floor(x))


@numba.njit(cache=True, inline="always")
def _ceil(x):
    return np.float32(np.ceil(x))


@numba.njit(cache=True)
def _player_id(owner):
    """pysc2's player id of a unit's owner: 1 and 2 for the players, 16 for neutral (features.player_id)."""
    return _PLAYER_ID_NEUTRAL if owner == _NEUTRAL else owner + 1


@numba.njit(cache=True)
def _ratio(value, maximum):
    """pysc2's 0-255 ratio columns: floor(value / maximum * 255), in float32."""
    return _floor(value / maximum * _MAX_RATIO)


@numba.njit(cache=True, inline="always")
def _relative(owner, player):
    if owner == _NEUTRAL:
        return _NEUTRAL_RELATIVE
    return _SELF if owner == player else _ENEMY


@numba.njit(cache=True)
def _player_fields(b, player, kind, owner, alive, order_kind, queue, build_left, morph, larva, minerals, vespene,
                   T, out):
    """pysc2's player vector of game b (arena.interface.observation.player_vector) into out [11]."""
    used = _ZERO
    cap = _ZERO
    larvae = _ZERO
    army_supply = _ZERO
    workers = 0
    idle = 0
    army = 0
    for i in range(kind.shape[1]):
        if not alive[b, i] or owner[b, i] != player:
            continue
        k = kind[b, i]
        m = morph[b, i]
        if m > 0:
            supply = T.supply[m] * np.float32(T.per_order[m])
        else:
            supply = T.supply[k]
        queued = _ZERO
        for r in range(queue.shape[2]):
            queued += T.supply[queue[b, i, r]]
        used += supply + queued
        if build_left[b, i] <= 0:
            cap += T.supply_provided[k]
        larvae += _floor(larva[b, i])
        if T.worker[k]:
            workers += 1
            if order_kind[b, i, 0] == _ORDER_NONE:
                idle += 1
        else:
            army_supply += T.supply[k]
            if T.armed[k] and T.mobile[k]:
                army += 1
    out[0] = np.float32(player + 1)
    out[1] = _floor(minerals[b, player])
    out[2] = _floor(vespene[b, player])
    out[3] = _ceil(used)
    out[4] = min(cap, _SUPPLY_LIMIT)
    out[5] = _ceil(army_supply)
    out[6] = np.float32(workers)
    out[7] = np.float32(idle)
    out[8] = np.float32(army)
    out[9] = _ZERO
    out[10] = larvae


@numba.njit(cache=True)
def _has_finished(b, player, kind, owner, alive, build_left, wanted):
    """Whether `player` owns a finished unit of type `wanted` in game b (UnitType.NONE: always)."""
    if wanted == _UNIT_NONE:
        return True
    for i in range(kind.shape[1]):
        if alive[b, i] and build_left[b, i] <= 0 and kind[b, i] == wanted and owner[b, i] == player:
            return True
    return False


@numba.njit(cache=True)
def _available(b, player, kind, owner, alive, order_kind, build_left, cargo, selected, T, F, economy, out):
    """pysc2's available_actions of game b (arena.interface.actions.available_actions) into out [573]."""
    for f in range(out.shape[0]):
        out[f] = False
    any_army = False
    any_idle = False
    can_move = False
    can_attack = False
    for i in range(kind.shape[1]):
        if not alive[b, i] or owner[b, i] != player:
            continue
        k = kind[b, i]
        if T.worker[k] and order_kind[b, i, 0] == _ORDER_NONE:
            any_idle = True
        if T.armed[k] and T.mobile[k] and not T.worker[k]:
            any_army = True
        if selected[b, i] and T.mobile[k]:
            can_move = True
            if T.armed[k]:
                can_attack = True
    for a in range(F.always.shape[0]):
        out[F.always[a]] = True
    out[F.army] = any_army
    out[F.idle_worker] = any_idle
    for c in range(F.commands.shape[0]):
        out[F.commands[c]] = can_attack if F.command_attacks[c] else can_move
    if economy:
        for e in range(F.makes.shape[0]):
            made = False
            for i in range(kind.shape[1]):
                if (selected[b, i] and alive[b, i] and owner[b, i] == player and build_left[b, i] <= 0
                        and kind[b, i] == F.maker[e]):
                    made = True
                    break
            out[F.makes[e]] = made and _has_finished(b, player, kind, owner, alive, build_left, F.requires[e])
        gather = False
        carry = False
        for i in range(kind.shape[1]):
            if (selected[b, i] and alive[b, i] and owner[b, i] == player and build_left[b, i] <= 0
                    and T.worker[kind[b, i]]):
                gather = True
                if cargo[b, i] > 0:
                    carry = True
        out[F.gather] = gather
        out[F.harvest_return] = carry
        for r in range(F.rallies.shape[0]):
            rally = False
            for i in range(kind.shape[1]):
                if (selected[b, i] and alive[b, i] and owner[b, i] == player and build_left[b, i] <= 0
                        and F.rally_types[r, kind[b, i]]):
                    rally = True
                    break
            out[F.rallies[r]] = rally
    for f in range(out.shape[0]):
        out[f] = out[f] and F.allowed[f]
    for a in range(F.always.shape[0]):
        out[F.always[a]] = True


@numba.njit(cache=True)
def _unit_row(b, i, player, kind, owner, hp, shields, cooldown, order_kind, queue, selected, resources, build_left,
              morph, wave, x_px, y_px, scale, on_screen, T, row):
    """Slot i of game b as pysc2's 46 FeatureUnit columns (arena.interface.unit_list.unit_list) into row [46]."""
    k = kind[b, i]
    health = max(hp[b, i], _ZERO)
    shield = shields[b, i]
    for c in range(row.shape[0]):
        row[c] = _ZERO
    row[0] = np.float32(T.pysc2_id[k])
    row[1] = np.float32(_relative(owner[b, i], player))
    row[2] = _ceil(health)
    row[3] = _ceil(shield)
    making = morph[b, i] if morph[b, i] > 0 else k
    total = max(T.build_loops[making], _ONE)
    progress = _HUNDRED * (_ONE - build_left[b, i] / total)
    row[6] = _floor(min(max(progress, _ZERO), _HUNDRED))
    row[7] = _ratio(health, T.max_hp[k])
    row[8] = _ratio(shield, max(T.max_shields[k], _ONE))
    row[10] = _DISPLAY_VISIBLE
    row[11] = np.float32(_player_id(owner[b, i]))
    row[12] = _floor(x_px)
    row[13] = _floor(y_px)
    row[15] = T.radius[k] * scale
    row[16] = _CLOAK_NOT_CLOAKED
    row[17] = _ONE if selected[b, i] else _ZERO
    if T.resource[k] == _RESOURCE_MINERALS:
        row[20] = _ceil(resources[b, i])
    else:
        row[21] = _ceil(resources[b, i])
    row[25] = _ceil(max(cooldown[b, i], _ZERO))
    length = 0
    for q in range(order_kind.shape[2]):
        if order_kind[b, i, q] != 0:
            length += 1
    for r in range(queue.shape[2]):
        if queue[b, i, r] > 0:
            length += 1
    row[26] = np.float32(length)
    row[27] = T.order_ability[order_kind[b, i, 0]]
    row[28] = T.order_ability[order_kind[b, i, 1]]
    row[29] = np.float32(i + 1 + wave[b] * kind.shape[1])
    row[35] = _ONE if on_screen else _ZERO
    row[38] = T.order_ability[order_kind[b, i, 2]]
    row[39] = T.order_ability[order_kind[b, i, 3]]


@numba.njit(cache=True, parallel=True)
def observe_units(kind, owner, alive, pos, hp, shields, cooldown, order_kind, queue, selected, groups, resources,
                  build_left, morph, larva, cargo, wave, minerals, vespene, visible, camera, T, F, player, economy,
                  screen_scale, screen_size, minimap_scale, map_height, feature_units, raw_units, mask_offscreen,
                  available, player_vector, group_summary, selection_rows, selection_mask, feature_rows,
                  feature_mask, raw_rows, raw_mask):
    """The unit-read fields of `player`'s observation of every game [B, ...] (arena.interface.observation.
    unit_fields). Inputs are the State's arrays ([B, U, ...], `selected` [B, U] and `groups` [B, G, U] the player's,
    `camera` [B, 2] its camera), `visible` [B, U] the units it sees; outputs (written whole): available [B, 573],
    player_vector [B, 11], group_summary [B, G, 2], selection_rows [B, U, 7], selection_mask [B, U], and with
    `feature_units` / `raw_units` the lists [B, U, 46] and their masks [B, U] (left as they are otherwise)."""
    B, U = kind.shape
    half = np.float32(screen_size / 2)
    size = np.float32(screen_size)
    for b in numba.prange(B):
        _player_fields(b, player, kind, owner, alive, order_kind, queue, build_left, morph, larva, minerals,
                       vespene, T, player_vector[b])
        _available(b, player, kind, owner, alive, order_kind, build_left, cargo, selected, T, F, economy,
                   available[b])
        for g in range(groups.shape[1]):
            count = 0
            leader = 0
            for i in range(U):
                if groups[b, g, i] and alive[b, i]:
                    if count == 0:
                        leader = T.pysc2_id[kind[b, i]]
                    count += 1
            group_summary[b, g, 0] = leader
            group_summary[b, g, 1] = count
        for i in range(U):
            k = kind[b, i]
            row = selection_rows[b, i]
            row[0] = np.float32(T.pysc2_id[k])
            row[1] = np.float32(_relative(owner[b, i], player))
            row[2] = _ceil(max(hp[b, i], _ZERO))
            row[3] = _ceil(shields[b, i])
            for c in range(4, row.shape[0]):
                row[c] = _ZERO
            selection_mask[b, i] = selected[b, i] and visible[b, i]
            sx = (pos[b, i, 0] - camera[b, 0]) * screen_scale + half
            sy = (camera[b, 1] - pos[b, i, 1]) * screen_scale + half
            r = T.radius[k] * screen_scale
            on_screen = (visible[b, i] and sx + r >= _ZERO and sy + r >= _ZERO and sx - r < size
                         and sy - r < size)
            if feature_units:
                feature_mask[b, i] = on_screen
                if on_screen:
                    _unit_row(b, i, player, kind, owner, hp, shields, cooldown, order_kind, queue, selected,
                              resources, build_left, morph, wave, sx, sy, screen_scale, on_screen, T,
                              feature_rows[b, i])
                else:
                    for c in range(feature_rows.shape[2]):
                        feature_rows[b, i, c] = _ZERO
            if raw_units:
                listed = visible[b, i]
                if mask_offscreen and owner[b, i] != player and owner[b, i] != _NEUTRAL:
                    listed = listed and on_screen
                raw_mask[b, i] = listed
                if listed:
                    mx = pos[b, i, 0] * minimap_scale
                    my = (map_height - pos[b, i, 1]) * minimap_scale
                    _unit_row(b, i, player, kind, owner, hp, shields, cooldown, order_kind, queue, selected,
                              resources, build_left, morph, wave, mx, my, minimap_scale, on_screen, T,
                              raw_rows[b, i])
                else:
                    for c in range(raw_rows.shape[2]):
                        raw_rows[b, i, c] = _ZERO


observe_units = GamesKernel(observe_units)


# ---------------------------------------------------------------------------------------------------------------
# Feature layers (arena.interface.features.screen_layers, minimap_layers), one pass per game.

_UNIT_LAYER_COUNT = 9  # arena.interface.features.UNIT_LAYERS: player_id, player_relative, unit_type, selected,
#                        unit_hit_points, unit_hit_points_ratio, unit_shields, unit_shields_ratio, active
_MINIMAP_UNIT_LAYERS = (0, 1, 3, 2)  # minimap_layers paints player_id, player_relative, selected, unit_type
_DENSITY_CAP, _DENSITY_AA_CAP = 15, 255


@numba.njit(cache=True)
def _unit_layer_values(b, i, player, kind, owner, hp, shields, selected, T, out):
    """What unit i of game b paints into each of UNIT_LAYERS (arena.interface.features.unit_layer_values)."""
    k = kind[b, i]
    health = max(hp[b, i], _ZERO)
    out[0] = _player_id(owner[b, i])
    out[1] = _relative(owner[b, i], player)
    out[2] = T.pysc2_id[k]
    out[3] = 1 if selected[b, i] else 0
    out[4] = int(_ceil(health))
    out[5] = int(_ratio(health, T.max_hp[k]))
    out[6] = int(_ceil(shields[b, i]))
    out[7] = int(_ratio(shields[b, i], max(T.max_shields[k], _ONE)))
    out[8] = 1


@numba.njit(cache=True)
def _paint_units(b, grid, channels, count, density, pos_x, pos_y, radius, values, drawn):
    """Units of game b as discs into grid [C, S, S]: unit i's values[i, :count] into channels[:count], the higher
    slot on top; with `density` >= 0 the channel that counts how many cover each pixel."""
    counted = density >= 0
    for i in range(values.shape[0]):
        if drawn[b, i]:
            _paint_disc(grid, channels[:count], values[i], grid[max(density, 0)], counted, pos_x[i], pos_y[i],
                        radius[i])


@numba.njit(cache=True)
def _axis(w, axis, cells, playable, view, i, out):
    """What a pixel row or column whose centre lies at map coordinate `w` on `axis` (0: x, 1: y) reads, into
    out[i]: its map cell, whether that is on the map (`cells` wide; arena.interface.features.sample_cells reads 0
    elsewhere), whether it is within the playable rectangle and within `view` (features.in_rect), both [x0, y0, x1,
    y1]. A pixel reads the cell of its column and row, and is inside a rectangle when both are."""
    cell = int(math.floor(w))
    out[i, 0] = cell
    out[i, 1] = 1 if 0 <= cell < cells else 0
    out[i, 2] = 1 if playable[axis] <= w <= playable[axis + 2] else 0
    out[i, 3] = 1 if view[axis] <= w <= view[axis + 2] else 0


@numba.njit(cache=True, parallel=True)
def paint_layers(kind, owner, pos, hp, shields, selected, drawn, camera, visibility, shared_visibility, T, player,
                 screen_scale, camera_half, minimap_scale, map_height, playable, screen_channels, minimap_channels,
                 screen, minimap):
    """`player`'s screen [B, 27, S, S] and minimap [B, 11, M, M] feature layers (int16, zero on entry), the pixels
    of arena.interface.features.screen_layers and minimap_layers. `drawn` [B, U] are the units it sees, `camera`
    [B, 2] its camera, `visibility` [B or 1, H, W] pysc2's visibility states (with `shared_visibility` one grid
    for every game). screen_channels [14]: the channels of UNIT_LAYERS' nine, unit_density, unit_density_aa,
    visibility_map, pathable, buildable; minimap_channels [8]: those of player_id, player_relative, selected,
    unit_type, visibility_map, pathable, buildable, camera."""
    B, U = kind.shape
    S = screen.shape[2]
    M = minimap.shape[2]
    half_screen = np.float32(S / 2)
    for b in numba.prange(B):
        v = b - b if shared_visibility else b  # (b - b: the type of b, which numba would not unify with 0)
        values = np.empty((U, _UNIT_LAYER_COUNT), dtype=np.int16)
        minimap_values = np.empty((U, 4), dtype=np.int16)
        pos_x = np.empty(U, dtype=np.float32)  # the units' pixels
        pos_y = np.empty(U, dtype=np.float32)
        radius = np.empty(U, dtype=np.float32)
        row = np.empty(_UNIT_LAYER_COUNT, dtype=np.int64)
        cols = np.empty((max(S, M), 4), dtype=np.int64)  # per pixel column: map cell, on the map, walkable, in view
        rows = np.empty((max(S, M), 4), dtype=np.int64)
        view = np.empty(4, dtype=np.float32)  # the map rectangle the screen shows
        for i in range(U):
            _unit_layer_values(b, i, player, kind, owner, hp, shields, selected, T, row)
            for c in range(_UNIT_LAYER_COUNT):
                values[i, c] = row[c]
            for c in range(4):
                minimap_values[i, c] = row[_MINIMAP_UNIT_LAYERS[c]]
        cam_x = camera[b, 0]
        cam_y = camera[b, 1]
        view[0] = cam_x - camera_half
        view[1] = cam_y - camera_half
        view[2] = cam_x + camera_half
        view[3] = cam_y + camera_half
        if S > 0:
            grid = screen[b]
            for i in range(U):
                pos_x[i] = (pos[b, i, 0] - cam_x) * screen_scale + half_screen
                pos_y[i] = (cam_y - pos[b, i, 1]) * screen_scale + half_screen
                radius[i] = T.radius[kind[b, i]] * screen_scale
            density = screen_channels[_UNIT_LAYER_COUNT]
            _paint_units(b, grid, screen_channels, _UNIT_LAYER_COUNT, density, pos_x, pos_y, radius, values, drawn)
            aa = screen_channels[_UNIT_LAYER_COUNT + 1]
            origin_x = cam_x - camera_half
            origin_y = cam_y + camera_half
            for x in range(S):  # each pixel column's and row's centre on the map, and what it reads there
                _axis(origin_x + (np.float32(x) + _HALF) / screen_scale, 0, visibility.shape[2], playable, view,
                      x, cols)
                _axis(origin_y - (np.float32(x) + _HALF) / screen_scale, 1, visibility.shape[1], playable, view,
                      x, rows)
            for y in range(S):
                for x in range(S):
                    count = grid[density, y, x]
                    grid[density, y, x] = min(count, _DENSITY_CAP)
                    grid[aa, y, x] = min(count * 255, _DENSITY_AA_CAP)
                    if rows[y, 1] and cols[x, 1]:
                        grid[screen_channels[11], y, x] = visibility[v, rows[y, 0], cols[x, 0]]
                    walkable = 1 if rows[y, 2] and cols[x, 2] else 0
                    grid[screen_channels[12], y, x] = walkable
                    grid[screen_channels[13], y, x] = walkable
        if M > 0:
            grid = minimap[b]
            for i in range(U):
                pos_x[i] = pos[b, i, 0] * minimap_scale
                pos_y[i] = (map_height - pos[b, i, 1]) * minimap_scale
                radius[i] = T.radius[kind[b, i]] * minimap_scale
            _paint_units(b, grid, minimap_channels, 4, -1, pos_x, pos_y, radius, minimap_values, drawn)
            for x in range(M):
                _axis((np.float32(x) + _HALF) / minimap_scale, 0, visibility.shape[2], playable, view, x, cols)
                _axis(map_height - (np.float32(x) + _HALF) / minimap_scale, 1, visibility.shape[1], playable, view,
                      x, rows)
            for y in range(M):
                for x in range(M):
                    if rows[y, 1] and cols[x, 1]:
                        grid[minimap_channels[4], y, x] = visibility[v, rows[y, 0], cols[x, 0]]
                    walkable = 1 if rows[y, 2] and cols[x, 2] else 0
                    grid[minimap_channels[5], y, x] = walkable
                    grid[minimap_channels[6], y, x] = walkable
                    grid[minimap_channels[7], y, x] = 1 if rows[y, 3] and cols[x, 3] else 0


paint_layers = GamesKernel(paint_layers)


# ---------------------------------------------------------------------------------------------------------------
# Actions (arena.interface.actions.apply_action without the economy's functions), one pass per game.

_F_NO_OP, _F_MOVE_CAMERA, _F_SELECT_POINT, _F_SELECT_RECT, _F_SELECT_GROUP = 0, 1, 2, 3, 4  # FunctionId
_F_SELECT_IDLE_WORKER, _F_SELECT_ARMY = 6, 7
_F_ATTACK_SCREEN, _F_ATTACK_MINIMAP, _F_HOLD, _F_MOVE_SCREEN, _F_MOVE_MINIMAP = 12, 13, 274, 331, 332
_F_SMART_SCREEN, _F_SMART_MINIMAP, _F_STOP = 451, 452, 453
_SUCCESS, _INVALID_AVAILABLE_ACTION, _ERROR = 1, 214, 3  # ActionResult
_O_MOVE, _O_ATTACK_MOVE, _O_ATTACK_UNIT, _O_HOLD = 1, 2, 3, 4  # Order
_HALF_PIXEL = np.float32(0.5)
_INF = np.float32(np.inf)

ACTION_CONSTANTS = {
    "FunctionId.no_op": _F_NO_OP, "FunctionId.move_camera": _F_MOVE_CAMERA,
    "FunctionId.select_point": _F_SELECT_POINT, "FunctionId.select_rect": _F_SELECT_RECT,
    "FunctionId.select_control_group": _F_SELECT_GROUP, "FunctionId.select_idle_worker": _F_SELECT_IDLE_WORKER,
    "FunctionId.select_army": _F_SELECT_ARMY, "FunctionId.Attack_screen": _F_ATTACK_SCREEN,
    "FunctionId.Attack_minimap": _F_ATTACK_MINIMAP, "FunctionId.HoldPosition_quick": _F_HOLD,
    "FunctionId.Move_screen": _F_MOVE_SCREEN, "FunctionId.Move_minimap": _F_MOVE_MINIMAP,
    "FunctionId.Smart_screen": _F_SMART_SCREEN, "FunctionId.Smart_minimap": _F_SMART_MINIMAP,
    "FunctionId.Stop_quick": _F_STOP, "ActionResult.Success": _SUCCESS,
    "ActionResult.InvalidAvailableAction": _INVALID_AVAILABLE_ACTION, "ActionResult.Error": _ERROR,
    "Order.MOVE": _O_MOVE, "Order.ATTACK_MOVE": _O_ATTACK_MOVE, "Order.ATTACK_UNIT": _O_ATTACK_UNIT,
    "Order.HOLD": _O_HOLD}


@numba.njit(cache=True, inline="always")
def _in(value, size):
    return 0 <= value < size


@numba.njit(cache=True)
def _pick_unit(b, pos, kind, candidates, px, py, T, tolerance):
    """The slot of game b's candidate unit whose circle holds (px, py), the nearest centre (lowest slot on ties),
    or -1 (arena.interface.selection.pick_unit)."""
    best = -1
    nearest = _INF
    for i in range(kind.shape[1]):
        if not candidates[i]:
            continue
        dx = pos[b, i, 0] - px
        dy = pos[b, i, 1] - py
        dist = np.float32(math.sqrt(dx * dx + dy * dy))
        if dist <= T.radius[kind[b, i]] + tolerance and (best < 0 or dist < nearest):
            best = i
            nearest = dist
    return best


@numba.njit(cache=True)
def _issue(b, i, order, px, py, unit, queued, order_kind, order_pos, order_unit, order_type, target):
    """Unit i of game b gets an order (arena.sim.orders.issue_orders): queued behind its others (dropped when the
    queue is full), or replacing them all."""
    Q = order_kind.shape[2]
    slot = 0
    if queued:
        slot = Q
        for q in range(Q):
            if order_kind[b, i, q] == _ORDER_NONE:
                slot = q
                break
    else:
        for q in range(1, Q):
            order_kind[b, i, q] = 0
            order_unit[b, i, q] = -1
            order_type[b, i, q] = 0
        target[b, i] = -1
    if slot < Q:
        order_kind[b, i, slot] = order
        order_pos[b, i, slot, 0] = px
        order_pos[b, i, slot, 1] = py
        order_unit[b, i, slot] = unit
        order_type[b, i, slot] = 0


@numba.njit(cache=True, parallel=True)
def apply_actions(kind, owner, alive, pos, build_left, cargo, order_kind, order_pos, order_unit, order_type, target,
                  selected, groups, camera, visible, T, F, player, economy, function, screen, minimap, screen2,
                  queued, select_point_act, select_add, control_group_act, control_group_id, select_worker,
                  pixels_per_unit, screen_size, minimap_size, minimap_scale, map_height, camera_bounds, tolerance,
                  available, on_screen, chosen, result):
    """`player`'s action in every game [B] (arena.interface.actions.apply_action: selections, unit commands,
    move_camera; the economy's functions are only judged available here, and carried out by the caller), in place
    on order_kind, order_pos, order_unit, order_type, target [B, U, ...], selected [B, A, U], groups [B, A, G, U]
    and camera [B, A, 2]. Writes chosen [B] (available, arguments in range) and result [B] (pysc2's ActionResult as
    if the economy refused nothing); available [B, 573] and on_screen [B, U] are work space."""
    B, U = kind.shape
    G = groups.shape[2]
    half = np.float32(screen_size / 2)
    size = np.float32(screen_size)
    for b in numba.prange(B):
        _available(b, player, kind, owner, alive, order_kind, build_left, cargo, selected[:, player], T, F, economy,
                   available[b])
        f = function[b]
        in_range = (_in(screen[b, 0], screen_size) and _in(screen[b, 1], screen_size)
                    and _in(screen2[b, 0], screen_size) and _in(screen2[b, 1], screen_size)
                    and _in(minimap[b, 0], minimap_size) and _in(minimap[b, 1], minimap_size)
                    and _in(queued[b], 2) and _in(select_point_act[b], 4) and _in(select_add[b], 2)
                    and _in(control_group_act[b], 5) and _in(control_group_id[b], 10) and _in(select_worker[b], 4)
                    and _in(f, available.shape[1]))
        go = in_range and available[b, f]
        chosen[b] = go
        result[b] = _SUCCESS if go else (_INVALID_AVAILABLE_ACTION if in_range else _ERROR)
        sel = selected[b, player]
        cam_x = camera[b, player, 0]
        cam_y = camera[b, player, 1]
        if go and (f == _F_SELECT_POINT or f == _F_SELECT_RECT):
            for i in range(U):
                sx = (pos[b, i, 0] - cam_x) * pixels_per_unit + half
                sy = (cam_y - pos[b, i, 1]) * pixels_per_unit + half
                on_screen[b, i] = (visible[b, i] and sx >= _ZERO and sy >= _ZERO and sx < size and sy < size)
        if go and f == _F_SELECT_POINT:
            px = cam_x + ((np.float32(screen[b, 0]) + _HALF_PIXEL) - half) / pixels_per_unit
            py = cam_y - ((np.float32(screen[b, 1]) + _HALF_PIXEL) - half) / pixels_per_unit
            clicked = _pick_unit(b, pos, kind, on_screen[b], px, py, T, tolerance)
            act = select_point_act[b]
            for i in range(U):
                same = (clicked >= 0 and alive[b, i] and owner[b, i] == player and on_screen[b, i]
                        and kind[b, i] == kind[b, clicked])
                if act == 0:
                    sel[i] = i == clicked
                elif act == 1:
                    sel[i] = sel[i] != (i == clicked)
                elif act == 2:
                    sel[i] = same
                else:
                    sel[i] = sel[i] or same
        elif go and f == _F_SELECT_RECT:
            low_x = np.float32(min(screen[b, 0], screen2[b, 0]))
            low_y = np.float32(min(screen[b, 1], screen2[b, 1]))
            high_x = np.float32(max(screen[b, 0], screen2[b, 0])) + _ONE
            high_y = np.float32(max(screen[b, 1], screen2[b, 1])) + _ONE
            for i in range(U):
                sx = (pos[b, i, 0] - cam_x) * pixels_per_unit + half
                sy = (cam_y - pos[b, i, 1]) * pixels_per_unit + half
                r = T.radius[kind[b, i]] * pixels_per_unit
                boxed = (sx + r > low_x and sy + r > low_y and sx - r < high_x and sy - r < high_y
                         and alive[b, i] and owner[b, i] == player and on_screen[b, i])
                sel[i] = (sel[i] or boxed) if select_add[b] != 0 else boxed
        elif go and f == _F_SELECT_ARMY:
            for i in range(U):
                k = kind[b, i]
                army = alive[b, i] and owner[b, i] == player and T.armed[k] and T.mobile[k] and not T.worker[k]
                sel[i] = (sel[i] or army) if select_add[b] != 0 else army
        elif go and f == _F_SELECT_IDLE_WORKER:
            mode = select_worker[b]
            first = True
            for i in range(U):
                idle = (alive[b, i] and owner[b, i] == player and T.worker[kind[b, i]]
                        and order_kind[b, i, 0] == _ORDER_NONE)
                pick = idle and (mode >= 2 or first)
                if idle:
                    first = False
                sel[i] = (sel[i] or pick) if mode % 2 == 1 else pick
        elif go and f == _F_SELECT_GROUP:
            act = control_group_act[b]
            gid = control_group_id[b]
            steal = act == 3 or act == 4
            for i in range(U):
                member = groups[b, player, gid, i]
                if act == 0:
                    sel[i] = member
                    continue
                if act == 1 or act == 3:
                    groups[b, player, gid, i] = sel[i]
                else:
                    groups[b, player, gid, i] = member or sel[i]
                if steal and sel[i]:
                    for g in range(G):
                        if g != gid:
                            groups[b, player, g, i] = False
        elif go and (f == _F_ATTACK_SCREEN or f == _F_ATTACK_MINIMAP or f == _F_MOVE_SCREEN
                     or f == _F_MOVE_MINIMAP or f == _F_SMART_SCREEN or f == _F_SMART_MINIMAP or f == _F_HOLD
                     or f == _F_STOP):
            on_minimap = f == _F_ATTACK_MINIMAP or f == _F_MOVE_MINIMAP or f == _F_SMART_MINIMAP
            if on_minimap:
                px = (np.float32(minimap[b, 0]) + _HALF_PIXEL) / minimap_scale
                py = map_height - (np.float32(minimap[b, 1]) + _HALF_PIXEL) / minimap_scale
                under = -1
            else:
                px = cam_x + ((np.float32(screen[b, 0]) + _HALF_PIXEL) - half) / pixels_per_unit
                py = cam_y - ((np.float32(screen[b, 1]) + _HALF_PIXEL) - half) / pixels_per_unit
                for i in range(U):
                    on_screen[b, i] = visible[b, i] and owner[b, i] != player and owner[b, i] != _NEUTRAL
                under = _pick_unit(b, pos, kind, on_screen[b], px, py, T, tolerance)
            attack = f == _F_ATTACK_SCREEN or f == _F_ATTACK_MINIMAP
            smart = f == _F_SMART_SCREEN or f == _F_SMART_MINIMAP
            order = _ORDER_NONE
            if f == _F_MOVE_SCREEN or f == _F_MOVE_MINIMAP or (smart and under < 0):
                order = _O_MOVE
            if (attack or smart) and under >= 0:
                order = _O_ATTACK_UNIT
            if attack and under < 0:
                order = _O_ATTACK_MOVE
            if f == _F_HOLD:
                order = _O_HOLD
            walk = _O_MOVE if (order == _O_ATTACK_UNIT or order == _O_ATTACK_MOVE) else order
            later = queued[b] != 0 and f != _F_STOP
            for i in range(U):
                k = kind[b, i]
                if not (sel[i] and alive[b, i] and owner[b, i] == player and T.mobile[k]):
                    continue
                if T.armed[k]:
                    _issue(b, i, order, px, py, under if under >= 0 else -1, later, order_kind, order_pos,
                           order_unit, order_type, target)
                else:
                    _issue(b, i, walk, px, py, -1, later, order_kind, order_pos, order_unit, order_type, target)
        elif go and f == _F_MOVE_CAMERA:
            px = (np.float32(minimap[b, 0]) + _HALF_PIXEL) / minimap_scale
            py = map_height - (np.float32(minimap[b, 1]) + _HALF_PIXEL) / minimap_scale
            camera[b, player, 0] = min(max(px, camera_bounds[0]), camera_bounds[2])
            camera[b, player, 1] = min(max(py, camera_bounds[1]), camera_bounds[3])
        for i in range(U):
            sel[i] = sel[i] and alive[b, i]


apply_actions = GamesKernel(apply_actions)


__all__ = ["ACTION_CONSTANTS", "FunctionTable", "OBSERVATION_CONSTANTS", "ObservedTable", "apply_actions", "mark_sight",
           "observe_units", "paint_discs", "paint_layers", "paint_units_kernel", "visible_cells_kernel"]
