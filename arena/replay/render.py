"""Render a replay to a clip: each frame drawn top-down with Pillow, written as an animated GIF or an MP4.

`render_replay(path, output)` reads the replay, draws every chosen frame over the map's playable area and writes
the clip to a temporary file that is renamed into place, so a crash never leaves half a clip. What a frame shows:

- units as discs sized by their radius (structures as squares) in their owner's colour: player 1 blue, player 2
  red, mineral fields cyan, vespene geysers green, other neutral units grey; units under construction as outlines;
- an HP bar over every damaged or shielded unit of a player;
- a line from each unit to the unit it attacks (or the unit its order targets: faint for gathering and building);
- a header line: game time (m:ss), each player's score, the scenario; the outcome over the game's last frame;
- with `fog_player`, only what that player saw, and the cells outside its units' sight darkened.

GIFs need only Pillow. MP4s go through ffmpeg: imageio-ffmpeg's bundled binary where that package is installed, else
an `ffmpeg` on PATH; raw RGB frames are piped to it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from arena.files import atomic_path
from arena.replay.format import HP_SCALE, POSITION_SCALE, Replay, read_replay

ProgressCallback = Callable[[int, int], None]
"""on_frame(done, total): called after each frame is written, for a progress bar."""

Color = tuple[int, int, int]

DEFAULT_LOOPS_PER_SECOND = 22.4
"""Game loops per second at "faster" speed - StarCraft II; used when a header does not say."""

ORDER_ATTACK_MOVE = 2
ORDER_ATTACK_UNIT = 3
"""arena.sim.state.Order values (arena imports no simulator here: the replay's columns are plain numbers)."""

OWNER_NEUTRAL = 2
FINISHED = 255
"""The build column of a finished unit."""


class VideoFormat(enum.Enum):
    """The clip formats, chosen by the output's suffix."""

    GIF = ".gif"
    MP4 = ".mp4"


class MissingEncoderError(RuntimeError):
    """No video encoder is installed for the asked format."""


@dataclasses.dataclass(frozen=True)
class RenderResult:
    """What `render_replay` wrote."""

    output: Path
    """The clip's path."""
    frames: int
    """How many frames were drawn (a GIF shows identical consecutive frames as one, for their summed time)."""
    bytes: int
    """The clip's size on disk."""


@dataclasses.dataclass(frozen=True)
class Style:
    """The colours and proportions of a drawn frame."""

    background: Color = (34, 38, 34)
    grid: Color = (46, 51, 46)
    header: Color = (12, 12, 14)
    text: Color = (225, 225, 225)
    players: tuple[Color, ...] = ((66, 135, 245), (232, 65, 55))
    """Player 1, player 2, then any further players' colours."""
    mineral: Color = (90, 210, 235)
    geyser: Color = (70, 190, 110)
    neutral: Color = (150, 150, 150)
    hp_full: Color = (80, 220, 80)
    hp_low: Color = (235, 60, 40)
    hp_empty: Color = (60, 20, 20)
    shields: Color = (100, 170, 255)
    selected: Color = (255, 255, 255)
    fog_darkness: float = 0.45
    """Brightness of cells out of the fog player's sight (1: not darkened)."""
    grid_step: int = 8
    """Map units between grid lines."""


STYLE = Style()


@dataclasses.dataclass(frozen=True)
class MapView:
    """Where the playable area lands in the image: `scale` pixels per map unit, below a header strip."""

    playable: tuple[float, float, float, float]
    """(x0, y0, x1, y1) in map units, y up."""
    scale: float
    map_width_px: int
    map_height_px: int
    header_px: int

    @property
    def image_size(self) -> tuple[int, int]:
        return self.map_width_px, self.map_height_px + self.header_px

    def pixels(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates of map positions (image y grows downwards, map y upwards)."""
        x0, _, _, y1 = self.playable
        return (x - x0) * self.scale, self.header_px + (y1 - y) * self.scale


def map_view(header: dict[str, Any], size: int) -> MapView:
    """The view that fits the playable area's longer side into `size` pixels (even sizes, as video encoders ask)."""
    world = header.get("map", {})
    playable = world.get("playable") or [0, 0, world.get("width", 64), world.get("height", 64)]
    x0, y0, x1, y1 = (float(v) for v in playable)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"the replay's playable area {playable} is empty")
    scale = size / max(x1 - x0, y1 - y0)
    return MapView(playable=(x0, y0, x1, y1), scale=scale, map_width_px=_even((x1 - x0) * scale),
                   map_height_px=_even((y1 - y0) * scale), header_px=_even(max(14.0, size / 24)))


def _even(pixels: float) -> int:
    return max(2, 2 * round(pixels / 2))


@dataclasses.dataclass(frozen=True)
class UnitTypeTable:
    """The header's unit types as arrays indexed by type id (a 256-entry table: the type column is uint8)."""

    radius: np.ndarray  # float [256] map units
    sight: np.ndarray  # float [256] map units
    max_hp: np.ndarray  # float [256]
    max_shields: np.ndarray  # float [256]
    structure: np.ndarray  # bool [256]
    neutral_color: np.ndarray  # uint8 [256, 3] colour of a neutral unit of the type


def unit_type_table(header: dict[str, Any], style: Style = STYLE) -> UnitTypeTable:
    """Lookup arrays from header["unit_types"]; types it does not name draw as small grey discs."""
    radius, sight = np.full(256, 0.5), np.zeros(256)
    max_hp, max_shields = np.zeros(256), np.zeros(256)
    structure = np.zeros(256, dtype=bool)
    neutral_color = np.tile(np.array(style.neutral, dtype=np.uint8), (256, 1))
    for type_id, info in header.get("unit_types", {}).items():
        t = int(type_id)
        radius[t] = float(info.get("radius", 0.5))
        sight[t] = float(info.get("sight", 0.0))
        max_hp[t] = float(info.get("max_hp", 0.0))
        max_shields[t] = float(info.get("max_shields", 0.0))
        structure[t] = bool(info.get("structure", False))
        name = str(info.get("name", "")).lower()
        if "mineral" in name:
            neutral_color[t] = style.mineral
        elif "geyser" in name or "vespene" in name:
            neutral_color[t] = style.geyser
    return UnitTypeTable(radius=radius, sight=sight, max_hp=max_hp, max_shields=max_shields, structure=structure,
                         neutral_color=neutral_color)


def video_format(output: str | os.PathLike) -> VideoFormat:
    """The clip format named by the output's suffix."""
    suffix = Path(output).suffix.lower()
    for fmt in VideoFormat:
        if fmt.value == suffix:
            return fmt
    known = ", ".join(fmt.value for fmt in VideoFormat)
    raise ValueError(f"cannot render to {str(output)!r}: unknown suffix {suffix or '(none)'!r}; use one of {known}")


def find_ffmpeg() -> str | None:
    """The ffmpeg binary to encode MP4 with: imageio-ffmpeg's if installed, else `ffmpeg` on PATH, else None."""
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found]
    except ImportError:
        return shutil.which("ffmpeg")
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # the package without its binary for this platform
        return shutil.which("ffmpeg")


