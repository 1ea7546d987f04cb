"""What scripted agents read from a batched observation's `feature_units`: positions, sides, health, selection.

Rows are unit slots [B, U]; `exists` marks the rows that are units on the screen. Positions are screen pixels
(float, the unit's pixel centre); pysc2 floors the coordinates, so +0.5 gives the pixel's centre.
"""

from __future__ import annotations

import dataclasses

import torch

from arena.interface.features import PlayerRelative
from arena.interface.unit_list import FeatureUnit

INF = float("inf")


@dataclasses.dataclass(frozen=True)
class ScreenUnits:
    """The on-screen units of B games."""

    exists: torch.Tensor  # [B, U] bool
    pos: torch.Tensor  # [B, U, 2] float, screen pixels (x, y) of the unit's pixel centre
    alliance: torch.Tensor  # [B, U] long, pysc2 player_relative
    unit_type: torch.Tensor  # [B, U] long, pysc2 unit type id
    health: torch.Tensor  # [B, U] float
    selected: torch.Tensor  # [B, U] bool
    tag: torch.Tensor  # [B, U] float
    order_length: torch.Tensor  # [B, U] long
    weapon_cooldown: torch.Tensor  # [B, U] float, game loops
    order_ids: torch.Tensor  # [B, U, 2] long, pysc2 ability ids of the first two orders (0 for none)

    @staticmethod
    def read(obs: dict[str, torch.Tensor]) -> "ScreenUnits":
        """Read `feature_units` and `feature_units_mask` of a batched observation."""
        table, exists = obs["feature_units"], obs["feature_units_mask"].bool()

        def column(c: FeatureUnit) -> torch.Tensor:
            return table[..., int(c)]

        pos = torch.stack([column(FeatureUnit.x), column(FeatureUnit.y)], dim=-1) + 0.5
        return ScreenUnits(
            exists=exists, pos=pos, alliance=column(FeatureUnit.alliance).long(),
            unit_type=column(FeatureUnit.unit_type).long(), health=column(FeatureUnit.health),
            selected=column(FeatureUnit.is_selected) > 0, tag=column(FeatureUnit.tag),
            order_length=column(FeatureUnit.order_length).long(),
            weapon_cooldown=column(FeatureUnit.weapon_cooldown),
            order_ids=torch.stack([column(FeatureUnit.order_id_0), column(FeatureUnit.order_id_1)], dim=-1).long())

    @property
    def own(self) -> torch.Tensor:
        """[B, U] own units."""
        return self.exists & (self.alliance == PlayerRelative.SELF)

    @property
    def enemy(self) -> torch.Tensor:
        """[B, U] enemy units."""
        return self.exists & (self.alliance == PlayerRelative.ENEMY)

    @property
    def neutral(self) -> torch.Tensor:
        """[B, U] neutral units (beacons, mineral shards)."""
        return self.exists & (self.alliance == PlayerRelative.NEUTRAL)


def centroid(pos: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, 2] mean of the points `pos` [B, N, 2] in `mask` [B, N] (zeros where none is)."""
    weight = mask.float()[..., None]
    return (pos * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1.0)


def distances(points: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """[B, K, N] distances from `points` [B, K, 2] to `pos` [B, N, 2]."""
    return torch.linalg.vector_norm(points[:, :, None, :] - pos[:, None, :, :], dim=-1)


def nearest(point: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The row of `pos` [B, N, 2] in `mask` [B, N] nearest to `point` [B, 2]: (index [B], found [B])."""
    dist = distances(point[:, None], pos)[:, 0]
    return torch.where(mask, dist, INF).argmin(dim=1), mask.any(dim=1)


def gather_rows(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values [B, N, ...] at `index` [B] -> [B, ...]."""
    shape = (values.shape[0], 1) + values.shape[2:]
    return values.gather(1, index.reshape(-1, *([1] * (values.dim() - 1))).expand(shape)).squeeze(1)


def rank_by(key: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, N] each masked row's place (0, 1, ...) in ascending order of `key` [B, N]; -1 outside the mask."""
    order = torch.where(mask, key, INF).argsort(dim=1, stable=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(key.shape[1], device=key.device).expand_as(order))
    return torch.where(mask, rank, -1)
