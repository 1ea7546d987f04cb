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
import shutil
import time
from collections import deque
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

import arena
from agents.base import BatchedAgent
from agents.learn.config import TRAIN_DEFAULTS, Algorithm, TrainConfig
from agents.learn.learner import Learner, Rollout, SeatStep, collect
from agents.learn.warm_start import WarmStartReport, cloned_policy_path, warm_start
from agents.policies import make_policy
from agents.policies.base import Policy
from agents.policies.checkpoint import load_policy, save_policy
from arena.env import ArenaEnv, StepType
from arena.files import atomic_folder, write_text_atomic
from arena.multi_env import ArenaMultiEnv, player_view
from arena.replay.recorder import ReplayRecorder
from arena.scenarios.registry import make_scenario, resolve_id
from arena.sim.state import State

CHECKPOINT_VERSION = 1
KEEP_CHECKPOINTS = 3
"""The newest checkpoints kept; older ones are deleted once a newer one is complete."""
WARM_START = "warm_start"
"""The run's sub-folder of its warm start."""
def new_policy(config: TrainConfig) -> Policy:
    """A fresh policy for a run of `config` (seed torch first for the same initial weights)."""
    return make_policy(config.policy, config.interface, **config.policy_options)


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


class Seat:
    """The environment as the learner sees it: one seat, [B] rewards, an opponent in the other seat (`opponent`
    may be replaced between episodes: the league does, match by match). `recorder`, when set, records the games
    from the next `reset` on."""

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
        self.recorder: ReplayRecorder | None = None

    def reset(self, seed: int, *, stagger: bool = False) -> dict[str, torch.Tensor]:
        """Begin every game; `stagger` (one-player scenarios): first episodes start staggered (arena.env)."""
        obs, _ = (self.env.reset(seed=seed, options={"stagger": True}) if stagger and not self.two_player
                  else self.env.reset(seed=seed))
        self._first = torch.ones_like(self._first)
        if self.opponent is not None:
            self.opponent.reset(self.env.num_envs)
        if self.recorder is not None:
            self.recorder.reset(self.env, obs)
        return self._own(obs)

    def _own(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self.two_player:
            return obs
        self._opponent_obs = player_view(obs, 1)
        return player_view(obs, 0)

    def step(self, action) -> SeatStep:
        """One step of every game. A two-player game's time limit decides it (a draw, or the better score wins):
        its end there is the game's end, never a truncation; a one-player mini-game's time limit truncates."""
        if self.two_player:
            other = self.opponent.act(self._opponent_obs, self._first)
            obs, reward, _, _, info = self.env.step([action, other])
            if self.recorder is not None:
                self.recorder.step(self.env, [action, other], obs, reward, info)
            self._first = info["step_type"] == int(StepType.FIRST)
            return SeatStep(obs=self._own(obs), reward=reward[:, 0], step_type=info["step_type"],
                            truncated=torch.zeros_like(self._first), result=info["outcome"].float())
        obs, reward, _, truncated, info = self.env.step(action)
        if self.recorder is not None:
            self.recorder.step(self.env, action, obs, reward, info)
        return SeatStep(obs=obs, reward=reward, step_type=info["step_type"], truncated=truncated,
                        result=info["score"])


def _same_architecture(saved: Policy, run: Policy, role: str, path: str) -> Policy:
    """`saved`, if it has the run's architecture; else a ValueError naming the fields that differ."""
    if saved.config != run.config:
        mine, theirs = run.config.to_dict(), saved.config.to_dict()
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise ValueError(f"the policy {role} ({path}) differs from this run's in {', '.join(differ)} (a "
                         f"{saved.kind} policy; this run's: {run.kind}); clone or train it with the same options")
    return saved


def opponent_agent(config: TrainConfig) -> BatchedAgent | None:
    """Player 2's agent of a two-player run: a saved policy (a .json / .safetensors path) or an agent name."""
    from agents.registry import make_agent

    if config.opponent is None:
        return None
    if Path(config.opponent).suffix in (".json", ".safetensors") or Path(config.opponent).is_dir():
        from agents.policies.base import PolicyAgent

        return PolicyAgent(load_policy(config.opponent, device=config.device), seed=config.seed + 1)
    return make_agent(config.opponent, config.scenario, seed=config.seed + 1)


class Trainer:
    """A training run in `folder`: `train(steps)` runs updates until `steps` agent steps, checkpointing as it goes.

    Files: config.json, checkpoints/update_<n>/ (policy.safetensors + policy.json, trainer.safetensors +
    trainer.json; the newest KEEP_CHECKPOINTS), checkpoints/latest.json (names the newest complete one), log.jsonl
    (one line per update), tensorboard/, and with config.warm_start, warm_start/ (agents.learn.warm_start; made
    before the first update, `on_stage` hears its stages).
    """

    def __init__(self, config: TrainConfig, folder: str | Path, *, resume: bool = False,
                 on_stage: Callable[[str], None] | None = None):
        self.config = config
        self.warm_start_report: WarmStartReport | None = None
        """What the warm start did (a run with config.warm_start, not resumed)."""
        self.folder = Path(folder)
        self.device = torch.device(config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device cuda asked for, but CUDA is not available on this machine")
        existing = self.folder / "config.json"
        if resume:
            if not existing.is_file():
                raise FileNotFoundError(f"nothing to resume in {self.folder}: no config.json")
            saved = json.loads(existing.read_text())
            mine = json.loads(json.dumps(dataclasses.asdict(config)))
            defaults = json.loads(json.dumps(dict(TRAIN_DEFAULTS)))
            saved = {**{k: v for k, v in defaults.items() if k not in saved}, **saved}  # fields added since
            if saved != mine:
                changed = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
                raise ValueError(f"{self.folder} was trained with another configuration (differs in {changed}); "
                                 "resume with the same options, or train into a new folder")
        elif (self.folder / "checkpoints").exists():
            raise FileExistsError(f"{self.folder} already holds a run; use --resume to continue it, or another "
                                  "folder")
        start_from, stay_near = config.init, config.kl_to
        if config.warm_start:
            cloned = cloned_policy_path(self.folder / WARM_START)
            if not resume:
                self.warm_start_report = warm_start(config, self.folder / WARM_START, on_stage=on_stage)
            start_from, stay_near = str(cloned), stay_near or (str(cloned) if config.kl_coef else None)
        torch.manual_seed(config.seed)
        policy: Policy = new_policy(config).to(self.device)
        if start_from:
            policy = _same_architecture(load_policy(start_from, device=self.device), policy, "to start from",
                                        start_from)
        supervised = None
        if stay_near:
            supervised = _same_architecture(load_policy(stay_near, device=self.device), policy, "to stay near",
                                            stay_near)
        self.learner = Learner(config, policy, supervised=supervised)
        self.policy = policy
        self.actor = copy.deepcopy(self.policy) if config.algo is Algorithm.VTRACE else self.policy
        self.seat = Seat(config, opponent_agent(config))
        self.progress = Progress()
        self.obs = self.seat.reset(config.seed, stagger=config.stagger)
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
        critic_only = self.progress.agent_steps < self.config.critic_warmup
        rollout = self.collect()
        collected = time.perf_counter()
        stats = self.learner.learn(rollout, critic_only=critic_only)
        self.progress.updates += 1
        if self.config.algo is Algorithm.VTRACE and self.progress.updates % self.config.actor_lag == 0:
            self.actor.load_state_dict(self.policy.state_dict())
        elapsed = time.perf_counter() - start
        steps = self.config.num_envs * self.config.unroll
        stats.update({"critic_only": float(critic_only), "agent_steps": float(self.progress.agent_steps), "episodes": float(self.progress.episodes),
                      "mean_score_100": self.progress.mean_score, "steps_per_second": steps / elapsed,
                      "collect_seconds": collected - start, "learn_seconds": elapsed - (collected - start)})
        self._log(stats)
        return stats

    def collect(self) -> Rollout:
        """Play `unroll` steps of every game with the acting policy."""
        cfg = self.config
        bootstrap = self.policy if cfg.algo is Algorithm.VTRACE else None  # V-trace bootstraps from the learner's value
        collected = collect(self.actor, self.seat.step, self.obs, self._was_last, unroll=cfg.unroll,
                            gamma=cfg.gamma, generator=self.learner.generator, bootstrap_policy=bootstrap,
                            autocast=self.learner.autocast, reward_scale=cfg.reward_scale)
        self.obs, self._was_last = collected.obs, collected.was_last
        for step_ended, step_results in zip(collected.ended, collected.results):
            self._count_episodes(step_ended, step_results)
        self.progress.agent_steps += cfg.num_envs * cfg.unroll
        return collected.rollout

    def _count_episodes(self, ended: torch.Tensor, result: torch.Tensor) -> None:
        if bool(ended.any()):
            for score in result[ended].tolist():
                self.progress.recent_scores.append(float(score))
                self.progress.episodes += 1

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
        with atomic_folder(final) as partial:
            save_policy(self.policy, partial / "policy")
            tensors, meta = self._trainer_state()
            save_file(tensors, str(partial / "trainer.safetensors"))
            _write_json(partial / "trainer.json", meta)
        _write_json(root / "latest.json", {"checkpoint": final.name})
        for old in sorted(root.glob("update_*"))[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def _trainer_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors, learner_meta = self.learner.state_tensors()
        if self.config.algo is Algorithm.VTRACE:
            for name, value in self.actor.state_dict().items():
                tensors[f"actor.{name}"] = value.clone()
        resumable_games = not self.seat.two_player
        if resumable_games:
            env = self.seat.env
            for field in dataclasses.fields(State):
                tensors[f"state.{field.name}"] = getattr(env.state, field.name).clone()
            tensors["env.needs_reset"] = env.needs_reset.clone()
            for key, value in self.obs.items():
                tensors[f"obs.{key}"] = value.clone()
            tensors["was_last"] = self._was_last.clone()
        meta = {"version": CHECKPOINT_VERSION, "updates": self.progress.updates,
                "agent_steps": self.progress.agent_steps, "episodes": self.progress.episodes,
                "recent_scores": list(self.progress.recent_scores), **learner_meta,
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
        self.learner.load_state(tensors, meta)
        if self.config.algo is Algorithm.VTRACE:
            self.actor.load_state_dict({k[len("actor."):]: v for k, v in tensors.items() if k.startswith("actor.")})
        self.progress = Progress(updates=meta["updates"], agent_steps=meta["agent_steps"], episodes=meta["episodes"],
                                 recent_scores=deque(meta["recent_scores"], maxlen=100))
        if meta["games_saved"]:
            env = self.seat.env
            env.state = State(**{f.name: tensors[f"state.{f.name}"] for f in dataclasses.fields(State)})
            env.needs_reset = tensors["env.needs_reset"]
            self.obs = {k[len("obs."):]: v for k, v in tensors.items() if k.startswith("obs.")}
            self._was_last = tensors["was_last"]
        else:  # two-player games against a bot with its own memory start afresh
            self.obs = self.seat.reset(self.config.seed + self.progress.updates)


def _write_json(path: Path, value: dict) -> None:
    write_text_atomic(path, json.dumps(value, indent=1))


__all__ = ["Progress", "Rollout", "Seat", "Trainer", "new_policy", "opponent_agent"]
