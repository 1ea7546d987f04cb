"""Fixtures shared by several test folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


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
