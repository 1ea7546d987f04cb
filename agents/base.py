"""What a batched agent is: it sees B observations at once and answers with one `BatchedAction`."""

from __future__ import annotations

import abc

import torch

from arena.interface.actions import BatchedAction


class BatchedAgent(abc.ABC):
    """An agent for the batched environment. Observations are dicts of tensors [B, ...] with pysc2's names."""

    name: str = "agent"

    def reset(self, num_envs: int) -> None:
        """Called before the first step of a batch of games; forget any memory."""

    @abc.abstractmethod
    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        """One action per game. `first` [B] bool marks games whose episode just began (forget their memory)."""
