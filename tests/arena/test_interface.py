"""The PySC2 interface: facts from shared/specs/minigames.md "Interface facts" (pysc2 4.0.0), and the ids, argument
types, layer names and unit columns compared with pysc2's own `lib/actions.py` and `lib/features.py`."""

from __future__ import annotations

import dataclasses
import importlib
import os
import random
import types
import warnings

import pytest
import torch

import arena
from arena import BatchedAction, FunctionId, InterfaceFormat
from arena.interface.actions import apply_action
from arena.interface.features import PlayerRelative
from arena.interface.fog import Visibility
from arena.interface.functions import (ABILITY_ATTACK, ABILITY_HOLD, ABILITY_MOVE, FUNCTION_ARGUMENTS,
                                       NUM_FUNCTIONS, ActionResult, ArgumentType)
from arena.interface.observation import observe, perceive
from arena.interface.unit_list import NUM_UNIT_FEATURES, FeatureUnit
from arena.interface.view import MINIMAP_LAYERS, SCREEN_LAYERS, world_to_screen
from arena.sim.state import Order, State
from arena.sim.units import UNIT_SPECS, UnitType

FMT = InterfaceFormat(raw_units=True)  # pysc2's mini-game defaults: 64 x 64 screen and minimap, 24-unit camera
UNITS_ONLY = InterfaceFormat(feature_layers=False, raw_units=True)
ALWAYS = {0, 1, 2, 3, 4}  # no_op, move_camera, select_point, select_rect, select_control_group
COMMANDS = {12, 13, 274, 331, 332, 451, 452, 453}


def load_pysc2() -> types.SimpleNamespace:
    """pysc2 4.0.0 on Python 3.11: pure-Python protobuf, and random.shuffle taking the second argument it lost."""
    os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
    if not getattr(random.shuffle, "_accepts_random", False):
        original = random.shuffle

        def shuffle(x, random_fn=None):
            if random_fn is None:
                return original(x)
            for i in reversed(range(1, len(x))):
                j = int(random_fn() * (i + 1))
                x[i], x[j] = x[j], x[i]

        shuffle._accepts_random = True
        random.shuffle = shuffle
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # protobuf's pure-Python descriptors
        actions = importlib.import_module("pysc2.lib.actions")
        features = importlib.import_module("pysc2.lib.features")
        units = importlib.import_module("pysc2.lib.units")
        error = importlib.import_module("s2clientprotocol.error_pb2")
    return types.SimpleNamespace(actions=actions, features=features, units=units, error=error)


@pytest.fixture(scope="module")
def pysc2():
    return load_pysc2()


# ---------------------------------------------------------------------------------------------------------------
# Helpers: act through the env (with its game loops) or apply an action to the state alone (no time passes).

def make(scenario: str, seed: int = 0, fmt: InterfaceFormat = UNITS_ONLY) -> tuple[arena.ArenaEnv, dict]:
    env = arena.make(scenario, num_envs=1, interface=fmt)
    obs, _ = env.reset(seed=[seed])
    return env, obs


def call(function: FunctionId | int, **arguments) -> BatchedAction:
    return BatchedAction.make(int(function), batch=1, **arguments)


def apply(env: arena.ArenaEnv, function: FunctionId | int, **arguments) -> int:
    """Carry out one action on env.state without running game loops; returns the ActionResult."""
    visible, _ = perceive(env.state, 0, env.context)
    state, result = apply_action(env.state, call(function, **arguments), 0, env.context.table, env.interface,
                                 env.spec_.geometry, visible)
    env.state = state
    return int(result[0])


def look(env: arena.ArenaEnv) -> dict[str, torch.Tensor]:
    """The observation of env.state as it is now."""
    zeros = torch.zeros(1, dtype=torch.long)
    return observe(env.state, 0, env.context, zeros + int(ActionResult.Success), zeros)


def pixel(env: arena.ArenaEnv, slot: int) -> tuple[int, int]:
    """(x, y) screen pixel under a unit's centre."""
    px = world_to_screen(env.state.unit_pos[:, slot:slot + 1], env.state.camera[:, 0], env.interface)[0, 0]
    return int(px[0]), int(px[1])


def selection(env: arena.ArenaEnv) -> set[int]:
    return set(env.state.selected[0, 0].nonzero()[:, 0].tolist())


