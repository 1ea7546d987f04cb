"""Training one neural policy on the batched engine with PPO or V-trace: rollouts, updates, logs, checkpoints, resume.

One learner, B games side by side. Each update collects `unroll` steps of every game, then:
  ppo     several epochs of minibatches of PPO's clipped loss on GAE advantages (Schulman et al. 2017);
  vtrace  one pass of IMPALA's loss on V-trace targets (Espeholt et al. 2018), with the games played by a copy of the
          policy that lags the learner by `actor_lag` updates, as a league's actors do.
Two-player scenarios train player 1 against a fixed opponent (a built-in bot, a scripted agent, or a saved policy).

Checkpoints hold everything the next update depends on (weights, optimizer, random generator, and for one-player
scenarios the games in progress), so a resumed run on CPU continues bit for bit as the uninterrupted one would.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import shutil
import time
from collections import deque
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

import arena
from agents.base import BatchedAgent
from agents.learn.losses import (PPOLossConfig, VTraceLossConfig, gae, normalize_advantages, ppo_loss,
                                 vtrace_loss)
from agents.policies import make_policy
from agents.policies.base import Policy, load_policy, save_policy, to_batched_action
from arena.env import ArenaEnv, StepType
from arena.interface.view import InterfaceFormat
from arena.multi_env import ArenaMultiEnv, player_view
from arena.scenarios.registry import make_scenario, resolve_id
from arena.sim.state import State

CHECKPOINT_VERSION = 1
KEEP_CHECKPOINTS = 3
"""The newest checkpoints kept; older ones are deleted once a newer one is complete."""
ALGORITHMS = ("ppo", "vtrace")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run is: the scenario, the policy, the algorithm and its hyper-parameters."""

    scenario: str
    policy: str = "fullyconv"
    algo: str = "ppo"
    num_envs: int = 32
    unroll: int = 32
    """Steps of every game per update."""
    epochs: int = 2
    """PPO: passes over each batch."""
    minibatches: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip: float = 0.2
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 0.5
    actor_lag: int = 2
    """V-trace: the acting copy of the policy is refreshed every this many updates."""
    screen_size: int = 32
    minimap_size: int = 32
    step_mul: int | None = None
    opponent: str | None = None
    """Two-player scenarios: player 2's agent (e.g. "bot:1", "scripted", or a saved policy's path)."""
    kl_to: str | None = None
    """A saved (e.g. behaviour-cloned) policy to stay near: AlphaStar's KL penalty, weighted by kl_coef."""
    kl_coef: float = 0.0
    seed: int = 0
    device: str = "cpu"
    mixed_precision: bool = False
    """bfloat16 autocast for the forward passes on CUDA."""

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {ALGORITHMS}, got {self.algo!r}")
        for name in ("num_envs", "unroll", "epochs", "minibatches", "actor_lag"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if (self.num_envs * self.unroll) % self.minibatches:
            raise ValueError(f"num_envs x unroll ({self.num_envs * self.unroll}) must divide into {self.minibatches} "
                             "minibatches")
        if self.kl_coef and not self.kl_to:
            raise ValueError("kl_coef needs kl_to, the policy to stay near")

    @property
    def interface(self) -> InterfaceFormat:
        return InterfaceFormat(screen_size=self.screen_size, minimap_size=self.minimap_size)


@dataclasses.dataclass
class Rollout:
    """`unroll` steps of B games, time-major [T, B, ...]."""

    encoded: dict[str, torch.Tensor]
    sample: dict[str, torch.Tensor]
    log_probs: torch.Tensor
    values: torch.Tensor
    rewards: torch.Tensor
    discounts: torch.Tensor
    valid: torch.Tensor
    """False for steps taken from an episode's last observation: the environment ignores that action and begins
    the next episode (next-step autoreset), so they carry no learning signal."""
    bootstrap_value: torch.Tensor


@dataclasses.dataclass
class Progress:
    """Counters and recent results of a run."""

    updates: int = 0
    agent_steps: int = 0
    episodes: int = 0
    recent_scores: deque = dataclasses.field(default_factory=lambda: deque(maxlen=100))

    @property
    def mean_score(self) -> float:
        return sum(self.recent_scores) / len(self.recent_scores) if self.recent_scores else math.nan


class _Seat:
    """The environment as the learner sees it: one seat, [B] rewards, a fixed opponent in the other seat."""

    def __init__(self, config: TrainConfig, opponent: BatchedAgent | None):
        self.two_player = make_scenario(resolve_id(config.scenario)).spec.num_agents > 1
        self.env: ArenaEnv | ArenaMultiEnv = arena.make(config.scenario, num_envs=config.num_envs,
                                                        device=config.device, step_mul=config.step_mul,
                                                        interface=config.interface)
        self.opponent = opponent
        if self.two_player and opponent is None:
            raise ValueError(f"{config.scenario} is a two-player scenario: give an opponent (e.g. bot:1, scripted)")
        self._opponent_obs: dict[str, torch.Tensor] | None = None
        self._first = torch.ones(config.num_envs, dtype=torch.bool, device=self.env.device)

    def reset(self, seed: int) -> dict[str, torch.Tensor]:
        obs, _ = self.env.reset(seed=seed)
        if self.opponent is not None:
            self.opponent.reset(self.env.num_envs)
        return self._own(obs)

    def _own(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self.two_player:
            return obs
        self._opponent_obs = player_view(obs, 1)
        return player_view(obs, 0)

    def step(self, action) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
        """(obs, reward [B], step_type [B], episode result [B]: the score (one player) or +1/0/-1 (two))."""
        if self.two_player:
            other = self.opponent.act(self._opponent_obs, self._first)
            obs, reward, _, _, info = self.env.step([action, other])
            self._first = info["step_type"] == int(StepType.FIRST)
            return self._own(obs), reward[:, 0], info["step_type"], info["outcome"].float()
        obs, reward, _, _, info = self.env.step(action)
        return obs, reward, info["step_type"], info["score"]


def opponent_agent(config: TrainConfig) -> BatchedAgent | None:
    """Player 2's agent of a two-player run: a saved policy (a .json / .safetensors path) or an agent name."""
    from agents.registry import make_agent

    if config.opponent is None:
        return None
    if Path(config.opponent).suffix in (".json", ".safetensors") or Path(config.opponent).is_dir():
        from agents.policies.base import PolicyAgent

        return PolicyAgent(load_policy(config.opponent, device=config.device), seed=config.seed + 1)
    return make_agent(config.opponent, config.scenario, seed=config.seed + 1)


def _index(tree: dict[str, torch.Tensor], index: torch.Tensor | slice) -> dict[str, torch.Tensor]:
    return {key: value[index] for key, value in tree.items()}


def _stack(steps: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([s[key] for s in steps]) for key in steps[0]}


def _flat(tree: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """[T, B, ...] -> [T * B, ...]."""
    return {key: value.reshape((-1,) + tuple(value.shape[2:])) for key, value in tree.items()}


class Trainer:
    """A training run in `folder`: `train(steps)` runs updates until `steps` agent steps, checkpointing as it goes.

    Files: config.json, checkpoints/update_<n>/ (policy.safetensors + policy.json, trainer.safetensors +
    trainer.json; the newest KEEP_CHECKPOINTS), checkpoints/latest.json (names the newest complete one), log.jsonl
    (one line per update), tensorboard/.
    """

    def __init__(self, config: TrainConfig, folder: str | Path, *, resume: bool = False):
        self.config = config
        self.folder = Path(folder)
        self.device = torch.device(config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device cuda asked for, but CUDA is not available on this machine")
        existing = self.folder / "config.json"
        if resume:
            if not existing.is_file():
                raise FileNotFoundError(f"nothing to resume in {self.folder}: no config.json")
            saved = json.loads(existing.read_text())
            if saved != dataclasses.asdict(config):
                changed = sorted(k for k in saved if saved[k] != dataclasses.asdict(config).get(k))
                raise ValueError(f"{self.folder} was trained with another configuration (differs in {changed}); "
                                 "resume with the same options, or train into a new folder")
        elif (self.folder / "checkpoints").exists():
            raise FileExistsError(f"{self.folder} already holds a run; use --resume to continue it, or another "
                                  "folder")
        torch.manual_seed(config.seed)
        self.policy: Policy = make_policy(config.policy, config.interface).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.learning_rate, eps=1e-5)
        self.actor = copy.deepcopy(self.policy) if config.algo == "vtrace" else self.policy
        self.supervised = None
        if config.kl_to:
            self.supervised = load_policy(config.kl_to, device=self.device)
            if self.supervised.config != self.policy.config:
                raise ValueError(f"the policy to stay near ({config.kl_to}) has another architecture "
                                 f"({self.supervised.config}) than this run's ({self.policy.config})")
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(config.seed)
        self.seat = _Seat(config, opponent_agent(config))
        self.progress = Progress()
        self.obs = self.seat.reset(config.seed)
        self._was_last = torch.zeros(config.num_envs, dtype=torch.bool, device=self.device)
        """Games whose last step ended their episode: their next action is ignored (next-step autoreset)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if resume:
            self._restore(self.folder / "checkpoints" / "latest")
        else:
            _write_json(existing, dataclasses.asdict(config))
        from agents.learn.tensorboard import ScalarWriter

        self.tensorboard = ScalarWriter(self.folder / "tensorboard")

    # -- the loop ----------------------------------------------------------------------------------------------
    def train(self, steps: int, *, checkpoint_every: int = 20,
              on_update: Callable[["Trainer", dict[str, float]], None] | None = None) -> Progress:
        """Run updates until `steps` agent steps in all (counting those of earlier sessions of a resumed run)."""
        while self.progress.agent_steps < steps:
            stats = self.update()
            if self.progress.updates % checkpoint_every == 0 or self.progress.agent_steps >= steps:
                self.save_checkpoint()
            if on_update is not None:
                on_update(self, stats)
        return self.progress

    def update(self) -> dict[str, float]:
        """Collect one rollout and learn from it; returns the update's statistics (also logged)."""
        start = time.perf_counter()
        rollout = self.collect()
        collected = time.perf_counter()
        stats = self.learn_ppo(rollout) if self.config.algo == "ppo" else self.learn_vtrace(rollout)
        self.progress.updates += 1
        if self.config.algo == "vtrace" and self.progress.updates % self.config.actor_lag == 0:
            self.actor.load_state_dict(self.policy.state_dict())
        elapsed = time.perf_counter() - start
        steps = self.config.num_envs * self.config.unroll
        stats.update({"agent_steps": float(self.progress.agent_steps), "episodes": float(self.progress.episodes),
                      "mean_score_100": self.progress.mean_score, "steps_per_second": steps / elapsed,
                      "collect_seconds": collected - start, "learn_seconds": elapsed - (collected - start)})
        self._log(stats)
        return stats

    def collect(self) -> Rollout:
        """Play `unroll` steps of every game with the acting policy."""
        cfg = self.config
        encoded_steps, samples, log_probs, values, rewards, discounts, valid = [], [], [], [], [], [], []
        obs = self.obs
        with torch.no_grad(), self._autocast():
            for _ in range(cfg.unroll):
                encoded = self.actor.encode(obs)
                output = self.actor(encoded)
                sample = output.distribution.sample(self.generator)
                obs, reward, step_type, result = self.seat.step(to_batched_action(sample))
                was_last = self._was_last
                ended = step_type == int(StepType.LAST)
                self._count_episodes(ended, result)
                encoded_steps.append(encoded)
                samples.append(sample)
                log_probs.append(output.distribution.log_prob(sample).float())
                values.append(output.value.float())
                rewards.append(torch.where(was_last, 0.0, reward.float()))
                discounts.append(torch.where(ended | was_last, 0.0, cfg.gamma))
                valid.append(~was_last)
                self._was_last = ended
            bootstrap = self.actor(self.actor.encode(obs)).value.float()
            if cfg.algo == "vtrace":  # V-trace bootstraps from the learner's value
                bootstrap = self.policy(self.policy.encode(obs)).value.float()
        self.obs = obs
        self.progress.agent_steps += cfg.num_envs * cfg.unroll
        return Rollout(encoded=_stack(encoded_steps), sample=_stack(samples), log_probs=torch.stack(log_probs),
                       values=torch.stack(values), rewards=torch.stack(rewards), discounts=torch.stack(discounts),
                       valid=torch.stack(valid), bootstrap_value=bootstrap)

    def _count_episodes(self, ended: torch.Tensor, result: torch.Tensor) -> None:
        if bool(ended.any()):
            for score in result[ended].tolist():
                self.progress.recent_scores.append(float(score))
                self.progress.episodes += 1

    def _autocast(self):
        enabled = self.config.mixed_precision and self.device.type == "cuda"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)

    def _kl(self, encoded: dict[str, torch.Tensor], distribution) -> torch.Tensor | None:
        if self.supervised is None:
            return None
        with torch.no_grad():
            reference = self.supervised(encoded).distribution
        return distribution.kl(reference)

    def learn_ppo(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        advantages, returns = gae(rollout.rewards, rollout.values, rollout.bootstrap_value, rollout.discounts,
                                  cfg.gae_lambda)
        flat = {"encoded": _flat(rollout.encoded), "sample": _flat(rollout.sample)}
        old_log_probs, adv, ret, mask = (rollout.log_probs.reshape(-1), advantages.reshape(-1), returns.reshape(-1),
                                         rollout.valid.reshape(-1))
        adv = torch.where(mask, normalize_advantages(adv, mask=mask), 0.0)
        loss_config = PPOLossConfig(clip=cfg.clip, value_coef=cfg.value_coef, entropy_coef=cfg.entropy_coef,
                                    kl_coef=cfg.kl_coef)
        size = len(adv) // cfg.minibatches
        totals: dict[str, float] = {}
        count = 0
        for _ in range(cfg.epochs):
            order = torch.randperm(len(adv), generator=self.generator, device=self.device)
            for start in range(0, len(adv), size):
                index = order[start:start + size]
                with self._autocast():
                    output = self.policy(_index(flat["encoded"], index))
                    distribution = output.distribution
                    new_log_probs = distribution.log_prob(_index(flat["sample"], index)).float()
                    entropy = distribution.entropy().float()
                    kl = self._kl(_index(flat["encoded"], index), distribution)
                loss, stats = ppo_loss(new_log_probs, old_log_probs[index], adv[index], output.value.float(),
                                       ret[index], entropy, None if kl is None else kl.float(),
                                       config=loss_config, mask=mask[index])
                self._step(loss)
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + float(value)
                count += 1
        return {key: value / count for key, value in totals.items()}

    def learn_vtrace(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        T, B = rollout.rewards.shape
        loss_config = VTraceLossConfig(value_coef=cfg.value_coef, entropy_coef=cfg.entropy_coef, kl_coef=cfg.kl_coef)
        with self._autocast():
            output = self.policy(_flat(rollout.encoded))
            distribution = output.distribution
            target_log_probs = distribution.log_prob(_flat(rollout.sample)).float().reshape(T, B)
            entropy = distribution.entropy().float().reshape(T, B)
            kl = self._kl(_flat(rollout.encoded), distribution)
        loss, stats = vtrace_loss(rollout.log_probs, target_log_probs, rollout.rewards,
                                  output.value.float().reshape(T, B), rollout.bootstrap_value, rollout.discounts,
                                  entropy, None if kl is None else kl.float().reshape(T, B), config=loss_config,
                                  mask=rollout.valid)
        self._step(loss)
        return {key: float(value) for key, value in stats.items()}

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.config.max_grad_norm)
        self.optimizer.step()

    def _log(self, stats: dict[str, float]) -> None:
        step = self.progress.agent_steps
        line = {"update": self.progress.updates, **{k: (None if isinstance(v, float) and math.isnan(v) else v)
                                                     for k, v in stats.items()}}
        with open(self.folder / "log.jsonl", "a") as log:
            log.write(json.dumps(line) + "\n")
        self.tensorboard.add_scalars({f"train/{k}": v for k, v in stats.items() if not math.isnan(v)}, step)

    # -- checkpoints -------------------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Write checkpoints/update_<n> (into a temporary folder renamed into place) and point `latest` at it."""
        root = self.folder / "checkpoints"
        final = root / f"update_{self.progress.updates:06d}"
        if final.exists():  # this update is saved already (a Ctrl-C right after a periodic checkpoint)
            return final
        partial = root / f".{final.name}.part"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        save_policy(self.policy, partial / "policy")
        tensors, meta = self._trainer_state()
        save_file(tensors, str(partial / "trainer.safetensors"))
        _write_json(partial / "trainer.json", meta)
        os.replace(partial, final)
        _write_json(root / "latest.json", {"checkpoint": final.name})
        for old in sorted(root.glob("update_*"))[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def _trainer_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors: dict[str, torch.Tensor] = {"generator": self.generator.get_state()}
        optimizer = self.optimizer.state_dict()
        for index, state in optimizer["state"].items():
            for name, value in state.items():
                tensors[f"optimizer.{index}.{name}"] = torch.as_tensor(value).clone()
        if self.config.algo == "vtrace":
            for name, value in self.actor.state_dict().items():
                tensors[f"actor.{name}"] = value.clone()
        resumable_games = not self.seat.two_player
        if resumable_games:
            env = self.seat.env
            for field in dataclasses.fields(State):
                tensors[f"state.{field.name}"] = getattr(env.state, field.name).clone()
            tensors["env.needs_reset"] = env._needs_reset.clone()
            for key, value in self.obs.items():
                tensors[f"obs.{key}"] = value.clone()
            tensors["was_last"] = self._was_last.clone()
        meta = {"version": CHECKPOINT_VERSION, "updates": self.progress.updates,
                "agent_steps": self.progress.agent_steps, "episodes": self.progress.episodes,
                "recent_scores": list(self.progress.recent_scores), "param_groups": optimizer["param_groups"],
                "games_saved": resumable_games}
        return {k: v.contiguous() for k, v in tensors.items()}, meta

    def _restore(self, _latest: Path) -> None:
        pointer = self.folder / "checkpoints" / "latest.json"
        if not pointer.is_file():
            raise FileNotFoundError(f"nothing to resume in {self.folder}: no checkpoint yet")
        folder = self.folder / "checkpoints" / json.loads(pointer.read_text())["checkpoint"]
        meta = json.loads((folder / "trainer.json").read_text())
        if meta.get("version", 0) > CHECKPOINT_VERSION:
            raise ValueError(f"{folder}: checkpoint version {meta['version']} is newer than this arena reads")
        self.policy.load_state_dict(load_policy(folder / "policy", device=self.device).state_dict())
        tensors = load_file(str(folder / "trainer.safetensors"), device=str(self.device))
        optimizer = {"state": {}, "param_groups": meta["param_groups"]}
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                optimizer["state"].setdefault(int(index), {})[name] = value
        self.optimizer.load_state_dict(optimizer)
        self.generator.set_state(tensors["generator"].cpu())
        if self.config.algo == "vtrace":
            self.actor.load_state_dict({k[len("actor."):]: v for k, v in tensors.items() if k.startswith("actor.")})
        self.progress = Progress(updates=meta["updates"], agent_steps=meta["agent_steps"], episodes=meta["episodes"],
                                 recent_scores=deque(meta["recent_scores"], maxlen=100))
        if meta["games_saved"]:
            env = self.seat.env
            env.state = State(**{f.name: tensors[f"state.{f.name}"] for f in dataclasses.fields(State)})
            env._needs_reset = tensors["env.needs_reset"]
            self.obs = {k[len("obs."):]: v for k, v in tensors.items() if k.startswith("obs.")}
            self._was_last = tensors["was_last"]
        else:  # two-player games against a bot with its own memory start afresh
            self.obs = self.seat.reset(self.config.seed + self.progress.updates)


def _write_json(path: Path, value: dict) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(value, indent=1))
    os.replace(partial, path)


__all__ = ["ALGORITHMS", "Progress", "Rollout", "TrainConfig", "Trainer", "opponent_agent"]
