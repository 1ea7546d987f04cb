"""`arena ladder run | report`: rank agents from round-robin games, with ratings, uncertainty and the Nash mixture."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from league.cli.options import LOCAL_RAY, add_ray_options, common_options
from league.progress import progress_bar
from league.store import StoreError

DEFAULT_FOLDER = "runs/ladder"


def _scenario(args: argparse.Namespace, players) -> str:
    """--scenario, else the scenario of the league whose snapshots play, else FullGame (the bots' game)."""
    from arena.scenarios.registry import resolve_id
    from league.store import LeagueStore

    if args.scenario:
        return resolve_id(args.scenario)
    for player in players:
        if player.league:
            with LeagueStore.open(player.league, read_only=True) as store:
                return resolve_id(store.config()["scenario"])
    return resolve_id("FullGame")


def _write_reports(store, args: argparse.Namespace) -> dict:
    from league.ladder.round_robin import build_report, report_json
    from league.ladder.report import render_text, write_html
    from arena.files import write_bytes_atomic

    report = build_report(store, anchor=args.anchor, samples=args.bootstrap)
    write_bytes_atomic(store.folder / "report.json", report_json(report).encode())
    html = Path(args.output) if getattr(args, "output", None) else store.folder / "report.html"
    write_html(report, html)
    if args.json:
        print(json.dumps(report))
    else:
        print(render_text(report))
        print(f"\nreport: {html} (open it in a browser); data: {store.folder / 'report.json'}", file=sys.stderr)
    return report


def _pairs_player(args: argparse.Namespace, store):
    """None (play in this process), or with --ray the Ray workers that play the pairs' batches."""
    if args.ray is None:
        return None
    from league.ladder.round_robin import ladder_interface
    from league.ray_executor import RayPairs, RaySettings

    settings = RaySettings(address=None if args.ray == LOCAL_RAY else args.ray, workers=args.ray_workers,
                           worker_gpus=args.worker_gpus, threads=args.threads)
    return RayPairs(store.scenario, ladder_interface(store.players()), settings)


def command_run(args: argparse.Namespace) -> int:
    from league.ladder.round_robin import LadderSettings, LadderStore, parse_players, run_ladder

    try:
        players = parse_players(args.players)
        settings = LadderSettings(games=args.games, min_games=args.min_games, batch=args.batch, seed=args.seed,
                                  device=args.device)
        folder = Path(args.out)
        if (folder / "ladder.sqlite").exists():
            store = LadderStore.open(folder)
            if args.scenario and _scenario(args, players) != store.scenario:
                store.close()
                raise ValueError(f"{folder} is a ladder on {store.scenario}, not {_scenario(args, players)}; use "
                                 "another --out")
        else:
            if len(players) < 2:
                raise ValueError(f"a ladder ranks two or more players; --players gave {len(players)} "
                                 f"({', '.join(args.players)}): add another, e.g. --players {args.players[0]} random")
            store = LadderStore.create(folder, scenario=_scenario(args, players))
    except (ValueError, KeyError, StoreError) as error:
        print(f"arena ladder run: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    with store:
        try:
            new = store.add_players(players)
        except ValueError as error:
            print(f"arena ladder run: {error}", file=sys.stderr)
            return 2
        everyone = store.players()
        pairs = len(everyone) * (len(everyone) - 1) // 2
        print(f"ladder {folder} on {store.scenario}: {len(everyone)} players ({len(new)} new), {pairs} pairs, up to "
              f"{settings.games} games each", file=sys.stderr)
        with progress_bar(total=pairs, unit="pair", quiet=args.quiet) as bar:
            def on_pair(a, b, index, total):
                bar.n = index
                bar.set_postfix_str(f"{a.name} vs {b.name}", refresh=True)

            pairs_player = None
            try:
                pairs_player = _pairs_player(args, store)
                played = run_ladder(store, settings, on_pair=on_pair, pairs_player=pairs_player)
            except KeyboardInterrupt:
                print(f"\nstopped: the games played so far are in {folder}; run the same command to go on",
                      file=sys.stderr)
                return 130
            except (ValueError, RuntimeError, OSError) as error:
                print(f"arena ladder run: {error}", file=sys.stderr)
                return 2
            finally:
                if pairs_player is not None:
                    pairs_player.close()
            bar.n = pairs
            bar.refresh()
        print(f"played {played} games", file=sys.stderr)
        try:
            _write_reports(store, args)
        except ValueError as error:
            print(f"arena ladder run: {error}", file=sys.stderr)
            return 2
    return 0


def command_report(args: argparse.Namespace) -> int:
    from league.ladder.round_robin import LadderStore

    try:
        with LadderStore.open(args.folder, read_only=True) as store:
            _write_reports(store, args)
    except (StoreError, ValueError) as error:
        print(f"arena ladder report: {error}", file=sys.stderr)
        return 2
    return 0


def add_ladder_commands(ladder: argparse.ArgumentParser) -> None:
    """`arena ladder run | report` under the `ladder` parser."""
    commands = ladder.add_subparsers(dest="ladder_command", required=True)
    run = commands.add_parser("run", help="play every pair of players (new players join an existing ladder)",
                              parents=[common_options()])
    run.add_argument("--players", nargs="+", required=True,
                     help="policy:PATH (or a saved policy's path), bot:1..5, bot:rush, scripted, random, noop, a "
                          "PySC2 agent class by import path, league:DIR (every snapshot of a league)")
    run.add_argument("--scenario", default=None, help="default: the league's scenario, else FullGame")
    run.add_argument("--out", default=DEFAULT_FOLDER, help=f"the ladder's folder (default {DEFAULT_FOLDER})")
    run.add_argument("--games", type=int, default=40, help="games per pair at most (seats swapped)")
    run.add_argument("--min-games", type=int, default=10,
                     help="stop a pair early once it has this many games and a clear result (0: never)")
    run.add_argument("--batch", type=int, default=10, help="games of a pair played side by side (even)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", default="cpu")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    add_ray_options(run, "ladder's games")
    report = commands.add_parser("report", parents=[common_options()], help="ratings and the HTML report of a ladder")
    report.add_argument("folder")
    report.add_argument("-o", "--output", default=None, help="the HTML file (default DIR/report.html)")
    for parser in (run, report):
        parser.add_argument("--anchor", default=None,
                            help="the player rated 0 (default: the weakest bot level, else random / noop)")
        parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap samples for the Elo intervals")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
    ladder.set_defaults(run=lambda args: {"run": command_run, "report": command_report}[args.ladder_command](args))
