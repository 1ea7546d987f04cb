"""CounterPick (arena/scenarios/counter_pick.py): pick an army, then fight it as the battles' scripted agent does.

The pick: a given composition, or one drawn at random per episode (`scripted` on the command line draws;
`scripted:zerglings`, `scripted:roaches`, `scripted:banelings` always pick that army). The agent orders its
Overlord (selected at the start) onto the beacon of its pick: the three beacons on the screen, top to bottom, are
Zerglings, Roaches, Banelings. The fight: agents/scripted/army.ArmyAgent (attack-move towards the enemy under fog,
focus fire where every unit reaches the target), started afresh when the army appears.
The agent plays either seat: it reads only its own player's observation.
"""

from __future__ import annotations

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.army import ArmyAgent
from agents.scripted.units import ScreenUnits, gather_rows, rank_by
from arena.interface.actions import BatchedAction
from arena.interface.features import PlayerRelative
from arena.interface.functions import FunctionId
from arena.scenarios.counter_pick import Composition
from arena.sim.units import UNIT_SPECS, UnitType

CHOOSER_ID = UNIT_SPECS[UnitType.OVERLORD].pysc2_id
BEACON_ID = UNIT_SPECS[UnitType.BEACON].pysc2_id


def composition_named(name: str) -> Composition:
    """"zerglings" -> Composition.ZERGLINGS (any case).

    Raises:
        ValueError: no composition has that name (the message lists them).
    """
    try:
        return Composition[name.upper()]
    except KeyError:
        known = ", ".join(c.name.lower() for c in Composition)
        raise ValueError(f"unknown composition {name!r}; known: {known}") from None


def zone_of(units: ScreenUnits, pick: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The screen point [B, 2] of the beacon for `pick` [B] (beacons top to bottom in Composition order) and
    whether it is on the screen [B]."""
    beacons = units.neutral & (units.unit_type == BEACON_ID)
    rank = rank_by(units.pos[..., 1], beacons)  # screen y grows downwards: rank 0 is the top beacon
    row = (rank == pick[:, None]).long().argmax(dim=1)
    return gather_rows(units.pos, row), (rank == pick[:, None]).any(dim=1)


class CounterPickAgent(BatchedAgent):
    """Move_screen the Overlord to the pick's beacon, then the battles' scripted army agent."""

    name = "scripted-counter-pick"

    def __init__(self, *, composition: Composition | None = None, seed: int = 0) -> None:
        self.composition = composition
        """The army to pick; None: one at random per episode."""
        self.generator = torch.Generator().manual_seed(seed)
        self.army = ArmyAgent()
        self.pick: torch.Tensor | None = None  # [B] long Composition of each game's episode
        self.fighting: torch.Tensor | None = None  # [B] bool: the army agent has taken over

    def reset(self, num_envs: int) -> None:
        self.army.reset(num_envs)
        self.pick = self.fighting = None

    def draw(self, batch: int) -> torch.Tensor:
        """[B] long: the given composition, or random ones."""
        if self.composition is not None:
            return torch.full((batch,), int(self.composition), dtype=torch.long)
        return torch.randint(len(Composition), (batch,), generator=self.generator)

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        B, device = first.shape[0], first.device
        if self.pick is None or self.pick.shape[0] != B:
            self.pick, self.fighting, first = self.draw(B), torch.zeros(B, dtype=torch.bool), torch.ones_like(first)
        self.pick = torch.where(first.cpu(), self.draw(B), self.pick)
        units = ScreenUnits.read(obs)
        chooser = units.own & (units.unit_type == CHOOSER_ID)
        choosing = chooser.any(dim=1)
        ordered = (chooser & (units.order_length > 0)).any(dim=1)
        zone, seen = zone_of(units, self.pick.to(device))
        can_move = obs["available_actions"].bool()[:, int(FunctionId.Move_screen)]
        begins = (~choosing & (first | ~self.fighting.to(device)))
        fight = self.army.act(obs, begins)
        self.fighting = (~choosing).cpu()
        size = int(obs["feature_screen"].shape[-1])
        return commands.choose([
            (choosing & ~ordered & seen & can_move, commands.screen_command(FunctionId.Move_screen, zone, size)),
            (choosing, commands.no_op(B, device)),
        ], fight)


__all__ = ["CounterPickAgent", "composition_named", "zone_of"]
