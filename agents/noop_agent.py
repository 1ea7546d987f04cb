"""The agent that never acts: no_op in every game, every step (a baseline, and a stand-in opponent)."""

from __future__ import annotations

import torch

from agents.base import BatchedAgent
from arena.interface.actions import BatchedAction


class NoopAgent(BatchedAgent):
    """Always no_op."""

    name = "noop"

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        available = obs["available_actions"]
        return BatchedAction.no_op(available.shape[0], available.device)
