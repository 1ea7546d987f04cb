"""Where the league's work runs: an executor plays matches (the home player learning from them), and saves, loads
and resets learners. The league talks to it in plain data (`MatchJob` in, `MatchReport` out, paths of checkpoint
folders), so a distributed executor can replace the local one without the league's logic changing.

`LocalExecutor` runs everything in this process, on the league's device: one batched environment whose opponent
seat is refilled match by match, one `Learner` per learning player.
"""

from __future__ import annotations

import abc
import contextlib
import copy
import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

from agents.learn.learner import Learner, Rollout, collect
from agents.learn.trainer import Seat
from agents.policies.base import Policy, PolicyAgent, policy_details
from agents.policies.checkpoint import load_policy, save_policy
from arena.files import atomic_folder
from arena.replay.recorder import ReplayRecorder, ReplaySampling
from league.config import LeagueConfig
from league.players import Outcome

LEARNER_STATE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class MatchJob:
    """One match: `games` games of home (learning) against away, played side by side."""

    home: str
    away: str
    away_checkpoint: str | None
    """A frozen away player's weights (a checkpoint folder relative to the league's folder); None when away is a
    learning player, who then plays with its current weights, frozen for the match."""
    seed: int
    """Game i of the batch is seeded `seed + i`."""
    branch: str
    """The matchmaking branch that chose away (kept with the results)."""
    record: bool = False
    """Keep replays of this match's games (the league samples which matches)."""


@dataclasses.dataclass(frozen=True)
class GameResult:
    outcome: Outcome
    """From home's side."""
    seed: int
    replay: str | None = None
    """The game's replay file (relative to the league's folder), if it was kept."""


@dataclasses.dataclass(frozen=True)
class MatchReport:
    job: MatchJob
    games: tuple[GameResult, ...]
    agent_steps: int
    """Home's steps that it learned from (every game's steps until its end)."""
    updates: int
    stats: dict[str, float]
    """Home's learning statistics, averaged over the match's updates."""
    seconds: float


class Executor(abc.ABC):
    """What the league needs done; implementations decide where.

    The league keeps up to `capacity` matches in flight, each with a different home player: it `submit`s jobs and
    takes their reports from `next_report` as they finish. The default plays each submitted job when its report is
    asked for (one at a time, in order); a distributed executor plays them concurrently.
    """

    capacity: int = 1
    """How many matches can be played at once."""

    def submit(self, job: MatchJob) -> None:
        """Start the match (the home player must not be in another match in flight)."""
        self._queued().append(job)

    def next_report(self) -> MatchReport:
        """The report of a submitted match that has finished (waiting for one)."""
        queued = self._queued()
        if not queued:
            raise RuntimeError("no match is in flight")
        return self.play(queued.pop(0))

    def cancel_all(self) -> None:
        """Drop every match in flight (their home learners keep what they learned: the league reloads them)."""
        self._queued().clear()

    def _queued(self) -> list[MatchJob]:
        if "_queue" not in self.__dict__:
            self._queue: list[MatchJob] = []
        return self._queue

    @abc.abstractmethod
    def load_learner(self, name: str, checkpoint: Path | None) -> None:
        """Make `name` a learner with the weights and optimizer of `checkpoint` (None: the initial parameters)."""

    @abc.abstractmethod
    def play(self, job: MatchJob) -> MatchReport:
        """Play the match; the home learner learns from it."""

    @abc.abstractmethod
    def save_learner(self, name: str, folder: Path) -> None:
        """Write the learner's weights and optimizer into `folder` (which must not exist yet), atomically."""

    @abc.abstractmethod
    def reset_learner(self, name: str) -> None:
        """Put the learner back to the initial parameters, with a fresh optimizer."""

    def close(self) -> None:
        """Release what the executor holds."""


