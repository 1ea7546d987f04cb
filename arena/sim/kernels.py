"""The game loop as one compiled kernel (numba): every game of a batch advanced by one game loop in a single call,
each game's units looped over in registers and cache instead of as [B, U, U] pair tensors, games spread over the
CPU's threads (`prange`).

The rules are those of the torch passes (arena.sim.step.game_loop: targeting, weapons, movement, collisions, orders,
regeneration, kills, and the economy: gathering, construction, production, eggs, larva), which stay as the
reference the tests compare this kernel against, loop by loop, from random states of every scenario.

The kernel works in place on copies of the State's tensors it changes (`.numpy()` views share their storage), so a
State stays immutable to its callers. It is compiled on first use and cached on disk (numba `cache=True`).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import sys
import types
from pathlib import Path

import numba
import numpy as np
import torch

from arena.sim.state import State
from arena.sim.rules import LoopRule, LoopTrigger
from arena.sim.units import UnitTable

if "NUMBA_THREADING_LAYER" not in os.environ:
    # numba's OpenMP layer shares the process's OpenMP runtime with torch: starting its pool resets torch's thread
    # count (torch.get_num_threads() went from 1 to 2), and its sleeping workers cost ~1 ms to wake per call.
    numba.config.THREADING_LAYER = "workqueue"

# The rules' constants, written out: numba freezes globals into its on-disk cache, which only notices edits to this
# file, so they live here as literals; tests/arena/test_kernels.py checks each against the torch passes' own.
_NONE, _MOVE, _ATTACK_MOVE, _ATTACK_UNIT, _HOLD, _GATHER, _RETURN = 0, 1, 2, 3, 4, 5, 6  # arena.sim.state.Order
_PLAYER_1, _PLAYER_2, _NEUTRAL = 0, 1, 2  # arena.sim.state.Owner
_SCORE, _KILLED = 0, 5  # Score.SCORE, Score.KILLED_VALUE_UNITS
_SLACK = np.float32(1e-3)  # arena.sim.geometry.RANGE_SLACK
_HALF = np.float32(0.5)
_LOW_PRIORITY = np.float32(1000.0)  # arena.sim.targeting.LOW_PRIORITY
_ARRIVAL = np.float32(0.1)  # arena.sim.movement.ARRIVAL_DISTANCE
_CROWD_ARRIVAL = np.float32(1.5)  # arena.sim.movement.CROWD_ARRIVAL_DISTANCE
_GOLDEN = np.float32(2.399963)  # arena.sim.movement.GOLDEN_ANGLE
_MIN_LENGTH = np.float32(1e-6)  # arena.sim.movement.move_units: shorter offsets count as this long
_STUCK = np.float32(0.25)  # arena.sim.movement.arrivals: progress under this many loops of speed is stuck

_BUILD, _CONSTRUCT = 7, 8  # Order
_COLLECTED_MINERALS, _COLLECTED_VESPENE, _SPENT_MINERALS, _SPENT_VESPENE = 7, 8, 11, 12  # Score
_RESOURCE_MINERALS = 1  # arena.sim.units.RESOURCE_MINERALS
_ZERG = 2  # arena.sim.units.Race.ZERG
_HATCHERY, _VESPENE_GEYSER = 18, 27  # arena.sim.units.UnitType
_NO_RALLY = -2  # arena.sim.state.NO_RALLY
_MAX_TOWN_HALLS = 8  # arena.sim.economy.MAX_TOWN_HALLS
_HARVEST_REACH = np.float32(0.3)  # arena.sim.economy.HARVEST_REACH
_BUILD_REACH = np.float32(0.5)  # arena.sim.economy.BUILD_REACH
_HALF_BUILD_REACH = np.float32(0.25)  # economy_goals: a worker walks to within half of BUILD_REACH
_WALK_SHORT = np.float32(0.1)  # economy_goals: workers stop this far short of a resource's or hall's edge
_MINING_LOOPS = np.float32(1.99 * 22.4)  # arena.sim.economy.MINING_LOOPS
_GAS_LOOPS = np.float32(1.4 * 22.4)  # GAS_LOOPS
_HANDLING = np.float32((0.36 + 1.9) * 22.4)  # HANDLING_LOOPS
_MINERALS_PER_TRIP, _GAS_PER_TRIP = np.float32(5.0), np.float32(4.0)  # arena.sim.units
_RETARGET_DISTANCE = np.float32(12.0)  # arena.sim.economy.RETARGET_DISTANCE
_START_HP_FRACTION = np.float32(0.1)  # START_HP_FRACTION
_GROWTH = np.float32(1 - 0.1)  # progress_construction: the HP a structure gains while it is built
_SPAWN_GAP = np.float32(0.2)  # spawn_offset
_MAX_LARVA = np.float32(3.0)  # MAX_LARVA
_LARVA_PER_LOOP = np.float32(1.0 / (11.0 * 22.4))  # 1 / LARVA_LOOPS
_CLEARANCE = np.float32(3.0)  # arena.sim.placement.RESOURCE_CLEARANCE

CONSTANTS = {"Order.NONE": _NONE, "Order.MOVE": _MOVE, "Order.ATTACK_MOVE": _ATTACK_MOVE,
             "Order.ATTACK_UNIT": _ATTACK_UNIT, "Order.HOLD": _HOLD, "Order.GATHER": _GATHER,
             "Order.RETURN": _RETURN, "Owner.PLAYER_1": _PLAYER_1, "Owner.PLAYER_2": _PLAYER_2,
             "Owner.NEUTRAL": _NEUTRAL, "Score.KILLED_VALUE_UNITS": _KILLED, "RANGE_SLACK": float(_SLACK),
             "LOW_PRIORITY": float(_LOW_PRIORITY), "ARRIVAL_DISTANCE": float(_ARRIVAL),
             "CROWD_ARRIVAL_DISTANCE": float(_CROWD_ARRIVAL), "GOLDEN_ANGLE": float(_GOLDEN),
             "Order.BUILD": _BUILD, "Order.CONSTRUCT": _CONSTRUCT,
             "Score.COLLECTED_MINERALS": _COLLECTED_MINERALS, "Score.COLLECTED_VESPENE": _COLLECTED_VESPENE,
             "Score.SPENT_MINERALS": _SPENT_MINERALS, "Score.SPENT_VESPENE": _SPENT_VESPENE,
             "RESOURCE_MINERALS": _RESOURCE_MINERALS, "Race.ZERG": _ZERG, "UnitType.HATCHERY": _HATCHERY,
             "UnitType.VESPENE_GEYSER": _VESPENE_GEYSER, "NO_RALLY": _NO_RALLY, "MAX_TOWN_HALLS": _MAX_TOWN_HALLS,
             "HARVEST_REACH": float(_HARVEST_REACH), "BUILD_REACH": float(_BUILD_REACH),
             "MINING_LOOPS": float(_MINING_LOOPS), "GAS_LOOPS": float(_GAS_LOOPS), "HANDLING_LOOPS": float(_HANDLING),
             "MINERALS_PER_TRIP": float(_MINERALS_PER_TRIP), "GAS_PER_TRIP": float(_GAS_PER_TRIP),
             "RETARGET_DISTANCE": float(_RETARGET_DISTANCE), "START_HP_FRACTION": float(_START_HP_FRACTION),
             "MAX_LARVA": float(_MAX_LARVA), "LARVA_LOOPS": float(1.0 / _LARVA_PER_LOOP),
             "RESOURCE_CLEARANCE": float(_CLEARANCE)}
"""The constants above by the name of the torch passes' own (for the test that keeps them equal)."""


