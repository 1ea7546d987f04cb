"""The ladder's report page and terminal table (league.ladder.report): the page parses with balanced tags, escapes
every name, draws an N x N heat map, shows the league sections only for a league, loads nothing from the network,
and renders in a real headless Chromium without console errors; the terminal table keeps the ranking; the page is
written atomically.

The browser test needs Debian's chromium (`apt-get install chromium`) and `pip install playwright` (never
`playwright install`: the page needs nothing from the network); it skips, saying which is missing, without them.
"""

from __future__ import annotations

import html
import json
import math
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from league.ladder.report import (NAME_CHARS, nice_ticks, payoff_colour, render_html, render_text, truncate,
                                  write_html)


EVIL = "<script>alert(1)</script>"
LONG = "policy:runs/an/extremely/long/path/to/a/saved/policy/checkpoint_000123456.safetensors"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def player(name: str, kind: str, elo: float, *, games: int = 40, nash: float = 0.0,
           steps: int | None = None) -> dict:
    """One row of "players" with plausible numbers around `elo`."""
    mu = 25 + elo / 50
    return {"name": name, "kind": kind, "games": games, "elo": elo, "elo_low": elo - 45, "elo_high": elo + 50,
            "trueskill_mu": mu, "trueskill_sigma": 1.5, "trueskill_rank_value": mu - 4.5,
            "nash_probability": nash, "nash_rating": nash - 0.1, "league_steps": steps}


def payoff_of(players: list[dict], *, never: set[tuple[int, int]] = frozenset()) -> tuple[list, list]:
    """An Elo-consistent payoff and 40 games a pair, except the pairs in `never` (and the diagonal)."""
    n = len(players)
    payoff = [[None] * n for _ in range(n)]
    games = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j and (i, j) not in never and (j, i) not in never:
                payoff[i][j] = 1 / (1 + 10 ** ((players[j]["elo"] - players[i]["elo"]) / 400))
                games[i][j] = 40
    return payoff, games


def base(players: list[dict], **fields) -> dict:
    payoff, games = payoff_of(players, never=fields.pop("never", set()))
    report = {"format": "sc2arena-ladder-report", "version": 1, "title": "Ladder runs/ladder",
              "scenario": "FullGame-v0", "created": "2024-05-01T12:00:00+00:00",
              "games": sum(map(sum, games)) // 2, "players": players, "anchor": "bot:1", "payoff": payoff,
              "pair_games": games, "league": None}
    report.update(fields)
    return report


def five_player_report() -> dict:
    """Two league snapshots of one main agent, a league exploiter snapshot, a bot and a player with a hostile name;
    the hostile one never played the bot."""
    players = [player("main_agent_0@20000", "league snapshot", 310, nash=0.55, steps=20000),
               player(EVIL, "policy", 150, nash=0.3),
               player("main_agent_0@10000", "league snapshot", 120, nash=0.15, steps=10000),
               player("league_exploiter_0@10000", "league snapshot", 40, steps=10000),
               player("bot:1", "bot", 0.0)]
    league = {"folder": "runs/league",
              "lineages": {"main_agent_0": [
                  {"name": "main_agent_0@10000", "steps": 10000, "elo": 120, "elo_low": 75, "elo_high": 170},
                  {"name": "main_agent_0@20000", "steps": 20000, "elo": 310, "elo_low": 265, "elo_high": 360}],
                  "league_exploiter_0": [
                  {"name": "league_exploiter_0@10000", "steps": 10000, "elo": 40, "elo_low": -5, "elo_high": 90}]},
              "forgetting": [
                  {"snapshot": "main_agent_0@10000", "steps": 10000, "min_win_rate": None, "against": None},
                  {"snapshot": "main_agent_0@20000", "steps": 20000, "min_win_rate": 0.73,
                   "against": "main_agent_0@10000"}]}
    return base(players, league=league, never={(1, 4)})


def one_player_report() -> dict:
    return base([player("bot:1", "bot", 0.0, games=0, nash=1.0)])


def no_games_report() -> dict:
    """Three players, nothing played: every payoff cell None, the ratings flat."""
    players = [player(name, "scripted", 0.0, games=0, nash=1 / 3) for name in ("a", "b", "c")]
    for p in players:
        p.update(elo_low=0.0, elo_high=0.0)
    return base(players, anchor=None, games=0, payoff=[[None] * 3 for _ in range(3)],
                pair_games=[[0] * 3 for _ in range(3)])


