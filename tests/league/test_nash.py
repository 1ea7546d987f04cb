"""Nash equilibria of meta-games: zero-sum solutions with known answers, the maximum-entropy Nash (uniqueness on
copies, dominated and transitive players, a player equal to a mixture), Nash averaging, RPP and the input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from league.ladder.nash import (max_entropy_nash, nash_averaged_ratings, relative_population_performance,
                         solve_zero_sum)

RPS = [[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]
"""Rock, paper, scissors: row's payoff against column."""


def _with_player(payoff: list[list[float]], row: list[float]) -> np.ndarray:
    """payoff with one more player whose payoff against the others is row (its column is -row)."""
    n = len(payoff)
    matrix = np.zeros((n + 1, n + 1))
    matrix[:n, :n] = payoff
    matrix[n, :n] = row
    matrix[:n, n] = -np.asarray(row)
    return matrix


def _entropy(p: np.ndarray) -> float:
    return float(-sum(x * math.log(x) for x in p if x > 0))


def test_rock_paper_scissors_is_uniform_with_value_0():
    row, column, value = solve_zero_sum(RPS)
    assert row == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert column == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert value == pytest.approx(0.0, abs=1e-9)
    assert max_entropy_nash(RPS) == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert nash_averaged_ratings(RPS, max_entropy_nash(RPS)) == pytest.approx([0.0] * 3, abs=1e-9)


def test_matching_pennies():
    row, column, value = solve_zero_sum([[1.0, -1.0], [-1.0, 1.0]])
    assert row == pytest.approx([0.5, 0.5], abs=1e-9)
    assert column == pytest.approx([0.5, 0.5], abs=1e-9)
    assert value == pytest.approx(0.0, abs=1e-9)


def test_a_non_symmetric_2_by_3_game():
    # Row mixes (x, 1 - x); columns pay 4 - 2x, 1 + 2x, 6 - 5x. The lower envelope peaks where columns 2 and 3
    # cross: x = 5/7, value 17/7; column 1 pays 18/7 there, so the column player mixes 2 and 3 as (5/7, 2/7).
    row, column, value = solve_zero_sum([[2.0, 3.0, 1.0], [4.0, 1.0, 6.0]])
    assert row == pytest.approx([5 / 7, 2 / 7], abs=1e-9)
    assert column == pytest.approx([0.0, 5 / 7, 2 / 7], abs=1e-9)
    assert value == pytest.approx(17 / 7, abs=1e-9)
    assert solve_zero_sum([[3.0]]) == ([1.0], [1.0], 3.0)


def test_a_dominated_player_gets_no_mass_and_a_negative_rating():
    # "weak rock": loses to rock by 0.1, to paper by 0.6 (more than rock does), beats scissors by 0.4 only.
    payoff = _with_player(RPS, [-0.1, -0.6, 0.4])
    nash = max_entropy_nash(payoff)
    assert nash == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0.0], abs=1e-9)
    ratings = nash_averaged_ratings(payoff, nash)
    assert ratings[:3] == pytest.approx([0.0] * 3, abs=1e-9)
    assert ratings[3] == pytest.approx((-0.1 - 0.6 + 0.4) / 3, abs=1e-9)


def test_a_transitive_game_puts_all_mass_on_the_top_player():
    payoff = [[0.0, 0.2, 0.3], [-0.2, 0.0, 0.2], [-0.3, -0.2, 0.0]]  # A beats B beats C, A beats C
    nash = max_entropy_nash(payoff)
    assert nash == pytest.approx([1.0, 0.0, 0.0], abs=1e-9)
    assert nash_averaged_ratings(payoff, nash) == pytest.approx([0.0, -0.2, -0.3], abs=1e-9)


def test_copies_split_their_mass_equally():
    rock = RPS[0]
    payoff = _with_player(RPS, rock)  # a second rock: rows 0 and 3
    nash = max_entropy_nash(payoff)
    assert nash == pytest.approx([1 / 6, 1 / 3, 1 / 3, 1 / 6], abs=1e-9)
    assert nash[0] == nash[3]
    assert nash_averaged_ratings(payoff, nash) == pytest.approx([0.0] * 4, abs=1e-9)


def test_ties_without_copies_take_the_entropy_maximum():
    # a and b tie each other and both beat c, by different margins: any split of a and b is a Nash.
    payoff = [[0.0, 0.0, 1.0], [0.0, 0.0, 0.5], [-1.0, -0.5, 0.0]]
    nash = max_entropy_nash(payoff)
    assert nash == pytest.approx([0.5, 0.5, 0.0], abs=1e-7)
    assert nash_averaged_ratings(payoff, nash) == pytest.approx([0.0, 0.0, -0.75], abs=1e-7)


