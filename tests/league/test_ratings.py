"""Elo ratings: the Bradley-Terry fit's invariants (identical players rate equal, a 3:1 record is worth 400 log10(3),
anchors, transitivity, unplayed players), its input checks, and the sequential update."""

from __future__ import annotations

import math

import numpy as np
import pytest

from league.ratings import elo_probability, fit_elo, sequential_elo_update

THREE_TO_ONE = 400.0 * math.log10(3.0)
"""The Elo gap at which the stronger player scores 75 %: about 190.8."""


def _results(names: list[str], records: dict[tuple[str, str], tuple[float, float]]) -> tuple[list, list]:
    """wins and games matrices from {(a, b): (a's score, b's score)}."""
    index = {name: i for i, name in enumerate(names)}
    wins = np.zeros((len(names), len(names)))
    for (a, b), (score_a, score_b) in records.items():
        wins[index[a], index[b]] += score_a
        wins[index[b], index[a]] += score_b
    return wins.tolist(), (wins + wins.T).tolist()


def test_elo_probability():
    assert elo_probability(0.0, 0.0) == 0.5
    assert elo_probability(THREE_TO_ONE, 0.0) == pytest.approx(0.75)
    assert elo_probability(1500.0, 1900.0) == pytest.approx(1.0 / 11.0)
    assert elo_probability(120.0, 40.0) + elo_probability(40.0, 120.0) == pytest.approx(1.0)


def test_identical_players_get_equal_ratings():
    names = ["a", "b", "c"]
    wins, games = _results(names, {("a", "b"): (37.5, 37.5), ("a", "c"): (10.0, 30.0), ("b", "c"): (10.0, 30.0)})
    ratings = fit_elo(names, wins, games)
    assert ratings["a"] == pytest.approx(ratings["b"], abs=1e-9)
    assert ratings["c"] > ratings["a"] + 150
    assert sum(ratings.values()) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("games, within", [(400, 1.0), (4000, 0.1)])
def test_a_three_to_one_record_is_worth_400_log10_3(games, within):
    wins, played = _results(["strong", "weak"], {("strong", "weak"): (0.75 * games, 0.25 * games)})
    ratings = fit_elo(["strong", "weak"], wins, played)
    assert ratings["strong"] - ratings["weak"] == pytest.approx(THREE_TO_ONE, abs=within)
    assert ratings["strong"] - ratings["weak"] < THREE_TO_ONE  # the prior only ever pulls towards the reference


def test_draws_count_half_and_decayed_counts_work():
    decayed = 0.99 ** np.arange(100)
    wins, games = _results(["a", "b"], {("a", "b"): (0.5 * decayed.sum() + 0.25 * decayed.sum(),
                                                     0.25 * decayed.sum())})
    ratings = fit_elo(["a", "b"], wins, games, prior_games=1e-6)
    assert ratings["a"] - ratings["b"] == pytest.approx(THREE_TO_ONE, abs=1e-3)


def test_the_anchor_sits_at_its_rating_and_gaps_do_not_move():
    names = ["bot", "a", "b"]
    wins, games = _results(names, {("a", "bot"): (60, 20), ("b", "a"): (45, 35)})
    centred = fit_elo(names, wins, games)
    anchored = fit_elo(names, wins, games, anchor="bot", anchor_rating=1000.0)
    assert anchored["bot"] == 1000.0
    for name in names:
        assert anchored[name] - anchored["bot"] == pytest.approx(centred[name] - centred["bot"], abs=1e-9)
    assert anchored["bot"] < anchored["a"] < anchored["b"]


def test_a_chain_of_results_is_transitive():
    names = ["c", "b", "a"]
    wins, games = _results(names, {("a", "b"): (300, 100), ("b", "c"): (300, 100)})
    ratings = fit_elo(names, wins, games)
    assert ratings["a"] - ratings["b"] == pytest.approx(ratings["b"] - ratings["c"], abs=1e-6)
    assert ratings["a"] - ratings["b"] == pytest.approx(THREE_TO_ONE, abs=2.0)
    assert ratings["a"] - ratings["c"] == pytest.approx(2 * THREE_TO_ONE, abs=4.0)  # never played each other


