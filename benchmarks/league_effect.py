"""The league's effect, rung by rung of AlphaStar's ablation: every league kind at equal compute, on a ladder and
against an exploiter.

On each scenario (default MarineMirror, TerranVsZerg and the non-transitive CounterPick), grows one league of every
kind in league.matchmaking.LeagueKind (fictitious_self_play, pfsp, self_play, pfsp_self_play,
pfsp_self_play_main_exploiters, alphastar) until it has trained the same number of agent steps in all (summed over
its learning players, as benchmarks/league_vs_self_play.py's `grow` counts them). Then:

- one ladder (league.ladder.round_robin) of every kind's final main agent (main_agent_0's latest checkpoint) plus
  `scripted` and `random`, anchored at `random`: Elo with its 95 % bootstrap interval, and the score against
  `scripted` from the ladder's payoff;
- each final main agent's exploitability (league.exploit, as `arena league exploit DIR --player main_agent_0`): a
  fresh exploiter trained against it from the league's initial parameters, and its final win rate.

Prints one table per scenario and writes `results.json` into --out (per scenario and kind: agent steps, minutes of
matches, Elo, score against scripted, the exploiter's final win rate and interval).

    python benchmarks/league_effect.py --steps 60000 --ladder-games 40 --exploit-steps 20000 --exploit-games 32
    python benchmarks/league_effect.py --scenarios MarineMirror --kinds self_play alphastar --steps 2000 \\
        --ladder-games 4 --exploit-steps 500 --exploit-games 4 --out /tmp/le_smoke
    python benchmarks/league_effect.py --scenarios MarineMirror --kinds fictitious_self_play self_play alphastar \
        --init MarineMirror=runs/bc/policy.json --steps 30000 --ladder-games 20 --exploit-steps 10000

`--init SCENARIO=POLICY` starts every kind's players, and the exploiters, on that scenario from a saved policy (the
README's first command clones one for MarineMirror into runs/bc), as AlphaStar's league started from its supervised
agent; `--kl-coef` (0.1) keeps the learners near it.

Files under --out: `<scenario>/<kind>/` (the league), `<scenario>/ladder-<steps>/` (the ladder and its report),
`<scenario>/exploits/<kind>-<steps>/` (the exploit runs), `results.json`. Re-running continues the leagues where they
stopped (a larger --steps trains them further, and the ladder and exploit runs at that step count are new; the same
command again reuses them).

Time: the smoke run above (one scenario, two kinds, 2,000 steps each: a league stops at the end of the match that
passes --steps, here about 3,100) took 2.8 minutes on a 2-core CPU with OMP_NUM_THREADS=1; the same command again
takes 10 seconds (everything reused). League training dominates and scales with --steps x kinds x scenarios: on
MarineMirror a league grows about 65 agent steps a second of wall time and an exploiter about 50, so the first
command (18 leagues of 60,000 agent steps, 18 exploiters of 20,000) takes hours on 2 cores: about 2.5 per scenario
on MarineMirror, some 8 to 12 in all (an estimate from the smoke run, not measured; TerranVsZerg and CounterPick
may be slower per step).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from arena.scenarios.registry import resolve_id
from arena.threads import set_torch_threads
from league.config import LeagueConfig
from league.exploit import ExploitResult, ExploitRun, ExploitSettings, CURVE_JSON
from league.ladder.round_robin import LadderPlayer, LadderSettings, LadderStore, build_report, report_json, run_ladder
from league.matchmaking import LeagueKind
from league.runner import League
from league_vs_self_play import grow

DEFAULT_SCENARIOS = ("MarineMirror", "TerranVsZerg", "CounterPick")
MAIN_AGENT = "main_agent_0"
FIXED_OPPONENTS = ("scripted", "random")
ANCHOR = "random"
"""The ladder's player rated 0."""