@dataclasses.dataclass(frozen=True)
class KernelTable:
    """The unit table as numpy arrays, indexed by UnitType, plus the damage of one attack of each type on each."""

    range: np.ndarray  # [K] float32
    sight: np.ndarray
    radius: np.ndarray
    speed: np.ndarray
    cooldown: np.ndarray
    splash_radius: np.ndarray
    regen: np.ndarray
    max_hp: np.ndarray
    value: np.ndarray
    armed: np.ndarray  # [K] bool
    threat: np.ndarray  # [K] bool, armed or a worker: targeted before harmless units
    worker: np.ndarray
    mobile: np.ndarray
    collides: np.ndarray
    suicide: np.ndarray
    raw_damage: np.ndarray  # [K, K] float32, before armor
    armored_damage: np.ndarray  # [K, K] float32, after armor
    max_shields: np.ndarray  # [K] float32; the rest for the economy
    build_loops: np.ndarray
    mineral_cost: np.ndarray
    gas_cost: np.ndarray
    town_hall: np.ndarray  # [K] bool
    gas_building: np.ndarray
    resource: np.ndarray  # [K] int64
    race: np.ndarray
    requires: np.ndarray
    per_order: np.ndarray
    footprint: np.ndarray  # [K, 2] int64

    @staticmethod
    def of(table: UnitTable) -> "KernelTable":
        from arena.sim.combat import damage_by_type_pair

        def f32(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().to(torch.float32).numpy())

        def boolean(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().bool().numpy())

        def i64(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().to(torch.int64).numpy())

        raw, armored = damage_by_type_pair(table)
        return KernelTable(
            range=f32(table.range), sight=f32(table.sight), radius=f32(table.radius), speed=f32(table.speed),
            cooldown=f32(table.cooldown), splash_radius=f32(table.splash_radius), regen=f32(table.regen),
            max_hp=f32(table.max_hp), value=f32(table.value), armed=boolean(table.armed),
            threat=boolean(table.armed | table.worker), worker=boolean(table.worker), mobile=boolean(table.mobile),
            collides=boolean(table.collides), suicide=boolean(table.suicide), raw_damage=f32(raw),
            armored_damage=f32(armored), max_shields=f32(table.max_shields), build_loops=f32(table.build_loops),
            mineral_cost=f32(table.minerals), gas_cost=f32(table.gas), town_hall=boolean(table.town_hall),
            gas_building=boolean(table.gas_building), resource=i64(table.resource), race=i64(table.race),
            requires=i64(table.requires), per_order=i64(table.per_order), footprint=i64(table.footprint))

    def arrays(self) -> "Table":
        return Table(*(getattr(self, name) for name in Table._fields))


Table = collections.namedtuple("Table", [f.name for f in dataclasses.fields(KernelTable)])
"""The kernel's view of KernelTable (numba takes namedtuples of arrays)."""

Games = collections.namedtuple("Games", [
    "kind", "owner", "alive", "pos", "hp", "shields", "cooldown", "target", "order_kind", "order_pos", "order_unit",
    "order_type", "build_left", "morph", "resources", "cargo", "cargo_gas", "timer", "larva", "rally", "rally_target",
    "queue", "queue_progress", "selected", "control_groups", "score", "minerals", "vespene", "trained", "game_loop",
    "died"])
"""The State's arrays the kernel reads and writes ([B, ...] numpy views), and `died` [B, U] it writes."""

FIELDS = {"kind": "unit_type", "owner": "unit_owner", "alive": "unit_alive", "pos": "unit_pos", "hp": "unit_hp",
          "shields": "unit_shields", "cooldown": "unit_cooldown", "target": "unit_target",
          "order_kind": "order_kind", "order_pos": "order_pos", "order_unit": "order_unit",
          "order_type": "order_type", "build_left": "unit_build_left", "morph": "unit_morph",
          "resources": "unit_resources", "cargo": "unit_cargo", "cargo_gas": "unit_cargo_gas",
          "timer": "unit_timer", "larva": "unit_larva", "rally": "unit_rally", "rally_target": "unit_rally_target",
          "queue": "queue", "queue_progress": "queue_progress", "selected": "selected",
          "control_groups": "control_groups", "score": "score", "minerals": "minerals", "vespene": "vespene",
          "trained": "trained", "game_loop": "game_loop"}
"""Games field -> State field."""


class GamesKernel:
    """A kernel over the games of a batch, compiled twice from one source: spread over numba's threads (`prange`)
    and serial (prange as range). Launching the threaded build costs about 70 us even on one thread, more than a
    small batch's work, so the serial build runs a single game and whenever the process runs one thread (the
    default, `arena.threads`). Call it with the number of games first: `kernel(games, *arguments)`."""

    def __init__(self, threaded) -> None:
        self.threaded = threaded
        self.serial = numba.njit(cache=True)(_renamed(threaded.py_func, "_serial"))

    def __call__(self, games: int, *arguments):
        spread = games > 1 and _threads[0] > 1
        return (self.threaded if spread else self.serial)(*arguments)


def _renamed(function, suffix: str):
    """A copy of `function` whose qualified name ends in `suffix` (numba names its cache files by qualified name, so
    two builds of one source need two names)."""
    twin = types.FunctionType(function.__code__, function.__globals__, function.__name__ + suffix,
                              function.__defaults__, function.__closure__)
    twin.__qualname__ = function.__qualname__ + suffix
    twin.__doc__ = function.__doc__
    return twin


@numba.njit(cache=True, inline="always")
def _within(dx, dy, limit):
    """Whether sqrt(dx^2 + dy^2) may be <= `limit`: a cheap, conservative test before the exact one (the torch
    passes compare float32 square roots; squares with a margin never reject a pair they would accept)."""
    reach = limit * np.float32(1.0001) + np.float32(1e-4)
    return reach > 0 and dx * dx + dy * dy <= reach * reach


@numba.njit(cache=True, inline="always")
def _norm(dx, dy):
    return np.float32(math.sqrt(dx * dx + dy * dy))


@numba.njit(cache=True)
def _pop_order(G, b, i):
    """Drop unit i's current order; the next queued one becomes current (arena.sim.orders.pop_orders)."""
    Q = G.order_kind.shape[2]
    for q in range(Q - 1):
        G.order_kind[b, i, q] = G.order_kind[b, i, q + 1]
        G.order_pos[b, i, q, 0] = G.order_pos[b, i, q + 1, 0]
        G.order_pos[b, i, q, 1] = G.order_pos[b, i, q + 1, 1]
        G.order_unit[b, i, q] = G.order_unit[b, i, q + 1]
        G.order_type[b, i, q] = G.order_type[b, i, q + 1]
    G.order_kind[b, i, Q - 1] = 0
    G.order_unit[b, i, Q - 1] = -1
    G.order_type[b, i, Q - 1] = 0


