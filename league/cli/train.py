"""`arena train SCENARIO`: one neural policy on one scenario (PPO or V-trace); `arena train bc` is league.cli.bc."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from agents.learn.config import ALGORITHMS, TRAIN_DEFAULTS, TrainConfig
from agents.learn.evaluation import evaluate
from agents.learn.presets import Preset, preset_for, presets_table
from agents.learn.trainer import Trainer
from agents.policies import POLICY_KINDS
from agents.policies.action_space import ACTION_SPACES
from arena.scenarios.registry import make_scenario, resolve_id
from league.progress import progress_bar

DEFAULT_STEPS = 100_000
"""Agent steps of a run without a preset and without --steps."""


FLAG_FIELDS = {"policy": "policy", "algo": "algo", "num_envs": "num_envs", "unroll": "unroll", "epochs": "epochs",
               "minibatches": "minibatches", "lr": "learning_rate", "gamma": "gamma",
               "entropy_coef": "entropy_coef", "opponent": "opponent", "kl_to": "kl_to", "kl_coef": "kl_coef",
               "seed": "seed", "device": "device", "init": "init", "action_space": "action_space",
               "reward_scale": "reward_scale", "see_time": "see_time", "stagger": "stagger",
               "relative_positions": "relative_positions", "selection_summary": "selection_summary",
               "warm_start_episodes": "warm_start_episodes", "warm_start_epochs": "warm_start_epochs",
               "critic_warmup": "critic_warmup"}
"""Command-line options (argparse dest) -> the TrainConfig field each sets."""


def _config(args: argparse.Namespace) -> tuple[TrainConfig, Preset | None, list[str]]:
    """The run's config: the scenario's preset (unless --no-preset), then every option given on top; with the
    preset used and the names of the options that overrode it."""
    scenario = resolve_id(args.scenario)
    preset = None if args.no_preset else preset_for(scenario)
    settings = dict(preset.settings) if preset else {}
    given = {field: getattr(args, dest) for dest, field in FLAG_FIELDS.items() if getattr(args, dest) is not None}
    if args.screen_size is not None:
        given.update(screen_size=args.screen_size, minimap_size=args.screen_size)
    if args.mixed_precision:
        given["mixed_precision"] = True
    if args.warm_start is not None:
        given["warm_start"] = None if args.warm_start == "none" else args.warm_start
    overridden = sorted(key for key in given if key in settings and settings[key] != given[key])
    return TrainConfig(scenario=scenario, **{**settings, **given}), preset, overridden


def command_train(args: argparse.Namespace) -> int:
    if args.presets:
        print(presets_table())
        return 0
    if args.scenario is None:
        print("arena train: name a scenario (e.g. MoveToBeacon), or `bc` (arena train bc --help), or --presets to "
              "list the presets",
              file=sys.stderr)
        return 2
    try:
        config, preset, overridden = _config(args)
    except (KeyError, ValueError) as error:
        print(f"arena train: {error.args[0]}", file=sys.stderr)
        return 2
    if args.steps is None:
        args.steps = preset.steps if preset else DEFAULT_STEPS
    if args.steps < 1:
        print(f"arena train: --steps must be at least 1, got {args.steps}", file=sys.stderr)
        return 2
    folder = Path(args.out or f"runs/{make_scenario(config.scenario).spec.name}-{config.policy}-{config.algo}")

    def on_stage(stage: str) -> None:
        if not args.quiet:
            print(stage, file=sys.stderr, flush=True)

    try:
        trainer = Trainer(config, folder, resume=args.resume, on_stage=on_stage)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"arena train: {error}", file=sys.stderr)
        return 2
    print(f"training {config.policy} with {config.algo} on {config.scenario} into {folder}, "
          f"{args.steps:,} agent steps, action space {config.action_space}, "
          + (f"preset {preset.scenario}" + (f" (overridden: {', '.join(overridden)})" if overridden else "")
             if preset else "no preset")
          + (f" (resumed at {trainer.progress.agent_steps} agent steps)" if args.resume else ""), file=sys.stderr)
    if trainer.warm_start_report is not None:
        report = trainer.warm_start_report
        print(f"warm start: {config.warm_start} scored {report.teacher_mean:.2f} "
              f"over {len(report.teacher_scores)} episodes; cloned from {report.examples:,} steps (function "
              f"accuracy {report.epochs[-1].function_accuracy:.2f}) in {sum(report.seconds.values()):.0f} s into "
              f"{report.policy}", file=sys.stderr)
    with progress_bar(total=args.steps, initial=min(trainer.progress.agent_steps, args.steps), unit="step",
                      unit_scale=True, quiet=args.quiet, desc="agent steps") as bar:
        def on_update(run: Trainer, stats: dict[str, float]) -> None:
            bar.update(min(run.progress.agent_steps, args.steps) - bar.n)
            score = stats["mean_score_100"]
            bar.set_postfix({"steps/s": f"{stats['steps_per_second']:.0f}",
                             "score": "-" if math.isnan(score) else f"{score:.2f}",
                             "episodes": run.progress.episodes}, refresh=False)

        try:
            trainer.train(args.steps, checkpoint_every=args.checkpoint_every, on_update=on_update)
        except KeyboardInterrupt:
            path = trainer.save_checkpoint()
            print(f"\ninterrupted: saved {path}; continue with the same command and --resume", file=sys.stderr)
            return 130
    final = folder / "policy"
    from agents.policies.checkpoint import save_policy

    save_policy(trainer.policy, final)
    print(f"policy saved to {final}.safetensors / .json (checkpoints in {folder / 'checkpoints'}, TensorBoard logs "
          f"in {folder / 'tensorboard'})", file=sys.stderr)
    if args.eval_episodes:
        result = evaluate(trainer.policy, config, args.eval_episodes, replay_dir=args.replay_dir)
        summary = {"scenario": config.scenario, "agent_steps": trainer.progress.agent_steps,
                   "action_space": config.action_space, "eval_episodes": args.eval_episodes,
                   "eval_mean": result.mean, "eval_std": result.std}
        _write_eval(folder, summary)
        print(json.dumps(summary) if args.json else
              f"evaluation: {args.eval_episodes} episodes, mean {result.mean:.2f}, std {result.std:.2f} "
              f"(action space {config.action_space})"
              f"{'' if args.replay_dir is None else f' (replays in {args.replay_dir})'}")
    return 0


def _write_eval(folder: Path, summary: dict) -> None:
    with open(folder / "evaluations.jsonl", "a") as log:
        log.write(json.dumps(summary) + "\n")


def add_train_command(train: argparse.ArgumentParser) -> None:
    """The options of `arena train SCENARIO` (`arena train bc` has its own parser: league.cli.bc)."""
    train.add_argument("scenario", nargs="?", help="scenario id or name, e.g. MoveToBeacon (`arena train bc --help`: "
                                                   "behaviour cloning)")
    train.add_argument("--presets", action="store_true", help="list the tested presets and exit")
    train.add_argument("--no-preset", action="store_true",
                       help="ignore the scenario's preset: unset options take TrainConfig's defaults")
    train.add_argument("--policy", choices=sorted(POLICY_KINDS), default=None, help="default: the preset's, else "
                                                                                    f"{TRAIN_DEFAULTS['policy']}")
    train.add_argument("--algo", choices=ALGORITHMS, default=None, help=f"default: {TRAIN_DEFAULTS['algo']}")
    train.add_argument("--steps", type=int, default=None,
                       help=f"agent steps in all (each game's step counts); default: the preset's, else "
                            f"{DEFAULT_STEPS:,}")
    train.add_argument("--num-envs", type=int, default=None, help="games played side by side")
    train.add_argument("--unroll", type=int, default=None, help="steps of every game per update")
    train.add_argument("--epochs", type=int, default=None, help="PPO: passes over each batch")
    train.add_argument("--minibatches", type=int, default=None)
    train.add_argument("--lr", type=float, default=None, help="learning rate")
    train.add_argument("--gamma", type=float, default=None)
    train.add_argument("--entropy-coef", type=float, default=None)
    train.add_argument("--reward-scale", type=float, default=None, help="rewards are multiplied by this for learning")
    train.add_argument("--screen-size", type=int, default=None, help="screen and minimap feature layers' size")
    train.add_argument("--action-space", choices=sorted(ACTION_SPACES), default=None,
                       help="; ".join(f"{s.name}: {s.description}" for s in ACTION_SPACES.values()))
    train.add_argument("--see-time", action=argparse.BooleanOptionalAction, default=None,
                       help=f"the policy reads the fraction of the episode left (default "
                            f"{'on' if TRAIN_DEFAULTS['see_time'] else 'off'})")
    train.add_argument("--relative-positions", action=argparse.BooleanOptionalAction, default=None,
                       help="entity policy: each unit also reads its offset from the selected units and from the "
                            "player's other units (default off)")
    train.add_argument("--selection-summary", action=argparse.BooleanOptionalAction, default=None,
                       help="entity policy: the core also reads the mean of the selected units' embeddings (default "
                            "off)")
    train.add_argument("--stagger", action=argparse.BooleanOptionalAction, default=None,
                       help=f"one-player scenarios: the games' first episodes start staggered (default "
                            f"{'on' if TRAIN_DEFAULTS['stagger'] else 'off'})")
    train.add_argument("--opponent", default=None,
                       help="two-player scenarios: player 2 (bot:1..5, bot:rush, scripted, random, or a saved "
                            "policy's .json)")
    train.add_argument("--init", default=None, help="a saved policy (e.g. from `arena train bc`) to start from")
    train.add_argument("--kl-to", default=None, help="a saved policy (e.g. from `arena train bc`) to stay near")
    train.add_argument("--kl-coef", type=float, default=None, help="weight of the KL penalty towards --kl-to")
    train.add_argument("--warm-start", default=None, metavar="AGENT",
                       help="first clone the policy from AGENT's recorded episodes (e.g. scripted), then learn from "
                            "the clone, staying near it with --kl-coef; `none` turns a preset's warm start off")
    train.add_argument("--warm-start-episodes", type=int, default=None,
                       help=f"episodes the warm start records (default {TRAIN_DEFAULTS['warm_start_episodes']})")
    train.add_argument("--warm-start-epochs", type=int, default=None,
                       help=f"passes of the cloning over them (default {TRAIN_DEFAULTS['warm_start_epochs']})")
    train.add_argument("--critic-warmup", type=int, default=None, metavar="STEPS",
                       help="agent steps at the start in which only the value learns, the policy held (default "
                            f"{TRAIN_DEFAULTS['critic_warmup']}; "
                            "after a warm start the value head is untrained)")
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--device", default=None, help="cpu or cuda")
    train.add_argument("--mixed-precision", action="store_true", help="bfloat16 forward passes on CUDA")
    train.add_argument("--out", default=None, help="the run's folder (default runs/<scenario>-<policy>-<algo>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    train.add_argument("--checkpoint-every", type=int, default=20, help="updates between checkpoints")
    train.add_argument("--eval-episodes", type=int, default=20, help="evaluation episodes at the end (0: none)")
    train.add_argument("--replay-dir", default=None, help="record the evaluation episodes (with the policy's "
                                                          "value and top actions) into this folder")
    train.add_argument("--json", action="store_true", help="print the evaluation as one JSON line")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=command_train)


__all__ = ["add_train_command", "command_train"]
