"""Elo ratings: the win probability, a Bradley-Terry maximum-likelihood fit over a win matrix, the per-game update.

Elo says P(A beats B) = 1 / (1 + 10^((R_B - R_A) / 400)) (league.md, "How strength is reported"). A fit over every
result at once (a Bradley-Terry maximum-likelihood estimate, as open_spiel's `elo.py` computes) beats sequential
updates, which depend on the order of the games and never settle; `fit_elo` is that fit, `sequential_elo_update` the
classic per-game update for comparison and for live displays.

The fit's prior: every player plays `prior_games` virtual games against a fixed reference player rated 0, all of them
draws. This keeps the ratings of players that always win, never win or never played finite (an unplayed player sits
at the reference, which is the mean rating when the others' results balance around it, and moves no one else),
makes the likelihood strictly concave (one maximum, found by Newton's method in a few steps), and fades as real
games accumulate: with the default single virtual game, a 75 % record over 400 games fits 190.5 points where the
prior-free answer is 400 log10(3) = 190.8. Unlike open_spiel's smoothing (virtual games between every pair of
players), its weight per player does not grow with the size of the league.

No torch here (STYLE.md: the league's bookkeeping needs none).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

ELO_SCALE = 400.0
"""Elo points per factor of 10 in the odds of winning."""
NATS_TO_ELO = ELO_SCALE / math.log(10.0)
"""Elo points per unit of natural-log strength (the fit works in natural logs)."""


def elo_probability(r_a: float, r_b: float) -> float:
    """P(A beats B) under Elo: 1 / (1 + 10^((r_b - r_a) / 400)), a draw counting as half a win."""
    return 1.0 / (1.0 + 10.0 ** ((r_b - r_a) / ELO_SCALE))


def sequential_elo_update(r_a: float, r_b: float, score_a: float, k: float = 16.0) -> tuple[float, float]:
    """The classic per-game Elo update.

    Args:
        r_a: A's rating before the game.
        r_b: B's rating before the game.
        score_a: A's result: 1 for a win, 0.5 for a draw, 0 for a loss.
        k: points moved per unit of surprise.

    Returns:
        (A's new rating, B's new rating); the points A gains B loses.
    """
    if not 0.0 <= score_a <= 1.0:
        raise ValueError(f"score_a must lie in [0, 1] (1 win, 0.5 draw, 0 loss), got {score_a}")
    delta = k * (score_a - elo_probability(r_a, r_b))
    return r_a + delta, r_b - delta


def fit_elo(names: Sequence[str], wins: Sequence[Sequence[float]], games: Sequence[Sequence[float]], *,
            anchor: str | None = None, anchor_rating: float = 0.0, prior_games: float = 1.0,
            tolerance: float = 1e-9, max_iterations: int = 100) -> dict[str, float]:
    """Bradley-Terry maximum-likelihood Elo ratings from a win matrix.

    Args:
        names: the players, one per row and column of the matrices.
        wins: wins[i][j] is i's score against j: its (possibly decayed) wins plus half its draws against j.
        games: games[i][j] = games[j][i], the (possibly decayed) games i and j played; so wins[i][j] + wins[j][i]
            must equal games[i][j]. The diagonal (a player against itself) carries no information and is ignored.
        anchor: the player placed at `anchor_rating` (AlphaStar anchors a built-in bot at 0); None to make the mean
            rating 0 instead.
        anchor_rating: the anchor's rating.
        prior_games: virtual drawn games each player plays against a reference rated 0 (the module docstring says
            why); must be positive.
        tolerance: stop when no rating moves more than this many natural-log units (about 174 Elo per unit).
        max_iterations: Newton steps at most (it converges in well under 20 on real data).

    Returns:
        Each name's rating, in Elo points.

    Raises:
        ValueError: mismatched shapes, repeated names, an unknown anchor, negative, non-finite or inconsistent counts,
            or a prior that is not positive.
    """
    score, played = _checked_matrices(names, wins, games)
    if anchor is not None and anchor not in names:
        raise ValueError(f"the anchor {anchor!r} is not one of the players")
    if not prior_games > 0.0:
        raise ValueError(f"prior_games must be positive (it keeps the fit finite), got {prior_games}")
    strengths = _maximize_likelihood(score, played, prior_games, tolerance, max_iterations)
    ratings = strengths * NATS_TO_ELO
    if anchor is None:
        ratings = ratings - ratings.mean() if len(names) else ratings
    else:
        ratings = ratings - ratings[list(names).index(anchor)] + anchor_rating
    return {name: float(rating) for name, rating in zip(names, ratings)}


def _checked_matrices(names: Sequence[str], wins: Sequence[Sequence[float]],
                      games: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """wins and games as [N, N] float arrays with zero diagonals, after checking them (`fit_elo` says what holds)."""
    n = len(names)
    if len(set(names)) != n:
        raise ValueError(f"player names must be distinct, got {list(names)}")
    arrays = []
    for label, matrix in (("wins", wins), ("games", games)):
        try:
            array = np.array(matrix, dtype=np.float64)
        except ValueError as error:
            raise ValueError(f"{label} must be an {n} x {n} matrix of numbers ({error})") from None
        if n == 0 and array.size == 0:
            array = array.reshape(0, 0)
        if array.shape != (n, n):
            raise ValueError(f"{label} must be an {n} x {n} matrix (one row and column per name), got {array.shape}")
        if not np.isfinite(array).all() or (array < 0).any():
            raise ValueError(f"{label} must hold finite counts >= 0")
        np.fill_diagonal(array, 0.0)
        arrays.append(array)
    score, played = arrays
    slack = 1e-6 * np.maximum(1.0, played)
    if (np.abs(played - played.T) > slack).any():
        raise ValueError("games must be symmetric: games[i][j] and games[j][i] count the same games")
    if (np.abs(score + score.T - played) > slack).any():
        raise ValueError("wins[i][j] + wins[j][i] must equal games[i][j] (each game gives its two players 1 point)")
    return score, played


def _log_likelihood(theta: np.ndarray, score: np.ndarray, prior_games: float) -> float:
    """The fit's objective: the results' log-likelihood plus the prior's virtual draws, strengths in natural logs."""
    gaps = theta[:, None] - theta[None, :]
    results = -(score * np.logaddexp(0.0, -gaps)).sum()
    prior = -0.5 * prior_games * (np.logaddexp(0.0, -theta) + np.logaddexp(0.0, theta)).sum()
    return float(results + prior)


