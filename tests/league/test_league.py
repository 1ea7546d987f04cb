"""The league end to end: matches committed to the store, payoff equal to the match log, snapshots and resets,
the command line (start, status, resume, errors), and a league killed with SIGKILL again and again that resumes with
nothing completed lost and nothing corrupt."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.policies.checkpoint import load_policy
from arena.replay.format import read_header
from league.cli import main
from league.config import ConfigError, LeagueConfig, LearnerSettings, load_config
from league.matchmaking import LeagueKind, LeagueRules
from league.payoff import Payoff
from league.players import Role
from league.runner import League, remove_leftovers
from league.store import LeagueStore

TINY = dict(scenario="MarineMirror", games_per_match=2, screen_size=16, eval_games=2,
            learner=LearnerSettings(unroll=8, minibatches=1, epochs=1))
TINY_TOML = """scenario = "MarineMirror"
games_per_match = 2
screen_size = 16
eval_games = 2
replay_every = 2

[learner]
unroll = 8
minibatches = 1
epochs = 1

[rules]
snapshot_min_steps = 300
snapshot_timeout_steps = 600
"""


def _match_log_payoff(store: LeagueStore, decay: float) -> Payoff:
    return Payoff.from_results([(m.home, m.away, m.outcome) for m in store.matches()], decay=decay)


def _check_consistent(folder: Path) -> LeagueStore:
    """The store opens, its payoff is the match log's, and every referenced checkpoint loads."""
    store = LeagueStore.open(folder, read_only=True)
    config = LeagueConfig.from_dict(store.config())
    stored = Payoff.from_records([(r.home, r.away, _pair(r)) for r in store.payoff_rows()], decay=config.payoff_decay)
    assert stored == _match_log_payoff(store, config.payoff_decay)
    assert len(store.matches()) == int(store.stat("games", 0))
    for player in store.players().values():
        if player.checkpoint is not None:
            load_policy(folder / player.checkpoint / "policy")
    return store


def _pair(row):
    from league.payoff import PairRecord

    return PairRecord(games=row.games, wins=row.wins, draws=row.draws, losses=row.losses)


def test_a_league_plays_matches_commits_them_and_snapshots_and_resets_by_the_rules(tmp_path):
    rules = LeagueRules(snapshot_min_steps=1, snapshot_timeout_steps=1)  # every match ends in a snapshot
    league = League.create(tmp_path / "league", LeagueConfig(**TINY, rules=rules))
    assert sorted(p.name for p in league.learning_players()) == ["league_exploiter_0", "main_agent_0",
                                                                 "main_exploiter_0"]
    summaries = []
    assert league.run(matches=3, on_match=lambda run, s: summaries.append(s)) == 3
    homes = [s.report.job.home for s in summaries]
    assert sorted(homes) == ["league_exploiter_0", "main_agent_0", "main_exploiter_0"]  # each learns in turn
    for summary in summaries:
        assert len(summary.report.games) == 2 and summary.report.agent_steps > 0
    by_home = {s.report.job.home: s for s in summaries}
    assert all(s.snapshot == f"{s.report.job.home}@{0 if s.report.job.home != 'main_agent_0' else 1}"
               for s in summaries)
    assert by_home["main_exploiter_0"].reset and not by_home["main_agent_0"].reset
    players = league.players
    assert players["main_exploiter_0"].resets == 1 and players["main_exploiter_0"].checkpoint is None
    frozen = players["main_exploiter_0@0"]
    assert frozen.role is Role.HISTORICAL and frozen.parent_role is Role.MAIN_EXPLOITER
    assert (tmp_path / "league" / frozen.checkpoint / "policy.safetensors").is_file()
    league.close()
    with _check_consistent(tmp_path / "league") as store:
        assert int(store.stat("matches", 0)) == 3
        players = store.players()
        assert all(players[h].steps > 0 for h in homes)
        for name in ("main_agent_0", "league_exploiter_0"):  # not reset: only the newest checkpoint is kept
            if players[name].resets == 0:
                assert (tmp_path / "league" / players[name].checkpoint).is_dir()
                assert len(list((tmp_path / "league" / "checkpoints" / name).iterdir())) == 1
        assert store.ratings()
        kinds = [(e.player, e.kind.value) for e in store.events()]
        assert ("main_exploiter_0", "reset") in kinds and ("main_agent_0", "snapshot") in kinds


def test_a_self_play_league_plays_its_main_agent_against_itself(tmp_path):
    league = League.create(tmp_path / "sp", LeagueConfig(**TINY, kind=LeagueKind.SELF_PLAY))
    league.run(matches=1, on_match=lambda run, s: None)
    match = league.store.matches()[0]
    assert (match.home, match.away) == ("main_agent_0", "main_agent_0")
    league.close()


