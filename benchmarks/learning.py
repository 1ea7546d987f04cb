"""Learning targets: train each scenario's preset (agents.learn.presets) within a budget of agent steps and minutes,
then evaluate over 100 episodes; print the README's table, write results.json and a learning-curve PNG.

    python benchmarks/learning.py --scenarios MoveToBeacon --out runs/learning          # about 5 minutes
    python benchmarks/learning.py --out runs/learning                                   # every row: about 10 hours

Runs one process on one torch thread (the fastest on 2 cores; README, "Threads"); run it with nothing else on the
machine, since wall-clock budgets are part of the targets. The PNG needs matplotlib (pip install matplotlib).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

from agents.learn.config import TrainConfig
from agents.learn.evaluation import evaluate
from agents.learn.presets import preset_for
from agents.learn.trainer import Trainer
from agents.policies.checkpoint import save_policy
from arena.threads import set_torch_threads


@dataclasses.dataclass(frozen=True)
class Target:
    """One row of the issue's targets."""

    scenario: str
    score: float
    """Mean evaluation score to reach (two-player rows: the win rate against the opponent)."""
    minutes: float
    steps: int
    """Agent steps allowed."""
    reference: str
    """Where the target comes from."""
    scripted: float | None
    """Our scripted agent's mean score (README), for scale."""
    overrides: tuple[tuple[str, object], ...] = ()


TARGETS = (
    Target("MoveToBeacon", 25, 5, 100_000, "Reaver PPO: 25 in 102,400 samples", 26.4),
    Target("CollectMineralShards", 103, 60, 2_000_000, "PySC2 paper FullyConv", 132.6),
    Target("FindAndDefeatZerglings", 45, 60, 2_000_000, "PySC2 paper FullyConv", 48.9),
    Target("DefeatRoaches", 100, 60, 2_000_000, "PySC2 paper FullyConv", 268.0),
    Target("DefeatZerglingsAndBanelings", 62, 60, 2_000_000, "PySC2 paper FullyConv", 1067.8),
    Target("CollectMineralsAndGas", 3978, 120, 4_000_000, "PySC2 paper FullyConv", 5718.0),
    Target("BuildMarines", 3, 120, 4_000_000, "PySC2 paper FullyConv", 137.0),
    Target("MarineMirror", 0.6, 30, 1_000_000, "win rate against scripted", None),
)


def train(target: Target, folder: Path, *, minutes: float, steps: int, seed: int) -> dict:
    """Train the preset until `steps` agent steps or `minutes`, whichever comes first; evaluate; return the row."""
    preset = preset_for(target.scenario)
    settings = dict(preset.settings) if preset else {}
    config = TrainConfig(scenario=target.scenario, seed=seed, **{**settings, **dict(target.overrides)})
    start = time.perf_counter()  # a warm start (cloning a teacher first) counts against the budget
    trainer = Trainer(config, folder, on_stage=lambda stage: print(stage, file=sys.stderr, flush=True))
    curve = []
    while trainer.progress.agent_steps < steps and time.perf_counter() - start < minutes * 60:
        trainer.update()
        curve.append((trainer.progress.agent_steps, time.perf_counter() - start, trainer.progress.mean_score))
    seconds = time.perf_counter() - start
    trainer.save_checkpoint()
    save_policy(trainer.policy, folder / "policy")
    evaluation = evaluate(trainer.policy, config, 100)
    score = evaluation.mean
    if trainer.seat.two_player:  # the win rate: results are +1 / 0 / -1
        score = sum(1 for s in evaluation.scores if s > 0) / len(evaluation.scores)
    reached = next(((s, t) for s, t, m in curve if not math.isnan(m) and m >= target.score), None)
    return {"scenario": target.scenario, "target": target.score, "budget_minutes": minutes, "budget_steps": steps,
            "agent_steps": trainer.progress.agent_steps, "minutes": seconds / 60,
            "steps_per_second": trainer.progress.agent_steps / seconds, "eval_mean": score,
            "eval_std": evaluation.std, "eval_episodes": 100, "met": score >= target.score,
            "training_mean_reached_target_at": None if reached is None else {"agent_steps": reached[0],
                                                                            "minutes": reached[1] / 60},
            "scripted": target.scripted, "reference": target.reference, "policy": config.policy,
            "action_space": config.action_space, "curve": curve, "folder": str(folder),
            "warm_start": _warm_start_summary(trainer)}


def _warm_start_summary(trainer: Trainer) -> dict | None:
    """The teacher, its mean score, the clone's size and accuracy and the seconds the warm start took."""
    report = trainer.warm_start_report
    if report is None:
        return None
    return {"teacher": trainer.config.warm_start, "teacher_mean": report.teacher_mean,
            "examples": report.examples, "function_accuracy": report.epochs[-1].function_accuracy,
            "seconds": sum(report.seconds.values())}


def table(rows: list[dict]) -> str:
    lines = ["| scenario | target | evaluation (100 episodes) | met | agent steps | minutes | steps/s | "
             "training mean first at target | scripted | policy, action space |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        first = r["training_mean_reached_target_at"]
        lines.append(
            f"| {r['scenario']} | {r['target']:g} in {r['budget_minutes']:g} min, {r['budget_steps']:,} steps | "
            f"{r['eval_mean']:.2f} (std {r['eval_std']:.2f}) | {'yes' if r['met'] else 'no'} | "
            f"{r['agent_steps']:,} | {r['minutes']:.1f} | {r['steps_per_second']:.0f} | "
            + ("-" if first is None else f"{first['agent_steps']:,} steps, {first['minutes']:.1f} min")
            + f" | {'-' if r['scripted'] is None else r['scripted']} | {r['policy']}, {r['action_space']}"
            + ("" if not r.get("warm_start") else
               f", cloned from {r['warm_start']['teacher']} ({r['warm_start']['seconds'] / 60:.1f} min)") + " |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: the curve PNG is skipped (pip install matplotlib)", file=sys.stderr)
        return False
    figure, axes = plt.subplots(len(rows), 2, figsize=(10, 3 * len(rows)), squeeze=False)
    for (by_steps, by_time), row in zip(axes, rows):
        steps = [s for s, _, _ in row["curve"]]
        minutes = [t / 60 for _, t, _ in row["curve"]]
        scores = [m for _, _, m in row["curve"]]
        for axis, xs, label in ((by_steps, steps, "agent steps"), (by_time, minutes, "wall minutes (2 CPU cores)")):
            axis.plot(xs, scores)
            axis.axhline(row["target"], color="grey", linestyle="--", linewidth=1)
            axis.set_xlabel(label)
            axis.set_ylabel("mean score, last 100 episodes")
            axis.set_title(f"{row['scenario']} ({row['policy']}, {row['action_space']})")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = [t.scenario for t in TARGETS]
    parser.add_argument("--scenarios", nargs="+", default=names, choices=names)
    parser.add_argument("--out", default="runs/learning", help="a new folder for the runs and results")
    parser.add_argument("--minutes-scale", type=float, default=1.0, help="multiply every time budget")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    set_torch_threads(1)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} is not empty: give a new --out")
    rows = []
    for target in (t for t in TARGETS if t.scenario in args.scenarios):
        print(f"{target.scenario}: up to {target.steps:,} agent steps or {target.minutes * args.minutes_scale:g} "
              "min", file=sys.stderr, flush=True)
        rows.append(train(target, out / target.scenario, minutes=target.minutes * args.minutes_scale,
                          steps=target.steps, seed=args.seed))
        (out / "results.json").write_text(json.dumps(rows, indent=1))
        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows))
    if plot(rows, out / "learning.png"):
        print(f"curves: {out / 'learning.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
