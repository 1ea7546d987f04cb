"""The `arena` command line: scenarios, play and bench, as a user types them, and their error messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import arena
from league.cli import main


def test_scenarios_lists_every_registered_id(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for scenario_id in arena.scenario_ids():
        assert scenario_id in out
    assert "MoveToBeacon-v1" in out


def test_play_prints_each_episode_and_the_mean_and_std(capsys):
    assert main(["play", "MoveToBeacon", "--agent", "scripted", "--episodes", "3", "--batch", "2", "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [["episode", "1"], ["episode", "2"], ["episode", "3"]]
    scores = [float(line.split()[-1]) for line in lines[:3]]
    summary = lines[3].split()
    assert summary[0] == "MoveToBeacon-v1"
    mean = float(summary[summary.index("mean") + 1])
    assert mean == pytest.approx(sum(scores) / 3, abs=0.01)
    assert min(scores) > 10  # the scripted agent reaches the beacon many times


def test_play_json_is_one_parsable_line(capsys):
    assert main(["play", "MoveToBeacon-v1", "--agent", "noop", "--episodes", "2", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["scenario"] == "MoveToBeacon-v1" and result["agent"] == "noop"
    assert result["scores"] == [0.0, 0.0] and result["mean"] == 0.0 and result["std"] == 0.0


@pytest.mark.parametrize("argv, message", [
    (["play", "MoveToBacon"], "unknown scenario 'MoveToBacon'"),
    (["play", "MoveToBeacon", "--agent", "smart"], "unknown agent 'smart'"),
    (["play", "Skirmish3m", "--agent", "scripted"], "no scripted agent for scenario"),
    (["play", "MoveToBeacon", "--episodes", "0"], "--episodes must be at least 1, got 0"),
    (["play", "MoveToBeacon", "--step-mul", "0"], "--step-mul must be at least 1, got 0"),
    (["bench", "Nope"], "unknown scenario 'Nope'"),
    (["bench", "MoveToBeacon", "--num-envs", "0"], "--num-envs must be at least 1, got 0"),
])
def test_bad_input_exits_2_with_a_message(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cuda_on_a_machine_without_it_is_a_clear_error():
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit, match="CUDA is not available"):
        main(["play", "MoveToBeacon", "--device", "cuda", "--episodes", "1", "--quiet"])


def test_bench_prints_a_rate_per_scenario(capsys):
    assert main(["bench", "MoveToBeacon", "Skirmish3m", "MarineMirror", "--num-envs", "2", "--steps", "2"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["MoveToBeacon-v1", "Skirmish3m-v1", "MarineMirror-v1"]
    assert all(float(row.split()[2]) > 0 for row in rows)


@pytest.mark.skipif(shutil.which("arena") is None, reason="the console script is not installed")
def test_console_script_is_installed():
    done = subprocess.run(["arena", "scenarios"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "DefeatRoaches-v1" in done.stdout
    done = subprocess.run([sys.executable, "-m", "league.cli", "play", "Nope"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2 and "unknown scenario" in done.stderr


def test_backend_sc2_without_the_game_names_sc2path(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "nowhere"))
    assert main(["play", "MoveToBeacon", "--backend", "sc2", "--episodes", "1", "--quiet"]) == 2
    assert "SC2PATH" in capsys.readouterr().err
    assert main(["play", "MoveToBeacon", "--backend", "sc2", "--agent", "pysc2.agents.random_agent.RandomAgent",
                 "--episodes", "1", "--quiet"]) == 2
    assert "SC2PATH" in capsys.readouterr().err


def test_pysc2_agent_by_import_path(capsys):
    assert main(["play", "MoveToBeacon", "--agent", "pysc2.agents.scripted_agent.MoveToBeacon", "--episodes", "1",
                 "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["agent"] == "pysc2.agents.scripted_agent.MoveToBeacon" and result["scores"][0] >= 15


def test_two_player_play_prints_the_record(capsys):
    assert main(["play", "MarineMirror", "--agents", "scripted", "noop", "--episodes", "2", "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("game   1") and "for player 1 (scripted)" in lines[0]
    summary = lines[-1]
    assert summary.startswith("MarineMirror-v1  scripted vs noop  games 2") and "limits on" in summary
    wins, draws, losses = (int(summary.split(word)[1].split()[0]) for word in (" wins ", " draws ", " losses "))
    assert wins + draws + losses == 2


@pytest.mark.parametrize("argv, message", [
    (["play", "MarineMirror", "--agents", "scripted"], "give --agents A B"),
    (["play", "MarineMirror", "--agents", "scripted", "smart"], "unknown agent 'smart'"),
    (["play", "MoveToBeacon", "--agents", "scripted", "random"], "one-player scenario; use --agent"),
    (["play", "MarineMirror", "--backend", "sc2"], "runs on the embedded engine only"),
])
def test_two_player_bad_input(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["league", "start", "--minutes", "0"], "argument --minutes: must be above 0, got 0"),
    (["league", "start", "--matches", "-1"], "argument --matches: must be above 0, got -1"),
    (["league", "resume", "somewhere", "--minutes", "soon"], "argument --minutes: expected a number, got 'soon'"),
])
def test_a_league_that_would_stop_before_it_starts_is_refused(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
