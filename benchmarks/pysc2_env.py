"""Agent steps per second of the PySC2-shaped single environment (`arena.pysc2_env.SC2Env`) on one CPU thread.

    python benchmarks/pysc2_env.py                        # MoveToBeacon, 64 x 64 layers, kernel and torch engines
    python benchmarks/pysc2_env.py --maps MoveToBeacon,DefeatRoaches --steps 200 --engines kernel,compiled

Each row: the map, what runs the engine's game loop (`arena.make`'s engine), steps/s over `--steps` no-op steps
(after a warm-up that also compiles), and the machine's load average (other processes slow the figure down).
The whole step is timed: FunctionCall -> engine -> pysc2 NamedDict observation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena import pysc2_env as sc2_env  # noqa: E402
from arena.compat.pysc2 import load_pysc2  # noqa: E402


def steps_per_second(map_name: str, *, engine: str, steps: int, warmup: int, size: int) -> float:
    actions = load_pysc2().actions
    aif = sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=size, minimap=size),
                                       use_feature_units=True)
    no_op = actions.FunctionCall(actions.FUNCTIONS.no_op.id, [])
    with sc2_env.SC2Env(map_name=map_name, players=[sc2_env.Agent(sc2_env.Race.terran)],
                        agent_interface_format=aif, step_mul=8, random_seed=0, engine=engine) as env:
        env.reset()
        for _ in range(warmup):
            env.step([no_op])
        start = time.perf_counter()
        for _ in range(steps):
            env.step([no_op])
        return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", default="MoveToBeacon")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--size", type=int, default=64, help="screen and minimap pixels per side")
    parser.add_argument("--engines", default="kernel,torch",
                        help="comma-separated engines to time: auto, kernel, torch, compiled (torch.compile)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    print(f"# torch {torch.__version__}, 1 thread, {os.cpu_count()} CPUs, {args.size}x{args.size} layers, "
          f"feature_units, step_mul 8, {args.steps} timed no-op steps")
    print(f"{'map':28s} {'engine':10s} {'steps/s':>9s}  load")
    for map_name in args.maps.split(","):
        for engine in (e for e in args.engines.split(",") if e):
            rate = steps_per_second(map_name, engine=engine, steps=args.steps, warmup=args.warmup, size=args.size)
            print(f"{map_name:28s} {engine:10s} {rate:9.1f}  "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
