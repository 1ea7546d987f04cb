"""The league's page: what it reads from a league's folder (and that it never writes there), its server's API and
the paths it refuses, the `arena league serve` command, and the page itself in a real headless Chromium against a
league that is running (its numbers change between looks and end equal to `arena league status --json`)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from agents.learn.tensorboard import ScalarWriter, read_records, read_scalars
from league.cli import main
from league.config import LeagueConfig, LearnerSettings
from league.dashboard.data import LeagueWatch, ScalarTail, TrueSkillHistory, matchmaking_distribution, thin
from league.dashboard.server import serve_league
from league.in_flight import InFlightMatch, read_in_flight, write_in_flight
from league.matchmaking import LeagueKind, LeagueRules
from league.payoff import Payoff
from league.players import Outcome, Player, Role
from league.runner import League
from league.store import MatchRecord

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(scenario="MarineMirror", games_per_match=2, screen_size=16, eval_games=2, replay_every=1,
            learner=LearnerSettings(unroll=8, minibatches=1, epochs=1))
TINY_TOML = """scenario = "MarineMirror"
games_per_match = 2
screen_size = 16
eval_games = 2
replay_every = 1

[learner]
unroll = 8
minibatches = 1
epochs = 1
"""


def folder_fingerprint(folder: Path) -> dict[str, str]:
    """Every file under `folder` and a hash of its bytes, but SQLite's -wal and -shm files: a reader of a WAL
    database opens (and may leave) an empty log and the shared-memory index beside it, as `arena league status`
    does; the database itself is unchanged."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


@pytest.fixture(scope="module")
def league_folder(tmp_path_factory) -> Path:
    """A league after 3 matches, every one ending in a snapshot (so one exploiter is reset)."""
    folder = tmp_path_factory.mktemp("dashboard") / "league"
    rules = LeagueRules(snapshot_min_steps=1, snapshot_timeout_steps=1)
    league = League.create(folder, LeagueConfig(**TINY, rules=rules))
    league.run(matches=3)
    league.close()
    return folder


