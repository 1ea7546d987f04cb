"""The browser replay viewer: its server's JSON API (a listing that survives broken files, one replay, errors, no
path traversal), and the page itself in a real headless Chromium driven by Playwright (units drawn, scrubbing,
fog hiding an enemy, the keyboard, no console errors).

The browser tests need Debian's chromium (`apt-get install chromium`) and `pip install playwright` (never
`playwright install`: the page needs nothing from the network); they skip, saying which is missing, without them.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arena.interface.functions import FunctionId
from arena.replay.format import (ACTION_FIELDS, FORMAT_NAME, FORMAT_VERSION, HP_SCALE, POSITION_SCALE, SUFFIX,
                                 Replay, write_replay)
from arena.replay.server import ReplayCatalog, ReplayServer, function_table, serve_replays


# The synthetic game: two players on a 64 x 64 map, six frames, a neutral mineral field.
MARINE, SCV, ZEALOT, COMMAND_CENTER, MINERAL_FIELD = 1, 3, 10, 14, 26
UNIT_TYPES = {
    str(MARINE): {"name": "Marine", "radius": 0.375, "sight": 9.0, "max_hp": 45.0, "max_shields": 0.0,
                  "structure": False},
    str(SCV): {"name": "Scv", "radius": 0.375, "sight": 8.0, "max_hp": 45.0, "max_shields": 0.0, "structure": False},
    str(ZEALOT): {"name": "Zealot", "radius": 0.5, "sight": 9.0, "max_hp": 100.0, "max_shields": 50.0,
                  "structure": False},
    str(COMMAND_CENTER): {"name": "CommandCenter", "radius": 2.75, "sight": 11.0, "max_hp": 1500.0,
                          "max_shields": 0.0, "structure": True},
    str(MINERAL_FIELD): {"name": "MineralField", "radius": 1.0, "sight": 0.0, "max_hp": 0.0, "max_shields": 0.0,
                         "structure": False},
}
FRAMES = 6
PLAYERS = 2
HIDDEN_ZEALOT = 3
"""Player 2's Zealot, far from player 1's units: player 1 never sees it."""
SEEN_MARINE = 4
"""Player 2's Marine next to player 1's: both see it; it dies before frame 4."""
MARINE_SLOT = 0
COMMAND_CENTER_SLOT = 1


def unit_rows(frame: int) -> list[dict[str, float]]:
    """The living units of one frame, in map units (P1's Marine walks right one map unit a frame)."""
    both, p1, p2 = 0b11, 0b01, 0b10
    rows = [
        dict(slot=MARINE_SLOT, type=MARINE, owner=0, x=21.5 + frame, y=21.5, hp=45, order=1, order_x=30, order_y=21.5,
             selected=p1, visible=both),
        dict(slot=COMMAND_CENTER_SLOT, type=COMMAND_CENTER, owner=0, x=22.5, y=29.5, hp=1200, visible=both,
             build=255 if frame >= 2 else 100),
        dict(slot=2, type=SCV, owner=0, x=26.0, y=27.0, hp=40, order=5, target=5, visible=p1),
        dict(slot=HIDDEN_ZEALOT, type=ZEALOT, owner=1, x=42.5, y=42.5, hp=80, shields=20, visible=p2),
        dict(slot=5, type=MINERAL_FIELD, owner=2, x=27.0, y=32.0, hp=0, visible=both),
    ]
    if frame < 4:
        rows.append(dict(slot=SEEN_MARINE, type=MARINE, owner=1, x=29.5, y=23.5, hp=30 - 5 * frame, order=3,
                         target=MARINE_SLOT, selected=p2, visible=both))
    return rows


def action_row(function: FunctionId, **arguments: int) -> list[int]:
    row = [0] * len(ACTION_FIELDS)
    row[0] = int(function)
    for name, value in arguments.items():
        row[ACTION_FIELDS.index(name)] = value
    return row


def synthetic_replay() -> Replay:
    """A small valid replay per arena/replay/format.py, with explanations."""
    rows = [unit_rows(frame) for frame in range(FRAMES)]
    defaults = dict(hp=0, shields=0, order=0, target=-1, order_x=0, order_y=0, build=255, selected=0, visible=0)
    flat = [{**defaults, **row} for frame_rows in rows for row in frame_rows]
    scaled = {"x": POSITION_SCALE, "y": POSITION_SCALE, "order_x": POSITION_SCALE, "order_y": POSITION_SCALE,
              "hp": HP_SCALE, "shields": HP_SCALE}
    units = {name: np.array([round(row[name] * scaled.get(name, 1)) for row in flat])
             for name in ("slot", "type", "owner", "x", "y", "hp", "shields", "order", "target", "order_x",
                          "order_y", "build", "selected", "visible")}
    p1 = [action_row(FunctionId.select_point, select_point_act=0, screen_x=20, screen_y=40),
          action_row(FunctionId.Move_screen, screen_x=40, screen_y=32), action_row(FunctionId.no_op),
          action_row(FunctionId.Attack_screen, queued=1, screen_x=50, screen_y=30), action_row(FunctionId.no_op)]
    p2 = [action_row(FunctionId.select_army, select_add=0),
          action_row(FunctionId.Attack_minimap, minimap_x=20, minimap_y=40)] + [action_row(FunctionId.no_op)] * 3
    frames = {
        "game_loop": np.arange(FRAMES) * 8,
        "camera": np.tile(np.array([[24.0, 26.0], [40.0, 40.0]]), (FRAMES, 1, 1)),
        "reward": np.array([[0, 0], [0, 0], [1, -1], [0, 0], [1, -1], [0, 0]], dtype=np.float32),
        "score": np.cumsum(np.ones((FRAMES, PLAYERS)), axis=0) * [10, 5],
        "minerals": np.full((FRAMES, PLAYERS), 50.0),
        "vespene": np.zeros((FRAMES, PLAYERS)),
        "supply": np.tile(np.array([[3.0, 15.0], [2.0, 15.0]]), (FRAMES, 1, 1)),
        "action_result": np.ones((FRAMES, PLAYERS)),
        "apm_window": np.arange(FRAMES * PLAYERS).reshape(FRAMES, PLAYERS),
    }
    heatmap = np.zeros((FRAMES, PLAYERS, 16, 16), dtype=np.uint8)
    heatmap[:, :, 4:8, 10:14] = 255
    explanations = {
        "value": np.array([[0.5, np.nan]] * FRAMES, dtype=np.float32),
        "top_functions": np.tile(np.array([int(FunctionId.Move_screen), int(FunctionId.Attack_screen), -1]),
                                 (FRAMES, PLAYERS, 1)),
        "top_probs": np.tile(np.array([0.7, 0.2, 0.0]), (FRAMES, PLAYERS, 1)),
        "heatmap": heatmap,
    }
    header = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "scenario": {"id": "Synthetic-v1", "name": "Synthetic", "version": 1}, "engine_version": "test",
        "seed": 7, "step_mul": 8, "game_loops_per_second": 22.4,
        "players": [{"player": 0, "name": "scripted"}, {"player": 1, "name": "random"}],
        "limits": {"apm_caps": [[22, 112]], "delay_loops": 0, "fog": True},
        "interface": {"screen_size": 64, "minimap_size": 64, "camera_width": 24.0},
        "map": {"width": 64, "height": 64, "playable": [16.0, 16.0, 48.0, 48.0]},
        "unit_types": UNIT_TYPES,
    }
    return Replay(header=header, outcome={"result": [1, -1], "steps": FRAMES - 1, "game_loops": 40,
                                          "ended": "terminated"},
                  actions=np.array([p1, p2]).transpose(1, 0, 2), frames=frames, units=units,
                  frame_offsets=np.cumsum([0] + [len(frame_rows) for frame_rows in rows]),
                  explanations=explanations)


