"""Env-steps per second of every two-player scenario with the fairness limits on (AlphaStar's APM cap, 2 game loops
of action delay, fog of war) and off, at B = 256 and 1024 on one CPU thread.

    python benchmarks/two_player.py                                   # every two-player scenario, B = 256, 1024
    python benchmarks/two_player.py --batch-sizes 16,256 --steps 5 --scenarios MarineMirror

Both players take uniformly random available actions (random functions with random arguments, as pysc2's
RandomAgent), drawn outside the timed region; unit-list observations (feature_units and raw_units, no feature
layers). "cost" is 1 - (limits on / limits off): the share of throughput the limits take.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import arena  # noqa: E402
from agents.random_agent import RandomAgent  # noqa: E402
from arena.interface.limits import Limits  # noqa: E402
from arena.multi_env import ArenaMultiEnv, player_view  # noqa: E402

INTERFACE = arena.InterfaceFormat(feature_layers=False, raw_units=True)


def env_steps_per_second(scenario: str, batch: int, limits: Limits, steps: int, warmup: int,
                         engine: str = "auto") -> float:
    env = ArenaMultiEnv(scenario, num_envs=batch, interface=INTERFACE, limits=limits, engine=engine)
    obs, _ = env.reset(seed=0)
    agents = [RandomAgent(seed=player) for player in range(env.num_players)]
    first = torch.ones(batch, dtype=torch.bool)
    elapsed = 0.0
    for step in range(warmup + steps):
        actions = [agent.act(player_view(obs, p), first) for p, agent in enumerate(agents)]
        start = time.perf_counter()
        obs, _, _, _, info = env.step(actions)
        if step >= warmup:
            elapsed += time.perf_counter() - start
        first = info["step_type"] == 0
    return batch * steps / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="", help="comma-separated ids (default: every two-player scenario)")
    parser.add_argument("--batch-sizes", default="256,1024")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--engine", choices=("auto", "kernel", "torch", "compiled"), default="auto",
                        help="what runs the game loop (default auto: the compiled kernel on the CPU)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    scenarios = [s for s in args.scenarios.split(",") if s] or [
        s for s in arena.scenario_ids() if arena.make_scenario(s).spec.num_agents == 2]
    print(f"# torch {torch.__version__}, 1 thread, {os.cpu_count()} CPUs; random actions for both players; "
          f"unit lists; {args.steps} timed steps after {args.warmup} warm-up; engine {args.engine}")
    print(f"{'scenario':24s} {'B':>6s} {'limits on':>10s} {'limits off':>11s} {'cost':>6s}  load")
    for scenario in scenarios:
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            on = env_steps_per_second(scenario, batch, Limits(), args.steps, args.warmup, args.engine)
            off = env_steps_per_second(scenario, batch, Limits.off(), args.steps, args.warmup, args.engine)
            print(f"{scenario:24s} {batch:6d} {on:10,.0f} {off:11,.0f} {1 - on / off:6.0%}  {os.getloadavg()[0]:.1f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