def group(env: arena.ArenaEnv, index: int) -> set[int]:
    return set(env.state.control_groups[0, 0, index].nonzero()[:, 0].tolist())


def available(obs: dict[str, torch.Tensor]) -> set[int]:
    return set(obs["available_actions"][0].nonzero()[:, 0].tolist())


def marines_and_marauders() -> arena.ArenaEnv:
    """DefeatRoaches with its last three Marines turned into Marauders: two of the player's unit types."""
    env, _ = make("DefeatRoaches", seed=0)
    kind = env.state.unit_type.clone()
    kind[0, 6:9] = int(UnitType.MARAUDER)
    env.state = env.state.replace(unit_type=kind)
    return env


def empty_pixel(env: arena.ArenaEnv) -> tuple[int, int]:
    """A screen pixel in the middle of the map, between the two boxes, where no unit stands."""
    px = world_to_screen(torch.tensor([[[33.0, 28.0]]]), env.state.camera[:, 0], env.interface)[0, 0]
    return int(px[0]), int(px[1])


# ---------------------------------------------------------------------------------------------------------------
# pysc2's ids, argument types, layers and unit columns.

def test_function_ids_and_arguments_equal_pysc2(pysc2):
    functions = pysc2.actions.FUNCTIONS
    assert NUM_FUNCTIONS == len(functions) == 573
    for f in FunctionId:
        theirs = functions[int(f)]
        assert theirs.name == f.name, f
        assert [a.name for a in theirs.args] == [a.name for a in FUNCTION_ARGUMENTS[f]], f
    assert len(ArgumentType) == 9  # distinct members, no aliases among the three point types
    for argument in ArgumentType:
        theirs = getattr(pysc2.actions.TYPES, argument.name)
        assert (theirs.id, tuple(theirs.sizes)) == (argument.id, argument.sizes), argument


def test_order_abilities_equal_pysc2(pysc2):
    functions = pysc2.actions.FUNCTIONS
    assert functions.Move_screen.ability_id == ABILITY_MOVE == functions.Move_minimap.ability_id
    assert functions.Attack_screen.ability_id == ABILITY_ATTACK == functions.Attack_minimap.ability_id
    assert functions.HoldPosition_quick.ability_id == ABILITY_HOLD


def test_argument_enums_equal_pysc2(pysc2):
    a = pysc2.actions
    assert [int(v) for v in a.SelectPointAct] == [0, 1, 2, 3]  # select, toggle, select_all_type, add_all_type
    assert [v.name for v in a.ControlGroupAct] == ["recall", "set", "append", "set_and_steal", "append_and_steal"]
    assert [v.name for v in a.SelectAdd] == ["select", "add"]


def test_layers_equal_pysc2(pysc2):
    assert list(SCREEN_LAYERS) == [f.name for f in pysc2.features.SCREEN_FEATURES]
    assert list(MINIMAP_LAYERS) == [f.name for f in pysc2.features.MINIMAP_FEATURES]
    assert [(v.name, int(v)) for v in pysc2.features.PlayerRelative] == [
        ("NONE", PlayerRelative.NONE), ("SELF", PlayerRelative.SELF), ("ALLY", PlayerRelative.ALLY),
        ("NEUTRAL", PlayerRelative.NEUTRAL), ("ENEMY", PlayerRelative.ENEMY)]
    assert [(v.name, int(v)) for v in pysc2.features.Visibility] == [(v.name, int(v)) for v in Visibility]


def test_feature_unit_columns_equal_pysc2(pysc2):
    assert [(c.name, int(c)) for c in pysc2.features.FeatureUnit] == [(c.name, int(c)) for c in FeatureUnit]
    assert NUM_UNIT_FEATURES == len(pysc2.features.FeatureUnit) == 46


def test_unit_type_ids_equal_pysc2(pysc2):
    races = (pysc2.units.Terran, pysc2.units.Zerg, pysc2.units.Protoss, pysc2.units.Neutral)
    for kind, spec in UNIT_SPECS.items():
        if kind in (UnitType.NONE, UnitType.BEACON, UnitType.MINERAL_SHARD):
            continue  # the mini-game markers have no name in pysc2's units.py
        if kind == UnitType.EGG:
            assert spec.pysc2_id == 103  # the game's Egg; pysc2's units.py does not name it
            continue
        found = [race[spec.name] for race in races if spec.name in race.__members__]
        assert found and int(found[0]) == spec.pysc2_id, spec.name


