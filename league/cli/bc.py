"""`arena train bc --replays DIR`: behaviour cloning of one player of recorded games (its own parser: the options
of `arena train SCENARIO` mean nothing here)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from agents.learn.behaviour_cloning import CloningConfig, clone, collect_examples, new_policy_for
from agents.policies import POLICY_KINDS
from agents.policies.action_space import ACTION_SPACES
from agents.policies.checkpoint import save_policy
from arena.replay.format import SUFFIX, ReplayError
from league.cli.options import common_options
from league.progress import progress_bar

BC_WORDS = ("train", "bc")
"""The words that name this command: `arena train bc ...`."""
DEFAULT_FOLDER = "runs/bc"


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
                           batch_games=args.batch_games, action_space=args.action_space, see_time=args.see_time,
                           relative_positions=args.relative_positions, selection_summary=args.selection_summary)
    if config.batch_games < 1:
        print(f"arena train bc: --batch-games must be at least 1, got {config.batch_games}", file=sys.stderr)
        return 2
    out = Path(args.out)
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


def build_bc_parser() -> argparse.ArgumentParser:
    """The parser of `arena train bc` (its defaults are CloningConfig's)."""
    defaults = CloningConfig()
    bc = argparse.ArgumentParser(prog="arena train bc", parents=[common_options()],
                                 description="clone one player of recorded games (`arena play ... --replay-dir DIR`) "
                                             "into a policy, for `arena train --init / --kl-to` or a league's --init")
    bc.add_argument("--replays", default=None, metavar="DIR", help="a folder of replays to learn from")
    bc.add_argument("--player", type=int, default=defaults.player + 1, choices=(1, 2),
                    help="which player of the replays to imitate")
    bc.add_argument("--policy", choices=sorted(POLICY_KINDS), default=defaults.policy,
                    help=f"default {defaults.policy}")
    bc.add_argument("--action-space", choices=sorted(ACTION_SPACES), default=defaults.action_space,
                    help="; ".join(f"{s.name}: {s.description}" for s in ACTION_SPACES.values()))
    bc.add_argument("--see-time", action=argparse.BooleanOptionalAction, default=defaults.see_time,
                    help="the policy reads the fraction of the episode left (default on)")
    bc.add_argument("--relative-positions", action=argparse.BooleanOptionalAction,
                    default=defaults.relative_positions, help="entity policy: each unit also reads its offset from "
                    "the selected units and from the player's other units (default off)")
    bc.add_argument("--selection-summary", action=argparse.BooleanOptionalAction,
                    default=defaults.selection_summary, help="entity policy: the core also reads the mean of the "
                    "selected units' embeddings (default off)")
    bc.add_argument("--epochs", type=int, default=defaults.epochs, help=f"passes over the examples ({defaults.epochs})")
    bc.add_argument("--lr", type=float, default=defaults.learning_rate, help="learning rate")
    bc.add_argument("--batch-size", type=int, default=defaults.batch_size, help="examples per gradient step")
    bc.add_argument("--batch-games", type=int, default=defaults.batch_games, help="replays re-simulated side by side")
    bc.add_argument("--seed", type=int, default=defaults.seed)
    bc.add_argument("--device", default=defaults.device, help="cpu or cuda")
    bc.add_argument("--out", default=DEFAULT_FOLDER, help=f"the folder of the cloned policy (default {DEFAULT_FOLDER})")
    bc.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    bc.add_argument("--quiet", action="store_true", help="no progress bar")
    bc.set_defaults(run=command_bc)
    return bc
