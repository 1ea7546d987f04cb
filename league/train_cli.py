"""`arena train`: one neural policy on one scenario (PPO or V-trace), or behaviour cloning from replays."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from tqdm import tqdm

import arena
from agents.learn.trainer import ALGORITHMS, TrainConfig, Trainer, opponent_agent
from agents.policies import POLICY_KINDS
from agents.policies.base import Policy, PolicyAgent
from agents.rollout import EpisodeScores, play_episodes, play_matches
from arena.replay.recorder import ReplayRecorder
from arena.scenarios.registry import make_scenario, resolve_id


def evaluate(policy: Policy, config: TrainConfig, episodes: int, *, replay_dir: str | None = None,
             seed: int = 10_000, greedy: bool = False) -> EpisodeScores:
    """Play `episodes` games with the policy (player 1) and return their results (scores; in two-player scenarios
    +1 / 0 / -1 for the policy); with `replay_dir`, record them (with the policy's value and top actions per step,
    for the viewer's explanation panel)."""
    scenario_id = resolve_id(config.scenario)
    two_player = make_scenario(scenario_id).spec.num_agents > 1
    env = arena.make(scenario_id, num_envs=episodes, device=config.device, step_mul=config.step_mul,
                     interface=config.interface)
    agent = PolicyAgent(policy, seed=seed, greedy=greedy)
    names = [f"{config.policy}-policy"] + ([config.opponent or "?"] if two_player else [])
    recorder = None if replay_dir is None else ReplayRecorder(replay_dir, names)
    if two_player:
        record = play_matches(env, [agent, opponent_agent(config)], seed=seed, recorder=recorder)
        return EpisodeScores(scores=[float(o) for o in record.outcomes], steps=record.steps)
    return play_episodes(env, agent, seed=seed, recorder=recorder)


def _config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(scenario=resolve_id(args.scenario), policy=args.policy, algo=args.algo,
                       num_envs=args.num_envs, unroll=args.unroll, epochs=args.epochs, minibatches=args.minibatches,
                       learning_rate=args.lr, gamma=args.gamma, entropy_coef=args.entropy_coef,
                       screen_size=args.screen_size, minimap_size=args.screen_size, opponent=args.opponent,
                       kl_to=args.kl_to, kl_coef=args.kl_coef, seed=args.seed, device=args.device,
                       mixed_precision=args.mixed_precision)


def command_train(args: argparse.Namespace) -> int:
    if args.scenario == "bc":
        from league.bc_cli import command_bc

        return command_bc(args)
    try:
        config = _config(args)
    except (KeyError, ValueError) as error:
        print(f"arena train: {error.args[0]}", file=sys.stderr)
        return 2
    if args.steps < 1:
        print(f"arena train: --steps must be at least 1, got {args.steps}", file=sys.stderr)
        return 2
    folder = Path(args.out or f"runs/{make_scenario(config.scenario).spec.name}-{config.policy}-{config.algo}")
    try:
        trainer = Trainer(config, folder, resume=args.resume)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"arena train: {error}", file=sys.stderr)
        return 2
    print(f"training {config.policy} with {config.algo} on {config.scenario} into {folder}"
          f"{' (resumed at ' + str(trainer.progress.agent_steps) + ' agent steps)' if args.resume else ''}",
          file=sys.stderr)
    with tqdm(total=args.steps, initial=min(trainer.progress.agent_steps, args.steps), unit="step",
              unit_scale=True, file=sys.stderr, disable=args.quiet, desc="agent steps") as bar:
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
    from agents.policies.base import save_policy

    save_policy(trainer.policy, final)
    print(f"policy saved to {final}.safetensors / .json (checkpoints in {folder / 'checkpoints'}, TensorBoard logs "
          f"in {folder / 'tensorboard'})", file=sys.stderr)
    if args.eval_episodes:
        result = evaluate(trainer.policy, config, args.eval_episodes, replay_dir=args.replay_dir)
        summary = {"scenario": config.scenario, "agent_steps": trainer.progress.agent_steps,
                   "eval_episodes": args.eval_episodes, "eval_mean": result.mean, "eval_std": result.std}
        _write_eval(folder, summary)
        print(json.dumps(summary) if args.json else
              f"evaluation: {args.eval_episodes} episodes, mean {result.mean:.2f}, std {result.std:.2f}"
              f"{'' if args.replay_dir is None else f' (replays in {args.replay_dir})'}")
    return 0


def _write_eval(folder: Path, summary: dict) -> None:
    with open(folder / "evaluations.jsonl", "a") as log:
        log.write(json.dumps(summary) + "\n")


def add_train_command(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a neural policy on a scenario (PPO, V-trace), or `arena train bc` "
                                         "to clone the players of replays")
    train.add_argument("scenario", help="scenario id or name, e.g. MoveToBeacon; or `bc` for behaviour cloning")
    train.add_argument("--policy", choices=sorted(POLICY_KINDS), default="fullyconv")
    train.add_argument("--algo", choices=ALGORITHMS, default="ppo")
    train.add_argument("--steps", type=int, default=100_000, help="agent steps in all (each game's step counts)")
    train.add_argument("--num-envs", type=int, default=32, help="games played side by side")
    train.add_argument("--unroll", type=int, default=32, help="steps of every game per update")
    train.add_argument("--epochs", type=int, default=2, help="PPO: passes over each batch")
    train.add_argument("--minibatches", type=int, default=4)
    train.add_argument("--lr", type=float, default=3e-4, help="learning rate")
    train.add_argument("--gamma", type=float, default=0.99)
    train.add_argument("--entropy-coef", type=float, default=0.01)
    train.add_argument("--screen-size", type=int, default=32, help="screen and minimap feature layers' size")
    train.add_argument("--opponent", default=None,
                       help="two-player scenarios: player 2 (bot:1..5, bot:rush, scripted, random, or a saved "
                            "policy's .json)")
    train.add_argument("--kl-to", default=None, help="a saved policy (e.g. from `arena train bc`) to stay near")
    train.add_argument("--kl-coef", type=float, default=0.0, help="weight of the KL penalty towards --kl-to")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cpu", help="cpu or cuda")
    train.add_argument("--mixed-precision", action="store_true", help="bfloat16 forward passes on CUDA")
    train.add_argument("--out", default=None, help="the run's folder (default runs/<scenario>-<policy>-<algo>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    train.add_argument("--checkpoint-every", type=int, default=20, help="updates between checkpoints")
    train.add_argument("--eval-episodes", type=int, default=20, help="evaluation episodes at the end (0: none)")
    train.add_argument("--replay-dir", default=None, help="record the evaluation episodes (with the policy's "
                                                          "value and top actions) into this folder")
    train.add_argument("--json", action="store_true", help="print the evaluation as one JSON line")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    # behaviour cloning (`arena train bc`)
    train.add_argument("--replays", default=None, help="bc: a folder of replays to learn from")
    train.add_argument("--player", type=int, default=1, choices=(1, 2), help="bc: which player of the replays to "
                                                                              "imitate")
    train.add_argument("--batch-size", type=int, default=64, help="bc: examples per gradient step")
    train.set_defaults(run=command_train)


__all__ = ["add_train_command", "command_train", "evaluate"]
