"""What the entity policy's learning pass costs with the unit list cut to its on-screen units, against the whole list.

    python benchmarks/policy_pass.py                                    # DefeatRoaches, CollectMineralsAndGas
    python benchmarks/policy_pass.py --scenarios DefeatRoaches --batch 256 --repeats 5

A scenario's unit list has a slot for every unit it may ever have (DefeatRoaches: 52, about 13 alive). The entity
policy's encoding keeps only as many slots as the batch's fullest game has units on screen
(`agents.policies.entity.on_screen_first`); "whole list" pads that encoding back to the list's width with masked
slots (what the encoding held before), which gives the same outputs. For each scenario it times one forward and
backward pass over `--batch` observations (the preset's policy and screen size, the games' first observations),
alternating the two widths, and prints the minimum and median seconds of each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import arena  # noqa: E402
from agents.learn.learner import pad_stack  # noqa: E402
from agents.learn.presets import preset_for  # noqa: E402
from agents.learn.config import TrainConfig  # noqa: E402
from agents.policies import make_policy  # noqa: E402
from arena.threads import set_torch_threads  # noqa: E402


def whole_list(encoded: dict[str, torch.Tensor], width: int) -> dict[str, torch.Tensor]:
    """The encoding with its unit slots padded (masked) to `width`."""
    def padded(value: torch.Tensor) -> torch.Tensor:
        wide = value.new_zeros((value.shape[0], width, *value.shape[2:]))
        return pad_stack([value, wide])[0]
    return {key: padded(value) if key.startswith("unit_") else value for key, value in encoded.items()}


def learning_pass(policy, encoded: dict[str, torch.Tensor]) -> float:
    """Seconds of one forward and backward pass (log-prob of a sample, value, entropy)."""
    start = time.perf_counter()
    output = policy(encoded)
    sample = output.distribution.sample(torch.Generator().manual_seed(0))
    loss = output.distribution.log_prob(sample).mean() + output.value.mean() + output.distribution.entropy().mean()
    loss.backward()
    policy.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def measure(scenario: str, batch: int, repeats: int) -> dict:
    preset = preset_for(scenario)
    config = TrainConfig(scenario=scenario, **{**(dict(preset.settings) if preset else {}), "warm_start": None, "kl_coef": 0.0})
    env = arena.make(scenario, num_envs=batch, interface=config.interface)
    obs, _ = env.reset(seed=0)
    torch.manual_seed(0)
    policy = make_policy(config.policy, config.interface, **config.policy_options)
    encoded = policy.encode(obs)
    list_width = obs["feature_units_mask"].shape[1]
    whole = whole_list(encoded, list_width)
    times: dict[str, list[float]] = {"on-screen": [], "whole list": []}
    for _ in range(repeats):
        times["on-screen"].append(learning_pass(policy, encoded))
        times["whole list"].append(learning_pass(policy, whole))
    env.close()
    return {"scenario": scenario, "slots": (encoded["unit_mask"].shape[1], list_width), "times": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="+", default=["DefeatRoaches", "CollectMineralsAndGas"])
    parser.add_argument("--batch", type=int, default=256, help="observations per pass")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.batch < 1 or args.repeats < 1:
        parser.error("--batch and --repeats must be at least 1")
    set_torch_threads(args.threads)
    print("| scenario | slots (on-screen / whole list) | on-screen: min / median s | whole list: min / median s "
          "| speed-up (medians) |")
    print("|---|---|---|---|---|")
    for scenario in args.scenarios:
        row = measure(scenario, args.batch, args.repeats)
        on, whole = row["times"]["on-screen"], row["times"]["whole list"]
        print(f"| {scenario} | {row['slots'][0]} / {row['slots'][1]} | {min(on):.3f} / {statistics.median(on):.3f} "
              f"| {min(whole):.3f} / {statistics.median(whole):.3f} "
              f"| {statistics.median(whole) / statistics.median(on):.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
