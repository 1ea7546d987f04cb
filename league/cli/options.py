"""Options and argument types that more than one `arena` command takes."""

from __future__ import annotations

import argparse
from typing import Callable

from arena.threads import DEFAULT_THREADS

LOCAL_RAY = "local"
"""`--ray` with no address: start a local Ray."""


def common_options() -> argparse.ArgumentParser:
    """A parent parser (argparse's `parents=[...]`) with the options every command takes: `--threads N`."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help=f"torch CPU threads of this process ({DEFAULT_THREADS}: fastest on small machines, "
                             "see the README's 'Threads')")
    return parser


def positive(kind: type) -> Callable[[str], float | int]:
    """An argparse type: a number of `kind` above zero (`--minutes 0` would stop before the first match)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value
    return parse


def add_ray_options(parser: argparse.ArgumentParser, what: str) -> None:
    """`--ray [ADDRESS]`, `--ray-workers`, `--worker-gpus`, `--learner-gpus`: run `what` on Ray."""
    parser.add_argument("--ray", nargs="?", const=LOCAL_RAY, default=None, metavar="ADDRESS",
                        help=f"run the {what} on Ray: a cluster's address (or 'auto'), or none to start a local Ray "
                             f"(needs pip install -e \".[ray]\")")
    parser.add_argument("--ray-workers", type=int, default=2, help="Ray rollout workers: matches at once (2)")
    parser.add_argument("--worker-gpus", type=float, default=0.0, help="GPUs per Ray rollout worker (0)")
    parser.add_argument("--learner-gpus", type=float, default=0.0, help="GPUs per Ray learner (0)")
