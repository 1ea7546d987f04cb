"""The league on Ray: rollout workers and learners as Ray actors, the league's logic unchanged.

`RayExecutor` is an `Executor` (league.executor): the league process (the coordinator) keeps the store, the payoff and
the matchmaking, and hands matches to it. On Ray:

- a `RolloutWorker` actor per worker holds one batched environment (on its CPU or GPU) and plays a whole match: it
  acts with the home player's current parameters and sends every unroll to the home player's learner, taking the new
  parameters back before the next unroll (so learning stays on-policy, as in the local league);
- a `LearnerActor` per learning player holds the policy, its optimizer and random generator (on a GPU with
  `learner_gpus`); parameters reach the workers through Ray's object store;
- the coordinator writes every checkpoint and replay itself (the actors send tensors and bytes), so workers and
  learners may run on other machines without a shared disk.

Up to `workers` matches are in flight at once, each for a different learning player (a learner learns from one
match at a time). Faults: a match whose worker dies is played again on a new worker; a learner that dies is
restarted from its player's last committed checkpoint and its match played again; a learner whose match failed for
any other reason first gets back the state it had when the match began. A match is committed once, when a report
comes back, so nothing is counted twice. The coordinator itself is resumed like the local league
(`arena league resume DIR --ray`). Evaluations against the fixed agents (league.evaluation) are played by the
coordinator, from the checkpoints it writes.

Ray is optional (`pip install -e ".[ray]"`); `require_ray` says how to get it.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import tempfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from agents.learn.learner import Learner, Rollout
from agents.policies.base import Policy
from agents.policies.checkpoint import load_policy
from league.config import LeagueConfig
from league.executor import (Executor, LearnerState, MatchJob, MatchReport, match_recorder, match_seat,
                             play_and_learn, read_learner_folder, write_learner_folder)
from arena.files import write_bytes_atomic

RAY_INSTALL_HINT = 'pip install -e ".[ray]"   (or: pip install "ray>=2.9,<3")'
FROZEN_CACHE = 16
"""Frozen opponents' parameters kept in Ray's object store at once."""


class RayUnavailable(RuntimeError):
    """`--ray` was asked for without Ray installed."""


def require_ray():
    """The `ray` module, or a clear error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"--ray needs Ray, which is not installed: {RAY_INSTALL_HINT}; without --ray the league "
                             f"runs in this process") from None
    return ray


@dataclasses.dataclass(frozen=True)
class RaySettings:
    """Where and how wide the league runs on Ray."""

    address: str | None = None
    """A running cluster (`ray start --head` prints it; "auto" finds the local one); None: start a local Ray here."""
    workers: int = 2
    """Rollout workers: matches in flight at once (at most the number of learning players is useful)."""
    worker_cpus: float = 1.0
    worker_gpus: float = 0.0
    """GPUs per rollout worker (its batched engine runs on CUDA when > 0)."""
    learner_gpus: float = 0.0
    """GPUs per learner (its updates run on CUDA when > 0)."""
    threads: int = 1
    """Torch threads in each actor."""
    max_attempts: int = 3
    """Times a match is tried before its failure stops the league."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if min(self.worker_cpus, self.worker_gpus, self.learner_gpus) < 0 or self.threads < 1:
            raise ValueError("worker_cpus, worker_gpus and learner_gpus must be >= 0 and threads >= 1")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")


def _device(gpus: float) -> str:
    return "cuda" if gpus > 0 else "cpu"


def _rollout_to(rollout: Rollout, device: torch.device) -> Rollout:
    def move(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: move(item) for key, item in value.items()}
        return value.to(device)

    return Rollout(**{field.name: move(getattr(rollout, field.name)) for field in dataclasses.fields(Rollout)})


def _cpu(parameters: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value.detach().cpu().clone() for key, value in parameters.items()}


class LearnerActor:
    """One learning player's learner (made a Ray actor by `RayExecutor`)."""

    def __init__(self, config: LeagueConfig, index: int, initial: Policy, device: str, threads: int):
        torch.set_num_threads(threads)
        self.initial = _cpu(initial.state_dict())
        policy = copy.deepcopy(initial).to(device)
        supervised = copy.deepcopy(initial).to(device) if config.learner.kl_coef else None
        train = dataclasses.replace(config.train_config(config.seed * 1000 + index), device=device)
        self.learner = Learner(train, policy, supervised=supervised)
        self.updates = 0
        self.at_match_start: tuple[LearnerState, int] | None = None

    def pid(self) -> int:
        return os.getpid()

    def load(self, state: LearnerState | None) -> None:
        """A checkpoint's state, or (None) the initial parameters with a fresh optimizer."""
        if state is None:
            self.reset()
        else:
            state.apply(self.learner)

    def reset(self) -> None:
        self.learner.reset_parameters({k: v.to(self.learner.device) for k, v in self.initial.items()})

    def begin_match(self) -> None:
        self.at_match_start = (copy.deepcopy(LearnerState.of(self.learner)), self.updates)

    def roll_back(self) -> None:
        """Back to the state at `begin_match` (a failed match leaves no trace)."""
        if self.at_match_start is not None:
            state, self.updates = self.at_match_start
            state.apply(self.learner)

    def updates_done(self) -> int:
        """Updates since this actor started (less those rolled back)."""
        return self.updates

    def parameters(self) -> dict[str, torch.Tensor]:
        return _cpu(self.learner.policy.state_dict())

    def learn(self, rollout: Rollout) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
        """One update; its statistics and the new parameters (for the worker's next unroll)."""
        stats = self.learner.learn(_rollout_to(rollout, self.learner.device))
        self.updates += 1
        return stats, self.parameters()

    def state(self) -> LearnerState:
        return LearnerState.of(self.learner)


