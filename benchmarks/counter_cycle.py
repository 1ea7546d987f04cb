"""The payoff table of CounterPick (arena/scenarios/counter_pick.py): every pair of compositions, the scripted agent
on both sides (`scripted:<composition>`, agents/scripted/counter_pick.py), each pair with the seats swapped, N games
each, batched. Prints each row composition's win rate against each column composition, and its wins / draws / losses
as player 1 and as player 2 (the seats share seeds, so each composition plays each start side in turn).

    python benchmarks/counter_cycle.py                      # 32 games per pair and seat
    python benchmarks/counter_cycle.py --games 8 --limits off

A cycle shows when each composition beats the next (Zerglings > Roaches > Banelings > Zerglings) in >= 70 % of
games.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.registry import make_agent  # noqa: E402
from agents.rollout import play_matches  # noqa: E402
from arena.interface.limits import Limits  # noqa: E402
from arena.interface.view import InterfaceFormat  # noqa: E402
from arena.multi_env import ArenaMultiEnv  # noqa: E402
from arena.scenarios.counter_pick import Composition  # noqa: E402
from league.evaluation import Tally  # noqa: E402

SCENARIO = "CounterPick"
CYCLE_THRESHOLD = 0.7


def play(first: Composition, second: Composition, *, games: int, seed: int, limits: Limits,
         interface: InterfaceFormat) -> Tally:
    """`games` games (one episode each, batched) of `first` as player 1 against `second` as player 2: player 1's
    record."""
    env = ArenaMultiEnv(SCENARIO, num_envs=games, interface=interface, limits=limits)
    agents = [make_agent(f"scripted:{c.name.lower()}", SCENARIO, seed=p) for p, c in enumerate((first, second))]
    return Tally.of(play_matches(env, agents, seed=seed).outcomes)


def win_rate(as_first: Tally, as_second: Tally) -> float:
    """Share of games won, both seats together (a draw counts as no win)."""
    return (as_first.wins + as_second.wins) / max(as_first.games + as_second.games, 1)


def swapped(record: Tally) -> Tally:
    return Tally(wins=record.losses, draws=record.draws, losses=record.wins)


def payoff(games: int, seed: int, limits: Limits, interface: InterfaceFormat
           ) -> dict[tuple[Composition, Composition], tuple[Tally, Tally]]:
    """(row, column) -> (row's record as player 1, row's record as player 2), every ordered pair of different
    compositions."""
    table = {}
    for a, b in itertools.combinations(Composition, 2):
        a_first = play(a, b, games=games, seed=seed, limits=limits, interface=interface)
        b_first = play(b, a, games=games, seed=seed, limits=limits, interface=interface)
        table[a, b] = (a_first, swapped(b_first))
        table[b, a] = (b_first, swapped(a_first))
    return table


def format_table(table: dict[tuple[Composition, Composition], tuple[Tally, Tally]]) -> list[str]:
    names = [c.name.capitalize() for c in Composition]
    lines = [f"{'row beats column':18s}" + "".join(f"{n:>12s}" for n in names)]
    for row in Composition:
        cells = ["-" if row == col else f"{win_rate(*table[row, col]):.0%}" for col in Composition]
        lines.append(f"{row.name.capitalize():18s}" + "".join(f"{c:>12s}" for c in cells))
    lines.append("")
    lines.append("row vs column       as player 1 (W/D/L)   as player 2 (W/D/L)")
    for (row, col), (first, second) in table.items():
        lines.append(f"{row.name.capitalize():>9s} vs {col.name.capitalize():9s}   "
                     f"{first.wins:3d}/{first.draws:3d}/{first.losses:3d}           "
                     f"{second.wins:3d}/{second.draws:3d}/{second.losses:3d}")
    cycle = all(win_rate(*table[c, Composition((c + 1) % 3)]) >= CYCLE_THRESHOLD for c in Composition)
    lines.append(f"cycle (each beats the next in >= {CYCLE_THRESHOLD:.0%}): {'yes' if cycle else 'no'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=32, help="games per pair and seat")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limits", choices=("on", "off"), default="on",
                        help="the fairness limits (APM cap, action delay; default on, as `arena play`)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    limits = Limits() if args.limits == "on" else Limits.off()
    start = time.perf_counter()
    table = payoff(args.games, args.seed, limits, InterfaceFormat())
    print(f"# {SCENARIO}: scripted:<composition> on both sides, {args.games} games per pair and seat, seeds "
          f"{args.seed}..{args.seed + args.games - 1}, limits {args.limits}; {time.perf_counter() - start:.0f} s on "
          f"{os.cpu_count()} CPUs, 1 thread")
    print("\n".join(format_table(table)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
