"""Fixtures shared by several test folders."""

from __future__ import annotations

import os
from pathlib import Path

# pysc2's protobuf modules need protobuf's pure-Python implementation, and a test process may import ray (which
# imports protobuf) before a pysc2 test runs (arena.compat.pysc2)
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_configure(config):
    """One torch thread per test process: the suite runs in two processes on two cores (`-n 2` in pyproject's
    addopts), and two processes on two threads each slow each other several times over (README, "Threads")."""
    torch.set_num_threads(1)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """A headless Debian Chromium driven by Playwright (the pages under test load nothing from the network, so
    `playwright install` is never needed); skips, saying what is missing, without either."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install playwright (no `playwright install` needed)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
