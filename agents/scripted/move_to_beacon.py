"""MoveToBeacon: select the Marine, then walk it to the beacon."""

from __future__ import annotations

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.units import ScreenUnits, centroid
from arena.interface.actions import BatchedAction
from arena.interface.features import PlayerRelative
from arena.interface.functions import FunctionId
from arena.interface.view import SCREEN_LAYERS

PLAYER_RELATIVE = SCREEN_LAYERS.index("player_relative")


def beacon_on_screen(obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The beacon's screen pixel [B, 2] and whether it is seen [B]: the neutral unit in feature_units, else the
    centre of the neutral pixels of the screen's player_relative layer."""
    units = ScreenUnits.read(obs)
    from_units = centroid(units.pos, units.neutral)
    found = units.neutral.any(dim=1)
    if "feature_screen" not in obs:
        return from_units, found
    neutral = obs["feature_screen"][:, PLAYER_RELATIVE] == PlayerRelative.NEUTRAL  # [B, H, W]
    H, W = neutral.shape[1:]
    ys, xs = torch.meshgrid(torch.arange(H, device=neutral.device), torch.arange(W, device=neutral.device),
                            indexing="ij")
    grid = torch.stack([xs, ys], dim=-1).reshape(1, H * W, 2).float() + 0.5
    from_layer = centroid(grid.expand(neutral.shape[0], -1, -1), neutral.reshape(-1, H * W))
    return torch.where(found[:, None], from_units, from_layer), found | neutral.flatten(1).any(dim=1)


class MoveToBeaconAgent(BatchedAgent):
    """select_army while the Marine is not selected, then Move_screen to the beacon's centre."""

    name = "scripted-MoveToBeacon"

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        units = ScreenUnits.read(obs)
        B, device = units.exists.shape[0], units.exists.device
        size = int(obs["feature_screen"].shape[-1]) if "feature_screen" in obs else 64
        beacon, seen = beacon_on_screen(obs)
        selected = (units.own & units.selected).any(dim=1)
        available = obs["available_actions"]
        can_move = available[:, int(FunctionId.Move_screen)]
        return commands.choose([
            (~selected & available[:, int(FunctionId.select_army)], commands.select_army(B, device)),
            (selected & can_move & seen, commands.screen_command(FunctionId.Move_screen, beacon, size)),
        ], commands.no_op(B, device))
