"""The matches a running league is playing now, in `<folder>/in_flight.json`, for the league's page to show.

The store records a match only when it is committed; what is being played is known only to the running process, which
rewrites this small file (atomically) whenever a match starts or is committed and removes it when it stops. The file
names the process, so a reader can tell a file left by a killed league (its process is gone) from a live one.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from arena.files import write_text_atomic

IN_FLIGHT_NAME = "in_flight.json"


@dataclasses.dataclass(frozen=True)
class InFlightMatch:
    """One match being played."""

    home: str
    away: str
    branch: str
    """The matchmaking branch that chose away."""
    seed: int
    """The first game's seed."""
    started: float
    """Unix seconds when it was handed to the executor."""


@dataclasses.dataclass(frozen=True)
class InFlight:
    """What `<folder>/in_flight.json` says."""

    matches: tuple[InFlightMatch, ...]
    pid: int | None
    """The league's process; None when no file is there."""
    alive: bool
    """Whether that process is still running (on this machine): a file whose process is gone is a killed run's."""
    updated: float | None
    """Unix seconds of the last rewrite; None when no file is there."""


def write_in_flight(folder: str | os.PathLike, matches: list[InFlightMatch], now: float) -> None:
    """Replace the folder's in-flight file with `matches` (an empty list included: the league is between matches)."""
    document = {"pid": os.getpid(), "updated": now, "matches": [dataclasses.asdict(m) for m in matches]}
    write_text_atomic(Path(folder) / IN_FLIGHT_NAME, json.dumps(document))


def clear_in_flight(folder: str | os.PathLike) -> None:
    """Remove the folder's in-flight file (the league stopped)."""
    (Path(folder) / IN_FLIGHT_NAME).unlink(missing_ok=True)


def read_in_flight(folder: str | os.PathLike) -> InFlight:
    """The folder's in-flight matches; none (and pid None) without a file.

    Raises:
        ValueError: the file is not what `write_in_flight` writes (the message names it).
    """
    path = Path(folder) / IN_FLIGHT_NAME
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return InFlight(matches=(), pid=None, alive=False, updated=None)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} cannot be read: {error}") from None
    try:
        pid = int(document["pid"])
        matches = tuple(InFlightMatch(home=str(m["home"]), away=str(m["away"]), branch=str(m["branch"]),
                                      seed=int(m["seed"]), started=float(m["started"]))
                        for m in document["matches"])
        return InFlight(matches=matches, pid=pid, alive=process_alive(pid), updated=float(document["updated"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path} is not a league's in-flight file ({type(error).__name__}: {error})") from None


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


__all__ = ["IN_FLIGHT_NAME", "InFlight", "InFlightMatch", "clear_in_flight", "process_alive", "read_in_flight",
           "write_in_flight"]