def frame_indices(num_frames: int, *, start: int = 0, end: int | None = None, every: int = 1) -> list[int]:
    """The frames to draw: start, start + every, ... before `end` (exclusive; negative counts from the end), and
    always the range's last frame, so a clip ends where the game (or the asked range) ends."""
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    stop = num_frames if end is None else (end if end >= 0 else num_frames + end)
    first = start if start >= 0 else num_frames + start
    if not 0 <= first < stop <= num_frames:
        raise ValueError(f"frames start={start}, end={end} select nothing of this replay's {num_frames} frames")
    chosen = list(range(first, stop, every))
    if chosen[-1] != stop - 1:
        chosen.append(stop - 1)
    return chosen


def game_time(game_loop: int, loops_per_second: float) -> str:
    """A game loop as m:ss of game time."""
    seconds = int(game_loop / loops_per_second)
    return f"{seconds // 60}:{seconds % 60:02d}"


def player_names(header: dict[str, Any], num_players: int) -> list[str]:
    """Each player's name from the header ("Player n" where it names none); a name two players share gets
    " (Pn)", so "scripted wins" never leaves the reader guessing."""
    players = header.get("players", [])
    names = [str(players[p].get("name") or f"Player {p + 1}") if p < len(players) else f"Player {p + 1}"
             for p in range(num_players)]
    return [f"{name} (P{p + 1})" if names.count(name) > 1 else name for p, name in enumerate(names)]


