"""What recording replays costs, and how big replays are.

    python benchmarks/replay.py                                   # the default scenarios below
    python benchmarks/replay.py --scenarios FullGame --agents bot:turtle bot:rush --batch 1

For each scenario it plays one batch of games with a replay recorder attached and times the recorder's own calls
(copying each step's units to the CPU, and gathering and compressing each game's file when it ends) against the
rest (agents and simulation). Overhead = recorder time / the rest. Sizes are the written files'.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import arena  # noqa: E402
from agents.registry import make_agent  # noqa: E402
from agents.rollout import play_episodes, play_matches  # noqa: E402
from arena.replay.format import read_replay  # noqa: E402
from arena.replay.recorder import ReplayRecorder  # noqa: E402
from arena.threads import set_torch_threads  # noqa: E402

DEFAULT_RUNS = [("MoveToBeacon", ["scripted"]), ("DefeatRoaches", ["scripted"]),
                ("CollectMineralsAndGas", ["scripted"]), ("MarineMirror", ["scripted", "scripted"])]


def default_agents(scenario: str) -> list[str]:
    """The scripted agent in every seat."""
    from arena.scenarios.registry import make_scenario

    return ["scripted"] * make_scenario(scenario).spec.num_agents


class TimedRecorder(ReplayRecorder):
    """A recorder that adds up the seconds spent in its own calls."""

    seconds = 0.0

    def reset(self, env, obs) -> None:
        start = time.perf_counter()
        super().reset(env, obs)
        self.seconds += time.perf_counter() - start

    def step(self, env, actions, obs, reward, info, explanations=None) -> None:
        start = time.perf_counter()
        super().step(env, actions, obs, reward, info, explanations)
        self.seconds += time.perf_counter() - start


def measure(scenario: str, agent_names: list[str], batch: int, seed: int) -> dict:
    env = arena.make(scenario, num_envs=batch)
    with tempfile.TemporaryDirectory() as folder:
        recorder = TimedRecorder(folder, agent_names)
        agents = [make_agent(name, scenario, seed=seed + 1000 * i) for i, name in enumerate(agent_names)]
        start = time.perf_counter()
        if len(agents) > 1:
            record = play_matches(env, agents, seed=seed, recorder=recorder)
        else:
            record = play_episodes(env, agents[0], seed=seed, recorder=recorder)
        total = time.perf_counter() - start
        sizes = [p.stat().st_size for p in recorder.saved]
        frames = [read_replay(p).num_frames for p in recorder.saved]
    return {"scenario": scenario, "batch": batch, "steps": record.steps, "total_s": total,
            "recorder_s": recorder.seconds, "overhead": recorder.seconds / (total - recorder.seconds),
            "mean_kib": sum(sizes) / len(sizes) / 1024, "max_kib": max(sizes) / 1024,
            "mean_frames": sum(frames) / len(frames)}


def main() -> None:
    set_torch_threads(1)  # one thread per process: README, "Learning on two CPU cores"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="*", default=None, help="scenario names (default: a mini-game mix)")
    parser.add_argument("--agents", nargs="+", default=None, help="agents for --scenarios (one per player)")
    parser.add_argument("--batch", type=int, default=64, help="games played side by side")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = DEFAULT_RUNS if not args.scenarios else [(s, args.agents or default_agents(s)) for s in args.scenarios]
    print(f"{'scenario':24s} {'games':>5s} {'steps':>6s} {'play s':>8s} {'record s':>9s} {'overhead':>9s} "
          f"{'frames':>7s} {'mean KiB':>9s} {'max KiB':>8s}")
    for scenario, agents in runs:
        r = measure(scenario, agents, args.batch, args.seed)
        print(f"{r['scenario']:24s} {r['batch']:5d} {r['steps']:6d} {r['total_s']:8.1f} {r['recorder_s']:9.2f} "
              f"{100 * r['overhead']:8.1f}% {r['mean_frames']:7.0f} {r['mean_kib']:9.1f} {r['max_kib']:8.1f}",
              flush=True)


if __name__ == "__main__":
    main()