@dataclasses.dataclass(frozen=True)
class KindResult:
    """One league kind's figures on one scenario."""

    kind: str
    agent_steps: int
    """Learning agent steps the league trained, summed over its learning players."""
    match_minutes: float
    """Minutes its matches took (the league's own clock, summed over re-runs)."""
    elo: float
    elo_low: float
    elo_high: float
    """The final main agent's ladder Elo and its 95 % bootstrap interval (random = 0)."""
    vs_scripted: float | None
    """The main agent's score against scripted on the ladder: (wins + draws / 2) / games."""
    exploiter_win_rate: float
    exploiter_low: float
    exploiter_high: float
    """The exploiter's final win rate against the main agent, with its 95 % Wilson interval."""


def main_agent_policy(league: League) -> Path:
    """main_agent_0's latest checkpoint's policy file (the initial parameters before its first match)."""
    player = league.players[MAIN_AGENT]
    return league.folder / (player.checkpoint or "checkpoints/initial") / "policy.json"


def ladder_players(policies: dict[str, Path]) -> list[LadderPlayer]:
    """One ladder player per kind (named by the kind) and the fixed opponents."""
    mains = [LadderPlayer(name=kind, spec=f"policy:{path}", kind="policy") for kind, path in policies.items()]
    return mains + [LadderPlayer(name=name, spec=name, kind=name) for name in FIXED_OPPONENTS]


def play_ladder(folder: Path, scenario: str, players: list[LadderPlayer], games: int) -> dict:
    """Play (or finish) the ladder in `folder` and return its report; every pair plays `games` games."""
    store = LadderStore.open(folder) if (folder / "ladder.sqlite").exists() else \
        LadderStore.create(folder, scenario=resolve_id(scenario))
    with store:
        store.add_players(players)
        run_ladder(store, LadderSettings(games=games, min_games=0, batch=min(games - games % 2, 10) or 2))
        report = build_report(store, anchor=ANCHOR)
    (folder / "report.json").write_text(report_json(report))
    return report


def score_against(report: dict, player: str, opponent: str) -> float | None:
    """`player`'s score against `opponent` from the ladder report's payoff (None: they never met)."""
    names = [row["name"] for row in report["players"]]
    return report["payoff"][names.index(player)][names.index(opponent)]


def exploit(league_folder: Path, run_folder: Path, steps: int, games: int) -> ExploitResult:
    """Train (or resume, or reread) an exploiter of the league's main agent to `steps` agent steps."""
    settings = ExploitSettings(league=league_folder, player=MAIN_AGENT, steps=steps, out=run_folder,
                               resume=(run_folder / CURVE_JSON).exists(), eval_every=steps, eval_games=games)
    run = ExploitRun(settings)
    try:
        return run.train()
    finally:
        run.close()


def kind_result(kind: str, league: League, report: dict, exploited: ExploitResult) -> KindResult:
    row = next(row for row in report["players"] if row["name"] == kind)
    low, high = exploited.final.interval
    return KindResult(kind=kind, agent_steps=int(league.store.stat("agent_steps", 0)),
                      match_minutes=float(league.store.stat("match_seconds", 0.0)) / 60,
                      elo=row["elo"], elo_low=row["elo_low"], elo_high=row["elo_high"],
                      vs_scripted=score_against(report, kind, "scripted"),
                      exploiter_win_rate=exploited.final.win_rate, exploiter_low=low, exploiter_high=high)


def table(scenario: str, results: list[KindResult]) -> str:
    header = (f"{'kind':<32} {'agent steps':>11} {'minutes':>8} {'Elo [95 %]':>22} {'vs scripted':>11} "
              f"{'exploiter [95 %]':>22}")
    lines = [f"\n{scenario}", header, "-" * len(header)]
    for r in sorted(results, key=lambda r: -r.elo):
        scripted = "-" if r.vs_scripted is None else f"{r.vs_scripted:.3f}"
        lines.append(f"{r.kind:<32} {r.agent_steps:>11,} {r.match_minutes:>8.1f} "
                     f"{f'{r.elo:.0f} [{r.elo_low:.0f}, {r.elo_high:.0f}]':>22} {scripted:>11} "
                     f"{f'{r.exploiter_win_rate:.3f} [{r.exploiter_low:.2f}, {r.exploiter_high:.2f}]':>22}")
    return "\n".join(lines)


