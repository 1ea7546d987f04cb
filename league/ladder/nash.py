"""Nash equilibria of meta-games: zero-sum matrix games, the maximum-entropy Nash of a symmetric one, Nash averaging
and relative population performance (league.md, "How strength is reported").

A meta-game's payoff is antisymmetric, A = -A^T, for instance A[i][j] = P(i beats j) - 0.5 or the log-odds of i
beating j. Its value is 0, and its Nash mixtures form the polytope N = {p >= 0, sum p = 1, A p <= 0}: the mixtures
that no pure strategy beats. N is often more than one point (copies of a player, a player equal to a mixture of
others), so "the" Nash is the one of maximum entropy, which is unique (Balduzzi, Tuyls, Perolat and Graepel 2018,
"Re-evaluating evaluation"); Nash averaging rates each player by its payoff against it, A p.

How `max_entropy_nash` finds it. Every p in N gives 0 to every strategy that some Nash plays (for p, q in N,
q^T A p is both <= 0 and >= 0, and every term q_j (A p)_j is <= 0), so with S the union of all Nash supports,
N = {p >= 0 supported on S, sum p = 1, A_SS p_S = 0, A_jS p_S <= 0 for j outside S}. Entropy's gradient is
infinite at p_i = 0, so its maximum lies in the relative interior of N: positive exactly on S. Linear programs
find S and a Nash positive on all of it (`_support`); the equalities become a null-space parametrisation; SLSQP
maximises the entropy over what is left (usually nothing: with noisy results the Nash is almost always unique);
players with identical rows get their mass averaged, which the exact maximum satisfies.

Tolerance: payoffs are first divided by their largest magnitude (a Nash does not change with the payoff's scale), and
`NASH_TOLERANCE` (relative to that magnitude) is the numerical slack everywhere: how far from antisymmetric an input
may be, how far the result may lie outside N (max_j (A p)_j <= tolerance * max|A|), how close two rows must be to
count as copies, the singular value below which an equality counts as redundant, and the least mass a Nash must give
a player for it to count as played. The linear programs run HiGHS (scipy.optimize.linprog) with feasibility
tolerances of 1e-10, so a player that loses to the equilibrium by more than about that gets no mass.

No torch here (STYLE.md: the league's bookkeeping needs none).
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from scipy.linalg import null_space
from scipy.optimize import linprog, minimize

_LOG = logging.getLogger(__name__)

NASH_TOLERANCE = 1e-7
"""Numerical slack, relative to the payoff's largest magnitude (the module docstring lists where it applies)."""
_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
"""HiGHS' own tolerances (its defaults are 1e-7), tightened because the games here are small."""


def solve_zero_sum(payoff: Sequence[Sequence[float]]) -> tuple[list[float], list[float], float]:
    """A Nash equilibrium of a two-player zero-sum matrix game, by linear programming (HiGHS).

    Args:
        payoff: payoff[i][j] is what the row player wins (and the column player loses) when row i meets column j;
            any m x n shape.

    Returns:
        (row mixture, column mixture, value): the row mixture guarantees the row player at least the value against
        every column, the column mixture holds it to at most the value against every row. Where several equilibria
        exist, the one the solver finds (not necessarily the maximum-entropy one).

    Raises:
        ValueError: an empty, ragged or non-finite payoff.
    """
    matrix = _matrix(payoff, "payoff")
    scale = _scale(matrix)
    row, value = _maximin(matrix / scale)
    column, _ = _maximin(-matrix.T / scale)
    return row.tolist(), column.tolist(), float(value * scale) + 0.0  # + 0.0: no -0.0


def max_entropy_nash(payoff: Sequence[Sequence[float]], *, tolerance: float = NASH_TOLERANCE) -> list[float]:
    """The maximum-entropy Nash mixture of a symmetric zero-sum meta-game (unique; module docstring says how).

    Args:
        payoff: an antisymmetric n x n matrix, payoff[i][j] = -payoff[j][i]: i's payoff against j, e.g. the win rate
            minus 0.5 (an unplayed pair 0) or the log-odds.
        tolerance: numerical slack relative to max |payoff| (module docstring, "Tolerance").

    Returns:
        The mixture p, one probability per player: p >= 0, sum p = 1, and no player beats it by more than
        tolerance * max |payoff|. Players with identical rows get equal mass; dominated players get none.

    Raises:
        ValueError: an empty, non-square, non-finite or non-antisymmetric payoff.
    """
    matrix = _antisymmetric(payoff, tolerance)
    scale = float(np.abs(matrix).max())
    n = len(matrix)
    if scale == 0.0:
        return [1.0 / n] * n  # every mixture is a Nash: the uniform one has the most entropy
    matrix = matrix / scale
    support, start = _support(matrix, tolerance)
    mixture = np.zeros(n)
    mixture[support] = _maximize_entropy(matrix, support, start, tolerance)
    mixture = _average_copies(matrix, mixture, tolerance)
    return mixture.tolist()


