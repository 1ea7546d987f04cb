"""One policy's learning: its optimizer, PPO and V-trace passes over rollouts, and rollout collection.

`Learner` owns what changes when a policy learns (its weights through the optimizer, its random generator) and
nothing about where the games come from: `arena train` (agents.learn.trainer) feeds it rollouts against a fixed
opponent, the league feeds it rollouts against the opponents its matchmaking picks. `collect` plays `unroll` steps
of B games with a policy through any `step` function and returns them time-major.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Callable

import torch

from agents.learn.config import Algorithm, TrainConfig
from agents.learn.losses import (PPOLossConfig, VTraceLossConfig, gae, normalize_advantages, ppo_loss,
                                 vtrace_loss)
from agents.policies.base import Policy, to_batched_action
from arena.env import StepType
from arena.interface.actions import BatchedAction


@dataclasses.dataclass(frozen=True)
class SeatStep:
    """What one step of B games gives the learning player's seat."""

    obs: dict[str, torch.Tensor]
    reward: torch.Tensor
    """[B] float."""
    step_type: torch.Tensor
    """[B] long, StepType."""
    truncated: torch.Tensor
    """[B] bool: the episode ended at this step because a time limit cut it, not because the task was over (its
    value is bootstrapped: agents.learn.losses)."""
    result: torch.Tensor
    """[B] the episode's result where it ended: its score (one player) or +1 / 0 / -1 (two players)."""


StepFn = Callable[[BatchedAction], SeatStep]
"""action -> what the learning player's seat sees after the step."""


@dataclasses.dataclass
class Rollout:
    """`unroll` steps of B games, time-major [T, B, ...]."""

    encoded: dict[str, torch.Tensor]
    sample: dict[str, torch.Tensor]
    log_probs: torch.Tensor
    values: torch.Tensor
    rewards: torch.Tensor
    discounts: torch.Tensor
    """[T, B] gamma, or 0 where the episode terminated at that step (and at steps that do not count)."""
    truncated: torch.Tensor
    """[T, B] bool: a time limit cut the episode at that step; its value bootstraps from the next entry's (the final
    observation's, next-step autoreset) and the trace stops there (agents.learn.losses)."""
    valid: torch.Tensor
    """False for steps that carry no learning signal: those taken from an episode's last observation (the
    environment ignores that action and begins the next episode: next-step autoreset), and those of games that no
    longer count (`collect`'s `active`)."""
    bootstrap_value: torch.Tensor


@dataclasses.dataclass
class Collected:
    """What `collect` returns: the rollout, where the games stand after it, and the episodes that ended in it."""

    rollout: Rollout
    obs: dict[str, torch.Tensor]
    """The observation after the last step (the next collection starts from it)."""
    was_last: torch.Tensor
    """[B] the last step ended the game's episode (its next action is ignored)."""
    active: torch.Tensor
    """[B] games that still count (all of them unless `collect` was given `active`)."""
    ended: torch.Tensor
    """[T, B] an episode that counts ended at this step."""
    results: torch.Tensor
    """[T, B] the episode's result where `ended` (its score; +1 / 0 / -1 in two-player scenarios)."""


def index_tree(tree: dict[str, torch.Tensor], index: torch.Tensor | slice) -> dict[str, torch.Tensor]:
    return {key: value[index] for key, value in tree.items()}


def common_shape(shapes) -> list[int]:
    """The largest size in each dimension of tensors of one rank."""
    return [max(sizes) for sizes in zip(*shapes)]


def pad_to(tensor: torch.Tensor, shape) -> torch.Tensor:
    """`tensor` zero-padded at the end of each dimension to `shape` (itself where it has that shape already)."""
    if list(tensor.shape) == list(shape):
        return tensor
    out = tensor.new_zeros(tuple(shape))
    out[tuple(slice(0, size) for size in tensor.shape)] = tensor
    return out


