"""The league's players as plain data: roles, outcomes and one frozen record per player.

Players have stable string ids (`main_agent_0`, `main_exploiter_0`, `league_exploiter_0`; a frozen snapshot of a
learning player is `<parent>@<n>`, its n-th snapshot, n from 0); the payoff and the store are keyed by them, so the
whole league can be saved and loaded as plain data. No torch here (STYLE.md: the league's bookkeeping needs none).
"""

from __future__ import annotations

import dataclasses
import enum


class Role(str, enum.Enum):
    """What a player is in the league (league.md, "Roles")."""

    MAIN_AGENT = "main_agent"
    MAIN_EXPLOITER = "main_exploiter"
    LEAGUE_EXPLOITER = "league_exploiter"
    HISTORICAL = "historical"
    """A frozen snapshot of a learning player: it never learns again."""


LEARNING_ROLES = (Role.MAIN_AGENT, Role.MAIN_EXPLOITER, Role.LEAGUE_EXPLOITER)


class Outcome(str, enum.Enum):
    """A game's result seen from its home player."""

    WIN = "win"
    DRAW = "draw"
    LOSS = "loss"

    @property
    def flipped(self) -> "Outcome":
        """The same game's result seen from the away player."""
        return {Outcome.WIN: Outcome.LOSS, Outcome.LOSS: Outcome.WIN, Outcome.DRAW: Outcome.DRAW}[self]

    @staticmethod
    def from_reward(reward: float) -> "Outcome":
        """+1 / 0 / -1 (a two-player scenario's final reward) as an Outcome."""
        return Outcome.WIN if reward > 0 else Outcome.LOSS if reward < 0 else Outcome.DRAW


@dataclasses.dataclass(frozen=True)
class Player:
    """One player of the league: a learning player (its weights change) or a frozen historical snapshot."""

    name: str
    """Stable id: `<role>_<i>` for learning players, `<parent>@<n>` for the parent's n-th snapshot."""
    role: Role
    parent: str | None = None
    """Historical players: the learning player they were frozen from; None for learning players."""
    parent_role: Role | None = None
    """Historical players: the role of their parent (a snapshot of a main exploiter is a "past main exploiter")."""
    steps: int = 0
    """Learning players: agent steps trained since the league began (across resets); historical: the parent's
    steps when it was frozen."""
    steps_at_snapshot: int = 0
    """Learning players: `steps` at their last snapshot (or reset); the snapshot rules count from here."""
    snapshots: int = 0
    """Learning players: snapshots taken of them so far (the next one is `<name>@<snapshots>`)."""
    resets: int = 0
    """Learning players: times they were reset to the initial parameters."""
    checkpoint: str | None = None
    """Path of the player's current weights, relative to the league's folder (None before the first save)."""

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"a player's name must be a non-empty word, got {self.name!r}")
        if (self.role is Role.HISTORICAL) != (self.parent is not None):
            raise ValueError(f"{self.name}: historical players, and only they, have a parent")
        if self.steps < 0 or self.steps_at_snapshot < 0 or self.steps_at_snapshot > self.steps:
            raise ValueError(f"{self.name}: steps ({self.steps}) and steps_at_snapshot ({self.steps_at_snapshot}) "
                             "must satisfy 0 <= steps_at_snapshot <= steps")

    @property
    def learning(self) -> bool:
        return self.role is not Role.HISTORICAL

    @property
    def steps_since_snapshot(self) -> int:
        return self.steps - self.steps_at_snapshot

    def snapshot_name(self) -> str:
        """The name the next snapshot of this (learning) player gets."""
        return f"{self.name}@{self.snapshots}"


def learning_player_name(role: Role, index: int) -> str:
    """`main_agent_0`, `main_exploiter_1`, ... ."""
    if role is Role.HISTORICAL:
        raise ValueError("historical players are named after their parent, not by index")
    return f"{role.value}_{index}"
