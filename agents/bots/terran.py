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
import enum

import torch

from agents.base import BatchedAgent
from agents.scripted import commands
from agents.scripted.economy import first_case
from agents.scripted.find_and_defeat_zerglings import ENEMY, PLAYER_RELATIVE, SELF, nearest_pixel
from arena.interface.actions import BatchedAction
from arena.interface.functions import FunctionId
from arena.interface.unit_list import FeatureUnit
from arena.sim.units import UNIT_SPECS, UnitType

MINERALS, FOOD_USED, FOOD_CAP, FOOD_WORKERS, IDLE_WORKERS, ARMY_COUNT = 1, 3, 4, 6, 7, 8
"""Indices into pysc2's `player` vector."""
CAMERA_WIDTH = 24.0
"""Map units the screen spans (pysc2's default)."""
MAP_SIZE = 64.0
"""The full game's map side in map units; the two bases are mirrored about its vertical centre line."""
MINERAL_FIELD_ID = UNIT_SPECS[UnitType.MINERAL_FIELD].pysc2_id
SCV_ID = UNIT_SPECS[UnitType.SCV].pysc2_id
CC_ID = UNIT_SPECS[UnitType.COMMAND_CENTER].pysc2_id
DEPOT_ID = UNIT_SPECS[UnitType.SUPPLY_DEPOT].pysc2_id
BARRACKS_ID = UNIT_SPECS[UnitType.BARRACKS].pysc2_id
DEPOT_COST = UNIT_SPECS[UnitType.SUPPLY_DEPOT].minerals
"""Minerals a Supply Depot costs (100, the unit table)."""
BARRACKS_COST = UNIT_SPECS[UnitType.BARRACKS].minerals
"""Minerals a Barracks costs (150, the unit table). The bot keeps them for the next Barracks while one is due, since
Marines and SCVs (50 each) would otherwise spend every 50 as it comes in."""
LOOPS_PER_MINUTE = 22.4 * 60
"""Game loops in a game minute (22.4 a second at the faster speed)."""
FINISHED = 100
"""feature_units' build_progress (per cent) of a finished unit."""
GATHERING_ORDERS = 1
"""feature_units' order_length of a gathering SCV; one that builds has its Build or Construct order and the queued
gather."""
MAX_SUPPLY = 200
"""The game's supply cap: no Supply Depot is built beyond it."""
SUPPLY_MARGIN = 3
SUPPLY_MARGIN_PER_BARRACKS = 2
"""A Supply Depot is due when the free supply drops below SUPPLY_MARGIN plus SUPPLY_MARGIN_PER_BARRACKS for every
Barracks (each trains Marines while the depot goes up)."""
NEVER = -10**6
"""The agent step remembered for an order never given: long enough ago for any patience."""
SELECT_ALL_OF_TYPE = 2
"""select_point's act: select every unit on the screen of the clicked unit's type (pysc2)."""
SELECT_ALL_IDLE = 2
"""select_idle_worker's select_worker: select all idle workers (pysc2)."""
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
"""A defending army is given a new Attack_screen at most this often."""
SWEEP_POINTS = 3
SWEEP_SPACING = 16.0
"""An attacking army that sees no enemy on the minimap sweeps the enemy's half: it attack-moves in turn to
SWEEP_POINTS points SWEEP_SPACING map units apart (in y) centred on the enemy's base, a new one every
ATTACK_REPEAT_STEPS."""


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


