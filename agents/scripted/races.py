"""The two-player races (BeaconRace, ShardRace): the mini-game agents, plus what a race against another player needs.

- Fog of war: the screen shows the whole playable area, but a beacon or shard beyond the Marines' sight is not on it.
  While none is in sight, the Marines walk towards the middle of the pathable pixels they do not see.
- Fights: none. The other player's Marines are enemies, and an idle enemy Marine shoots and chases a racer that walks
  by (a walking Marine does not shoot back), but a dead Marine comes back at once at its start, so a duel costs both
  players time: racers that stopped to shoot close enemies scored far less, against idle Marines and against
  themselves (a mirror match then became an endless duel by the first beacon: 0 beacons each).
- Collisions: two Marines that walk head-on into each other along a line push straight back and never slide past; in
  the mirrored races, the same agent in both seats does exactly that when their routes cross the centre line. A
  Marine that has an order but did not move in a step while an enemy touches it steps aside, to its right of the
  enemy (the other one, doing the same, steps the other way), for one agent step.

Each plays either seat: it reads only its own player's observation, where its Marines are SELF.
"""

from __future__ import annotations

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.collect_mineral_shards import CollectMineralShardsAgent
from agents.scripted.find_and_defeat_zerglings import pixel_grid
from agents.scripted.move_to_beacon import beacon_on_screen
from agents.scripted.units import INF, ScreenUnits, centroid, distances, gather_rows
from arena.interface.actions import BatchedAction
from arena.interface.fog import Visibility
from arena.interface.functions import FunctionId
from arena.interface.view import SCREEN_LAYERS

VISIBILITY = SCREEN_LAYERS.index("visibility_map")
PATHABLE = SCREEN_LAYERS.index("pathable")
PX_PER_UNIT = 64 / 24
"""Screen pixels per map unit at the default screen size (64) and camera width (24); scaled for other sizes."""
STUCK_PX = 0.3 * PX_PER_UNIT
"""A Marine with an order that moved less than this in an agent step (it walks 1.1 map units) is stuck..."""
TOUCH_PX = 1.0 * PX_PER_UNIT
"""...when an enemy is this close (two Marines touch at 0.75)."""
SIDESTEP_PX = 2.0 * PX_PER_UNIT


def search_point(obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The centre of the pathable screen pixels out of sight: (pixel [B, 2], whether there are any [B])."""
    screen = obs["feature_screen"]
    unseen = (screen[:, PATHABLE] > 0) & (screen[:, VISIBILITY] != int(Visibility.VISIBLE))
    B, H, W = unseen.shape
    grid = pixel_grid(H, W, unseen.device)[None].expand(B, -1, -1)
    return centroid(grid, unseen.reshape(B, -1)), unseen.flatten(1).any(dim=1)


class Unstuck:
    """Remembers where the own units were a step ago and finds one stuck against an enemy."""

    def __init__(self) -> None:
        self.pos: torch.Tensor | None = None  # [B, U, 2] last step's positions (screen pixels)
        self.tag: torch.Tensor | None = None  # [B, U] last step's tags

    def find(self, units: ScreenUnits, first: torch.Tensor, scale: float
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(row [B] of a stuck own unit, found [B], its sidestep point [B, 2] in screen pixels)."""
        if self.pos is None or self.pos.shape != units.pos.shape:
            self.pos, self.tag = units.pos.clone(), torch.full_like(units.tag, -1.0)
        same = units.own & (units.tag == self.tag) & ~first[:, None] & (units.order_length > 0)
        still = same & (torch.linalg.vector_norm(units.pos - self.pos, dim=-1) < STUCK_PX * scale)
        self.pos, self.tag = units.pos.clone(), torch.where(units.exists, units.tag, -1.0)
        gap = torch.where(units.enemy[:, None, :], distances(units.pos, units.pos), INF)  # [B, own, enemy]
        near, blocker = gap.min(dim=2)
        stuck = still & (near <= TOUCH_PX * scale)
        row = stuck.long().argmax(dim=1)
        towards = gather_rows(units.pos, gather_rows(blocker, row)) - gather_rows(units.pos, row)
        towards = towards / torch.linalg.vector_norm(towards, dim=-1, keepdim=True).clamp(min=1e-6)
        # Screen y points down: (x, y) -> (-y, x) is to the right of the enemy as the unit faces it.
        right = torch.stack([-towards[:, 1], towards[:, 0]], dim=-1)
        return row, stuck.any(dim=1), gather_rows(units.pos, row) + right * SIDESTEP_PX * scale


class BeaconRaceAgent(BatchedAgent):
    """Select the Marine; step aside when stuck; walk to the beacon, or search for it."""

    name = "scripted-BeaconRace"

    def __init__(self) -> None:
        self.unstuck = Unstuck()

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        units = ScreenUnits.read(obs)
        B, device = first.shape[0], first.device
        size = int(obs["feature_screen"].shape[-1])
        scale = size / 64
        beacon, seen = beacon_on_screen(obs)
        search, unseen = search_point(obs)
        _, stuck, aside = self.unstuck.find(units, first, scale)
        selected = (units.own & units.selected).any(dim=1)
        can = obs["available_actions"].bool()
        can_move = selected & can[:, int(FunctionId.Move_screen)]
        move = lambda point: commands.screen_command(FunctionId.Move_screen, point, size)  # noqa: E731
        return commands.choose([
            (~selected & can[:, int(FunctionId.select_army)], commands.select_army(B, device)),
            (stuck & can_move, move(aside)),
            (seen & can_move, move(beacon)),
            (unseen & can_move, move(search)),
        ], commands.no_op(B, device))


class ShardRaceAgent(CollectMineralShardsAgent):
    """CollectMineralShards' agent (two routes over the shards in sight), with the search and the sidesteps of a race.
    Whenever it gives an order of its own, the routes are planned again afterwards."""

    name = "scripted-ShardRace"

    def __init__(self) -> None:
        super().__init__()
        self.unstuck = Unstuck()

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        units = ScreenUnits.read(obs)
        B, device = first.shape[0], first.device
        size = int(obs["feature_screen"].shape[-1])
        scale = size / 64
        row, stuck, aside = self.unstuck.find(units, first, scale)
        search, unseen = search_point(obs)
        planned = super().act(obs, first)
        own_selected = units.own & units.selected
        all_selected = ~(units.own & ~units.selected).any(dim=1)
        stuck_alone = stuck & (own_selected.sum(dim=1) == 1) & gather_rows(own_selected, row)
        none_seen = ~units.neutral.any(dim=1) & units.own.any(dim=1)
        can = obs["available_actions"].bool()
        can_move = can[:, int(FunctionId.Move_screen)]
        select_all = none_seen & ~stuck & ~all_selected & can[:, int(FunctionId.select_army)]
        sidestep = stuck_alone & can_move
        wander = ~stuck & none_seen & all_selected & unseen & can_move
        self.planned = self.planned & ~(sidestep | wander)[:, None, None]
        return commands.choose([
            (select_all, commands.select_army(B, device)),
            (stuck & ~stuck_alone, commands.select_point(gather_rows(units.pos, row), size)),
            (sidestep, commands.screen_command(FunctionId.Move_screen, aside, size)),
            (wander, commands.screen_command(FunctionId.Move_screen, search, size)),
        ], planned)
