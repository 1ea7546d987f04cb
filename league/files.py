"""Files written whole or not at all: a temporary file in the same folder, synced, then renamed over the old one.

A process killed while saving (SIGKILL included) leaves the old file or the new one, never a mix; the league saves
its checkpoints this way (DESIGN.md, "Durable things"), beside its database (league.store).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Write a file whole or not at all: `with atomic_path(p) as tmp:` write to tmp; on success it becomes p.

    The temporary file lies in p's folder (made if missing), so the rename is atomic. On success the file is synced,
    renamed onto p (replacing any old p) and the folder synced; on an error the temporary file is removed and p is
    left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        _fsync_file(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    fsync_folder(path.parent)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace the file at `path` with `data`, atomically (`atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a folder's entries (a new or renamed file) durable."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