def _gradient_and_precision(theta: np.ndarray, score: np.ndarray, played: np.ndarray,
                             prior_games: float) -> tuple[np.ndarray, np.ndarray]:
    """`_log_likelihood`'s gradient (actual minus expected scores) and its negated Hessian (positive definite)."""
    p_win = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
    p_ref = 1.0 / (1.0 + np.exp(-theta))
    gradient = score.sum(axis=1) - (played * p_win).sum(axis=1) + prior_games * (0.5 - p_ref)
    curvature = played * p_win * (1.0 - p_win)
    precision = np.diag(curvature.sum(axis=1) + prior_games * p_ref * (1.0 - p_ref)) - curvature
    return gradient, precision


def _maximize_likelihood(score: np.ndarray, played: np.ndarray, prior_games: float, tolerance: float,
                         max_iterations: int) -> np.ndarray:
    """Natural-log strengths maximizing `_log_likelihood`: Newton's method with step halving (Armijo's rule).

    The objective is strictly concave (the prior adds curvature along every direction), so each Newton direction
    ascends and halving its length until the objective rises enough converges from any start.
    """
    theta = np.zeros(len(score))
    value = _log_likelihood(theta, score, prior_games)
    for _ in range(max_iterations):
        gradient, precision = _gradient_and_precision(theta, score, played, prior_games)
        step = np.linalg.solve(precision, gradient) if len(theta) else theta
        if len(step) == 0 or np.abs(step).max() < tolerance:
            break
        size = 1.0
        while True:
            candidate = theta + size * step
            candidate_value = _log_likelihood(candidate, score, prior_games)
            if candidate_value >= value + 1e-4 * size * float(gradient @ step) or size < 1e-12:
                break
            size /= 2.0
        theta, value = candidate, candidate_value
    return theta