def nash_averaged_ratings(payoff: Sequence[Sequence[float]], mixture: Sequence[float], *,
                          tolerance: float = NASH_TOLERANCE) -> list[float]:
    """Nash averaging (Balduzzi et al. 2018): each player's expected payoff against the Nash mixture, A p.

    Args:
        payoff: the antisymmetric meta-game `max_entropy_nash` takes.
        mixture: its Nash mixture (normally `max_entropy_nash(payoff)`).
        tolerance: slack for the antisymmetry check, relative to max |payoff|.

    Returns:
        One rating per player, in the payoff's units: 0 (up to the tolerance) for players in the Nash's support,
        negative for the players outside it (by how much they lose to the equilibrium).

    Raises:
        ValueError: a bad payoff (as `max_entropy_nash`), or a mixture of the wrong length, with negative or
            non-finite entries, or not summing to 1 (within 1e-6).
    """
    matrix = _antisymmetric(payoff, tolerance)
    weights = _mixture(mixture, len(matrix))
    return (matrix @ weights).tolist()


def relative_population_performance(win_rates_ab: Sequence[Sequence[float]]) -> float:
    """Relative population performance of population A over population B (Balduzzi et al. 2019, "Open-ended
    learning in symmetric zero-sum games"; league.md: RPP = Nash(P_AB)^T P_AB Nash(P_BA)).

    Computed as the value of the zero-sum game in which A picks one of its agents (rows), B one of its agents
    (columns), and A wins win_rates_ab[i][j] - 0.5 (B the opposite): with p and q the equilibrium mixtures of A and B
    in that game, RPP = p^T (P_AB - 0.5) q. The value does not depend on which equilibrium is taken. p^T P_AB q itself,
the formula read literally on win rates, is this plus 0.5 (p and q each sum to 1); centring makes 0 the even mark.

    Args:
        win_rates_ab: win_rates_ab[i][j] is the probability that A's agent i beats B's agent j (a draw counting
            half), any m x n shape.

    Returns:
        The RPP, in [-0.5, 0.5]: above 0 when A's best mixture of agents beats every mixture of B's (by that much
        win probability over 0.5), below 0 when B's does, 0 when neither population dominates.

    Raises:
        ValueError: an empty, ragged or non-finite matrix, or entries outside [0, 1].
    """
    matrix = _matrix(win_rates_ab, "win_rates_ab")
    if (matrix < 0.0).any() or (matrix > 1.0).any():
        raise ValueError("win_rates_ab must hold win probabilities in [0, 1] (A's agent i beating B's agent j)")
    return solve_zero_sum(matrix - 0.5)[2]


# -- checks -----------------------------------------------------------------------------------------------------
def _matrix(values: Sequence[Sequence[float]], label: str) -> np.ndarray:
    """values as a non-empty, finite 2-D float array, or a ValueError naming `label`."""
    try:
        matrix = np.array(values, dtype=np.float64)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{label} must be a rectangular matrix of numbers ({error})") from None
    if matrix.ndim != 2 or matrix.size == 0:
        raise ValueError(f"{label} must be a non-empty 2-D matrix, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{label} must hold finite numbers")
    return matrix


def _antisymmetric(payoff: Sequence[Sequence[float]], tolerance: float) -> np.ndarray:
    """payoff as a checked square antisymmetric array (within tolerance * max |payoff|)."""
    if not 0.0 <= tolerance < 1.0:
        raise ValueError(f"tolerance must lie in [0, 1), got {tolerance}")
    matrix = _matrix(payoff, "payoff")
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"payoff must be square (every player against every player), got shape {matrix.shape}")
    gap = float(np.abs(matrix + matrix.T).max())
    if gap > tolerance * _scale(matrix):
        raise ValueError(f"payoff must be antisymmetric (payoff[i][j] = -payoff[j][i], e.g. win rate - 0.5), "
                         f"but entries differ by up to {gap:.3g}")
    return matrix


def _mixture(mixture: Sequence[float], n: int) -> np.ndarray:
    """mixture as a checked probability vector of length n."""
    try:
        weights = np.array(mixture, dtype=np.float64)
    except (ValueError, TypeError) as error:
        raise ValueError(f"mixture must be a list of {n} probabilities ({error})") from None
    if weights.shape != (n,):
        raise ValueError(f"mixture must hold {n} probabilities (one per player), got shape {weights.shape}")
    if not np.isfinite(weights).all() or (weights < 0.0).any() or abs(weights.sum() - 1.0) > 1e-6:
        raise ValueError("mixture must hold finite probabilities >= 0 that sum to 1")
    return weights


def _scale(matrix: np.ndarray) -> float:
    """The payoff's largest magnitude, or 1 for an all-zero payoff."""
    largest = float(np.abs(matrix).max())
    return largest if largest > 0.0 else 1.0


# -- solvers ----------------------------------------------------------------------------------------------------
def _linprog(objective: np.ndarray, **problem) -> np.ndarray:
    """scipy's HiGHS linear program, tight tolerances first and HiGHS' own if those run into numerical trouble.

    Raises:
        RuntimeError: both failed (every program here is feasible and bounded, so that is a solver failure).
    """
    for options in (_HIGHS_OPTIONS, {}):
        result = linprog(objective, method="highs", options=options, **problem)
        if result.status == 0:
            return result.x
    raise RuntimeError(f"a Nash linear program failed: {result.message}")


