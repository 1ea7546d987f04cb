"""A scripted Terran economy for the economy mini-games, played one pysc2 action a step.

Each step the agent does the first thing that is due, in this order: finish what it selected a unit for last step
(place a structure, send a worker to a resource), give idle workers a resource, train from producers whose queue
is running out, place the structures the plan wants (Supply Depots before supply runs out, then the scenario's
Refineries or Barracks), move workers to a resource where they earn more. Spending keeps a reserve for the more
urgent wants, so a wanted structure is not starved by cheaper units.

Workers go where one more worker adds the most income. The income model: a worker's trip takes the mining time,
the handling pause and the walk to the nearest town hall and back (its edge distance at SCV speed); a resource
yields at most one load per mining time, since one worker mines it at a time. Which worker mines what the agent
remembers itself (pysc2's feature_units do not say), by unit tag.

Everything is on one screen in these mini-games, so the agent reads `feature_units` and never moves the camera.
"""

from __future__ import annotations

import dataclasses
import enum

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from arena.interface.actions import BatchedAction
from arena.interface.features import PlayerRelative
from arena.interface.functions import ActionResult, FunctionId
from arena.interface.unit_list import FeatureUnit

# pysc2 unit type ids.
SCV, MARINE, COMMAND_CENTER, SUPPLY_DEPOT, REFINERY, BARRACKS = 45, 48, 18, 19, 20, 21
MINERAL_FIELD, VESPENE_GEYSER = 341, 342
STRUCTURES = (COMMAND_CENTER, SUPPLY_DEPOT, REFINERY, BARRACKS)
FOOTPRINT = {COMMAND_CENTER: 5.0, SUPPLY_DEPOT: 2.0, REFINERY: 3.0, BARRACKS: 3.0}
"""Structure sides in map cells (the game's footprints; all square)."""
COST = {SCV: 50.0, MARINE: 50.0, SUPPLY_DEPOT: 100.0, REFINERY: 75.0, BARRACKS: 150.0, COMMAND_CENTER: 400.0}
LOOPS_PER_SECOND = 22.4
TRAIN_LOOPS = {SCV: 12.0 * LOOPS_PER_SECOND, MARINE: 18.0 * LOOPS_PER_SECOND}
"""Training times (units.md, real seconds at faster)."""
BUILD_FUNCTION = {SUPPLY_DEPOT: FunctionId.Build_SupplyDepot_screen, REFINERY: FunctionId.Build_Refinery_screen,
                  BARRACKS: FunctionId.Build_Barracks_screen, COMMAND_CENTER: FunctionId.Build_CommandCenter_screen}
TRAIN_FUNCTION = {SCV: FunctionId.Train_SCV_quick, MARINE: FunctionId.Train_Marine_quick}
PRODUCER = {SCV: COMMAND_CENTER, MARINE: BARRACKS}
SUPPLY_PROVIDED = {COMMAND_CENTER: 15.0, SUPPLY_DEPOT: 8.0}

# The income model (units.md, economy; arena.sim.economy's calibrated timings), in real seconds and map units.
SCV_SPEED = 3.94
HANDLING_S = 0.36 + 1.9
MINE_S = {MINERAL_FIELD: 1.99, REFINERY: 1.4}
LOAD = {MINERAL_FIELD: 5.0, REFINERY: 4.0}
RADIUS = {COMMAND_CENTER: 2.75, MINERAL_FIELD: 0.75, REFINERY: 1.6875}
SMOOTHNESS = 6.0
"""Exponent of the smooth minimum in `income`."""
CAMERA_WIDTH = 24.0
"""Map units the screen spans (pysc2's default)."""
EXTRA_WORKERS = 6
"""How many more workers per resource the income model looks ahead."""
PENDING_LOOPS = 25.0 * LOOPS_PER_SECOND
"""A structure ordered but not placed within 25 s is given up (its worker was refused at the site)."""
MOVE_GAIN = 0.12
"""Move a worker when it would earn at least this much more (resources per second) elsewhere."""


