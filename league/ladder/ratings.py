"""Ratings: Elo (the win probability, a Bradley-Terry maximum-likelihood fit over a win matrix, its bootstrap
intervals, the per-game update) and TrueSkill.

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

`bootstrap_elo` puts an interval on each fitted rating by refitting on the games resampled with replacement.
`trueskill_ratings` runs TrueSkill (Herbrich, Minka and Graepel 2006) through the `trueskill` package with every
setting passed by name (DI-engine passes them by position into the wrong slots); its leaderboard value is
mu - 3 sigma (`trueskill_rank_value`), not mu, which would rank a lucky newcomer above a proven player.

No torch here (STYLE.md: the league's bookkeeping needs none).
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np

ELO_SCALE = 400.0
"""Elo points per factor of 10 in the odds of winning."""
NATS_TO_ELO = ELO_SCALE / math.log(10.0)
"""Elo points per unit of natural-log strength (the fit works in natural logs)."""
TRUESKILL_MU = 25.0
"""TrueSkill's initial mean skill (Herbrich et al. 2006; the `trueskill` package's default)."""
TRUESKILL_SIGMA = TRUESKILL_MU / 3.0
"""TrueSkill's initial skill uncertainty: mu / 3."""
TRUESKILL_BETA = TRUESKILL_MU / 6.0
"""TrueSkill's performance noise, sigma / 2: the skill gap that wins about 76 % of games."""
TRUESKILL_TAU = TRUESKILL_MU / 300.0
"""TrueSkill's dynamics, sigma / 100: uncertainty added before each game, so skills can keep moving."""
TRUESKILL_DRAW_PROBABILITY = 0.1
"""TrueSkill's prior chance that two equal players draw (the `trueskill` package's default)."""
CONSERVATIVE_SIGMAS = 3.0
"""The leaderboard ranks by mu - 3 sigma: a skill the player exceeds with about 99.9 % probability."""


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


def bootstrap_elo(names: Sequence[str], outcomes: Sequence[tuple[int, int, float]], *, samples: int = 200,
                  confidence: float = 0.95, seed: int = 0, anchor: str | None = None, anchor_rating: float = 0.0,
                  prior_games: float = 1.0) -> dict[str, tuple[float, float, float]]:
    """Elo ratings with bootstrap intervals: the games resampled with replacement, `fit_elo` refitted on each sample.

    Args:
        names: the players.
        outcomes: one (i, j, score of i) per game: indices into names and 1 for i's win, 0.5 a draw, 0 a loss.
        samples: bootstrap resamples.
        confidence: the intervals' coverage: (1 - confidence) / 2 of the resampled fits fall below low, as many
            above high (percentile intervals).
        seed: seeds the numpy Generator that draws the resamples, so the same seed gives the same intervals.
        anchor: as `fit_elo` (applied to every resample too, so the anchor's own interval is a single point).
        anchor_rating: as `fit_elo`.
        prior_games: as `fit_elo`.

    Returns:
        Each name's (rating, low, high) in Elo points: the rating is `fit_elo` on all the games; the interval is
        widened to contain it where the percentiles miss it (a skewed resampling distribution, as a player who won
        all of few games has), so a report never shows a rating outside its own interval.

    Raises:
        ValueError: bad outcomes (indices out of range, a player against itself, scores outside [0, 1]), samples
            below 1, confidence outside (0, 1), or what `fit_elo` refuses.
    """
    first, second, score = _checked_outcomes(len(names), outcomes)
    if samples < 1 or not 0.0 < confidence < 1.0:
        raise ValueError(f"need samples >= 1 and 0 < confidence < 1, got {samples} and {confidence}")
    fit = functools.partial(_fit_counts, names, first, second, score, anchor=anchor, anchor_rating=anchor_rating,
                            prior_games=prior_games)
    point = fit(np.ones(len(score)))
    rng = np.random.default_rng(seed)
    resampled = np.array([fit(np.bincount(rng.integers(0, len(score), len(score)), minlength=len(score)))
                          for _ in range(samples)]) if len(score) else np.tile(point, (samples, 1))
    low, high = np.percentile(resampled, [50.0 * (1.0 - confidence), 50.0 * (1.0 + confidence)], axis=0)
    low, high = np.minimum(low, point), np.maximum(high, point)
    return {name: (float(point[k]), float(low[k]), float(high[k])) for k, name in enumerate(names)}