def test_action_results_are_protocol_codes(pysc2):
    ours = {ActionResult.InvalidAvailableAction, ActionResult.ApmCapExceeded}  # the project's own, documented
    for result in ActionResult:
        if result in ours:
            continue
        assert pysc2.error.ActionResult.Value(result.name) == int(result), result.name
    protocol = set(pysc2.error.ActionResult.values())
    assert int(ActionResult.ApmCapExceeded) not in protocol  # never mistaken for a game error


# ---------------------------------------------------------------------------------------------------------------
# Layers (y, x), points (x, y), the 24-unit screen, feature_units and raw_units.

def test_layers_are_indexed_y_x_and_points_are_x_y():
    env, _ = make("DefeatRoaches", seed=0, fmt=FMT)
    pos = env.state.unit_pos.clone()
    pos[0, 0] = env.state.camera[0, 0] + torch.tensor([-7.0, 4.0])  # far from the diagonal: x pixel != y pixel
    env.state = env.state.replace(unit_pos=pos)
    obs = look(env)
    x, y = pixel(env, 0)
    assert (x, y) == (int(32 - 7 * 64 / 24), int(32 - 4 * 64 / 24))  # y grows downwards on the screen
    unit_type = obs["feature_screen"][0, SCREEN_LAYERS.index("unit_type")]
    assert int(unit_type[y, x]) == 48  # Marine, at [y, x] ...
    assert int(unit_type[x, y]) == 0  # ... not at [x, y]
    assert int(obs["feature_screen"][0, SCREEN_LAYERS.index("player_relative"), y, x]) == PlayerRelative.SELF
    # select_point takes (x, y).
    assert apply(env, FunctionId.select_point, select_point_act=0, screen=(x, y)) == ActionResult.Success
    assert selection(env) == {0}
    apply(env, FunctionId.select_point, select_point_act=0, screen=(y, x))
    assert selection(env) == set()


def test_minimap_is_indexed_y_x():
    env, _ = make("DefeatRoaches", seed=0, fmt=FMT)
    obs = look(env)
    roach = int((env.state.unit_type[0] == int(UnitType.ROACH)).nonzero()[0, 0])
    x, y = env.state.unit_pos[0, roach].tolist()  # 64 minimap pixels over the 64-cell map
    assert int(obs["feature_minimap"][0, MINIMAP_LAYERS.index("player_relative"), int(64 - y), int(x)]) == 4
    assert int(obs["feature_minimap"][0, MINIMAP_LAYERS.index("unit_type"), int(64 - y), int(x)]) == 110


def test_screen_spans_24_map_units():
    env, _ = make("DefeatRoaches", seed=0)
    camera = env.state.camera[0, 0]
    pos = env.state.unit_pos.clone()
    offsets = {0: (11.5, 0.0), 1: (-11.5, 0.0), 2: (0.0, 11.5), 3: (0.0, -11.5),
               4: (12.5, 0.0), 5: (-12.5, 0.0), 6: (0.0, 12.5), 7: (0.0, -12.5)}
    for slot, (dx, dy) in offsets.items():
        pos[0, slot] = camera + torch.tensor([dx, dy])
    env.state = env.state.replace(unit_pos=pos)
    obs = look(env)
    assert obs["feature_units_mask"][0, :8].tolist() == [True] * 4 + [False] * 4
    assert obs["raw_units_mask"][0, :8].tolist() == [True] * 8
    units = obs["feature_units"][0]
    assert units[0, FeatureUnit.x] == 62 and units[1, FeatureUnit.x] == 1  # 32 +- 11.5 * 64 / 24 = 62.7, 1.3
    assert units[2, FeatureUnit.y] == 1 and units[3, FeatureUnit.y] == 62
    assert float(units[0, FeatureUnit.radius]) == pytest.approx(0.375 * 64 / 24)


