"""The learning curve of an `arena train` run, from its log.jsonl: mean episode score (last 100 episodes) against
agent steps and wall time, and the steps at which it first reached a target score.

    arena train MoveToBeacon --steps 250000 --num-envs 64 --unroll 16 --entropy-coef 0.001 --out runs/beacon
    python benchmarks/learning_curve.py runs/beacon --target 26 --every 20
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="the run's folder (holds log.jsonl)")
    parser.add_argument("--target", type=float, default=None, help="report the first update reaching this score")
    parser.add_argument("--every", type=int, default=10, help="print every Nth update")
    args = parser.parse_args()
    lines = [json.loads(line) for line in (Path(args.run) / "log.jsonl").read_text().splitlines() if line.strip()]
    if not lines:
        raise SystemExit(f"{args.run}: no updates logged yet")
    wall = 0.0
    reached = None
    print(f"{'update':>7s} {'agent steps':>12s} {'wall min':>9s} {'steps/s':>8s} {'mean score':>11s} {'entropy':>8s}")
    for line in lines:
        wall += line["collect_seconds"] + line["learn_seconds"]
        score = line["mean_score_100"]
        if reached is None and args.target is not None and score is not None and score >= args.target:
            reached = (line["update"], line["agent_steps"], wall)
        if line["update"] % args.every == 0 or line is lines[-1]:
            shown = "-" if score is None or math.isnan(score) else f"{score:.2f}"
            print(f"{line['update']:7d} {int(line['agent_steps']):12d} {wall / 60:9.1f} "
                  f"{line['agent_steps'] / wall:8.0f} {shown:>11s} {line['entropy']:8.2f}")
    if args.target is not None:
        print(f"target {args.target:g}: " + ("not reached" if reached is None else
              f"reached at update {reached[0]}, {int(reached[1])} agent steps, {reached[2] / 60:.1f} min"))
    evaluations = Path(args.run) / "evaluations.jsonl"
    if evaluations.is_file():
        for line in evaluations.read_text().splitlines():
            e = json.loads(line)
            print(f"evaluation after {e['agent_steps']} agent steps: {e['eval_episodes']} episodes, mean "
                  f"{e['eval_mean']:.2f} (std {e['eval_std']:.2f})")


if __name__ == "__main__":
    main()
