"""A parameterised Terran macro bot for the full game (FullGame): it mines, trains SCVs, builds Supply Depots and
Barracks, trains Marines, defends its base and attacks when its army is big enough.

It plays through pysc2 function calls only, one per agent step, and reads only its own observation: the `player`
vector (minerals, food used and cap, idle workers, army count), feature_units (what is on its screen) and the
minimap. The camera never moves: it stays over the bot's own town hall, where the scenario puts it, so the whole base
is on the screen and every structure goes on a fixed spot (mirrored on the right side). The army is commanded on the
minimap (select_army, Attack_minimap).

Every action is a step of a plan: select the unit that can do it (select_point on an SCV, on the Command Center, on
every Barracks at once; select_army), then give the command on a later step. The wishes are taken in a fixed order
(defend, send a builder back to mining, idle workers, supply, SCVs, Barracks, Marines, attack), the first that
applies wins, and a wish whose unit is already selected gives its command at once, so the bot wastes no action on
a selection it does not use. A Build order goes only to an SCV that is gathering: the last builder, still selected,
would otherwise leave its structure unfinished (Terran structures grow only while an SCV builds them). A `BotConfig`
sets the economy, production, timing and reaction speed.
"""

from __future__ import annotations

import dataclasses

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.find_and_defeat_zerglings import ENEMY, PLAYER_RELATIVE, nearest_pixel
from arena.interface.actions import BatchedAction
from arena.interface.functions import FunctionId
from arena.interface.unit_list import FeatureUnit
from arena.sim.units import UNIT_SPECS, UnitType

MINERALS, FOOD_USED, FOOD_CAP, IDLE_WORKERS, ARMY_COUNT = 1, 3, 4, 7, 8
"""Indices into pysc2's `player` vector."""
CAMERA_WIDTH = 24.0
MAP_SIZE = 64.0
MINERAL_FIELD_ID = UNIT_SPECS[UnitType.MINERAL_FIELD].pysc2_id
SCV_ID = UNIT_SPECS[UnitType.SCV].pysc2_id
CC_ID = UNIT_SPECS[UnitType.COMMAND_CENTER].pysc2_id
DEPOT_ID = UNIT_SPECS[UnitType.SUPPLY_DEPOT].pysc2_id
BARRACKS_ID = UNIT_SPECS[UnitType.BARRACKS].pysc2_id
LOOPS_PER_MINUTE = 22.4 * 60
DEPOT_SPOTS = ((17.0, 23.0), (19.0, 23.0), (21.0, 23.0), (23.0, 23.0), (17.0, 42.0), (19.0, 42.0), (21.0, 42.0),
               (23.0, 42.0))
"""Supply Depot centres (2 x 2) in the left base, in the order they are built; the right base's are mirrored."""
BARRACKS_SPOTS = ((18.5, 30.5), (18.5, 35.5), (22.5, 30.5), (22.5, 35.5), (22.5, 25.5))
"""Barracks centres (3 x 3) in the left base."""
RALLY_SPOT = (23.5, 33.0)
"""Where Barracks with `rally_army` send their Marines: in front of the base, between the Barracks and the ramp-less
open side facing the enemy (mirrored on the right side)."""
BUILD_PATIENCE_STEPS = 16
"""Agent steps to wait after a Build order before giving another of the same kind (the SCV walks to the site)."""
ATTACK_REPEAT_STEPS = 12
"""An attacking army is given a new attack-move at most this often (and whenever new units joined it)."""
DEFEND_REPEAT_STEPS = 4


@dataclasses.dataclass(frozen=True)
class BotConfig:
    """How a bot plays."""

    act_every: int = 1
    """Reaction speed: the bot acts on every k-th agent step and no-ops in between."""
    workers: int = 20
    """SCVs to have."""
    barracks: int = 3
    """Barracks to build."""
    barracks_after_workers: int = 0
    """Build Barracks only once this many SCVs exist (greedy play)."""
    attack_army: int = 12
    """Marines needed to start attacking."""
    attack_after_minute: float = 0.0
    """Game minutes before the first attack (turtles wait)."""
    defend: bool = True
    """Attack enemies that come on the screen (the home base) with the whole army."""
    retreat_below: int = 0
    """An attack is called off (the army comes home) when the army drops below this many units."""
    queue_marines: int = 2
    """Marines queued per Barracks at most (money is locked in the queues)."""
    queue_scvs: int = 2
    """SCVs queued at the Command Center at most (1: the next is ordered when one is done)."""
    rally_army: bool = False
    """Rally the Barracks to a spot in front of the base, so that the army waits there in one group (and meets an
    attack together) instead of standing where each Marine was made."""


