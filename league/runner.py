"""The league loop: pick a learning player, let its role choose the opponent, play a batch of games through the
executor (the player learns from them), then in one store transaction record the games, the payoff, the players'
steps, snapshots, resets and ratings. After a committed match, its home player is evaluated against the fixed agents
when that is due (league.evaluation), in this process for every executor (from the checkpoint the match just
committed), and the results are stored in a transaction of their own: never in the payoff.

Crash safety: a match is done when its transaction commits. Everything it wrote before (the learner's new
checkpoint folder, a snapshot's folder, replays) is written atomically first and only referenced by that
transaction; `League.open` removes what a killed process left unreferenced, so a resumed league continues from the
last committed match with nothing lost and nothing corrupt.

Files of a league folder: league.sqlite (the store), checkpoints/initial/ (the initial parameters),
checkpoints/<player>/m<match>/ (a learning player's weights and optimizer after that match; only the newest is
kept), checkpoints/snapshots/<player@n>/ (frozen players), replays/, tensorboard/.
"""

from __future__ import annotations

import dataclasses
import math
import random
import shutil
import time
from pathlib import Path
from typing import Callable

from agents.learn.trainer import new_policy
from agents.policies.base import Policy
from agents.policies.checkpoint import load_policy, save_policy
from arena.files import PARTIAL_SUFFIX, atomic_folder
from league.config import LeagueConfig
from league.evaluation import Evaluator, evaluation_due
from league.executor import Executor, LocalExecutor, MatchJob, MatchReport
from league.in_flight import InFlightMatch, clear_in_flight, write_in_flight
from league.matchmaking import (add_steps, choose_opponent, initial_players, reset, reset_after_snapshot, snapshot,
                                snapshot_due)
from league.payoff import Payoff
from league.players import Outcome, Player
from league.ladder.ratings import fit_elo
from league.store import (INITIAL_CHECKPOINT, EvaluationRecord, EventKind, LeagueStore, MatchRecord,
                          initial_snapshot)

INITIAL = INITIAL_CHECKPOINT
MakeExecutor = Callable[[LeagueConfig, Path, Policy], Executor]
"""(config, the league's folder, the initial policy) -> the executor that plays its matches."""
SNAPSHOTS = "checkpoints/snapshots"


@dataclasses.dataclass(frozen=True)
class MatchSummary:
    """What one committed match changed (for the live table and logs)."""

    report: MatchReport
    match_number: int
    snapshot: str | None
    """The snapshot taken after it, if any."""
    reset: bool
    evaluations: tuple[EvaluationRecord, ...] = ()
    """The home player's evaluations against the fixed agents after it, if one was due."""


def initial_policy(config: LeagueConfig) -> Policy:
    """The parameters every learning player starts from: `config.init`'s policy, or fresh ones from the seed."""
    if config.init:
        return load_policy(config.init, device=config.device)
    import torch

    torch.manual_seed(config.seed)
    return new_policy(config.train_config(config.seed)).to(config.device)