@pytest.fixture(scope="module")
def replay_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """good.replay.npz and sub/again.replay.npz, plus files that cannot be read, and one outside the folder."""
    root = tmp_path_factory.mktemp("viewer")
    folder = root / "replays"
    good = write_replay(folder / f"good{SUFFIX}", synthetic_replay())
    write_replay(folder / "sub" / f"again{SUFFIX}", synthetic_replay())
    (folder / f"garbage{SUFFIX}").write_bytes(b"this is not a zip archive")
    (folder / f"truncated{SUFFIX}").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    data = bytearray(good.read_bytes())
    header_at = data.index(b"header.json") + len(b"header.json")  # the compressed header follows its name
    data[header_at + 4: header_at + 40] = bytes(36)
    (folder / f"corrupted{SUFFIX}").write_bytes(bytes(data))
    (folder / "notes.txt").write_text("not a replay")
    outside = write_replay(root / f"outside{SUFFIX}", synthetic_replay())
    (folder / f"link{SUFFIX}").symlink_to(outside)
    return folder


@pytest.fixture(scope="module")
def server(replay_folder: Path) -> ReplayServer:
    with serve_replays(replay_folder, open_browser=False).start() as running:
        yield running


def get(server: ReplayServer, path: str) -> tuple[int, Any]:
    """GET a raw path (not normalized by any client), the status and the decoded JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body) if response.getheader("Content-Type") == "application/json" else body
    finally:
        connection.close()


def replay_path(name: str) -> str:
    return "/api/replay?" + urllib.parse.urlencode({"name": name})


# ---- the server ----

def test_listing_reports_every_replay_and_the_error_of_each_unreadable_one(server: ReplayServer):
    status, listing = get(server, "/api/replays")
    assert status == 200
    entries = {entry["name"]: entry for entry in listing["replays"]}
    assert sorted(entries) == [f"corrupted{SUFFIX}", f"garbage{SUFFIX}", f"good{SUFFIX}", f"sub/again{SUFFIX}",
                               f"truncated{SUFFIX}"]
    good = entries[f"good{SUFFIX}"]
    assert "error" not in good
    assert good["scenario"] == "Synthetic-v1" and good["players"] == ["scripted", "random"]
    assert good["outcome"]["result"] == [1, -1] and good["seed"] == 7
    for name in (f"garbage{SUFFIX}", f"truncated{SUFFIX}", f"corrupted{SUFFIX}"):
        assert entries[name]["error"], name


def test_one_replay_as_json_with_map_units_and_function_names(server: ReplayServer):
    status, document = get(server, replay_path(f"sub/again{SUFFIX}"))
    assert status == 200
    assert document["name"] == f"sub/again{SUFFIX}"
    assert document["header"]["scenario"]["id"] == "Synthetic-v1"
    assert len(document["frame_offsets"]) == FRAMES + 1
    assert document["units"]["x"][0] == 21.5 and document["units"]["hp"][0] == 45.0
    assert document["explanations"]["value"][0] == [0.5, None]  # NaN -> null: browsers refuse NaN in JSON
    assert document["functions"][str(int(FunctionId.Move_screen))] == {
        "name": "Move_screen", "arguments": [["queued", ["queued"]], ["screen", ["screen_x", "screen_y"]]]}
    assert "-1" not in document["functions"]
    assert document["action_results"]["1"] == "Success"


@pytest.mark.parametrize("name", [f"garbage{SUFFIX}", f"truncated{SUFFIX}", f"corrupted{SUFFIX}"])
def test_an_unreadable_replay_is_a_4xx_naming_the_file_and_the_problem(server: ReplayServer, name: str):
    status, document = get(server, replay_path(name))
    assert 400 <= status < 500
    assert document["file"] == name and document["error"]


@pytest.mark.parametrize("path", [
    replay_path(f"missing{SUFFIX}"),
    replay_path(f"../outside{SUFFIX}"),  # exists, one folder up
    replay_path(f"link{SUFFIX}"),  # a link in the folder to that file
    replay_path("../../../../../../etc/passwd"),
    replay_path("/etc/passwd"),
    replay_path("notes.txt"),  # inside the folder, but not a replay
    "/api/replay?name=%2e%2e%2foutside.replay.npz",
    "/../outside.replay.npz",
    "/../../../../etc/passwd",
    "/viewer/../server.py",
    "/server.py",
])
def test_unknown_names_and_paths_outside_the_served_replays_are_404(server: ReplayServer, path: str):
    status, document = get(server, path)
    assert status == 404
    assert document["error"]


def test_a_request_without_a_name_is_a_400(server: ReplayServer):
    status, document = get(server, "/api/replay")
    assert status == 400 and "name" in document["error"]


def test_static_files_are_served(server: ReplayServer):
    for path in ("/", "/viewer.js", "/render.js", "/viewer.css"):
        status, body = get(server, path)
        assert status == 200 and len(body) > 100, path


def test_viewing_one_file_opens_it_and_serves_nothing_else(replay_folder: Path):
    with serve_replays(replay_folder / f"good{SUFFIX}", open_browser=False).start() as single:
        assert single.url == f"{single.base_url}?replay=good{SUFFIX}"
        _, listing = get(single, "/api/replays")
        assert [entry["name"] for entry in listing["replays"]] == [f"good{SUFFIX}"]
        assert get(single, replay_path(f"good{SUFFIX}"))[0] == 200
        assert get(single, replay_path(f"garbage{SUFFIX}"))[0] == 404


def test_a_folder_server_opens_the_listing_and_binds_localhost(server: ReplayServer):
    assert server.url == server.base_url
    assert server.base_url.startswith("http://127.0.0.1:")


def test_a_port_in_use_is_refused_with_a_clear_error(server: ReplayServer, replay_folder: Path):
    with pytest.raises(OSError, match="choose another port"):
        serve_replays(replay_folder, port=server.port, open_browser=False)


def test_missing_paths_are_refused_before_serving(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nope"):
        ReplayCatalog.of(tmp_path / f"nope{SUFFIX}")
    with pytest.raises(ValueError, match="no replays"):
        ReplayCatalog.of([])


def test_function_table_names_unknown_ids_and_skips_padding():
    table = function_table([0, -1, 12345])
    assert table == {"0": {"name": "no_op", "arguments": []}, "12345": {"name": "function 12345", "arguments": []}}


# ---- the page in a real browser ----
# (the `browser` fixture: tests/conftest.py)


class PageWatch:
    """A page with its console errors, uncaught exceptions and requests recorded."""

    def __init__(self, browser, server: ReplayServer):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.server = server

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function("window.arenaViewer && window.arenaViewer.ready", timeout=15_000)

    def viewer(self, expression: str) -> Any:
        return self.page.evaluate(f"window.arenaViewer.{expression}")

    def pixel_at_unit(self, slot: int) -> tuple[int, int, int]:
        """The main canvas's colour at the centre of a unit of the current frame."""
        position = self.viewer(f"unitCanvasPosition({slot})")
        assert position is not None, f"unit {slot} is not in frame {self.viewer('frame')}"
        return tuple(self.page.evaluate(
            "([x, y]) => Array.from(document.getElementById('map').getContext('2d')"
            ".getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3))", [position["x"], position["y"]]))

    def close(self) -> None:
        self.page.close()

    def assert_clean(self) -> None:
        assert self.page_errors == [], self.page_errors
        assert self.console_errors == [], self.console_errors
        assert all(url.startswith(self.server.base_url) for url in self.requests), self.requests