LEVELS: dict[int, BotConfig] = {
    1: BotConfig(act_every=8, workers=14, barracks=1, attack_army=12, defend=False, queue_marines=1, queue_scvs=1),
    2: BotConfig(act_every=5, workers=16, barracks=2, attack_army=12, queue_marines=1, queue_scvs=1),
    3: BotConfig(act_every=3, workers=18, barracks=3, attack_army=12, queue_marines=1, queue_scvs=1),
    4: BotConfig(act_every=2, workers=18, barracks=3, attack_army=12, queue_marines=1, queue_scvs=1, rally_army=True),
    5: BotConfig(act_every=1, workers=18, barracks=5, attack_army=12, queue_marines=1, queue_scvs=1, rally_army=True),
}
"""Difficulty levels: every level attacks with 12 Marines; lower levels react more slowly and have fewer workers and
Barracks, level 1 does not defend, levels 4 and 5 gather their army in front of the base."""
STRATEGIES: dict[str, BotConfig] = {
    "rush": BotConfig(act_every=1, workers=12, barracks=2, attack_army=4, defend=False),
    "greedy": BotConfig(act_every=1, workers=24, barracks=5, barracks_after_workers=20, attack_army=30),
    "turtle": BotConfig(act_every=1, workers=16, barracks=3, attack_army=24, attack_after_minute=6.0, defend=True,
                        retreat_below=0, rally_army=True),
}
"""Strategies: rush (early Marines, no economy), greedy (economy first, a big late army), turtle (defends at home with
its army gathered in front of the base, attacks late)."""


def bot_config(name: str) -> BotConfig:
    """The config of `name`: a level "1".."5" or a strategy ("rush", "greedy", "turtle")."""
    if name.isdigit() and int(name) in LEVELS:
        return LEVELS[int(name)]
    if name in STRATEGIES:
        return STRATEGIES[name]
    known = [str(level) for level in LEVELS] + list(STRATEGIES)
    raise ValueError(f"unknown bot {name!r}; known bots: {', '.join('bot:' + k for k in known)}")


@dataclasses.dataclass
class OwnUnits:
    """What the bot reads of feature_units: rows [B, U] of its own units by kind, positions in screen pixels."""

    pos: torch.Tensor  # [B, U, 2]
    kind: torch.Tensor  # [B, U] pysc2 unit type ids
    own: torch.Tensor  # [B, U]
    enemy: torch.Tensor  # [B, U]
    selected: torch.Tensor  # [B, U]
    done: torch.Tensor  # [B, U] finished (build_progress 100)
    orders: torch.Tensor  # [B, U] order_length (structures: their training queue)

    @classmethod
    def read(cls, obs: dict[str, torch.Tensor]) -> "OwnUnits":
        units = obs["feature_units"]
        present = obs["feature_units_mask"].bool()
        alliance = units[..., int(FeatureUnit.alliance)]
        return cls(pos=units[..., [int(FeatureUnit.x), int(FeatureUnit.y)]] + 0.5,
                   kind=units[..., int(FeatureUnit.unit_type)].long(),
                   own=present & (alliance == 1), enemy=present & (alliance == 4),
                   selected=present & (units[..., int(FeatureUnit.is_selected)] > 0),
                   done=units[..., int(FeatureUnit.build_progress)] >= 100,
                   orders=units[..., int(FeatureUnit.order_length)])

    def of(self, kind_id: int) -> torch.Tensor:
        return self.own & (self.kind == kind_id)

    def only_selected(self, kind_id: int) -> torch.Tensor:
        """[B] the selection is units of this kind and nothing else (and not empty)."""
        chosen = self.own & self.selected
        return chosen.any(dim=1) & ~(chosen & (self.kind != kind_id)).any(dim=1)


def first_row(mask: torch.Tensor, cost: torch.Tensor | None = None) -> torch.Tensor:
    """[B] the row of `mask` [B, U] with the lowest cost (default: the first row)."""
    cost = torch.zeros_like(mask, dtype=torch.float32) if cost is None else cost
    return torch.where(mask, cost, float("inf")).argmin(dim=1)


