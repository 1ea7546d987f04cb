"""`arena league start | resume | status`: run a league from the command line, with a live table; `arena league
exploit` is league.cli.exploit."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path

from agents.policies.action_space import ACTION_SPACES
from league.config import ConfigError, LeagueConfig, load_config
from league.cli.exploit import EXPLOIT_HELP, add_exploit_options, command_exploit
from league.cli.serve import SERVE_HELP, add_page_option, add_serve_options, command_serve
from league.cli.options import LOCAL_RAY, add_ray_options, common_options, positive
from league.evaluation import FixedOpponent
from league.matchmaking import LeagueKind
from league.payoff import Payoff
from league.players import Player
from league.store import EvaluationRecord, LeagueStore, StoreError

DEFAULT_FOLDER = "runs/league"
SHORT_ROLE = {"main_agent": "main", "main_exploiter": "main exploiter", "league_exploiter": "league exploiter",
              "historical": "snapshot"}


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """"1 match", "2 matches"."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def league_table(players: dict[str, Player], payoff: Payoff, ratings: dict[str, float], stats: dict,
                 config: LeagueConfig, *, folder: Path,
                 evaluations: dict[str, dict[str, EvaluationRecord]] | None = None) -> str:
    """The live table: one row per learning player (steps, snapshots, resets, Elo, win rate against every other
    learning player and against all snapshots, and its latest evaluation against each fixed agent: `evaluations`,
    player -> opponent -> record, LeagueStore.latest_evaluations), then the snapshots' count and best Elo."""
    evaluations = evaluations or {}
    learning = sorted((p for p in players.values() if p.learning), key=lambda p: (p.role.value != "main_agent",
                                                                                   p.name))
    historical = [p.name for p in players.values() if not p.learning]
    minutes = float(stats.get("match_seconds", 0.0)) / 60
    lines = [f"league {folder}: {config.scenario}, {config.kind.value}, "
             f"{plural(stats.get('matches', 0), 'match', 'matches')}, {plural(stats.get('games', 0), 'game')}, "
             f"{int(stats.get('agent_steps', 0)):,} agent steps, "
             f"{minutes:.1f} min of play"]
    columns = [p.name for p in learning]
    header = f"{'player':<20} {'role':<17} {'steps':>9} {'snaps':>5} {'resets':>6} {'elo':>6}  " + " ".join(
        f"{_short(name):>8}" for name in columns) + f" {'vs past':>8}" + "".join(
        f" {'vs ' + opponent.value:>11}" for opponent in FixedOpponent)
    lines += [header, "-" * len(header)]
    for player in learning:
        cells = " ".join(f"{_rate(payoff, player.name, other):>8}" for other in columns)
        past = [payoff.win_rate(player.name, h) for h in historical if payoff.pair(player.name, h).games > 0]
        past_cell = f"{sum(past) / len(past):8.2f}" if past else f"{'-':>8}"
        fixed = "".join(f" {_evaluation_cell(evaluations.get(player.name, {}).get(o.value)):>11}"
                        for o in FixedOpponent)
        rating = ratings.get(player.name) if _has_played(payoff, player.name) else None
        lines.append(f"{player.name:<20} {SHORT_ROLE[player.role.value]:<17} {player.steps:>9,} "
                     f"{player.snapshots:>5} {player.resets:>6} {'-' if rating is None else round(rating):>6}  "
                     f"{cells} {past_cell}{fixed}")
    if historical:
        best = max(historical, key=lambda n: ratings.get(n, float("-inf")))
        lines.append(f"{plural(len(historical), 'snapshot')}; the strongest: {best} "
                     f"(elo {round(ratings.get(best, 0.0))})")
    lines.append("win rates: row player against column player, (wins + draws / 2) / games, decayed; "
                 "'vs past' is the mean over the snapshots it played")
    lines.append("vs random, vs scripted: its latest evaluation against these fixed agents (win rate, games played); "
                 "never in the payoff")
    return "\n".join(lines)


def _evaluation_cell(record: EvaluationRecord | None) -> str:
    return "-" if record is None else f"{record.win_rate:.2f} ({record.games})"


def _evaluation_json(record: EvaluationRecord | None) -> dict | None:
    if record is None:
        return None
    return {"win_rate": record.win_rate, "games": record.games, "wins": record.wins, "draws": record.draws,
            "losses": record.losses, "match": record.batch, "steps": record.player_steps}


def _has_played(payoff: Payoff, name: str) -> bool:
    return any(home == name and record.games > 0 for home, _, record in payoff.records())


def _short(name: str) -> str:
    return name.replace("main_agent_", "main").replace("main_exploiter_", "mexp").replace("league_exploiter_", "lexp")


def _rate(payoff: Payoff, home: str, away: str) -> str:
    pair = payoff.pair(home, away)
    return "-" if pair.games == 0 else f"{pair.win_rate:.2f}"


def _stats(store: LeagueStore) -> dict:
    return {key: store.stat(key, 0) for key in ("matches", "games", "agent_steps", "match_seconds")}


