"""Ratings: the Bradley-Terry fit's invariants (identical players rate equal, a 3:1 record is worth 400 log10(3),
anchors, transitivity, unplayed players), its input checks, the sequential update, bootstrap intervals, TrueSkill
(its settings, symmetry, ranking by mu - 3 sigma) and agreement with Nash averaging on a clear champion."""

from __future__ import annotations

import math

import numpy as np
import pytest

import league.ladder.ratings
from league.ladder.nash import max_entropy_nash, nash_averaged_ratings
from league.ladder.ratings import (bootstrap_elo, elo_probability, fit_elo, sequential_elo_update, trueskill_environment,
                            trueskill_rank_value, trueskill_ratings)

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


def _games(pairs: dict[tuple[int, int], tuple[int, int]], rounds: int = 1) -> list[tuple[int, int, float]]:
    """Outcomes (i, j, score of i) from {(i, j): (i's wins, j's wins)}, interleaved round by round: each round
    plays every pair's games once more, so no player's results come in one block (TrueSkill is sequential)."""
    games = []
    for _ in range(rounds):
        for (i, j), (wins_i, wins_j) in pairs.items():
            games += [(i, j, 1.0)] * wins_i + [(i, j, 0.0)] * wins_j
    return games


def test_bootstrap_intervals_hold_the_estimate_and_shrink_with_more_games():
    names = ["a", "b"]
    few = bootstrap_elo(names, _games({(0, 1): (3, 2)}, rounds=20))  # 100 games, a scores 60 %
    many = bootstrap_elo(names, _games({(0, 1): (3, 2)}, rounds=80))  # 400 games, the same rate
    for ratings in (few, many):
        for rating, low, high in ratings.values():
            assert low < rating < high
    assert few["a"][0] - few["b"][0] == pytest.approx(400 * math.log10(1.5), abs=5.0)
    width = {label: r["a"][2] - r["a"][1] for label, r in (("few", few), ("many", many))}
    assert width["many"] == pytest.approx(width["few"] / 2, rel=0.25)  # 4x the games, half the width
    assert bootstrap_elo(names, _games({(0, 1): (3, 2)}, rounds=20)) == few  # the seed fixes the resamples
    assert bootstrap_elo(names, _games({(0, 1): (3, 2)}, rounds=20), seed=1) != few


def test_bootstrap_matches_fit_elo_and_anchoring_shifts_every_rating_alike():
    names = ["bot", "a", "b"]
    outcomes = _games({(1, 0): (3, 1), (2, 1): (3, 2), (2, 0): (4, 1)}, rounds=10)
    centred = bootstrap_elo(names, outcomes, samples=50)
    wins = np.zeros((3, 3))
    for i, j, score in outcomes:
        wins[i, j] += score
        wins[j, i] += 1 - score
    assert {n: r[0] for n, r in centred.items()} == pytest.approx(fit_elo(names, wins, wins + wins.T), abs=1e-9)
    anchored = bootstrap_elo(names, outcomes, samples=50, anchor="bot")
    shift = anchored["bot"][0] - centred["bot"][0]
    for name in names:
        assert anchored[name][0] - centred[name][0] == pytest.approx(shift, abs=1e-9)
    assert anchored["bot"] == (0.0, 0.0, 0.0)  # the anchor is fixed in every resample
    raised = bootstrap_elo(names, outcomes, samples=50, anchor="bot", anchor_rating=1000.0)
    for name in names:
        assert raised[name] == pytest.approx(tuple(x + 1000.0 for x in anchored[name]), abs=1e-9)


def test_bootstrap_elo_on_a_ten_player_ladder():
    """10 players, 2000 games, 200 resamples (a fraction of a second: resamples are bincounts, not game loops)."""
    rng = np.random.default_rng(0)
    true = np.linspace(-300.0, 300.0, 10)
    pairs = [rng.choice(10, size=2, replace=False) for _ in range(2000)]
    outcomes = [(int(i), int(j), float(rng.random() < elo_probability(true[i], true[j]))) for i, j in pairs]
    ratings = bootstrap_elo([str(k) for k in range(10)], outcomes, anchor="0")
    estimates = np.array([ratings[str(k)][0] for k in range(10)])
    assert np.abs(estimates - (true - true[0])).max() < 80
    missed = [k for k in range(1, 10) if not ratings[str(k)][1] <= true[k] - true[0] <= ratings[str(k)][2]]
    assert len(missed) <= 2  # 95 % intervals: about 0.5 of 9 expected to miss


def test_bootstrap_without_games_and_bad_outcomes():
    assert bootstrap_elo(["a", "b"], []) == {"a": (0.0, 0.0, 0.0), "b": (0.0, 0.0, 0.0)}
    assert bootstrap_elo([], []) == {}
    for outcomes, message in [([(0, 2, 1.0)], "index"), ([(0, 0, 1.0)], "itself"), ([(0, 1, 1.5)], r"\[0, 1\]"),
                              ([(0, 1)], "triples"), ([(0.5, 1, 1.0)], "index")]:
        with pytest.raises(ValueError, match=message):
            bootstrap_elo(["a", "b"], outcomes)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_elo(["a", "b"], [(0, 1, 1.0)], confidence=1.0)
    with pytest.raises(ValueError, match="anchor"):
        bootstrap_elo(["a", "b"], [(0, 1, 1.0)], anchor="c")