def outcome_text(outcome: dict[str, Any], names: list[str]) -> str | None:
    """The outcome as a line: who won (+1 win, 0 draw, -1 loss) or, for one player, the final score; None for a
    game without a result (recorded before it ended: "ended" is "stopped")."""
    results = next((outcome[key] for key in ("result", "results") if isinstance(outcome.get(key), list)), None)
    if outcome.get("ended") == "stopped" or not results or len(results) != len(names) or not all(isinstance(r, (int, float)) for r in results):
        return None
    if len(names) == 1:
        text = f"Game over - score {results[0]:g}"
    else:
        winners = [name for name, result in zip(names, results) if result > 0]
        text = f"{winners[0]} wins" if len(winners) == 1 else "Draw"
    return f"{text} (time limit)" if outcome.get("ended") == "truncated" else text


def visible_cells(units: dict[str, np.ndarray], player: int, types: UnitTypeTable,
                  cells: tuple[int, int]) -> np.ndarray:
    """[H, W] bool: map cells whose centre lies within sight of one of `player`'s units (rows from y = 0), the rule
    of arena.interface.fog.visible_cells."""
    H, W = cells
    seen = np.zeros((H, W), dtype=bool)
    own = units["owner"] == player
    xs, ys = units["x"][own] / POSITION_SCALE, units["y"][own] / POSITION_SCALE
    for x, y, sight in zip(xs, ys, types.sight[units["type"][own]]):
        x_lo, x_hi = max(0, int(x - sight)), min(W, int(x + sight) + 1)
        y_lo, y_hi = max(0, int(y - sight)), min(H, int(y + sight) + 1)
        if x_lo >= x_hi or y_lo >= y_hi:
            continue
        gap_x = np.arange(x_lo, x_hi) + 0.5 - x
        gap_y = np.arange(y_lo, y_hi) + 0.5 - y
        seen[y_lo:y_hi, x_lo:x_hi] |= gap_y[:, None] ** 2 + gap_x[None, :] ** 2 <= sight * sight
    return seen