@numba.njit(cache=True)
def _run_game(G, T, bounds, economy, b, sf, sb, si, loops_left, on_death, near, near_reach, empty, kill_slots,
              kill_weights, kills_by_owner, fog, explored):
    """Game b's loops, in place, until `loops_left[b]` reach 0 or, after a loop, its scenario's rule may act (then it
    returns True; see game_loops). Each loop runs the passes of arena.sim.step.game_loop in its order, the economy's
    too when `economy`. sf [8, U] float32, sb [8, U] bool and si [3, U] int64 are work space. (One call runs all of
    a game's loops: a call passing the Games and Table arrays costs about a microsecond of reference counting.)"""
    U = G.kind.shape[1]
    kind, owner, alive, target = G.kind[b], G.owner[b], G.alive[b], G.target[b]
    order_kind, order_pos, order_unit = G.order_kind[b], G.order_pos[b], G.order_unit[b]
    x0, y0, radius, total_raw, total_armored, new_x, new_y = sf[0], sf[1], sf[2], sf[3], sf[4], sf[5], sf[6]
    alive_before, fighter, firing, blast, consumed = sb[0], sb[1], sb[2], sb[3], sb[5]
    home = si[0]
    while loops_left[b] > 0:
        for i in range(U):
            x0[i] = G.pos[b, i, 0]
            y0[i] = G.pos[b, i, 1]
            radius[i] = T.radius[kind[i]]
            alive_before[i] = alive[i]
            fighter[i] = alive[i] and owner[i] != _NEUTRAL  # may be hostile to someone
            consumed[i] = False
        if economy:
            _nearest_town_halls(G, T, b, home, x0, y0)

        # Targeting (arena.sim.targeting.acquire_targets), on the geometry at the start of the loop.
        for i in range(U):
            k = kind[i]
            if not (T.armed[k] and alive_before[i]):
                target[i] = -1
                continue
            order = order_kind[i, 0]
            weapon_range = T.range[k] + _SLACK
            holding = order == _HOLD
            acquire = weapon_range if holding else max(weapon_range, T.sight[k])
            nearest = -1
            best = np.float32(np.inf)
            current = target[i]
            keep = False
            if fighter[i]:
                for j in range(U):
                    if not fighter[j] or owner[j] == owner[i]:
                        continue
                    dx = x0[j] - x0[i]
                    dy = y0[j] - y0[i]
                    if not _within(dx, dy, acquire + radius[i] + radius[j]):
                        continue
                    edge = _norm(dx, dy) - radius[i] - radius[j]
                    if j == current and edge <= weapon_range:
                        keep = True
                    if edge <= acquire:
                        rank = edge if T.threat[kind[j]] else edge + _LOW_PRIORITY
                        if rank < best:
                            best = rank
                            nearest = j
            if order == _ATTACK_UNIT:
                target[i] = order_unit[i, 0]
            elif order == _NONE or order == _ATTACK_MOVE or holding:
                target[i] = current if (current >= 0 and keep) else nearest
            else:
                target[i] = -1

        # Weapons (arena.sim.combat.fire_weapons): damage lands in this loop.
        for i in range(U):
            total_raw[i] = 0.0
            total_armored[i] = 0.0
            firing[i] = False
            blast[i] = False
        for i in range(U):
            k = kind[i]
            t = target[i]
            if t < 0 or not alive_before[i] or G.cooldown[b, i] > 0.0 or not alive_before[t]:
                continue
            edge = _norm(x0[t] - x0[i], y0[t] - y0[i]) - radius[i] - radius[t]
            if edge > T.range[k] + _SLACK:
                continue
            firing[i] = True
            if T.suicide[k]:
                blast[i] = True
            else:
                total_raw[t] += T.raw_damage[k, kind[t]]
                total_armored[t] += T.armored_damage[k, kind[t]]
        for i in range(U):
            if not blast[i] or not fighter[i]:
                continue
            k = kind[i]
            for j in range(U):
                if not fighter[j] or owner[j] == owner[i]:
                    continue
                dx = x0[j] - x0[i]
                dy = y0[j] - y0[i]
                reach = T.splash_radius[k] + radius[j]
                if _within(dx, dy, reach) and _norm(dx, dy) <= reach:
                    total_raw[j] += T.raw_damage[k, kind[j]]
                    total_armored[j] += T.armored_damage[k, kind[j]]
        for i in range(U):
            to_shields = min(G.shields[b, i], total_raw[i])
            G.hp[b, i] = G.hp[b, i] - max(total_armored[i] - to_shields, np.float32(0.0))
            G.shields[b, i] = G.shields[b, i] - to_shields
            alive[i] = alive_before[i] and G.hp[b, i] > 0.0 and not blast[i]
            if firing[i]:
                G.cooldown[b, i] = G.cooldown[b, i] + T.cooldown[kind[i]] - np.float32(1.0)
            elif G.cooldown[b, i] > 0.0:
                G.cooldown[b, i] = G.cooldown[b, i] - np.float32(1.0)
            else:
                G.cooldown[b, i] = 0.0

        # Movement (arena.sim.movement.move_units), towards the target, the order's point, or the economy's goal.
        for i in range(U):
            k = kind[i]
            order = order_kind[i, 0]
            t = target[i]
            new_x[i] = x0[i]
            new_y[i] = y0[i]
            if order == _HOLD or not T.mobile[k] or not alive[i]:
                continue
            if economy and T.worker[k] and (order == _GATHER or order == _RETURN or order == _BUILD
                                            or order == _CONSTRUCT):
                if order == _BUILD:
                    goal_x, goal_y = order_pos[i, 0, 0], order_pos[i, 0, 1]
                    reach = T.radius[G.order_type[b, i, 0]] + radius[i] + _HALF_BUILD_REACH
                    wanted = max(_norm(goal_x - x0[i], goal_y - y0[i]) - reach, np.float32(0.0))
                elif order == _CONSTRUCT:
                    goal_x, goal_y = x0[i], y0[i]
                    wanted = np.float32(0.0)
                else:
                    goal = home[i] if G.cargo[b, i] > 0 else order_unit[i, 0]
                    g = max(goal, 0)
                    goal_x, goal_y = x0[g], y0[g]
                    wanted = max(_norm(goal_x - x0[i], goal_y - y0[i]) - radius[i] - radius[g] - _WALK_SHORT,
                                 np.float32(0.0))
                    if G.timer[b, i] > 0 or goal < 0:
                        wanted = np.float32(0.0)
            elif t >= 0:
                goal_x, goal_y = x0[t], y0[t]
                edge = _norm(goal_x - x0[i], goal_y - y0[i]) - radius[i] - radius[t]
                wanted = max(edge - T.range[k], np.float32(0.0))
            else:
                goal_x, goal_y = order_pos[i, 0, 0], order_pos[i, 0, 1]
                if order == _MOVE or order == _ATTACK_MOVE:
                    wanted = _norm(goal_x - x0[i], goal_y - y0[i])
                else:
                    wanted = np.float32(0.0)
            dx = goal_x - x0[i]
            dy = goal_y - y0[i]
            length = max(_norm(dx, dy), _MIN_LENGTH)
            step = min(wanted, T.speed[k]) / length
            new_x[i] = x0[i] + dx * step
            new_y[i] = y0[i] + dy * step

        # Collisions (arena.sim.movement.separate_units): overlapping ground units push apart (with the economy, a
        # unit walking into a structure slides around it), then stay in bounds.
        solid = fighter  # reused: fighters are done with
        for i in range(U):
            order = order_kind[i, 0]
            solid[i] = alive[i] and T.collides[kind[i]] and not (
                T.worker[kind[i]] and (order == _GATHER or order == _RETURN))
        # Each overlapping pair once (i < j), its push added to both: unit i still sums its pushes in ascending order of
        # the other's slot (those of j < i while the outer loop visited j), as the one-sided loop did.
        push_x, push_y, against = total_raw, total_armored, firing  # reused: damage is done with
        for i in range(U):
            push_x[i] = 0.0
            push_y[i] = 0.0
            against[i] = False
        for i in range(U):
            if not solid[i]:
                continue
            mobile_i = T.mobile[kind[i]]
            for j in range(i + 1, U):
                if not solid[j]:
                    continue
                dx = new_x[j] - new_x[i]
                dy = new_y[j] - new_y[i]
                reach = radius[i] + radius[j]
                if not _within(dx, dy, reach):
                    continue
                dist = _norm(dx, dy)
                if dist >= reach:
                    continue
                mobile_j = T.mobile[kind[j]]
                if not mobile_j:
                    against[i] = True
                if not mobile_i:
                    against[j] = True
                share_i = (np.float32(0.5) if mobile_j else np.float32(1.0)) if mobile_i else np.float32(0.0)
                share_j = (np.float32(0.5) if mobile_i else np.float32(1.0)) if mobile_j else np.float32(0.0)
                half_i = (reach - dist) * share_i
                half_j = (radius[j] + radius[i] - dist) * share_j
                if dist <= _MIN_LENGTH:
                    angle = np.float32(i + j) * _GOLDEN
                    cos = np.float32(math.cos(angle))
                    sin = np.float32(math.sin(angle))
                    push_x[i] += half_i * cos
                    push_y[i] += half_i * sin
                    push_x[j] += -half_j * cos
                    push_y[j] += -half_j * sin
                else:
                    scale_i = half_i / dist
                    scale_j = half_j / dist
                    push_x[i] += dx * scale_i
                    push_y[i] += dy * scale_i
                    push_x[j] += (new_x[i] - new_x[j]) * scale_j
                    push_y[j] += (new_y[i] - new_y[j]) * scale_j
        for i in range(U):
            G.pos[b, i, 0] = new_x[i]
            G.pos[b, i, 1] = new_y[i]
            if not solid[i]:
                continue
            px = push_x[i]
            py = push_y[i]
            if economy and against[i]:  # arena.sim.movement._slide_around_obstacles
                wx = new_x[i] - x0[i]
                wy = new_y[i] - y0[i]
                back = px * wx + py * wy
                side = np.float32(-1.0) if px * wy - py * wx > 0 else np.float32(1.0)
                if back > 0 and _norm(px, py) > _MIN_LENGTH:
                    tx = -py * side
                    ty = px * side
                    px = px + tx
                    py = py + ty
            r = radius[i]
            G.pos[b, i, 0] = min(max(new_x[i] - px, bounds[0] + r), bounds[2] - r)
            G.pos[b, i, 1] = min(max(new_y[i] - py, bounds[1] + r), bounds[3] - r)

        # Orders (arena.sim.movement.arrivals, step.dead_targets, orders.pop_orders), regeneration.
        for i in range(U):
            k = kind[i]
            order = order_kind[i, 0]
            done = False
            if alive[i] and (order == _MOVE or (order == _ATTACK_MOVE and target[i] < 0)):
                px, py = order_pos[i, 0, 0], order_pos[i, 0, 1]
                now = _norm(px - G.pos[b, i, 0], py - G.pos[b, i, 1])
                then = _norm(px - x0[i], py - y0[i])
                stuck = (then - now) < _STUCK * T.speed[k]
                done = now <= _ARRIVAL or (stuck and now <= _CROWD_ARRIVAL)
            if order == _ATTACK_UNIT:
                ordered = order_unit[i, 0]
                done = done or ordered < 0 or not alive[ordered]
            if done:
                _pop_order(G, b, i)
            if alive[i]:
                G.hp[b, i] = min(G.hp[b, i] + T.regen[k], T.max_hp[k])

        if economy:
            _harvest(G, T, b, home, x0, y0, sb[6], si[2], si[1], sf[7])
            _start_construction(G, T, bounds, b, consumed)
            _progress_construction(G, T, b, sb[6])
            _produce(G, T, b)
            _hatch(G, T, b)
            _grow_larva(G, T, b)

        # Deaths (step.record_kills, step.forget_dead).
        lost_1 = np.float32(0.0)
        lost_2 = np.float32(0.0)
        for i in range(U):
            G.died[b, i] = alive_before[i] and not alive[i] and not consumed[i]
            if G.died[b, i]:
                if owner[i] == _PLAYER_1:
                    lost_1 += T.value[kind[i]]
                elif owner[i] == _PLAYER_2:
                    lost_2 += T.value[kind[i]]
            if not alive[i]:
                target[i] = -1
                for q in range(order_kind.shape[1]):
                    order_kind[i, q] = 0
                for a in range(G.selected.shape[1]):
                    G.selected[b, a, i] = False
                    for g in range(G.control_groups.shape[2]):
                        G.control_groups[b, a, g, i] = False
        G.score[b, 0, _KILLED] += lost_2
        G.score[b, 1, _KILLED] += lost_1

        G.game_loop[b] += 1
        loops_left[b] -= 1
        if _rule_may_act(G.died, G.alive, G.pos, b, on_death, near, near_reach, empty):
            return True
        _score_kills(G.died, G.owner, G.score, b, kill_slots, kill_weights, kills_by_owner)
        if fog:
            _mark_seen(G.kind, G.owner, G.alive, G.pos, T.sight, b, explored)
    return False