def many_player_report(n: int = 70) -> dict:
    """`n` players, one with a very long name, strongest first, a few pairs never played."""
    rng = random.Random(0)
    elos = sorted((rng.uniform(-600, 900) for _ in range(n)), reverse=True)
    players = [player(f"player_{k:03d}", "policy", elo, nash=rng.random() if k % 7 == 0 else 0.0)
               for k, elo in enumerate(elos)]
    players[5]["name"] = LONG
    total = sum(p["nash_probability"] for p in players)
    for p in players:
        p["nash_probability"] /= total
    return base(players, anchor="player_010", never={(0, 1), (3, 40)})


REPORTS = {"five": five_player_report, "one": one_player_report, "no games": no_games_report,
           "seventy": many_player_report}


class Walker(HTMLParser):
    """Walks a page: checks every non-void tag closes in order, counts tags, collects attributes and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.counts: dict[str, int] = {}
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.cell_titles = 0
        self._cells: list[bool] = []  # Beside `stack`: whether each open tag is a heat map cell.

    def handle_starttag(self, tag, attrs):
        self._count(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)
            self._cells.append(tag == "rect" and ("class", "cell") in attrs)

    def handle_startendtag(self, tag, attrs):
        self._count(tag, attrs)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        self._cells.pop()
        if tag == "title" and self._cells and self._cells[-1]:
            self.cell_titles += 1

    def handle_data(self, data):
        self.text.append(data)

    def _count(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def walk(page: str) -> Walker:
    walker = Walker()
    walker.feed(page)
    walker.close()
    return walker


def cells(page: str) -> int:
    return len(re.findall(r'<rect class="cell"', page))


# ---- the page's structure ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", REPORTS)
def test_the_page_parses_with_balanced_tags(name):
    page = render_html(REPORTS[name]())
    walker = walk(page)
    assert walker.errors == [] and walker.stack == [], (walker.errors, walker.stack)
    assert page.startswith("<!DOCTYPE html>")
    assert walker.counts["table"] == 1 and walker.counts["html"] == 1


@pytest.mark.parametrize("name", REPORTS)
def test_the_heat_map_has_a_cell_per_pair_with_its_tooltip(name):
    report = REPORTS[name]()
    page = render_html(report)
    n = len(report["players"])
    assert cells(page) == n * n
    assert walk(page).cell_titles == n * n


def test_every_name_is_escaped_and_the_hostile_one_never_appears_raw():
    report = five_player_report()
    page = render_html(report)
    assert EVIL not in page and "<script" not in page.lower()
    for p in report["players"]:
        assert html.escape(p["name"]) in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The parser's text holds the hostile name as text, never as a tag.
    assert walk(page).counts.get("script", 0) == 0


def test_cell_tooltips_give_the_score_and_games_and_never_played():
    page = render_html(five_player_report())
    assert "main_agent_0@20000 vs main_agent_0@10000: " in page
    assert re.search(r"main_agent_0@20000 vs bot:1: 0\.\d\d over 40 games", page)
    assert f"{html.escape(EVIL)} vs bot:1: never played" in page


def test_long_names_are_cut_in_the_charts_and_whole_in_tooltips():
    page = render_html(many_player_report())
    cut = html.escape(truncate(LONG, NAME_CHARS))
    assert cut.endswith("\u2026") and cut in page
    assert f"<title>{html.escape(LONG)}</title>" in page


def test_big_heat_maps_shrink_their_cells_and_drop_the_numbers():
    small, big = render_html(five_player_report()), render_html(many_player_report())
    size = lambda page: float(re.search(r'<rect class="cell" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', page)[1])
    assert size(big) < size(small)
    assert size(big) >= 9
    numbers = lambda page: page.count('<text class="cell-value"')
    assert numbers(small) == 5 * 5 - 5 - 2  # Not the diagonal nor the pair that never played.
    assert numbers(big) == 0


def test_the_league_sections_appear_only_for_a_league():
    with_league, without = render_html(five_player_report()), render_html(many_player_report())
    for section in ('id="training"', 'id="forgetting"', "Ratings over training", "Forgetting"):
        assert section in with_league
        assert section not in without
    assert 'class="lineage"' in with_league and 'class="swatch"' in with_league
    assert "0.5: even" in with_league


def test_the_page_loads_nothing_from_the_network():
    for make in REPORTS.values():
        page = render_html(make())
        walker = walk(page)
        for tag, name, value in walker.attributes:
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
                assert value.startswith(("#", "data:")), (tag, name, value)
        assert "http://" not in page and "https://" not in page
        assert "@import" not in page
        assert not re.search(r"url\((?!#)", page)
        assert walker.counts.get("script", 0) == 0


def test_edge_cases_render():
    page = render_html(no_games_report())
    assert "No player" not in page.split('id="nash"')[0]
    assert "none: mean 0" in page
    assert cells(page) == 9 and "never played" in page
    empty = render_html(base([], anchor=None, games=0, payoff=[], pair_games=[]))
    assert cells(empty) == 0 and "No players." in empty
    assert walk(empty).errors == []


def test_missing_and_non_finite_numbers_show_a_dash():
    report = five_player_report()
    report["players"][1].update(elo=math.inf, elo_low=None, trueskill_sigma=math.nan)
    page = render_html(report)
    assert "inf" not in page and "nan" not in page.lower().replace("nash", "")
    assert "\u2013" in page


def test_the_report_survives_a_json_round_trip():
    report = json.loads(json.dumps(five_player_report()))
    assert render_html(report) == render_html(five_player_report())


# ---- small pure pieces ----------------------------------------------------------------------------------------

def test_payoff_colours_run_red_white_blue_with_grey_for_never_played():
    assert payoff_colour(0.0) == "#ca0020"
    assert payoff_colour(0.5) == "#ffffff"
    assert payoff_colour(1.0) == "#0571b0"
    assert payoff_colour(None) == payoff_colour(math.nan) != "#ffffff"
    assert payoff_colour(-3) == payoff_colour(0.0) and payoff_colour(7) == payoff_colour(1.0)


@pytest.mark.parametrize("low, high", [(-123.0, 456.0), (0.0, 0.3), (10_000, 20_000), (5.0, 5.0)])
def test_nice_ticks_cover_the_range_with_round_steps(low, high):
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high and 2 <= len(ticks) <= 12
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1


def test_truncate():
    assert truncate("short", 10) == "short"
    assert truncate("abcdefghij", 5) == "abcd\u2026"


# ---- the terminal ---------------------------------------------------------------------------------------------

def test_render_text_lists_the_players_in_order_in_fixed_columns():
    report = five_player_report()
    lines = render_text(report).splitlines()
    assert "FullGame-v0" in lines[0] and "anchor bot:1" in lines[0]
    header, rule, rows = lines[1], lines[2], lines[3:]
    for column in ("player", "kind", "games", "elo [low, high]", "ts mu-3sigma", "nash p"):
        assert column in header
    assert set(rule) == {"-", " "}
    assert [row.split()[0] for row in rows] == ["1", "2", "3", "4", "5"]
    positions = [row.index(p["name"]) for row, p in zip(rows, report["players"])]
    assert len(set(positions)) == 1
    assert all(p["name"] in row for row, p in zip(rows, report["players"]))
    assert "310 [265, 360]" in rows[0]
    # The elo column is right-aligned: every row ends it at the same place.
    ends = {row.index("]") for row in rows}
    assert len(ends) == 1


def test_render_text_cuts_long_names_and_handles_no_players():
    text = render_text(many_player_report())
    assert LONG not in text and truncate(LONG, 40) in text
    assert len(text.splitlines()) == 3 + 70
    assert "no players" in render_text(base([], anchor=None, games=0, payoff=[], pair_games=[]))


# ---- the file -------------------------------------------------------------------------------------------------

def test_write_html_replaces_the_file_and_leaves_no_temporary_files(tmp_path: Path):
    path = tmp_path / "ladder" / "report.html"
    write_html(one_player_report(), path)
    write_html(five_player_report(), path)
    assert path.read_text(encoding="utf-8") == render_html(five_player_report())
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


# ---- the page in a real browser -------------------------------------------------------------------------------
# (the `browser` fixture: tests/conftest.py)


@pytest.mark.parametrize("name", ["five", "seventy"])
def test_the_page_renders_in_chromium_without_errors(browser, tmp_path: Path, name: str):
    path = tmp_path / "report.html"
    write_html(REPORTS[name](), path)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    console_errors, page_errors, requests = [], [], []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(path.as_uri())
        sizes = page.evaluate("Array.from(document.querySelectorAll('svg.chart'), svg => {"
                              " const box = svg.getBoundingClientRect(); return [box.width, box.height]; })")
        cell = page.evaluate("(() => { const box = document.querySelector('rect.cell').getBoundingClientRect();"
                             " return [box.width, box.height]; })()")
        dialog = page.evaluate("document.querySelectorAll('script').length")
    finally:
        page.close()
    assert page_errors == [] and console_errors == [], (page_errors, console_errors)
    assert all(url.startswith("file://") for url in requests), requests
    assert len(sizes) == (5 if name == "five" else 3)
    assert all(width > 50 and height > 50 for width, height in sizes), sizes
    assert cell[0] > 5 and cell[1] > 5, cell
    assert dialog == 0