@dataclasses.dataclass(frozen=True)
class FrameDrawer:
    """Draws frames of one replay: the parts that stay the same over the clip, made once."""

    replay: Replay
    view: MapView
    types: UnitTypeTable
    names: list[str]
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont
    background: Image.Image
    """The empty map with its header strip."""
    fogged_background: Image.Image
    """The map area darkened (cells out of sight)."""
    fog_player: int | None
    fog_on: bool
    style: Style = STYLE

    def draw(self, frame: int) -> Image.Image:
        """One frame as an RGB image."""
        units = self.replay.frame_units(frame)
        image = self.background.copy()
        if self.fog_player is not None:
            seen = ((units["visible"] >> self.fog_player) & 1) == 1
            units = {name: column[seen] for name, column in units.items()}
            if self.fog_on:
                self._darken_unseen(image, units)
        draw = ImageDraw.Draw(image)
        self._draw_target_lines(draw, units)
        self._draw_units(draw, units)
        self._draw_header(draw, frame)
        result = outcome_text(self.replay.outcome, self.names)
        if frame == self.replay.num_frames - 1 and result is not None:
            self._draw_banner(image, result)
        return image

    def _darken_unseen(self, image: Image.Image, units: dict[str, np.ndarray]) -> None:
        world = self.replay.header.get("map", {})
        x0, y0, x1, y1 = self.view.playable
        cells = (int(math.ceil(world.get("height", y1))), int(math.ceil(world.get("width", x1))))
        seen = visible_cells(units, self.fog_player, self.types, cells)
        # The playable rectangle's cells, top row first, scaled up to the map's pixels.
        rows = seen[int(y0):int(math.ceil(y1)), int(x0):int(math.ceil(x1))][::-1]
        unseen = Image.fromarray(np.where(rows, 0, 255).astype(np.uint8), mode="L")
        left, top = self.view.pixels(np.floor(x0), np.ceil(y1))
        width = round(rows.shape[1] * self.view.scale)
        height = round(rows.shape[0] * self.view.scale)
        mask = Image.new("L", image.size, 0)
        mask.paste(unseen.resize((width, height), Image.Resampling.NEAREST), (round(left), round(top)))
        mask.paste(0, (0, 0, image.width, self.view.header_px))
        image.paste(self.fogged_background, (0, 0), mask)

    def _unit_pixels(self, units: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        px, py = self.view.pixels(units["x"] / POSITION_SCALE, units["y"] / POSITION_SCALE)
        radius = np.maximum(self.types.radius[units["type"]] * self.view.scale, 2.0)
        return px, py, radius

    def _owner_colors(self, units: dict[str, np.ndarray]) -> np.ndarray:
        """[N, 3] uint8 each unit's colour."""
        players = np.array(self.style.players, dtype=np.uint8)
        owner = units["owner"].astype(np.int64)
        colors = players[np.minimum(owner, len(players) - 1)]
        neutral = owner == OWNER_NEUTRAL
        colors[neutral] = self.types.neutral_color[units["type"][neutral]]
        return colors

    def _draw_units(self, draw: ImageDraw.ImageDraw, units: dict[str, np.ndarray]) -> None:
        px, py, radius = self._unit_pixels(units)
        colors = self._owner_colors(units)
        structure = self.types.structure[units["type"]]
        # Neutral units and structures underneath, so units standing by them stay visible.
        order = np.lexsort((~structure, units["owner"] != OWNER_NEUTRAL))
        watcher = self.fog_player
        for i in order:
            box = (px[i] - radius[i], py[i] - radius[i], px[i] + radius[i], py[i] + radius[i])
            color = tuple(int(c) for c in colors[i])
            selected = bool((units["selected"][i] >> watcher) & 1) if watcher is not None else units["selected"][i] > 0
            outline = self.style.selected if selected else None
            if units["build"][i] != FINISHED:  # under construction: an outline
                fill, outline = None, color
            else:
                fill = color
            shape = draw.rectangle if structure[i] else draw.ellipse
            shape(box, fill=fill, outline=outline, width=max(1, round(radius[i] / 6)))
            if units["owner"][i] != OWNER_NEUTRAL:
                self._draw_hp_bar(draw, units, i, box)

    def _draw_hp_bar(self, draw: ImageDraw.ImageDraw, units: dict[str, np.ndarray], i: int,
                     box: tuple[float, float, float, float]) -> None:
        kind = units["type"][i]
        max_hp, max_shields = self.types.max_hp[kind], self.types.max_shields[kind]
        hp, shields = units["hp"][i] / HP_SCALE, units["shields"][i] / HP_SCALE
        if max_hp <= 0 or (hp >= max_hp and max_shields <= 0):
            return  # full health: no bar, as in the game
        left, top, right, _ = box
        width = max(right - left, 6.0)
        left = (left + right - width) / 2
        height = max(2.0, self.view.scale * 0.18)
        bar_top = top - height - 2
        fraction = min(1.0, hp / max_hp)
        mix = tuple(round(lo + (hi - lo) * fraction) for lo, hi in zip(self.style.hp_low, self.style.hp_full))
        draw.rectangle((left, bar_top, left + width, bar_top + height), fill=self.style.hp_empty)
        draw.rectangle((left, bar_top, left + width * fraction, bar_top + height), fill=mix)
        if max_shields > 0 and shields > 0:
            shield_top = bar_top - height
            draw.rectangle((left, shield_top, left + width * min(1.0, shields / max_shields), bar_top),
                           fill=self.style.shields)

    def _draw_target_lines(self, draw: ImageDraw.ImageDraw, units: dict[str, np.ndarray]) -> None:
        """Attackers to their targets in the attacker's colour; gathering and building to theirs, faint."""
        px, py, _ = self._unit_pixels(units)
        colors = self._owner_colors(units)
        slots = units["slot"]
        by_slot = np.argsort(slots, kind="stable")
        targets = units["target"]
        found = np.searchsorted(slots[by_slot], targets)
        found = np.minimum(found, max(len(slots) - 1, 0))
        has_target = (targets >= 0) & (len(slots) > 0)
        if len(slots):
            has_target &= slots[by_slot[found]] == targets
        width = max(1, round(self.view.scale / 8))
        for i in np.flatnonzero(has_target | (units["order"] == ORDER_ATTACK_UNIT)):
            attacking = units["order"][i] in (ORDER_ATTACK_UNIT, ORDER_ATTACK_MOVE)
            if has_target[i]:
                j = by_slot[found[i]]
                end = (px[j], py[j])
                attacking |= units["owner"][j] not in (units["owner"][i], OWNER_NEUTRAL)
            else:  # an attack on a unit this view does not show: towards the order's point
                end = tuple(float(v) for v in self.view.pixels(units["order_x"][i] / POSITION_SCALE,
                                                               units["order_y"][i] / POSITION_SCALE))
            color = tuple(int(c) for c in colors[i])
            if not attacking:
                color = tuple(round(c * 0.5 + b * 0.5) for c, b in zip(color, self.style.background))
            draw.line(((px[i], py[i]), end), fill=color, width=width if attacking else 1)

    def _draw_header(self, draw: ImageDraw.ImageDraw, frame: int) -> None:
        """Game time, each player's score in its colour, the scenario (the most telling first: small clips clip)."""
        header = self.replay.header
        scenario = header.get("scenario", {})
        loops_per_second = float(header.get("game_loops_per_second", DEFAULT_LOOPS_PER_SECOND))
        scores = self.replay.frames["score"][frame].tolist()
        parts = [(game_time(int(self.replay.frames["game_loop"][frame]), loops_per_second), self.style.text)]
        parts += [(f"{name}: {score:g}", self.style.players[min(p, len(self.style.players) - 1)])
                  for p, (name, score) in enumerate(zip(self.names, scores))]
        parts.append((str(scenario.get("name") or scenario.get("id", "")), self.style.text))
        x, y = self.font_size / 3, self.view.header_px / 2
        for text, color in parts:
            draw.text((x, y), text, fill=color, font=self.font, anchor="lm")
            x += draw.textlength(text, font=self.font) + self.font_size

    @property
    def font_size(self) -> float:
        return float(getattr(self.font, "size", 10))

    def _draw_banner(self, image: Image.Image, text: str) -> None:
        """The text on a translucent strip across the top of the map."""
        draw = ImageDraw.Draw(image)
        centre = (image.width / 2, self.view.header_px + self.font_size * 1.2)
        _, top, _, bottom = draw.textbbox(centre, text, font=self.font, anchor="mm")
        pad = round(self.font_size / 3)
        strip = (0, max(self.view.header_px, round(top) - pad), image.width, round(bottom) + pad)
        shade = Image.new("RGB", (strip[2] - strip[0], strip[3] - strip[1]), self.style.header)
        image.paste(Image.blend(image.crop(strip), shade, 0.75), strip[:2])
        draw.text(centre, text, fill=self.style.text, font=self.font, anchor="mm")


def _font(pixels: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=pixels)
    except (ImportError, TypeError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _background(view: MapView, style: Style, brightness: float = 1.0) -> Image.Image:
    def shade(color: Color) -> Color:
        return tuple(round(c * brightness) for c in color)

    image = Image.new("RGB", view.image_size, shade(style.background))
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = view.playable
    for gx in range(math.ceil(x0 / style.grid_step) * style.grid_step, int(x1) + 1, style.grid_step):
        px, _ = view.pixels(np.float64(gx), np.float64(y0))
        draw.line(((px, view.header_px), (px, image.height)), fill=shade(style.grid))
    for gy in range(math.ceil(y0 / style.grid_step) * style.grid_step, int(y1) + 1, style.grid_step):
        _, py = view.pixels(np.float64(x0), np.float64(gy))
        draw.line(((0, py), (image.width, py)), fill=shade(style.grid))
    draw.rectangle((0, 0, image.width, view.header_px - 1), fill=style.header)
    return image


def _fog_on(header: dict[str, Any]) -> bool:
    """Whether the game had fog of war: the header's "fog", else its limits' (fog stays on unless they lift it)."""
    if isinstance(header.get("fog"), bool):
        return header["fog"]
    limits = header.get("limits")
    return not (isinstance(limits, dict) and limits.get("fog") is False)


def frame_drawer(replay: Replay, *, size: int, fog_player: int | None, style: Style = STYLE) -> FrameDrawer:
    """A drawer for `replay` at `size` pixels, from `fog_player`'s view (None: everything)."""
    if fog_player is not None and not 0 <= fog_player < replay.num_players:
        raise ValueError(f"fog_player must be a player index 0..{replay.num_players - 1}, got {fog_player}")
    view = map_view(replay.header, size)
    fog_on = _fog_on(replay.header)
    return FrameDrawer(replay=replay, view=view, types=unit_type_table(replay.header, style),
                       names=player_names(replay.header, replay.num_players),
                       font=_font(max(9, round(view.header_px * 0.7))), background=_background(view, style),
                       fogged_background=_background(view, style, style.fog_darkness), fog_player=fog_player,
                       fog_on=fog_on, style=style)


def gif_durations(count: int, fps: float) -> list[int]:
    """Milliseconds each of `count` frames shows. GIF counts in hundredths of a second, so single frames round
    (8 fps: 120 and 130 ms in turn) while the clip keeps time; browsers slow frames under 20 ms, so none is."""
    ends = [round(100 * i / fps) * 10 for i in range(count + 1)]
    return [max(20, end - begin) for begin, end in zip(ends, ends[1:])]


def paletted(frame: Image.Image) -> Image.Image:
    """The frame in GIF's 256-colour mode: its own colours where they fit (drawings use few), else an octree's."""
    colors = frame.getcolors(256)
    if colors is None:
        return frame.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    palette = [channel for _, rgb in colors for channel in rgb]
    palette_image = Image.new("P", (1, 1))
    palette_image.putpalette(palette + [0] * (768 - len(palette)))
    # Several times faster than a median cut; Pillow's nearest-colour cache can be off by a few levels.
    return frame.quantize(palette=palette_image, dither=Image.Dither.NONE)


def _write_gif(frames: Iterable[Image.Image], path: Path, fps: float, count: int) -> None:
    # Pillow merges identical consecutive frames into one that shows for their summed durations.
    paletted_frames = (paletted(frame) for frame in frames)
    first = next(paletted_frames)
    first.save(path, format="GIF", save_all=True, append_images=paletted_frames, loop=0, optimize=True,
               duration=gif_durations(count, fps), disposal=1)


def _write_mp4(frames: Iterable[Image.Image], path: Path, fps: float, size: tuple[int, int], ffmpeg: str) -> None:
    width, height = size
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", f"{fps:g}", "-i", "-", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags",
               "+faststart", "-f", "mp4", str(path)]
    # ffmpeg's messages go to a file, not a pipe: a full pipe nobody reads would stall it while we write frames.
    with tempfile.TemporaryFile() as messages:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=messages)
        try:
            for frame in frames:
                process.stdin.write(frame.tobytes())
            process.stdin.close()
        except BrokenPipeError:  # ffmpeg stopped early: its exit status and message below say why
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        except BaseException:
            process.kill()
            process.wait()
            raise
        status = process.wait()
        messages.seek(0)
        error = messages.read().decode(errors="replace").strip()
    if status != 0:
        raise RuntimeError(f"ffmpeg ({ffmpeg}) failed to encode {path} (exit status {status}): "
                           f"{error[-2000:] or 'no message'}")