@dataclasses.dataclass
class LearnerState:
    """Everything a learner's checkpoint folder holds, as tensors and JSON data (what travels between processes)."""

    parameters: dict[str, torch.Tensor]
    """The policy's state dict."""
    tensors: dict[str, torch.Tensor]
    """The optimizer's state and the random generator (`Learner.state_tensors`)."""
    meta: dict

    @staticmethod
    def of(learner: Learner) -> "LearnerState":
        tensors, meta = learner.state_tensors()
        return LearnerState({k: v.detach().cpu().clone() for k, v in learner.policy.state_dict().items()},
                            {k: v.cpu() for k, v in tensors.items()}, meta)

    def apply(self, learner: Learner) -> None:
        learner.policy.load_state_dict(self.parameters)
        learner.load_state({k: v.to(learner.device) for k, v in self.tensors.items()}, self.meta)


def write_learner_folder(state: LearnerState, policy: Policy, folder: Path) -> None:
    """policy.safetensors/.json + learner.safetensors/.json into `folder`, written beside it and renamed into place.
    `policy` is any policy of the learner's architecture (its weights are replaced by the state's)."""
    policy.load_state_dict(state.parameters)
    with atomic_folder(folder) as partial:
        save_policy(policy, partial / "policy")
        save_file({k: v.contiguous() for k, v in state.tensors.items()}, str(partial / "learner.safetensors"))
        (partial / "learner.json").write_text(json.dumps({"version": LEARNER_STATE_VERSION, **state.meta}))


def read_learner_folder(folder: Path) -> LearnerState:
    """The inverse of `write_learner_folder`, on the CPU (nothing is unpickled)."""
    meta = json.loads((folder / "learner.json").read_text())
    if meta.get("version", 0) > LEARNER_STATE_VERSION:
        raise ValueError(f"{folder}: learner state version {meta['version']} is newer than this arena reads")
    meta.pop("version", None)
    parameters = load_policy(folder / "policy", device="cpu").state_dict()
    return LearnerState(parameters, load_file(str(folder / "learner.safetensors"), device="cpu"), meta)


def save_learner_folder(learner: Learner, folder: Path) -> None:
    """A learner's checkpoint folder (`write_learner_folder`)."""
    write_learner_folder(LearnerState.of(learner), learner.policy, folder)


def load_learner_folder(learner: Learner, folder: Path) -> None:
    """Put a checkpoint folder's weights, optimizer and generator into `learner`."""
    read_learner_folder(folder).apply(learner)


class LocalExecutor(Executor):
    """Runs matches in this process (module docstring). `initial`: the initial parameters' policy."""

    def __init__(self, config: LeagueConfig, folder: Path, initial: Policy):
        self.config = config
        self.folder = Path(folder)
        self.initial = initial
        self.learners: dict[str, Learner] = {}
        self.seat: Seat | None = None
        self._frozen: dict[str, Policy] = {}

    def _seat(self) -> Seat:
        if self.seat is None:
            self.seat = match_seat(self.config)
        return self.seat

    def load_learner(self, name: str, checkpoint: Path | None) -> None:
        index = len(self.learners) + 1
        policy = copy.deepcopy(self.initial)
        supervised = self.initial if self.config.learner.kl_coef else None
        learner = Learner(self.config.train_config(self.config.seed * 1000 + index), policy, supervised=supervised)
        if checkpoint is not None:
            load_learner_folder(learner, self.folder / checkpoint)
        self.learners[name] = learner

    def save_learner(self, name: str, folder: Path) -> None:
        save_learner_folder(self.learners[name], self.folder / folder)

    def reset_learner(self, name: str) -> None:
        self.learners[name].reset_parameters(copy.deepcopy(self.initial.state_dict()))

    def _away_policy(self, job: MatchJob) -> Policy:
        if job.away_checkpoint is None:
            return copy.deepcopy(self.learners[job.away].policy)
        if job.away_checkpoint not in self._frozen:
            if len(self._frozen) >= 16:  # keep the most recent few in memory
                self._frozen.pop(next(iter(self._frozen)))
            self._frozen[job.away_checkpoint] = load_policy(self.folder / job.away_checkpoint / "policy",
                                                            device=self.config.device)
        return self._frozen[job.away_checkpoint]

    def play(self, job: MatchJob) -> MatchReport:
        learner, seat, away = self.learners[job.home], self._seat(), self._away_policy(job)
        recorder = match_recorder(self.folder / "replays", job, (learner.policy, away)) if job.record else None
        return play_and_learn(seat, job, learner.policy, away, learner.learn, learner.generator,
                              unroll=learner.config.unroll, gamma=learner.config.gamma, autocast=learner.autocast,
                              recorder=recorder)


