"""The league's durable store: an SQLite database, `<folder>/league.sqlite`, beside `<folder>/checkpoints`.

Every change is written inside a transaction (`LeagueStore.transaction`), in WAL journal mode with
`synchronous=FULL`: a process killed at any moment (SIGKILL included) leaves the last committed transaction on disk
and the file whole, so a league resumes where it stopped. One process writes at a time: `<folder>/league.lock` is held
with `flock` while a store is open read-write and removed when it closes (the operating system releases the lock of a
process that dies; the next one takes the file over); read-only opens (`arena league status`) take no lock and never
write. Files the league saves beside the database go through `arena.files.atomic_path`, which leaves
either the old file or the new one, never half of one. Nothing is ever pickled.

Tables:
- `meta(key PK, value)`: facts about the file: `format` = "sc2arena-league" (STORE_FORMAT), `version`
  (STORE_VERSION), `config` (the league's configuration as JSON text), `created_at` (Unix seconds).
- `players(name PK, role, parent, parent_role, steps, steps_at_snapshot, snapshots, resets, checkpoint, created_at,
  updated_at)`: one row per player, learning or historical (`league.players.Player`, roles as their Role values),
  with when it was first and last written.
- `events(id PK, time, player, kind, detail, steps)`: one row per thing that happened to a player (EventKind:
  created, snapshot taken with the snapshot's name as detail, reset, checkpoint saved with its path as detail), with
  the player's steps then. Read in id order, it is the league's lineage.
- `matches(id PK autoincrement, time, home, away, outcome, branch, batch, seed, replay, home_steps)`: one row per
  game: the outcome from home's side (an Outcome value: 'win' / 'draw' / 'loss'), the matchmaking branch that chose
  it, the batch it was played in (games played together share it), its seed, its replay file (relative to the
  folder; NULL when none was kept) and home's training steps when it was played.
- `payoff(home, away, games, wins, draws, losses, PK(home, away))`: one row per ordered pair: the decayed counts of
  league.md's payoff table (REAL).
- `ratings(id PK, time, player, rating, games_so_far)`: one row per rating computed: the rating history.
- `stats(key PK, value)`: one row per counter (total agent steps, wall seconds, games played), its value as JSON.
- `evaluations(id PK autoincrement, time, player, opponent, batch, player_steps, player_resets, seed, games, wins,
  draws, losses)` (since version 2): one row per evaluation of a learning player against a fixed agent
  (league.evaluation: `random`, `scripted`; not league players, so never in the payoff): the match after which it
  was played, the player's steps and resets then, the first game's seed and the outcomes' counts from the player's
  side.

Versions: 1 had no `evaluations` table. A version-1 store opens: read-only as it is (it has no evaluations), and
read-write it is brought to version 2 first, in one transaction (the table made, the version raised).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from arena.files import fsync_folder
from league.database import (FolderLock, LockedDatabase, StoreError, StoreKind, connect_read_write, open_checked,
                             release_lock, take_lock)
from league.payoff import PairRecord, Payoff
from league.players import Outcome, Player, Role

STORE_FORMAT = "sc2arena-league"
"""The `format` tag in every store's meta table: it tells a league store from any other SQLite file."""
STORE_VERSION = 2
"""The schema version this code writes; it opens stores of this version or older (older ones are upgraded when
opened read-write)."""
DATABASE_NAME = "league.sqlite"
LOCK_NAME = "league.lock"
CHECKPOINT_FOLDER_NAME = "checkpoints"
INITIAL_CHECKPOINT = f"{CHECKPOINT_FOLDER_NAME}/initial"
"""The league's initial parameters, relative to its folder: every learning player starts (and resets) from them, and
the first snapshot, which anchors the league's Elo at 0, points at them."""

__all__ = ["CHECKPOINT_FOLDER_NAME", "DATABASE_NAME", "EvaluationRecord", "EventKind", "EventRecord",
           "INITIAL_CHECKPOINT", "LOCK_NAME", "initial_snapshot",
           "LeagueStore", "MatchRecord", "PayoffRow", "RatingRecord", "STORE_FORMAT", "STORE_VERSION", "StoreError",
           "Transaction"]

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE players (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, parent TEXT, parent_role TEXT, steps INTEGER NOT NULL,
    steps_at_snapshot INTEGER NOT NULL, snapshots INTEGER NOT NULL, resets INTEGER NOT NULL, checkpoint TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, player TEXT NOT NULL, kind TEXT NOT NULL,
    detail TEXT NOT NULL, steps INTEGER NOT NULL);
