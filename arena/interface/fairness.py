"""The fairness limits as a layer between the players' actions and the engine: small pieces an environment composes,
not flags threaded through it.

- `ActionDelay`: each step's actions wait `Limits.delay_loops` game loops before they are carried out.
- `ApmLimit`: an action over the APM caps is refused (arena.interface.limits.admit) and counted.
- Fog of war is the third limit (`Limits.fog`); it lives in what a player observes (`ObservationContext.fog`).

`FairnessLayer.from_limits` puts them together for one batch of games; `arena.core.GameCore` takes one (or none:
every action carried out at the step's first game loop, unchecked).
"""

from __future__ import annotations

import dataclasses

import torch

from arena.interface.actions import BatchedAction
from arena.interface.functions import FunctionId
from arena.interface.limits import ApmState, Limits, admit, window_counts


@dataclasses.dataclass
class PendingActions:
    """Actions waiting for their game loop: one BatchedAction per player, due `loops` game loops from now."""

    loops: int
    actions: list[BatchedAction]
    valid: torch.Tensor  # [B] bool: false for games that began a new episode since (their actions are dropped)


def masked(action: BatchedAction, keep: torch.Tensor) -> BatchedAction:
    """The action where `keep` [B] holds, no_op elsewhere."""
    return dataclasses.replace(action, function=torch.where(keep, action.function, int(FunctionId.no_op)))


@dataclasses.dataclass
class ActionDelay:
    """The actions of the latest steps, each carried out `loops` game loops after the step that sent it."""

    loops: int
    pending: list[PendingActions] = dataclasses.field(default_factory=list)

    def submit(self, actions: list[BatchedAction], valid: torch.Tensor) -> None:
        """One step's actions (one per player), for the games in `valid` [B]."""
        self.pending.append(PendingActions(loops=self.loops, actions=actions, valid=valid))

    def take_due(self) -> list[PendingActions]:
        """The actions due at this game loop, oldest first; the others move one loop nearer."""
        due = [p for p in self.pending if p.loops <= 0]
        self.pending = [dataclasses.replace(p, loops=p.loops - 1) for p in self.pending if p.loops > 0]
        return due

    def loops_to_next_action(self, left: int) -> int:
        """Game loops (at most `left`) to run before the next waiting action is due, from this loop on (whose due
        actions have been taken); the waiting actions' counts move on by the loops skipped, as `take_due` would
        have moved them loop by loop."""
        loops = min(left, 1 + min((p.loops for p in self.pending), default=left))
        self.pending = [dataclasses.replace(p, loops=p.loops - (loops - 1)) for p in self.pending]
        return loops

    def drop(self, games: torch.Tensor) -> None:
        """Waiting actions of the games in `games` [B] are never carried out (those games began anew)."""
        for pending in self.pending:
            pending.valid = pending.valid & ~games

    def clear(self) -> None:
        self.pending = []


@dataclasses.dataclass
class ApmLimit:
    """The APM caps of a batch of games and players, and what the players are told about them."""

    limits: Limits
    state: ApmState

    @staticmethod
    def empty(limits: Limits, num_envs: int, num_players: int, device: torch.device) -> "ApmLimit":
        return ApmLimit(limits=limits, state=ApmState.empty(num_envs, num_players, limits, device))

    def refuse(self, action: BatchedAction, player: int, now: torch.Tensor) -> torch.Tensor:
        """[B] bool: which of `player`'s actions, carried out at game loop `now` [B], go over a cap (and are
        counted as refused); the others are recorded against the caps."""
        refused, self.state = admit(self.state, action, player, now, self.limits)
        return refused

    def forget(self, games: torch.Tensor) -> None:
        """Games in `games` [B] begin a new episode: their history is forgotten."""
        self.state = self.state.reset_where(games)

    def observation(self, player: int, now: torch.Tensor) -> dict[str, torch.Tensor]:
        """`player`'s counters [B]: actions counted in the first cap's window ending `now`, actions refused."""
        if self.limits.apm_caps:
            window = window_counts(self.state, now, self.limits.apm_caps[0])[:, player]
        else:
            window = torch.zeros_like(now, dtype=torch.long)
        return {"apm_window_actions": window, "apm_refused": self.state.refused[:, player]}


@dataclasses.dataclass
class FairnessLayer:
    """The limits of a run over one batch of games: the delay queue and the APM caps, side by side."""

    limits: Limits
    delay: ActionDelay
    apm: ApmLimit

    @staticmethod
    def from_limits(limits: Limits, *, num_envs: int, num_players: int, device: torch.device) -> "FairnessLayer":
        return FairnessLayer(limits=limits, delay=ActionDelay(limits.delay_loops),
                             apm=ApmLimit.empty(limits, num_envs, num_players, device))

    def restart(self) -> None:
        """Every game begins anew: nothing waits, nothing is remembered."""
        self.delay.clear()
        self.apm = ApmLimit.empty(self.limits, *self.apm.state.refused.shape, self.apm.state.refused.device)

    def forget(self, games: torch.Tensor) -> None:
        """Games in `games` [B] begin a new episode: their waiting actions are dropped, their APM history
        forgotten."""
        self.delay.drop(games)
        self.apm.forget(games)


__all__ = ["ActionDelay", "ApmLimit", "FairnessLayer", "PendingActions", "masked"]