SCRATCH_PREFIX = "arena-replays-"
"""A rollout worker's scratch folder in the temporary directory: `arena-replays-<pid>-<random>` (its replays are
written there, then sent to the coordinator as bytes)."""


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _wait_until_gone(pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(_process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def remove_stale_scratch(temp_dir: Path | None = None) -> list[Path]:
    """Remove the scratch folders of rollout workers whose process is gone (killed workers cannot clean up);
    returns those removed. Every new worker and the executor's `close` call it."""
    removed = []
    for folder in Path(temp_dir or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if folder.is_dir() and pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


class RolloutWorker:
    """A batched environment that plays league matches (made a Ray actor by `RayExecutor`)."""

    def __init__(self, config: LeagueConfig, initial: Policy, device: str, threads: int):
        torch.set_num_threads(threads)
        self.config = dataclasses.replace(config, device=device)
        self.device = device
        self.home = copy.deepcopy(initial).to(device)
        self.away = copy.deepcopy(initial).to(device)
        self.seat = match_seat(self.config)
        remove_stale_scratch()
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))

    def pid(self) -> int:
        return os.getpid()

    def play(self, job: MatchJob, learner, home: dict[str, torch.Tensor],
             away: dict[str, torch.Tensor]) -> tuple[MatchReport, dict[str, bytes]]:
        """Play the match, `learner` (an actor handle) learning from it; the report and its replays' bytes."""
        import ray

        self.home.load_state_dict(home)
        self.away.load_state_dict(away)

        def learn(rollout: Rollout) -> dict[str, float]:
            stats, parameters = ray.get(learner.learn.remote(rollout))
            self.home.load_state_dict(parameters)
            return stats

        generator = torch.Generator(device=self.device)
        generator.manual_seed(job.seed)
        train = self.config.train_config(self.config.seed)
        with tempfile.TemporaryDirectory(dir=self.scratch) as scratch:
            recorder = match_recorder(Path(scratch), job, (self.home, self.away)) if job.record else None
            report = play_and_learn(self.seat, job, self.home, self.away, learn, generator, unroll=train.unroll,
                                    gamma=train.gamma, recorder=recorder)
            replays = {game.replay: (Path(scratch) / Path(game.replay).name).read_bytes()
                       for game in report.games if game.replay}
        return report, replays


@dataclasses.dataclass
class _InFlight:
    job: MatchJob
    worker: Any
    attempt: int


class RayExecutor(Executor):
    """The league's matches on Ray (module docstring). `initial`: the initial parameters' policy."""

    def __init__(self, config: LeagueConfig, folder: Path, initial: Policy, settings: RaySettings = RaySettings()):
        self.ray = require_ray()
        self.config, self.folder, self.settings = config, Path(folder), settings
        self.capacity = settings.workers
        self.initial = copy.deepcopy(initial).cpu()
        self._owns_ray = not self.ray.is_initialized()
        if self._owns_ray:
            self.ray.init(address=settings.address, include_dashboard=False, log_to_driver=False,
                          logging_level="ERROR", configure_logging=True)
        self._initial_ref = self.ray.put(self.initial)
        self._learner_class = self.ray.remote(num_cpus=0, num_gpus=settings.learner_gpus)(LearnerActor)
        self._worker_class = self.ray.remote(num_cpus=settings.worker_cpus,
                                             num_gpus=settings.worker_gpus)(RolloutWorker)
        self.learners: dict[str, Any] = {}
        self._pids: dict[Any, int] = {}
        self._checkpoints: dict[str, Path | None] = {}
        """Each learning player's last committed checkpoint (what a restarted learner loads)."""
        self._idle = [self._new_worker() for _ in range(settings.workers)]
        self._in_flight: dict[Any, _InFlight] = {}
        self._frozen: OrderedDict[str, Any] = OrderedDict()
        self.restarts = {"workers": 0, "learners": 0, "matches": 0}
        """Faults recovered from (for logs and tests)."""

    # -- actors ------------------------------------------------------------------------------------------------
    def _new_worker(self):
        worker = self._worker_class.remote(self.config, self._initial_ref, _device(self.settings.worker_gpus),
                                           self.settings.threads)
        self._pids[worker] = self.ray.get(worker.pid.remote())  # asked now: a busy actor answers after its match
        return worker

    def _new_learner(self, name: str, checkpoint: Path | None):
        index = list(self._checkpoints).index(name) + 1  # as the local executor numbers its learners
        actor = self._learner_class.remote(self.config, index, self._initial_ref,
                                           _device(self.settings.learner_gpus), self.settings.threads)
        state = None if checkpoint is None else read_learner_folder(self.folder / checkpoint)
        self.ray.get(actor.load.remote(state))
        return actor

    def live_learner(self, name: str):
        """`name`'s learner actor; one that has died is replaced by a new one from the last committed checkpoint."""
        if not self._alive(self.learners[name]):
            self.restarts["learners"] += 1
            self.learners[name] = self._new_learner(name, self._checkpoints[name])
        return self.learners[name]

    def _alive(self, actor) -> bool:
        try:
            self.ray.get(actor.pid.remote(), timeout=60)
            return True
        except Exception:  # noqa: BLE001 - any failure to answer means the actor is gone
            return False

    # -- the Executor interface --------------------------------------------------------------------------------
    def load_learner(self, name: str, checkpoint: Path | None) -> None:
        self._checkpoints[name] = checkpoint
        self.learners[name] = self._new_learner(name, checkpoint)

    def save_learner(self, name: str, folder: Path) -> None:
        # A learner that died after its match's report and before this save fails the commit (the league stops;
        # `resume` goes on from the last committed match): a restarted one would not hold what the match taught.
        state = self.ray.get(self.learners[name].state.remote())
        write_learner_folder(state, copy.deepcopy(self.initial), self.folder / folder)
        self._checkpoints[name] = folder

    def reset_learner(self, name: str) -> None:
        self.ray.get(self.live_learner(name).reset.remote())
        self._checkpoints[name] = None

    def play(self, job: MatchJob) -> MatchReport:
        self.submit(job)
        return self.next_report()

    def submit(self, job: MatchJob) -> None:
        self._start(job, attempt=1)

    def _start(self, job: MatchJob, attempt: int) -> None:
        if not self._idle:
            raise RuntimeError(f"all {self.capacity} Ray workers are busy")
        if any(flight.job.home == job.home for flight in self._in_flight.values()):
            raise RuntimeError(f"{job.home} is in a match already")
        learner = self.live_learner(job.home)
        self.ray.get(learner.begin_match.remote())
        worker = self._idle.pop()
        future = worker.play.remote(job, learner, learner.parameters.remote(), self._away_parameters(job))
        self._in_flight[future] = _InFlight(job, worker, attempt)

    def _away_parameters(self, job: MatchJob):
        if job.away_checkpoint is None:
            return self.learners[job.away].parameters.remote()
        if job.away_checkpoint not in self._frozen:
            if len(self._frozen) >= FROZEN_CACHE:
                self._frozen.popitem(last=False)
            policy = load_policy(self.folder / job.away_checkpoint / "policy", device="cpu")
            self._frozen[job.away_checkpoint] = self.ray.put(_cpu(policy.state_dict()))
        self._frozen.move_to_end(job.away_checkpoint)
        return self._frozen[job.away_checkpoint]

    def next_report(self) -> MatchReport:
        while True:
            if not self._in_flight:
                raise RuntimeError("no match is in flight")
            (future,), _ = self.ray.wait(list(self._in_flight), num_returns=1)
            flight = self._in_flight.pop(future)
            try:
                report, replays = self.ray.get(future)
            except self.ray.exceptions.RayError as error:
                self._recover(flight, error)
                continue
            self._idle.append(flight.worker)
            for relative, data in replays.items():
                write_bytes_atomic(self.folder / relative, data)
            return report

    def _recover(self, flight: _InFlight, error: Exception) -> None:
        """Replace what died, undo the match's learning, and play it again (or give up after max_attempts)."""
        job = flight.job
        if self._alive(flight.worker):
            self._idle.append(flight.worker)
        else:
            self.restarts["workers"] += 1
            self._idle.append(self._new_worker())
        learner = self.learners[job.home]
        if self._alive(learner):
            self.ray.get(learner.roll_back.remote())
        else:
            self.live_learner(job.home)
        if flight.attempt >= self.settings.max_attempts:
            raise RuntimeError(f"the match {job.home} vs {job.away} (seed {job.seed}) failed "
                               f"{flight.attempt} times; the last error: {error}") from error
        self.restarts["matches"] += 1
        self._start(job, flight.attempt + 1)

    def cancel_all(self) -> None:
        for future, flight in list(self._in_flight.items()):
            self.ray.kill(flight.worker)
            self._idle.append(self._new_worker())
            learner = self.learners[flight.job.home]
            if self._alive(learner):
                self.ray.get(learner.roll_back.remote())
        self._in_flight.clear()

    def worker_pids(self) -> list[int]:
        """The busy workers' process ids (tests kill them)."""
        return [self._pids[flight.worker] for flight in self._in_flight.values()]

    def learner_pid(self, name: str) -> int:
        return self.ray.get(self.learners[name].pid.remote())

    def close(self) -> None:
        for actor in [*self._idle, *(f.worker for f in self._in_flight.values()), *self.learners.values()]:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - an actor already gone is fine
                pass
        self._idle, self._in_flight, self.learners = [], {}, {}
        if self._owns_ray and self.ray.is_initialized():
            self.ray.shutdown()
        _wait_until_gone(list(self._pids.values()), seconds=10.0)
        remove_stale_scratch()  # this machine's workers' folders (other machines': by their next worker)


# -- the ladder on Ray -----------------------------------------------------------------------------------------
class LadderWorker:
    """Plays a ladder's batches of games (made a Ray actor by `RayPairs`)."""

    def __init__(self, scenario: str, interface, device: str, threads: int):
        torch.set_num_threads(threads)
        from league.ladder.round_robin import LocalPairs

        self.pairs = LocalPairs(scenario, interface, device)

    def pid(self) -> int:
        return os.getpid()

    def play(self, first, second, count: int, seed: int):
        self.pairs.submit(first, second, count, seed)
        return self.pairs.next_games()


class RayPairs:
    """`run_ladder`'s batches on Ray workers, `settings.workers` pairs at once; a batch whose worker dies is played
    again on a new one."""

    def __init__(self, scenario: str, interface, settings: RaySettings = RaySettings()):
        self.ray = require_ray()
        self.settings = settings
        self.capacity = settings.workers
        self._owns_ray = not self.ray.is_initialized()
        if self._owns_ray:
            self.ray.init(address=settings.address, include_dashboard=False, log_to_driver=False,
                          logging_level="ERROR", configure_logging=True)
        worker_class = self.ray.remote(num_cpus=settings.worker_cpus, num_gpus=settings.worker_gpus)(LadderWorker)
        self._pids: dict[Any, int] = {}

        def new_worker():
            worker = worker_class.remote(scenario, interface, _device(settings.worker_gpus), settings.threads)
            self._pids[worker] = self.ray.get(worker.pid.remote())
            return worker

        self._new_worker = new_worker
        self._idle = [self._new_worker() for _ in range(settings.workers)]
        self._in_flight: dict[Any, tuple[tuple, Any, int]] = {}
        self.restarts = 0

    def submit(self, first, second, count: int, seed: int, attempt: int = 1) -> None:
        worker = self._idle.pop()
        self._in_flight[worker.play.remote(first, second, count, seed)] = ((first, second, count, seed), worker,
                                                                           attempt)

    def next_games(self):
        while True:
            (future,), _ = self.ray.wait(list(self._in_flight), num_returns=1)
            batch, worker, attempt = self._in_flight.pop(future)
            try:
                games = self.ray.get(future)
            except self.ray.exceptions.RayActorError as error:
                self.restarts += 1
                self._idle.append(self._new_worker())
                if attempt >= self.settings.max_attempts:
                    raise RuntimeError(f"a batch of {batch[0].name} vs {batch[1].name} failed {attempt} times: "
                                       f"{error}") from error
                self.submit(*batch, attempt=attempt + 1)
                continue
            self._idle.append(worker)
            return games

    def worker_pids(self) -> list[int]:
        return [self._pids[worker] for _, worker, _ in self._in_flight.values()]

    def close(self) -> None:
        for actor in [*self._idle, *(worker for _, worker, _ in self._in_flight.values())]:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - an actor already gone is fine
                pass
        self._idle, self._in_flight = [], {}
        if self._owns_ray and self.ray.is_initialized():
            self.ray.shutdown()
