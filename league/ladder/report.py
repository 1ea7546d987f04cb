"""The ladder's report for people: one self-contained HTML page, and the table for a terminal.

The page needs nothing from the network: its style is inline CSS, its charts are inline SVG drawn here in Python,
and it has no scripts, so it opens the same from a laptop, a cluster's file browser or an e-mail attachment. Every
name in it (players, kinds, lineages, the title) goes through `html.escape`.

The report is plain data, built by `league.ladder.round_robin.build_report` and printed as is by
`arena ladder report --json`.
Its schema, version 1::

    {
      "format": "sc2arena-ladder-report", "version": 1,
      "title": str, "scenario": str, "created": str (ISO 8601 time), "games": int,
      "players": [                            # ordered by Elo, strongest first
        {"name": str,
         "kind": str,                         # "policy" | "bot" | "scripted" | "random" | "pysc2" |
                                              # "league snapshot" | ...
         "games": int,
         "elo": float, "elo_low": float, "elo_high": float,      # Elo and its 95 % bootstrap interval
         "trueskill_mu": float, "trueskill_sigma": float,
         "trueskill_rank_value": float,                         # mu - 3 sigma
         "nash_probability": float, "nash_rating": float,       # the max-entropy Nash mixture, Nash averaging
         "league_steps": int | None},         # league snapshots: the parent's training steps when frozen
        ...],
      "anchor": str | None,                   # the player rated 0 (None: the mean is 0)
      "payoff": [[float | None, ...], ...],   # payoff[i][j]: player i's score against j, (wins + draws / 2) / games;
                                              # None when they never played; rows and columns in "players" order
      "pair_games": [[int, ...], ...],        # pair_games[i][j]: games between players i and j
      "league": None | {                      # present when the ladder ranked a league's snapshots
        "folder": str,
        "lineages": {parent_name: [           # the snapshots of each learning player over training steps
          {"name": str, "steps": int, "elo": float, "elo_low": float, "elo_high": float}, ...]},
        "forgetting": [                       # each main agent snapshot's minimum win rate against its own
          {"snapshot": str, "steps": int,     # earlier snapshots (None for the first one)
           "min_win_rate": float | None, "against": str | None}, ...]}
    }

Missing or non-finite numbers are shown as a dash rather than failing, so a report of a ladder with no games yet
still renders.
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
from typing import Callable, Sequence

from arena.files import write_bytes_atomic

MISSING = "\u2013"
"""What a missing or non-finite number shows as (an en dash)."""
ELLIPSIS = "\u2026"
NAME_CHARS = 28
"""Longest name drawn whole in a chart; longer names are cut with an ellipsis (the full name is the tooltip)."""
TEXT_NAME_CHARS = 40
"""Longest name printed whole in the terminal table."""
CHAR_WIDTH = 0.6
"""Rough width of a character in ems, to size chart margins for labels (no font metrics without a browser)."""

# Colours: the payoff scale is ColorBrewer's RdBu ends through white; series are Okabe & Ito's colour-blind-safe
# palette (without its yellow, which vanishes on white).
LOSS_RGB, EVEN_RGB, WIN_RGB = (202, 0, 32), (255, 255, 255), (5, 113, 176)
NEVER_PLAYED = "#c4c8ce"
SELF_CELL = "#e8eaed"
SERIES = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
INK, MUTED, GRID = "#1f2328", "#656d76", "#e3e6ea"

CHART_WIDTH = 1040
HEATMAP_SPAN = 760
"""Pixels the heat map grid aims for; cells are this over the player count, within the two limits below."""
CELL_MAX, CELL_MIN = 44, 10
CELL_NUMBERS = 28
"""Smallest cell (pixels) that still gets its number written in it."""

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1f2328; line-height: 1.45;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { font-size: 24px; margin: 0 0 8px; overflow-wrap: anywhere; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0; color: #656d76; }
.meta div { display: flex; gap: 6px; } .meta dt { font-weight: 600; } .meta dd { margin: 0; color: #1f2328; }
nav { margin: 14px 0 0; display: flex; flex-wrap: wrap; gap: 6px; }
nav a { color: #0969da; text-decoration: none; padding: 2px 10px; border: 1px solid #d0d7de; border-radius: 999px;
  background: #fff; font-size: 13px; }
section { background: #fff; border: 1px solid #d8dee4; border-radius: 8px; padding: 16px 18px; margin: 18px 0; }
h2 { font-size: 17px; margin: 0 0 4px; } p.note { color: #656d76; margin: 0 0 12px; font-size: 13px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid #eaeef2; text-align: right; white-space: nowrap; }
th { position: sticky; top: 0; background: #f6f8fa; font-size: 12px; color: #424a53; text-align: right; }
th.text, td.text { text-align: left; }
td.name { max-width: 320px; overflow: hidden; text-overflow: ellipsis; font-weight: 600; }
tbody tr:nth-child(even) { background: #fafbfc; } tbody tr:hover { background: #eef4ff; }
.interval { color: #656d76; font-size: 12px; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 6px; border-radius: 999px;
  background: #ddf4ff; color: #0550ae; margin-left: 6px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.heatmap { max-width: none; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  fill: #1f2328; font-size: 12px; }
svg .muted { fill: #656d76; } svg .axis-title { fill: #424a53; font-size: 12px; font-weight: 600; }
svg .grid { stroke: #e3e6ea; stroke-width: 1; } svg .zero { stroke: #57606a; stroke-width: 1.2;
  stroke-dasharray: 4 3; }
.empty { color: #656d76; font-style: italic; margin: 8px 0; }
footer { color: #8c959f; font-size: 12px; text-align: center; }
"""


