"""The league's store: every table round-trips, transactions are all or nothing, files that are not a sound league
store are refused with a clear message and left untouched, one process writes at a time (and a killed one lets go),
a process killed mid-write leaves only whole transactions, and atomic files are either old or new."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import league
from arena.files import atomic_path, write_bytes_atomic
from league.players import Outcome, Player, Role
from league.store import (LOCK_NAME, STORE_VERSION, EvaluationRecord, EventKind, LeagueStore, MatchRecord, PayoffRow,
                          StoreError)

REPOSITORY = Path(league.__file__).resolve().parents[1]
CONFIG = {"scenario": "DefeatRoaches", "main_agents": 1, "payoff_decay": 0.99}
MAIN = Player(name="main_agent_0", role=Role.MAIN_AGENT, steps=5000, steps_at_snapshot=4000, snapshots=1,
              checkpoint="checkpoints/main_agent_0.safetensors")
SNAPSHOT = Player(name="main_agent_0@0", role=Role.HISTORICAL, parent="main_agent_0", parent_role=Role.MAIN_AGENT,
                  steps=4000, checkpoint="checkpoints/main_agent_0@0.safetensors")
EXPLOITER = Player(name="main_exploiter_0", role=Role.MAIN_EXPLOITER, steps=300, resets=2)


def _match(batch: int = 0, outcome: Outcome = Outcome.WIN, replay: str | None = None) -> MatchRecord:
    return MatchRecord(home="main_agent_0", away="main_agent_0@0", outcome=outcome, branch="pfsp", batch=batch,
                       seed=1000 + batch, replay=replay, home_steps=4500)


def _new_store(folder: Path, matches: int = 0) -> None:
    """A closed store in `folder` holding two players and `matches` games."""
    with LeagueStore.create(folder, config=CONFIG) as store, store.transaction() as tx:
        tx.put_player(MAIN)
        tx.put_player(SNAPSHOT)
        for batch in range(matches):
            tx.add_match(_match(batch, replay=f"replays/game_{batch:05d}.replay"))


def _child(code: str, *args: str) -> subprocess.Popen:
    """A Python process running `code` that says 'ready' on stdout once it has set itself up."""
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True,
                               env=environment)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_every_table_round_trips(tmp_path):
    with LeagueStore.create(tmp_path / "league", config=CONFIG) as store:
        assert store.checkpoint_folder == tmp_path / "league" / "checkpoints" and store.checkpoint_folder.is_dir()
        with store.transaction() as tx:
            for player in (MAIN, SNAPSHOT, EXPLOITER):
                tx.put_player(player)
            tx.add_event("main_agent_0", EventKind.CREATED, steps=0)
            tx.add_event("main_agent_0", EventKind.SNAPSHOT, "main_agent_0@0", steps=4000)
            tx.add_event("main_exploiter_0", EventKind.RESET, steps=300)
            first = tx.add_match(_match(0, Outcome.WIN, replay="replays/a.replay"))
            second = tx.add_match(_match(0, Outcome.DRAW))
            third = tx.add_match(_match(1, Outcome.LOSS))
            tx.put_payoff("main_agent_0", "main_agent_0@0", 2.97, 1.99, 0.99, 0.0)
            tx.put_payoff("main_agent_0@0", "main_agent_0", 2.97, 0.0, 0.99, 1.99)
            tx.add_rating("main_agent_0", 95.5, 3)
            tx.add_rating("main_agent_0@0", -95.5, 3)
            tx.add_rating("main_agent_0", 120.25, 4)
            tx.set_stat("agent_steps", 5300)
            tx.set_stat("wall", {"seconds": 12.5, "parts": [1, 2]})
        written = tx.time
    assert first < second < third

    with LeagueStore.open(tmp_path / "league") as store:
        assert store.config() == CONFIG
        assert store.players() == {p.name: p for p in (MAIN, SNAPSHOT, EXPLOITER)}
        assert store.players()["main_agent_0@0"].parent_role is Role.MAIN_AGENT
        events = store.events()
        assert [(e.player, e.kind, e.detail, e.steps) for e in events] == [
            ("main_agent_0", EventKind.CREATED, "", 0), ("main_agent_0", EventKind.SNAPSHOT, "main_agent_0@0", 4000),
            ("main_exploiter_0", EventKind.RESET, "", 300)]
        assert [e.kind for e in store.events("main_exploiter_0")] == [EventKind.RESET]
        matches = store.matches()
        assert [m.id for m in matches] == [first, second, third]
        assert matches[0] == dataclasses.replace(_match(0, Outcome.WIN, replay="replays/a.replay"), id=first,
                                                 time=written)
        assert [m.outcome for m in matches] == [Outcome.WIN, Outcome.DRAW, Outcome.LOSS]
        assert matches[1].replay is None and matches[2].batch == 1
        assert [m.id for m in store.matches(after_id=first)] == [second, third]
        assert store.payoff_rows() == [PayoffRow("main_agent_0", "main_agent_0@0", 2.97, 1.99, 0.99, 0.0),
                                       PayoffRow("main_agent_0@0", "main_agent_0", 2.97, 0.0, 0.99, 1.99)]
        assert [(r.player, r.rating, r.games_so_far) for r in store.ratings()] == [
            ("main_agent_0", 95.5, 3), ("main_agent_0@0", -95.5, 3), ("main_agent_0", 120.25, 4)]
        assert [r.rating for r in store.ratings("main_agent_0")] == [95.5, 120.25]
        assert store.latest_ratings() == {"main_agent_0": 120.25, "main_agent_0@0": -95.5}
        assert store.stat("agent_steps") == 5300 and store.stat("wall") == {"seconds": 12.5, "parts": [1, 2]}
        assert store.stat("missing", 7) == 7
        assert store.stats() == {"agent_steps": 5300, "wall": {"seconds": 12.5, "parts": [1, 2]}}
        assert store.next_batch() == 2


def test_put_player_replaces_the_row_and_keeps_when_it_was_created(tmp_path):
    with LeagueStore.create(tmp_path, config={}) as store:
        with store.transaction() as tx:
            tx.put_player(MAIN)
        created = store._query("SELECT created_at FROM players")[0][0]
        time.sleep(0.01)
        trained = Player(name=MAIN.name, role=MAIN.role, steps=9000, steps_at_snapshot=9000, snapshots=2)
        with store.transaction() as tx:
            tx.put_player(trained)
        assert store.players() == {MAIN.name: trained}
        assert store._query("SELECT created_at, updated_at > created_at FROM players")[0] == (created, 1)


def test_an_error_inside_a_transaction_writes_nothing(tmp_path):
    _new_store(tmp_path, matches=1)
    with LeagueStore.open(tmp_path) as store:
        with pytest.raises(RuntimeError, match="boom"):
            with store.transaction() as tx:
                tx.put_player(EXPLOITER)
                tx.add_event("main_exploiter_0", EventKind.CREATED)
                tx.add_match(_match(5))
                tx.put_payoff("a", "b", 1, 1, 0, 0)
                tx.add_rating("a", 1.0, 1)
                tx.set_stat("games", 2)
                raise RuntimeError("boom")
        with store.transaction() as tx:  # the store is still usable
            tx.set_stat("after", True)
    with LeagueStore.open(tmp_path, read_only=True) as store:
        assert set(store.players()) == {MAIN.name, SNAPSHOT.name}
        assert len(store.matches()) == 1 and store.next_batch() == 1
        assert store.events() == [] and store.payoff_rows() == [] and store.ratings() == []
        assert store.stats() == {"after": True}


def test_transactions_are_the_only_way_to_write(tmp_path):
    _new_store(tmp_path)
    with LeagueStore.open(tmp_path) as store:
        with store.transaction() as tx:
            with pytest.raises(StoreError, match="do not nest"):
                with store.transaction():
                    pass
        with pytest.raises(StoreError, match="has ended"):
            tx.set_stat("late", 1)
        with store.transaction() as tx:
            with pytest.raises(TypeError, match="EventKind"):
                tx.add_event("main_agent_0", "snapshot")
            with pytest.raises(ValueError, match="stored already"):
                tx.add_match(dataclasses.replace(_match(), id=3))
            with pytest.raises(ValueError, match=">= 0"):
                tx.put_payoff("a", "b", -1, 0, 0, 0)
    with pytest.raises(TypeError, match="Outcome"):
        MatchRecord(home="a", away="b", outcome="win", branch="x", batch=0, seed=0, replay=None, home_steps=0)
    with LeagueStore.open(tmp_path, read_only=True) as store:
        assert store.read_only
        with pytest.raises(StoreError, match="read-only"):
            with store.transaction():
                pass
    store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        store.players()


def test_create_refuses_a_folder_that_holds_a_league_and_leaves_it_alone(tmp_path):
    _new_store(tmp_path, matches=3)
    before = (tmp_path / "league.sqlite").read_bytes()
    with pytest.raises(StoreError, match="exists already"):
        LeagueStore.create(tmp_path, config={"other": True})
    assert (tmp_path / "league.sqlite").read_bytes() == before
    with LeagueStore.open(tmp_path) as store:
        assert store.config() == CONFIG


def test_create_refuses_any_file_in_the_database_s_place(tmp_path):
    (tmp_path / "league.sqlite").write_text("notes\n")
    with pytest.raises(StoreError, match="exists already"):
        LeagueStore.create(tmp_path, config={})
    assert (tmp_path / "league.sqlite").read_text() == "notes\n"


def test_a_configuration_that_is_not_json_creates_nothing(tmp_path):
    with pytest.raises(StoreError, match="not plain JSON"):
        LeagueStore.create(tmp_path / "league", config={"scenario": object()})
    assert not (tmp_path / "league" / "league.sqlite").exists()


@pytest.mark.parametrize("make_folder", [False, True])
def test_open_without_a_store_says_how_to_start_one(tmp_path, make_folder):
    folder = tmp_path / "nowhere"
    if make_folder:
        folder.mkdir()
    with pytest.raises(StoreError, match=f"no league in {folder}: start one with `arena league start --out {folder}`"):
        LeagueStore.open(folder)
    assert not folder.exists() or list(folder.iterdir()) == []


def _corrupt_page(path: Path) -> None:
    """Overwrite a page in the middle of the file with random bytes."""
    data = bytearray(path.read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle:middle + page] = random.Random(0).randbytes(page)
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2 + 100])


def _foreign(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE songs (title TEXT, seconds REAL)")
        connection.execute("INSERT INTO songs VALUES ('a', 1.5)")
    connection.close()


def _other_format(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        connection.execute("INSERT INTO meta VALUES ('format', 'some-other-tool'), ('version', '1')")
    connection.close()


def _without_evaluations(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE evaluations")
    connection.close()


def _as_version_1(path: Path) -> None:
    """What a store written before evaluations looks like: no evaluations table, version 1."""
    _without_evaluations(path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    connection.close()


def _newer(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(STORE_VERSION + 1),))
    connection.close()


@pytest.mark.parametrize("spoil, message", [
    (lambda path: path.write_text("player,rating\nmain_agent_0,1200\n" * 50), "not a league store: not an SQLite"),
    (lambda path: path.write_bytes(b""), "is empty"),
    (_truncate, "is corrupt"),
    (_corrupt_page, "is corrupt"),
    (_foreign, "not a league store \\(it has no league meta table"),
    (_other_format, "not a league store \\(its format is 'some-other-tool'"),
    (_newer, f"newer sc2arena \\(store version {STORE_VERSION + 1}; this one reads up to {STORE_VERSION}\\)"),
    (_without_evaluations, "a damaged league store: tables \\['evaluations'\\] are missing"),
], ids=["text", "empty", "truncated", "overwritten", "foreign", "other-format", "newer", "damaged"])
@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
def test_open_refuses_what_is_not_a_sound_store_and_leaves_it_unchanged(tmp_path, spoil, message, read_only):
    _new_store(tmp_path, matches=400)
    path = tmp_path / "league.sqlite"
    spoil(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=message) as error:
        LeagueStore.open(tmp_path, read_only=read_only)
    assert str(path) in str(error.value)
    assert path.read_bytes() == before


def test_read_only_opens_never_write(tmp_path):
    _new_store(tmp_path, matches=20)
    path = tmp_path / "league.sqlite"
    before = path.read_bytes(), path.stat().st_mtime_ns
    with LeagueStore.open(tmp_path, read_only=True) as store:
        assert len(store.matches()) == 20 and set(store.players()) == {MAIN.name, SNAPSHOT.name}
        with pytest.raises(sqlite3.OperationalError):
            store._live_connection().execute("DELETE FROM matches")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def _evaluation(opponent: str, batch: int, wins: int = 3) -> EvaluationRecord:
    return EvaluationRecord(player="main_agent_0", opponent=opponent, batch=batch, player_steps=100 * batch,
                            player_resets=0, seed=2 * batch, wins=wins, draws=1, losses=4 - wins)


def test_evaluations_round_trip_and_the_latest_of_each_pair_is_found(tmp_path):
    _new_store(tmp_path, matches=3)
    with LeagueStore.open(tmp_path) as store:
        assert store.evaluations() == [] and store.latest_evaluations() == {}
        with store.transaction() as tx:
            ids = [tx.add_evaluation(_evaluation("random", 0)), tx.add_evaluation(_evaluation("scripted", 0)),
                   tx.add_evaluation(_evaluation("random", 2, wins=1))]
            with pytest.raises(ValueError, match="needs games"):
                tx.add_evaluation(dataclasses.replace(_evaluation("random", 2), wins=0, draws=0, losses=0))
        written = tx.time
        stored = store.evaluations()
        assert [e.id for e in stored] == ids and store.evaluations("main_exploiter_0") == []
        assert stored[0] == dataclasses.replace(_evaluation("random", 0), id=ids[0], time=written)
        assert (stored[0].games, stored[0].win_rate) == (5, 3.5 / 5)
        latest = store.latest_evaluations()
        assert list(latest) == ["main_agent_0"] and latest["main_agent_0"]["random"].id == ids[2]
        assert latest["main_agent_0"]["scripted"].id == ids[1]
        assert store.home_matches_since("main_agent_0", 0) == 2 and store.home_matches_since("main_agent_0", 2) == 0
        assert store.payoff_rows() == []  # evaluations are not league games


def test_a_version_1_store_opens_and_is_upgraded_only_when_opened_read_write(tmp_path):
    _new_store(tmp_path, matches=5)
    path = tmp_path / "league.sqlite"
    _as_version_1(path)
    before = path.read_bytes()
    with LeagueStore.open(tmp_path, read_only=True) as store:  # as it is: nothing written
        assert len(store.matches()) == 5 and store.evaluations() == [] and store.latest_evaluations() == {}
    assert path.read_bytes() == before
    with LeagueStore.open(tmp_path) as store:
        assert store._meta("version") == str(STORE_VERSION) and len(store.matches()) == 5
        with store.transaction() as tx:
            tx.add_evaluation(_evaluation("random", 1))
    with LeagueStore.open(tmp_path, read_only=True) as store:
        assert [e.opponent for e in store.evaluations()] == ["random"]
        assert set(store.players()) == {MAIN.name, SNAPSHOT.name}


def test_one_writer_at_a_time_and_readers_alongside(tmp_path):
    _new_store(tmp_path)
    with LeagueStore.open(tmp_path) as writer:
        with pytest.raises(StoreError, match=f"{tmp_path} is in use by another process \\(pid {os.getpid()}\\)"):
            LeagueStore.open(tmp_path)
        with LeagueStore.open(tmp_path, read_only=True) as reader:
            with writer.transaction() as tx:
                tx.add_match(_match(0))
            assert len(reader.matches()) == 1  # a reader sees what the writer committed
    with LeagueStore.open(tmp_path) as writer:  # closing released the lock
        assert len(writer.matches()) == 1
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / LOCK_NAME).exists()  # a clean close leaves no lock file behind


HOLD_LOCK = """
import sys, time
from league.store import LeagueStore
store = LeagueStore.open(sys.argv[1])
print("ready", flush=True)
time.sleep(60)
"""


def test_a_killed_writer_releases_its_lock(tmp_path):
    _new_store(tmp_path)
    child = _child(HOLD_LOCK, str(tmp_path))
    try:
        with pytest.raises(StoreError, match=f"in use by another process \\(pid {child.pid}\\)"):
            LeagueStore.open(tmp_path)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with LeagueStore.open(tmp_path) as store:
        assert store.config() == CONFIG


WRITE_FOREVER = """
import sys
from league.players import Outcome
from league.store import LeagueStore, MatchRecord
store = LeagueStore.open(sys.argv[1])
games = store.stat("games", 0)
print("ready", flush=True)
while True:
    with store.transaction() as tx:
        tx.add_match(MatchRecord(home="a", away="b", outcome=Outcome.DRAW, branch="self_play", batch=games,
                                 seed=games, replay=None, home_steps=games))
        games += 1
        tx.set_stat("games", games)
