"""Prioritised fictitious self-play (PFSP): how likely each candidate opponent is to be drawn.

A candidate B is drawn from the candidates C with probability f(x_B) / sum over C of f(x_C), where x is the
probability that the choosing player beats the candidate (league.md, "PFSP weightings"; AlphaStar's `pfsp` in its
published pseudocode `multiagent.py`). Pure functions over plain floats; randomness only from the `random.Random`
the caller passes, so a seeded generator gives the same draws every time.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

UNIFORM_FALLBACK_BELOW = 1e-10
"""When the weights sum to less than this, every candidate is equally likely (AlphaStar pseudocode, `pfsp`)."""


class Weighting(str, enum.Enum):
    """The function f(x) that turns a win rate x against a candidate into its (unnormalised) weight."""

    SQUARED = "squared"
    """(1 - x)^2: AlphaStar's main agents; the candidates that beat us most are drawn most."""
    HARD = "hard"
    """(1 - x)^p, with the exponent p an argument; SQUARED is p = 2."""
    VARIANCE = "variance"
    """x (1 - x): candidates near our own level (curriculum against a too-strong main agent's snapshots)."""
    LINEAR = "linear"
    """1 - x."""
    LINEAR_CAPPED = "linear_capped"
    """min(0.5, 1 - x): AlphaStar's league exploiters."""
    UNIFORM = "uniform"
    """1 for every candidate: plain fictitious self-play."""


def _check_win_rate(x: float) -> None:
    if not 0.0 <= x <= 1.0:  # also rejects NaN
        raise ValueError(f"a win rate must lie in [0, 1], got {x!r}")


def weight(x: float, weighting: Weighting, *, p: float = 2.0) -> float:
    """The PFSP weight f(x) of a candidate that the choosing player beats with probability x.

    Args:
        x: P[the choosing player beats the candidate], in [0, 1].
        weighting: Which f to use.
        p: The exponent of `Weighting.HARD` (ignored by the others); positive and finite.

    Returns:
        f(x), a float in [0, 1].

    Raises:
        ValueError: If x is outside [0, 1] or p is not positive and finite.
    """
    _check_win_rate(x)
    weighting = Weighting(weighting)
    if weighting is Weighting.HARD and not (p > 0.0 and math.isfinite(p)):
        raise ValueError(f"the hard weighting's exponent p must be positive and finite, got {p!r}")
    if weighting is Weighting.SQUARED:
        return (1.0 - x) ** 2
    if weighting is Weighting.HARD:
        return (1.0 - x) ** p
    if weighting is Weighting.VARIANCE:
        return x * (1.0 - x)
    if weighting is Weighting.LINEAR:
        return 1.0 - x
    if weighting is Weighting.LINEAR_CAPPED:
        return min(0.5, 1.0 - x)
    return 1.0


def pfsp_probabilities(win_rates: Sequence[float], weighting: Weighting, *, p: float = 2.0) -> list[float]:
    """The probability of drawing each candidate: f(x_B) / sum over C of f(x_C).

    As in AlphaStar's pseudocode, when the weights sum to less than 1e-10 (e.g. every candidate is always beaten
    under a `squared` weighting) every candidate is equally likely instead.

    Args:
        win_rates: P[the choosing player beats candidate i], each in [0, 1]; at least one.
        weighting: Which f to use.
        p: The exponent of `Weighting.HARD`.

    Returns:
        One probability per candidate, summing to 1.

    Raises:
        ValueError: If `win_rates` is empty or holds a value outside [0, 1].
    """
    if len(win_rates) == 0:
        raise ValueError("PFSP needs at least one candidate's win rate")
    weights = [weight(float(x), weighting, p=p) for x in win_rates]
    total = sum(weights)
    if total < UNIFORM_FALLBACK_BELOW:
        return [1.0 / len(weights)] * len(weights)
    return [w / total for w in weights]


def choose(candidates: Sequence[T], win_rates: Sequence[float], weighting: Weighting, rng: random.Random, *,
           p: float = 2.0) -> T:
    """Draw one candidate with its PFSP probability, using exactly one `rng.random()`.

    Args:
        candidates: What to choose from (player names); as many as `win_rates`.
        win_rates: P[the choosing player beats candidate i], each in [0, 1].
        weighting: Which f to use.
        rng: The source of randomness; a seeded one makes the draw reproducible.
        p: The exponent of `Weighting.HARD`.

    Returns:
        The chosen candidate; never one whose probability is 0.

    Raises:
        ValueError: If there are no candidates, or not one win rate per candidate, or a win rate outside [0, 1].
    """
    if len(candidates) != len(win_rates):
        raise ValueError(f"{len(candidates)} candidates but {len(win_rates)} win rates")
    probabilities = pfsp_probabilities(win_rates, weighting, p=p)
    u = rng.random()
    cumulative = 0.0
    for candidate, probability in zip(candidates, probabilities):
        cumulative += probability
        if u < cumulative:
            return candidate
    # Rounding left the cumulative sum just below u: the last candidate that can be drawn at all.
    return next(c for c, q in zip(reversed(candidates), reversed(probabilities)) if q > 0.0)


def remove_monotonic_suffix(win_rates: Sequence[float], players: Sequence[T]) -> tuple[list[float], list[T]]:
    """Drop the trailing run of a player's snapshots whose win rates only fall (AlphaStar pseudocode, same name).

    `players` are a main agent's snapshots, oldest first, and `win_rates` the chooser's win rates against them.
    Scanning from the newest, the result ends at the last snapshot that the chooser beats more often than the one
    before it: the older snapshots it has started to lose to again ("forgetting"). Exactly the pseudocode: for i
    from len - 1 down to 1, if win_rates[i - 1] < win_rates[i], keep [:i + 1]; if no such i (including a single
    snapshot), nothing is kept.

    Args:
        win_rates: Win rates against `players`, in the same order.
        players: The snapshots, oldest first.

    Returns:
        The kept prefixes of (win_rates, players), as lists; both empty when nothing is kept.

    Raises:
        ValueError: If the two sequences differ in length.
    """
    if len(win_rates) != len(players):
        raise ValueError(f"{len(win_rates)} win rates but {len(players)} players")
    for i in range(len(win_rates) - 1, 0, -1):
        if win_rates[i - 1] < win_rates[i]:
            return list(win_rates[:i + 1]), list(players[:i + 1])
    return [], []
