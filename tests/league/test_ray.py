"""The league and the ladder on a local Ray cluster: matches in flight at once and each committed once, a rollout
worker killed in the middle of a match (replaced; the match played again, its partial learning undone), a learner
killed in and out of a match (restarted from its last committed checkpoint), the coordinator killed with SIGKILL and
resumed with `arena league resume --ray`, the ladder's pairs on Ray workers, and the message without Ray."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from league.cli import main
from league.config import LeagueConfig
from league.ladder.round_robin import LadderSettings, LadderStore, ladder_interface, parse_players, run_ladder
from league.runner import League
from league.store import LeagueStore
from test_league import TINY, _check_consistent

ray = pytest.importorskip("ray", reason='Ray is not installed: pip install -e ".[ray]"')

from league.ray_executor import (SCRATCH_PREFIX, RayExecutor, RayPairs, RaySettings, RayUnavailable,  # noqa: E402
                                 remove_stale_scratch, require_ray)


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray cluster for the in-process tests (the executors find it running and leave it running)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _league(folder: Path, workers: int = 2) -> League:
    return League.create(folder, LeagueConfig(**TINY), functools.partial(RayExecutor,
                                                                          settings=RaySettings(workers=workers)))


def _wait_for(condition, what: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _scratch_pid(folder: Path) -> int | None:
    pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None  # folders of older versions have no pid in their names


def test_stale_scratch_folders_of_dead_workers_are_removed(tmp_path):
    dead = tmp_path / f"{SCRATCH_PREFIX}999999999-abc"  # above any pid_max: no such process
    alive = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-def"
    other = tmp_path / "arena-replays-notapid"
    for folder in (dead, alive, other):
        folder.mkdir()
    (dead / "game.replay").write_bytes(b"x")
    assert remove_stale_scratch(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and other.exists()


def _updates(executor: RayExecutor, name: str) -> int:
    return ray.get(executor.learners[name].updates_done.remote())


def test_matches_run_at_once_and_each_is_committed_once(local_ray, tmp_path):
    league = _league(tmp_path / "lg")
    try:
        homes = []
        original = league.executor.submit
        league.executor.submit = lambda job: (homes.append((job.home, len(league.executor._in_flight))),
                                              original(job))[1]
        summaries = league.run_matches(matches=2)
        assert [s.match_number for s in summaries] == [1, 2]
        assert any(in_flight == 1 for _, in_flight in homes)  # a second match started while one was in flight
        steps = {p.name: p.steps for p in league.players.values() if p.learning}
        assert sum(steps.values()) == sum(s.report.agent_steps for s in summaries)
        assert league.executor.restarts == {"workers": 0, "learners": 0, "matches": 0}
    finally:
        league.close()
    with _check_consistent(tmp_path / "lg") as store:
        assert store.stat("matches") == 2 and len(store.matches()) == 2 * TINY["games_per_match"]


def test_a_worker_killed_mid_match_is_replaced_and_the_match_played_again(local_ray, tmp_path):
    league = _league(tmp_path / "lg", workers=1)
    executor = league.executor
    try:
        job = league.next_job()
        executor.submit(job)
        _wait_for(lambda: _updates(executor, job.home) >= 1, "the first update")
        (pid,) = executor.worker_pids()
        os.kill(pid, signal.SIGKILL)
        report = executor.next_report()
        assert executor.restarts["workers"] == 1 and executor.restarts["matches"] == 1
        # the killed attempt's updates were rolled back: the learner holds exactly the replayed match's
        assert _updates(executor, job.home) == report.updates
        assert len(report.games) == TINY["games_per_match"]
        league.commit(report)
        league.run_matches(matches=1)  # the new worker plays on
        pids = set(executor._pids.values())
    finally:
        league.close()
    left = [f for f in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*") if _scratch_pid(f) in pids]
    assert not left, f"scratch folders left behind by the workers, the killed one's included: {left}"
    with _check_consistent(tmp_path / "lg") as store:
        assert store.stat("matches") == 2 and len(store.matches()) == 2 * TINY["games_per_match"]


@pytest.mark.slow  # 45 s; the worker-fault test stays in the default run
def test_a_killed_learner_restarts_from_its_last_checkpoint(local_ray, tmp_path):
    league = _league(tmp_path / "lg", workers=1)
    executor = league.executor
    try:
        home = league.play_match().report.job.home
        checkpoint = tmp_path / "lg" / league.players[home].checkpoint
        from league.executor import read_learner_folder

        saved = read_learner_folder(checkpoint).parameters
        os.kill(executor.learner_pid(home), signal.SIGKILL)  # out of a match
        restarted = ray.get(executor.live_learner(home).parameters.remote())
        assert executor.restarts["learners"] == 1
        assert all(torch.equal(saved[k], restarted[k]) for k in saved)
        # in the middle of a match: the match is played again by a learner restarted from the checkpoint
        job = league.next_job()
        executor.submit(job)
        _wait_for(lambda: _updates(executor, job.home) >= 1, "the first update")
        os.kill(executor.learner_pid(job.home), signal.SIGKILL)
        report = executor.next_report()
        assert executor.restarts["learners"] == 2 and executor.restarts["matches"] == 1
        league.commit(report)
    finally:
        league.close()
    with _check_consistent(tmp_path / "lg") as store:
        assert store.stat("matches") == 2


@pytest.mark.slow  # 85 s; the local league's SIGKILL test covers resuming in the default run
@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL of a process group")
def test_the_coordinator_killed_is_resumed_with_ray(tmp_path):
    folder = tmp_path / "lg"
    (tmp_path / "league.toml").write_text("scenario = 'MarineMirror'\ngames_per_match = 2\nscreen_size = 16\n"
                                          "[learner]\nunroll = 8\nminibatches = 1\nepochs = 1\n")
    command = [sys.executable, "-m", "league.cli", "league", "start", "--config", str(tmp_path / "league.toml"),
               "--out", str(folder), "--quiet", "--ray", "--ray-workers", "2"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=environment, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        def committed() -> int:
            if process.poll() is not None:
                raise AssertionError(f"the league stopped: {process.stderr.read().decode()[-2000:]}")
            if not (folder / "league.sqlite").exists():
                return 0
            try:
                with LeagueStore.open(folder, read_only=True) as store:
                    return int(store.stat("matches", 0))
            except Exception:  # noqa: BLE001 - the store may be in its first transaction
                return 0

        _wait_for(lambda: committed() >= 1, "a committed match", seconds=300)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the coordinator and the Ray it started
        process.wait()
    with LeagueStore.open(folder, read_only=True) as store:
        before = int(store.stat("matches"))
    result = subprocess.run([sys.executable, "-m", "league.cli", "league", "resume", str(folder), "--matches", "1",
                             "--quiet", "--ray"], env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with _check_consistent(folder) as store:
        assert store.stat("matches") == before + 1


def test_the_ladder_plays_its_pairs_on_ray_workers(local_ray, tmp_path):
    players = parse_players(["scripted", "random", "noop"])
    with LadderStore.create(tmp_path / "ladder", scenario="MarineMirror-v1") as store:
        store.add_players(players)
        pairs = RayPairs(store.scenario, ladder_interface(players), RaySettings(workers=2))
        try:
            played = run_ladder(store, LadderSettings(games=4, min_games=0, batch=4), pairs_player=pairs)
        finally:
            pairs.close()
        games = store.games()
    assert played == len(games) == 3 * 4
    assert len({g.seed for g in games}) == len(games)
    for a, b in [("scripted", "random"), ("scripted", "noop"), ("random", "noop")]:
        assert sum({g.player_1, g.player_2} == {a, b} for g in games) == 4


def test_without_ray_the_flag_says_how_to_get_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayUnavailable, match=r"pip install -e \"\.\[ray\]\""):
        require_ray()
    assert main(["league", "start", "--ray", "--out", str(tmp_path / "lg"), "--matches", "1"]) == 2
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err
    assert not (tmp_path / "lg").exists()  # nothing was made