def test_feature_and_raw_units_columns():
    env, obs = make("DefeatRoaches", seed=1)
    s = env.state
    for slot in (0, 50):
        row = obs["feature_units"][0, slot]
        x, y = pixel(env, slot)
        assert (int(row[FeatureUnit.x]), int(row[FeatureUnit.y])) == (x, y)
        raw = obs["raw_units"][0, slot]
        wx, wy = s.unit_pos[0, slot].tolist()
        assert (int(raw[FeatureUnit.x]), int(raw[FeatureUnit.y])) == (int(wx), int(64 - wy))  # minimap pixels
        assert int(row[FeatureUnit.unit_type]) == (48 if slot == 0 else 110)
        assert int(row[FeatureUnit.alliance]) == (PlayerRelative.SELF if slot == 0 else PlayerRelative.ENEMY)
        assert int(row[FeatureUnit.owner]) == (1 if slot == 0 else 2)
        assert int(row[FeatureUnit.health]) == (45 if slot == 0 else 145)
        assert int(row[FeatureUnit.is_selected]) == (1 if slot == 0 else 0)
    assert obs["feature_units"].shape[-1] == obs["raw_units"].shape[-1] == 46


# ---------------------------------------------------------------------------------------------------------------
# Selection.

def test_select_point_modes():
    env = marines_and_marauders()
    marine, other_marine, marauder = 3, 5, 7
    assert apply(env, FunctionId.select_point, select_point_act=0, screen=pixel(env, marine)) == 1
    assert selection(env) == {marine}  # select replaces
    apply(env, FunctionId.select_point, select_point_act=1, screen=pixel(env, other_marine))
    assert selection(env) == {marine, other_marine}  # toggle adds ...
    apply(env, FunctionId.select_point, select_point_act=1, screen=pixel(env, marine))
    assert selection(env) == {other_marine}  # ... and removes
    apply(env, FunctionId.select_point, select_point_act=2, screen=pixel(env, marauder))
    assert selection(env) == {6, 7, 8}  # all of the type on screen
    apply(env, FunctionId.select_point, select_point_act=3, screen=pixel(env, marine))
    assert selection(env) == set(range(9))  # add all of the type
    apply(env, FunctionId.select_point, select_point_act=0, screen=empty_pixel(env))
    assert selection(env) == set()  # a click on the ground deselects


def test_select_rect_replace_and_add():
    env, _ = make("DefeatRoaches", seed=0)
    corners = [pixel(env, slot) for slot in range(9)]  # one vertical line, 1 map unit = 2.67 pixels apart
    assert apply(env, FunctionId.select_rect, select_add=0, screen=corners[0], screen2=corners[2]) == 1
    assert selection(env) == {0, 1, 2}
    apply(env, FunctionId.select_rect, select_add=1, screen=corners[6], screen2=corners[7])
    assert selection(env) == {0, 1, 2, 6, 7}
    apply(env, FunctionId.select_rect, select_add=0, screen=corners[4], screen2=corners[4])
    assert selection(env) == {4}
    roach = int((env.state.unit_type[0] == int(UnitType.ROACH)).nonzero()[0, 0])
    apply(env, FunctionId.select_rect, select_add=0, screen=(0, 0), screen2=(63, 63))
    assert selection(env) == set(range(9)) and roach not in selection(env)  # boxes take only own units


def test_select_army():
    env, _ = make("DefeatRoaches", seed=0)
    apply(env, FunctionId.select_point, select_point_act=0, screen=pixel(env, 2))
    assert apply(env, FunctionId.select_army, select_add=0) == ActionResult.Success
    assert selection(env) == set(range(9))


def test_control_groups_set_recall_append_steal():
    env, _ = make("DefeatRoaches", seed=0)

    def select(*slots: int) -> None:
        apply(env, FunctionId.select_point, select_point_act=0, screen=pixel(env, slots[0]))
        for slot in slots[1:]:
            apply(env, FunctionId.select_point, select_point_act=1, screen=pixel(env, slot))
        assert selection(env) == set(slots)

    def control(act: int, index: int) -> None:
        assert apply(env, FunctionId.select_control_group, control_group_act=act, control_group_id=index) == 1

    select(0, 1)
    control(1, 1)  # set
    assert group(env, 1) == {0, 1}
    select(2)
    control(2, 1)  # append
    assert group(env, 1) == {0, 1, 2} and selection(env) == {2}
    select(5)
    control(0, 1)  # recall
    assert selection(env) == {0, 1, 2}
    select(2, 3)
    control(3, 2)  # set and steal
    assert group(env, 2) == {2, 3} and group(env, 1) == {0, 1}
    select(1)
    control(4, 2)  # append and steal
    assert group(env, 2) == {1, 2, 3} and group(env, 1) == {0}
    control(0, 7)  # recalling an empty group empties the selection
    assert selection(env) == set()
    # Dead units leave their groups.
    hp = env.state.unit_hp.clone()
    hp[0, 2] = 0.0
    env.state = env.state.replace(unit_hp=hp)
    env.step(call(FunctionId.no_op))
    assert group(env, 2) == {1, 3}


