"""The pysc2 functions the engine models, with pysc2's own ids (pysc2 4.0.0 `lib/actions.py`).

Functions the engine does not model are never available. Point arguments are (x, y) in pixels.
"""

from __future__ import annotations

import enum

NUM_FUNCTIONS = 573
"""len(pysc2.lib.actions.FUNCTIONS) in pysc2 4.0.0."""


class FunctionId(enum.IntEnum):
    no_op = 0
    move_camera = 1
    select_point = 2
    select_rect = 3
    select_control_group = 4
    select_idle_worker = 6
    select_army = 7
    Attack_screen = 12
    Attack_minimap = 13
    Build_BanelingNest_screen = 41
    Build_Barracks_screen = 42
    Build_CommandCenter_screen = 44
    Build_Extractor_screen = 52
    Build_Hatchery_screen = 59
    Build_Refinery_screen = 79
    Build_RoachWarren_screen = 80
    Build_SpawningPool_screen = 84
    Build_SupplyDepot_screen = 91
    Harvest_Gather_screen = 264
    Harvest_Return_quick = 269
    HoldPosition_quick = 274
    Move_screen = 331
    Move_minimap = 332
    Rally_Units_screen = 335
    Rally_Workers_screen = 343
    Smart_screen = 451
    Smart_minimap = 452
    Stop_quick = 453
    Train_Baneling_quick = 458
    Train_Drone_quick = 467
    Train_Marauder_quick = 476
    Train_Marine_quick = 477
    Train_Overlord_quick = 483
    Train_Roach_quick = 489
    Train_SCV_quick = 490
    Train_Zergling_quick = 504


class ArgumentType(enum.Enum):
    """pysc2's argument types that the modelled functions take, as (pysc2's type id, sizes); size 0 is the screen or
    minimap size. The id keeps the three point types (same sizes) distinct members rather than enum aliases."""

    screen = (0, (0, 0))
    minimap = (1, (0, 0))
    screen2 = (2, (0, 0))
    queued = (3, (2,))
    control_group_act = (4, (5,))
    control_group_id = (5, (10,))
    select_point_act = (6, (4,))
    select_add = (7, (2,))
    select_worker = (10, (4,))

    @property
    def id(self) -> int:
        return self.value[0]

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.value[1]


FUNCTION_ARGUMENTS: dict[FunctionId, tuple[ArgumentType, ...]] = {
    FunctionId.no_op: (),
    FunctionId.move_camera: (ArgumentType.minimap,),
    FunctionId.select_point: (ArgumentType.select_point_act, ArgumentType.screen),
    FunctionId.select_rect: (ArgumentType.select_add, ArgumentType.screen, ArgumentType.screen2),
    FunctionId.select_control_group: (ArgumentType.control_group_act, ArgumentType.control_group_id),
    FunctionId.select_idle_worker: (ArgumentType.select_worker,),
    FunctionId.select_army: (ArgumentType.select_add,),
    FunctionId.Attack_screen: (ArgumentType.queued, ArgumentType.screen),
    FunctionId.Attack_minimap: (ArgumentType.queued, ArgumentType.minimap),
    FunctionId.HoldPosition_quick: (ArgumentType.queued,),
    FunctionId.Move_screen: (ArgumentType.queued, ArgumentType.screen),
    FunctionId.Move_minimap: (ArgumentType.queued, ArgumentType.minimap),
    FunctionId.Smart_screen: (ArgumentType.queued, ArgumentType.screen),
    FunctionId.Smart_minimap: (ArgumentType.queued, ArgumentType.minimap),
    FunctionId.Stop_quick: (ArgumentType.queued,),
    FunctionId.Harvest_Gather_screen: (ArgumentType.queued, ArgumentType.screen),
    FunctionId.Harvest_Return_quick: (ArgumentType.queued,),
    FunctionId.Rally_Units_screen: (ArgumentType.queued, ArgumentType.screen),
    FunctionId.Rally_Workers_screen: (ArgumentType.queued, ArgumentType.screen),
}
for _f in FunctionId:
    if _f.name.startswith("Build_"):
        FUNCTION_ARGUMENTS[_f] = (ArgumentType.queued, ArgumentType.screen)
    elif _f.name.startswith("Train_"):
        FUNCTION_ARGUMENTS[_f] = (ArgumentType.queued,)

ALWAYS_AVAILABLE = (FunctionId.no_op, FunctionId.move_camera, FunctionId.select_point, FunctionId.select_rect,
                    FunctionId.select_control_group)
"""pysc2: these are available whatever the state."""
UNIT_COMMANDS = (FunctionId.Attack_screen, FunctionId.Attack_minimap, FunctionId.HoldPosition_quick,
                 FunctionId.Move_screen, FunctionId.Move_minimap, FunctionId.Smart_screen,
                 FunctionId.Smart_minimap, FunctionId.Stop_quick)
"""Available when the selection holds an own unit that can move."""

ABILITY_MOVE = 3794
ABILITY_ATTACK = 3674
ABILITY_HOLD = 3793
"""pysc2's general ability ids, reported as the order ids of feature units."""


class ActionResult(enum.IntEnum):
    """pysc2's ActionResult codes that the engine reports (s2clientprotocol error.proto)."""

    Success = 1
    Error = 3
    CantQueueThatOrder = 4
    QueueIsFull = 7
    NotEnoughMinerals = 9
    NotEnoughVespene = 10
    NotEnoughFood = 13
    CantTargetThatUnit = 36
    CantBuildOnThat = 42
    CantBuildLocationInvalid = 44
    CantBuildTooCloseToResources = 47
    TechRequirementsNotMet = 79
    MustTargetResources = 89
    CouldntReachTarget = 208
    InvalidAvailableAction = 214
    """The function was not in available_actions (pysc2 raises or no-ops there). 214 is the protocol's
    CantFindCancelOrder, a code no modelled function can produce otherwise."""
    ApmCapExceeded = 250
    """Ours, outside the protocol's codes: the action was refused by the APM cap (arena.interface.limits)."""