# ---------------------------------------------------------------------------------------------------------------
# The economy (arena.sim.economy, arena.sim.placement), one function per pass.

@numba.njit(cache=True)
def _nearest_town_halls(G, T, b, home, x0, y0):
    """home[i]: the nearest finished town hall of i's owner among the game's first 8 by slot, or -1."""
    U = G.kind.shape[1]
    halls = np.empty(_MAX_TOWN_HALLS, dtype=np.int64)
    count = 0
    for j in range(U):
        if count < _MAX_TOWN_HALLS and G.alive[b, j] and G.build_left[b, j] <= 0 and T.town_hall[G.kind[b, j]]:
            halls[count] = j
            count += 1
    for i in range(U):
        home[i] = -1
        best = np.float32(np.inf)
        for m in range(count):
            j = halls[m]
            if G.owner[b, j] != G.owner[b, i]:
                continue
            d = _norm(x0[j] - x0[i], y0[j] - y0[i])
            if d < best:
                best = d
                home[i] = j


@numba.njit(cache=True)
def _edge(G, T, b, i, j):
    """Distance between the circles of units i and j (arena.sim.economy.edge_distance; j = -1 reads slot 0)."""
    j = max(j, 0)
    return (_norm(G.pos[b, j, 0] - G.pos[b, i, 0], G.pos[b, j, 1] - G.pos[b, i, 1])
            - T.radius[G.kind[b, i]] - T.radius[G.kind[b, j]])