CREATE INDEX events_by_player ON events (player, id);
CREATE TABLE matches (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, home TEXT NOT NULL, away TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('win', 'draw', 'loss')), branch TEXT NOT NULL, batch INTEGER NOT NULL,
    seed INTEGER NOT NULL, replay TEXT, home_steps INTEGER NOT NULL);
CREATE INDEX matches_by_batch ON matches (batch);
CREATE TABLE payoff (
    home TEXT NOT NULL, away TEXT NOT NULL, games REAL NOT NULL, wins REAL NOT NULL, draws REAL NOT NULL,
    losses REAL NOT NULL, PRIMARY KEY (home, away));
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, player TEXT NOT NULL, rating REAL NOT NULL,
    games_so_far INTEGER NOT NULL);
CREATE INDEX ratings_by_player ON ratings (player, id);
CREATE TABLE stats (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, player TEXT NOT NULL, opponent TEXT NOT NULL,
    batch INTEGER NOT NULL, player_steps INTEGER NOT NULL, player_resets INTEGER NOT NULL, seed INTEGER NOT NULL,
    games INTEGER NOT NULL, wins INTEGER NOT NULL, draws INTEGER NOT NULL, losses INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS evaluations_by_player ON evaluations (player, opponent, id);
"""
_TABLES = frozenset({"meta", "players", "events", "matches", "payoff", "ratings", "stats"})
_TABLES_V2 = frozenset({"evaluations"})


LEAGUE_STORE = StoreKind(noun="league", format=STORE_FORMAT, version=STORE_VERSION, tables=_TABLES,
                         lock_name=LOCK_NAME, later_tables=((2, _TABLES_V2),))
_PLAYER_COLUMNS = "name, role, parent, parent_role, steps, steps_at_snapshot, snapshots, resets, checkpoint"
_MATCH_COLUMNS = "id, time, home, away, outcome, branch, batch, seed, replay, home_steps"
_EVALUATION_COLUMNS = ("id, time, player, opponent, batch, player_steps, player_resets, seed, games, wins, draws, "
                       "losses")


def initial_snapshot(players: dict[str, Player]) -> str | None:
    """The snapshot of the initial parameters (the league's Elo anchor; the first by name), or None."""
    return next((name for name in sorted(players)
                 if not players[name].learning and players[name].checkpoint == INITIAL_CHECKPOINT), None)


class EventKind(str, enum.Enum):
    """What happened to a player (the `events` table: the league's lineage)."""

    CREATED = "created"
    SNAPSHOT = "snapshot"
    """A frozen copy was taken; the event's detail is the snapshot's name."""
    RESET = "reset"
    """The player went back to the initial parameters."""
    CHECKPOINT = "checkpoint"
    """The player's weights were saved; the event's detail is the checkpoint's path."""


@dataclasses.dataclass(frozen=True)
class MatchRecord:
    """One game of the league, as the `matches` table holds it."""

    home: str
    """The home player's name; `outcome` is seen from its side."""
    away: str
    """The away player's name."""
    outcome: Outcome
    """The result for the home player."""
    branch: str
    """The matchmaking branch that chose this game (self-play, PFSP, verification, ...)."""
    batch: int
    """The batch the game was played in: games played together share it (`LeagueStore.next_batch`)."""
    seed: int
    """The game's seed: replaying it with the same players reproduces it."""
    replay: str | None
    """The game's replay file, relative to the league's folder; None when none was kept."""
    home_steps: int
    """The home player's training steps when the game was played."""
    time: float | None = None
    """Unix seconds when it was recorded; None in a new record (the transaction's time is used)."""
    id: int | None = None
    """The row's id (ids grow in the order games were recorded); None in a record not yet stored."""

    def __post_init__(self) -> None:
        if not isinstance(self.outcome, Outcome):
            raise TypeError(f"a match's outcome must be an Outcome, got {self.outcome!r}")


@dataclasses.dataclass(frozen=True)
class PayoffRow:
    """The decayed counts of one ordered pair of the payoff table (league.md, "Payoff table")."""

    home: str
    """The player the counts are seen from."""
    away: str
    """Its opponent."""
    games: float
    """Decayed games played."""
    wins: float
    """Decayed wins of `home`."""
    draws: float
    """Decayed draws."""
    losses: float
    """Decayed losses of `home`."""


@dataclasses.dataclass(frozen=True)
class EventRecord:
    """One thing that happened to a player (the `events` table)."""

    id: int
    """The row's id: events in id order are the league's history."""
    time: float
    """Unix seconds when it was recorded."""
    player: str
    """The player it happened to."""
    kind: EventKind
    """What happened."""
    detail: str
    """What it concerns: a snapshot's name, a checkpoint's path; empty when nothing more is to be said."""
    steps: int
    """The player's training steps then."""


@dataclasses.dataclass(frozen=True)
class RatingRecord:
    """One rating of one player at one time (the `ratings` table: the rating history)."""

    id: int
    """The row's id (ratings in id order are in the order they were computed)."""
    time: float
    """Unix seconds when it was recorded."""
    player: str
    """The rated player."""
    rating: float
    """Its rating (Elo points)."""
    games_so_far: int
    """Games played in the whole league when it was computed."""


@dataclasses.dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation of a learning player against a fixed agent (the `evaluations` table; league.evaluation)."""

    player: str
    """The learning player evaluated."""
    opponent: str
    """The fixed agent it played (a league.evaluation.FixedOpponent value: 'random', 'scripted')."""
    batch: int
    """The match after which it was evaluated (the batch number of that match's games)."""
    player_steps: int
    """The player's training steps then."""
    player_resets: int
    """The player's resets then (an evaluation from before its latest reset is of parameters it no longer has)."""
    seed: int
    """The first game's seed (league.evaluation.evaluation_seeds gives them all)."""
    wins: int
    draws: int
    losses: int
    """The outcomes' counts from the player's side."""
    time: float | None = None
    """Unix seconds when it was recorded; None in a new record (the transaction's time is used)."""
    id: int | None = None
    """The row's id; None in a record not yet stored."""

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def win_rate(self) -> float:
        """(wins + draws / 2) / games, as the payoff counts them."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.5


class Transaction:
    """The writes of one `LeagueStore.transaction`: all of them are committed together, or none."""

    def __init__(self, connection: sqlite3.Connection, now: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self.time = now
        """Unix seconds when the transaction began: the time of every row it writes."""

    def _execute(self, sql: str, parameters: tuple = ()) -> sqlite3.Cursor:
        if self._connection is None:
            raise StoreError("this transaction has ended: write inside its `with store.transaction()` block")
        return self._connection.execute(sql, parameters)

    def put_player(self, player: Player) -> None:
        """Insert the player, or replace its row (keeping when it was created)."""
        parent_role = player.parent_role.value if player.parent_role is not None else None
        self._execute(
            f"INSERT INTO players ({_PLAYER_COLUMNS}, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET role = excluded.role, parent = excluded.parent,"
            " parent_role = excluded.parent_role, steps = excluded.steps,"
            " steps_at_snapshot = excluded.steps_at_snapshot, snapshots = excluded.snapshots,"
            " resets = excluded.resets, checkpoint = excluded.checkpoint, updated_at = excluded.updated_at",
            (player.name, player.role.value, player.parent, parent_role, player.steps, player.steps_at_snapshot,
             player.snapshots, player.resets, player.checkpoint, self.time, self.time))

    def add_event(self, player: str, kind: EventKind, detail: str = "", steps: int = 0) -> int:
        """Record that something happened to a player; returns the event's id."""
        if not isinstance(kind, EventKind):
            raise TypeError(f"an event's kind must be an EventKind, got {kind!r}")
        cursor = self._execute("INSERT INTO events (time, player, kind, detail, steps) VALUES (?, ?, ?, ?, ?)",
                               (self.time, player, kind.value, detail, steps))
        return int(cursor.lastrowid)

    def add_match(self, match: MatchRecord) -> int:
        """Record a game (a record without an id); returns its id."""
        if match.id is not None:
            raise ValueError(f"match {match.id} is stored already: add_match takes new records (id None)")
        cursor = self._execute(
            f"INSERT INTO matches ({_MATCH_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.time if match.time is None else match.time, match.home, match.away, match.outcome.value,
             match.branch, match.batch, match.seed, match.replay, match.home_steps))
        return int(cursor.lastrowid)

    def put_payoff(self, home: str, away: str, games: float, wins: float, draws: float, losses: float) -> None:
        """Set the decayed counts of the ordered pair (home, away)."""
        if min(games, wins, draws, losses) < 0:
            raise ValueError(f"payoff counts of ({home}, {away}) must be >= 0, got {(games, wins, draws, losses)}")
        self._execute("INSERT OR REPLACE INTO payoff (home, away, games, wins, draws, losses)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      (home, away, float(games), float(wins), float(draws), float(losses)))

    def add_rating(self, player: str, rating: float, games_so_far: int) -> int:
        """Record a player's rating; returns the row's id."""
        cursor = self._execute("INSERT INTO ratings (time, player, rating, games_so_far) VALUES (?, ?, ?, ?)",
                               (self.time, player, float(rating), games_so_far))
        return int(cursor.lastrowid)

    def add_evaluation(self, evaluation: EvaluationRecord) -> int:
        """Record an evaluation against a fixed agent (a record without an id); returns its id."""
        if evaluation.id is not None:
            raise ValueError(f"evaluation {evaluation.id} is stored already: add_evaluation takes new records")
        if min(evaluation.wins, evaluation.draws, evaluation.losses) < 0 or evaluation.games < 1:
            raise ValueError(f"an evaluation needs games and counts >= 0, got {evaluation}")
        cursor = self._execute(
            f"INSERT INTO evaluations ({_EVALUATION_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.time if evaluation.time is None else evaluation.time, evaluation.player, evaluation.opponent,
             evaluation.batch, evaluation.player_steps, evaluation.player_resets, evaluation.seed, evaluation.games,
             evaluation.wins, evaluation.draws, evaluation.losses))
        return int(cursor.lastrowid)

    def set_stat(self, key: str, value: Any) -> None:
        """Set a counter (any JSON value). Read it back in the same transaction with `LeagueStore.stat`."""
        self._execute("INSERT OR REPLACE INTO stats (key, value) VALUES (?, ?)", (key, json.dumps(value)))


class LeagueStore(LockedDatabase):
    """A league's folder: its database, its lock and its checkpoint folder. Make one with `create` or `open`."""

    database_name = DATABASE_NAME

    def __init__(self, folder: Path, connection: sqlite3.Connection, lock: FolderLock | None) -> None:
        super().__init__(folder, connection, lock)
        self._in_transaction = False


    @classmethod
    def create(cls, folder: str | os.PathLike, *, config: dict) -> LeagueStore:
        """Start a new store in `folder` (made if missing), open read-write; refuses a folder that holds one already."""
        folder = Path(folder)
        try:
            config_text = json.dumps(config, sort_keys=True)
        except (TypeError, ValueError) as error:
            raise StoreError(f"the configuration of the league in {folder} is not plain JSON data: {error}") from None
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / DATABASE_NAME
        if os.path.lexists(path):
            raise StoreError(f"{path} exists already: {folder} holds a league; open it, or start one in another folder")
        lock = take_lock(folder, LEAGUE_STORE)
        try:
            return cls._create_locked(folder, config_text, lock)
        except BaseException:
            release_lock(lock)
            raise

    @classmethod
    def _create_locked(cls, folder: Path, config_text: str, lock: FolderLock) -> LeagueStore:
        path = folder / DATABASE_NAME
        try:  # O_EXCL: never overwrite a file, even one made by a racing process since the check above
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            raise StoreError(f"{path} exists already: {folder} holds a league; open it, "
                             "or start one in another folder") from None
        connection = None
        try:
            connection = connect_read_write(path)
            connection.execute("BEGIN IMMEDIATE")
            for statement in (_SCHEMA + _SCHEMA_V2).split(";"):
                if statement.strip():
                    connection.execute(statement)
            meta = {"format": STORE_FORMAT, "version": str(STORE_VERSION), "config": config_text,
                    "created_at": repr(time.time())}
            connection.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
            connection.execute("COMMIT")
        except BaseException:
            if connection is not None:
                connection.close()
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            raise
        (folder / CHECKPOINT_FOLDER_NAME).mkdir(exist_ok=True)
        fsync_folder(folder)
        return cls(folder, connection, lock)

    @classmethod
    def open(cls, folder: str | os.PathLike, *, read_only: bool = False) -> LeagueStore:
        """Open the store in `folder` after checking it; never writes to a file it rejects.

        Args:
            folder: the league's folder.
            read_only: take no lock and never write (for looking at a league another process may be running).

        Raises:
            StoreError: no store there, a file that is not a league store or is corrupt, a store written by a newer
                version, or (read-write) a store another process has open.
        """
        folder = Path(folder)
        path = folder / DATABASE_NAME
        if not path.is_file():
            raise StoreError(f"no league in {folder}: start one with `arena league start --out {folder}`")
        checked = open_checked(path, LEAGUE_STORE)
        if read_only:
            checked.execute("PRAGMA query_only = ON")
            return cls(folder, checked, None)
        checked.close()
        lock = take_lock(folder, LEAGUE_STORE)
        connection = None
        try:
            connection = connect_read_write(path)
            _upgrade(connection)
            return cls(folder, connection, lock)
        except BaseException:
            if connection is not None:
                connection.close()
            release_lock(lock)
            raise


    @property
    def checkpoint_folder(self) -> Path:
        """Where the league saves players' weights (through `atomic_path`)."""
        return self._folder / CHECKPOINT_FOLDER_NAME


    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """`with store.transaction() as tx:` writes everything done through `tx` at the end, or nothing on an error."""
        connection = self._live_connection()
        if self.read_only:
            raise StoreError(f"{self.path} was opened read-only: it cannot be written")
        if self._in_transaction:
            raise StoreError(f"{self.path}: a transaction is open already (transactions do not nest)")
        connection.execute("BEGIN IMMEDIATE")
        self._in_transaction = True
        transaction = Transaction(connection, time.time())
        try:
            yield transaction
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            transaction._connection = None
            self._in_transaction = False


    def config(self) -> dict:
        """The league's configuration, as given to `create`."""
        return json.loads(self._meta("config"))

    def players(self) -> dict[str, Player]:
        """Every player by name, in name order."""
        rows = self._query(f"SELECT {_PLAYER_COLUMNS} FROM players ORDER BY name")
        return {row[0]: _player_from_row(row) for row in rows}

    def matches(self, after_id: int = 0) -> list[MatchRecord]:
        """The games whose id is above `after_id`, in id order (pass the last id seen to read only new ones)."""
        rows = self._query(f"SELECT {_MATCH_COLUMNS} FROM matches WHERE id > ? ORDER BY id", (after_id,))
        return [MatchRecord(id=row[0], time=row[1], home=row[2], away=row[3], outcome=Outcome(row[4]), branch=row[5],
                            batch=row[6], seed=row[7], replay=row[8], home_steps=row[9]) for row in rows]

    def payoff_rows(self) -> list[PayoffRow]:
        """Every ordered pair of the payoff table, in (home, away) order."""
        rows = self._query("SELECT home, away, games, wins, draws, losses FROM payoff ORDER BY home, away")
        return [PayoffRow(*row) for row in rows]

    def payoff(self, decay: float) -> Payoff:
        """The payoff table as a Payoff that decays by `decay` from here on (the league's `payoff_decay`)."""
        return Payoff.from_records([(r.home, r.away, PairRecord(games=r.games, wins=r.wins, draws=r.draws,
                                                                losses=r.losses)) for r in self.payoff_rows()],
                                   decay=decay)

    def events(self, player: str | None = None) -> list[EventRecord]:
        """The events of one player, or of all, in id order (the lineage)."""
        where, parameters = ("WHERE player = ?", (player,)) if player is not None else ("", ())
        rows = self._query(f"SELECT id, time, player, kind, detail, steps FROM events {where} ORDER BY id", parameters)
        return [EventRecord(id=row[0], time=row[1], player=row[2], kind=EventKind(row[3]), detail=row[4],
                            steps=row[5]) for row in rows]

    def ratings(self, player: str | None = None) -> list[RatingRecord]:
        """The rating history of one player, or of all, in id order."""
        where, parameters = ("WHERE player = ?", (player,)) if player is not None else ("", ())
        rows = self._query(f"SELECT id, time, player, rating, games_so_far FROM ratings {where} ORDER BY id",
                           parameters)
        return [RatingRecord(*row) for row in rows]

    def latest_ratings(self) -> dict[str, float]:
        """Each rated player's most recent rating, in name order."""
        rows = self._query("SELECT player, rating FROM ratings"
                           " WHERE id IN (SELECT MAX(id) FROM ratings GROUP BY player) ORDER BY player")
        return dict(rows)

    def evaluations(self, player: str | None = None) -> list[EvaluationRecord]:
        """The evaluations of one player, or of all, in id order (none in a version-1 store opened read-only)."""
        if not self._has_table("evaluations"):
            return []
        where, parameters = ("WHERE player = ?", (player,)) if player is not None else ("", ())
        rows = self._query(f"SELECT {_EVALUATION_COLUMNS} FROM evaluations {where} ORDER BY id", parameters)
        return [_evaluation_from_row(row) for row in rows]

    def latest_evaluations(self) -> dict[str, dict[str, EvaluationRecord]]:
        """player -> opponent -> that pair's most recent evaluation, in name order."""
        if not self._has_table("evaluations"):
            return {}
        rows = self._query(f"SELECT {_EVALUATION_COLUMNS} FROM evaluations WHERE id IN"
                           " (SELECT MAX(id) FROM evaluations GROUP BY player, opponent) ORDER BY player, opponent")
        latest: dict[str, dict[str, EvaluationRecord]] = {}
        for row in rows:
            record = _evaluation_from_row(row)
            latest.setdefault(record.player, {})[record.opponent] = record
        return latest

    def home_matches_since(self, player: str, batch: int) -> int:
        """The matches `player` played as home (its learning matches) after match `batch`."""
        return int(self._query("SELECT COUNT(DISTINCT batch) FROM matches WHERE batch > ? AND home = ?",
                               (batch, player))[0][0])

    def stat(self, key: str, default: Any = None) -> Any:
        """A counter's value, or `default` when it was never set."""
        rows = self._query("SELECT value FROM stats WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def stats(self) -> dict[str, Any]:
        """Every counter, in key order."""
        return {key: json.loads(value) for key, value in self._query("SELECT key, value FROM stats ORDER BY key")}

    def next_batch(self) -> int:
        """The batch number for the next games played together: one above the last recorded, 0 in a new league."""
        return int(self._query("SELECT COALESCE(MAX(batch) + 1, 0) FROM matches")[0][0])


    def _has_table(self, name: str) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def _meta(self, key: str) -> str:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        if not rows:
            raise StoreError(f"{self.path}: the meta table has no {key!r}")
        return rows[0][0]


def _player_from_row(row: tuple) -> Player:
    name, role, parent, parent_role, steps, steps_at_snapshot, snapshots, resets, checkpoint = row
    return Player(name=name, role=Role(role), parent=parent,
                  parent_role=Role(parent_role) if parent_role is not None else None, steps=steps,
                  steps_at_snapshot=steps_at_snapshot, snapshots=snapshots, resets=resets, checkpoint=checkpoint)


def _evaluation_from_row(row: tuple) -> EvaluationRecord:
    id_, time_, player, opponent, batch, steps, resets, seed, _, wins, draws, losses = row
    return EvaluationRecord(id=id_, time=time_, player=player, opponent=opponent, batch=batch, player_steps=steps,
                            player_resets=resets, seed=seed, wins=wins, draws=draws, losses=losses)


def _upgrade(connection: sqlite3.Connection) -> None:
    """Bring a checked store of an older version to STORE_VERSION, in one transaction (all of it or nothing)."""
    version = int(connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])
    if version >= STORE_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")  # this process holds the lock: nothing changes the version meanwhile
    try:
        if version < 2:
            for statement in _SCHEMA_V2.split(";"):
                if statement.strip():
                    connection.execute(statement)
        connection.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(STORE_VERSION),))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


