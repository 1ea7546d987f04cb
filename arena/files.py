"""Files and folders written whole or not at all: written beside their place under a temporary name, synced, then
renamed into place.

A process killed while saving (SIGKILL included) leaves the old file or the new one, never a mix: checkpoints,
policies, replays, clips and reports are all saved this way (DESIGN.md, "Durable things"). This is the one place
the write-then-rename is written; every layer (arena, agents, league) uses it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import Iterator

PARTIAL_SUFFIX = ".part"
"""A folder being written is `.<name>.part` beside its place (a killed run's leftovers are found by it)."""


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


@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Write a folder whole or not at all: `with atomic_folder(f) as tmp:` fill tmp; on success it becomes f.

    The temporary folder is `.<name>.part` beside f (any leftover of a killed writer is removed first). On success
    its files are synced and it is renamed onto f (which must not exist, or be an empty folder); on an error it is
    removed and f is left as it was.
    """
    folder = Path(folder)
    partial = folder.with_name(f".{folder.name}{PARTIAL_SUFFIX}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
        for path in partial.rglob("*"):
            if path.is_file():
                _fsync_file(path)
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    fsync_folder(folder.parent)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace the file at `path` with `data`, atomically (`atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Replace the file at `path` with `text` (UTF-8), atomically (`atomic_path`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


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
