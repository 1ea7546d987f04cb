"""How well simpler, memoryless strategies play two mini-games, beside the scripted agents: what a policy that reads
only the present observation can be expected to reach (or to clone) on CollectMineralShards and DefeatRoaches.

- CollectMineralShards, `voronoi` (`scripted:voronoi`, agents.scripted.collect_mineral_shards): each Marine works
  the shards of its own territory (those nearer to it than to the other Marine): an idle selected Marine walks to its
  nearest shard, one arriving at a shard gets the next queued behind it, else the other Marine is selected when it is
  idle or arriving. No plan: everything it reads is in the observation. The scripted agent plans both routes ahead.
- DefeatRoaches, `focus_fire`: select the army, attack the weakest Roach (ties: the nearest), and keep at it. The
  scripted agent pulls the Roaches one at a time with a bait Marine.

    python benchmarks/teachers.py                 # 16 episodes each, at 16, 32 and 64 pixels
    python benchmarks/teachers.py --episodes 32 --sizes 32

Prints each strategy's mean score (and the scripted agent's, for comparison) per screen size.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import arena  # noqa: E402
from agents.base import BatchedAgent  # noqa: E402
from agents.registry import make_agent  # noqa: E402
from agents.rollout import play_episodes  # noqa: E402
from agents.scripted import commands  # noqa: E402
from agents.scripted.collect_mineral_shards import VoronoiShardsAgent  # noqa: E402
from agents.scripted.units import INF, ScreenUnits, centroid, gather_rows  # noqa: E402
from arena.interface.actions import BatchedAction  # noqa: E402
from arena.interface.functions import FunctionId  # noqa: E402
from arena.interface.view import InterfaceFormat  # noqa: E402

STICKY_NONE = -1.0


class FocusFire(BatchedAgent):
    """DefeatRoaches without tactics: the whole army attacks the weakest Roach (ties: the nearest) until it dies."""

    name = "focus_fire"

    def __init__(self) -> None:
        self.attacked: torch.Tensor | None = None

    def reset(self, num_envs: int) -> None:
        self.attacked = None

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        units = ScreenUnits.read(obs)
        B, device = first.shape[0], first.device
        size = int(obs["feature_screen"].shape[-1])
        if self.attacked is None or self.attacked.shape[0] != B:
            self.attacked = torch.full((B,), STICKY_NONE, device=device)
        self.attacked = torch.where(first, STICKY_NONE, self.attacked)
        all_selected = ~(units.own & ~units.selected).any(dim=1)
        army = centroid(units.pos, units.own)
        distance = torch.linalg.vector_norm(units.pos - army[:, None], dim=-1)
        row = torch.where(units.enemy, units.health + 0.1 * distance, INF).argmin(dim=1)
        tag = gather_rows(units.tag, row)
        attack = all_selected & units.enemy.any(dim=1) & (tag != self.attacked)
        self.attacked = torch.where(attack, tag, self.attacked)
        return commands.choose([
            (~all_selected & units.own.any(dim=1), commands.select_army(B, device)),
            (attack, commands.screen_command(FunctionId.Attack_screen, gather_rows(units.pos, row), size)),
        ], commands.no_op(B, device))


STRATEGIES = {"CollectMineralShards": VoronoiShardsAgent, "DefeatRoaches": FocusFire}


def mean_score(scenario: str, agent: BatchedAgent, size: int, episodes: int, seed: int) -> float:
    env = arena.make(scenario, num_envs=episodes, interface=InterfaceFormat(screen_size=size, minimap_size=size))
    return play_episodes(env, agent, seed=seed).mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"mean score over {args.episodes} episodes (seed {args.seed}), one torch thread "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    print(f"{'scenario':<22} {'strategy':<38} " + " ".join(f"{f'{s} px':>8}" for s in args.sizes))
    for scenario, strategy in STRATEGIES.items():
        for name, make in ((strategy.name, strategy), ("scripted", lambda: make_agent("scripted", scenario))):
            scores = [mean_score(scenario, make(), size, args.episodes, args.seed) for size in args.sizes]
            print(f"{scenario:<22} {name:<38} " + " ".join(f"{score:8.1f}" for score in scores), flush=True)


if __name__ == "__main__":
    main()