def is_blue(rgb: tuple[int, int, int]) -> bool:
    return rgb[2] > rgb[0] + 80


def is_red(rgb: tuple[int, int, int]) -> bool:
    return rgb[0] > rgb[2] + 80


@pytest.fixture
def page(browser, server: ReplayServer):
    watch = PageWatch(browser, server)
    yield watch
    watch.close()


def test_the_page_draws_units_scrubs_fogs_and_takes_the_keyboard(page: PageWatch, server: ReplayServer,
                                                                tmp_path: Path):
    page.open(server.base_url + "?replay=good.replay.npz")
    assert page.viewer("lastError") is None
    assert page.viewer("numFrames") == FRAMES and page.viewer("frame") == 0
    page.page.locator("#map").screenshot(path=tmp_path / "frame0.png")
    assert (tmp_path / "frame0.png").stat().st_size > 1000
    assert is_blue(page.pixel_at_unit(COMMAND_CENTER_SLOT)) and is_blue(page.pixel_at_unit(MARINE_SLOT))
    assert is_red(page.pixel_at_unit(HIDDEN_ZEALOT)) and is_red(page.pixel_at_unit(SEEN_MARINE))
    assert "select_point(select_point_act=0, screen=(20, 40))" in page.page.inner_text("#action-0")
    assert page.page.locator("#explain-0 .bar").count() == 2  # top_functions' -1 padding is no bar
    start = page.viewer("unitCanvasPosition(0)")

    page.viewer("setFrame(3)")
    moved = page.viewer("unitCanvasPosition(0)")
    assert moved["x"] > start["x"] + 10 and abs(moved["y"] - start["y"]) < 1
    assert is_blue(page.pixel_at_unit(MARINE_SLOT))
    page.page.locator("#scrub").fill("4")
    assert page.viewer("frame") == 4
    assert SEEN_MARINE not in page.viewer("drawnSlots()")  # it died

    page.viewer("setFrame(1)")
    page.page.locator("#fog-0").check()
    assert page.viewer("fog") == 0
    assert HIDDEN_ZEALOT not in page.viewer("drawnSlots()") and SEEN_MARINE in page.viewer("drawnSlots()")
    assert not is_red(page.pixel_at_unit(HIDDEN_ZEALOT))
    assert is_red(page.pixel_at_unit(SEEN_MARINE))
    page.page.locator("#map").screenshot(path=tmp_path / "fog.png")
    page.viewer("toggleFog(0)")
    assert page.viewer("fog") is None and HIDDEN_ZEALOT in page.viewer("drawnSlots()")
    assert not page.page.locator("#fog-0").is_checked()

    page.page.keyboard.press("ArrowRight")
    assert page.viewer("frame") == 2
    page.page.keyboard.press("ArrowLeft")
    page.page.keyboard.press("ArrowLeft")
    assert page.viewer("frame") == 0
    page.page.locator("#speed").select_option("8")
    page.page.keyboard.press(" ")  # focus is still on the fog checkbox: space plays, it does not tick the box
    assert page.viewer("playing") is True and page.viewer("fog") is None
    page.page.wait_for_function(f"window.arenaViewer.frame === {FRAMES - 1} && !window.arenaViewer.playing",
                                timeout=10_000)
    page.page.keyboard.press(" ")
    # From the end, play starts over (at speed 8 a loaded machine may already show frame 1 or 2).
    assert page.viewer("playing") is True and page.viewer("frame") < FRAMES - 1
    page.page.keyboard.press(" ")
    assert page.viewer("playing") is False

    def spread() -> float:
        a, b = page.viewer(f"unitCanvasPosition({MARINE_SLOT})"), page.viewer(f"unitCanvasPosition({SEEN_MARINE})")
        return abs(a["x"] - b["x"]) + abs(a["y"] - b["y"])

    whole = spread()
    box = page.page.locator("#map").bounding_box()
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.page.mouse.wheel(0, -300)  # zoom in
    page.page.wait_for_function(  # the wheel event may land after mouse.wheel returns
        f"(() => {{ const v = window.arenaViewer, a = v.unitCanvasPosition({MARINE_SLOT}), "
        f"b = v.unitCanvasPosition({SEEN_MARINE}); "
        f"return Math.abs(a.x - b.x) + Math.abs(a.y - b.y) > {1.5 * whole}; }})()", timeout=5_000)
    page.page.dblclick("#map")
    assert abs(spread() - whole) < 1

    page.viewer("toggleHeat(0)")
    page.viewer("setView(0)")
    page.page.screenshot(path=tmp_path / "page.png")
    page.assert_clean()