def play_and_learn(seat: Seat, job: MatchJob, policy: Policy, away: Policy, learn: Callable[[Rollout], dict],
                   generator: torch.Generator, *, unroll: int, gamma: float, autocast=contextlib.nullcontext,
                   recorder: ReplayRecorder | None = None) -> MatchReport:
    """Play every game of the match once (home: `policy`, sampling with `generator`; away: `away`), giving each
    unroll to `learn` (which updates `policy`) as soon as it is collected."""
    start = time.perf_counter()
    seat.opponent = PolicyAgent(away, seed=job.seed + 1)
    seat.recorder = recorder
    obs = seat.reset(job.seed)
    device = next(policy.parameters()).device
    was_last = torch.zeros(seat.env.num_envs, dtype=torch.bool, device=device)
    active = torch.ones_like(was_last)
    outcomes: dict[int, Outcome] = {}
    totals: dict[str, float] = {}
    steps = updates = 0
    try:
        while bool(active.any()):
            collected = collect(policy, seat.step, obs, was_last, unroll=unroll, gamma=gamma,
                                generator=generator, active=active, once=True, autocast=autocast)
            obs, was_last, active = collected.obs, collected.was_last, collected.active
            for t, game in collected.ended.nonzero().tolist():
                outcomes[game] = Outcome.from_reward(float(collected.results[t, game]))
            valid = int(collected.rollout.valid.sum())
            if valid:
                for key, value in learn(collected.rollout).items():
                    totals[key] = totals.get(key, 0.0) + value
                steps += valid
                updates += 1
    finally:
        seat.recorder = None
    replays = _replays_by_game(recorder, job.seed)
    games = tuple(GameResult(outcome=outcomes[g], seed=job.seed + g, replay=replays.get(g)) for g in sorted(outcomes))
    return MatchReport(job=job, games=games, agent_steps=steps, updates=updates,
                       stats={k: v / max(updates, 1) for k, v in totals.items()},
                       seconds=time.perf_counter() - start)


def match_seat(config: LeagueConfig) -> Seat:
    """The batched two-player environment an executor plays its matches in (the opponent is set per match)."""
    class _Placeholder:  # the seat needs an opponent to exist; the executor sets the real one per match
        def reset(self, batch: int) -> None: ...

    seat = Seat(config.train_config(config.seed), opponent=_Placeholder())  # type: ignore[arg-type]
    return seat


def match_recorder(folder: Path, job: MatchJob, policies: tuple[Policy, Policy]) -> ReplayRecorder:
    """Keeps every fourth game of a recorded match in `folder`, named `<home>-vs-<away>-seed<game seed>.replay.npz`;
    the header's player entries keep each policy's action space."""
    return ReplayRecorder(folder, [job.home, job.away], sampling=ReplaySampling(every=4),
                          prefix=f"{job.home}-vs-{job.away}",
                          player_details=[policy_details(policy) for policy in policies])


def _replays_by_game(recorder: ReplayRecorder | None, first_seed: int) -> dict[int, str]:
    """Game index -> replay path relative to the league's folder."""
    if recorder is None:
        return {}
    found = {}
    for path in recorder.saved:
        match = re.search(r"-seed(\d+)(-\d+)?\.replay\.npz$", path.name)
        if match:
            found[int(match.group(1)) - first_seed] = str(Path("replays") / path.name)
    return found