def _config_from_args(args: argparse.Namespace) -> LeagueConfig:
    overrides = {"scenario": args.scenario, "kind": args.kind, "games_per_match": args.games_per_match,
                 "screen_size": args.screen_size, "device": args.device, "seed": args.seed, "init": args.init,
                 "policy": args.policy, "action_space": args.action_space}
    learner = {"kl_coef": args.kl_coef} if args.kl_coef is not None else {}
    if args.config:
        config = load_config(args.config, **overrides)
        if learner:
            config = LeagueConfig.from_dict({**config.to_dict(), "learner": {**dataclasses.asdict(config.learner),
                                                                             **learner}}, source="the options")
        return config
    given = {k: v for k, v in overrides.items() if v is not None}
    return LeagueConfig.from_dict({**given, **({"learner": learner} if learner else {})}, source="the options")


def _run(league, args: argparse.Namespace, verb: str) -> int:
    """Play until --minutes / --matches (or Ctrl-C), showing the table at once and after every match."""
    from league.runner import League

    assert isinstance(league, League)
    tty = sys.stdout.isatty() and not args.quiet
    started = time.monotonic()

    def print_table(run: League, note: str) -> None:
        table = league_table(run.players, run.payoff, run.store.latest_ratings(), _stats(run.store), run.config,
                             folder=run.folder, evaluations=run.store.latest_evaluations())
        elapsed = time.monotonic() - started
        print(("\x1b[H\x1b[2J" if tty else "") + f"{table}\n{note}\n[{elapsed / 60:.1f} min; Ctrl-C stops, "
              f"`arena league resume {run.folder}` continues]\n", flush=True)

    def show(run: League, summary) -> None:
        if args.quiet:
            return
        report = summary.report
        wins = sum(g.outcome.value == "win" for g in report.games)
        draws = sum(g.outcome.value == "draw" for g in report.games)
        note = (f"match {summary.match_number}: {report.job.home} vs {report.job.away} ({report.job.branch}): "
                f"{wins} won, {draws} drawn, {len(report.games) - wins - draws} lost; "
                f"{report.agent_steps:,} steps in {report.seconds:.0f} s ({report.agent_steps / report.seconds:.0f}"
                f" steps/s)" + (f"; snapshot {summary.snapshot}" if summary.snapshot else "")
                + ("; reset to the initial parameters" if summary.reset else ""))
        if summary.evaluations:
            note += "; evaluated: " + ", ".join(f"{e.win_rate:.2f} vs {e.opponent}" for e in summary.evaluations)
        print_table(run, note)

    seconds = None if args.minutes is None else args.minutes * 60
    _stop_on_signals()
    page = None
    if args.serve:
        from league.cli.serve import PageProcess

        try:
            page = PageProcess(league.folder, args.serve_port)
        except OSError as error:
            print(f"arena league: {error}; nothing was played: `arena league resume {league.folder} --serve "
                  f"--serve-port 0` continues with a free port", file=sys.stderr)
            league.close()
            return 2
        print(f"the league's page: {page.url} (stops with the league)", file=sys.stderr)
    try:
        return _play(league, args, verb, seconds, print_table, show)
    finally:
        if page is not None:
            page.stop()


def _play(league, args: argparse.Namespace, verb: str, seconds: float | None, print_table, show) -> int:
    if not args.quiet:  # the table at once; the first match and its evaluations take about half a minute
        print_table(league, f"match {league.matches_played + 1} is being played; the table is shown again after it")
    try:
        played = league.run(seconds=seconds, matches=args.matches, on_match=show)
    except KeyboardInterrupt:
        print(f"\nstopped: {league.matches_played} matches are saved in {league.folder} (the match in progress is "
              f"not); continue with `arena league resume {league.folder}`", file=sys.stderr)
        league.close()
        return 130
    print(f"{verb} {plural(played, 'match', 'matches')}; {league.matches_played} in all in {league.folder}. "
          f"Continue with `arena league resume {league.folder}`; "
          f"watch with `arena replay serve {league.folder / 'replays'}`",
          file=sys.stderr)
    league.close()
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Ctrl-C (SIGINT, also when the shell started the league in the background) and SIGTERM stop the league
    cleanly: the match in progress is dropped, everything committed stays."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def _executor_maker(args: argparse.Namespace):
    """The local executor, or with --ray the Ray executor (league.ray_executor) on the given cluster."""
    from league.executor import LocalExecutor

    if args.ray is None:
        return LocalExecutor
    import functools

    from league.ray_executor import RayExecutor, RaySettings, require_ray

    require_ray()
    settings = RaySettings(address=None if args.ray == LOCAL_RAY else args.ray, workers=args.ray_workers,
                           worker_gpus=args.worker_gpus, learner_gpus=args.learner_gpus,
                           threads=args.threads)
    return functools.partial(RayExecutor, settings=settings)