def _maximin(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """The row player's maximin mixture x and the value v: maximise v subject to (A^T x)_j >= v, x in the simplex."""
    m, n = matrix.shape
    objective = np.zeros(m + 1)
    objective[-1] = -1.0
    solution = _linprog(objective, A_ub=np.hstack([-matrix.T, np.ones((n, 1))]), b_ub=np.zeros(n),
                        A_eq=np.hstack([np.ones((1, m)), np.zeros((1, 1))]), b_eq=[1.0],
                        bounds=[(0.0, None)] * m + [(None, None)])
    return _normalized(solution[:m]), float(solution[-1])


def _support(matrix: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """S, the players some Nash plays, and a Nash mixture positive on all of them (its entries on S).

    For each player that no Nash found so far plays, a linear program maximises its mass over the Nash polytope
    (the polytope is bounded and small, which HiGHS handles far more reliably than one program over its unbounded
    cone); a player whose largest mass is below `tolerance` counts as outside S. The average of the Nash mixtures
    found is a Nash (the polytope is convex) that plays all of S.
    """
    n = len(matrix)
    problem = {"A_ub": matrix, "b_ub": np.zeros(n), "A_eq": np.ones((1, n)), "b_eq": [1.0],
               "bounds": [(0.0, None)] * n}
    witnesses = [_normalized(_linprog(np.zeros(n), **problem))]
    for player in range(n):
        if max(w[player] for w in witnesses) <= tolerance:
            witness = _normalized(_linprog(-np.eye(n)[player], **problem))
            if witness[player] > tolerance:
                witnesses.append(witness)
    average = np.mean(witnesses, axis=0)
    support = np.flatnonzero(np.max(witnesses, axis=0) > tolerance)
    return support, _normalized(average[support])


def _maximize_entropy(matrix: np.ndarray, support: np.ndarray, start: np.ndarray, tolerance: float) -> np.ndarray:
    """The maximum-entropy mixture over S (module docstring): p = p0 + Z u on the equalities' affine set, u by SLSQP.

    Falls back to the start (a Nash positive on S, so a sound answer of lower entropy) if the result is not a Nash
    within the tolerance.
    """
    equalities = np.vstack([matrix[np.ix_(support, support)], np.ones((1, len(support)))])
    targets = np.zeros(len(equalities))
    targets[-1] = 1.0
    origin = start - np.linalg.pinv(equalities) @ (equalities @ start - targets)  # exact on the equalities
    basis = null_space(equalities, rcond=tolerance)
    outside = np.setdiff1d(np.arange(len(matrix)), support)
    beaten = matrix[np.ix_(outside, support)]  # rows j outside S: (A p)_j <= 0
    if basis.shape[1] == 0:  # the Nash is unique
        mixture, converged, message = _normalized(origin), True, "unique"
    else:
        inside = {"type": "ineq", "fun": lambda u: origin + basis @ u, "jac": lambda u: basis}
        not_beaten = {"type": "ineq", "fun": lambda u: -beaten @ (origin + basis @ u), "jac": lambda u: -beaten @ basis}
        result = minimize(_negative_entropy, np.zeros(basis.shape[1]), args=(origin, basis), jac=True,
                          method="SLSQP", constraints=[inside, not_beaten] if len(outside) else [inside],
                          options={"ftol": 1e-15, "maxiter": 1000})
        mixture, converged, message = _normalized(origin + basis @ result.x), result.success, result.message
    if not converged or float((matrix[:, support] @ mixture).max()) > tolerance:
        _LOG.warning("maximum-entropy Nash: kept a lower-entropy Nash (SLSQP: %s)", message)
        return start
    return mixture


def _negative_entropy(u: np.ndarray, origin: np.ndarray, basis: np.ndarray) -> tuple[float, np.ndarray]:
    """sum p log p at p = origin + basis @ u, and its gradient in u (log clamped so p = 0 stays finite)."""
    p = origin + basis @ u
    log_p = np.log(np.maximum(p, 1e-300))
    return float(np.sum(np.maximum(p, 0.0) * log_p)), basis.T @ (log_p + 1.0)


def _average_copies(matrix: np.ndarray, mixture: np.ndarray, tolerance: float) -> np.ndarray:
    """mixture with the mass of players whose rows agree (within tolerance) averaged over each group of copies.

    The exact maximum-entropy Nash already does this (swapping two copies maps the problem to itself and the
    maximum is unique); averaging removes the optimiser's last digits of asymmetry and stays in the polytope.
    """
    averaged = mixture.copy()
    unassigned = list(range(len(matrix)))
    while unassigned:
        first = unassigned[0]
        group = [i for i in unassigned if np.abs(matrix[i] - matrix[first]).max() <= tolerance]
        averaged[group] = mixture[group].mean()
        unassigned = [i for i in unassigned if i not in group]
    return averaged


def _normalized(weights: np.ndarray) -> np.ndarray:
    """weights clipped at 0 and scaled to sum to 1 (solvers return -1e-12 for 0)."""
    clipped = np.maximum(weights, 0.0)
    return clipped / clipped.sum()