class League:
    """A league in a folder (module docstring). Make one with `League.create` or `League.open`."""

    def __init__(self, store: LeagueStore, config: LeagueConfig, executor: Executor):
        self.store = store
        self.config = config
        self.folder = store.folder
        self.executor = executor
        self.rules = config.league_rules
        self.players: dict[str, Player] = store.players()
        self.payoff = store.payoff(config.payoff_decay)
        for name, player in self.players.items():
            if player.learning:
                executor.load_learner(name, None if player.checkpoint is None else Path(player.checkpoint))
        from agents.learn.tensorboard import ScalarWriter

        self.tensorboard = ScalarWriter(self.folder / "tensorboard")
        self.evaluator = Evaluator(config)

    # -- making and opening ------------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, config: LeagueConfig, make_executor: MakeExecutor = LocalExecutor) -> "League":
        """A new league in `folder` (refused where a league exists: nothing there is touched), its matches played
        by `make_executor(config, folder, initial policy)`."""
        folder = Path(folder)
        initial = initial_policy(config)
        executor = make_executor(config, folder, initial)  # first: an executor that cannot start leaves no league
        try:
            store = LeagueStore.create(folder, config=config.to_dict())
        except BaseException:
            executor.close()
            raise
        try:
            target = folder / INITIAL
            if not target.exists():
                with atomic_folder(target) as partial:
                    save_policy(initial, partial / "policy")
            fresh = initial_players(config.kind, config.league_size, matchmaking=config.league_matchmaking)
            players = {name: (p if p.learning else dataclasses.replace(p, checkpoint=INITIAL))
                       for name, p in fresh.items()}
            with store.transaction() as tx:
                for player in players.values():
                    tx.put_player(player)
                    tx.add_event(player.name, EventKind.CREATED, player.parent or "", 0)
        except BaseException:
            executor.close()
            store.close()
            raise
        return cls._attach(store, config, executor)

    @classmethod
    def open(cls, folder: str | Path, make_executor: MakeExecutor = LocalExecutor) -> "League":
        """The league in `folder`, as its last committed match left it (leftovers of a killed run are removed)."""
        folder = Path(folder)
        store = LeagueStore.open(folder)
        try:
            config = LeagueConfig.from_dict(store.config(), source=str(store.path))
            remove_leftovers(folder, store.players())
            initial = load_policy(folder / INITIAL / "policy", device=config.device)
        except BaseException:
            store.close()
            raise
        return cls._with_executor(store, config, make_executor, initial)

    @classmethod
    def _with_executor(cls, store: LeagueStore, config: LeagueConfig, make_executor: MakeExecutor,
                       initial: Policy) -> "League":
        try:
            executor = make_executor(config, store.folder, initial)
        except BaseException:
            store.close()
            raise
        return cls._attach(store, config, executor)

    @classmethod
    def _attach(cls, store: LeagueStore, config: LeagueConfig, executor: Executor) -> "League":
        try:
            return cls(store, config, executor)
        except BaseException:
            executor.close()
            store.close()
            raise

    def close(self) -> None:
        self.executor.close()
        self.evaluator.close()
        self.tensorboard.close()
        self.store.close()

    # -- the loop ----------------------------------------------------------------------------------------------
    @property
    def matches_played(self) -> int:
        return int(self.store.stat("matches", 0))

    def learning_players(self) -> list[Player]:
        return [p for p in self.players.values() if p.learning]

    def next_home(self, busy: frozenset[str] = frozenset()) -> str | None:
        """The learning player with the fewest steps (ties: the first by name), so all learn at the same pace; only
        players not in a match in flight (`busy`) count; None when every one is busy."""
        free = [p for p in self.learning_players() if p.name not in busy]
        return min(free, key=lambda p: (p.steps, p.name)).name if free else None

    def next_job(self, busy: frozenset[str] = frozenset()) -> MatchJob | None:
        """The next match for a player not in `busy` (the homes of the matches in flight), or None."""
        number = self.matches_played + len(busy)
        rng = random.Random(self.config.seed * 1_000_003 + number)
        home = self.next_home(busy)
        if home is None:
            return None
        match = choose_opponent(home, self.players, self.payoff, self.rules, rng, self.config.league_matchmaking)
        away = self.players[match.away]
        record = self.config.replay_every > 0 and number % self.config.replay_every == 0
        return MatchJob(home=home, away=away.name, away_checkpoint=None if away.learning else away.checkpoint,
                        seed=self.config.seed * 10_000_000 + number * self.config.games_per_match,
                        branch=match.branch.value, record=record)

    def play_match(self) -> MatchSummary:
        """Play one match and commit it."""
        return self.run_matches(matches=1)[0]

    def run(self, *, seconds: float | None = None, matches: int | None = None,
            on_match: Callable[["League", MatchSummary], None] | None = None) -> int:
        """Play matches until `seconds` have passed or `matches` were played (None: until interrupted)."""
        return len(self.run_matches(seconds=seconds, matches=matches, on_match=on_match))

    def run_matches(self, *, seconds: float | None = None, matches: int | None = None,
                    on_match: Callable[["League", MatchSummary], None] | None = None) -> list[MatchSummary]:
        """`run`, returning what each committed match changed. Up to `executor.capacity` matches are in flight,
        each for a different learning player; each is committed as it finishes. Once time is up, no new match
        starts and those in flight are finished and committed. After a match, its home player is evaluated against the
        fixed agents when due (`evaluate_if_due`). An exception (Ctrl-C) drops those in flight."""
        start, done, in_flight = time.monotonic(), [], {}

        def in_time() -> bool:
            return seconds is None or time.monotonic() - start < seconds

        def may_start() -> bool:
            return (matches is None or len(done) + len(in_flight) < matches) and in_time()

        try:
            while True:
                while len(in_flight) < self.executor.capacity and may_start():
                    job = self.next_job(frozenset(in_flight))
                    if job is None:
                        break
                    self.executor.submit(job)
                    in_flight[job.home] = InFlightMatch(home=job.home, away=job.away, branch=job.branch,
                                                        seed=job.seed, started=time.time())
                    write_in_flight(self.folder, list(in_flight.values()), time.time())
                if not in_flight:
                    clear_in_flight(self.folder)
                    return done
                report = self.executor.next_report()
                in_flight.pop(report.job.home, None)
                summary = self.commit(report)
                write_in_flight(self.folder, list(in_flight.values()), time.time())
                if in_time():  # once time is up, a due evaluation waits for the player's next match
                    summary = self.evaluate_if_due(summary)
                done.append(summary)
                if on_match is not None:
                    on_match(self, summary)
        except BaseException:
            if in_flight:
                self.executor.cancel_all()
            clear_in_flight(self.folder)
            raise

    # -- committing a match ------------------------------------------------------------------------------------
    def commit(self, report: MatchReport) -> MatchSummary:
        job, number = report.job, self.matches_played + 1
        rng = random.Random(self.config.seed * 7_000_003 + number)
        players = add_steps(self.players, job.home, report.agent_steps)
        checkpoint = f"checkpoints/{job.home}/m{number:07d}"
        self.executor.save_learner(job.home, Path(checkpoint))
        players[job.home] = dataclasses.replace(players[job.home], checkpoint=checkpoint)
        payoff = self.payoff.copy()
        for game in report.games:
            payoff.record(job.home, job.away, game.outcome)
        frozen, was_reset = None, False
        if snapshot_due(job.home, players, payoff, self.rules):
            players, frozen = snapshot(players, job.home)
            frozen = dataclasses.replace(frozen, checkpoint=f"{SNAPSHOTS}/{frozen.name}")
            players[frozen.name] = frozen
            _copy_folder(self.folder / checkpoint, self.folder / frozen.checkpoint)
            if reset_after_snapshot(players[job.home], self.rules, rng):
                players = reset(players, job.home)
                players[job.home] = dataclasses.replace(players[job.home], checkpoint=None)
                was_reset = True
        ratings = self._ratings(players, payoff)
        self._write(report, number, players, payoff, frozen, was_reset, ratings)
        if was_reset:
            self.executor.reset_learner(job.home)
        previous = self.players[job.home].checkpoint
        self.players, self.payoff = players, payoff
        if previous and previous != checkpoint:
            shutil.rmtree(self.folder / previous, ignore_errors=True)
        if was_reset:
            shutil.rmtree(self.folder / checkpoint, ignore_errors=True)
        self._log(report, ratings)
        return MatchSummary(report=report, match_number=number, snapshot=None if frozen is None else frozen.name,
                            reset=was_reset)

    def _write(self, report: MatchReport, number: int, players: dict[str, Player], payoff: Payoff,
               frozen: Player | None, was_reset: bool, ratings: dict[str, float]) -> None:
        job = report.job
        with self.store.transaction() as tx:
            for name in {job.home} | ({frozen.name} if frozen else set()):
                tx.put_player(players[name])
            tx.add_event(job.home, EventKind.CHECKPOINT, players[job.home].checkpoint or "", players[job.home].steps)
            if frozen is not None:
                tx.add_event(job.home, EventKind.SNAPSHOT, frozen.name, frozen.steps)
                tx.add_event(frozen.name, EventKind.CREATED, job.home, frozen.steps)
            if was_reset:
                tx.add_event(job.home, EventKind.RESET, "", players[job.home].steps)
            for game in report.games:
                tx.add_match(MatchRecord(home=job.home, away=job.away, outcome=game.outcome, branch=job.branch,
                                         batch=number, seed=game.seed, replay=game.replay,
                                         home_steps=players[job.home].steps))
            for home, away in {(job.home, job.away), (job.away, job.home)}:
                record = payoff.pair(home, away)
                tx.put_payoff(home, away, record.games, record.wins, record.draws, record.losses)
            games_so_far = int(self.store.stat("games", 0)) + len(report.games)
            for name, rating in ratings.items():
                tx.add_rating(name, rating, games_so_far)
            tx.set_stat("matches", number)
            tx.set_stat("games", games_so_far)
            tx.set_stat("agent_steps", int(self.store.stat("agent_steps", 0)) + report.agent_steps)
            tx.set_stat("match_seconds", float(self.store.stat("match_seconds", 0.0)) + report.seconds)

    # -- evaluating against fixed agents -----------------------------------------------------------------------
    def evaluate_if_due(self, summary: MatchSummary) -> MatchSummary:
        """After a committed match: evaluate its home player against the fixed agents if that is due (after its first
        match, then every `eval_every` of its matches, and after its first match since a reset); returns the summary
        with the evaluations. A player reset by this match has the initial parameters: it waits for its next one."""
        name = summary.report.job.home
        player = self.players[name]
        if self.config.eval_every <= 0 or player.checkpoint is None:
            return summary
        latest = max(self.store.latest_evaluations().get(name, {}).values(), key=lambda r: r.id, default=None)
        since = None if latest is None else self.store.home_matches_since(name, latest.batch)
        reset_since = latest is not None and latest.player_resets != player.resets
        if not evaluation_due(since, self.config.eval_every, reset_since=reset_since):
            return summary
        return dataclasses.replace(summary, evaluations=self.evaluate(name, summary.match_number))

    def evaluate(self, name: str, match_number: int) -> tuple[EvaluationRecord, ...]:
        """Play learning player `name`'s committed policy against the fixed agents (league.evaluation) and store the
        results in one transaction of their own; returns them."""
        player = self.players[name]
        if player.checkpoint is None:
            raise ValueError(f"{name} has no committed checkpoint to evaluate")
        policy = load_policy(self.folder / player.checkpoint / "policy", device=self.config.device)
        seed = 2 * (self.config.seed * 10_000_000 + match_number * self.config.eval_games)
        records = tuple(EvaluationRecord(player=name, opponent=opponent.value, batch=match_number,
                                         player_steps=player.steps, player_resets=player.resets, seed=seed,
                                         wins=tally.wins, draws=tally.draws, losses=tally.losses)
                        for opponent, tally in self.evaluator.play(policy, seed).items())
        if records:
            with self.store.transaction() as tx:
                for record in records:
                    tx.add_evaluation(record)
            self.tensorboard.add_scalars({f"{name}/vs_{r.opponent}": r.win_rate for r in records}, player.steps)
        return records

    def _ratings(self, players: dict[str, Player], payoff: Payoff) -> dict[str, float]:
        """Elo of every player from the (decayed) payoff, a Bradley-Terry fit with the first snapshot at 0."""
        names = sorted(players)
        wins = [[0.0 if a == b else payoff.pair(a, b).wins + payoff.pair(a, b).draws / 2 for b in names]
                for a in names]
        games = [[0.0 if a == b else payoff.pair(a, b).games for b in names] for a in names]
        anchor = initial_snapshot(players)
        return fit_elo(names, wins, games, anchor=anchor)

    def _log(self, report: MatchReport, ratings: dict[str, float]) -> None:
        job = report.job
        step = self.players[job.home].steps
        scalars = {f"{job.home}/{k}": v for k, v in report.stats.items() if math.isfinite(v)}
        wins = sum(g.outcome is Outcome.WIN for g in report.games) / max(1, len(report.games))
        scalars[f"{job.home}/match_win_rate"] = wins
        scalars[f"{job.home}/steps_per_second"] = report.agent_steps / max(report.seconds, 1e-9)
        scalars.update({f"rating/{name}": value for name, value in ratings.items()})
        self.tensorboard.add_scalars(scalars, step)


def _copy_folder(source: Path, target: Path) -> None:
    """Copy a checkpoint folder beside its target and rename it into place."""
    with atomic_folder(target) as partial:
        shutil.copytree(source, partial, dirs_exist_ok=True)


def remove_leftovers(folder: Path, players: dict[str, Player]) -> list[Path]:
    """Delete checkpoint folders no player references and half-written `.part` files (a killed run's leftovers);
    returns what was removed."""
    referenced = {folder / p.checkpoint for p in players.values() if p.checkpoint}
    referenced.add(folder / INITIAL)
    removed = []
    root = folder / "checkpoints"
    for group in sorted(root.iterdir()) if root.is_dir() else []:
        if not group.is_dir() or group.name == "initial":
            continue
        for entry in sorted(group.iterdir()):
            if entry not in referenced:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                removed.append(entry)
    for partial in list(root.glob(f".*{PARTIAL_SUFFIX}")) + list((folder / "replays").glob(".*")):
        shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
        removed.append(partial)
    return removed