def test_a_player_equal_to_a_mixture_of_others():
    # d plays half rock, half paper. The Nash are (1/3 - t/2, 1/3 - t/2, 1/3, t) for t in [0, 2/3]; the entropy's
    # derivative, log(1/3 - t/2) - log(t), vanishes at t = 2/9.
    rps = np.array(RPS)
    payoff = _with_player(RPS, ((rps[0] + rps[1]) / 2).tolist())
    assert max_entropy_nash(payoff) == pytest.approx([2 / 9, 2 / 9, 1 / 3, 2 / 9], abs=1e-7)


def test_trivial_games():
    assert max_entropy_nash([[0.0]]) == [1.0]
    assert max_entropy_nash(np.zeros((4, 4))) == pytest.approx([0.25] * 4)
    assert nash_averaged_ratings([[0.0]], [1.0]) == [0.0]


@pytest.mark.parametrize("seed", range(5))
def test_random_meta_games_with_copies(seed):
    """Random win rates, a few players copied: the result is a Nash, copies share equally, the payoff's scale does
    not matter, and no Nash the linear program finds has more entropy."""
    rng = np.random.default_rng(seed)
    n = 12
    wins = np.triu(rng.uniform(size=(n, n)), 1)
    wins = wins + np.tril(1.0 - wins.T, -1) + 0.5 * np.eye(n)
    keep = np.concatenate([np.arange(n), [0, 3, 3]])  # player 0 twice, player 3 three times
    payoff = wins[np.ix_(keep, keep)] - 0.5
    nash = np.array(max_entropy_nash(payoff))
    assert nash.min() >= 0.0 and nash.sum() == pytest.approx(1.0, abs=1e-12)
    assert (payoff @ nash).max() <= 1e-7
    assert nash[0] == pytest.approx(nash[12], abs=1e-12)
    assert nash[3] == pytest.approx(nash[13], abs=1e-12) and nash[3] == pytest.approx(nash[14], abs=1e-12)
    assert max_entropy_nash(40.0 * payoff) == pytest.approx(nash.tolist(), abs=1e-7)
    assert _entropy(nash) >= _entropy(np.array(solve_zero_sum(payoff)[0])) - 1e-9


def test_relative_population_performance():
    # A = {rock, paper} against B = {rock, scissors}: A wins with payoff [[0, .5], [.5, -.5]] (rock-rock even,
    # rock beats scissors, paper beats rock, scissors beats paper); A mixes rock 2/3, value 1/6.
    win_rates = [[0.5, 1.0], [1.0, 0.0]]
    assert relative_population_performance(win_rates) == pytest.approx(1 / 6, abs=1e-9)
    reverse = (1.0 - np.array(win_rates).T).tolist()
    assert relative_population_performance(reverse) == pytest.approx(-1 / 6, abs=1e-9)
    same = (np.array(RPS) / 2 + 0.5).tolist()
    assert relative_population_performance(same) == pytest.approx(0.0, abs=1e-9)
    assert relative_population_performance([[0.9, 0.8, 0.7]]) == pytest.approx(0.2, abs=1e-9)


@pytest.mark.parametrize("payoff, message", [
    ([], "non-empty"),
    ([[]], "non-empty"),
    ([[0.0, 1.0], [-1.0]], "rectangular"),
    ([[0.0, "x"], [0.0, 0.0]], "rectangular"),
    ([[0.0, float("nan")], [0.0, 0.0]], "finite"),
    ([[0.0, float("inf")], [0.0, 0.0]], "finite"),
    ([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]], "square"),
    ([[0.0, 0.7], [0.3, 0.0]], "antisymmetric"),
    ([[0.5, 0.0], [0.0, 0.5]], "antisymmetric"),
])
def test_bad_meta_games_are_refused(payoff, message):
    with pytest.raises(ValueError, match=message):
        max_entropy_nash(payoff)
    with pytest.raises(ValueError, match=message):
        nash_averaged_ratings(payoff, [0.5, 0.5])


@pytest.mark.parametrize("payoff, message", [
    ([], "non-empty"), ([[1.0, 2.0], [3.0]], "rectangular"), ([[float("nan")]], "finite")])
def test_bad_zero_sum_games_are_refused(payoff, message):
    with pytest.raises(ValueError, match=message):
        solve_zero_sum(payoff)


def test_bad_mixtures_and_win_rates_are_refused():
    with pytest.raises(ValueError, match="3 probabilities"):
        nash_averaged_ratings(RPS, [0.5, 0.5])
    with pytest.raises(ValueError, match="sum to 1"):
        nash_averaged_ratings(RPS, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="sum to 1"):
        nash_averaged_ratings(RPS, [1.5, -0.5, 0.0])
    with pytest.raises(ValueError, match="tolerance"):
        max_entropy_nash(RPS, tolerance=-1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        relative_population_performance([[0.5, 1.2]])
    with pytest.raises(ValueError, match="non-empty"):
        relative_population_performance([])
