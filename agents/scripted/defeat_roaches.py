"""DefeatRoaches: draw the Roaches out one at a time and kill each with the whole army.

The Roaches stand idle in a short line until a Marine comes within their sight (9 beyond both radii). The army
waits out of sight; one Marine (the bait) walks to a point at the edge of the map from where only the Roach at the
end of the line sees it, and as soon as a Roach moves, walks back. The Roaches that follow it meet the whole army,
which focuses them one by one and then holds position. Then the next one. Should more Roaches come, the army still
focuses them one by one.
"""

from __future__ import annotations

import enum

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.focus_fire import STICKY_TAG_NONE, focus_target, target_tag
from agents.scripted.units import INF, ScreenUnits, centroid, gather_rows
from arena.interface.actions import BatchedAction
from arena.interface.functions import ABILITY_HOLD, FunctionId
from arena.interface.view import SCREEN_LAYERS

PX_PER_UNIT = 64 / 24
"""Screen pixels per map unit at the default camera width."""
PATHABLE = SCREEN_LAYERS.index("pathable")
PX_PER_HP = 3.0
"""Among the Roaches that come, one a pixel further away counts as 3 HP more."""
BAIT_DISTANCE = 9.45 * PX_PER_UNIT
"""The bait stands this far from the end Roach: inside its sight (9 + 0.5 + 0.375 = 9.875 centre to centre), and
on the map's edge, where the next Roach of the line is about 10.1 away."""
BAIT_STEP_IN = 0.3 * PX_PER_UNIT
"""When no Roach comes, the bait tries again this much closer."""
EDGE_MARGIN = 0.6 * PX_PER_UNIT
"""The bait's point stays this far inside the playable area."""
ARMY_DISTANCE = 12.5 * PX_PER_UNIT
"""The army waits this far from the end Roach (out of every Roach's sight)."""
ARRIVED = 2.0 * PX_PER_UNIT
"""The army has arrived when its centre is this close to its point."""
MOVED_PX = 0.5
"""A Roach that moves this much (pixels) in a step has seen a Marine: it comes, and stays active."""
PATIENCE = 3
"""Agent steps the bait waits at its point before stepping in."""


class Phase(enum.IntEnum):
    GATHER = 0  # select the army and send it to its waiting point
    GATHER_HOLD = 1  # queue hold position
    SETTLE = 2  # wait until it is there, then select the bait
    BAIT_GO = 3  # send the bait to its point
    BAIT_WAIT = 4  # wait until a Roach comes
    BAIT_RETURN = 5  # bring the bait back to the army
    BAIT_HOLD = 6  # queue hold position for the bait
    FIGHT = 7  # select the army, focus the Roaches that came, hold position after each


