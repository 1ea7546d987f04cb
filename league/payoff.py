"""The league's payoff table: decayed game counts per ordered pair of players, and the win rates they give.

league.md ("Payoff table"), after AlphaStar's `Payoff` (published pseudocode `multiagent.py`): per ordered pair
(home, away) the decayed counts of games, wins, draws and losses; on each result every count of that pair, in
both orientations, is multiplied by the decay (0.99) and then the result is added. Win rate =
(wins + draws / 2) / games, and 0.5 for a pair that never played. Players are keyed by their string ids, so the
table saves and loads as plain data (`records`, `from_records`) and can be rebuilt from a match log
(`from_results`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from league.players import Outcome

DEFAULT_DECAY = 0.99
"""AlphaStar pseudocode, `Payoff._decay`."""
UNPLAYED_WIN_RATE = 0.5
"""The win rate of a pair with no games (AlphaStar pseudocode, `Payoff._win_rate`)."""


@dataclasses.dataclass(frozen=True)
class PairRecord:
    """The decayed results of one ordered pair (home, away), counted from home's side."""

    games: float = 0.0
    """Decayed number of games."""
    wins: float = 0.0
    """Decayed number of games home won."""
    draws: float = 0.0
    """Decayed number of drawn games."""
    losses: float = 0.0
    """Decayed number of games home lost."""

    def __post_init__(self) -> None:
        counts = (self.games, self.wins, self.draws, self.losses)
        if any(not c >= 0.0 for c in counts):  # also rejects NaN
            raise ValueError(f"a pair's counts must be non-negative, got {counts}")
        if self.wins + self.draws + self.losses > self.games * (1 + 1e-9) + 1e-9:
            raise ValueError(f"wins + draws + losses must not exceed games, got {counts}")

    @property
    def win_rate(self) -> float:
        """(wins + draws / 2) / games; 0.5 with no games."""
        if self.games <= 0.0:
            return UNPLAYED_WIN_RATE
        return (self.wins + 0.5 * self.draws) / self.games

    def decayed(self, decay: float) -> PairRecord:
        """Every count multiplied by `decay`."""
        return PairRecord(games=self.games * decay, wins=self.wins * decay, draws=self.draws * decay,
                          losses=self.losses * decay)

    def plus(self, outcome: Outcome) -> PairRecord:
        """One more game, with home's `outcome`."""
        return PairRecord(games=self.games + 1.0, wins=self.wins + (outcome is Outcome.WIN),
                          draws=self.draws + (outcome is Outcome.DRAW), losses=self.losses + (outcome is Outcome.LOSS))


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a player is keyed by a non-empty string id, got {name!r}")


class Payoff:
    """The payoff table, keyed by player names; the one stateful piece of the league's bookkeeping.

    `record` mutates the table in place (a coordinator adds every result as it arrives); `copy` gives an
    independent table. Two tables are equal when their decay and every pair's counts are equal.

    Self-play (home == away): the game is one result of the pair (home, home), so `record` decays that pair once
    and adds home's outcome once (AlphaStar's pseudocode would decay it twice and add a win and a loss, i.e. a
    2-game record whose win rate is always 0.5). Its win rate is then how often the home side beat its mirror.
    """

    def __init__(self, decay: float = DEFAULT_DECAY) -> None:
        """An empty table.

        Args:
            decay: The factor every count of a pair is multiplied by before one of its results is added; in (0, 1].

        Raises:
            ValueError: If decay is outside (0, 1].
        """
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"the payoff's decay must lie in (0, 1], got {decay!r}")
        self._decay = decay
        self._pairs: dict[tuple[str, str], PairRecord] = {}

    @property
    def decay(self) -> float:
        """The factor every count of a pair is multiplied by before one of its results is added."""
        return self._decay

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Payoff):
            return NotImplemented
        return self.decay == other.decay and self._pairs == other._pairs

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Payoff(decay={self.decay}, pairs={len(self._pairs)})"

    def record(self, home: str, away: str, outcome: Outcome) -> None:
        """Add one game's result: decay the pair's counts in both orientations, then add the result to each.

        Args:
            home: The home player's name.
            away: The away player's name (may equal home: self-play, see the class docstring).
            outcome: The result seen from home; (away, home) gets `outcome.flipped`.

        Raises:
            ValueError: If a name is not a non-empty string.
            TypeError: If outcome is not an `Outcome` (the strings "win"/"draw" are refused).
        """
        _check_name(home)
        _check_name(away)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"outcome must be an Outcome, got {outcome!r}")
        self._pairs[home, away] = self.pair(home, away).decayed(self.decay).plus(outcome)
        if away != home:
            self._pairs[away, home] = self.pair(away, home).decayed(self.decay).plus(outcome.flipped)

    def pair(self, home: str, away: str) -> PairRecord:
        """The counts of (home, away), from home's side; all zero if they never played."""
        return self._pairs.get((home, away), PairRecord())

    def win_rate(self, home: str, away: str) -> float:
        """P[home beats away] as (wins + draws / 2) / games; 0.5 if they never played."""
        return self.pair(home, away).win_rate

    def win_rates(self, home: str, aways: Iterable[str]) -> list[float]:
        """`win_rate(home, away)` for each of `aways`, in order."""
        return [self.win_rate(home, away) for away in aways]

    def matrix(self, names: Sequence[str]) -> list[list[float]]:
        """Win rates of every ordered pair: row i, column j is `win_rate(names[i], names[j])`."""
        return [self.win_rates(home, names) for home in names]

    @property
    def players(self) -> tuple[str, ...]:
        """Every name that appears in a recorded pair, sorted."""
        return tuple(sorted({name for pair in self._pairs for name in pair}))

    def records(self) -> list[tuple[str, str, PairRecord]]:
        """Every recorded pair as (home, away, counts), sorted by (home, away): the table as plain data."""
        return [(home, away, record) for (home, away), record in sorted(self._pairs.items())]

    def copy(self) -> Payoff:
        """An independent table with the same decay and counts."""
        return Payoff.from_records(self.records(), decay=self.decay)

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, str, PairRecord]], decay: float = DEFAULT_DECAY) -> Payoff:
        """A table holding exactly these pairs' counts (the inverse of `records`).

        Raises:
            ValueError: If a pair appears twice, a name is not a non-empty string, or decay is outside (0, 1].
        """
        payoff = cls(decay)
        for home, away, record in records:
            _check_name(home)
            _check_name(away)
            if (home, away) in payoff._pairs:
                raise ValueError(f"the pair ({home}, {away}) appears twice")
            payoff._pairs[home, away] = record
        return payoff

    @classmethod
    def from_results(cls, results: Iterable[tuple[str, str, Outcome]], decay: float = DEFAULT_DECAY) -> Payoff:
        """The table that recording these (home, away, outcome) results in order gives: a match log replayed."""
        payoff = cls(decay)
        for home, away, outcome in results:
            payoff.record(home, away, outcome)
        return payoff