@dataclasses.dataclass(frozen=True)
class OwnUnits:
    """What the bot reads of feature_units: rows [B, U] of the units on its screen, positions in screen pixels."""

    pos: torch.Tensor  # [B, U, 2]
    kind: torch.Tensor  # [B, U] pysc2 unit type ids
    present: torch.Tensor  # [B, U] a unit is in the row (anybody's)
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
        pixel_centre = 0.5  # feature_units give the pixel a unit is in; the bot clicks its centre
        return cls(pos=units[..., [int(FeatureUnit.x), int(FeatureUnit.y)]] + pixel_centre,
                   kind=units[..., int(FeatureUnit.unit_type)].long(), present=present,
                   own=present & (alliance == SELF), enemy=present & (alliance == ENEMY),
                   selected=present & (units[..., int(FeatureUnit.is_selected)] > 0),
                   done=units[..., int(FeatureUnit.build_progress)] >= FINISHED,
                   orders=units[..., int(FeatureUnit.order_length)])

    def of(self, kind_id: int) -> torch.Tensor:
        """[B, U] own units of this kind."""
        return self.own & (self.kind == kind_id)

    def only_selected(self, kind_id: int) -> torch.Tensor:
        """[B] the selection is units of this kind and nothing else (and not empty)."""
        chosen = self.own & self.selected
        return chosen.any(dim=1) & ~(chosen & (self.kind != kind_id)).any(dim=1)

    @property
    def selection_size(self) -> torch.Tensor:
        """[B] own units selected."""
        return (self.own & self.selected).sum(dim=1)

    @property
    def mineral_fields(self) -> torch.Tensor:
        """[B, U] mineral fields on the screen."""
        return self.present & (self.kind == MINERAL_FIELD_ID)

    @property
    def finished_barracks(self) -> torch.Tensor:
        """[B, U] own Barracks that are built (they can train)."""
        return self.of(BARRACKS_ID) & self.done


@dataclasses.dataclass(frozen=True)
class BotView:
    """What the bot reads of one batched observation."""

    units: OwnUnits
    minerals: torch.Tensor  # [B] float
    food_used: torch.Tensor  # [B] float
    food_cap: torch.Tensor  # [B] float
    workers: torch.Tensor  # [B] float, SCVs (pysc2's food_workers)
    idle_workers: torch.Tensor  # [B] float
    army: torch.Tensor  # [B] long, army units
    multi_selected: torch.Tensor  # [B] long, units in the multi-selection panel
    available: torch.Tensor  # [B, F] bool, available_actions by function id
    enemy_on_minimap: torch.Tensor  # [B, M, M] bool
    camera: torch.Tensor  # [B, 2] map units, over the bot's own town hall
    minute: torch.Tensor  # [B] game minutes
    screen: int
    """Screen side in pixels."""
    minimap: int
    """Minimap side in pixels."""

    @classmethod
    def read(cls, obs: dict[str, torch.Tensor]) -> "BotView":
        player = obs["player"]
        return cls(units=OwnUnits.read(obs), minerals=player[:, MINERALS], food_used=player[:, FOOD_USED],
                   food_cap=player[:, FOOD_CAP], workers=player[:, FOOD_WORKERS], idle_workers=player[:, IDLE_WORKERS],
                   army=player[:, ARMY_COUNT].long(), multi_selected=obs["multi_select_mask"].sum(dim=1),
                   available=obs["available_actions"].bool(),
                   enemy_on_minimap=obs["feature_minimap"][:, PLAYER_RELATIVE] == ENEMY, camera=obs["camera"],
                   minute=obs["game_loop"].float() / LOOPS_PER_MINUTE,
                   screen=int(obs["feature_screen"].shape[-1]), minimap=int(obs["feature_minimap"].shape[-1]))

    def can(self, function: FunctionId) -> torch.Tensor:
        """[B] the function is available."""
        return self.available[:, int(function)]

    @property
    def batch(self) -> int:
        return self.minerals.shape[0]

    @property
    def device(self) -> torch.device:
        return self.minerals.device

    @property
    def room(self) -> torch.Tensor:
        """[B] free supply."""
        return self.food_cap - self.food_used

    @property
    def on_left(self) -> torch.Tensor:
        """[B] the bot's base is the left one."""
        return self.camera[:, 0] < MAP_SIZE / 2

    @property
    def army_selected(self) -> torch.Tensor:
        """[B] the selection is the whole army: as many units as the army has, and no SCV or structure."""
        units = self.units
        not_army = units.own & units.selected & (
            (units.kind == SCV_ID) | (units.kind == CC_ID) | (units.kind == BARRACKS_ID))
        return (self.multi_selected >= self.army) & ~not_army.any(dim=1)


def first_row(mask: torch.Tensor, cost: torch.Tensor | None = None) -> torch.Tensor:
    """[B] the row of `mask` [B, U] with the lowest cost (default: the first row)."""
    cost = torch.zeros_like(mask, dtype=torch.float32) if cost is None else cost
    return torch.where(mask, cost, float("inf")).argmin(dim=1)