BUILDER = -2
"""`Memory.assign` of a worker sent to build (until it is idle again)."""


class Intent(enum.IntEnum):
    """What the agent selected a unit for (carried to the next step)."""

    NONE = 0
    GATHER = 1
    BUILD = 2
    """BUILD + index in the plan's structure list: place that structure."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """A scenario's build: which structures, where, and how many workers and producers it wants."""

    structures: tuple[int, ...]
    """pysc2 unit types the agent builds, in priority order after Supply Depots (SUPPLY_DEPOT first)."""
    sites: dict[int, tuple[tuple[float, float], ...]]
    """Map positions (footprint centres) for each structure type, tried in order; Refineries: geyser centres."""
    wanted: dict[int, tuple[tuple[float, int], ...]]
    """For each structure besides depots: (workers, count) steps: once the agent has that many workers it wants
    that many of the structure."""
    max_workers: int
    """Train SCVs up to this many workers (they also have to earn their cost before the end)."""
    worker_payback: float
    """Train an SCV only if it will collect at least this many resources before the episode ends."""
    episode_loops: int
    marines: bool = False
    """Train Marines from every Barracks without pause."""


@dataclasses.dataclass(frozen=True)
class View:
    """What the agent reads from one batched observation, in map units."""

    exists: torch.Tensor  # [B, U] bool
    own: torch.Tensor  # [B, U] bool
    kind: torch.Tensor  # [B, U] long, pysc2 unit type id
    pos: torch.Tensor  # [B, U, 2] map units
    px: torch.Tensor  # [B, U, 2] screen pixels of the unit's centre
    tag: torch.Tensor  # [B, U] float
    selected: torch.Tensor  # [B, U] bool
    idle: torch.Tensor  # [B, U] bool, no orders
    done: torch.Tensor  # [B, U] bool, finished (build progress 100 %)
    contents: torch.Tensor  # [B, U] float, minerals or gas left
    minerals: torch.Tensor  # [B] float
    food_used: torch.Tensor  # [B] float
    food_cap: torch.Tensor  # [B] float
    idle_workers: torch.Tensor  # [B] float
    loop: torch.Tensor  # [B] long
    last_result: torch.Tensor  # [B] long
    screen: int

    @staticmethod
    def read(obs: dict[str, torch.Tensor]) -> "View":
        table, exists = obs["feature_units"], obs["feature_units_mask"].bool()
        screen = int(obs["feature_screen"].shape[-1]) if "feature_screen" in obs else 64

        def column(c: FeatureUnit) -> torch.Tensor:
            return table[..., int(c)]

        px = torch.stack([column(FeatureUnit.x), column(FeatureUnit.y)], dim=-1) + 0.5
        player = obs["player"]
        return View(
            exists=exists, own=exists & (column(FeatureUnit.alliance) == PlayerRelative.SELF),
            kind=column(FeatureUnit.unit_type).long(), pos=to_world(px, obs["camera"], screen), px=px,
            tag=column(FeatureUnit.tag), selected=exists & (column(FeatureUnit.is_selected) > 0),
            idle=column(FeatureUnit.order_length) == 0, done=column(FeatureUnit.build_progress) >= 100,
            contents=column(FeatureUnit.mineral_contents) + column(FeatureUnit.vespene_contents),
            minerals=player[:, 1], food_used=player[:, 3], food_cap=player[:, 4], idle_workers=player[:, 7],
            loop=obs["game_loop"].reshape(-1).long(), last_result=obs["action_result"].reshape(-1).long(),
            screen=screen)

    def of(self, kind: int, own: bool = True) -> torch.Tensor:
        """[B, U] the units of a type (own, or anybody's)."""
        return (self.own if own else self.exists) & (self.kind == kind)

    @property
    def workers(self) -> torch.Tensor:
        return self.of(SCV)