# -- small pure helpers --------------------------------------------------------------------------------------
def _e(value: object) -> str:
    """`value` as text safe in HTML and SVG, in element content and in quoted attributes."""
    return html.escape(str(value), quote=True)


def _finite(value: object) -> float | None:
    """`value` as a float, or None when it is missing or not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _number(value: object, digits: int = 0) -> str:
    """A number with `digits` decimals, or a dash when it is missing."""
    number = _finite(value)
    return MISSING if number is None else f"{number:.{digits}f}"


def _compact(value: float) -> str:
    """A tick label: 1500 -> "1.5k", 2000000 -> "2M", 0.25 -> "0.25"."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[:max(limit - 1, 0)] + ELLIPSIS


def payoff_colour(value: float | None) -> str:
    """The heat map colour of a score: red at 0, white at 0.5, blue at 1; grey when never played."""
    if _finite(value) is None:
        return NEVER_PLAYED
    value = min(max(float(value), 0.0), 1.0)
    start, end, t = (LOSS_RGB, EVEN_RGB, value * 2) if value <= 0.5 else (EVEN_RGB, WIN_RGB, value * 2 - 1)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(start, end))


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        low, high = low - 1, high + 1
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 5, 10) if f * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first + k * step for k in range(int(math.ceil((high - first) / step - 1e-9)) + 1)]
    return [round(t, 10) for t in ticks]


def _inside(ticks: Sequence[float], domain: tuple[float, float]) -> list[float]:
    """The ticks within `domain` (for axes that keep their padding rather than end on round numbers)."""
    return [t for t in ticks if domain[0] - 1e-9 <= t <= domain[1] + 1e-9] or list(ticks)


@dataclasses.dataclass(frozen=True)
class _Scale:
    """The linear map from `domain` (data) onto `span` (pixels, either way round)."""

    domain: tuple[float, float]
    span: tuple[float, float]

    def __call__(self, value: float) -> float:
        (d0, d1), (r0, r1) = self.domain, self.span
        return r0 + (value - d0) / ((d1 - d0) or 1.0) * (r1 - r0)


def _padded(values: Sequence[float], *, include: Sequence[float] = (), pad: float = 0.06,
            empty: float = 100.0) -> tuple[float, float]:
    """A domain holding every finite value and `include`, widened by `pad` of its span; a flat one is widened by
    `empty` or a tenth of its value, whichever is more."""
    finite = [v for v in (_finite(v) for v in list(values) + list(include)) if v is not None]
    if not finite:
        return -empty, empty
    low, high = min(finite), max(finite)
    if high - low < 1e-9:
        spread = max(empty, abs(low) * 0.1)
        return low - spread, high + spread
    margin = (high - low) * pad
    return low - margin, high + margin


def _label_width(names: Sequence[str], size: float, limit: int = NAME_CHARS) -> float:
    """Rough pixel width of the longest of `names` cut to `limit` characters at font size `size`."""
    return max((min(len(n), limit) for n in names), default=4) * size * CHAR_WIDTH


def _series_colour(index: int) -> str:
    return SERIES[index % len(SERIES)]


