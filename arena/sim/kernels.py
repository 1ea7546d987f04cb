"""The combat game loop as one compiled kernel (numba): every game of a batch advanced by one game loop in a single
call, each game's units looped over in registers and cache instead of as [B, U, U] pair tensors, games spread over
the CPU's threads (`prange`).

The rules are those of the torch passes (arena.sim.step.game_loop: targeting, weapons, movement, collisions, orders,
regeneration, kills), which stay as the reference the tests compare this kernel against, loop by loop, from random
states of every combat scenario. Scenarios with an economy (workers, production) run the torch passes.

The kernel works in place on copies of the State's tensors it changes (`.numpy()` views share their storage), so a
State stays immutable to its callers. It is compiled on first use and cached on disk (numba `cache=True`).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numba
import numpy as np
import torch

from arena.sim.state import State
from arena.sim.units import UnitTable

if "NUMBA_THREADING_LAYER" not in os.environ:
    # numba's OpenMP layer shares the process's OpenMP runtime with torch: starting its pool resets torch's thread
    # count (torch.get_num_threads() went from 1 to 2), and its sleeping workers cost ~1 ms to wake per call.
    numba.config.THREADING_LAYER = "workqueue"

# The rules' constants, written out: numba freezes globals into its on-disk cache, which only notices edits to this
# file, so they live here as literals; tests/arena/test_kernels.py checks each against the torch passes' own.
_NONE, _MOVE, _ATTACK_MOVE, _ATTACK_UNIT, _HOLD, _GATHER, _RETURN = 0, 1, 2, 3, 4, 5, 6  # arena.sim.state.Order
_PLAYER_1, _PLAYER_2, _NEUTRAL = 0, 1, 2  # arena.sim.state.Owner
_KILLED = 5  # Score.KILLED_VALUE_UNITS
_SLACK = np.float32(1e-3)  # arena.sim.geometry.RANGE_SLACK
_LOW_PRIORITY = np.float32(1000.0)  # arena.sim.targeting.LOW_PRIORITY
_ARRIVAL = np.float32(0.1)  # arena.sim.movement.ARRIVAL_DISTANCE
_CROWD_ARRIVAL = np.float32(1.5)  # arena.sim.movement.CROWD_ARRIVAL_DISTANCE
_GOLDEN = np.float32(2.399963)  # arena.sim.movement.GOLDEN_ANGLE
_MIN_LENGTH = np.float32(1e-6)  # arena.sim.movement.move_units: shorter offsets count as this long
_STUCK = np.float32(0.25)  # arena.sim.movement.arrivals: progress under this many loops of speed is stuck

CONSTANTS = {"Order.NONE": _NONE, "Order.MOVE": _MOVE, "Order.ATTACK_MOVE": _ATTACK_MOVE,
             "Order.ATTACK_UNIT": _ATTACK_UNIT, "Order.HOLD": _HOLD, "Order.GATHER": _GATHER,
             "Order.RETURN": _RETURN, "Owner.PLAYER_1": _PLAYER_1, "Owner.PLAYER_2": _PLAYER_2,
             "Owner.NEUTRAL": _NEUTRAL, "Score.KILLED_VALUE_UNITS": _KILLED, "RANGE_SLACK": float(_SLACK),
             "LOW_PRIORITY": float(_LOW_PRIORITY), "ARRIVAL_DISTANCE": float(_ARRIVAL),
             "CROWD_ARRIVAL_DISTANCE": float(_CROWD_ARRIVAL), "GOLDEN_ANGLE": float(_GOLDEN)}
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

    @staticmethod
    def of(table: UnitTable) -> "KernelTable":
        from arena.sim.combat import damage_by_type_pair

        def f32(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().to(torch.float32).numpy())

        def boolean(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().bool().numpy())

        raw, armored = damage_by_type_pair(table)
        return KernelTable(
            range=f32(table.range), sight=f32(table.sight), radius=f32(table.radius), speed=f32(table.speed),
            cooldown=f32(table.cooldown), splash_radius=f32(table.splash_radius), regen=f32(table.regen),
            max_hp=f32(table.max_hp), value=f32(table.value), armed=boolean(table.armed),
            threat=boolean(table.armed | table.worker), worker=boolean(table.worker), mobile=boolean(table.mobile),
            collides=boolean(table.collides), suicide=boolean(table.suicide), raw_damage=f32(raw),
            armored_damage=f32(armored))


@numba.njit(cache=True, inline="always")
def _within(dx, dy, limit):
    """Whether sqrt(dx^2 + dy^2) may be <= `limit`: a cheap, conservative test before the exact one (the torch
    passes compare float32 square roots; squares with a margin never reject a pair they would accept)."""
    reach = limit * np.float32(1.0001) + np.float32(1e-4)
    return reach > 0 and dx * dx + dy * dy <= reach * reach


@numba.njit(cache=True)
def combat_loop_one_game(kind, owner, alive, pos, hp, shields, cooldown, target, order_kind, order_pos,
                         order_unit, order_type, score, died, bounds,
                         t_range, t_sight, t_radius, t_speed, t_cooldown, t_splash, t_regen, t_max_hp, t_value,
                         t_armed, t_threat, t_worker, t_mobile, t_collides, t_suicide, raw_damage, armored_damage,
                         scratch_f, scratch_b):
    """One game loop of one game, in place (the arguments are that game's rows; `scratch_f` [8, U] float32 and
    `scratch_b` [4, U] bool are work space). The passes of arena.sim.step.game_loop, in its order."""
    U = kind.shape[0]
    Q = order_kind.shape[1]
    x0, y0 = scratch_f[0], scratch_f[1]  # positions at the start of the loop
    radius = scratch_f[2]
    total_raw, total_armored = scratch_f[3], scratch_f[4]
    new_x, new_y = scratch_f[5], scratch_f[6]
    alive_before, fighter, firing, blast = scratch_b[0], scratch_b[1], scratch_b[2], scratch_b[3]
    for i in range(U):
        x0[i] = pos[i, 0]
        y0[i] = pos[i, 1]
        radius[i] = t_radius[kind[i]]
        alive_before[i] = alive[i]
        fighter[i] = alive[i] and owner[i] != _NEUTRAL  # may be hostile to someone

    # Targeting (arena.sim.targeting.acquire_targets), on the geometry at the start of the loop.
    for i in range(U):
        k = kind[i]
        if not (t_armed[k] and alive_before[i]):
            target[i] = -1
            continue
        order = order_kind[i, 0]
        weapon_range = t_range[k] + _SLACK
        holding = order == _HOLD
        acquire = weapon_range if holding else max(weapon_range, t_sight[k])
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
                edge = np.float32(math.sqrt(dx * dx + dy * dy)) - radius[i] - radius[j]
                if j == current and edge <= weapon_range:
                    keep = True
                if edge <= acquire:
                    rank = edge if t_threat[kind[j]] else edge + _LOW_PRIORITY
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
        if t < 0 or not alive_before[i] or cooldown[i] > 0.0 or not alive_before[t]:
            continue
        dx = x0[t] - x0[i]
        dy = y0[t] - y0[i]
        edge = np.float32(math.sqrt(dx * dx + dy * dy)) - radius[i] - radius[t]
        if edge > t_range[k] + _SLACK:
            continue
        firing[i] = True
        if t_suicide[k]:
            blast[i] = True
        else:
            total_raw[t] += raw_damage[k, kind[t]]
            total_armored[t] += armored_damage[k, kind[t]]
    for i in range(U):
        if not blast[i] or not fighter[i]:
            continue
        k = kind[i]
        for j in range(U):
            if not fighter[j] or owner[j] == owner[i]:
                continue
            dx = x0[j] - x0[i]
            dy = y0[j] - y0[i]
            reach = t_splash[k] + radius[j]
            if _within(dx, dy, reach) and np.float32(math.sqrt(dx * dx + dy * dy)) <= reach:
                total_raw[j] += raw_damage[k, kind[j]]
                total_armored[j] += armored_damage[k, kind[j]]
    for i in range(U):
        to_shields = min(shields[i], total_raw[i])
        hp[i] = hp[i] - max(total_armored[i] - to_shields, np.float32(0.0))
        shields[i] = shields[i] - to_shields
        alive[i] = alive_before[i] and hp[i] > 0.0 and not blast[i]
        if firing[i]:
            cooldown[i] = cooldown[i] + t_cooldown[kind[i]] - np.float32(1.0)
        elif cooldown[i] > 0.0:
            cooldown[i] = cooldown[i] - np.float32(1.0)
        else:
            cooldown[i] = 0.0

    # Movement (arena.sim.movement.move_units), towards the target or the order's point.
    for i in range(U):
        k = kind[i]
        order = order_kind[i, 0]
        t = target[i]
        new_x[i] = x0[i]
        new_y[i] = y0[i]
        if order == _HOLD or not t_mobile[k] or not alive[i]:
            continue
        if t >= 0:
            goal_x, goal_y = x0[t], y0[t]
            dx = goal_x - x0[i]
            dy = goal_y - y0[i]
            edge = np.float32(math.sqrt(dx * dx + dy * dy)) - radius[i] - radius[t]
            wanted = max(edge - t_range[k], np.float32(0.0))
        else:
            goal_x, goal_y = order_pos[i, 0, 0], order_pos[i, 0, 1]
            if order == _MOVE or order == _ATTACK_MOVE:
                ox = goal_x - x0[i]
                oy = goal_y - y0[i]
                wanted = np.float32(math.sqrt(ox * ox + oy * oy))
            else:
                wanted = np.float32(0.0)
        dx = goal_x - x0[i]
        dy = goal_y - y0[i]
        length = max(np.float32(math.sqrt(dx * dx + dy * dy)), _MIN_LENGTH)
        step = min(wanted, t_speed[k]) / length
        new_x[i] = x0[i] + dx * step
        new_y[i] = y0[i] + dy * step

    # Collisions (arena.sim.movement.separate_units): overlapping ground units push apart, then stay in bounds.
    solid = fighter  # reused: fighters are done with
    for i in range(U):
        order = order_kind[i, 0]
        solid[i] = alive[i] and t_collides[kind[i]] and not (
            t_worker[kind[i]] and (order == _GATHER or order == _RETURN))
    for i in range(U):
        pos[i, 0] = new_x[i]
        pos[i, 1] = new_y[i]
        if not solid[i]:
            continue
        mobile_i = t_mobile[kind[i]]
        push_x = np.float32(0.0)
        push_y = np.float32(0.0)
        for j in range(U):
            if j == i or not solid[j]:
                continue
            dx = new_x[j] - new_x[i]
            dy = new_y[j] - new_y[i]
            reach = radius[i] + radius[j]
            if not _within(dx, dy, reach):
                continue
            dist = np.float32(math.sqrt(dx * dx + dy * dy))
            if dist >= reach:
                continue
            share = (np.float32(0.5) if t_mobile[kind[j]] else np.float32(1.0)) if mobile_i else np.float32(0.0)
            half_overlap = (reach - dist) * share
            if dist <= _MIN_LENGTH:
                tie = half_overlap if i < j else -half_overlap
                angle = np.float32(i + j) * _GOLDEN
                push_x += tie * np.float32(math.cos(angle))
                push_y += tie * np.float32(math.sin(angle))
            else:
                scale = half_overlap / dist
                push_x += dx * scale
                push_y += dy * scale
        r = radius[i]
        pos[i, 0] = min(max(new_x[i] - push_x, bounds[0] + r), bounds[2] - r)
        pos[i, 1] = min(max(new_y[i] - push_y, bounds[1] + r), bounds[3] - r)

    # Orders (arena.sim.movement.arrivals, step.dead_targets, orders.pop_orders), regeneration, kills.
    lost_1 = np.float32(0.0)
    lost_2 = np.float32(0.0)
    for i in range(U):
        k = kind[i]
        order = order_kind[i, 0]
        done = False
        if alive[i] and (order == _MOVE or (order == _ATTACK_MOVE and target[i] < 0)):
            px, py = order_pos[i, 0, 0], order_pos[i, 0, 1]
            nx, ny = px - pos[i, 0], py - pos[i, 1]
            bx, by = px - x0[i], py - y0[i]
            now = np.float32(math.sqrt(nx * nx + ny * ny))
            then = np.float32(math.sqrt(bx * bx + by * by))
            stuck = (then - now) < _STUCK * t_speed[k]
            done = now <= _ARRIVAL or (stuck and now <= _CROWD_ARRIVAL)
        if order == _ATTACK_UNIT:
            ordered = order_unit[i, 0]
            done = done or ordered < 0 or not alive[ordered]
        if done:
            for q in range(Q - 1):
                order_kind[i, q] = order_kind[i, q + 1]
                order_pos[i, q, 0] = order_pos[i, q + 1, 0]
                order_pos[i, q, 1] = order_pos[i, q + 1, 1]
                order_unit[i, q] = order_unit[i, q + 1]
                order_type[i, q] = order_type[i, q + 1]
            order_kind[i, Q - 1] = 0
            order_unit[i, Q - 1] = -1
            order_type[i, Q - 1] = 0
        if alive[i]:
            hp[i] = min(hp[i] + t_regen[k], t_max_hp[k])
        died[i] = alive_before[i] and not alive[i]
        if died[i]:
            if owner[i] == _PLAYER_1:
                lost_1 += t_value[k]
            elif owner[i] == _PLAYER_2:
                lost_2 += t_value[k]
        if not alive[i]:
            target[i] = -1
            for q in range(Q):
                order_kind[i, q] = 0
    score[0, _KILLED] += lost_2
    score[1, _KILLED] += lost_1


@numba.njit(cache=True, parallel=True)
def combat_loop(kind, owner, alive, pos, hp, shields, cooldown, target, order_kind, order_pos, order_unit,
                order_type, selected, control_groups, score, game_loop, died, bounds,
                t_range, t_sight, t_radius, t_speed, t_cooldown, t_splash, t_regen, t_max_hp, t_value,
                t_armed, t_threat, t_worker, t_mobile, t_collides, t_suicide, raw_damage, armored_damage):
    """One game loop of every game [B, ...], in place; `died` [B, U] is written."""
    B, U = kind.shape
    for b in numba.prange(B):
        scratch_f = np.empty((8, U), dtype=np.float32)
        scratch_b = np.empty((4, U), dtype=np.bool_)
        combat_loop_one_game(kind[b], owner[b], alive[b], pos[b], hp[b], shields[b], cooldown[b], target[b],
                             order_kind[b], order_pos[b], order_unit[b], order_type[b], score[b], died[b], bounds,
                             t_range, t_sight, t_radius, t_speed, t_cooldown, t_splash, t_regen, t_max_hp, t_value,
                             t_armed, t_threat, t_worker, t_mobile, t_collides, t_suicide, raw_damage,
                             armored_damage, scratch_f, scratch_b)
        for a in range(selected.shape[1]):
            for u in range(U):
                if not alive[b, u]:
                    selected[b, a, u] = False
                    for g in range(control_groups.shape[2]):
                        control_groups[b, a, g, u] = False
        game_loop[b] += 1


_CHANGED = ("unit_alive", "unit_pos", "unit_hp", "unit_shields", "unit_cooldown", "unit_target", "order_kind",
            "order_pos", "order_unit", "order_type", "selected", "control_groups", "score", "game_loop")
"""The State fields one combat game loop may change (copied before the kernel writes into them)."""


def kernel_game_loop(state: State, params) -> tuple[State, torch.Tensor]:
    """`arena.sim.step.game_loop` for scenarios without an economy, as the compiled kernel: the new state and the
    units that died in the loop [B, U]. CPU tensors only."""
    if params.economy:
        raise ValueError("the kernel game loop runs combat scenarios only; economy scenarios use the torch passes")
    if state.device.type != "cpu":
        raise ValueError(f"the kernel game loop runs on the CPU; the state is on {state.device}")
    _follow_torch_threads()
    table = kernel_table(params.table)
    bounds = params.bounds.to(torch.float32).contiguous().numpy()
    changed = {name: getattr(state, name).clone() for name in _CHANGED}
    died = torch.zeros_like(state.unit_alive)
    n = {name: value.numpy() for name, value in changed.items()}
    combat_loop(state.unit_type.numpy(), state.unit_owner.numpy(), n["unit_alive"], n["unit_pos"], n["unit_hp"],
                n["unit_shields"], n["unit_cooldown"], n["unit_target"], n["order_kind"], n["order_pos"],
                n["order_unit"], n["order_type"], n["selected"], n["control_groups"], n["score"], n["game_loop"],
                died.numpy(), bounds,
                table.range, table.sight, table.radius, table.speed, table.cooldown, table.splash_radius, table.regen,
                table.max_hp, table.value, table.armed, table.threat, table.worker, table.mobile, table.collides,
                table.suicide, table.raw_damage, table.armored_damage)
    return state.replace(**changed), died


_threads = [0]


def _follow_torch_threads() -> None:
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