def test_config_files_and_their_errors(tmp_path):
    path = tmp_path / "league.toml"
    path.write_text(TINY_TOML)
    config = load_config(path, seed=5)
    assert config.scenario == "MarineMirror-v1" and config.seed == 5 and config.learner.unroll == 8
    assert config.league_rules.snapshot_min_steps == 300
    assert LeagueConfig().league_rules.snapshot_min_steps == 40 * 120  # scaled to MarineMirror's 60 s episodes
    path.write_text(TINY_TOML + "\nbogus = 1\n")
    with pytest.raises(ConfigError, match="unknown setting bogus"):
        load_config(path)
    path.write_text('scenario = "MoveToBeacon"\n')
    with pytest.raises(ConfigError, match="one-player scenario"):
        load_config(path)
    path.write_text('kind = "self_play"\n[size]\nmain_exploiters = 2\n')
    with pytest.raises(ConfigError, match="main agents only"):
        load_config(path)
    path.write_text("scenario = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_the_command_line_starts_shows_and_resumes(tmp_path, capsys):
    config, out = tmp_path / "league.toml", tmp_path / "league"
    config.write_text(TINY_TOML)
    assert main(["league", "start", "--config", str(config), "--out", str(out), "--matches", "1"]) == 0
    shown = capsys.readouterr()
    assert "main_agent_0" in shown.out and "match 1:" in shown.out
    first, after = shown.out.split("match 1 is being played", 1)  # a table at once, before the first match
    assert "0 matches, 0 games" in first and "main_agent_0" in first and "match 1:" in after
    assert "1 match, " in after and "played 1 match;" in shown.err
    assert main(["league", "status", str(out)]) == 0
    assert "main exploiter" in capsys.readouterr().out
    assert main(["league", "status", str(out), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["stats"]["matches"] == 1 and status["players"]["main_agent_0"]["role"] == "main_agent"
    assert main(["league", "resume", str(out), "--matches", "1", "--quiet"]) == 0
    assert main(["league", "status", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stats"]["matches"] == 2
    replays = list((out / "replays").glob("*.replay.npz"))
    assert replays  # a sample of the games is kept
    header, _ = read_header(replays[0])
    assert header["players"][0]["action_space"]["fixed_arguments"] == {"queued": 0}  # MarineMirror's preset: move
    # errors: a league already there, no league, a foreign file
    assert main(["league", "start", "--out", str(out)]) == 2
    assert "already holds a league" in capsys.readouterr().err
    assert main(["league", "resume", str(tmp_path / "nothing")]) == 2
    assert "no league" in capsys.readouterr().err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    sqlite3.connect(foreign / "league.sqlite").execute("create table t (x)").connection.commit()
    before = (foreign / "league.sqlite").read_bytes()
    assert main(["league", "resume", str(foreign)]) == 2
    assert (foreign / "league.sqlite").read_bytes() == before
    assert main(["league", "start", "--scenario", "MoveToBeacon", "--out", str(tmp_path / "x")]) == 2
    assert "one-player" in capsys.readouterr().err


def _league_process(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "league.cli", "league", *args, "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _matches_in(folder: Path) -> int:
    try:
        with LeagueStore.open(folder, read_only=True) as store:
            return int(store.stat("matches", 0))
    except Exception:
        return 0


def test_a_league_killed_at_random_moments_resumes_with_nothing_lost(tmp_path):
    config, out = tmp_path / "league.toml", tmp_path / "league"
    config.write_text(TINY_TOML)
    rng = random.Random(7)
    committed = []
    process = _league_process(["start", "--config", str(config), "--out", str(out)])
    for kill in range(3):
        # wait until at least one more match is committed, then kill at a random moment of the next one
        deadline = time.monotonic() + 240
        target = (committed[-1] if committed else 0) + 1
        while _matches_in(out) < target and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(rng.uniform(0.0, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        matches = _matches_in(out)
        assert matches >= target and (not committed or matches >= committed[-1])
        committed.append(matches)
        with _check_consistent(out) as store:
            steps = {n: p.steps for n, p in store.players().items() if p.learning}
        process = _league_process(["resume", str(out)])
    deadline = time.monotonic() + 240
    while _matches_in(out) <= committed[-1] and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)  # the resumed league is in its loop once it commits a match
    time.sleep(rng.uniform(0.0, 3.0))
    process.send_signal(signal.SIGTERM)  # a clean stop: the match in progress is dropped, the rest stays
    assert process.wait(timeout=60) == 130
    assert "stopped:" in process.stderr.read().decode()
    # a last resume plays two more matches to the end: training goes on from where the store says
    result = subprocess.run([sys.executable, "-m", "league.cli", "league", "resume", str(out), "--matches", "2",
                             "--quiet"], env={**os.environ, "OMP_NUM_THREADS": "1",
                                              "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    with _check_consistent(out) as store:
        assert int(store.stat("matches", 0)) >= committed[-1] + 2
        assert sum(p.steps for p in store.players().values() if p.learning) > sum(steps.values())
        assert store.path.stat().st_size > 0
    assert not list(out.rglob("*.part")) and not list(out.rglob(".*.part"))
    with sqlite3.connect(out / "league.sqlite") as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    with LeagueStore.open(out, read_only=True) as store:
        assert remove_leftovers(out, store.players()) == []