def _checked_outcomes(n: int, outcomes: Sequence[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """outcomes as arrays (first player, second player, first's score) after checking them against n players."""
    try:
        table = np.array(outcomes, dtype=np.float64).reshape(-1, 3)
    except (ValueError, TypeError) as error:
        raise ValueError(f"outcomes must be (i, j, score of i) triples ({error})") from None
    first, second, score = table.T
    indices = np.concatenate([first, second])
    if not np.isfinite(table).all() or (indices != np.round(indices)).any() or (indices < 0).any() or \
            (indices >= n).any():
        raise ValueError(f"outcomes must name players by their index in names (0 to {n - 1})")
    if (first == second).any():
        raise ValueError("a game needs two different players (outcomes hold a player against itself)")
    if (score < 0.0).any() or (score > 1.0).any():
        raise ValueError("scores must lie in [0, 1] (1 win, 0.5 draw, 0 loss)")
    return first.astype(np.int64), second.astype(np.int64), score


def _fit_counts(names: Sequence[str], first: np.ndarray, second: np.ndarray, score: np.ndarray, counts: np.ndarray, *,
                anchor: str | None, anchor_rating: float, prior_games: float) -> np.ndarray:
    """`fit_elo` on the games weighted by counts (how often the resample drew each), as an array in names' order."""
    n = len(names)
    wins = (np.bincount(first * n + second, weights=counts * score, minlength=n * n)
            + np.bincount(second * n + first, weights=counts * (1.0 - score), minlength=n * n)).reshape(n, n)
    ratings = fit_elo(names, wins, wins + wins.T, anchor=anchor, anchor_rating=anchor_rating,
                      prior_games=prior_games)
    return np.array([ratings[name] for name in names])


def trueskill_environment(*, mu: float = TRUESKILL_MU, sigma: float = TRUESKILL_SIGMA, beta: float = TRUESKILL_BETA,
                          tau: float = TRUESKILL_TAU, draw_probability: float = TRUESKILL_DRAW_PROBABILITY):
    """A `trueskill.TrueSkill` environment with every setting passed by name (the module docstring says why).

    Returns:
        The environment, on the package's pure-Python Gaussian functions (backend=None), no global state touched.

    Raises:
        ValueError: a non-positive mu, sigma or beta, a negative tau, or a draw probability outside [0, 1).
    """
    import trueskill  # only the TrueSkill functions need the package

    if not (mu > 0.0 and sigma > 0.0 and beta > 0.0 and tau >= 0.0 and 0.0 <= draw_probability < 1.0):
        raise ValueError(f"TrueSkill needs mu, sigma, beta > 0, tau >= 0 and 0 <= draw_probability < 1, got "
                         f"mu={mu}, sigma={sigma}, beta={beta}, tau={tau}, draw_probability={draw_probability}")
    return trueskill.TrueSkill(mu=mu, sigma=sigma, beta=beta, tau=tau, draw_probability=draw_probability,
                               backend=None)


def trueskill_ratings(names: Sequence[str], games: Sequence[tuple[int, int, float]], *, mu: float = TRUESKILL_MU,
                      sigma: float = TRUESKILL_SIGMA, beta: float = TRUESKILL_BETA, tau: float = TRUESKILL_TAU,
                      draw_probability: float = TRUESKILL_DRAW_PROBABILITY) -> dict[str, tuple[float, float]]:
    """TrueSkill ratings after the games, processed one by one in the given order (TrueSkill is sequential).

    Args:
        names: the players.
        games: one (i, j, score of i) per game, as `bootstrap_elo` takes, the score exactly 1 (i won), 0.5 (a draw)
            or 0 (j won): TrueSkill knows no partial results.
        mu: every player's initial mean skill.
        sigma: every player's initial skill uncertainty.
        beta: the performance noise.
        tau: the uncertainty added before each game.
        draw_probability: the prior chance of a draw between equal players; must be positive if a game is drawn.

    Returns:
        Each name's (mu, sigma); rank by `trueskill_rank_value(mu, sigma)`.

    Raises:
        ValueError: bad games (as `bootstrap_elo`, or a score other than 1, 0.5 or 0), a draw with
            draw_probability 0, or a setting `trueskill_environment` refuses.
    """
    first, second, score = _checked_outcomes(len(names), games)
    if not np.isin(score, (0.0, 0.5, 1.0)).all():
        raise ValueError("TrueSkill needs whole results: every score must be 1 (win), 0.5 (draw) or 0 (loss)")
    if draw_probability == 0.0 and (score == 0.5).any():
        raise ValueError("a game is drawn but draw_probability is 0: TrueSkill cannot rate an impossible draw")
    import trueskill

    env = trueskill_environment(mu=mu, sigma=sigma, beta=beta, tau=tau, draw_probability=draw_probability)
    ratings = [env.create_rating() for _ in names]
    for i, j, s in zip(first.tolist(), second.tolist(), score.tolist()):
        winner, loser = (j, i) if s == 0.0 else (i, j)
        # the package's function with our environment: the method env.rate_1vs1 is deprecated since trueskill 0.4
        ratings[winner], ratings[loser] = trueskill.rate_1vs1(ratings[winner], ratings[loser], drawn=s == 0.5,
                                                              env=env)
    return {name: (float(r.mu), float(r.sigma)) for name, r in zip(names, ratings)}


def trueskill_rank_value(mu: float, sigma: float) -> float:
    """The TrueSkill leaderboard value, mu - 3 sigma: rank by this, not by mu (league.md)."""
    return mu - CONSERVATIVE_SIGMAS * sigma