# ---------------------------------------------------------------------------------------------------------------
# Available actions and invalid calls.

def test_available_actions_always_and_with_army():
    env, obs = make("MoveToBeacon", seed=0)
    assert available(obs) == ALWAYS | {7}  # nothing selected: no commands; an army: select_army
    obs, *_ = env.step(call(FunctionId.select_army, select_add=0))
    assert available(obs) == ALWAYS | {7} | COMMANDS
    alive = env.state.unit_alive.clone()
    alive[0, 0] = False  # no army left
    env.state = env.state.replace(unit_alive=alive)
    assert available(look(env)) == ALWAYS


def test_commands_need_a_selection_of_own_units():
    env, obs = make("DefeatRoaches", seed=0)
    assert COMMANDS <= available(obs)  # Marines preselected
    roach = int((env.state.unit_type[0] == int(UnitType.ROACH)).nonzero()[0, 0])
    apply(env, FunctionId.select_point, select_point_act=0, screen=pixel(env, roach))
    assert selection(env) == {roach}  # an enemy can be selected (to look at) ...
    assert not (COMMANDS & available(look(env)))  # ... but not commanded


def test_unavailable_function_does_nothing_and_reports_214():
    env, obs = make("MoveToBeacon", seed=0)
    before = env.state
    for function in (FunctionId.Move_screen, FunctionId.Attack_minimap, FunctionId.Stop_quick, 490, 5):
        env.state = before
        obs, reward, *_ = env.step(call(function, screen=(10, 10), minimap=(20, 20)))
        assert int(obs["action_result"][0]) == 214 == ActionResult.InvalidAvailableAction
        assert not env.state.order_kind.any() and not env.state.selected.any()
        assert torch.equal(env.state.unit_pos[0, 0], before.unit_pos[0, 0])  # the Marine stayed idle
    obs, *_ = env.step(call(FunctionId.no_op))
    assert int(obs["action_result"][0]) == ActionResult.Success


def test_arguments_out_of_range_do_nothing():
    env, _ = make("DefeatRoaches", seed=0)
    before = env.state
    assert apply(env, FunctionId.Move_screen, screen=(64, 10)) == ActionResult.Error
    assert apply(env, FunctionId.select_control_group, control_group_act=5, control_group_id=0) == 3
    assert apply(env, FunctionId.select_control_group, control_group_act=0, control_group_id=10) == 3
    assert apply(env, FunctionId.select_control_group, control_group_act=1, control_group_id=-1) == 3
    assert apply(env, FunctionId.select_point, select_point_act=4, screen=(1, 1)) == 3
    for field in dataclasses.fields(State):
        assert torch.equal(getattr(before, field.name), getattr(env.state, field.name)), field.name


# ---------------------------------------------------------------------------------------------------------------
# Commands.

def _roach(env: arena.ArenaEnv) -> int:
    return int((env.state.unit_type[0] == int(UnitType.ROACH)).nonzero()[0, 0])


def test_attack_screen_on_an_enemy_attacks_that_unit():
    env, _ = make("DefeatRoaches", seed=0)
    roach = _roach(env)
    assert apply(env, FunctionId.Attack_screen, queued=0, screen=pixel(env, roach)) == ActionResult.Success
    s = env.state
    assert (s.order_kind[0, :9, 0] == int(Order.ATTACK_UNIT)).all()
    assert (s.order_unit[0, :9, 0] == roach).all()
    assert (s.order_kind[0, 9:] == 0).all()  # only the selection got the order
    obs = look(env)
    assert (obs["feature_units"][0, :9, FeatureUnit.order_id_0] == ABILITY_ATTACK).all()
    assert (obs["feature_units"][0, :9, FeatureUnit.order_length] == 1).all()