# -- SVG pieces ----------------------------------------------------------------------------------------------
def _svg(width: float, height: float, body: Sequence[str], label: str, css_class: str = "chart") -> str:
    """An inline SVG element (no xmlns needed inside HTML) of the given size, scaling down with its container."""
    width, height = math.ceil(width), math.ceil(height)
    return (f'<svg class="{css_class}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{_e(label)}">' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, *, anchor: str = "start", css_class: str = "", size: float | None = None,
          limit: int | None = None, transform: str = "") -> str:
    """An SVG text; with `limit`, cut to that many characters and the full text as its tooltip."""
    shown = truncate(text, limit) if limit else text
    attributes = f'x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"'
    attributes += f' class="{css_class}"' if css_class else ""
    # A style, not a font-size attribute: the page's CSS would override a presentation attribute.
    attributes += f' style="font-size:{size:.1f}px"' if size else ""
    attributes += f' transform="{transform}"' if transform else ""
    tooltip = f"<title>{_e(text)}</title>" if limit else ""
    return f"<text {attributes}>{tooltip}{_e(shown)}</text>"


def _x_axis(ticks: Sequence[float], sx: _Scale, top: float, bottom: float,
            title: str, fmt: Callable[[float], str] = _compact) -> list[str]:
    """Vertical grid lines at `ticks`, their labels under `bottom`, and the axis title centred below them."""
    parts = [f'<line class="grid" x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top:.1f}" y2="{bottom:.1f}"/>'
             for t in ticks]
    parts += [_text(sx(t), bottom + 15, fmt(t), anchor="middle", css_class="muted") for t in ticks]
    middle = (sx.span[0] + sx.span[1]) / 2
    parts.append(_text(middle, bottom + 34, title, anchor="middle", css_class="axis-title"))
    return parts


def _y_axis(ticks: Sequence[float], sy: _Scale, left: float, right: float,
            title: str, fmt: Callable[[float], str] = _compact) -> list[str]:
    """Horizontal grid lines at `ticks`, their labels left of `left`, and the rotated axis title."""
    parts = [f'<line class="grid" x1="{left:.1f}" x2="{right:.1f}" y1="{sy(t):.1f}" y2="{sy(t):.1f}"/>'
             for t in ticks]
    parts += [_text(left - 6, sy(t) + 4, fmt(t), anchor="end", css_class="muted") for t in ticks]
    middle = (sy.span[0] + sy.span[1]) / 2
    parts.append(_text(14, middle, title, anchor="middle", css_class="axis-title",
                       transform=f"rotate(-90 14 {middle:.1f})"))
    return parts


def _row_height(count: int) -> float:
    """Row height of the per-player charts: roomy for a few players, at least 14 px for many."""
    return 26.0 if count <= 16 else max(14.0, 420.0 / count)


# -- the charts ----------------------------------------------------------------------------------------------
def elo_chart(players: Sequence[dict], anchor: str | None) -> str:
    """Elo with its 95 % interval: one row per player, a dot and an error bar, a dashed line at 0 (the anchor)."""
    if not players:
        return '<p class="empty">No players.</p>'
    names = [str(p["name"]) for p in players]
    row, size = _row_height(len(players)), 12.0 if len(players) <= 30 else 10.0
    left, right, top = _label_width(names, size) + 18, 150.0, 26.0
    bottom = top + row * len(players)
    values = [p.get(k) for p in players for k in ("elo", "elo_low", "elo_high")]
    ticks = nice_ticks(*_padded(values, include=[0.0]))
    sx = _Scale((ticks[0], ticks[-1]), (left, CHART_WIDTH - right))
    parts = _x_axis(ticks, sx, top, bottom, "Elo (95 % bootstrap interval)", fmt=lambda t: f"{t:g}")
    zero = sx(0.0)
    parts.append(f'<line class="zero" x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 6:.1f}" y2="{bottom:.1f}"/>')
    parts.append(_text(zero, top - 10, f"0 = {anchor}" if anchor else "0 = mean", anchor="middle",
                       css_class="muted", limit=NAME_CHARS + 4))
    for i, (player, name) in enumerate(zip(players, names)):
        y = top + (i + 0.5) * row
        parts.append(_text(left - 10, y + 4, name, anchor="end", size=size, limit=NAME_CHARS))
        parts.append(_elo_mark(player, name, sx, y, row, is_anchor=name == anchor))
        interval = f"{_number(player.get('elo'))} [{_number(player.get('elo_low'))}, " \
                   f"{_number(player.get('elo_high'))}]"
        parts.append(_text(CHART_WIDTH - right + 12, y + 4, interval, css_class="muted", size=size))
    return _svg(CHART_WIDTH, bottom + 44, parts, "Elo with 95 % interval per player")


