"""Progress bars for the command line: a live bar on a terminal; in a log (stderr not a terminal), one plain line
every `LOG_INTERVAL_S` seconds and one at the end, instead of carriage-return redraws spilling into the file."""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm

LOG_INTERVAL_S = 30.0
"""Seconds between progress lines written to a log."""


class LogLines:
    """A file for tqdm that turns each redraw into one line of its own (no carriage returns, no empty lines)."""

    def __init__(self, file: IO[str]):
        self.file = file

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self.file.write(line + "\n")

    def flush(self) -> None:
        self.file.flush()


def progress_bar(*, quiet: bool = False, file: IO[str] | None = None, **options: Any) -> tqdm:
    """A tqdm bar on `file` (default stderr): none with `quiet`; a live bar on a terminal; plain lines in a log."""
    file = sys.stderr if file is None else file
    if quiet or _is_terminal(file):
        return tqdm(file=file, disable=quiet, **options)
    return tqdm(file=LogLines(file), mininterval=LOG_INTERVAL_S, maxinterval=LOG_INTERVAL_S, ascii=True,
                dynamic_ncols=False, ncols=100, **options)


def _is_terminal(file: IO[str]) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # a closed or file-like object without a terminal
        return False


__all__ = ["LOG_INTERVAL_S", "LogLines", "progress_bar"]