@numba.njit(cache=True)
def _harvestable(G, T, b, i, r):
    """Slot r holds something unit i may gather (arena.sim.economy.harvestable)."""
    if r < 0 or not G.alive[b, r] or not G.resources[b, r] > 0:
        return False
    k = G.kind[b, r]
    if T.resource[k] == _RESOURCE_MINERALS:
        return True
    return T.gas_building[k] and G.owner[b, r] == G.owner[b, i] and G.build_left[b, r] <= 0


@numba.njit(cache=True)
def _harvest(G, T, b, home, x0, y0, busy, flags, first, amount):
    """arena.sim.economy.harvest: drop-offs, mining (one worker per resource at a time), depletion, moving on."""
    U = G.kind.shape[1]
    minerals_in = np.zeros(2, dtype=np.float32)
    gas_in = np.zeros(2, dtype=np.float32)
    # flags bits: 1 gathering, 2 returning, 4 delivered, 8 on gas, 16 finishes, 32 carrying after drop-off
    for i in range(U):
        flags[i] = 0
        k = G.kind[b, i]
        if T.worker[k] and G.alive[b, i]:
            if G.order_kind[b, i, 0] == _GATHER:
                flags[i] |= 1
            elif G.order_kind[b, i, 0] == _RETURN:
                flags[i] |= 2
        h = home[i]
        if flags[i] & 3 and G.cargo[b, i] > 0 and h >= 0 and _edge(G, T, b, i, h) <= _HARVEST_REACH \
                and G.timer[b, i] <= 0:
            flags[i] |= 4
            o = G.owner[b, i]
            if 0 <= o < 2:
                if G.cargo_gas[b, i]:
                    gas_in[o] += G.cargo[b, i]
                else:
                    minerals_in[o] += G.cargo[b, i]
    for o in range(2):
        G.minerals[b, o] += minerals_in[o]
        G.vespene[b, o] += gas_in[o]
        G.score[b, o, _COLLECTED_MINERALS] += minerals_in[o]
        G.score[b, o, _COLLECTED_VESPENE] += gas_in[o]
    for i in range(U):
        if flags[i] & 4:
            G.cargo[b, i] = 0.0
            G.cargo_gas[b, i] = False
        if G.cargo[b, i] > 0:
            flags[i] |= 32
        if T.gas_building[G.kind[b, max(G.order_unit[b, i, 0], 0)]]:
            flags[i] |= 8
        busy[i] = False
        first[i] = U
    for i in range(U):
        if flags[i] & 1 and G.timer[b, i] > _HANDLING:
            busy[max(G.order_unit[b, i, 0], 0)] = True
    for i in range(U):  # who may start mining: the lowest ready slot per resource
        r = G.order_unit[b, i, 0]
        rc = max(r, 0)
        if flags[i] & 1 and not flags[i] & 32 and _harvestable(G, T, b, i, r) and G.timer[b, i] <= 0 \
                and _edge(G, T, b, i, r) <= _HARVEST_REACH and not busy[rc] and i < first[rc]:
            first[rc] = i
    for i in range(U):
        r = G.order_unit[b, i, 0]
        rc = max(r, 0)
        gathering = flags[i] & 1
        timer = G.timer[b, i]
        if gathering and first[rc] == i:
            new_timer = (_GAS_LOOPS if flags[i] & 8 else _MINING_LOOPS) + _HANDLING
        else:
            new_timer = max(timer - np.float32(1.0), np.float32(0.0))
        amount[i] = 0.0
        if gathering and timer > _HANDLING and new_timer <= _HANDLING:
            flags[i] |= 16
            per_trip = _GAS_PER_TRIP if flags[i] & 8 else _MINERALS_PER_TRIP
            amount[i] = min(per_trip, G.resources[b, rc])
        G.timer[b, i] = new_timer if gathering else np.float32(0.0)
    for i in range(U):
        if flags[i] & 16:
            rc = max(G.order_unit[b, i, 0], 0)
            G.resources[b, rc] -= amount[i]
            G.cargo[b, i] = amount[i]
            G.cargo_gas[b, i] = flags[i] & 8 != 0
    for j in range(U):
        if G.alive[b, j] and T.resource[G.kind[b, j]] == _RESOURCE_MINERALS and G.resources[b, j] <= 0:
            G.alive[b, j] = False
    for i in range(U):
        if flags[i] & 2 and flags[i] & 4:
            _pop_order(G, b, i)
    for i in range(U):
        r = G.order_unit[b, i, 0]
        if not (flags[i] & 1) or flags[i] & (32 | 16) or _harvestable(G, T, b, i, r):
            continue
        if flags[i] & 8:  # a gas building gone or dry: done
            _pop_order(G, b, i)
            continue
        nearest = -1  # arena.sim.economy._retarget_depleted: the nearest field with minerals left nearby
        best = np.float32(np.inf)
        for j in range(U):
            if G.alive[b, j] and T.resource[G.kind[b, j]] == _RESOURCE_MINERALS and G.resources[b, j] > 0:
                d = _norm(x0[j] - x0[i], y0[j] - y0[i])
                if d <= _RETARGET_DISTANCE and d < best:
                    best = d
                    nearest = j
        if nearest >= 0:
            G.order_unit[b, i, 0] = nearest
        else:
            _pop_order(G, b, i)


@numba.njit(cache=True)
def _spawn(G, T, b, slot, k, owner, x, y, build_left, resources):
    """A fresh unit in `slot` (arena.sim.economy.spawn_units)."""
    G.kind[b, slot] = k
    G.owner[b, slot] = owner
    G.alive[b, slot] = True
    G.pos[b, slot, 0] = x
    G.pos[b, slot, 1] = y
    G.hp[b, slot] = T.max_hp[k] * _START_HP_FRACTION if build_left > 0 else T.max_hp[k]
    G.shields[b, slot] = T.max_shields[k]
    G.cooldown[b, slot] = 0.0
    G.target[b, slot] = -1
    for q in range(G.order_kind.shape[2]):
        G.order_kind[b, slot, q] = 0
        G.order_unit[b, slot, q] = -1
        G.order_type[b, slot, q] = 0
    G.build_left[b, slot] = build_left
    G.morph[b, slot] = 0
    G.resources[b, slot] = resources
    G.cargo[b, slot] = 0.0
    G.cargo_gas[b, slot] = False
    G.timer[b, slot] = 0.0
    G.larva[b, slot] = 0.0
    G.rally_target[b, slot] = _NO_RALLY
    for q in range(G.queue.shape[2]):
        G.queue[b, slot, q] = 0
    G.queue_progress[b, slot] = 0.0


@numba.njit(cache=True)
def _free_slot(G, b, after):
    """The first slot after `after` without a living unit, or -1."""
    for j in range(after + 1, G.kind.shape[1]):
        if not G.alive[b, j]:
            return j
    return -1


