"""CollectMineralShards: the two Marines split the shards between them and each walks its own route.

Routes come from a joint greedy plan: whichever Marine will be free first takes the unclaimed shard nearest to the
end of its route. Each agent step does one thing: give the selected Marine its next shard (a queued Move), or
select the other Marine when it is about to run out of work.
"""

from __future__ import annotations

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.units import INF, ScreenUnits, distances, gather_rows, rank_by
from arena.interface.actions import BatchedAction
from arena.interface.functions import FunctionId

MARINES = 2
QUEUE = 4
"""Orders a unit holds (the engine's order queue)."""
REFERENCE_SIZE = 64
"""The screen size (pixels) the pixel distances below are given for; at other sizes they scale with it."""
SAME_SHARD_PX = 1.0
"""A planned target and a shard this close (screen pixels at REFERENCE_SIZE) are the same shard."""
STEP_PX = 3.0
"""How far a Marine walks in one agent step, in screen pixels at REFERENCE_SIZE: 3.15 / 22.4 * 8 game loops = 1.125
map units."""
SWITCH_STEPS = 6.0
"""Select the other Marine when its work left is below this many agent steps (and the selected one has more)."""


def marine_rows(units: ScreenUnits) -> tuple[torch.Tensor, torch.Tensor]:
    """The feature_units rows [B, 2] of the two Marines, ordered by tag, and whether each is there [B, 2]."""
    rank = rank_by(units.tag, units.own)
    rows = torch.stack([(rank == i).long().argmax(dim=1) for i in range(MARINES)], dim=1)
    present = torch.stack([(rank == i).any(dim=1) for i in range(MARINES)], dim=1)
    return rows, present


def still_there(targets: torch.Tensor, valid: torch.Tensor, shards: torch.Tensor, alive: torch.Tensor,
                same_shard_px: float = SAME_SHARD_PX) -> torch.Tensor:
    """[B, M, K] planned targets [B, M, K, 2] that still have a shard [B, N, 2] within `same_shard_px` of them."""
    B, M, K, _ = targets.shape
    close = (distances(targets.reshape(B, M * K, 2), shards) <= same_shard_px) & alive[:, None, :]
    return valid & close.any(dim=2).reshape(B, M, K)