def _counted(frames: Iterator[Image.Image], total: int, on_frame: ProgressCallback | None) -> Iterator[Image.Image]:
    for done, frame in enumerate(frames, start=1):
        yield frame
        if on_frame is not None:
            on_frame(done, total)


def render_replay(path: str | os.PathLike, output: str | os.PathLike, *, fps: float = 8.0, size: int = 480,
                  every: int = 1, start: int = 0, end: int | None = None, fog_player: int | None = None,
                  on_frame: ProgressCallback | None = None) -> RenderResult:
    """Render the replay at `path` to a clip at `output` (.gif, or .mp4 where ffmpeg is installed).

    Args:
        path: the replay file.
        output: the clip to write; its suffix picks the format. Written to a temporary file renamed into place.
        fps: clip frames per second.
        size: pixels along the playable area's longer side (a header strip is added above).
        every: draw every n-th frame (the range's last frame is always drawn).
        start: the first frame to draw; negative counts from the end.
        end: the frame to stop before (None: draw through the last frame); negative counts from the end.
        fog_player: draw what this player (0 or 1) saw, darkening cells out of its units' sight; None: everything.
        on_frame: called as on_frame(done, total) after each frame is drawn.

    Returns:
        The clip's path, frame count and size in bytes.

    Raises:
        ValueError: an unknown suffix or out-of-range options.
        arena.replay.format.ReplayError: a missing, truncated or corrupted replay (it names the file).
        MissingEncoderError: .mp4 asked and no ffmpeg is installed.
        RuntimeError: ffmpeg failed.
    """
    fmt = video_format(output)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels, got {size}")
    ffmpeg = find_ffmpeg() if fmt is VideoFormat.MP4 else None
    if fmt is VideoFormat.MP4 and ffmpeg is None:
        raise MissingEncoderError(f"cannot write {output}: MP4 needs ffmpeg and none is installed "
                                  "(pip install imageio-ffmpeg, or put an ffmpeg binary on PATH); "
                                  "or render a .gif, which needs only Pillow")
    replay = read_replay(path)
    indices = frame_indices(replay.num_frames, start=start, end=end, every=every)
    drawer = frame_drawer(replay, size=size, fog_player=fog_player)
    frames = _counted((drawer.draw(f) for f in indices), len(indices), on_frame)
    output = Path(output)
    with atomic_path(output) as temporary:
        if fmt is VideoFormat.GIF:
            _write_gif(frames, temporary, fps, len(indices))
        else:
            _write_mp4(frames, temporary, fps, drawer.view.image_size, ffmpeg)
    return RenderResult(output=output, frames=len(indices), bytes=output.stat().st_size)


__all__ = ["FrameDrawer", "MapView", "MissingEncoderError", "RenderResult", "STYLE", "Style", "VideoFormat",
           "find_ffmpeg", "frame_drawer", "frame_indices", "game_time", "gif_durations", "map_view", "outcome_text",
           "paletted", "player_names", "render_replay", "unit_type_table", "video_format", "visible_cells"]