def rows(values: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
    """values [B, U, ...] at row [B] -> [B, ...]."""
    index = row.reshape(-1, 1, *([1] * (values.dim() - 2))).expand(-1, 1, *values.shape[2:])
    return values.gather(1, index).squeeze(1)


def spot_pixels(spots: tuple[tuple[float, float], ...], camera: torch.Tensor, on_left: torch.Tensor,
                screen: int) -> torch.Tensor:
    """[B, N, 2] screen pixels of left-base spots (mirrored where `on_left` [B] is False)."""
    world = torch.tensor(spots, dtype=torch.float32, device=camera.device)[None]
    x = torch.where(on_left[:, None], world[..., 0], MAP_SIZE - world[..., 0])
    scale = screen / CAMERA_WIDTH
    return torch.stack([(x - camera[:, None, 0]) * scale + screen / 2,
                        (camera[:, None, 1] - world[..., 1]) * scale + screen / 2], dim=-1)


class TerranBot(BatchedAgent):
    """The macro bot (see the module docstring), configured by a BotConfig."""

    def __init__(self, config: BotConfig, name: str = "bot") -> None:
        self.config = config
        self.name = name
        self.memory: dict[str, torch.Tensor] | None = None

    def reset(self, num_envs: int) -> None:
        self.memory = None

    def _remember(self, first: torch.Tensor) -> dict[str, torch.Tensor]:
        B, device = first.shape[0], first.device
        if self.memory is None or self.memory["step"].shape[0] != B:
            first = torch.ones_like(first)
            self.memory = {}
        never = torch.full((B,), -10**6, dtype=torch.long, device=device)
        fresh = {"step": torch.zeros(B, dtype=torch.long, device=device),
                 "depot_ordered": never, "barracks_ordered": never, "attacked": never, "defended": never,
                 "attacking": torch.zeros(B, dtype=torch.bool, device=device),
                 "back_to_work": torch.zeros(B, dtype=torch.bool, device=device),
                 "idle_selected": torch.zeros(B, dtype=torch.bool, device=device),
                 "rallied": torch.zeros(B, dtype=torch.bool, device=device),
                 "barracks_rallied": torch.zeros(B, dtype=torch.long, device=device),
                 "army_sent": torch.zeros(B, dtype=torch.long, device=device)}
        for key, value in fresh.items():
            self.memory[key] = torch.where(first, value, self.memory.get(key, value))
        return self.memory

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        m = self._remember(first)
        cfg = self.config
        B, device = first.shape[0], first.device
        S, M = int(obs["feature_screen"].shape[-1]), int(obs["feature_minimap"].shape[-1])
        step = m["step"]
        m["step"] = step + 1
        acting = (step % cfg.act_every) == 0
        player = obs["player"]
        minerals, army = player[:, MINERALS], player[:, ARMY_COUNT].long()
        room = player[:, FOOD_CAP] - player[:, FOOD_USED]
        can = obs["available_actions"].bool()
        u = OwnUnits.read(obs)
        camera = obs["camera"]
        on_left = camera[:, 0] < MAP_SIZE / 2
        minute = obs["game_loop"].float() / LOOPS_PER_MINUTE

        scvs, cc = u.of(SCV_ID), u.of(CC_ID) & u.done
        depots, barracks = u.of(DEPOT_ID), u.of(BARRACKS_ID)
        cc_row = first_row(cc)
        has_cc = cc.any(dim=1)
        cc_px = rows(u.pos, cc_row)
        workers = player[:, 6]
        fields = (obs["feature_units_mask"].bool() & (u.kind == MINERAL_FIELD_ID))
        field_px = rows(u.pos, first_row(fields, torch.linalg.vector_norm(u.pos - cc_px[:, None], dim=-1)))
        has_field = fields.any(dim=1)
        # A builder: a gathering SCV (one order: an SCV building has its Build or Construct order and the queued
        # gather) far from the minerals' line (it is walking or at the Command Center).
        away = torch.linalg.vector_norm(u.pos - field_px[:, None], dim=-1)
        free_scvs = scvs & (u.orders == 1)
        builder_px = rows(u.pos, first_row(free_scvs, -away))
        one_scv = u.only_selected(SCV_ID) & ((u.own & u.selected).sum(dim=1) == 1)

        # Defence: enemies on the screen (the home base).
        enemy_here = u.enemy.any(dim=1)
        home_px = cc_px
        enemy_px = rows(u.pos, first_row(u.enemy, torch.linalg.vector_norm(u.pos - home_px[:, None], dim=-1)))
        army_selected = (obs["multi_select_mask"].sum(dim=1) >= army) & ~(u.own & u.selected & (
            (u.kind == SCV_ID) | (u.kind == CC_ID) | (u.kind == BARRACKS_ID))).any(dim=1)
        defending = acting & cfg.defend & enemy_here & (army > 0) & ~m["attacking"]
        defend_select = defending & ~army_selected & can[:, int(FunctionId.select_army)]
        defend_now = defending & army_selected & (step - m["defended"] >= DEFEND_REPEAT_STEPS)

        # The builder goes back to mining right after its Build order (queued).
        back = acting & m["back_to_work"] & one_scv & has_field
        idle = acting & (player[:, IDLE_WORKERS] > 0) & has_field
        idle_gather = idle & m["idle_selected"] & u.only_selected(SCV_ID)
        idle_select = idle & ~idle_gather & can[:, int(FunctionId.select_idle_worker)]

        # Minerals kept for a Build order whose SCV is still walking (the game charges on arrival).
        walking = lambda ordered: (step - ordered < BUILD_PATIENCE_STEPS).float()  # noqa: E731
        reserved = 100 * walking(m["depot_ordered"]) + 150 * walking(m["barracks_ordered"])
        # Supply.
        depot_building = (depots & ~u.done).any(dim=1)
        # A first depot is also the Barracks' tech requirement: a bot that trains no more SCVs and so stays under
        # its supply cap (the rush keeps its 12) builds it when it wants Barracks.
        wants_barracks = (barracks.sum(dim=1) < cfg.barracks) & (workers >= cfg.barracks_after_workers)
        first_depot = ~depots.any(dim=1) & wants_barracks & (workers >= cfg.workers)
        short = ((room < 3 + 2 * barracks.sum(dim=1)) | first_depot) & (player[:, FOOD_CAP] < 200) & \
            ~depot_building & (step - m["depot_ordered"] >= BUILD_PATIENCE_STEPS)
        need_supply = short & (minerals >= 100)
        reserved = reserved + 100 * short.float()  # save for the depot first
        depot_spot = rows(spot_pixels(DEPOT_SPOTS, camera, on_left, S),
                          depots.sum(dim=1).clamp(max=len(DEPOT_SPOTS) - 1))
        # Barracks.
        total_barracks = barracks.sum(dim=1)
        need_barracks = (total_barracks < cfg.barracks) & (depots & u.done).any(dim=1) & (minerals >= 150) & (
            workers >= cfg.barracks_after_workers) & (step - m["barracks_ordered"] >= BUILD_PATIENCE_STEPS)
        barracks_spot = rows(spot_pixels(BARRACKS_SPOTS, camera, on_left, S),
                             total_barracks.clamp(max=len(BARRACKS_SPOTS) - 1))
        building = acting & (need_supply | need_barracks) & ~m["back_to_work"]
        # Only a free SCV takes a Build order: the last builder, still selected, would drop its own construction.
        free_selected = one_scv & (free_scvs & u.selected).any(dim=1)
        build_select = building & ~free_selected & free_scvs.any(dim=1)
        build_depot = building & free_selected & need_supply & can[:, int(FunctionId.Build_SupplyDepot_screen)]
        build_barracks = building & free_selected & ~need_supply & can[:, int(FunctionId.Build_Barracks_screen)]
        # SCVs.
        want_scv = acting & has_cc & (workers < cfg.workers) & (rows(u.orders, cc_row) < cfg.queue_scvs) & (
            minerals >= 50 + reserved) & (
            room >= 1)
        cc_selected = u.only_selected(CC_ID)
        train_scv = want_scv & cc_selected & can[:, int(FunctionId.Train_SCV_quick)]
        select_cc = want_scv & ~cc_selected
        rally_cc = acting & cc_selected & ~m["rallied"] & has_field & can[:, int(FunctionId.Rally_Workers_screen)]
        # Marines.
        ready = barracks & u.done
        fewest = torch.where(ready, u.orders, float("inf")).amin(dim=1)
        want_marine = acting & ready.any(dim=1) & (fewest < cfg.queue_marines) & (
            minerals >= 50 + reserved) & (room >= 1)
        all_barracks = u.only_selected(BARRACKS_ID) & ((u.selected & ready).sum(dim=1) == ready.sum(dim=1))
        train_marine = want_marine & all_barracks & can[:, int(FunctionId.Train_Marine_quick)]
        # Rally: every finished Barracks once (again whenever a new one is done).
        want_rally = acting & cfg.rally_army & ready.any(dim=1) & (m["barracks_rallied"] < ready.sum(dim=1))
        rally_barracks = want_rally & all_barracks & can[:, int(FunctionId.Rally_Units_screen)]
        rally_spot = spot_pixels((RALLY_SPOT,), camera, on_left, S)[:, 0]
        select_barracks = (want_marine | want_rally) & ~all_barracks
        barracks_px = rows(u.pos, first_row(ready))

        # Attack.
        start = (army >= cfg.attack_army) & (minute >= cfg.attack_after_minute)
        m["attacking"] = (m["attacking"] | start) & (army >= max(cfg.retreat_below, 1))
        minimap = obs["feature_minimap"]
        scale = M / MAP_SIZE
        enemy_base = torch.stack([MAP_SIZE - camera[:, 0], MAP_SIZE - camera[:, 1]], dim=-1) * scale  # the mirror
        enemy_seen, seen = nearest_pixel(minimap[:, PLAYER_RELATIVE] == ENEMY, enemy_base)
        target = torch.where(seen[:, None], enemy_seen, enemy_base)
        sweep = ((step // ATTACK_REPEAT_STEPS) % 3).float()[:, None]  # nothing seen: sweep the enemy half
        sweep_point = enemy_base + torch.cat([torch.zeros_like(sweep), (sweep - 1) * 16 * scale], dim=1)
        target = torch.where(seen[:, None], target, sweep_point)
        attack_due = acting & m["attacking"] & (army > 0) & (
            (step - m["attacked"] >= ATTACK_REPEAT_STEPS) | (army > m["army_sent"]))
        attack_select = attack_due & ~army_selected & can[:, int(FunctionId.select_army)]
        attack_now = attack_due & army_selected & can[:, int(FunctionId.Attack_minimap)]

        cases = [
            (defend_select, commands.select_army(B, device)),
            (defend_now, commands.screen_command(FunctionId.Attack_screen, enemy_px, S)),
            (back, commands.screen_command(FunctionId.Harvest_Gather_screen, field_px, S, queued=True)),
            (idle_gather, commands.screen_command(FunctionId.Harvest_Gather_screen, field_px, S)),
            (idle_select, BatchedAction.make(int(FunctionId.select_idle_worker), batch=B, device=device,
                                             select_worker=2)),
            (attack_now, commands.minimap_command(FunctionId.Attack_minimap, target, M)),
            (attack_select, commands.select_army(B, device)),
            (build_depot, commands.screen_command(FunctionId.Build_SupplyDepot_screen, depot_spot, S)),
            (build_barracks, commands.screen_command(FunctionId.Build_Barracks_screen, barracks_spot, S)),
            (build_select, commands.select_point(builder_px, S)),
            (rally_cc, commands.screen_command(FunctionId.Rally_Workers_screen, field_px, S)),
            (train_scv, BatchedAction.make(int(FunctionId.Train_SCV_quick), batch=B, device=device)),
            (select_cc, commands.select_point(cc_px, S)),
            (rally_barracks, commands.screen_command(FunctionId.Rally_Units_screen, rally_spot, S)),
            (train_marine, BatchedAction.make(int(FunctionId.Train_Marine_quick), batch=B, device=device)),
            (select_barracks, commands.select_point(barracks_px, S, act=2)),
        ]
        chosen = torch.full((B,), -1, dtype=torch.long, device=device)
        for index, (condition, _) in reversed(list(enumerate(cases))):
            chosen = torch.where(condition, index, chosen)
        names = {id(c): i for i, (c, _) in enumerate(cases)}
        took = lambda condition: chosen == names[id(condition)]  # noqa: E731
        m["defended"] = torch.where(took(defend_now), step, m["defended"])
        m["attacked"] = torch.where(took(attack_now), step, m["attacked"])
        m["army_sent"] = torch.where(took(attack_now), army, m["army_sent"])
        m["depot_ordered"] = torch.where(took(build_depot), step, m["depot_ordered"])
        m["barracks_ordered"] = torch.where(took(build_barracks), step, m["barracks_ordered"])
        m["rallied"] |= took(rally_cc)
        m["barracks_rallied"] = torch.where(took(rally_barracks), ready.sum(dim=1), m["barracks_rallied"])
        m["idle_selected"] = took(idle_select) | (m["idle_selected"] & ~acting)
        m["back_to_work"] = (m["back_to_work"] & ~took(back) & ~(acting & ~one_scv)) | took(build_depot) | took(
            build_barracks)
        return commands.choose(cases, commands.no_op(B, device))


def make_bot(name: str) -> TerranBot:
    """`bot:<level|strategy>` without the prefix: "3", "rush"..."""
    return TerranBot(bot_config(name), name=f"bot:{name}")
