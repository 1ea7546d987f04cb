"""The built-in bots' tables on FullGame: each difficulty level against the one below (bot:k vs bot:k-1) and the
strategies against each other (rush, greedy, turtle), N games a pair, all games of a pair in one batch.

Fairness: game i uses seed i, so seeds s and s ^ 1 play the same game with the sides exchanged, and the first bot
takes player 1's seat in games 0, 1, 4, 5, ... and player 2's in games 2, 3, 6, 7, ...: sides and seats are crossed
in every four games. Results are the first bot's win / draw / loss percentages.

    python benchmarks/bot_tables.py --games 100
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.base import BatchedAgent  # noqa: E402
from agents.registry import make_agent  # noqa: E402
from agents.scripted import commands  # noqa: E402
from arena.env import StepType  # noqa: E402
from arena.interface.actions import BatchedAction  # noqa: E402
from arena.multi_env import ArenaMultiEnv, player_view  # noqa: E402

LADDER = [(f"bot:{k}", f"bot:{k - 1}") for k in range(2, 6)]
STRATEGIES = [("bot:rush", "bot:greedy"), ("bot:greedy", "bot:turtle"), ("bot:turtle", "bot:rush")]


class SeatMix(BatchedAgent):
    """One seat played by `agents[which[b]]` in game b: every agent sees every game, its action is used where it
    plays."""

    def __init__(self, agents: list[BatchedAgent], which: torch.Tensor) -> None:
        self.agents, self.which = agents, which

    def reset(self, num_envs: int) -> None:
        for agent in self.agents:
            agent.reset(num_envs)

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        actions = [agent.act(obs, first) for agent in self.agents]
        return commands.choose([(self.which == i, a) for i, a in enumerate(actions)], actions[0])


@dataclasses.dataclass(frozen=True)
class PairResult:
    first: str
    second: str
    wins: int
    draws: int
    losses: int
    mean_minutes: float

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses


def play_pair(first: str, second: str, games: int, scenario: str = "FullGame") -> PairResult:
    """`games` games of `first` against `second` in one batch (see the module docstring)."""
    env = ArenaMultiEnv(scenario, num_envs=games)
    seat_of_first = (torch.arange(games) // 2) % 2  # 0: player 1
    makers = [make_agent(first, scenario), make_agent(second, scenario)]
    seats = [SeatMix(makers, seat_of_first), SeatMix([make_agent(second, scenario), make_agent(first, scenario)],
                                                     seat_of_first)]
    obs, info = env.reset(seed=list(range(games)))
    for seat in seats:
        seat.reset(games)
    first_step = torch.ones(games, dtype=torch.bool)
    finished = torch.zeros(games, dtype=torch.bool)
    outcome = torch.zeros(games, dtype=torch.long)
    loops = torch.zeros(games)
    with tqdm(total=games, desc=f"{first} vs {second}", unit="game", file=sys.stderr) as bar:
        while not bool(finished.all()):
            actions = [seat.act(player_view(obs, p), first_step) for p, seat in enumerate(seats)]
            obs, _, _, _, info = env.step(actions)
            ending = (info["step_type"] == int(StepType.LAST)) & ~finished
            outcome = torch.where(ending, info["outcome"], outcome)
            loops = torch.where(ending, env.state.game_loop.float(), loops)
            finished |= ending
            first_step = info["step_type"] == int(StepType.FIRST)
            bar.set_postfix_str(f"game minute {float(env.state.game_loop.max()) / (22.4 * 60):.1f}", refresh=False)
            bar.update(int(finished.sum()) - bar.n)
    for_first = torch.where(seat_of_first == 0, outcome, -outcome)
    return PairResult(first, second, int((for_first > 0).sum()), int((for_first == 0).sum()),
                      int((for_first < 0).sum()), float(loops.mean()) / (22.4 * 60))


def print_table(title: str, pairs: list[tuple[str, str]], games: int) -> None:
    """Play the pairs and print each one's row as soon as it is done."""
    print(f"\n{title}")
    print(f"{'pair':28s} {'games':>5s} {'win %':>6s} {'draw %':>6s} {'loss %':>6s} {'min/game':>8s}", flush=True)
    for first, second in pairs:
        r = play_pair(first, second, games)
        n = max(r.games, 1)
        print(f"{r.first + ' vs ' + r.second:28s} {r.games:5d} {100 * r.wins / n:6.1f} {100 * r.draws / n:6.1f} "
              f"{100 * r.losses / n:6.1f} {r.mean_minutes:8.2f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=100, help="games per pair (even: mirror seeds come in pairs)")
    parser.add_argument("--tables", choices=["both", "ladder", "strategies"], default="both")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    if args.tables in ("both", "ladder"):
        print_table("Ladder (first bot's record)", LADDER, args.games)
    if args.tables in ("both", "strategies"):
        print_table("Strategies (first bot's record)", STRATEGIES, args.games)
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