def _elo_mark(player: dict, name: str, sx: _Scale, y: float, row: float,
              *, is_anchor: bool) -> str:
    """One player's error bar (with caps) and dot, and a tooltip with the numbers."""
    elo, low, high = (_finite(player.get(k)) for k in ("elo", "elo_low", "elo_high"))
    tooltip = (f"<title>{_e(name)}: Elo {_number(elo)} (95 % interval {_number(low)} to {_number(high)})"
               f"</title>")
    cap = min(row * 0.3, 6.0)
    parts = []
    if low is not None and high is not None:
        x0, x1 = sx(low), sx(high)
        parts.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#0072b2" '
                     f'stroke-width="2"/>')
        parts += [f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - cap:.1f}" y2="{y + cap:.1f}" stroke="#0072b2" '
                  f'stroke-width="1.5"/>' for x in (x0, x1)]
    if elo is not None:
        fill = "#fff" if is_anchor else "#0072b2"
        parts.append(f'<circle cx="{sx(elo):.1f}" cy="{y:.1f}" r="{min(row * 0.2, 4.5):.1f}" fill="{fill}" '
                     f'stroke="#0072b2" stroke-width="1.5"/>')
    return f'<g class="elo-mark">{tooltip}{"".join(parts)}</g>'


def heatmap(players: Sequence[dict], payoff: Sequence[Sequence[float | None]],
            pair_games: Sequence[Sequence[int]]) -> str:
    """The payoff matrix as a grid of `rect.cell`: row player's score against the column player, red (0) through
    white (0.5) to blue (1), grey where they never played. Cells shrink with the player count; below
    CELL_NUMBERS pixels the numbers are left to the tooltips."""
    n = len(players)
    if n == 0:
        return '<p class="empty">No players.</p>'
    names = [str(p["name"]) for p in players]
    cell = float(min(CELL_MAX, max(CELL_MIN, HEATMAP_SPAN // n)))
    size = min(12.0, max(8.0, cell * 0.8))
    label = _label_width(names, size)
    steep = n > 12
    # Column labels are rotated -45 degrees for a few players and -90 for many; they need this room.
    rise, spill = (label + 4, 0.0) if steep else (label * 0.72 + 6, label * 0.72)
    left, top = label + 14, rise + 10
    parts = [_text(left - 8, top + (i + 0.5) * cell + size * 0.35, name, anchor="end", size=size, limit=NAME_CHARS)
             for i, name in enumerate(names)]
    for j, name in enumerate(names):
        x, y = left + (j + 0.5) * cell, top - 6
        angle = -90 if steep else -45
        parts.append(_text(x + size * 0.35, y, name, size=size, limit=NAME_CHARS,
                           transform=f"rotate({angle} {x + size * 0.35:.1f} {y:.1f})"))
    gap = 1.0 if cell >= 14 else 0.5
    for i in range(n):
        for j in range(n):
            value = _cell_value(payoff, i, j)
            games = _cell_games(pair_games, i, j)
            parts.append(_cell(names[i], names[j], value, games, x=left + j * cell, y=top + i * cell, cell=cell,
                               gap=gap, is_self=i == j))
    width = left + n * cell + max(spill - cell / 2, 0) + 16
    legend_top = top + n * cell + 18
    parts += _payoff_legend(left, legend_top)
    # At least as wide as the colour legend.
    return _svg(max(width, left + 330), legend_top + 40, parts, "Payoff heat map", css_class="chart heatmap")


def _cell_value(payoff: Sequence[Sequence[float | None]], i: int, j: int) -> float | None:
    try:
        return _finite(payoff[i][j])
    except (IndexError, TypeError):
        return None


def _cell_games(pair_games: Sequence[Sequence[int]], i: int, j: int) -> int:
    try:
        return int(pair_games[i][j] or 0)
    except (IndexError, TypeError, ValueError):
        return 0


def _cell(row: str, column: str, value: float | None, games: int, *, x: float, y: float, cell: float,
          gap: float, is_self: bool) -> str:
    """One heat map cell, its number when there is room, and its tooltip "A vs B: 0.73 over 40 games"."""
    if value is None:
        fill = SELF_CELL if is_self else NEVER_PLAYED
        tooltip = f"{row} vs {column}: never played" if not is_self else f"{row} (itself)"
    else:
        fill = payoff_colour(value)
        tooltip = f"{row} vs {column}: {value:.2f} over {games} game{'' if games == 1 else 's'}"
    rect = (f'<rect class="cell" x="{x + gap / 2:.1f}" y="{y + gap / 2:.1f}" width="{cell - gap:.1f}" '
            f'height="{cell - gap:.1f}" fill="{fill}"><title>{_e(tooltip)}</title></rect>')
    if value is None or cell < CELL_NUMBERS:
        return rect
    ink = "#ffffff" if abs(value - 0.5) > 0.3 else INK
    number = f"{value:.2f}".lstrip("0") if value < 1 else "1"
    return rect + (f'<text class="cell-value" x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                   f'style="font-size:{min(12.0, cell * 0.32):.1f}px;fill:{ink};pointer-events:none">'
                   f'{number}</text>')


def _payoff_legend(left: float, top: float) -> list[str]:
    """The colour scale (0, 0.5, 1) as a gradient bar, and the never-played swatch."""
    stops = "".join(f'<stop offset="{t * 100:.0f}%" stop-color="{payoff_colour(t)}"/>' for t in (0, 0.5, 1))
    return [f'<defs><linearGradient id="payoff-scale">{stops}</linearGradient></defs>',
            f'<rect class="legend" x="{left:.1f}" y="{top:.1f}" width="180" height="10" fill="url(#payoff-scale)" '
            f'stroke="#d0d7de"/>',
            _text(left, top + 24, "0 (loses)", css_class="muted", size=11),
            _text(left + 90, top + 24, "0.5", anchor="middle", css_class="muted", size=11),
            _text(left + 180, top + 24, "1 (wins)", anchor="end", css_class="muted", size=11),
            f'<rect class="legend" x="{left + 205:.1f}" y="{top:.1f}" width="14" height="10" fill="{NEVER_PLAYED}"/>',
            _text(left + 224, top + 9, "never played", css_class="muted", size=11)]


def nash_chart(players: Sequence[dict]) -> str:
    """The Nash mixture: one bar per player in the support (probability > 0.0005), in ranked order."""
    support = [p for p in players if (_finite(p.get("nash_probability")) or 0.0) > 5e-4]
    if not support:
        return '<p class="empty">No player has weight in the Nash mixture (no games yet?).</p>'
    names = [str(p["name"]) for p in support]
    row, size = _row_height(len(support)), 12.0 if len(support) <= 30 else 10.0
    left, top = _label_width(names, size) + 18, 10.0
    bottom = top + row * len(support)
    ticks = nice_ticks(0.0, max(p["nash_probability"] for p in support), count=5)
    sx = _Scale((0.0, ticks[-1]), (left, CHART_WIDTH - 80))
    parts = _x_axis(ticks, sx, top, bottom, "probability in the max-entropy Nash mixture", fmt=lambda t: f"{t:g}")
    for i, (player, name) in enumerate(zip(support, names)):
        y, p = top + i * row, float(player["nash_probability"])
        parts.append(_text(left - 10, y + row / 2 + 4, name, anchor="end", size=size, limit=NAME_CHARS))
        parts.append(f'<rect class="bar" x="{left:.1f}" y="{y + row * 0.18:.1f}" width="{sx(p) - left:.1f}" '
                     f'height="{row * 0.64:.1f}" fill="#009e73"><title>{_e(name)}: {p:.3f}</title></rect>')
        parts.append(_text(sx(p) + 6, y + row / 2 + 4, f"{p:.3f}", css_class="muted", size=size))
    return _svg(CHART_WIDTH, bottom + 44, parts, "Nash mixture")


def _legend(series: Sequence[tuple[str, str]], x: float, top: float) -> list[str]:
    """A vertical legend: for each (name, colour), a colour swatch and the (cut) name."""
    parts = []
    for k, (name, colour) in enumerate(series):
        y = top + k * 20
        parts.append(f'<rect class="swatch" x="{x:.1f}" y="{y:.1f}" width="14" height="4" fill="{colour}"/>')
        parts.append(_text(x + 20, y + 6, name, limit=22))
    return parts


def training_chart(lineages: dict) -> str:
    """Elo against training steps, one line per lineage with its 95 % interval as a band, and a legend."""
    series = {str(k): sorted((s for s in v if _finite(s.get("steps")) is not None), key=lambda s: s["steps"])
              for k, v in sorted((lineages or {}).items())}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return '<p class="empty">No snapshots with training steps.</p>'
    points = [s for v in series.values() for s in v]
    legend_width, left, top, height = 200.0, 64.0, 14.0, 300.0
    x_domain = _padded([s["steps"] for s in points], pad=0.05, empty=1.0)
    x_ticks = _inside(nice_ticks(*x_domain), x_domain)
    y_ticks = nice_ticks(*_padded([s.get(k) for s in points for k in ("elo_low", "elo_high", "elo")]), count=6)
    sx = _Scale(x_domain, (left, CHART_WIDTH - legend_width - 20))
    sy = _Scale((y_ticks[0], y_ticks[-1]), (top + height, top))
    parts = _x_axis(x_ticks, sx, top, top + height, "training steps of the lineage when frozen")
    parts += _y_axis(y_ticks, sy, left, CHART_WIDTH - legend_width - 20, "Elo", fmt=lambda t: f"{t:g}")
    for k, (lineage, snapshots) in enumerate(series.items()):
        parts.append(_lineage(lineage, snapshots, sx, sy, _series_colour(k)))
    parts += _legend([(k, _series_colour(i)) for i, k in enumerate(series)], CHART_WIDTH - legend_width + 4, top + 4)
    return _svg(CHART_WIDTH, top + height + 44, parts, "Ratings over training")


def _lineage(name: str, snapshots: Sequence[dict], sx: _Scale, sy: _Scale,
             colour: str) -> str:
    """One lineage: its interval band, its Elo line and a dot with a tooltip per snapshot."""
    rated = [s for s in snapshots if _finite(s.get("elo")) is not None]
    banded = [s for s in rated if None not in (_finite(s.get("elo_low")), _finite(s.get("elo_high")))]
    parts = []
    if len(banded) >= 2:
        upper = [f"{sx(s['steps']):.1f},{sy(s['elo_high']):.1f}" for s in banded]
        lower = [f"{sx(s['steps']):.1f},{sy(s['elo_low']):.1f}" for s in reversed(banded)]
        parts.append(f'<path class="band" d="M{" L".join(upper + lower)} Z" fill="{colour}" fill-opacity="0.15" '
                     f'stroke="none"/>')
    elif banded:  # One snapshot: its interval as a bar.
        s = banded[0]
        parts.append(f'<line x1="{sx(s["steps"]):.1f}" x2="{sx(s["steps"]):.1f}" y1="{sy(s["elo_low"]):.1f}" '
                     f'y2="{sy(s["elo_high"]):.1f}" stroke="{colour}" stroke-opacity="0.5" stroke-width="2"/>')
    if len(rated) >= 2:
        line = " L".join(f"{sx(s['steps']):.1f},{sy(s['elo']):.1f}" for s in rated)
        parts.append(f'<path class="line" d="M{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for s in rated:
        tip = (f"{s.get('name', '')} ({name}) at {s['steps']:,} steps: Elo {_number(s.get('elo'))} "
               f"[{_number(s.get('elo_low'))}, {_number(s.get('elo_high'))}]")
        parts.append(f'<circle cx="{sx(s["steps"]):.1f}" cy="{sy(s["elo"]):.1f}" r="3.5" fill="{colour}">'
                     f'<title>{_e(tip)}</title></circle>')
    return f'<g class="lineage">{"".join(parts)}</g>'


def forgetting_chart(league: dict) -> str:
    """Each main agent snapshot's minimum win rate against its own earlier snapshots, against steps, with 0.5
    (even) as a dashed line; coloured by lineage as in the ratings-over-training chart."""
    lineage_of = {str(s.get("name")): str(parent) for parent, snaps in sorted((league.get("lineages") or {}).items())
                  for s in snaps}
    order = sorted((league.get("lineages") or {}))
    rows = [r for r in league.get("forgetting") or []
            if _finite(r.get("min_win_rate")) is not None and _finite(r.get("steps")) is not None]
    if not rows:
        return '<p class="empty">No main agent snapshot has an earlier snapshot it played against.</p>'
    left, top, height, right = 64.0, 14.0, 240.0, CHART_WIDTH - 220.0
    x_domain = _padded([r["steps"] for r in rows], pad=0.05, empty=1.0)
    x_ticks = _inside(nice_ticks(*x_domain), x_domain)
    sx = _Scale(x_domain, (left, right))
    sy = _Scale((0.0, 1.0), (top + height, top))
    parts = _x_axis(x_ticks, sx, top, top + height, "training steps of the snapshot")
    parts += _y_axis([0, 0.25, 0.5, 0.75, 1], sy, left, right, "min win rate vs own past", fmt=lambda t: f"{t:g}")
    parts.append(f'<line class="zero" x1="{left:.1f}" x2="{right:.1f}" y1="{sy(0.5):.1f}" y2="{sy(0.5):.1f}"/>')
    parts.append(_text(right + 6, sy(0.5) + 4, "0.5: even", css_class="muted"))
    groups: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["steps"]):
        groups.setdefault(lineage_of.get(str(r.get("snapshot")), ""), []).append(r)
    colours = {g: _series_colour(order.index(g)) if g in order else INK for g in groups}
    for lineage, points in groups.items():
        colour = colours[lineage]
        if len(points) >= 2:
            line = " L".join(f"{sx(r['steps']):.1f},{sy(r['min_win_rate']):.1f}" for r in points)
            parts.append(f'<path class="line" d="M{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in points:
            tip = (f"{r.get('snapshot', '')} at {r['steps']:,} steps: min win rate {r['min_win_rate']:.2f} "
                   f"against {r.get('against') or 'none'}")
            parts.append(f'<circle cx="{sx(r["steps"]):.1f}" cy="{sy(r["min_win_rate"]):.1f}" r="3.5" '
                         f'fill="{colour}"><title>{_e(tip)}</title></circle>')
    parts += _legend([(g or "(unknown lineage)", colours[g]) for g in groups], right + 80, top + 30)
    return _svg(CHART_WIDTH, top + height + 44, parts, "Forgetting")


# -- the page ------------------------------------------------------------------------------------------------
def _header(report: dict) -> str:
    """The title and the facts: scenario, games, players, anchor, created, league folder."""
    league = report.get("league")
    facts = [("Scenario", report.get("scenario", MISSING)), ("Games", f"{int(report.get('games') or 0):,}"),
             ("Players", len(report.get("players") or [])), ("Anchor (Elo 0)", report.get("anchor") or "none: mean 0"),
             ("Created", report.get("created", MISSING))]
    if league:
        facts.append(("League", league.get("folder", MISSING)))
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    links = [("ratings", "Ratings"), ("elo", "Elo chart"), ("payoff", "Payoff"), ("nash", "Nash mixture")]
    links += [("training", "Ratings over training"), ("forgetting", "Forgetting")] if league else []
    nav = "".join(f'<a href="#{k}">{_e(v)}</a>' for k, v in links)
    return (f'<header><h1>{_e(report.get("title") or "Ladder report")}</h1><dl class="meta">{items}</dl>'
            f"<nav>{nav}</nav></header>")


def ratings_table(report: dict) -> str:
    """The ratings table, strongest first: rank, name, kind, games, Elo [interval], TrueSkill, Nash."""
    players = report.get("players") or []
    if not players:
        return '<p class="empty">No players.</p>'
    head = ("<tr><th>#</th><th class=\"text\">Player</th><th class=\"text\">Kind</th><th>Games</th>"
            "<th>Elo</th><th class=\"text\">95 % interval</th><th>TS \u03bc</th><th>TS \u03c3</th>"
            "<th>\u03bc \u2212 3\u03c3</th><th>Nash p</th><th>Nash rating</th></tr>")
    rows = []
    for rank, p in enumerate(players, 1):
        name, kind = str(p.get("name", "")), str(p.get("kind", ""))
        badge = '<span class="badge">anchor</span>' if name == report.get("anchor") else ""
        steps = _finite(p.get("league_steps"))
        kind_text = _e(kind) + (f' <span class="interval">@ {_compact(steps)} steps</span>' if steps is not None
                                else "")
        rows.append(
            f'<tr><td>{rank}</td><td class="text name" title="{_e(name)}">{_e(name)}{badge}</td>'
            f'<td class="text">{kind_text}</td><td>{int(p.get("games") or 0):,}</td>'
            f'<td><strong>{_number(p.get("elo"))}</strong></td>'
            f'<td class="text interval">[{_number(p.get("elo_low"))}, {_number(p.get("elo_high"))}]</td>'
            f'<td>{_number(p.get("trueskill_mu"), 2)}</td><td>{_number(p.get("trueskill_sigma"), 2)}</td>'
            f'<td>{_number(p.get("trueskill_rank_value"), 2)}</td><td>{_number(p.get("nash_probability"), 3)}</td>'
            f'<td>{_number(p.get("nash_rating"), 3)}</td></tr>')
    return f'<table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _section(anchor: str, title: str, note: str, body: str) -> str:
    return (f'<section id="{anchor}"><h2>{_e(title)}</h2><p class="note">{_e(note)}</p>'
            f'<div class="scroll">{body}</div></section>')


def render_html(report: dict) -> str:
    """The report as one self-contained HTML page: inline CSS and SVG, no scripts, nothing from the network.

    Args:
        report: the ladder report (the schema is in this module's docstring).

    Returns:
        The page, as text.
    """
    players = report.get("players") or []
    league = report.get("league")
    sections = [
        _section("ratings", "Ratings", "Strongest first. TrueSkill ranks by \u03bc \u2212 3\u03c3; the Nash rating "
                 "is each player's expected score against the Nash mixture.", ratings_table(report)),
        _section("elo", "Elo with 95 % interval", "Dots are Elo estimates, bars their bootstrap intervals; the "
                 "dashed line is Elo 0" + (f" ({report['anchor']})." if report.get("anchor") else " (the mean)."),
                 elo_chart(players, report.get("anchor"))),
        _section("payoff", "Payoff", "Row player's score against the column player, (wins + draws / 2) / games. "
                 "Hover a cell for the games behind it.",
                 heatmap(players, report.get("payoff") or [], report.get("pair_games") or [])),
        _section("nash", "Nash mixture", "The maximum-entropy Nash equilibrium of the payoff game: how often each "
                 "player would be picked by an unexploitable meta-player.", nash_chart(players)),
    ]
    if league:
        sections += [
            _section("training", "Ratings over training", "Elo of each learning player's frozen snapshots, with "
                     "their 95 % intervals as bands.", training_chart(league.get("lineages") or {})),
            _section("forgetting", "Forgetting", "A main agent snapshot's lowest win rate against its own earlier "
                     "snapshots; below 0.5 it has forgotten how to beat a past self.", forgetting_chart(league)),
        ]
    title = _e(report.get("title") or "Ladder report")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{title}</title><style>{_CSS}</style></head>'
            f'<body><main>{_header(report)}{"".join(sections)}'
            f'<footer>{_e(report.get("format", "sc2arena-ladder-report"))} version {_e(report.get("version", 1))}'
            '</footer></main></body></html>\n')


def write_html(report: dict, path: str | os.PathLike) -> None:
    """Write `render_html(report)` to `path` whole or not at all (a temporary file beside it, then os.replace)."""
    write_bytes_atomic(path, render_html(report).encode("utf-8"))


# -- the terminal --------------------------------------------------------------------------------------------
def _aligned(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """Each column of `rows` right-aligned to its widest cell."""
    widths = [max((len(r[k]) for r in rows), default=0) for k in range(len(rows[0]) if rows else 0)]
    return [[cell.rjust(w) for cell, w in zip(r, widths)] for r in rows]


def render_text(report: dict) -> str:
    """The ratings as a fixed-width table for a terminal, strongest first.

    Columns: rank, player, kind, games, elo [low, high], ts mu-3sigma, nash p. Names longer than
    TEXT_NAME_CHARS are cut with an ellipsis.
    """
    players = report.get("players") or []
    anchor = report.get("anchor")
    summary = (f"{report.get('title') or 'Ladder'}: {report.get('scenario', MISSING)}, "
               f"{int(report.get('games') or 0)} games, {len(players)} players, "
               f"anchor {anchor if anchor else 'none (mean 0)'}")
    if not players:
        return summary + "\nno players yet"
    header = ("#", "player", "kind", "games", "elo [low, high]", "ts mu-3sigma", "nash p")
    elo = _aligned([[_number(p.get(k)) for k in ("elo", "elo_low", "elo_high")] for p in players])
    rows = [(str(rank), truncate(str(p.get("name", "")), TEXT_NAME_CHARS), str(p.get("kind", "")),
             str(int(p.get("games") or 0)), f"{value} [{low}, {high}]",
             _number(p.get("trueskill_rank_value"), 2), _number(p.get("nash_probability"), 3))
            for rank, (p, (value, low, high)) in enumerate(zip(players, elo), 1)]
    widths = [max(len(r[k]) for r in rows + [header]) for k in range(len(header))]
    left_aligned = {1, 2}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if k in left_aligned else c.rjust(w)
                         for k, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([summary, line(header), rule] + [line(r) for r in rows])