def pad_stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Stack tensors of one rank; where their sizes differ (the entity policy's unit lists: as many slots as a
    batch's fullest game has units on screen) each is zero-padded at the end of each dimension to the largest."""
    shape = common_shape(t.shape for t in tensors)
    return torch.stack([pad_to(tensor, shape) for tensor in tensors])


def stack_tree(steps: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: pad_stack([s[key] for s in steps]) for key in steps[0]}


def flat_tree(tree: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """[T, B, ...] -> [T * B, ...]."""
    return {key: value.reshape((value.shape[0] * value.shape[1],) + tuple(value.shape[2:]))
            for key, value in tree.items()}  # explicit: -1 cannot be inferred for empty features ([T, B, 0])


@torch.no_grad()
def collect(actor: Policy, step: StepFn, obs: dict[str, torch.Tensor], was_last: torch.Tensor, *, unroll: int,
            gamma: float, generator: torch.Generator, bootstrap_policy: Policy | None = None,
            active: torch.Tensor | None = None, once: bool = False,
            autocast=contextlib.nullcontext, reward_scale: float = 1.0) -> Collected:
    """Play `unroll` steps of every game with `actor` (sampling) through `step`.

    `active` [B]: the games that count (default all). With `once`, a game stops counting when its episode ends
    (its later steps are invalid and its later episodes not reported), so a caller can play each game of a batch
    exactly once (the league's matches). The value the
    rollout bootstraps from is `bootstrap_policy`'s (default: the actor's; V-trace bootstraps from the learner).
    The rollout's rewards are multiplied by `reward_scale`; the episodes' results are not.
    """
    steps: dict[str, list] = {name: [] for name in ("encoded", "sample", "log_probs", "values", "rewards",
                                                    "discounts", "truncated", "valid", "ended", "results")}
    active = torch.ones_like(was_last) if active is None else active.clone()
    with autocast():
        for _ in range(unroll):
            encoded = actor.encode(obs)
            output = actor(encoded)
            sample = output.distribution.sample(generator)
            stepped = step(to_batched_action(sample))
            counts = active & ~was_last
            ended = (stepped.step_type == int(StepType.LAST)) & counts
            cut = ended & stepped.truncated.bool()
            steps["encoded"].append(encoded)
            steps["sample"].append(sample)
            steps["log_probs"].append(output.distribution.log_prob(sample).float())
            steps["values"].append(output.value.float())
            steps["rewards"].append(torch.where(counts, stepped.reward.float() * reward_scale, 0.0))
            steps["discounts"].append(torch.where((ended & ~cut) | ~counts, 0.0, gamma))
            steps["truncated"].append(cut)
            steps["valid"].append(counts)
            steps["ended"].append(ended)
            steps["results"].append(stepped.result.float())
            obs, was_last = stepped.obs, stepped.step_type == int(StepType.LAST)
            if once:
                active = active & ~ended
        bootstrap = (bootstrap_policy or actor)
        bootstrap_value = bootstrap(bootstrap.encode(obs)).value.float()
    stacked = {name: torch.stack(steps[name]) for name in ("log_probs", "values", "rewards", "discounts",
                                                           "truncated", "valid", "ended", "results")}
    rollout = Rollout(encoded=stack_tree(steps["encoded"]), sample=stack_tree(steps["sample"]),
                      log_probs=stacked["log_probs"], values=stacked["values"], rewards=stacked["rewards"],
                      discounts=stacked["discounts"], truncated=stacked["truncated"], valid=stacked["valid"],
                      bootstrap_value=bootstrap_value)
    return Collected(rollout=rollout, obs=obs, was_last=was_last, active=active, ended=stacked["ended"],
                     results=stacked["results"])


class Learner:
    """A policy, its Adam optimizer and random generator, and the learning passes over rollouts.

    `config` gives the hyper-parameters (a `TrainConfig`: algo, epochs, minibatches, learning_rate, gae_lambda,
    clip, value_coef, entropy_coef, kl_coef, max_grad_norm, seed, mixed_precision). `supervised`: the policy a KL
    penalty keeps this one near (AlphaStar's supervised policy), or None.
    """

    def __init__(self, config: TrainConfig, policy: Policy, *, supervised: Policy | None = None):
        self.config = config
        self.policy = policy
        self.device = next(policy.parameters()).device
        self.optimizer = self._new_optimizer()
        self.supervised = supervised
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(config.seed)

    def _new_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.policy.parameters(), lr=self.config.learning_rate, eps=1e-5)

    def autocast(self):
        """bfloat16 autocast on CUDA with `mixed_precision`; otherwise a no-op context."""
        enabled = self.config.mixed_precision and self.device.type == "cuda"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)

    def learn(self, rollout: Rollout, *, critic_only: bool = False) -> dict[str, float]:
        """One update of the configured algorithm; returns its statistics. With `critic_only` the policy-gradient
        and entropy terms are left out: the value learns, and the policy moves only as far as the shared layers and
        the KL penalty (towards the supervised policy, when there is one) take it (a critic warm-up)."""
        if self.config.algo is Algorithm.PPO:
            return self.learn_ppo(rollout, critic_only=critic_only)
        return self.learn_vtrace(rollout, critic_only=critic_only)

    def reset_parameters(self, parameters: dict[str, torch.Tensor]) -> None:
        """Load `parameters` (e.g. the initial ones: a league exploiter's reset) and start a fresh optimizer."""
        self.policy.load_state_dict(parameters)
        self.optimizer = self._new_optimizer()

    def _kl(self, encoded: dict[str, torch.Tensor], distribution) -> torch.Tensor | None:
        if self.supervised is None:
            return None
        with torch.no_grad():
            reference = self.supervised(encoded).distribution
        return distribution.kl(reference)

    def learn_ppo(self, rollout: Rollout, *, critic_only: bool = False) -> dict[str, float]:
        cfg = self.config
        advantages, returns = gae(rollout.rewards, rollout.values, rollout.bootstrap_value, rollout.discounts,
                                  cfg.gae_lambda, truncated=rollout.truncated)
        flat = {"encoded": flat_tree(rollout.encoded), "sample": flat_tree(rollout.sample)}
        old_log_probs, adv, ret, mask = (rollout.log_probs.reshape(-1), advantages.reshape(-1), returns.reshape(-1),
                                         rollout.valid.reshape(-1))
        adv = torch.where(mask, normalize_advantages(adv, mask=mask) if cfg.normalize_advantages else adv, 0.0)
        loss_config = PPOLossConfig(clip=cfg.clip, value_coef=cfg.value_coef, kl_coef=cfg.kl_coef,
                                    entropy_coef=0.0 if critic_only else cfg.entropy_coef,
                                    policy_coef=0.0 if critic_only else 1.0)
        size = len(adv) // cfg.minibatches
        totals: dict[str, float] = {}
        count = 0
        for _ in range(cfg.epochs):
            order = torch.randperm(len(adv), generator=self.generator, device=self.device)
            for start in range(0, len(adv), size):
                index = order[start:start + size]
                with self.autocast():
                    output = self.policy(index_tree(flat["encoded"], index))
                    distribution = output.distribution
                    new_log_probs = distribution.log_prob(index_tree(flat["sample"], index)).float()
                    entropy = distribution.regularizing_entropy().float()
                    kl = self._kl(index_tree(flat["encoded"], index), distribution)
                loss, stats = ppo_loss(new_log_probs, old_log_probs[index], adv[index], output.value.float(),
                                       ret[index], entropy, None if kl is None else kl.float(),
                                       config=loss_config, mask=mask[index])
                self._step(loss)
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + float(value)
                count += 1
        return {key: value / count for key, value in totals.items()}

    def learn_vtrace(self, rollout: Rollout, *, critic_only: bool = False) -> dict[str, float]:
        cfg = self.config
        T, B = rollout.rewards.shape
        loss_config = VTraceLossConfig(value_coef=cfg.value_coef, kl_coef=cfg.kl_coef,
                                       entropy_coef=0.0 if critic_only else cfg.entropy_coef,
                                       policy_coef=0.0 if critic_only else 1.0)
        with self.autocast():
            output = self.policy(flat_tree(rollout.encoded))
            distribution = output.distribution
            target_log_probs = distribution.log_prob(flat_tree(rollout.sample)).float().reshape(T, B)
            entropy = distribution.regularizing_entropy().float().reshape(T, B)
            kl = self._kl(flat_tree(rollout.encoded), distribution)
        loss, stats = vtrace_loss(rollout.log_probs, target_log_probs, rollout.rewards,
                                  output.value.float().reshape(T, B), rollout.bootstrap_value, rollout.discounts,
                                  entropy, None if kl is None else kl.float().reshape(T, B), config=loss_config,
                                  mask=rollout.valid, truncated=rollout.truncated)
        self._step(loss)
        return {key: float(value) for key, value in stats.items()}

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.config.max_grad_norm)
        self.optimizer.step()

    # -- what a checkpoint holds besides the weights -----------------------------------------------------------
    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        """(tensors, JSON-able meta) of the optimizer and the generator; `load_state` puts them back."""
        tensors: dict[str, torch.Tensor] = {"generator": self.generator.get_state()}
        optimizer = self.optimizer.state_dict()
        for index, state in optimizer["state"].items():
            for name, value in state.items():
                tensors[f"optimizer.{index}.{name}"] = torch.as_tensor(value).clone()
        return tensors, {"param_groups": optimizer["param_groups"]}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        optimizer = {"state": {}, "param_groups": meta["param_groups"]}
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                optimizer["state"].setdefault(int(index), {})[name] = value
        self.optimizer.load_state_dict(optimizer)
        self.generator.set_state(tensors["generator"].cpu())


__all__ = ["Collected", "Learner", "Rollout", "SeatStep", "StepFn", "collect", "common_shape", "flat_tree",
           "index_tree", "pad_stack", "pad_to", "stack_tree"]