@numba.njit(cache=True)
def _placement_ok(G, T, bounds, b, k, cx, cy, geyser):
    """arena.sim.placement.placement_result(...) == Placement.OK."""
    if T.gas_building[k]:
        g = max(geyser, 0)
        return geyser >= 0 and G.alive[b, g] and G.kind[b, g] == _VESPENE_GEYSER
    hw = np.float32(T.footprint[k, 0]) * np.float32(0.5)
    hh = np.float32(T.footprint[k, 1]) * np.float32(0.5)
    lx, ly, hx, hy = cx - hw, cy - hh, cx + hw, cy + hh
    if not (lx >= bounds[0] and ly >= bounds[1] and hx <= bounds[2] and hy <= bounds[3]):
        return False
    too_close = False
    for j in range(G.kind.shape[1]):
        kj = G.kind[b, j]
        if not G.alive[b, j] or not T.footprint[kj, 0] > 0:
            continue
        ox = np.float32(T.footprint[kj, 0]) * np.float32(0.5)
        oy = np.float32(T.footprint[kj, 1]) * np.float32(0.5)
        olx, oly = G.pos[b, j, 0] - ox, G.pos[b, j, 1] - oy
        ohx, ohy = G.pos[b, j, 0] + ox, G.pos[b, j, 1] + oy
        if lx < ohx and olx < hx and ly < ohy and oly < hy:
            return False
        if T.town_hall[k] and T.resource[kj] > 0 and lx - _CLEARANCE < ohx and olx < hx + _CLEARANCE and \
                ly - _CLEARANCE < ohy and oly < hy + _CLEARANCE:
            too_close = True
    return not too_close


@numba.njit(cache=True)
def _start_construction(G, T, bounds, b, consumed):
    """arena.sim.economy.start_construction: the lowest-slot worker at its BUILD site places the structure."""
    U = G.kind.shape[1]
    builder = -1
    for i in range(U):
        k = G.kind[b, i]
        if T.worker[k] and G.alive[b, i] and G.order_kind[b, i, 0] == _BUILD:
            reach = T.radius[G.order_type[b, i, 0]] + T.radius[k] + _BUILD_REACH
            if _norm(G.order_pos[b, i, 0, 0] - G.pos[b, i, 0], G.order_pos[b, i, 0, 1] - G.pos[b, i, 1]) <= reach:
                builder = i
                break
    if builder < 0:
        return
    k = G.order_type[b, builder, 0]
    cx, cy = G.order_pos[b, builder, 0, 0], G.order_pos[b, builder, 0, 1]
    geyser = G.order_unit[b, builder, 0]
    player = G.owner[b, builder]
    zerg = T.race[G.kind[b, builder]] == _ZERG
    paid = not (G.minerals[b, player] < T.mineral_cost[k]) and not (G.vespene[b, player] < T.gas_cost[k])
    allowed = T.requires[k] == 0
    if not allowed:
        for j in range(U):
            if G.alive[b, j] and G.build_left[b, j] <= 0 and G.kind[b, j] == T.requires[k] and \
                    G.owner[b, j] == player:
                allowed = True
                break
    gas = T.gas_building[k]
    new_slot = geyser if gas else (builder if zerg else _free_slot(G, b, -1))
    if not (_placement_ok(G, T, bounds, b, k, cx, cy, geyser) and paid and allowed and new_slot >= 0):
        _pop_order(G, b, builder)
        return
    g = max(geyser, 0)
    resources = G.resources[b, g] if gas else np.float32(0.0)
    x, y = (G.pos[b, g, 0], G.pos[b, g, 1]) if gas else (cx, cy)
    G.minerals[b, player] -= T.mineral_cost[k]
    G.vespene[b, player] -= T.gas_cost[k]
    G.score[b, player, _SPENT_MINERALS] += T.mineral_cost[k]
    G.score[b, player, _SPENT_VESPENE] += T.gas_cost[k]
    _spawn(G, T, b, new_slot, k, player, x, y, T.build_loops[k], resources)
    if zerg and gas:  # the Drone became the Extractor
        G.alive[b, builder] = False
        consumed[builder] = True
    elif not zerg:  # the SCV stays to build it
        G.order_kind[b, builder, 0] = _CONSTRUCT
        G.order_unit[b, builder, 0] = new_slot


@numba.njit(cache=True)
def _progress_construction(G, T, b, built):
    """arena.sim.economy.progress_construction."""
    U = G.kind.shape[1]
    for j in range(U):
        built[j] = False
    for i in range(U):
        if T.worker[G.kind[b, i]] and G.alive[b, i] and G.order_kind[b, i, 0] == _CONSTRUCT:
            built[max(G.order_unit[b, i, 0], 0)] = True
    for j in range(U):
        k = G.kind[b, j]
        if G.alive[b, j] and G.build_left[b, j] > 0 and G.morph[b, j] == 0 and (built[j] or T.race[k] == _ZERG):
            total = max(T.build_loops[k], np.float32(1.0))
            G.build_left[b, j] = max(G.build_left[b, j] - np.float32(1.0), np.float32(0.0))
            G.hp[b, j] = min(G.hp[b, j] + T.max_hp[k] * _GROWTH / total, T.max_hp[k])
    for i in range(U):
        if T.worker[G.kind[b, i]] and G.alive[b, i] and G.order_kind[b, i, 0] == _CONSTRUCT:
            s = max(G.order_unit[b, i, 0], 0)
            if G.build_left[b, s] <= 0 or not G.alive[b, s]:
                _pop_order(G, b, i)


@numba.njit(cache=True)
def _count_trained(G, b, owner, k):
    G.trained[b, min(max(owner, 0), 1), k] += 1.0


@numba.njit(cache=True)
def _produce(G, T, b):
    """arena.sim.economy.produce and rally: finished units appear below their producer, in free slots taken in
    slot order, and go to the rally point."""
    U = G.kind.shape[1]
    R = G.queue.shape[2]
    Q = G.order_kind.shape[2]
    free = -1
    for i in range(U):
        head = G.queue[b, i, 0]
        if not (G.alive[b, i] and G.build_left[b, i] <= 0 and head > 0):
            continue
        progress = G.queue_progress[b, i] + np.float32(1.0)
        G.queue_progress[b, i] = progress
        if progress < T.build_loops[head]:
            continue
        if free != -2:  # the next slot free at the start of this pass (allocate_slots: in slot order)
            free = _free_slot(G, b, free)
        if free < 0:
            free = -2  # no free slot left this loop: the unit waits in its producer
            continue
        s = free
        gap = T.radius[G.kind[b, i]] + T.radius[head] + _SPAWN_GAP
        _spawn(G, T, b, s, head, G.owner[b, i], G.pos[b, i, 0], G.pos[b, i, 1] - gap, np.float32(0.0),
               np.float32(0.0))
        _count_trained(G, b, G.owner[b, i], head)
        for q in range(R - 1):
            G.queue[b, i, q] = G.queue[b, i, q + 1]
        G.queue[b, i, R - 1] = 0
        G.queue_progress[b, i] = 0.0
        rally = G.rally_target[b, i]
        if rally != _NO_RALLY:
            gather = rally >= 0 and T.worker[head]
            G.order_kind[b, s, 0] = _GATHER if gather else _MOVE
            G.order_unit[b, s, 0] = rally if gather else -1
            G.order_pos[b, s, 0, 0] = G.rally[b, i, 0]
            G.order_pos[b, s, 0, 1] = G.rally[b, i, 1]
            for q in range(1, Q):
                G.order_kind[b, s, q] = 0
                G.order_unit[b, s, q] = -1
                G.order_pos[b, s, q, 0] = 0.0
                G.order_pos[b, s, q, 1] = 0.0