def test_the_listing_links_replays_and_shows_broken_files(page: PageWatch, server: ReplayServer):
    page.open(server.url)
    assert page.viewer("mode") == "listing" and page.viewer("lastError") is None
    assert page.page.locator("#listing").is_visible() and not page.page.locator("#viewer").is_visible()
    assert page.page.locator("#replays tbody tr").count() == 5
    assert page.page.locator("#replays tr.broken").count() == 3
    assert "cannot be read" in page.page.inner_text("#replays tr.broken >> nth=0")
    page.page.click(f"text=sub/again{SUFFIX}")
    page.page.wait_for_function("window.arenaViewer && window.arenaViewer.ready && "
                                "window.arenaViewer.mode === 'replay'", timeout=15_000)
    assert page.viewer("lastError") is None and page.viewer("numFrames") == FRAMES
    page.assert_clean()


def test_an_unreadable_replay_shows_its_error_in_the_page(page: PageWatch, server: ReplayServer):
    page.open(server.base_url + f"?replay=truncated{SUFFIX}")
    error = page.viewer("lastError")
    assert error.startswith(f"truncated{SUFFIX}: ")
    assert page.page.locator("#error").is_visible() and f"truncated{SUFFIX}" in page.page.inner_text("#error")
    assert page.page_errors == []
    # The browser itself logs the failed request; nothing else may complain.
    assert all("status of 422" in message for message in page.console_errors), page.console_errors


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A really recorded two-player game (a few seconds on a CPU)."""
    from agents.rollout import record_games

    (path,) = record_games("MarineMirror", ["scripted", "scripted"], tmp_path_factory.mktemp("recorded"), games=1,
                           seed=0)
    return path


def test_a_recorded_game_is_served(recorded: Path):
    with serve_replays(recorded, open_browser=False).start() as single:
        status, document = get(single, replay_path(recorded.name))
    assert status == 200
    assert len(document["frame_offsets"]) >= 2 and document["header"]["players"][1]["name"] == "scripted"
    used = {str(row[player][0]) for row in document["actions"] for player in range(2)}
    assert used <= set(document["functions"])


def test_a_recorded_game_plays_in_the_page(browser, recorded: Path):
    with serve_replays(recorded, open_browser=False).start() as single:
        watch = PageWatch(browser, single)
        try:
            watch.open(single.url)
            assert watch.viewer("lastError") is None
            frames = watch.viewer("numFrames")
            assert frames > 1 and len(watch.viewer("drawnSlots()")) > 0
            first = watch.viewer("drawnSlots()")[0]
            assert watch.viewer(f"unitCanvasPosition({first})")["drawn"]
            watch.viewer(f"setFrame({frames // 2})")
            watch.viewer("toggleFog(1)")
            watch.page.keyboard.press("ArrowRight")
            assert watch.viewer("frame") == frames // 2 + 1
            watch.assert_clean()
        finally:
            watch.close()