"""


def test_a_writer_killed_at_any_moment_leaves_only_whole_transactions(tmp_path):
    _new_store(tmp_path)
    moments = random.Random()
    committed = 0
    for _ in range(3):
        child = _child(WRITE_FOREVER, str(tmp_path))
        try:
            with LeagueStore.open(tmp_path, read_only=True) as reader:
                deadline = time.monotonic() + 30
                while reader.stat("games", 0) < committed + 5 and time.monotonic() < deadline:
                    time.sleep(0.01)
            time.sleep(moments.uniform(0.0, 0.2))
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        with sqlite3.connect(f"{(tmp_path / 'league.sqlite').as_uri()}?mode=ro", uri=True) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        connection.close()
        with LeagueStore.open(tmp_path) as store:
            games = store.stat("games")
            assert games >= committed + 5
            assert [m.seed for m in store.matches()] == list(range(games))
            assert store.next_batch() == games
        committed = games


def test_atomic_path_leaves_the_old_file_or_the_new_one(tmp_path):
    target = tmp_path / "checkpoints" / "main_agent_0.safetensors"
    write_bytes_atomic(target, b"old weights")  # makes the folder
    assert target.read_bytes() == b"old weights"

    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            assert temporary.parent == target.parent and temporary != target
            temporary.write_bytes(b"half of the new")
            raise RuntimeError("killed while saving")
    assert target.read_bytes() == b"old weights"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary left behind

    with atomic_path(target) as temporary:
        temporary.write_bytes(b"new weights")
        assert target.read_bytes() == b"old weights"  # nothing changes before the block ends
    assert target.read_bytes() == b"new weights"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