def test_the_document_shows_the_league_as_the_store_and_status_have_it(league_folder: Path, capsys):
    watch = LeagueWatch(league_folder)
    before = folder_fingerprint(league_folder)
    document = watch.document()
    assert "error" not in document, document.get("error")
    assert main(["league", "status", str(league_folder), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert document["stats"] == status["stats"] and document["running"] is False
    rows = {row["name"]: row for row in document["players"]}
    assert set(rows) == set(status["players"])
    for name, row in rows.items():
        assert row["steps"] == status["players"][name]["steps"] and row["role"] == status["players"][name]["role"]
        assert row["vs_random"] == status["players"][name]["vs_random"]
    assert [row["name"] for row in document["players"]][:3] == ["main_agent_0", "main_exploiter_0",
                                                                 "league_exploiter_0"]
    # the payoff matrix is the store's decayed payoff
    names, rates, games = (document["payoff"][k] for k in ("names", "win_rate", "games"))
    payoff = Payoff()
    for home, away, games_played, win_rate in status["payoff"]:
        i, j = names.index(home), names.index(away)
        assert games[i][j] == pytest.approx(games_played)
        assert rates[i][j] == pytest.approx(win_rate)
    assert all(rates[i][i] is None for i in range(len(names)))
    # an Elo interval holds its rating; TrueSkill and the Elo history cover every player that played
    for row in document["players"]:
        if row["elo_all_games"] is not None:
            assert row["elo_all_games"]["low"] <= row["elo_all_games"]["elo"] <= row["elo_all_games"]["high"]
    played = {m for h, a, g, _ in status["payoff"] if g > 0 for m in (h, a)}
    assert played <= set(document["ratings"]["elo"]) and played <= set(document["ratings"]["trueskill"])
    # lineage: the snapshots and the reset these rules force
    kinds = {(e["player"], e["kind"]) for e in document["lineage"]}
    assert ("main_exploiter_0", "reset") in kinds and ("main_agent_0", "snapshot") in kinds
    assert all(e["kind"] != "checkpoint" for e in document["lineage"])
    # matchmaking: a distribution over real players for each learning player
    for name, row in rows.items():
        if row["learning"]:
            choices = document["matchmaking"][name]["choices"]
            assert sum(c["probability"] for c in choices) == pytest.approx(1.0)
            assert all(c["opponent"] in rows for c in choices)
    assert document["matchmaking"]["main_exploiter_0"]["choices"][0]["opponent"].startswith("main_agent_0")
    # learning curves from the players' TensorBoard scalars; replays that exist, newest first
    assert "entropy" in document["curves"]["main_agent_0"] and "main_agent_0@0" not in document["curves"]
    replays = document["replays"]
    assert replays and [r["match"] for r in replays] == sorted((r["match"] for r in replays), reverse=True)
    assert all((league_folder / "replays" / r["name"]).is_file() for r in replays)
    assert document["ladder"] is None and document["in_flight"]["matches"] == []
    json.dumps(document, allow_nan=False)  # what the server sends
    assert watch.document()["stats"] == document["stats"]  # a second look, from the caches
    assert folder_fingerprint(league_folder) == before  # looking wrote nothing


def test_a_damaged_or_missing_league_is_an_error_document_not_an_exception(league_folder: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(league_folder, copy)
    watch = LeagueWatch(copy)
    assert "error" not in watch.document()
    (copy / "league.sqlite").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (copy / f"league.sqlite{suffix}").unlink(missing_ok=True)
    document = watch.document()
    assert "league.sqlite" in document["error"] or "database" in document["error"]
    assert "players" not in document
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no league" in LeagueWatch(empty).document()["error"]


def test_a_ladder_report_in_the_league_folder_is_shown_and_a_broken_one_named(league_folder: Path, tmp_path: Path):
    ladder = tmp_path / "ladder"
    ladder.mkdir()
    (ladder / "report.json").write_text(json.dumps({"title": "t", "scenario": "MarineMirror-v1", "games": 40,
                                                    "players": [{"name": "scripted", "kind": "scripted", "games": 40,
                                                                 "elo": 10.0, "elo_low": 0.0, "elo_high": 20.0}]}))
    shown = LeagueWatch(league_folder, ladder=ladder).document()["ladder"]
    assert shown["games"] == 40 and shown["players"][0]["name"] == "scripted"
    (ladder / "report.json").write_text("{not json")
    assert "cannot be read" in LeagueWatch(league_folder, ladder=ladder).document()["ladder"]["error"]


def test_scalars_are_read_up_to_the_last_whole_record_of_a_file_being_written(tmp_path: Path):
    writer = ScalarWriter(tmp_path)
    writer.add_scalars({"main_agent_0/entropy": 1.5, "main_agent_0/value_loss": 0.25}, step=10)
    writer.close()
    data = writer.path.read_bytes()
    cut = tmp_path / "cut" / writer.path.name
    cut.parent.mkdir()
    cut.write_bytes(data[:-7])  # the last record half written
    tail = ScalarTail(cut.parent)
    tail.update()
    assert dict((tag, points) for tag, points in tail.series.items()) == {"main_agent_0/entropy": [(10, 1.5)]}
    with pytest.raises(ValueError, match="cut short"):
        read_scalars(cut)
    cut.write_bytes(data)  # the writer finished it
    tail.update()
    assert tail.series["main_agent_0/value_loss"] == [(10, 0.25)]
    assert tail.curves(["main_agent_0"]) == {"main_agent_0": {"entropy": [(10, 1.5)], "value_loss": [(10, 0.25)]}}
    damaged = bytearray(data)
    damaged[-3] ^= 0xFF
    with pytest.raises(ValueError, match="checksum"):
        read_records(bytes(damaged))


def test_thin_keeps_the_ends_and_at_most_the_limit():
    points = list(range(1000))
    thinned = thin(points, 50)
    assert len(thinned) == 50 and thinned[0] == 0 and thinned[-1] == 999
    assert thin(points[:10], 50) == points[:10]


def test_trueskill_history_moves_the_winner_up_and_ignores_plain_self_play():
    history = TrueSkillHistory()
    games = [MatchRecord(home="a", away="b", outcome=Outcome.WIN, branch="x", batch=1, seed=i, replay=None,
                         home_steps=0, time=100.0) for i in range(4)]
    history.add(games + [MatchRecord(home="a", away="a", outcome=Outcome.LOSS, branch="self_play", batch=2, seed=9,
                                     replay=None, home_steps=0, time=101.0)])
    assert history.current("a")["mu"] > 25 > history.current("b")["mu"]
    assert len(history.history["a"]) == 1 and history.history["a"][0][0] == 100.0


def test_matchmaking_distribution_follows_the_league_kind():
    players = {"main_agent_0": Player("main_agent_0", Role.MAIN_AGENT, steps=10)}
    config = LeagueConfig(**TINY, kind=LeagueKind.SELF_PLAY)
    assert matchmaking_distribution("main_agent_0", players, Payoff(), config, draws=50) == [
        {"opponent": "main_agent_0", "branch": "self_play", "probability": 1.0}]


def test_in_flight_matches_round_trip_and_a_dead_process_is_not_running(tmp_path: Path):
    assert read_in_flight(tmp_path).pid is None
    match = InFlightMatch(home="main_agent_0", away="main_agent_0@0", branch="pfsp", seed=3, started=5.0)
    write_in_flight(tmp_path, [match], now=6.0)
    seen = read_in_flight(tmp_path)
    assert seen.matches == (match,) and seen.alive and seen.pid == os.getpid()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    document = json.loads((tmp_path / "in_flight.json").read_text())
    (tmp_path / "in_flight.json").write_text(json.dumps({**document, "pid": int(dead.stdout)}))
    assert not read_in_flight(tmp_path).alive
    (tmp_path / "in_flight.json").write_text("{}")
    with pytest.raises(ValueError, match="in_flight.json"):
        read_in_flight(tmp_path)


# ---- the server ----

def get(server, path: str) -> tuple[int, bytes, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, response.getheader("Content-Type") or ""


@pytest.fixture
def server(league_folder: Path):
    with serve_league(league_folder) as running:
        running.start()
        yield running


def test_the_server_serves_the_page_the_state_and_the_league_replays(server, league_folder: Path):
    assert server.url.startswith("http://127.0.0.1:")
    status, body, kind = get(server, "/")
    assert status == 200 and b"dashboard.js" in body and kind.startswith("text/html")
    assert get(server, "/dashboard.js")[0] == 200 and get(server, "/dashboard.css")[0] == 200
    status, body, kind = get(server, "/api/league")
    assert status == 200 and kind == "application/json" and json.loads(body)["stats"]["matches"] == 3
    assert get(server, "/replays/")[0] == 200 and b"viewer.js" in get(server, "/replays/")[1]
    listing = json.loads(get(server, "/replays/api/replays")[1])
    names = [entry["name"] for entry in listing["replays"]]
    assert names and all("error" not in entry for entry in listing["replays"])
    status, body, _ = get(server, "/replays/api/replay?" + urllib.parse.urlencode({"name": names[0]}))
    assert status == 200 and json.loads(body)["name"] == names[0]


@pytest.mark.parametrize("path", ["/league.sqlite", "/../league.sqlite", "/replays/../league.sqlite",
                                  "/replays/api/replay?name=../league.sqlite",
                                  "/replays/api/replay?name=%2Fetc%2Fpasswd", "/etc/passwd",
                                  "/checkpoints/initial/policy.json", "/api/league/../../etc/passwd"])
def test_nothing_but_the_page_and_the_league_replays_is_served(server, path: str):
    status, body, _ = get(server, path)
    assert status in (400, 404) and b"error" in body


def test_serving_needs_a_folder_and_a_free_port(server, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="arena league start"):
        serve_league(tmp_path / "missing")
    with pytest.raises(OSError, match="another --port"):
        serve_league(tmp_path, port=server.port)


def test_a_league_whose_page_cannot_start_stops_before_playing_and_says_how_to_go_on(server, tmp_path: Path,
                                                                                     capfd):
    config, folder = tmp_path / "league.toml", tmp_path / "league"
    config.write_text(TINY_TOML)
    assert main(["league", "start", "--config", str(config), "--out", str(folder), "--matches", "1", "--quiet",
                 "--serve", "--serve-port", str(server.port)]) == 2
    err = capfd.readouterr().err
    assert "choose another --port" in err and f"arena league resume {folder} --serve --serve-port 0" in err
    assert json.loads(subprocess.run([sys.executable, "-m", "league.cli", "league", "status", str(folder), "--json"],
                                     capture_output=True, text=True, check=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)["stats"]["matches"] == 0


def test_the_command_warns_when_exposed_and_refuses_bad_input(tmp_path: Path, capsys):
    assert main(["league", "serve", str(tmp_path / "missing"), "--port", "0"]) == 2
    assert "no league folder" in capsys.readouterr().err
    assert main(["league", "serve", str(tmp_path), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    process = subprocess.Popen([sys.executable, "-m", "league.cli", "league", "serve", str(tmp_path), "--port", "0",
                                "--host", "0.0.0.0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    try:
        assert process.stdout.readline().startswith("league page: http://0.0.0.0:")
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert "warning" in err and "SSH tunnel" in err


# ---- the page in a real browser, against a league that is running ----

def test_the_page_follows_a_running_league_and_ends_equal_to_its_status(browser, tmp_path: Path):
    config, folder = tmp_path / "league.toml", tmp_path / "league"
    config.write_text(TINY_TOML)
    league = subprocess.Popen([sys.executable, "-m", "league.cli", "league", "start", "--config", str(config),
                               "--out", str(folder), "--matches", "3", "--quiet", "--serve", "--serve-port", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        url = None
        for line in league.stderr:
            if "the league's page: " in line:
                url = line.split("the league's page: ", 1)[1].split()[0]
                break
        assert url and url.startswith("http://127.0.0.1:"), "the league did not print its page's address"
        page.goto(url + "?poll=300")
        page.wait_for_function("window.arenaLeague && window.arenaLeague.ready", timeout=30_000)

        def matches_shown() -> int:
            return int(page.evaluate("window.arenaLeague.lastDocument ? "
                                     "window.arenaLeague.lastDocument.stats.matches || 0 : -1"))

        first = matches_shown()
        page.wait_for_function(f"window.arenaLeague.lastDocument && "
                               f"(window.arenaLeague.lastDocument.stats.matches || 0) > {max(first, 0)}",
                               timeout=120_000)
        assert matches_shown() > first  # the page's numbers changed between two looks
        assert page.evaluate("window.arenaLeague.lastDocument.running") or league.poll() is not None
        league.wait(timeout=300)
        assert league.returncode == 0, league.stderr.read()
        assert problems == []
        # its page server stopped with it: the page says so and keeps asking (the browser logs each refusal)
        page.wait_for_function("String(window.arenaLeague.lastError).includes('cannot reach')", timeout=30_000)
        assert page.locator("#error").is_visible()
    finally:
        if league.poll() is None:
            league.kill()
    status = json.loads(subprocess.run([sys.executable, "-m", "league.cli", "league", "status", str(folder), "--json"],
                                       capture_output=True, text=True, check=True,
                                       env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)
    # serve the finished league to read its final page, in a new tab
    page.close()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    problems.clear()
    with serve_league(folder) as server:
        server.start()
        page.goto(server.url + "?poll=300")
        page.wait_for_function("window.arenaLeague && window.arenaLeague.ready", timeout=30_000)
        for name, player in status["players"].items():
            cells = page.locator(f'#players tr[data-player="{name}"] td')
            assert cells.nth(2).inner_text().replace(",", "") == str(player["steps"])
        summary = page.locator("#summary").inner_text()
        assert f"{status['stats']['matches']} matches" in summary and f"{status['stats']['games']} games" in summary
        assert page.locator("#payoff td[data-home='main_agent_0']").count() == len(status["players"])
        assert page.locator("#elo-chart path[data-series='main_agent_0']").count() == 1
        assert page.locator("#curves svg").count() > 3
        link = page.locator("#replay-list a").first
        assert link.count() == 1
        with page.context.expect_page() as opened:
            link.click()
        viewer = opened.value
        viewer.wait_for_function("window.arenaViewer && window.arenaViewer.ready", timeout=30_000)
        assert viewer.evaluate("window.arenaViewer.lastError") is None
        viewer.close()
        assert page.evaluate("window.arenaLeague.lastError") is None
    assert problems == []
    page.close()