def test_attack_screen_on_the_ground_is_an_attack_move():
    env, _ = make("DefeatRoaches", seed=0)
    x, y = empty_pixel(env)
    apply(env, FunctionId.Attack_screen, queued=0, screen=(x, y))
    s = env.state
    assert (s.order_kind[0, :9, 0] == int(Order.ATTACK_MOVE)).all()
    assert (s.order_unit[0, :9, 0] == -1).all()
    camera = s.camera[0, 0]
    point = torch.tensor([camera[0] + (x + 0.5 - 32) * 24 / 64, camera[1] - (y + 0.5 - 32) * 24 / 64])
    assert torch.allclose(s.order_pos[0, 0, 0], point)


def test_move_smart_hold_stop_and_queue():
    env, _ = make("DefeatRoaches", seed=0)
    roach = _roach(env)
    apply(env, FunctionId.Move_screen, queued=0, screen=pixel(env, roach))
    assert (env.state.order_kind[0, :9, 0] == int(Order.MOVE)).all()  # Move on a unit only walks there
    apply(env, FunctionId.Smart_screen, queued=0, screen=pixel(env, roach))
    assert (env.state.order_kind[0, :9, 0] == int(Order.ATTACK_UNIT)).all()  # right-click on an enemy attacks
    apply(env, FunctionId.Smart_screen, queued=0, screen=empty_pixel(env))
    assert (env.state.order_kind[0, :9, 0] == int(Order.MOVE)).all()  # right-click on the ground moves
    apply(env, FunctionId.HoldPosition_quick, queued=1)
    apply(env, FunctionId.Attack_minimap, queued=1, minimap=(30, 30))
    assert env.state.order_kind[0, 0].tolist() == [int(Order.MOVE), int(Order.HOLD), int(Order.ATTACK_MOVE), 0]
    assert (look(env)["feature_units"][0, :9, FeatureUnit.order_id_1] == ABILITY_HOLD).all()
    apply(env, FunctionId.Stop_quick, queued=0)
    assert not env.state.order_kind[0, :9].any()
    apply(env, FunctionId.HoldPosition_quick, queued=0)
    assert (env.state.order_kind[0, :9, 0] == int(Order.HOLD)).all()


def test_move_minimap_sends_units_to_the_map_point():
    env, _ = make("MoveToBeacon", seed=3)
    env.step(call(FunctionId.select_army, select_add=0))
    apply(env, FunctionId.Move_minimap, queued=0, minimap=(40, 30))  # minimap 64 px over a 64-cell map
    assert torch.allclose(env.state.order_pos[0, 0, 0], torch.tensor([40.5, 64 - 30.5]))
    assert look(env)["feature_units"][0, 0, FeatureUnit.order_id_0] == ABILITY_MOVE


# ---------------------------------------------------------------------------------------------------------------
# Camera.

def test_move_camera_moves_and_clamps():
    env, obs = make("FindAndDefeatZerglings", seed=0, fmt=FMT)
    assert obs["camera"][0].tolist() == [32.0, 28.0]
    obs, *_ = env.step(call(FunctionId.move_camera, minimap=(40, 30)))
    assert obs["camera"][0].tolist() == [40.5, 64 - 30.5]
    assert int(obs["action_result"][0]) == ActionResult.Success
    camera_layer = obs["feature_minimap"][0, MINIMAP_LAYERS.index("camera")]
    assert int(camera_layer[64 - 34, 40]) == 1 and int(camera_layer[64 - 34, 60]) == 0  # 24 units wide
    obs, *_ = env.step(call(FunctionId.move_camera, minimap=(0, 0)))
    assert obs["camera"][0].tolist() == [10.0, 44.0]  # camera bounds (10, 8)-(54, 44), minimap (0, 0) = top left
    obs, *_ = env.step(call(FunctionId.move_camera, minimap=(63, 63)))
    assert obs["camera"][0].tolist() == [54.0, 8.0]


def test_feature_units_follow_the_camera():
    env, obs = make("DefeatRoaches", seed=0)
    assert bool(obs["feature_units_mask"][0, :9].all())
    obs, *_ = env.step(call(FunctionId.move_camera, minimap=(60, 60)))  # far from everything
    assert not obs["feature_units_mask"].any()
    assert bool(obs["raw_units_mask"][0, :9].all())  # raw units do not depend on the camera
    assert COMMANDS <= available(obs)  # the selection stays when it leaves the screen