def run_scenario(scenario: str, kinds: list[LeagueKind], args: argparse.Namespace) -> list[KindResult]:
    """Grow every kind's league, play their main agents' ladder and exploit each; the kinds' results."""
    root = Path(args.out) / scenario
    leagues: dict[str, League] = {}
    try:
        for kind in kinds:
            init = args.init.get(scenario)
            config = LeagueConfig.from_dict({"scenario": scenario, "kind": kind.value, "replay_every": 0,
                                             **({"init": init, "learner": {"kl_coef": args.kl_coef}} if init else {})},
                                            source="the options")
            print(f"{scenario}: {kind.value} league -> {args.steps:,} agent steps", flush=True)
            leagues[kind.value] = grow(root / kind.value, config, args.steps)
        policies = {kind: main_agent_policy(league) for kind, league in leagues.items()}
        print(f"{scenario}: ladder of {', '.join(policies)}, {', '.join(FIXED_OPPONENTS)}", flush=True)
        report = play_ladder(root / f"ladder-{args.steps}", scenario, ladder_players(policies), args.ladder_games)
        results = []
        for kind, league in leagues.items():
            print(f"{scenario}: exploiter of {kind}'s {MAIN_AGENT} -> {args.exploit_steps:,} steps", flush=True)
            exploited = exploit(league.folder, root / "exploits" / f"{kind}-{args.steps}", args.exploit_steps,
                                args.exploit_games)
            results.append(kind_result(kind, league, report, exploited))
        return results
    finally:
        for league in leagues.values():
            league.close()


def init_policies(given: list[str], scenarios: list[str]) -> dict[str, str]:
    """`--init SCENARIO=POLICY ...` as scenario -> policy file.

    Raises:
        ValueError: an entry without `=`, a scenario not benchmarked, or a policy file that does not exist.
    """
    policies = {}
    for entry in given:
        scenario, equals, policy = entry.partition("=")
        if not equals or not policy:
            raise ValueError(f"--init takes SCENARIO=POLICY, got {entry!r}")
        if scenario not in scenarios:
            raise ValueError(f"--init names {scenario}, which is not among --scenarios ({', '.join(scenarios)})")
        if not Path(policy).is_file():
            raise ValueError(f"--init {entry}: no policy file {policy}")
        policies[scenario] = policy
    return policies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="+", default=list(DEFAULT_SCENARIOS))
    parser.add_argument("--kinds", nargs="+", default=[kind.value for kind in LeagueKind],
                        choices=[kind.value for kind in LeagueKind])
    parser.add_argument("--steps", type=int, default=60_000, help="learning agent steps each league trains, in all")
    parser.add_argument("--ladder-games", type=int, default=40, help="games per ladder pair (seats swapped)")
    parser.add_argument("--exploit-steps", type=int, default=20_000, help="each exploiter's agent steps")
    parser.add_argument("--exploit-games", type=int, default=32, help="games of the exploiter's final evaluation")
    parser.add_argument("--init", nargs="+", default=[], metavar="SCENARIO=POLICY",
                        help="start every kind's players (and the exploiters) on SCENARIO from a saved policy, e.g. "
                             "a clone from `arena train bc` (AlphaStar's supervised start); default: fresh weights")
    parser.add_argument("--kl-coef", type=float, default=0.1,
                        help="with --init: the KL weight that keeps the learners near it ([learner] kl_coef)")
    parser.add_argument("--out", default="runs/league-effect")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in this process")
    args = parser.parse_args()
    try:
        args.init = init_policies(args.init, args.scenarios)
    except ValueError as error:
        parser.error(str(error))
    set_torch_threads(args.threads)  # README, "Learning on two CPU cores"
    kinds = [LeagueKind(kind) for kind in args.kinds]
    everything = {}
    for scenario in args.scenarios:
        results = run_scenario(scenario, kinds, args)
        print(table(scenario, results), flush=True)
        everything[scenario] = [dataclasses.asdict(result) for result in results]
        out = Path(args.out) / "results.json"
        out.write_text(json.dumps({"steps": args.steps, "ladder_games": args.ladder_games,
                                   "exploit_steps": args.exploit_steps, "exploit_games": args.exploit_games,
                                   "scenarios": everything}, indent=1))
    print(f"\nresults: {Path(args.out) / 'results.json'}")


if __name__ == "__main__":
    main()
