"""The league against plain self-play at equal compute, and the league's throughput.

Runs (or continues) two leagues on one scenario until each has trained the same number of agent steps in all
(summed over its learning players): an AlphaStar league (main agent, main exploiter, league exploiter) and a plain
self-play league (one main agent). Then plays the two main agents against each other (both seats, half the games
each) and each main agent against fixed opponents, and prints win rates with 95 % intervals, plus each league's games
per hour and agent steps per second.

    python benchmarks/league_vs_self_play.py --scenario MarineMirror --steps 60000 --games 200 --out runs/league-bench
    python benchmarks/league_vs_self_play.py --scenario FullGame --steps 2000000 --opponents bot:1 bot:2 bot:3 bot:4 bot:5

Re-running with a larger --steps continues both leagues where they stopped.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

import arena
from agents.policies.base import PolicyAgent
from agents.policies.checkpoint import load_policy
from agents.registry import make_agent
from agents.rollout import play_matches
from arena.threads import set_torch_threads
from league.config import LeagueConfig
from league.matchmaking import LeagueKind
from league.runner import League


def grow(folder: Path, config: LeagueConfig, steps: int) -> League:
    """The league in `folder` (made with `config` if missing), played until `steps` agent steps in all."""
    league = League.open(folder) if (folder / "league.sqlite").exists() else League.create(folder, config)
    start = time.monotonic()
    while int(league.store.stat("agent_steps", 0)) < steps:
        summary = league.play_match()
        done = int(league.store.stat("agent_steps", 0))
        print(f"  {config.kind.value}: match {summary.match_number} {summary.report.job.home} vs "
              f"{summary.report.job.away}: {done:,} / {steps:,} steps, {(time.monotonic() - start) / 60:.1f} min",
              flush=True)
    return league


def main_agent(league: League, device: str) -> PolicyAgent:
    player = league.players["main_agent_0"]
    path = league.folder / (player.checkpoint or "checkpoints/initial") / "policy"
    return PolicyAgent(load_policy(path, device=device), seed=123)


def head_to_head(scenario: str, first, second, games: int, seed: int, screen: int) -> tuple[float, int]:
    """(first's score: (wins + draws / 2) / games, games) over `games` games, half with first as player 1."""
    interface = arena.InterfaceFormat(screen_size=screen, minimap_size=screen)
    score, played = 0.0, 0
    for seat, (a, b) in enumerate([(first, second), (second, first)]):
        n = games // 2
        env = arena.make(scenario, num_envs=n, interface=interface)
        outcomes = play_matches(env, [a, b], seed=seed + seat * 100_000).outcomes
        for outcome in outcomes:
            mine = outcome if seat == 0 else -outcome
            score += 1.0 if mine > 0 else 0.5 if mine == 0 else 0.0
        played += n
    return score / played, played


def interval(p: float, n: int) -> str:
    half = 1.96 * math.sqrt(max(p * (1 - p), 1e-9) / n)
    return f"{p:.3f} +- {half:.3f}"


def throughput(league: League) -> str:
    seconds = float(league.store.stat("match_seconds", 0.0))
    games, steps = int(league.store.stat("games", 0)), int(league.store.stat("agent_steps", 0))
    return (f"{games} games, {steps:,} agent steps in {seconds / 60:.1f} min of matches: {games / seconds * 3600:.0f} "
            f"games/h, {steps / seconds:.0f} learning agent steps/s")


def main() -> None:
    set_torch_threads(1)  # one thread per process: README, "Learning on two CPU cores"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="MarineMirror")
    parser.add_argument("--steps", type=int, default=60_000, help="agent steps each league trains, in all")
    parser.add_argument("--games", type=int, default=200, help="evaluation games per pairing")
    parser.add_argument("--opponents", nargs="*", default=["scripted", "random"])
    parser.add_argument("--games-per-match", type=int, default=16)
    parser.add_argument("--screen-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/league-bench")
    args = parser.parse_args()
    out = Path(args.out)
    leagues = {}
    for kind in (LeagueKind.ALPHASTAR, LeagueKind.SELF_PLAY):
        config = LeagueConfig(scenario=args.scenario, kind=kind, games_per_match=args.games_per_match,
                              screen_size=args.screen_size, device=args.device, replay_every=0)
        print(f"{kind.value} league -> {args.steps:,} agent steps", flush=True)
        leagues[kind] = grow(out / kind.value, config, args.steps)
    league_agent = main_agent(leagues[LeagueKind.ALPHASTAR], args.device)
    self_play_agent = main_agent(leagues[LeagueKind.SELF_PLAY], args.device)
    scenario = leagues[LeagueKind.ALPHASTAR].config.scenario
    torch.set_grad_enabled(False)
    print(f"\n{scenario}, equal compute: {args.steps:,} agent steps per league")
    for kind, league in leagues.items():
        print(f"  {kind.value}: {throughput(league)}")
    score, n = head_to_head(scenario, league_agent, self_play_agent, args.games, 1_000_000, args.screen_size)
    print(f"league main agent vs self-play main agent: {interval(score, n)} over {n} games")
    for name in args.opponents:
        for label, agent in (("league", league_agent), ("self-play", self_play_agent)):
            opponent = make_agent(name, scenario, seed=7)
            score, n = head_to_head(scenario, agent, opponent, args.games, 2_000_000, args.screen_size)
            print(f"{label} main agent vs {name}: {interval(score, n)} over {n} games")
    for league in leagues.values():
        league.close()


if __name__ == "__main__":
    main()