@numba.njit(cache=True)
def _hatch(G, T, b):
    """arena.sim.economy.hatch: eggs and cocoons count down and become their unit; Zerglings come in pairs."""
    U = G.kind.shape[1]
    twins = np.empty(U, dtype=np.int64)
    count = 0
    for i in range(U):
        if not (G.alive[b, i] and G.morph[b, i] > 0):
            continue
        left = G.build_left[b, i] - np.float32(1.0)
        G.build_left[b, i] = max(left, np.float32(0.0))
        if left <= 0:
            k = G.morph[b, i]
            G.kind[b, i] = k
            G.hp[b, i] = T.max_hp[k]
            G.morph[b, i] = 0
            _count_trained(G, b, G.owner[b, i], k)
            if T.per_order[k] == 2:
                twins[count] = i
                count += 1
    free = -1
    for m in range(count):
        i = twins[m]
        free = _free_slot(G, b, free)
        if free < 0:
            break
        k = G.kind[b, i]
        _spawn(G, T, b, free, k, G.owner[b, i], G.pos[b, i, 0] + np.float32(0.5), G.pos[b, i, 1], np.float32(0.0),
               np.float32(0.0))
        _count_trained(G, b, G.owner[b, i], k)


@numba.njit(cache=True)
def _grow_larva(G, T, b):
    """arena.sim.economy.grow_larva."""
    for i in range(G.kind.shape[1]):
        if G.alive[b, i] and G.build_left[b, i] <= 0 and G.kind[b, i] == _HATCHERY and G.larva[b, i] < _MAX_LARVA:
            G.larva[b, i] = min(G.larva[b, i] + _LARVA_PER_LOOP, _MAX_LARVA)


@numba.njit(cache=True)
def _any_alive_near(alive, pos, b, near, reach):
    """Whether an alive unit of slots [near[0], near[1]) of game b is within `reach` of an alive unit of slots
    [near[2], near[3])."""
    for i in range(near[0], near[1]):
        if alive[b, i]:
            for j in range(near[2], near[3]):
                if alive[b, j]:
                    dx = pos[b, i, 0] - pos[b, j, 0]
                    dy = pos[b, i, 1] - pos[b, j, 1]
                    if dx * dx + dy * dy <= reach * reach:
                        return True
    return False


@numba.njit(cache=True)
def _rule_may_act(died, alive, pos, b, on_death, near, reach, empty):
    """Whether a scenario's loop rule may change game b after this loop (arena.sim.rules.LoopTrigger)."""
    if on_death:
        for i in range(died.shape[1]):
            if died[b, i]:
                return True
    if near[0] < near[1] and _any_alive_near(alive, pos, b, near, reach):
        return True
    if empty[0] < empty[1]:
        for i in range(empty[0], empty[1]):
            if alive[b, i]:
                return False
        return True
    return False


@numba.njit(cache=True)
def _mark_unit_sight(x, y, s, grid):
    """Set grid [H, W] where a cell's centre lies within sight `s` of the point (x, y) (the formula of
    arena.interface.fog.visible_cells_by_cell: ((dx + 0.5) - frac_x)^2 + ((dy + 0.5) - frac_y)^2 <= s^2)."""
    H, W = grid.shape
    fx = np.float32(math.floor(x))
    fy = np.float32(math.floor(y))
    cx, cy = int(fx), int(fy)
    frac_x = x - fx
    frac_y = y - fy
    reach2 = s * s
    k = int(math.ceil(max(s, np.float32(0.0)))) + 1
    for dy in range(-k, k + 1):
        row = cy + dy
        if row < 0 or row >= H:
            continue
        gy = (np.float32(dy) + _HALF) - frac_y
        gy2 = gy * gy
        for dx in range(-k, k + 1):
            col = cx + dx
            if col < 0 or col >= W:
                continue
            gx = (np.float32(dx) + _HALF) - frac_x
            if gy2 + gx * gx <= reach2:
                grid[row, col] = True


@numba.njit(cache=True, parallel=True)
def mark_sight(pos, sight, own, visible):
    """pos [B, U, 2] float32 map units, sight [B, U] float32, own [B, U] bool (the player's living units); sets
    visible [B, H, W] (False on entry) where a cell's centre lies within a unit's sight of its centre."""
    B, U = own.shape
    for b in numba.prange(B):
        for u in range(U):
            if own[b, u]:
                _mark_unit_sight(pos[b, u, 0], pos[b, u, 1], sight[b, u], visible[b])


mark_sight = GamesKernel(mark_sight)


@numba.njit(cache=True)
def _mark_seen(kind, owner, alive, pos, sight, b, explored):
    """Add what each agent player of game b sees now to its explored cells, explored [B, A, H, W]
    (arena.interface.observation.remember_seen)."""
    for p in range(explored.shape[1]):
        for i in range(kind.shape[1]):
            if alive[b, i] and owner[b, i] == p:
                _mark_unit_sight(pos[b, i, 0], pos[b, i, 1], sight[kind[b, i]], explored[b, p])


@numba.njit(cache=True)
def _score_kills(died, owner, score, b, kill_slots, kill_weights, kills_by_owner):
    """Player 1's score += the weight of each slot range [kill_slots[k, 0], kill_slots[k, 1]) per death in it this
    loop (counted, then weighted and summed, as the rules do in float32); with `kills_by_owner`, each of players 1
    and 2 scores +1 per unit of the other that died (arena.scenarios.two_player.score_kills)."""
    total = np.float32(0.0)
    for k in range(kill_slots.shape[0]):
        count = 0
        for i in range(kill_slots[k, 0], kill_slots[k, 1]):
            if died[b, i]:
                count += 1
        total += np.float32(count) * kill_weights[k]
    score[b, 0, _SCORE] += total
    if kills_by_owner:
        lost_1 = 0
        lost_2 = 0
        for i in range(died.shape[1]):
            if died[b, i]:
                if owner[b, i] == _PLAYER_1:
                    lost_1 += 1
                elif owner[b, i] == _PLAYER_2:
                    lost_2 += 1
        score[b, 0, _SCORE] += np.float32(lost_2)
        score[b, 1, _SCORE] += np.float32(lost_1)


@numba.njit(cache=True, parallel=True)
def game_loops(G, T, bounds, economy, loops_left, stopped, on_death, near, reach, empty, kill_slots, kill_weights,
               kills_by_owner, fog, explored):
    """Game loops of every game [B, ...], in place: game b runs until its `loops_left[b]` reach 0, or stops
    (`stopped[b]`) after a loop after which its scenario's rule may act (on_death, near [4] slots, reach, empty [2]
    slots: arena.sim.rules.LoopTrigger; near[0] == near[1] and empty[0] == empty[1] switch those off). After the
    other loops the kernel scores kills itself (kill_slots [K, 2], kill_weights [K], kills_by_owner) and, with `fog`,
    adds what each player sees to `explored` [B, A, H, W]. `G.died` [B, U] holds the deaths of each game's last
    loop. The games are spread over numba's threads (with one thread this costs no more than a serial loop)."""
    B, U = G.kind.shape
    for b in numba.prange(B):
        sf = np.empty((8, U), dtype=np.float32)
        sb = np.empty((8, U), dtype=np.bool_)
        si = np.empty((3, U), dtype=np.int64)
        stopped[b] = _run_game(G, T, bounds, economy, b, sf, sb, si, loops_left, on_death, near, reach, empty,
                               kill_slots, kill_weights, kills_by_owner, fog, explored)


