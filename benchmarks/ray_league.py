"""How the league's throughput grows with Ray rollout workers: the same league (MarineMirror by default) run for the
same wall time with 1, 2, ... workers on a local Ray, and the local in-process executor for reference.

    python benchmarks/ray_league.py --minutes 5 --workers 1 2

Prints, for each: matches and games committed, learning agent steps, games per hour and agent steps per second of
the whole league (wall time from the first match's start to the last commit; Ray's start-up is not counted).
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

from arena.threads import set_torch_threads
from league.config import LeagueConfig
from league.executor import LocalExecutor
from league.runner import League


def measure(config: LeagueConfig, folder: Path, make_executor, minutes: float) -> dict:
    league = League.create(folder, config, make_executor)
    try:
        start = time.monotonic()
        summaries = league.run_matches(seconds=minutes * 60)
        seconds = time.monotonic() - start
    finally:
        league.close()
    games = sum(len(s.report.games) for s in summaries)
    steps = sum(s.report.agent_steps for s in summaries)
    return {"matches": len(summaries), "games": games, "steps": steps, "seconds": seconds,
            "games_per_hour": games * 3600 / seconds, "steps_per_second": steps / seconds}


def main() -> None:
    set_torch_threads(1)  # one thread per process: README, "Learning on two CPU cores"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="MarineMirror")
    parser.add_argument("--minutes", type=float, default=5.0, help="wall time of each run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts to run")
    parser.add_argument("--games-per-match", type=int, default=16)
    parser.add_argument("--no-local", action="store_true", help="skip the in-process reference run")
    args = parser.parse_args()
    import ray

    from league.ray_executor import RayExecutor, RaySettings

    config = LeagueConfig(scenario=args.scenario, games_per_match=args.games_per_match)
    runs = [] if args.no_local else [("local (in process)", LocalExecutor)]
    runs += [(f"ray, {n} worker{'s' * (n > 1)}", functools.partial(RayExecutor, settings=RaySettings(workers=n)))
             for n in args.workers]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ray-league-bench-") as scratch:
        for index, (label, make_executor) in enumerate(runs):
            if make_executor is not LocalExecutor and not ray.is_initialized():
                ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            print(f"{label}: {args.minutes:g} min ...", flush=True)
            row = measure(config, Path(scratch) / f"run{index}", make_executor, args.minutes)
            rows.append((label, row))
            print(f"  {row['matches']} matches, {row['games']} games, {row['steps']:,} agent steps in "
                  f"{row['seconds'] / 60:.1f} min", flush=True)
    print(f"\n{args.scenario}, {args.games_per_match} games per match, {args.minutes:g} min each")
    print(f"{'executor':<22} {'games/h':>8} {'agent steps/s':>14}")
    for label, row in rows:
        print(f"{label:<22} {row['games_per_hour']:>8.0f} {row['steps_per_second']:>14.1f}")


if __name__ == "__main__":
    main()