def compact(plan: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the valid targets of plans [B, M, K, 2] to the front, keeping their order."""
    order = (~valid).long().argsort(dim=2, stable=True)
    return plan.gather(2, order[..., None].expand_as(plan)), valid.gather(2, order)


def route_length(start: torch.Tensor, plan: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Length [B, M] of each Marine's walk from `start` [B, M, 2] through its valid targets [B, M, K, 2], and the
    walk's end [B, M, 2]."""
    end, length = start, torch.zeros(start.shape[:2], device=start.device)
    for k in range(plan.shape[2]):
        step = torch.linalg.vector_norm(plan[:, :, k] - end, dim=-1)
        length = length + torch.where(valid[:, :, k], step, 0.0)
        end = torch.where(valid[:, :, k, None], plan[:, :, k], end)
    return length, end


def next_target(me: torch.Tensor, ends: torch.Tensor, times: torch.Tensor, shards: torch.Tensor, free: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The next shard for Marine `me` [B]: the one that collects the most shards per distance walked (a Move
    collects every shard close to its path), among the shards `me` reaches before the other Marine.

    Both Marines are free at `ends` [B, 2, 2] after walking `times` [B, 2] (pixels); `free` [B, N] are the shards no
    plan claims. Returns (point [B, 2], found [B]).
    """
    other = 1 - me
    my_end, other_end = gather_rows(ends, me), gather_rows(ends, other)
    my_time, other_time = gather_rows(times, me), gather_rows(times, other)
    mine = my_time[:, None] + torch.linalg.vector_norm(shards - my_end[:, None], dim=-1)
    theirs = other_time[:, None] + torch.linalg.vector_norm(shards - other_end[:, None], dim=-1)
    territory = free & (mine <= theirs)
    territory = torch.where(territory.any(dim=1, keepdim=True), territory, free)
    best = torch.where(territory, mine, INF).argmin(dim=1)
    return gather_rows(shards, best), territory.any(dim=1)


class CollectMineralShardsAgent(BatchedAgent):
    """Two Marines, two routes: each walks to the shards it will reach before the other one."""

    name = "scripted-CollectMineralShards"

    def __init__(self) -> None:
        self.plans: torch.Tensor | None = None  # [B, 2, QUEUE, 2] each Marine's planned shards (screen px)
        self.planned: torch.Tensor | None = None  # [B, 2, QUEUE] bool

    def reset(self, num_envs: int) -> None:
        self.plans = None

    def _forget(self, first: torch.Tensor) -> None:
        B, device = first.shape[0], first.device
        if self.plans is None or self.plans.shape[0] != B:
            self.plans = torch.zeros(B, MARINES, QUEUE, 2, device=device)
            self.planned = torch.zeros(B, MARINES, QUEUE, dtype=torch.bool, device=device)
        self.planned = self.planned & ~first[:, None, None]

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        self._forget(first)
        units = ScreenUnits.read(obs)
        B, device = first.shape[0], first.device
        size = int(obs["feature_screen"].shape[-1]) if "feature_screen" in obs else REFERENCE_SIZE
        scale = size / REFERENCE_SIZE
        rows, present = marine_rows(units)
        pos = units.pos.gather(1, rows[..., None].expand(-1, -1, 2))  # [B, 2, 2]
        selected = units.selected.gather(1, rows) & present
        orders = units.order_length.gather(1, rows)
        shards, alive = units.pos, units.neutral
        plans, planned = compact(self.plans, still_there(self.plans, self.planned, shards, alive, SAME_SHARD_PX * scale) & present[..., None])
        work, ends = route_length(pos, plans, planned)  # [B, 2] pixels
        times = torch.where(present, work, INF)

        single = (units.own & units.selected).sum(dim=1) == 1
        me = selected.long().argmax(dim=1)  # the selected Marine where `single`
        other = 1 - me
        my_work, other_work = gather_rows(work, me), gather_rows(work, other)
        low = SWITCH_STEPS * STEP_PX * scale
        other_starving = gather_rows(present, other) & (other_work < low) & (my_work >= low)
        claimed = (distances(shards, plans.reshape(B, -1, 2)) <= SAME_SHARD_PX * scale) & planned.reshape(B, 1, -1)
        free = alive & ~claimed.any(dim=2)
        target, found = next_target(me, ends, times, shards, free)
        room = (gather_rows(orders, me) < QUEUE) & (gather_rows(planned, me).sum(dim=1) < QUEUE)
        append = single & ~other_starving & room & found
        other_has_room = gather_rows(present, other) & (gather_rows(orders, other) < QUEUE)

        queued = gather_rows(planned, me).any(dim=1)
        slot = gather_rows(planned, me).sum(dim=1).clamp(max=QUEUE - 1)
        writes = append[:, None, None] & (torch.arange(MARINES, device=device)[None, :, None] == me[:, None, None]) & (
            torch.arange(QUEUE, device=device)[None, None, :] == slot[:, None, None])
        self.plans = torch.where(writes[..., None], target[:, None, None], plans)
        self.planned = planned | writes

        neediest = times.argmin(dim=1)
        return commands.choose([
            (~single & present.any(dim=1), commands.select_point(gather_rows(pos, neediest), size)),
            (append, commands.screen_command(FunctionId.Move_screen, target, size, queued=queued)),
            (single & other_has_room, commands.select_point(gather_rows(pos, other), size)),
        ], commands.no_op(B, device))


ARRIVING_STEPS = 3.0
"""`scripted:voronoi` takes a walking Marine to be arriving when a shard lies within this many agent steps of it,
and queues its next shard then."""


class VoronoiShardsAgent(BatchedAgent):
    """CollectMineralShards without memory (`scripted:voronoi`): each Marine works the shards of its own territory
    (those nearer to it than to the other Marine). Each agent step does one thing: an idle selected Marine walks to
    its nearest shard; a selected Marine arriving at a shard (one within ARRIVING_STEPS, with no order queued) gets
    the shard nearest to that one queued behind it; otherwise the other Marine is selected when it stands idle or is
    arriving. Everything it reads is in the present observation (positions, which Marine is selected, how many
    orders each holds), so a policy can clone it; the scripted agent's planned routes live in its memory."""

    name = "scripted-CollectMineralShards-voronoi"

    def reset(self, num_envs: int) -> None:
        pass

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        units = ScreenUnits.read(obs)
        B, device = first.shape[0], first.device
        size = int(obs["feature_screen"].shape[-1]) if "feature_screen" in obs else REFERENCE_SIZE
        rows, present = marine_rows(units)
        pos = units.pos.gather(1, rows[..., None].expand(-1, -1, 2))  # [B, 2, 2]
        selected = units.selected.gather(1, rows) & present
        orders = units.order_length.gather(1, rows)
        idle = (orders == 0) & present
        away = torch.where(present[..., None], distances(pos, units.pos), INF)  # [B, 2, U] Marine to every unit
        to_shard, shard_row = torch.where(units.neutral[:, None], away, INF).min(dim=2)  # [B, 2] its nearest shard
        arriving = (orders == 1) & (to_shard <= ARRIVING_STEPS * STEP_PX * size / REFERENCE_SIZE)
        single = selected.sum(dim=1) == 1
        me = selected.long().argmax(dim=1)
        other = 1 - me
        mine = units.neutral & (gather_rows(away, me) <= gather_rows(away, other))
        mine = torch.where(mine.any(dim=1, keepdim=True), mine, units.neutral)
        target = gather_rows(units.pos, torch.where(mine, gather_rows(away, me), INF).argmin(dim=1))
        here_row = gather_rows(shard_row, me)  # the shard the selected Marine is arriving at
        later = units.neutral & (torch.arange(units.pos.shape[1], device=device)[None] != here_row[:, None])
        later = torch.where((mine & later).any(dim=1, keepdim=True), mine & later, later)
        from_here = distances(gather_rows(units.pos, here_row)[:, None], units.pos)[:, 0]
        after = gather_rows(units.pos, torch.where(later, from_here, INF).argmin(dim=1))
        move = single & gather_rows(idle, me) & mine.any(dim=1)
        queue = single & gather_rows(arriving, me) & later.any(dim=1)
        switch = single & (gather_rows(idle, other) | gather_rows(arriving, other))
        neediest = (~idle).long().argmin(dim=1)
        return commands.choose([
            (~single & present.any(dim=1), commands.select_point(gather_rows(pos, neediest), size)),
            (move, commands.screen_command(FunctionId.Move_screen, target, size)),
            (queue, commands.screen_command(FunctionId.Move_screen, after, size, queued=True)),
            (switch, commands.select_point(gather_rows(pos, other), size)),
        ], commands.no_op(B, device))