game_loops = GamesKernel(game_loops)


def _announce_first_compile() -> None:
    """Say so on stderr when this machine has no compiled kernel cached yet (the first call then compiles it). The
    cache is where numba keeps it: beside this file, or its user-wide fallback where that is not writable."""
    cache = getattr(game_loops.serial, "_cache", None)
    folder = Path(getattr(cache, "_cache_path", None) or os.environ.get("NUMBA_CACHE_DIR")
                  or Path(__file__).parent / "__pycache__")
    if not any(folder.glob("kernels.game_loops*.nbi")):
        print("arena: compiling the engine's game loop for this machine (numba; first use only, about a minute)",
              file=sys.stderr, flush=True)


_COMBAT_CHANGES = ("alive", "pos", "hp", "shields", "cooldown", "target", "order_kind", "order_pos", "order_unit",
                   "order_type", "selected", "control_groups", "score", "game_loop")
"""The fields one game loop of a combat scenario may change (copied before the kernel writes into them)."""
_ECONOMY_CHANGES = tuple(name for name in FIELDS if name not in ("rally",))
"""...and of a scenario with an economy (the rally point is read only)."""


def kernel_game_loop(state: State, params) -> tuple[State, torch.Tensor]:
    """`arena.sim.step.game_loop` as the compiled kernel: the new state and the units that died in the loop [B, U].
    CPU tensors only."""
    B = state.batch_size
    return _run_kernel(state, params, np.ones(B, dtype=np.int64), np.zeros(B, dtype=np.bool_), None, False)


def kernel_run_loops(state: State, params, loops: int, rule: LoopRule | None, trigger: LoopTrigger,
                     fog: bool = False) -> State:
    """`arena.sim.step.run_loops` in as few kernel calls as the rule allows: each game runs on inside the kernel
    until a loop after which `trigger` says its scenario's `rule` may act; the rule then runs (on the whole batch:
    it leaves the other games as they are, which is what a LoopTrigger promises), and the kernel carries on with
    each game's remaining loops. With `fog` the rule also remembers what the players see (as the environments'
    rule does under fog of war), and the kernel does so after the loops it does not stop at. CPU tensors only."""
    B = state.batch_size
    left = np.full(B, loops, dtype=np.int64)
    stopped = np.zeros(B, dtype=np.bool_)
    if rule is None:
        return _run_kernel(state, params, left, stopped, None, fog)[0]
    while True:
        state, died = _run_kernel(state, params, left, stopped, trigger, fog)
        if stopped.any():
            state = rule(state, died & torch.from_numpy(stopped.copy())[:, None])
        if not left.any():
            break
    if trigger.after_step:
        state = rule(state, torch.zeros_like(state.unit_alive))
    return state


def _slots(pair: tuple[int, int | None], units: int) -> tuple[int, int]:
    return pair[0], units if pair[1] is None else min(pair[1], units)


def _trigger_arrays(trigger: LoopTrigger | None, units: int) -> tuple:
    """The kernel's arguments for `trigger`: on_death, near [4] slots, reach, empty [2] slots, kill_slots [K, 2],
    kill_weights [K], kills_by_owner (empty ranges switch a test off)."""
    near, reach, empty = np.zeros(4, dtype=np.int64), np.float32(0.0), np.zeros(2, dtype=np.int64)
    kill_slots, kill_weights = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.float32)
    if trigger is None:
        return False, near, reach, empty, kill_slots, kill_weights, False
    if trigger.near is not None:
        first, second, distance = trigger.near
        near[:] = (*_slots(first, units), *_slots(second, units))
        reach = np.float32(distance + NEAR_MARGIN)
    if trigger.empty is not None:
        empty[:] = _slots(trigger.empty, units)
    if trigger.kill_scores:
        kill_slots = np.array([_slots(slots, units) for slots, _ in trigger.kill_scores], dtype=np.int64)
        kill_weights = np.array([weight for _, weight in trigger.kill_scores], dtype=np.float32)
    return trigger.on_death, near, reach, empty, kill_slots, kill_weights, trigger.kills_by_owner


NEAR_MARGIN = 1e-3
"""Map units added to a LoopTrigger's reach: the rules compare float32 square roots, the kernel squares; stopping a
game for nothing costs a rule call, missing one would change the game."""


def _run_kernel(state: State, params, loops_left: np.ndarray, stopped: np.ndarray, trigger: LoopTrigger | None,
                fog: bool) -> tuple[State, torch.Tensor]:
    """game_loops on copies of the fields it changes (and of `explored` with `fog`); `loops_left` and `stopped` [B]
    are updated in place."""
    if state.device.type != "cpu":
        raise ValueError(f"the kernel game loop runs on the CPU; the state is on {state.device}")
    follow_torch_threads()
    table = kernel_table(params.table)
    bounds = params.bounds.to(torch.float32).contiguous().numpy()
    changes = _ECONOMY_CHANGES if params.economy else _COMBAT_CHANGES
    # C-contiguous arrays only: numba compiles once per array layout, and a strided view would cost a compile.
    copies = {name: getattr(state, FIELDS[name]).clone(memory_format=torch.contiguous_format) for name in changes}
    died = torch.zeros_like(state.unit_alive, memory_format=torch.contiguous_format)
    arrays = Games(**{name: (copies[name] if name in copies else getattr(state, FIELDS[name]).contiguous()).numpy()
                      for name in FIELDS}, died=died.numpy())
    if not _called[0]:  # first call in this process: compiled now, or loaded from the cache
        _announce_first_compile()
        _called[0] = True
    explored = state.explored.clone(memory_format=torch.contiguous_format) if fog else _NO_FOG
    game_loops(state.batch_size, arrays, table.arrays(), bounds, bool(params.economy), loops_left, stopped,
               *_trigger_arrays(trigger, state.num_units), fog, explored.numpy())
    changed = {FIELDS[name]: value for name, value in copies.items()}
    return state.replace(**changed, **({"explored": explored} if fog else {})), died


_called = [False]
"""Whether game_loops was called in this process (asking numba, `game_loops.signatures`, costs 0.2 ms a call)."""

_NO_FOG = torch.zeros(1, 1, 1, 1, dtype=torch.bool)
"""What the kernel gets for `explored` without fog (one array type: one compiled kernel)."""


_threads = [0]


def follow_torch_threads() -> None:
    """Run the kernel's games on as many threads as torch uses in this process (arena.threads: one by default)."""
    wanted = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)
    if wanted != _threads[0]:
        numba.set_num_threads(wanted)
        _threads[0] = wanted


_TABLES: dict[int, tuple[UnitTable, KernelTable]] = {}
"""Kernel tables by id of their UnitTable (which `unit_table` makes once per device), the table kept alive with it."""


def kernel_table(table: UnitTable) -> KernelTable:
    """The kernel's copy of `table` (made once per table)."""
    cached = _TABLES.get(id(table))
    if cached is None or cached[0] is not table:
        cached = _TABLES[id(table)] = (table, KernelTable.of(table))
    return cached[1]