def playable_box(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """[B, 4] (x0, y0, x1, y1) screen pixels of the playable area (the pathable layer's extent)."""
    pathable = obs["feature_screen"][:, PATHABLE] > 0  # [B, H, W]
    cols, rows = pathable.any(dim=1), pathable.any(dim=2)
    index = torch.arange(pathable.shape[-1], device=pathable.device, dtype=torch.float32)

    def extent(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.where(mask, index, INF).amin(dim=1), torch.where(mask, index, -INF).amax(dim=1) + 1.0

    x0, x1 = extent(cols)
    y0, y1 = extent(rows)
    return torch.stack([x0, y0, x1, y1], dim=-1)


def end_of_line(units: ScreenUnits, idle: torch.Tensor, box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The idle Roach at the end of the line with more room to the map's edge beyond it: (row [B], down [B] bool,
    True when it is the lowest one on the screen)."""
    y = units.pos[..., 1]
    low_row = torch.where(idle, y, -INF).argmax(dim=1)  # largest pixel y: lowest on the map
    high_row = torch.where(idle, y, INF).argmin(dim=1)
    room_down = box[:, 3] - gather_rows(y, low_row)
    room_up = gather_rows(y, high_row) - box[:, 1]
    down = room_down >= room_up
    return torch.where(down, low_row, high_row), down


def bait_and_army_points(end: torch.Tensor, down: torch.Tensor, toward: torch.Tensor, box: torch.Tensor,
                         reach: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the bait stands (on the map's edge, `reach` [B] pixels from the end Roach at `end` [B, 2]) and where the
    army waits (further out towards the army's side `toward` [B] = +1 or -1 in x), both [B, 2] pixels."""
    edge_y = torch.where(down, box[:, 3] - EDGE_MARGIN, box[:, 1] + EDGE_MARGIN)
    dy = (edge_y - end[:, 1]).abs().clamp(max=reach - 1e-3)
    dx = torch.sqrt(reach ** 2 - dy ** 2)
    sign_y = torch.where(down, 1.0, -1.0)
    bait = torch.stack([end[:, 0] + toward * dx, end[:, 1] + sign_y * dy], dim=-1)
    army = torch.stack([end[:, 0] + toward * ARMY_DISTANCE, end[:, 1] + sign_y * 2.0 * PX_PER_UNIT], dim=-1)
    low, high = box[:, :2] + EDGE_MARGIN, box[:, 2:] - EDGE_MARGIN
    return torch.maximum(torch.minimum(bait, high), low), torch.maximum(torch.minimum(army, high), low)


class DefeatRoachesAgent(BatchedAgent):
    """Pull the Roaches one at a time with a bait Marine; focus fire on those that come."""

    name = "scripted-DefeatRoaches"

    def __init__(self) -> None:
        self.memory: dict[str, torch.Tensor] | None = None

    def reset(self, num_envs: int) -> None:
        self.memory = None

    def _remember(self, units: ScreenUnits, first: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-game memory; forgets games that begin an episode or a wave, and marks the Roaches that moved."""
        B, U = units.exists.shape
        device = first.device
        if self.memory is None or self.memory["phase"].shape != (B,) or self.memory["active"].shape != (B, U):
            self.memory = {
                "phase": torch.zeros(B, dtype=torch.long, device=device),
                "enemies": torch.zeros(B, dtype=torch.long, device=device),
                "pos": units.pos.clone(), "tag": units.tag.clone(),
                "active": torch.zeros(B, U, dtype=torch.bool, device=device),
                "army": torch.zeros(B, 2, device=device), "bait": torch.full((B,), STICKY_TAG_NONE, device=device),
                "reach": torch.full((B,), BAIT_DISTANCE, device=device),
                "wait": torch.zeros(B, dtype=torch.long, device=device),
                "target": torch.full((B,), STICKY_TAG_NONE, device=device),
                "attacked": torch.full((B,), STICKY_TAG_NONE, device=device),
                "held": torch.zeros(B, dtype=torch.bool, device=device),
            }
        m = self.memory
        enemies = units.enemy.sum(dim=1)
        new_wave = first | (enemies > m["enemies"])
        same = units.enemy & (units.tag == m["tag"])
        moved = same & (torch.linalg.vector_norm(units.pos - m["pos"], dim=-1) > MOVED_PX)
        m["active"] = ((m["active"] & same) | moved) & ~new_wave[:, None]
        m["pos"], m["tag"], m["enemies"] = units.pos.clone(), units.tag.clone(), enemies
        m["phase"] = torch.where(new_wave, int(Phase.GATHER), m["phase"])
        m["reach"] = torch.where(new_wave, BAIT_DISTANCE, m["reach"])
        for key in ("target", "attacked", "bait"):
            m[key] = torch.where(new_wave, STICKY_TAG_NONE, m[key])
        return m

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        units = ScreenUnits.read(obs)
        m = self._remember(units, first)
        B, device = first.shape[0], first.device
        size = int(obs["feature_screen"].shape[-1])
        can = obs["available_actions"].bool()
        own, selected = units.own, units.own & units.selected
        active, idle = units.enemy & m["active"], units.enemy & ~m["active"]
        has_active = active.any(dim=1)
        phase = m["phase"]
        early = (phase == Phase.GATHER) | (phase == Phase.GATHER_HOLD) | (phase == Phase.SETTLE)
        baiting = (phase == Phase.BAIT_GO) | (phase == Phase.BAIT_WAIT)
        phase = torch.where(has_active & early, int(Phase.FIGHT), phase)
        phase = torch.where(has_active & baiting, int(Phase.BAIT_RETURN), phase)
        phase = torch.where(~has_active & (phase == Phase.FIGHT), int(Phase.GATHER), phase)
        lone_row = selected.long().argmax(dim=1)
        bait_selected = (selected.sum(dim=1) == 1) & (gather_rows(units.tag, lone_row) == m["bait"])
        with_bait = (phase >= Phase.BAIT_GO) & (phase <= Phase.BAIT_HOLD)
        phase = torch.where(with_bait & ~bait_selected, torch.where(has_active, int(Phase.FIGHT),
                                                                     int(Phase.GATHER)), phase)

        box = playable_box(obs)
        end_row, down = end_of_line(units, idle, box)
        toward = torch.where(centroid(units.pos, own)[:, 0] < gather_rows(units.pos, end_row)[:, 0], -1.0, 1.0)
        bait_point, army_point = bait_and_army_points(gather_rows(units.pos, end_row), down, toward, box, m["reach"])
        all_selected = ~(own & ~units.selected).any(dim=1)
        army = centroid(units.pos, own)
        holding = ((units.order_ids[..., 0] == ABILITY_HOLD) | ~own).all(dim=1)
        arrived = holding | (torch.linalg.vector_norm(army - m["army"], dim=-1) <= ARRIVED)
        bait_row = torch.where(own, -units.health * 100.0 + torch.linalg.vector_norm(
            units.pos - bait_point[:, None], dim=-1), INF).argmin(dim=1)
        bait_idle = (gather_rows(units.order_length, lone_row) == 0) | gather_rows(
            units.order_ids[..., 0] == ABILITY_HOLD, lone_row)

        row, found = focus_target(units, active, m["target"], px_per_hp=PX_PER_HP)
        m["target"] = target_tag(units, row, found)
        attack = commands.screen_command(FunctionId.Attack_screen, gather_rows(units.pos, row), size)
        hold_queued = BatchedAction.make(int(FunctionId.HoldPosition_quick), batch=B, device=device, queued=1)

        P = Phase
        gather_select = (phase == P.GATHER) & ~all_selected
        gather_move = (phase == P.GATHER) & all_selected & idle.any(dim=1)
        settle_pick = (phase == P.SETTLE) & arrived
        wait_over = (phase == P.BAIT_WAIT) & bait_idle & (m["wait"] >= PATIENCE)
        fight_select = (phase == P.FIGHT) & ~all_selected
        fight_attack = (phase == P.FIGHT) & all_selected & found & (m["attacked"] != m["target"])
        fight_hold = (phase == P.FIGHT) & all_selected & ~fight_attack & ~m["held"]

        m["army"] = torch.where(gather_move[:, None], army_point, m["army"])
        m["bait"] = torch.where(settle_pick, gather_rows(units.tag, bait_row), m["bait"])
        m["reach"] = torch.where(wait_over, (m["reach"] - BAIT_STEP_IN).clamp(min=BAIT_DISTANCE / 2), m["reach"])
        m["wait"] = torch.where(phase == P.BAIT_WAIT, m["wait"] + bait_idle.long(), 0)
        m["attacked"] = torch.where(fight_attack, m["target"], m["attacked"])
        m["held"] = torch.where(fight_attack, False, m["held"] | fight_hold)
        step = {P.GATHER: gather_move, P.GATHER_HOLD: True, P.SETTLE: settle_pick, P.BAIT_GO: True,
                P.BAIT_RETURN: True, P.BAIT_HOLD: True}
        advanced = phase.clone()
        for p, go in step.items():
            advanced = torch.where((phase == p) & go, int(p) + 1, advanced)
        m["phase"] = torch.where(wait_over, int(P.BAIT_GO), torch.where(phase == P.BAIT_HOLD, int(P.FIGHT),
                                                                             advanced))
        move = lambda point: commands.screen_command(FunctionId.Move_screen, point, size)  # noqa: E731
        return commands.choose([
            (gather_select | fight_select, commands.select_army(B, device)),
            (gather_move, move(army_point)),
            ((phase == P.GATHER_HOLD) | (phase == P.BAIT_HOLD) | fight_hold, hold_queued),
            (settle_pick, commands.select_point(gather_rows(units.pos, bait_row), size)),
            ((phase == P.BAIT_GO) | wait_over, move(bait_point)),
            (phase == P.BAIT_RETURN, move(m["army"])),
            (fight_attack & can[:, int(FunctionId.Attack_screen)], attack),
        ], commands.no_op(B, device))
