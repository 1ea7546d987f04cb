"""The `arena` command line (the console script `arena = league.cli:main`): one module per group of commands.

play.py: `arena scenarios | play | bench`; train.py: `arena train SCENARIO`; bc.py: `arena train bc` (its own
parser: behaviour cloning shares nothing with `arena train SCENARIO` but the word); replay.py: `arena replay ...`;
league.py: `arena league start | resume | status`; exploit.py: `arena league exploit`; ladder.py: `arena ladder run |
report`; options.py: what several commands share.
"""

from __future__ import annotations

import argparse
import os
import sys

from arena.threads import set_torch_threads
from league.cli.bc import BC_WORDS, build_bc_parser
from league.cli.ladder import add_ladder_commands
from league.cli.league import add_league_commands
from league.cli.options import common_options
from league.cli.play import add_bench_command, add_play_command, command_scenarios
from league.cli.replay import add_replay_commands
from league.cli.train import add_train_command


def build_parser() -> argparse.ArgumentParser:
    """The `arena` parser: every command but `arena train bc` (`build_bc_parser`)."""
    parser = argparse.ArgumentParser(prog="arena", description="A StarCraft-like arena for multi-agent RL.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("scenarios", help="list the scenarios", parents=[common_options()]).set_defaults(
        run=command_scenarios)
    add_play_command(commands.add_parser("play", parents=[common_options()],
                                         help="play episodes of a scenario with an agent and print the scores"))
    add_bench_command(commands.add_parser("bench", parents=[common_options()],
                                          help="print env-steps per second of the batched engine"))
    add_replay_commands(commands.add_parser("replay", help="inspect, verify, watch and render recorded games"))
    add_train_command(commands.add_parser("train", parents=[common_options()],
                                          help="train a neural policy on a scenario (PPO, V-trace), or `arena train "
                                               "bc` to clone the players of replays"))
    add_league_commands(commands.add_parser("league", help="AlphaStar-style league training: start, resume, status, "
                                                           "exploit"))
    add_ladder_commands(commands.add_parser("ladder", help="rank agents: round-robin games, Elo / TrueSkill / Nash, "
                                                           "HTML report"))
    return parser


def parser_for(argv: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser of the command `argv` names, and the arguments left for it."""
    if argv[:len(BC_WORDS)] == list(BC_WORDS):
        return build_bc_parser(), argv[len(BC_WORDS):]
    return build_parser(), argv


def main(argv: list[str] | None = None) -> int:
    parser, arguments = parser_for(sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(arguments)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    set_torch_threads(args.threads)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (`arena replay info ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


__all__ = ["build_parser", "main", "parser_for"]
