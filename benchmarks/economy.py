"""Env-steps per second of the economy scenarios (the full 1v1 game and the two economy mini-games) at B = 1, 256
and 1024, and what a whole 10-minute full game costs at B = 256.

    python benchmarks/economy.py                                  # FullGame, CollectMineralsAndGas, BuildMarines
    python benchmarks/economy.py --scenarios FullGame --batch-sizes 1,64 --steps 20 --warmup 60
    python benchmarks/economy.py --engine torch                   # the torch passes instead of the kernel

Agents: the built-in bot:3 in both seats of the full game (fairness limits on), the scripted agents on the
mini-games; the default interface (feature layers and unit lists). The timed steps come after `--warmup` steps, so that the
games have grown (workers, structures, armies); an env-step is `step_mul` (8) game loops of one game. Agents act
outside the timed region. "10-min game" is 13,440 game loops / (loops per second of the batch): the wall time of a
full-length game of every game in the batch at that throughput.
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
from agents.registry import make_agent  # noqa: E402
from arena.env import ArenaEnv  # noqa: E402
from arena.multi_env import ArenaMultiEnv, player_view  # noqa: E402

INTERFACE = arena.InterfaceFormat()
"""The default interface (feature layers and unit lists): what the bots and scripted agents read."""
TEN_MINUTES_LOOPS = 13_440
"""10 real minutes at "faster": 600 x 22.4 game loops."""


def timed_steps(env, act, batch: int, steps: int, warmup: int) -> float:
    """Env-steps per second of `env` over `steps` steps after `warmup`; `act(obs, first)` gives the actions."""
    obs, _ = env.reset(seed=0)
    first = torch.ones(batch, dtype=torch.bool)
    elapsed = 0.0
    for step in range(warmup + steps):
        actions = act(obs, first)
        start = time.perf_counter()
        obs, _, _, _, info = env.step(actions)
        if step >= warmup:
            elapsed += time.perf_counter() - start
        first = info["step_type"] == 0
    return batch * steps / elapsed


def steps_per_second(scenario: str, batch: int, steps: int, warmup: int, bot: str, engine: str = "auto") -> float:
    if arena.make_scenario(scenario).spec.num_agents == 2:
        env = ArenaMultiEnv(scenario, num_envs=batch, interface=INTERFACE, engine=engine)
        agents = [make_agent(bot, scenario, seed=p) for p in range(2)]
        for agent in agents:
            agent.reset(batch)
        return timed_steps(env, lambda obs, first: [a.act(player_view(obs, p), first) for p, a in enumerate(agents)],
                           batch, steps, warmup)
    env = ArenaEnv(scenario, num_envs=batch, interface=INTERFACE, engine=engine)
    agent = make_agent("scripted", scenario)
    agent.reset(batch)
    return timed_steps(env, agent.act, batch, steps, warmup)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="FullGame,CollectMineralsAndGas,BuildMarines")
    parser.add_argument("--batch-sizes", default="1,256,1024")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=150, help="steps before timing (150 = 53 s of game)")
    parser.add_argument("--bot", default="bot:3", help="the full game's agent in both seats")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--engine", choices=("auto", "kernel", "torch", "compiled"), default="auto",
                        help="what runs the game loop (default auto: the compiled kernel on the CPU)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
          f"{args.steps} timed steps after {args.warmup}; engine {args.engine}")
    print(f"{'scenario':24s} {'B':>6s} {'env-steps/s':>12s} {'loops/s':>10s} {'10-min game':>12s}  load")
    for scenario in (s for s in args.scenarios.split(",") if s):
        step_mul = arena.make_scenario(scenario).spec.step_mul
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            rate = steps_per_second(scenario, batch, args.steps, args.warmup, args.bot, args.engine)
            loops_per_second = rate * step_mul / batch
            print(f"{scenario:24s} {batch:6d} {rate:12,.0f} {loops_per_second:10,.1f} "
                  f"{TEN_MINUTES_LOOPS / loops_per_second / 60:10.1f} m  {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
