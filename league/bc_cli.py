"""`arena train bc --replays DIR`: behaviour cloning of one player of recorded games."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from agents.learn.behaviour_cloning import CloningConfig, clone, collect_examples, new_policy_for
from agents.policies.base import save_policy
from arena.replay.format import SUFFIX, ReplayError
from league.progress import progress_bar


def command_bc(args: argparse.Namespace) -> int:
    if not args.replays:
        print("arena train bc: give --replays DIR, a folder of replays (e.g. from `arena play ... --replay-dir`)",
              file=sys.stderr)
        return 2
    folder = Path(args.replays)
    paths = sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    if not paths:
        print(f"arena train bc: no replays ({SUFFIX}) in {folder}", file=sys.stderr)
        return 2
    config = CloningConfig(policy=args.policy, player=args.player - 1, epochs=args.epochs,
                           batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed, device=args.device,
                           batch_games=args.batch_games, action_space=args.action_space or "full",
                           see_time=True if args.see_time is None else args.see_time)
    if config.batch_games < 1:
        print(f"arena train bc: --batch-games must be at least 1, got {config.batch_games}", file=sys.stderr)
        return 2
    out = Path(args.out or "runs/bc")
    try:
        policy = new_policy_for(paths, config)
        with progress_bar(total=len(paths), desc="re-simulating replays", unit="game",
                          quiet=args.quiet) as bar:
            examples = collect_examples(paths, policy, config.player, config.device,
                                        on_replay=lambda path, n: bar.update(1), batch_games=config.batch_games)
    except (ReplayError, ValueError) as error:
        print(f"arena train bc: {error}", file=sys.stderr)
        return 2
    print(f"{len(examples)} steps of player {args.player} from {len(paths)} replays", file=sys.stderr)
    with progress_bar(total=config.epochs, desc="epochs", unit="epoch", quiet=args.quiet) as bar:
        def on_epoch(stats) -> None:
            bar.update(1)
            bar.set_postfix({"loss": f"{stats.loss:.3f}", "accuracy": f"{stats.function_accuracy:.2f}"})

        history = clone(policy, examples, config, on_epoch=on_epoch)
    out.mkdir(parents=True, exist_ok=True)
    save_policy(policy, out / "policy")
    summary = {"replays": len(paths), "examples": len(examples), "epochs": config.epochs,
               "loss": history[-1].loss, "function_accuracy": history[-1].function_accuracy,
               "policy": str(out / "policy.json")}
    (out / "bc.json").write_text(json.dumps({**summary, "history": [vars(h) for h in history]}, indent=1))
    print(json.dumps(summary) if args.json else
          f"cloned policy saved to {out / 'policy'}.safetensors / .json: loss {history[-1].loss:.3f}, function "
          f"accuracy {history[-1].function_accuracy:.2f} on the training steps")
    return 0