def test_an_unplayed_player_stays_at_the_mean_and_moves_no_one():
    wins, games = _results(["a", "b"], {("a", "b"): (300, 100)})
    alone = fit_elo(["a", "b"], wins, games)
    names = ["a", "b", "new"]
    wins, games = _results(names, {("a", "b"): (300, 100)})
    ratings = fit_elo(names, wins, games)
    assert ratings["new"] == pytest.approx(np.mean(list(ratings.values())), abs=1e-9)
    assert ratings["new"] == pytest.approx(0.0, abs=1e-9)
    assert ratings["a"] - ratings["b"] == pytest.approx(alone["a"] - alone["b"], abs=1e-9)
    assert fit_elo(["x"], [[0]], [[0]]) == {"x": 0.0}
    assert fit_elo([], [], []) == {}


def test_players_that_always_win_or_never_win_stay_finite():
    names = ["winner", "loser"]
    wins, games = _results(names, {("winner", "loser"): (1000, 0)})
    ratings = fit_elo(names, wins, games)
    assert all(math.isfinite(r) for r in ratings.values())
    assert ratings["winner"] - ratings["loser"] > 1000


def test_the_fit_recovers_known_ratings_from_many_games():
    rng = np.random.default_rng(3)
    true = np.array([-300.0, -100.0, 0.0, 150.0, 400.0])
    n = len(true)
    games = np.zeros((n, n))
    wins = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            games[i, j] = games[j, i] = 4000
            wins[i, j] = rng.binomial(4000, elo_probability(true[i], true[j]))
            wins[j, i] = 4000 - wins[i, j]
    ratings = fit_elo([str(i) for i in range(n)], wins, games, anchor="2")
    assert np.abs(np.array(list(ratings.values())) - true).max() < 15


@pytest.mark.parametrize("names, wins, games, anchor, prior, message", [
    (["a", "b"], [[0, 1]], [[0, 1], [1, 0]], None, 1.0, "2 x 2"),
    (["a", "b"], [[0, 1], [0, 0]], [[0, 1, 0], [1, 0, 0]], None, 1.0, "2 x 2"),
    (["a", "b"], [0, 1, 0, 0], [[0, 1], [1, 0]], None, 1.0, "2 x 2"),
    (["a", "b"], [[0, 1], [0]], [[0, 1], [1, 0]], None, 1.0, "matrix of numbers"),
    (["a", "a"], [[0, 1], [0, 0]], [[0, 1], [1, 0]], None, 1.0, "distinct"),
    (["a", "b"], [[0, -1], [2, 0]], [[0, 1], [1, 0]], None, 1.0, ">= 0"),
    (["a", "b"], [[0, 1], [0, 0]], [[0, -1], [-1, 0]], None, 1.0, ">= 0"),
    (["a", "b"], [[0, float("nan")], [0, 0]], [[0, 1], [1, 0]], None, 1.0, "finite"),
    (["a", "b"], [[0, 1], [0, 0]], [[0, 1], [2, 0]], None, 1.0, "symmetric"),
    (["a", "b"], [[0, 3], [0, 0]], [[0, 1], [1, 0]], None, 1.0, "must equal games"),
    (["a", "b"], [[0, 1], [0, 0]], [[0, 1], [1, 0]], "c", 1.0, "anchor 'c'"),
    (["a", "b"], [[0, 1], [0, 0]], [[0, 1], [1, 0]], None, 0.0, "prior_games must be positive"),
    (["a", "b"], [["x", 1], [0, 0]], [[0, 1], [1, 0]], None, 1.0, "matrix of numbers"),
])
def test_bad_inputs_are_refused(names, wins, games, anchor, prior, message):
    with pytest.raises(ValueError, match=message):
        fit_elo(names, wins, games, anchor=anchor, prior_games=prior)


def test_sequential_update():
    a, b = sequential_elo_update(1500.0, 1500.0, 1.0, k=32)
    assert (a, b) == (1516.0, 1484.0)
    a, b = sequential_elo_update(1500.0, 1500.0 + THREE_TO_ONE, 0.25)
    assert (a, b) == pytest.approx((1500.0, 1500.0 + THREE_TO_ONE))  # an expected result moves nothing
    a, b = sequential_elo_update(100.0, -50.0, 0.5)
    assert a + b == pytest.approx(50.0) and a < 100.0
    with pytest.raises(ValueError, match="score_a"):
        sequential_elo_update(0.0, 0.0, 1.5)
