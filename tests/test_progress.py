"""Progress bars: live on a terminal; plain lines, no carriage returns, in a log; nothing with --quiet."""

from __future__ import annotations

import io

from league.progress import LogLines, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_log_the_bar_writes_whole_lines_and_its_final_state():
    log = io.StringIO()
    with progress_bar(total=3, desc="games", unit="game", file=log) as bar:
        for _ in range(3):
            bar.update(1)
    text = log.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert all(line.strip() for line in lines)
    assert lines[-1].startswith("games: 100%") and "3/3" in lines[-1]


def test_on_a_terminal_the_bar_redraws_in_place():
    terminal = Terminal()
    with progress_bar(total=2, desc="games", file=terminal) as bar:
        bar.update(2)
    assert "\r" in terminal.getvalue()


def test_quiet_writes_nothing():
    for file in (io.StringIO(), Terminal()):
        with progress_bar(total=2, quiet=True, file=file) as bar:
            bar.update(2)
        assert file.getvalue() == ""


def test_log_lines_drop_carriage_returns_and_blank_writes():
    log = io.StringIO()
    lines = LogLines(log)
    for text in ("\r", "\rsteps: 10%", "", "\n", "\rsteps: 20%"):
        lines.write(text)
    assert log.getvalue() == "steps: 10%\nsteps: 20%\n"
