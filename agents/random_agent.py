"""A batched version of pysc2's RandomAgent: a uniformly random available function, then uniformly random values
for every argument (pysc2 `agents/random_agent.py`)."""

from __future__ import annotations

import dataclasses

import torch

from agents.base import BatchedAgent
from arena.interface.actions import BatchedAction

CATEGORICAL_SIZES = {"queued": 2, "select_point_act": 4, "select_add": 2, "control_group_act": 5,
                     "control_group_id": 10, "select_worker": 4}
"""pysc2's sizes of the categorical argument types (`lib/actions.py` TYPES)."""
POINT_ARGUMENTS = {"screen": "feature_screen", "screen2": "feature_screen", "minimap": "feature_minimap"}
"""Point arguments and the observation whose size they take when it is there."""


def uniform_available(available: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """[B, F] bool -> [B] one uniformly random True column per row (0 for a row without any).

    Draws one number per row and finds the chosen column by a running count, which is many times cheaper than
    torch.multinomial over the whole [B, F] mask (that draws an exponential per entry); the count runs only over
    the columns some row has (a few dozen of pysc2's 573 functions)."""
    counts = available.sum(dim=1)
    draw = torch.rand(counts.shape, generator=generator, device=available.device)
    pick = (draw * counts).long().clamp(max=(counts - 1).clamp(min=0))
    columns = available.any(dim=0).nonzero()[:, 0]
    if columns.numel() == 0:
        return torch.zeros_like(counts)
    index = (available[:, columns].int().cumsum(dim=1) > pick[:, None]).int().argmax(dim=1)
    return torch.where(counts > 0, columns[index], 0)


class RandomAgent(BatchedAgent):
    """Uniform over each game's available function ids, then uniform over every argument's values.

    Args:
        seed: seeds the agent's own `torch.Generator` (the same seed gives the same actions for the same
            observations).
        screen_size: screen pixels per side, used when the observation has no feature_screen to read it from.
        minimap_size: minimap pixels per side, likewise.
    """

    name = "random"

    def __init__(self, *, seed: int = 0, screen_size: int = 64, minimap_size: int = 64):
        self.seed = seed
        self.sizes = {"feature_screen": screen_size, "feature_minimap": minimap_size}
        self.generator = torch.Generator().manual_seed(seed)

    def _size(self, obs: dict[str, torch.Tensor], key: str) -> int:
        return int(obs[key].shape[-1]) if key in obs else self.sizes[key]

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        available = obs["available_actions"].bool()
        B, device = available.shape[0], available.device
        # Sampled on the CPU with the agent's generator, so the stream does not depend on the device.
        function = uniform_available(available.cpu(), self.generator)
        arguments = {}
        for field in dataclasses.fields(BatchedAction):
            if field.name in POINT_ARGUMENTS:
                size = self._size(obs, POINT_ARGUMENTS[field.name])
                arguments[field.name] = torch.randint(size, (B, 2), generator=self.generator)
            elif field.name in CATEGORICAL_SIZES:
                arguments[field.name] = torch.randint(CATEGORICAL_SIZES[field.name], (B,), generator=self.generator)
        return BatchedAction.make(function, batch=B, **arguments).to(device)