def to_world(px: torch.Tensor, camera: torch.Tensor, screen: int) -> torch.Tensor:
    """Screen pixels [B, N, 2] -> map units, for the camera centre [B, 2] (y is up on the map, down on screen)."""
    scale = screen / CAMERA_WIDTH
    offset = (px - screen / 2) / scale
    return torch.stack([camera[:, None, 0] + offset[..., 0], camera[:, None, 1] - offset[..., 1]], dim=-1)


def to_screen(pos: torch.Tensor, camera: torch.Tensor, screen: int) -> torch.Tensor:
    """Map units [B, 2] -> the screen pixel [B, 2] (float) that holds them."""
    scale = screen / CAMERA_WIDTH
    return torch.stack([(pos[:, 0] - camera[:, 0]) * scale + screen / 2,
                        (camera[:, 1] - pos[:, 1]) * scale + screen / 2], dim=-1)


def row_of(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first row of `mask` [B, U]: (row [B], found [B])."""
    return mask.long().argmax(dim=1), mask.any(dim=1)


def at_rows(values: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
    """values [B, U, ...] at row [B] -> [B, ...]."""
    shape = (values.shape[0], 1) + values.shape[2:]
    return values.gather(1, row.reshape(-1, *([1] * (values.dim() - 1))).expand(shape)).squeeze(1)


def at_rows_2d(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values [B, U] at index [B, N] (-1: none, giving False / 0) -> [B, N]."""
    picked = values.gather(1, index.clamp(min=0))
    return torch.where(index >= 0, picked, torch.zeros_like(picked))


def first_case(conditions: list[torch.Tensor]) -> torch.Tensor:
    """[B] the index of the first condition [B] that holds, len(conditions) where none does."""
    index = torch.full_like(conditions[0], len(conditions), dtype=torch.long)
    for i in reversed(range(len(conditions))):
        index = torch.where(conditions[i], i, index)
    return index


# ---------------------------------------------------------------------------------------------------------------
# The income model.

def resource_rows(view: View) -> torch.Tensor:
    """[B, U] what workers can gather: mineral fields and own finished Refineries with something left."""
    fields = view.of(MINERAL_FIELD, own=False)
    refineries = view.of(REFINERY) & view.done
    return (fields | refineries) & (view.contents > 0)


def worker_rates(view: View) -> tuple[torch.Tensor, torch.Tensor]:
    """(one worker's income [B, U], the resource's most [B, U]) in resources per second at each resource row,
    from the walk to the nearest finished Command Center (0 where there is none)."""
    halls = view.of(COMMAND_CENTER) & view.done
    gap = torch.cdist(view.pos, view.pos)
    to_hall = torch.where(halls[:, None, :], gap, float("inf")).amin(dim=2)  # [B, U]
    gas = view.kind == REFINERY
    radius = torch.where(gas, RADIUS[REFINERY], RADIUS[MINERAL_FIELD])
    walk = (to_hall - RADIUS[COMMAND_CENTER] - radius).clamp(min=0.0)
    mine = torch.where(gas, MINE_S[REFINERY], MINE_S[MINERAL_FIELD])
    load = torch.where(gas, LOAD[REFINERY], LOAD[MINERAL_FIELD])
    trip = mine + HANDLING_S + 2.0 * walk / SCV_SPEED
    usable = resource_rows(view) & halls.any(dim=1, keepdim=True) & torch.isfinite(to_hall)
    return torch.where(usable, load / trip, 0.0), torch.where(usable, load / mine, 0.0)


def income(rate: torch.Tensor, most: torch.Tensor, workers: torch.Tensor) -> torch.Tensor:
    """Income of `workers` (any shape broadcasting with rate and most) at a resource: a smooth minimum of what the
    workers carry and what the resource yields, since workers wait for each other before it is saturated.
    Calibrated on the engine: 8, 16 and 24 workers on 8 fields earn 0.95, 0.94 and 0.81 each a second (units.md:
    a third worker on a field adds little)."""
    carried = (workers * rate).clamp(min=1e-6)
    return torch.where(workers > 0, (carried ** -SMOOTHNESS + most.clamp(min=1e-6) ** -SMOOTHNESS) ** (-1 / SMOOTHNESS),
                       0.0)


def marginal_gains(rate: torch.Tensor, most: torch.Tensor, assigned: torch.Tensor, extra: int) -> torch.Tensor:
    """[B, U, extra] what the (assigned + e + 1)-th worker adds at each resource, e = 0 .. extra - 1."""
    n = assigned[..., None].float() + torch.arange(extra, device=rate.device)
    return income(rate[..., None], most[..., None], n + 1) - income(rate[..., None], most[..., None], n)


def kth_best_gain(gains: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """[B] the gain of the (k + 1)-th best extra worker [B] (workers fill the best resources first)."""
    ordered = gains.flatten(1).sort(dim=1, descending=True).values
    return ordered.gather(1, k.clamp(0, ordered.shape[1] - 1)[:, None]).squeeze(1)


# ---------------------------------------------------------------------------------------------------------------
# Structures and sites.

def boxes(view: View) -> tuple[torch.Tensor, torch.Tensor]:
    """(half sizes [B, U, 2], blocks [B, U]) of everything structures cannot overlap: structures and resources."""
    half = torch.zeros(view.pos.shape, device=view.pos.device)
    for kind, side in FOOTPRINT.items():
        half = torch.where((view.kind == kind)[..., None], side / 2, half)
    half = torch.where((view.kind == VESPENE_GEYSER)[..., None], 1.5, half)
    field = torch.tensor([1.0, 0.5], device=half.device)
    half = torch.where((view.kind == MINERAL_FIELD)[..., None], field, half)
    return half, view.exists & (half[..., 0] > 0)


def free_sites(view: View, sites: torch.Tensor, side: float) -> torch.Tensor:
    """[B, S] the sites [S, 2] where a structure of `side` cells overlaps nothing on the screen."""
    half, blocks = boxes(view)
    gap = (sites[None, :, None, :] - view.pos[:, None, :, :]).abs()  # [B, S, U, 2]
    overlap = (gap < half[:, None] + side / 2 - 0.3).all(dim=-1) & blocks[:, None, :]
    return ~overlap.any(dim=2)


def site_choice(view: View, kind: int, sites: torch.Tensor, bad: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where to place the next `kind`: (map position [B, 2], site index [B], found [B]). Refineries go on the free
    geyser nearest to a Command Center; other structures on the first free site of the plan not marked bad."""
    if kind == REFINERY:
        geysers = view.of(VESPENE_GEYSER, own=False)
        hall, _ = row_of(view.of(COMMAND_CENTER))
        distance = torch.linalg.vector_norm(view.pos - at_rows(view.pos, hall)[:, None], dim=-1)
        row = torch.where(geysers, distance, float("inf")).argmin(dim=1)
        return at_rows(view.pos, row), torch.zeros_like(row), geysers.any(dim=1)
    usable = free_sites(view, sites, FOOTPRINT[kind]) & ~bad[:, :sites.shape[0]]
    index, found = row_of(usable)
    return sites[index], index, found


# ---------------------------------------------------------------------------------------------------------------
# The agent.

@dataclasses.dataclass
class Memory:
    """What the agent remembers between steps, per game."""

    assign: torch.Tensor  # [B, U] long, the resource row each worker row was sent to, -1 none, BUILDER
    assign_tag: torch.Tensor  # [B, U] float, the worker's tag when it was sent (a new unit in the row resets it)
    ready_at: torch.Tensor  # [B, U] float, game loop at which each producer's queue runs out
    intent: torch.Tensor  # [B] long, Intent of the selection made last step
    ordered_at: torch.Tensor  # [B, S] float, game loop a structure of the plan was ordered (-inf: none pending)
    count_at_order: torch.Tensor  # [B, S] long, how many of it there were then
    site_at_order: torch.Tensor  # [B, S] long, the plan site it was ordered on
    bad_site: torch.Tensor  # [B, S, N] bool, sites the game refused
    last_build: torch.Tensor  # [B] long, the plan structure ordered last step, -1 for none

    @staticmethod
    def empty(batch: int, units: int, structures: int, sites: int, device: torch.device) -> "Memory":
        return Memory(
            assign=torch.full((batch, units), -1, dtype=torch.long, device=device),
            assign_tag=torch.zeros(batch, units, device=device),
            ready_at=torch.zeros(batch, units, device=device),
            intent=torch.zeros(batch, dtype=torch.long, device=device),
            ordered_at=torch.full((batch, structures), -float("inf"), device=device),
            count_at_order=torch.zeros(batch, structures, dtype=torch.long, device=device),
            site_at_order=torch.zeros(batch, structures, dtype=torch.long, device=device),
            bad_site=torch.zeros(batch, structures, sites, dtype=torch.bool, device=device),
            last_build=torch.full((batch,), -1, dtype=torch.long, device=device))

    def forget(self, games: torch.Tensor) -> None:
        """Wipe the memory of the games [B] whose episode just began."""
        B, S, N = self.bad_site.shape
        fresh = Memory.empty(B, self.assign.shape[1], S, N, games.device)
        for field in dataclasses.fields(Memory):
            old, new = getattr(self, field.name), getattr(fresh, field.name)
            setattr(self, field.name, torch.where(games.reshape(-1, *([1] * (old.dim() - 1))), new, old))


class EconomyAgent(BatchedAgent):
    """The shared economy: `plan` says what to build; subclasses only choose the plan and their name."""

    name = "scripted-economy"
    plan: Plan

    def __init__(self) -> None:
        self.memory: Memory | None = None
        self._sites = {kind: torch.tensor(self.plan.sites.get(kind, ((0.0, 0.0),)), dtype=torch.float32)
                       for kind in self.plan.structures}
        self._most_sites = max(len(s) for s in self.plan.sites.values())

    def reset(self, num_envs: int) -> None:
        self.memory = None

    def _remember(self, view: View, first: torch.Tensor) -> Memory:
        B, U = view.exists.shape
        device = view.exists.device
        if self.memory is None or self.memory.assign.shape != (B, U):
            self.memory = Memory.empty(B, U, len(self.plan.structures), self._most_sites, device)
        memory = self.memory
        memory.forget(first)
        # Workers that are gone, new in their row, or idle mine nothing; nor do workers of a vanished resource.
        same = view.workers & (memory.assign_tag == view.tag) & ~view.idle
        resource_there = at_rows_2d(resource_rows(view), memory.assign)
        memory.assign = torch.where(same & (resource_there | (memory.assign == BUILDER)), memory.assign, -1)
        # A structure the game refused last step: forget the order, never try that site again.
        refused = (memory.last_build >= 0) & (view.last_result != int(ActionResult.Success))
        hit = refused[:, None] & (torch.arange(len(self.plan.structures), device=device) == memory.last_build[:, None])
        memory.ordered_at = torch.where(hit, -float("inf"), memory.ordered_at)
        site_hit = hit[:, :, None] & (torch.arange(self._most_sites, device=device) == memory.site_at_order[..., None])
        memory.bad_site = memory.bad_site | site_hit
        return memory

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        view = View.read(obs)
        memory = self._remember(view, first)
        camera, loop = obs["camera"], view.loop.float()
        remaining_s = (self.plan.episode_loops - loop) / LOOPS_PER_SECOND
        rate, most = worker_rates(view)
        assigned = torch.zeros_like(rate).scatter_add_(1, memory.assign.clamp(min=0), (memory.assign >= 0).float())
        gains = marginal_gains(rate, most, assigned, EXTRA_WORKERS)

        chosen = view.selected & view.own
        single = chosen.sum(dim=1) == 1
        sel_row, _ = row_of(chosen)
        single_scv = single & (at_rows(view.kind, sel_row) == SCV)

        # The selected worker's best resource, counting it out of the one it mines now.
        own_resource = memory.assign.gather(1, sel_row[:, None]).squeeze(1)
        without_me = assigned - (torch.arange(rate.shape[1], device=rate.device) == own_resource[:, None]).float()
        gain_now = marginal_gains(rate, most, without_me, 1)[..., 0]
        target = torch.where(resource_rows(view), gain_now, -1.0).argmax(dim=1)
        has_target = (resource_rows(view) & (rate > 0)).any(dim=1)

        wants = self._wants(view, memory, gains, assigned, loop, remaining_s)
        cases, actions, updates = self._cases(view, memory, wants, single_scv, sel_row, target, has_target,
                                              gains, assigned, rate, most, camera, remaining_s)
        case = first_case(cases)
        self._update(view, memory, wants, case, updates, sel_row, target, loop)
        return commands.choose(list(zip(cases, actions)), commands.no_op(view.loop.shape[0], view.loop.device))

    def _wants(self, view: View, memory: Memory, gains: torch.Tensor, assigned: torch.Tensor, loop: torch.Tensor,
               remaining_s: torch.Tensor) -> dict:
        """What the plan wants now and can pay for, in priority order (depots, SCVs, structures, Marines), each
        keeping a reserve for those before it."""
        plan, B = self.plan, view.exists.shape[0]
        workers = view.workers.sum(dim=1)
        count = {kind: view.of(kind).sum(dim=1) for kind in STRUCTURES}
        building = {kind: (view.of(kind) & ~view.done).sum(dim=1) for kind in STRUCTURES}
        pending = (loop[:, None] - memory.ordered_at < PENDING_LOOPS) & (
            torch.stack([count[k] for k in plan.structures], dim=1) <= memory.count_at_order)
        memory.ordered_at = torch.where(pending, memory.ordered_at, -float("inf"))

        halls = view.of(COMMAND_CENTER) & view.done
        rax = view.of(BARRACKS) & view.done
        queued_scvs = torch.where(halls, ((memory.ready_at - loop[:, None]).clamp(min=0) / TRAIN_LOOPS[SCV]).ceil(),
                                  0.0).sum(dim=1)
        incoming = (8.0 * building[SUPPLY_DEPOT] + 15.0 * building[COMMAND_CENTER]
                    + 8.0 * pending[:, plan.structures.index(SUPPLY_DEPOT)].float())
        # Supply used up while a depot is walked to and built (about 24 s): an SCV per 12 s, a Marine per 18 s.
        making = 2.0 * halls.sum(dim=1) + (1.4 * rax.sum(dim=1) if plan.marines else 0.0)
        supply_ahead = view.food_cap + incoming - view.food_used
        room = view.food_used + 1 <= view.food_cap

        structure = []
        for i, kind in enumerate(plan.structures):
            site, index, found = site_choice(view, kind, self._sites[kind].to(view.pos.device), memory.bad_site[:, i])
            if kind == SUPPLY_DEPOT:
                want = (view.food_cap + incoming < 200) & (supply_ahead < 1.0 + making)
            else:
                goal = torch.zeros(B, dtype=torch.long, device=loop.device)
                for at_workers, number in plan.wanted[kind]:
                    goal = torch.where(workers >= at_workers, number, goal)
                want = (count[kind] < goal) & (remaining_s > 60.0)
            structure.append((want & found & ~pending[:, i], site, index, count[kind]))

        cc_due = halls & (memory.ready_at - loop[:, None] < TRAIN_LOOPS[SCV])
        spare = (workers - assigned.sum(dim=1)).clamp(min=0) + queued_scvs
        earns = kth_best_gain(gains, spare.long()) * (remaining_s - 15.0)
        want_scv = cc_due.any(dim=1) & room & (workers + queued_scvs < plan.max_workers) & (
            earns >= plan.worker_payback)
        rax_due = rax & (memory.ready_at - loop[:, None] < TRAIN_LOOPS[MARINE])
        want_marine = rax_due.any(dim=1) & room & plan.marines

        # Structures ordered but not placed yet are paid when their worker gets there: keep their cost.
        costs = torch.tensor([COST[k] for k in plan.structures], device=loop.device)
        reserve = (pending.float() * costs).sum(dim=1)
        can = []
        for want, cost in ([(structure[0][0], COST[SUPPLY_DEPOT]), (want_scv, COST[SCV])]
                           + [(s[0], COST[k]) for s, k in zip(structure[1:], plan.structures[1:])]
                           + [(want_marine, COST[MARINE])]):
            affordable = view.minerals - reserve >= cost
            can.append(want & affordable)
            reserve = reserve + torch.where(want & ~affordable, cost, 0.0)
        return {"structure": structure, "can_structure": [can[0]] + can[2:-1], "can_scv": can[1],
                "can_marine": can[-1], "cc_due": cc_due, "rax_due": rax_due}

    def _cases(self, view: View, memory: Memory, wants: dict, single_scv: torch.Tensor, sel_row: torch.Tensor,
               target: torch.Tensor, has_target: torch.Tensor, gains: torch.Tensor, assigned: torch.Tensor,
               rate: torch.Tensor, most: torch.Tensor, camera: torch.Tensor, remaining_s: torch.Tensor
               ) -> tuple[list[torch.Tensor], list[BatchedAction], list[tuple]]:
        """The agent's options in priority order: (conditions [B], actions, what each one changes in memory)."""
        plan, S, B, device = self.plan, view.screen, view.exists.shape[0], view.exists.device
        cases: list[tuple[torch.Tensor, BatchedAction, tuple]] = []

        # Finish what was selected last step.
        intent_build = memory.intent - Intent.BUILD
        for i, kind in enumerate(plan.structures):
            want, site, index, _ = wants["structure"][i]
            ready = (intent_build == i) & single_scv & (view.minerals >= COST[kind])
            pixel = to_screen(site, camera, S)
            cases.append((ready & want, commands.screen_command(BUILD_FUNCTION[kind], pixel, S), ("build", i)))
        gather = commands.screen_command(FunctionId.Harvest_Gather_screen, at_rows(view.px, target), S)
        cases.append(((memory.intent == Intent.GATHER) & single_scv & has_target, gather, ("gather",)))

        # Idle workers back to work.
        cases.append(((view.idle_workers > 0) & has_target & (remaining_s > 4.0),
                      BatchedAction.make(int(FunctionId.select_idle_worker), batch=B, device=device,
                                         select_worker=0), ("intent", Intent.GATHER)))

        # Depots, SCVs, structures, Marines.
        single = (view.selected & view.own).sum(dim=1) == 1
        for i in range(len(plan.structures)):
            can, site = wants["can_structure"][i], wants["structure"][i][1]
            builder = self._builder(view, memory, site)
            cases.append((can, commands.select_point(at_rows(view.px, builder), S), ("intent", Intent.BUILD + i)))
            if i == 0:  # SCVs come right after Supply Depots
                cases += self._train_cases(view, SCV, wants["can_scv"], wants["cc_due"], single, sel_row)
        cases += self._train_cases(view, MARINE, wants["can_marine"], wants["rax_due"], single, sel_row)

        # A worker to a resource where it earns more.
        worker, gain = self._best_move(view, memory, gains, assigned, rate, most)
        cases.append((has_target & (gain > MOVE_GAIN) & (remaining_s > 20.0),
                      commands.select_point(at_rows(view.px, worker), S), ("intent", Intent.GATHER)))
        return [c[0] for c in cases], [c[1] for c in cases], [c[2] for c in cases]

    def _train_cases(self, view: View, unit: int, can: torch.Tensor, due: torch.Tensor, single: torch.Tensor,
                     sel_row: torch.Tensor) -> list[tuple]:
        """Train `unit` when its producer is the selection, else select the producer whose queue runs out."""
        S, B, device = view.screen, view.exists.shape[0], view.exists.device
        row, _ = row_of(due)
        selected_due = single & at_rows(due, sel_row)
        train = BatchedAction.make(int(TRAIN_FUNCTION[unit]), batch=B, device=device)
        return [(can & selected_due, train, ("train", unit)),
                (can & ~selected_due, commands.select_point(at_rows(view.px, row), S), ("intent", Intent.NONE))]

    def _builder(self, view: View, memory: Memory, site: torch.Tensor) -> torch.Tensor:
        """[B] the worker row to build at `site` [B, 2]: the nearest one mining minerals (else any worker)."""
        mining = view.workers & (at_rows_2d(view.kind, memory.assign) == MINERAL_FIELD)
        candidates = torch.where(mining.any(dim=1, keepdim=True), mining, view.workers)
        distance = torch.linalg.vector_norm(view.pos - site[:, None], dim=-1)
        return torch.where(candidates, distance, float("inf")).argmin(dim=1)

    def _best_move(self, view: View, memory: Memory, gains: torch.Tensor, assigned: torch.Tensor,
                   rate: torch.Tensor, most: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """([B] the worker row that would gain most by moving to the best resource, [B] that gain per second)."""
        best = gains[..., 0].argmax(dim=1)
        best_gain = gains[..., 0].amax(dim=1)
        n = at_rows_2d(assigned, memory.assign)
        r, m = at_rows_2d(rate, memory.assign), at_rows_2d(most, memory.assign)
        loss = income(r, m, n) - income(r, m, n - 1)
        # Busy workers the agent did not send (the map's own orders) mine who knows what: moving them loses nothing.
        unknown = view.workers & ~view.idle & (memory.assign == -1)
        loss = torch.where(unknown, 0.0, loss)
        movable = view.workers & (unknown | ((memory.assign >= 0) & (memory.assign != best[:, None])))
        loss = torch.where(movable, loss, float("inf"))
        worker = loss.argmin(dim=1)
        return worker, best_gain - loss.amin(dim=1)

    def _update(self, view: View, memory: Memory, wants: dict, case: torch.Tensor, updates: list[tuple],
                sel_row: torch.Tensor, target: torch.Tensor, loop: torch.Tensor) -> None:
        """Remember what the chosen case did."""
        B, U = view.exists.shape
        device = view.exists.device
        rows = torch.arange(U, device=device)
        selected = rows == sel_row[:, None]
        memory.intent = torch.zeros_like(memory.intent)
        memory.last_build = torch.full_like(memory.last_build, -1)
        for index, update in enumerate(updates):
            taken = case == index
            if update[0] == "intent":
                memory.intent = torch.where(taken, update[1], memory.intent)
            elif update[0] == "gather":
                sent = taken[:, None] & selected
                memory.assign = torch.where(sent, target[:, None], memory.assign)
                memory.assign_tag = torch.where(sent, view.tag, memory.assign_tag)
            elif update[0] == "build":
                i = update[1]
                _, _, site_index, count_now = wants["structure"][i]
                memory.assign = torch.where(taken[:, None] & selected, BUILDER, memory.assign)
                memory.ordered_at[:, i] = torch.where(taken, loop, memory.ordered_at[:, i])
                memory.count_at_order[:, i] = torch.where(taken, count_now, memory.count_at_order[:, i])
                memory.site_at_order[:, i] = torch.where(taken, site_index, memory.site_at_order[:, i])
                memory.last_build = torch.where(taken, i, memory.last_build)
            elif update[0] == "train":
                trained = taken[:, None] & selected
                start = torch.maximum(memory.ready_at, loop[:, None])
                memory.ready_at = torch.where(trained, start + TRAIN_LOOPS[update[1]], memory.ready_at)
