"""`arena league serve DIR` (and `arena league start | resume --serve`): the league's page on a local web server.

`--serve` runs the page server in a process of its own (`page_process`), so the page's work never holds the league's
interpreter; it is stopped when the league stops.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from league.dashboard.server import LOCALHOST

SERVE_HELP = "a live page of a league (players, payoff, ratings, lineage, curves, replays) on 127.0.0.1"
DEFAULT_PORT = 8765
EXPOSED_WARNING = ("warning: the league page is served on {host}, not only to this machine: anyone who can reach "
                   "this address can see the league (its players, games and replays); the page cannot change "
                   "anything, but prefer 127.0.0.1 and an SSH tunnel (README, 'The league's page')")
READY_PREFIX = "league page: "
"""The first line `arena league serve` prints: this prefix, then the page's address."""


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """`arena league serve`'s arguments and options."""
    parser.add_argument("folder", help="the league's folder (it may still be empty: the page waits for it)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port ({DEFAULT_PORT}; 0: a free one)")
    parser.add_argument("--host", default=LOCALHOST,
                        help=f"the address to bind ({LOCALHOST}: this machine only; another one prints a warning)")
    parser.add_argument("--ladder", default=None,
                        help="a ladder folder whose report the page shows (default: DIR/ladder)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")


def add_page_option(parser: argparse.ArgumentParser) -> None:
    """`--serve` and `--serve-port` on `arena league start | resume`."""
    parser.add_argument("--serve", action="store_true",
                        help="also serve the league's live page on 127.0.0.1 (as `arena league serve DIR`)")
    parser.add_argument("--serve-port", type=int, default=DEFAULT_PORT,
                        help=f"the page's port with --serve ({DEFAULT_PORT}; 0: a free one)")


def command_serve(args: argparse.Namespace) -> int:
    from league.dashboard.server import serve_league

    if args.host != LOCALHOST:
        print(EXPOSED_WARNING.format(host=args.host), file=sys.stderr)
    if args.port < 0 or args.port > 65535:
        print(f"arena league serve: --port must be 0 to 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        server = serve_league(args.folder, host=args.host, port=args.port, ladder=args.ladder,
                              open_browser=args.open)
    except (FileNotFoundError, OSError) as error:
        print(f"arena league serve: {error}", file=sys.stderr)
        return 2
    print(f"{READY_PREFIX}{server.url}", flush=True)
    print(f"serving the league in {Path(args.folder).resolve()} (read-only); Ctrl-C stops", file=sys.stderr)
    server.serve_forever()
    return 0


class PageProcess:
    """`arena league serve` in a child process, for `--serve`."""

    def __init__(self, folder: str | Path, port: int, threads: int = 1):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "league.cli", "league", "serve", str(folder), "--port", str(port),
             "--threads", str(threads)], stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith(READY_PREFIX):
            self.process.wait(timeout=10)
            raise OSError(f"the league page did not start (exit code {self.process.returncode}); see the message "
                          "above")
        self.url = line[len(READY_PREFIX):].strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


__all__ = ["PageProcess", "add_page_option", "add_serve_options", "command_serve"]
