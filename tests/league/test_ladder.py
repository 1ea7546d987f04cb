"""The ladder: player specs, its store, early stopping, and ladders played end to end from the command line (growing
with a new player without replaying old pairs), with the report's ratings in the order the agents' strength gives."""

from __future__ import annotations

import json
import sqlite3

import pytest

from league.cli import main
from league.config import LeagueConfig, LearnerSettings
from league.ladder.round_robin import (GameRecord, LadderPlayer, LadderSettings, LadderStore, games_to_play, pair_scores,
                           parse_players, result_is_clear)
from league.matchmaking import LeagueRules
from league.runner import League
from league.store import StoreError


def test_player_specs(tmp_path):
    players = parse_players(["scripted", "random", "bot:3", "pysc2.agents.random_agent.RandomAgent"])
    assert [p.kind for p in players] == ["scripted", "random", "bot", "pysc2"]
    with pytest.raises(ValueError, match="unknown player 'wizard'"):
        parse_players(["wizard"])
    with pytest.raises(ValueError, match="more than once: random"):
        parse_players(["random", "random"])
    with pytest.raises(ValueError, match="no saved policy"):
        parse_players([str(tmp_path / "missing.json")])


def test_a_league_spec_stands_for_its_snapshots(tmp_path):
    league = League.create(tmp_path / "lg", LeagueConfig(scenario="MarineMirror", games_per_match=2, screen_size=16,
                                                        eval_every=0,
                                                        learner=LearnerSettings(unroll=8, minibatches=1, epochs=1),
                                                        rules=LeagueRules(snapshot_min_steps=1,
                                                                          snapshot_timeout_steps=1)))
    league.run(matches=1)
    league.close()
    players = parse_players([f"league:{tmp_path / 'lg'}"])
    assert len(players) == 2 and all(p.kind == "league snapshot" for p in players)
    assert {p.name for p in players} == {"lg/main_agent_0@0", "lg/league_exploiter_0@0"}
    assert all(p.spec.startswith("policy:") and p.league_steps is not None for p in players)


def test_early_stopping_is_per_pair():
    games = [GameRecord("a", "b", 1.0, i) for i in range(6)] + [GameRecord("b", "a", 0.0, 6 + i) for i in range(6)]
    assert pair_scores(games, "a", "b") == [1.0] * 12 and pair_scores(games, "b", "a") == [0.0] * 12
    assert result_is_clear([1.0] * 12, min_games=10) and not result_is_clear([1.0] * 8, min_games=10)
    assert not result_is_clear([1.0, 0.0] * 10, min_games=10)
    settings = LadderSettings(games=40, min_games=10, batch=10)
    assert games_to_play(games, "a", "b", settings) == 0  # clear: a wins every game
    assert games_to_play([], "a", "b", settings) == 10
    assert games_to_play(games, "a", "b", LadderSettings(games=14, min_games=0, batch=10)) == 2
    with pytest.raises(ValueError):
        LadderSettings(batch=3)


def test_the_store_keeps_players_and_games_and_refuses_what_it_does_not_know(tmp_path):
    store = LadderStore.create(tmp_path / "ladder", scenario="MarineMirror-v1")
    assert store.add_players([LadderPlayer("a", "random", "random"), LadderPlayer("b", "noop", "noop")])
    assert store.add_players([LadderPlayer("a", "random", "random")]) == []
    with pytest.raises(ValueError, match="already"):
        store.add_players([LadderPlayer("a", "noop", "noop")])
    store.add_games([GameRecord("a", "b", 1.0, 0), GameRecord("b", "a", 0.5, 1)])
    store.close()
    with LadderStore.open(tmp_path / "ladder", read_only=True) as again:
        assert [p.name for p in again.players()] == ["a", "b"] and len(again.games()) == 2
        assert again.next_seed() == 2 and again.scenario == "MarineMirror-v1"
    with pytest.raises(StoreError, match="holds a ladder"):
        LadderStore.create(tmp_path / "ladder", scenario="MarineMirror-v1")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    sqlite3.connect(foreign / "ladder.sqlite").execute("create table t (x)").connection.commit()
    with pytest.raises(StoreError, match="not a ladder store"):
        LadderStore.open(foreign)
    with pytest.raises(StoreError, match="no ladder"):
        LadderStore.open(tmp_path / "nothing")


def test_a_ladder_ranks_agents_by_strength_and_grows_without_replaying(tmp_path, capsys):
    out = tmp_path / "ladder"
    # 8 games a pair: with 4, one lucky draw of the random agent against the scripted one can put noop first.
    args = ["ladder", "run", "--scenario", "MarineMirror", "--out", str(out), "--games", "8", "--batch", "8",
            "--min-games", "0", "--quiet", "--bootstrap", "50"]
    assert main(args + ["--players", "scripted", "noop"]) == 0
    capsys.readouterr()
    with LadderStore.open(out, read_only=True) as store:
        first_games = store.games()
    assert len(first_games) == 8
    assert main(args + ["--players", "scripted", "noop", "random", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    with LadderStore.open(out, read_only=True) as store:
        games = store.games()
    assert games[:8] == first_games and len(games) == 24  # only the new pairs were played
    names = [p["name"] for p in report["players"]]
    assert names[0] == "scripted"  # the scripted agent beats both
    assert report["anchor"] == "noop" and {p["name"]: p["elo"] for p in report["players"]}["noop"] == 0
    assert all(p["elo_low"] <= p["elo"] <= p["elo_high"] for p in report["players"])
    assert abs(sum(p["nash_probability"] for p in report["players"]) - 1) < 1e-6
    assert len(report["payoff"]) == 3 and report["pair_games"][0][1] == 8
    assert (out / "report.html").is_file() and (out / "report.json").is_file()
    assert main(["ladder", "report", str(out), "-o", str(tmp_path / "r.html")]) == 0
    assert "scripted" in capsys.readouterr().out and (tmp_path / "r.html").read_text().startswith("<!")
    assert main(["ladder", "report", str(tmp_path / "none")]) == 2
    assert "no ladder" in capsys.readouterr().err


def test_a_ladder_of_one_player_is_refused_before_anything_is_written(tmp_path, capsys):
    for players in (["scripted"], ["random"]):
        assert main(["ladder", "run", "--scenario", "MarineMirror", "--out", str(tmp_path / "l"), "--quiet",
                     "--players", *players]) == 2
        assert "a ladder ranks two or more players" in capsys.readouterr().err
    assert not (tmp_path / "l").exists()


def test_a_pysc2_agent_plays_on_the_ladder(tmp_path, capsys):
    assert main(["ladder", "run", "--scenario", "MarineMirror", "--out", str(tmp_path / "l"), "--games", "2",
                 "--batch", "2", "--min-games", "0", "--quiet", "--bootstrap", "20", "--json", "--players",
                 "pysc2.agents.random_agent.RandomAgent", "noop"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["games"] == 2 and {p["kind"] for p in report["players"]} == {"pysc2", "noop"}


@pytest.mark.slow
def test_a_ladder_of_built_in_bots_orders_them_as_the_bot_ladder(tmp_path, capsys):
    """bot:4 beats bot:1 on the full game (the bot ladder's widest step)."""
    assert main(["ladder", "run", "--out", str(tmp_path / "bots"), "--games", "4", "--batch", "4", "--min-games",
                 "0", "--quiet", "--bootstrap", "50", "--json", "--players", "bot:1", "bot:4"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in report["players"]] == ["bot:4", "bot:1"] and report["anchor"] == "bot:1"