def rows(values: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
    """values [B, U, ...] at row [B] -> [B, ...]."""
    index = row.reshape(-1, 1, *([1] * (values.dim() - 2))).expand(-1, 1, *values.shape[2:])
    return values.gather(1, index).squeeze(1)


def distances(pos: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """[B, U] from the positions `pos` [B, U, 2] to `point` [B, 2]."""
    return torch.linalg.vector_norm(pos - point[:, None], dim=-1)


def spot_pixels(spots: tuple[tuple[float, float], ...], camera: torch.Tensor, on_left: torch.Tensor,
                screen: int) -> torch.Tensor:
    """[B, N, 2] screen pixels of left-base spots (mirrored where `on_left` [B] is False)."""
    world = torch.tensor(spots, dtype=torch.float32, device=camera.device)[None]
    x = torch.where(on_left[:, None], world[..., 0], MAP_SIZE - world[..., 0])
    scale = screen / CAMERA_WIDTH
    return torch.stack([(x - camera[:, None, 0]) * scale + screen / 2,
                        (camera[:, None, 1] - world[..., 1]) * scale + screen / 2], dim=-1)


def next_spot(spots: tuple[tuple[float, float], ...], built: torch.Tensor, view: BotView) -> torch.Tensor:
    """[B, 2] screen pixels of the spot for the next structure: the `built` [B]-th of `spots` (the last once all are
    taken)."""
    return rows(spot_pixels(spots, view.camera, view.on_left, view.screen), built.clamp(max=len(spots) - 1))


@dataclasses.dataclass(frozen=True)
class Base:
    """Where things are in the bot's base, on its screen (pixels)."""

    hall_row: torch.Tensor  # [B] the row of the (first) finished Command Center
    has_hall: torch.Tensor  # [B]
    hall_px: torch.Tensor  # [B, 2]
    field_px: torch.Tensor  # [B, 2] the mineral field nearest to the Command Center
    has_field: torch.Tensor  # [B]
    free_scvs: torch.Tensor  # [B, U] SCVs that are gathering (and so may take a Build order)
    builder_px: torch.Tensor  # [B, 2] the free SCV furthest from the minerals' line (walking, or at the hall)
    one_scv: torch.Tensor  # [B] the selection is one SCV


def read_base(units: OwnUnits) -> Base:
    """The bot's Command Center, minerals and builder on its screen."""
    halls = units.of(CC_ID) & units.done
    hall_row = first_row(halls)
    hall_px = rows(units.pos, hall_row)
    fields = units.mineral_fields
    field_px = rows(units.pos, first_row(fields, distances(units.pos, hall_px)))
    free_scvs = units.of(SCV_ID) & (units.orders == GATHERING_ORDERS)
    return Base(hall_row=hall_row, has_hall=halls.any(dim=1), hall_px=hall_px, field_px=field_px,
                has_field=fields.any(dim=1), free_scvs=free_scvs,
                builder_px=rows(units.pos, first_row(free_scvs, -distances(units.pos, field_px))),
                one_scv=units.only_selected(SCV_ID) & (units.selection_size == 1))


@dataclasses.dataclass(frozen=True)
class BotMemory:
    """What the bot remembers between agent steps, per game [B]. Steps are agent steps since the game began."""

    step: torch.Tensor  # [B] long, this agent step
    depot_ordered: torch.Tensor  # [B] long, step of the last Supply Depot Build order (NEVER: none)
    barracks_ordered: torch.Tensor  # [B] long, step of the last Barracks Build order
    attacked: torch.Tensor  # [B] long, step of the last attack-move
    defended: torch.Tensor  # [B] long, step of the last Attack_screen in defence
    attacking: torch.Tensor  # [B] bool, the army is on the attack
    back_to_work: torch.Tensor  # [B] bool, the SCV just given a Build order is to be sent back to mining
    idle_selected: torch.Tensor  # [B] bool, the idle workers were selected on the last acting step
    rallied: torch.Tensor  # [B] bool, the Command Center rallies its SCVs to the minerals
    barracks_rallied: torch.Tensor  # [B] long, finished Barracks when the Barracks were last rallied
    army_sent: torch.Tensor  # [B] long, army units at the last attack-move

    @classmethod
    def fresh(cls, batch: int, device: torch.device) -> "BotMemory":
        """The memory of games that just began."""
        def never() -> torch.Tensor:
            return torch.full((batch,), NEVER, dtype=torch.long, device=device)

        def zeros(dtype: torch.dtype) -> torch.Tensor:
            return torch.zeros(batch, dtype=dtype, device=device)

        return cls(step=zeros(torch.long), depot_ordered=never(), barracks_ordered=never(), attacked=never(),
                   defended=never(), attacking=zeros(torch.bool), back_to_work=zeros(torch.bool),
                   idle_selected=zeros(torch.bool), rallied=zeros(torch.bool), barracks_rallied=zeros(torch.long),
                   army_sent=zeros(torch.long))

    def forget(self, games: torch.Tensor) -> "BotMemory":
        """This memory with the games [B] whose episode just began fresh."""
        fresh = BotMemory.fresh(games.shape[0], games.device)
        return BotMemory(**{field.name: torch.where(games, getattr(fresh, field.name), getattr(self, field.name))
                            for field in dataclasses.fields(BotMemory)})


class Choice(enum.IntEnum):
    """What the bot does on a step, in priority order: the first that applies wins. A wish whose unit is not yet
    selected selects it (..._SELECT); once it is, the command follows on a later step."""

    DEFEND_SELECT = 0
    DEFEND = 1
    BACK_TO_MINING = 2
    IDLE_GATHER = 3
    IDLE_SELECT = 4
    ATTACK = 5
    ATTACK_SELECT = 6
    BUILD_DEPOT = 7
    BUILD_BARRACKS = 8
    BUILDER_SELECT = 9
    RALLY_WORKERS = 10
    TRAIN_SCV = 11
    HALL_SELECT = 12
    RALLY_BARRACKS = 13
    TRAIN_MARINE = 14
    BARRACKS_SELECT = 15


Case = tuple[torch.Tensor, BatchedAction]
"""A condition [B] and the action to take where it holds."""


def builder_walking(step: torch.Tensor, ordered: torch.Tensor) -> torch.Tensor:
    """[B] a Build order given at step `ordered` [B] is recent: its SCV may still be walking to the site."""
    return step - ordered < BUILD_PATIENCE_STEPS


@dataclasses.dataclass(frozen=True)
class Construction:
    """The structures the bot wants and can pay for now, where they go, and the minerals it keeps for them."""

    need_depot: torch.Tensor  # [B] bool
    need_barracks: torch.Tensor  # [B] bool
    reserved: torch.Tensor  # [B] float, minerals not to spend on units
    depot_px: torch.Tensor  # [B, 2] screen pixels of the next Supply Depot
    barracks_px: torch.Tensor  # [B, 2] screen pixels of the next Barracks


def depot_due(view: BotView, memory: BotMemory, config: BotConfig) -> torch.Tensor:
    """[B] a Supply Depot is due: supply runs short (or the first one is the Barracks' tech requirement), none is
    going up and no Build order for one is on its way."""
    depots, barracks = view.units.of(DEPOT_ID), view.units.of(BARRACKS_ID).sum(dim=1)
    # A first depot is also the Barracks' tech requirement: a bot that trains no more SCVs and so stays under its
    # supply cap (the rush keeps its 12) builds it when it wants Barracks.
    wants_barracks = (barracks < config.barracks) & (view.workers >= config.barracks_after_workers)
    first_depot = ~depots.any(dim=1) & wants_barracks & (view.workers >= config.workers)
    short = (view.room < SUPPLY_MARGIN + SUPPLY_MARGIN_PER_BARRACKS * barracks) | first_depot
    depot_going_up = (depots & ~view.units.done).any(dim=1)
    order_on_its_way = builder_walking(memory.step, memory.depot_ordered)
    return short & (view.food_cap < MAX_SUPPLY) & ~depot_going_up & ~order_on_its_way


def barracks_due(view: BotView, memory: BotMemory, config: BotConfig) -> torch.Tensor:
    """[B] a Barracks is due: fewer than the config's, enough SCVs, a finished Supply Depot (the tech requirement)
    and no Build order for one on its way."""
    finished_depot = (view.units.of(DEPOT_ID) & view.units.done).any(dim=1)
    return (view.units.of(BARRACKS_ID).sum(dim=1) < config.barracks) & finished_depot & (
        view.workers >= config.barracks_after_workers) & ~builder_walking(memory.step, memory.barracks_ordered)


def plan_construction(view: BotView, memory: BotMemory, config: BotConfig) -> Construction:
    """Supply Depots and Barracks: which is wanted and paid for, where, and the minerals kept for them: those of a
    Build order whose SCV is still walking (the game charges on arrival) and those of a due structure."""
    walking_depot = builder_walking(memory.step, memory.depot_ordered).float()
    walking_barracks = builder_walking(memory.step, memory.barracks_ordered).float()
    reserved = DEPOT_COST * walking_depot + BARRACKS_COST * walking_barracks
    depot, barracks = depot_due(view, memory, config), barracks_due(view, memory, config)
    reserved = reserved + DEPOT_COST * depot.float()  # the depot first
    reserved = reserved + BARRACKS_COST * barracks.float()
    return Construction(
        need_depot=depot & (view.minerals >= DEPOT_COST), need_barracks=barracks & (view.minerals >= BARRACKS_COST),
        reserved=reserved, depot_px=next_spot(DEPOT_SPOTS, view.units.of(DEPOT_ID).sum(dim=1), view),
        barracks_px=next_spot(BARRACKS_SPOTS, view.units.of(BARRACKS_ID).sum(dim=1), view))


def affordable(view: BotView, reserved: torch.Tensor, unit: UnitType) -> torch.Tensor:
    """[B] the bot has the minerals for one `unit` beyond the `reserved` [B], and the supply."""
    spec = UNIT_SPECS[unit]
    return (view.minerals >= spec.minerals + reserved) & (view.room >= spec.supply)


def still_attacking(view: BotView, memory: BotMemory, config: BotConfig) -> torch.Tensor:
    """[B] the army attacks: it was big enough once the config allowed, and has not dropped below `retreat_below`
    (nor to nothing)."""
    start = (view.army >= config.attack_army) & (view.minute >= config.attack_after_minute)
    return (memory.attacking | start) & (view.army >= max(config.retreat_below, 1))


def attack_target(view: BotView, step: torch.Tensor) -> torch.Tensor:
    """[B, 2] minimap pixels to attack-move to: the enemy nearest the enemy's base on the minimap, else a point of
    the sweep about the enemy's base."""
    scale = view.minimap / MAP_SIZE
    # The enemy's base mirrors the own camera (over the own town hall) in x; minimap rows count down from the top.
    camera = view.camera
    enemy_base = torch.stack([MAP_SIZE - camera[:, 0], MAP_SIZE - camera[:, 1]], dim=-1) * scale
    enemy_seen, seen = nearest_pixel(view.enemy_on_minimap, enemy_base)
    sweep = ((step // ATTACK_REPEAT_STEPS) % SWEEP_POINTS).float()[:, None]
    sweep_offset = (sweep - SWEEP_POINTS // 2) * SWEEP_SPACING * scale
    sweep_point = enemy_base + torch.cat([torch.zeros_like(sweep), sweep_offset], dim=1)
    return torch.where(seen[:, None], enemy_seen, sweep_point)


def defence_cases(view: BotView, base: Base, memory: BotMemory, config: BotConfig) -> dict[Choice, Case]:
    """Enemies on the screen (the home base) and the army not away attacking: select the army, then attack the
    enemy nearest the Command Center (again every DEFEND_REPEAT_STEPS)."""
    units = view.units
    defending = config.defend & units.enemy.any(dim=1) & (view.army > 0) & ~memory.attacking
    enemy_px = rows(units.pos, first_row(units.enemy, distances(units.pos, base.hall_px)))
    return {
        Choice.DEFEND_SELECT: (defending & ~view.army_selected & view.can(FunctionId.select_army),
                               commands.select_army(view.batch, view.device)),
        Choice.DEFEND: (defending & view.army_selected & (memory.step - memory.defended >= DEFEND_REPEAT_STEPS),
                        commands.screen_command(FunctionId.Attack_screen, enemy_px, view.screen)),
    }


def mining_cases(view: BotView, base: Base, memory: BotMemory) -> dict[Choice, Case]:
    """The builder goes back to mining right after its Build order (queued); idle workers are selected, then sent to
    the minerals."""
    idle = (view.idle_workers > 0) & base.has_field
    idle_gather = idle & memory.idle_selected & view.units.only_selected(SCV_ID)
    return {
        Choice.BACK_TO_MINING: (memory.back_to_work & base.one_scv & base.has_field,
                                commands.screen_command(FunctionId.Harvest_Gather_screen, base.field_px, view.screen,
                                                        queued=True)),
        Choice.IDLE_GATHER: (idle_gather,
                             commands.screen_command(FunctionId.Harvest_Gather_screen, base.field_px, view.screen)),
        Choice.IDLE_SELECT: (idle & ~idle_gather & view.can(FunctionId.select_idle_worker),
                             BatchedAction.make(int(FunctionId.select_idle_worker), batch=view.batch,
                                                device=view.device, select_worker=SELECT_ALL_IDLE)),
    }


def attack_cases(view: BotView, memory: BotMemory, attacking: torch.Tensor) -> dict[Choice, Case]:
    """An attacking army is selected, then attack-moved on the minimap: every ATTACK_REPEAT_STEPS, and whenever new
    units joined it."""
    due = attacking & (view.army > 0) & (
        (memory.step - memory.attacked >= ATTACK_REPEAT_STEPS) | (view.army > memory.army_sent))
    return {
        Choice.ATTACK: (due & view.army_selected & view.can(FunctionId.Attack_minimap),
                        commands.minimap_command(FunctionId.Attack_minimap, attack_target(view, memory.step),
                                                 view.minimap)),
        Choice.ATTACK_SELECT: (due & ~view.army_selected & view.can(FunctionId.select_army),
                               commands.select_army(view.batch, view.device)),
    }


def build_cases(view: BotView, base: Base, construction: Construction, memory: BotMemory) -> dict[Choice, Case]:
    """A free SCV is selected, then ordered to build the due structure (a Supply Depot before a Barracks)."""
    building = (construction.need_depot | construction.need_barracks) & ~memory.back_to_work
    # Only a free SCV takes a Build order: the last builder, still selected, would drop its own construction.
    free_selected = base.one_scv & (base.free_scvs & view.units.selected).any(dim=1)
    ready = building & free_selected
    return {
        Choice.BUILD_DEPOT: (ready & construction.need_depot & view.can(FunctionId.Build_SupplyDepot_screen),
                             commands.screen_command(FunctionId.Build_SupplyDepot_screen, construction.depot_px,
                                                     view.screen)),
        Choice.BUILD_BARRACKS: (ready & ~construction.need_depot & view.can(FunctionId.Build_Barracks_screen),
                                commands.screen_command(FunctionId.Build_Barracks_screen, construction.barracks_px,
                                                        view.screen)),
        Choice.BUILDER_SELECT: (building & ~free_selected & base.free_scvs.any(dim=1),
                                commands.select_point(base.builder_px, view.screen)),
    }


def scv_cases(view: BotView, base: Base, reserved: torch.Tensor, memory: BotMemory,
              config: BotConfig) -> dict[Choice, Case]:
    """The Command Center is selected, rallied to the minerals once, and trains SCVs up to the config's number."""
    units = view.units
    want_scv = base.has_hall & (view.workers < config.workers) & (
        rows(units.orders, base.hall_row) < config.queue_scvs) & affordable(view, reserved, UnitType.SCV)
    hall_selected = units.only_selected(CC_ID)
    return {
        Choice.RALLY_WORKERS: (hall_selected & ~memory.rallied & base.has_field
                               & view.can(FunctionId.Rally_Workers_screen),
                               commands.screen_command(FunctionId.Rally_Workers_screen, base.field_px, view.screen)),
        Choice.TRAIN_SCV: (want_scv & hall_selected & view.can(FunctionId.Train_SCV_quick),
                           BatchedAction.make(int(FunctionId.Train_SCV_quick), batch=view.batch, device=view.device)),
        Choice.HALL_SELECT: (want_scv & ~hall_selected, commands.select_point(base.hall_px, view.screen)),
    }


def marine_cases(view: BotView, reserved: torch.Tensor, memory: BotMemory, config: BotConfig) -> dict[Choice, Case]:
    """Every finished Barracks is selected at once; they train Marines while a queue is short, and with
    `rally_army` are rallied in front of the base once (again whenever a new one is done)."""
    units = view.units
    ready = units.finished_barracks
    fewest_queued = torch.where(ready, units.orders, float("inf")).amin(dim=1)
    want_marine = ready.any(dim=1) & (fewest_queued < config.queue_marines) & affordable(view, reserved,
                                                                                         UnitType.MARINE)
    want_rally = config.rally_army & ready.any(dim=1) & (memory.barracks_rallied < ready.sum(dim=1))
    all_selected = units.only_selected(BARRACKS_ID) & ((units.selected & ready).sum(dim=1) == ready.sum(dim=1))
    rally_px = spot_pixels((RALLY_SPOT,), view.camera, view.on_left, view.screen)[:, 0]
    return {
        Choice.RALLY_BARRACKS: (want_rally & all_selected & view.can(FunctionId.Rally_Units_screen),
                                commands.screen_command(FunctionId.Rally_Units_screen, rally_px, view.screen)),
        Choice.TRAIN_MARINE: (want_marine & all_selected & view.can(FunctionId.Train_Marine_quick),
                              BatchedAction.make(int(FunctionId.Train_Marine_quick), batch=view.batch,
                                                 device=view.device)),
        Choice.BARRACKS_SELECT: ((want_marine | want_rally) & ~all_selected,
                                 commands.select_point(rows(units.pos, first_row(ready)), view.screen,
                                                       act=SELECT_ALL_OF_TYPE)),
    }


def remembered(memory: BotMemory, chosen: torch.Tensor, view: BotView, acting: torch.Tensor, one_scv: torch.Tensor,
               attacking: torch.Tensor) -> BotMemory:
    """The memory after the `chosen` [B] Choice (an index; any other value: none) on this step."""
    def took(choice: Choice) -> torch.Tensor:
        return chosen == choice

    step = memory.step
    build_order = took(Choice.BUILD_DEPOT) | took(Choice.BUILD_BARRACKS)
    # The builder is sent back once; an acting step whose selection is not one SCV any more gives up on it.
    back_to_work = (memory.back_to_work & ~took(Choice.BACK_TO_MINING) & ~(acting & ~one_scv)) | build_order
    return BotMemory(
        step=step + 1,
        depot_ordered=torch.where(took(Choice.BUILD_DEPOT), step, memory.depot_ordered),
        barracks_ordered=torch.where(took(Choice.BUILD_BARRACKS), step, memory.barracks_ordered),
        attacked=torch.where(took(Choice.ATTACK), step, memory.attacked),
        defended=torch.where(took(Choice.DEFEND), step, memory.defended),
        attacking=attacking, back_to_work=back_to_work,
        idle_selected=took(Choice.IDLE_SELECT) | (memory.idle_selected & ~acting),
        rallied=memory.rallied | took(Choice.RALLY_WORKERS),
        barracks_rallied=torch.where(took(Choice.RALLY_BARRACKS), view.units.finished_barracks.sum(dim=1),
                                     memory.barracks_rallied),
        army_sent=torch.where(took(Choice.ATTACK), view.army, memory.army_sent))


class TerranBot(BatchedAgent):
    """The macro bot (see the module docstring), configured by a BotConfig."""

    def __init__(self, config: BotConfig, name: str = "bot") -> None:
        self.config = config
        self.name = name
        self.memory: BotMemory | None = None

    def reset(self, num_envs: int) -> None:
        self.memory = None

    def _remember(self, first: torch.Tensor) -> BotMemory:
        """The memory, fresh for the games [B] whose episode just began (all of them for a new batch size)."""
        if self.memory is None or self.memory.step.shape[0] != first.shape[0]:
            return BotMemory.fresh(first.shape[0], first.device)
        return self.memory.forget(first)

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        memory = self._remember(first)
        view = BotView.read(obs)
        base = read_base(view.units)
        construction = plan_construction(view, memory, self.config)
        attacking = still_attacking(view, memory, self.config)
        cases = {**defence_cases(view, base, memory, self.config), **mining_cases(view, base, memory),
                 **attack_cases(view, memory, attacking), **build_cases(view, base, construction, memory),
                 **scv_cases(view, base, construction.reserved, memory, self.config),
                 **marine_cases(view, construction.reserved, memory, self.config)}
        # Reaction speed: the bot acts on every act_every-th agent step and no-ops in between.
        acting = (memory.step % self.config.act_every) == 0
        in_order = [(acting & cases[choice][0], cases[choice][1]) for choice in Choice]
        chosen = first_case([condition for condition, _ in in_order])
        self.memory = remembered(memory, chosen, view, acting, base.one_scv, attacking)
        return commands.choose(in_order, commands.no_op(view.batch, view.device))


def make_bot(name: str) -> TerranBot:
    """`bot:<level|strategy>` without the prefix: "3", "rush"..."""
    return TerranBot(bot_config(name), name=f"bot:{name}")
