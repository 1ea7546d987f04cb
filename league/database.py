"""A store of ours: an SQLite database in a folder, checked before it is used, written by one process at a time.

The league's store (league.store) and the ladder's (league.ladder.round_robin) are two kinds of it (`StoreKind`):
each names its format tag, version, tables and lock file; this module holds what they share: the checks that an
SQLite file is a sound store of a kind this code reads, the connection settings of a writer (WAL journal, every
commit synced), and the single-writer lock file (`flock`, removed on a clean close).
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import ClassVar, Self


@dataclasses.dataclass(frozen=True)
class StoreKind:
    """What tells one kind of SQLite store of ours from another (the league's; the ladder's reuses the checks)."""

    noun: str
    """"league" or "ladder": used in messages."""
    format: str
    """The meta table's `format` tag."""
    version: int
    """The newest version this code reads."""
    tables: frozenset
    """Tables a sound store has."""
    lock_name: str
    """The single-writer lock file in the store's folder."""
    later_tables: tuple[tuple[int, frozenset], ...] = ()
    """(version, tables) for tables a later version added: a store of that version or newer must have them."""

    def tables_of(self, version: int) -> frozenset:
        """The tables a sound store of `version` has."""
        return self.tables.union(*(tables for since, tables in self.later_tables if version >= since))


class StoreError(Exception):
    """A store (a league's or a ladder's) that cannot be created or opened, or a store used in a way it does not allow.

    The message names the file or folder and says what is wrong."""


class LockedDatabase:
    """An open store in a folder: its SQLite connection and, when it may write, the lock file that makes this process
    the store's only writer (None: opened read-only). Closing releases both; closing twice is harmless."""

    database_name: ClassVar[str]
    """The database file's name inside the folder."""

    def __init__(self, folder: Path, connection: sqlite3.Connection, lock: FolderLock | None) -> None:
        self._folder = folder
        self._connection: sqlite3.Connection | None = connection
        self._lock = lock

    def close(self) -> None:
        """Close the database and release the lock (closing twice is harmless)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._lock is not None:
            release_lock(self._lock)
            self._lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def folder(self) -> Path:
        """The store's folder."""
        return self._folder

    @property
    def path(self) -> Path:
        """The database file."""
        return self._folder / self.database_name

    @property
    def read_only(self) -> bool:
        """Opened with `read_only=True`: no lock, no writes."""
        return self._lock is None

    def _live_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._connection

    def _query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        return self._live_connection().execute(sql, parameters).fetchall()


def connect_read_write(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions begin explicitly), WAL journal, every commit synced."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    return connection


def open_checked(path: Path, kind: StoreKind) -> sqlite3.Connection:
    """A read-only connection to `path` once it is known to be a sound store of `kind` this code can read."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path} cannot be opened: {error}") from None
    try:
        check_database(path, connection, kind)
    except BaseException:
        connection.close()
        raise
    return connection


def check_database(path: Path, connection: sqlite3.Connection, kind: StoreKind) -> None:
    """Raise StoreError unless the database behind `connection` is whole, a store of `kind`, and not too new."""
    if path.stat().st_size == 0:
        raise StoreError(f"{path} is empty, not a {kind.noun} store (an interrupted start?): "
                         "remove it to start again")
    try:
        problems = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
    except sqlite3.DatabaseError as error:
        if getattr(error, "sqlite_errorname", "") == "SQLITE_CORRUPT" or "malformed" in str(error):
            raise StoreError(f"{path} is corrupt: SQLite cannot read it ({error})") from None
        if getattr(error, "sqlite_errorname", "") == "SQLITE_NOTADB" or "not a database" in str(error):
            raise StoreError(f"{path} is not a {kind.noun} store: not an SQLite database ({error})") from None
        raise StoreError(f"{path} cannot be read: {error}") from None
    if problems != ["ok"]:
        raise StoreError(f"{path} is corrupt: SQLite's integrity check reports {'; '.join(problems[:3])}")
    if meta.get("format") != kind.format:
        found = f"its format is {meta['format']!r}" if "format" in meta else f"it has no {kind.noun} meta table"
        raise StoreError(f"{path} is an SQLite database but not a {kind.noun} store ({found}, not {kind.format!r})")
    required = kind.tables_of(_check_version(path, meta.get("version"), kind))
    if not required <= tables:
        raise StoreError(f"{path} is a damaged {kind.noun} store: tables {sorted(required - tables)} are missing")


def _check_version(path: Path, version: str | None, kind: StoreKind) -> int:
    """The store's version, once it is known to be one this code reads."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise StoreError(f"{path}: the {kind.noun} store's version {version!r} is not a number") from None
    if number > kind.version:
        raise StoreError(f"{path} was written by a newer sc2arena (store version {number}; this one reads up to "
                         f"{kind.version}): upgrade sc2arena to open it")
    if number < 1:
        raise StoreError(f"{path}: the {kind.noun} store's version {number} is not a valid version")
    return number


@dataclasses.dataclass(frozen=True)
class FolderLock:
    """A held lock file: its open descriptor (flock'ed) and its path."""

    descriptor: int
    path: Path


def take_lock(folder: Path, kind: StoreKind) -> FolderLock:
    """Hold the kind's lock file in `folder` exclusively and write this process's id into it."""
    path = folder / kind.lock_name
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise StoreError(f"{folder} is in use by another process (pid {holder}): "
                             f"one process at a time may write a {kind.noun} (lock: {path})") from None
        except BaseException:
            os.close(descriptor)
            raise
        if _same_file(descriptor, path):
            break
        os.close(descriptor)  # its holder removed that file as it let go: take the one at the path now
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return FolderLock(descriptor, path)


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(descriptor), os.stat(path))
    except FileNotFoundError:
        return False


def release_lock(lock: FolderLock) -> None:
    """Remove the lock file, then let go of it, so a clean stop leaves none behind. A process that opened the
    file just before finds, once it holds it, that it is no longer the file at the path, and takes the new one
    (`take_lock`); a killed process leaves the file, which the next one takes over (flock dies with it)."""
    try:
        os.unlink(lock.path)
    except FileNotFoundError:
        pass
    fcntl.flock(lock.descriptor, fcntl.LOCK_UN)
    os.close(lock.descriptor)