def command_start(args: argparse.Namespace) -> int:
    from league.runner import League

    try:
        config = _config_from_args(args)
    except ConfigError as error:
        print(f"arena league start: {error}", file=sys.stderr)
        return 2
    folder = Path(args.out)
    if (folder / "league.sqlite").exists():
        print(f"arena league start: {folder} already holds a league; continue it with `arena league resume "
              f"{folder}`, or start another with --out", file=sys.stderr)
        return 2
    if not args.quiet:
        size = config.league_size
        print(f"starting a league ({config.kind.value}) on {config.scenario} in {folder}: main agents "
              f"{size.main_agents}, main exploiters {size.main_exploiters}, league exploiters "
              f"{size.league_exploiters}; {config.games_per_match} games per match", file=sys.stderr)
    try:
        league = League.create(folder, config, _executor_maker(args))
    except (StoreError, ValueError, OSError, RuntimeError) as error:
        print(f"arena league start: {error}", file=sys.stderr)
        return 2
    return _run(league, args, "played")


def command_resume(args: argparse.Namespace) -> int:
    from league.runner import League

    try:
        league = League.open(args.folder, _executor_maker(args))
    except (StoreError, ConfigError, ValueError, OSError, RuntimeError) as error:
        print(f"arena league resume: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"resuming the league in {args.folder} after {league.matches_played} matches", file=sys.stderr)
    return _run(league, args, "played")


def command_status(args: argparse.Namespace) -> int:
    try:
        store = LeagueStore.open(args.folder, read_only=True)
    except StoreError as error:
        print(f"arena league status: {error}", file=sys.stderr)
        return 2
    with store:
        config = LeagueConfig.from_dict(store.config(), source=str(store.path))
        players, payoff, ratings, stats = store.players(), store.payoff(config.payoff_decay), \
            store.latest_ratings(), _stats(store)
        evaluations = store.latest_evaluations()
    if args.json:
        print(json.dumps({"folder": str(args.folder), "config": config.to_dict(), "stats": stats,
                          "players": {n: {"role": p.role.value, "steps": p.steps, "snapshots": p.snapshots,
                                          "resets": p.resets, "parent": p.parent, "elo": ratings.get(n),
                                          **{f"vs_{o.value}": _evaluation_json(evaluations.get(n, {}).get(o.value))
                                             for o in FixedOpponent}}
                                      for n, p in players.items()},
                          "payoff": [[h, a, r.games, r.win_rate] for h, a, r in payoff.records()]}))
    else:
        print(league_table(players, payoff, ratings, stats, config, folder=Path(args.folder),
                           evaluations=evaluations))
    return 0


def add_league_commands(league: argparse.ArgumentParser) -> None:
    """`arena league start | resume | status | exploit` under the `league` parser (unset options: LeagueConfig's
    defaults)."""
    default = {field.name: field.default for field in dataclasses.fields(LeagueConfig)}
    commands = league.add_subparsers(dest="league_command", required=True)
    start = commands.add_parser("start", help="start a league (defaults: a small AlphaStar league on MarineMirror)",
                                parents=[common_options()])
    start.add_argument("--config", default=None, help="a league.toml (README: 'The league'); options override it")
    start.add_argument("--scenario", default=None, help=f"a two-player scenario (default {default['scenario']})")
    start.add_argument("--kind", default=None, choices=[k.value for k in LeagueKind])
    start.add_argument("--policy", default=None, help=f"entity or fullyconv (default {default['policy']})")
    start.add_argument("--action-space", default=None, choices=sorted(ACTION_SPACES),
                       help="what the learning players may do (default: the scenario's training preset's)")
    start.add_argument("--games-per-match", type=int, default=None, help=f"games of a matched pair per batch "
                                                                                   f"({default['games_per_match']})")
    start.add_argument("--screen-size", type=int, default=None, help=f"feature layers' size ({default['screen_size']})")
    start.add_argument("--init", default=None, help="a saved policy every player starts from and resets to")
    start.add_argument("--kl-coef", type=float, default=None,
                       help="with --init: weight of a KL penalty that keeps every player near it ([learner] kl_coef)")
    start.add_argument("--device", default=None, help=f"cpu or cuda (default {default['device']})")
    start.add_argument("--seed", type=int, default=None)
    start.add_argument("--out", default=DEFAULT_FOLDER, help=f"the league's folder (default {DEFAULT_FOLDER})")
    resume = commands.add_parser("resume", help="continue a league after a stop or a crash", parents=[common_options()])
    for parser in (start, resume):
        if parser is not start:
            parser.add_argument("folder", help="the league's folder")
        add_page_option(parser)
        parser.add_argument("--minutes", type=positive(float), default=None,
                            help="stop after this many minutes (the match in progress finishes); default: Ctrl-C")
        parser.add_argument("--matches", type=positive(int), default=None, help="stop after this many matches")
        parser.add_argument("--quiet", action="store_true", help="no live table")
        add_ray_options(parser, "league")
    status = commands.add_parser("status", parents=[common_options()], help="a league's table (also while it runs)")
    status.add_argument("folder")
    status.add_argument("--json", action="store_true")
    add_exploit_options(commands.add_parser("exploit", parents=[common_options()], help=EXPLOIT_HELP))
    add_serve_options(commands.add_parser("serve", parents=[common_options()], help=SERVE_HELP))
    league.set_defaults(run=lambda args: {"start": command_start, "resume": command_resume, "status": command_status,
                                           "exploit": command_exploit, "serve": command_serve}[args.league_command](args))