def test_a_player_that_beats_everyone_ranks_first_by_every_measure():
    # champ (0) beats each of three rock-paper-scissors-like players 7 games in 10; they beat each other in a cycle.
    names = ["champ", "rock", "paper", "scissors"]
    pairs = {(0, 1): (7, 3), (0, 2): (7, 3), (0, 3): (7, 3), (2, 1): (8, 2), (3, 2): (8, 2), (1, 3): (8, 2)}
    outcomes = _games(pairs, rounds=5)
    elo = bootstrap_elo(names, outcomes, samples=50)
    trueskill = trueskill_ratings(names, outcomes)
    rank_values = {name: trueskill_rank_value(*trueskill[name]) for name in names}
    payoff = np.zeros((4, 4))
    for (i, j), (wins_i, wins_j) in pairs.items():
        payoff[i, j] = wins_i / (wins_i + wins_j) - 0.5
        payoff[j, i] = -payoff[i, j]
    nash = max_entropy_nash(payoff)
    nash_rating = nash_averaged_ratings(payoff, nash)
    assert nash == pytest.approx([1.0, 0.0, 0.0, 0.0], abs=1e-9)
    for others in names[1:]:
        assert elo["champ"][0] > elo[others][0]
        assert rank_values["champ"] > rank_values[others]
        assert nash_rating[0] > nash_rating[names.index(others)]


def test_identical_players_get_equal_trueskill():
    # a (0) and b (1) each beat their own opponent (c, d) 2 games in 3, game for game, then draw each other.
    outcomes = []
    for score in (1.0, 0.0, 1.0, 1.0, 0.0, 1.0):
        outcomes += [(0, 2, score), (1, 3, score)]
    outcomes += [(0, 1, 0.5), (1, 0, 0.5)]
    ratings = trueskill_ratings(["a", "b", "c", "d"], outcomes)
    assert ratings["a"] == ratings["b"] and ratings["c"] == ratings["d"]
    assert ratings["a"][0] > 25.0 > ratings["c"][0]
    assert ratings["a"][1] < 25.0 / 3.0


def test_trueskill_ranks_by_mu_minus_three_sigma():
    # The newcomer won its only game; the veteran won 30 of 40 against the same opponent.
    outcomes = _games({(0, 1): (3, 1)}, rounds=10) + [(2, 1, 1.0)]
    ratings = trueskill_ratings(["veteran", "weak", "newcomer"], outcomes)
    assert ratings["newcomer"][0] > ratings["veteran"][0]  # a higher mu...
    assert trueskill_rank_value(*ratings["newcomer"]) < trueskill_rank_value(*ratings["veteran"])  # ...ranked lower
    assert trueskill_rank_value(30.0, 2.0) == 24.0


def test_trueskill_settings_are_what_we_pass(monkeypatch):
    env = trueskill_environment()
    assert (env.mu, env.sigma, env.beta, env.tau, env.draw_probability) == pytest.approx(
        (25.0, 25.0 / 3, 25.0 / 6, 25.0 / 300, 0.1))
    env = trueskill_environment(mu=30.0, sigma=7.0, beta=3.0, tau=0.2, draw_probability=0.3)
    assert (env.mu, env.sigma, env.beta, env.tau, env.draw_probability) == (30.0, 7.0, 3.0, 0.2, 0.3)
    assert trueskill_ratings(["a"], [], mu=30.0, sigma=7.0)["a"] == pytest.approx((30.0, 7.0), rel=1e-12)

    import trueskill  # every setting goes in by name, none by position (DI-engine's bug)
    calls = []
    real = trueskill.TrueSkill
    monkeypatch.setattr(trueskill, "TrueSkill", lambda *args, **kwargs: calls.append((args, kwargs)) or real(**kwargs))
    trueskill_ratings(["a", "b"], [(0, 1, 0.5)], draw_probability=0.25, beta=5.0)
    assert calls == [((), {"mu": 25.0, "sigma": 25.0 / 3, "beta": 5.0, "tau": 25.0 / 300, "draw_probability": 0.25,
                           "backend": None})]


def test_trueskill_draws_and_bad_inputs():
    drawn = trueskill_ratings(["a", "b"], [(0, 1, 0.5)])
    assert drawn["a"] == drawn["b"]
    won = trueskill_ratings(["a", "b"], [(1, 0, 0.0)])  # b lost to a: the same game as (0, 1, 1.0)
    assert won == trueskill_ratings(["a", "b"], [(0, 1, 1.0)]) and won["a"][0] > won["b"][0]
    with pytest.raises(ValueError, match="whole results"):
        trueskill_ratings(["a", "b"], [(0, 1, 0.75)])
    with pytest.raises(ValueError, match="draw_probability is 0"):
        trueskill_ratings(["a", "b"], [(0, 1, 0.5)], draw_probability=0.0)
    with pytest.raises(ValueError, match="TrueSkill needs"):
        trueskill_environment(sigma=-1.0)
    with pytest.raises(ValueError, match="index"):
        trueskill_ratings(["a", "b"], [(0, 5, 1.0)])
    assert league.ladder.ratings.CONSERVATIVE_SIGMAS == 3.0
