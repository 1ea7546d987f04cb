"""Evaluation against the fixed agents (random, scripted): the seats and seeds of a batch, when a player is due, the
games played and stored in their own table without touching the payoff, the table's and `status --json`'s columns,
and a league whose store predates evaluations."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import torch

from arena.interface.actions import BatchedAction
from league.cli import main
from league.config import LeagueConfig
from league.evaluation import FixedOpponent, SplitAgent, Tally, evaluation_due, evaluation_seeds
from league.executor import GameResult, MatchJob, MatchReport
from league.cli.league import league_table
from league.matchmaking import LeagueKind, initial_players
from league.payoff import Payoff
from league.players import Outcome
from league.runner import League
from league.store import EvaluationRecord, LeagueStore
from test_league import TINY, _check_consistent


def test_half_the_games_seat_the_player_second_on_the_mirror_seeds():
    assert evaluation_seeds(10, 4) == ([10, 12, 11, 13], 2)
    assert evaluation_seeds(10, 3) == ([10, 12, 11], 2)
    assert evaluation_seeds(10, 1) == ([10], 1)


def test_a_player_is_evaluated_after_its_first_match_then_every_few_and_after_a_reset():
    assert evaluation_due(None, 4)  # never evaluated
    assert [evaluation_due(since, 4) for since in (1, 2, 3, 4, 5)] == [False, False, False, True, True]
    assert evaluation_due(1, 4, reset_since=True)
    assert not evaluation_due(None, 0) and not evaluation_due(9, 0, reset_since=True)  # 0: never


class _Constant:
    """A fixed agent that answers every game with one function id and remembers its batch."""

    def __init__(self, function: int):
        self.function, self.batch = function, None

    def reset(self, num_envs: int) -> None:
        self.batch = num_envs

    def act(self, obs, first):
        assert obs["x"].shape[0] == self.batch == first.shape[0]
        return BatchedAction.make(self.function, batch=self.batch)


def test_a_split_agent_plays_each_slice_of_the_batch_with_its_own_agent():
    parts = [_Constant(1), _Constant(2), _Constant(3)]
    agent = SplitAgent(parts + [_Constant(9)], [2, 1, 3, 0])  # an empty slice is dropped
    agent.reset(6)
    action = agent.act({"x": torch.zeros(6, 4)}, torch.ones(6, dtype=torch.bool))
    assert action.function.tolist() == [1, 1, 2, 3, 3, 3] and [p.batch for p in parts] == [2, 1, 3]


def _report(league: League, home: str, away: str, number: int) -> MatchReport:
    """A match report as an executor would make it (two games, no play)."""
    job = MatchJob(home=home, away=away, away_checkpoint=None, seed=number * 2, branch="test")
    games = (GameResult(outcome=Outcome.WIN, seed=number * 2), GameResult(outcome=Outcome.LOSS, seed=number * 2 + 1))
    return MatchReport(job=job, games=games, agent_steps=50, updates=1, stats={}, seconds=1.0)


def test_the_league_evaluates_on_schedule_stores_it_apart_and_leaves_the_payoff_alone(tmp_path, monkeypatch):
    league = League.create(tmp_path / "sp", LeagueConfig(**TINY, kind=LeagueKind.SELF_PLAY, eval_every=2))
    played = []

    def play(policy, seed):  # the games themselves are the next test's; here the schedule and the bookkeeping
        played.append(seed)
        return {FixedOpponent.RANDOM: Tally(wins=2, draws=0, losses=0),
                FixedOpponent.SCRIPTED: Tally(wins=0, draws=1, losses=1)}

    monkeypatch.setattr(league.evaluator, "play", play)
    evaluated = []
    for number in range(1, 6):
        summary = league.commit(_report(league, "main_agent_0", "main_agent_0", number))
        payoff = league.payoff.copy()
        summary = league.evaluate_if_due(summary)
        assert league.payoff == payoff
        evaluated.append(bool(summary.evaluations))
    assert evaluated == [True, False, True, False, True]  # its first match, then every second
    assert len(set(played)) == 3 and all(seed % 2 == 0 for seed in played)
    league.close()
    with _check_consistent(tmp_path / "sp") as store:  # the payoff is the match log's, nothing else
        assert {(r.home, r.away) for r in store.payoff_rows()} == {("main_agent_0", "main_agent_0")}
        fixed = {"random", "scripted"}
        assert not fixed & set(store.players()) and not fixed & set(store.latest_ratings())
        assert [(e.opponent, e.batch, e.games) for e in store.evaluations()] == [
            (o, b, 2) for b in (1, 3, 5) for o in ("random", "scripted")]
        latest = store.latest_evaluations()["main_agent_0"]
        assert latest["random"].win_rate == 1.0 and latest["scripted"].win_rate == 0.25
        assert latest["random"].player_steps == 5 * 50


def test_the_league_plays_the_evaluation_games_and_status_shows_them(tmp_path, capsys):
    folder = tmp_path / "sp"
    league = League.create(folder, LeagueConfig(**{**TINY, "eval_games": 4}, kind=LeagueKind.SELF_PLAY))
    (summary,) = league.run_matches(matches=1)
    league.close()
    assert [(e.opponent, e.games) for e in summary.evaluations] == [("random", 4), ("scripted", 4)]
    assert all(e.player == "main_agent_0" and e.batch == 1 and e.player_steps > 0 for e in summary.evaluations)
    with _check_consistent(folder) as store:
        assert store.evaluations() == [dataclasses.replace(e, id=i + 1, time=store.evaluations()[i].time)
                                       for i, e in enumerate(summary.evaluations)]
        assert len(store.matches()) == TINY["games_per_match"]  # the evaluation's games are not league games
    assert main(["league", "status", str(folder)]) == 0
    table = capsys.readouterr().out
    header, _, row = table.splitlines()[1:4]
    assert header.split()[-4:] == ["vs", "random", "vs", "scripted"]
    random_rate = summary.evaluations[0].win_rate
    assert row.startswith("main_agent_0") and f"{random_rate:.2f} (4)" in row
    assert main(["league", "status", str(folder), "--json"]) == 0
    player = json.loads(capsys.readouterr().out)["players"]["main_agent_0"]
    assert player["vs_random"]["games"] == 4 and player["vs_random"]["win_rate"] == random_rate
    assert player["vs_scripted"]["wins"] + player["vs_scripted"]["draws"] + player["vs_scripted"]["losses"] == 4
    # a league whose store was written before evaluations: status shows '-', resuming upgrades the store
    with sqlite3.connect(folder / "league.sqlite") as connection:
        connection.execute("DROP TABLE evaluations")
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    connection.close()
    assert main(["league", "status", str(folder), "--json"]) == 0
    player = json.loads(capsys.readouterr().out)["players"]["main_agent_0"]
    assert player["vs_random"] is None and player["vs_scripted"] is None
    League.open(folder).close()
    with LeagueStore.open(folder, read_only=True) as store:
        assert store.evaluations() == [] and store._meta("version") == "2"


def test_the_table_shows_the_latest_evaluation_or_a_dash():
    config = LeagueConfig(**TINY, kind=LeagueKind.SELF_PLAY)
    players = initial_players(config.kind, config.league_size)
    record = EvaluationRecord(player="main_agent_0", opponent="random", batch=3, player_steps=10, player_resets=0,
                              seed=0, wins=12, draws=2, losses=2)
    table = league_table(players, Payoff(), {}, {}, config, folder=Path("runs/league"),
                         evaluations={"main_agent_0": {"random": record}})
    row = next(line for line in table.splitlines() if line.startswith("main_agent_0"))
    assert row.split()[-3:] == ["0.81", "(16)", "-"]
    assert "vs random" in table and "vs scripted" in table
    bare = league_table(players, Payoff(), {}, {}, config, folder=Path("runs/league"))
    assert next(line for line in bare.splitlines() if line.startswith("main_agent_0")).split()[-2:] == ["-", "-"]

