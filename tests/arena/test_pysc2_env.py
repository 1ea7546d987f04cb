"""PySC2's SC2Env over the embedded engine: pysc2's own agents and run_loop run unchanged, the specs equal what
pysc2's features.Features produces, and observations and actions follow pysc2's rules."""

from __future__ import annotations

import os

import numpy as np
import pytest

import arena
from arena import pysc2_env as sc2_env
from arena.compat.pysc2 import load_pysc2

pysc2 = load_pysc2()
from pysc2.agents import random_agent, scripted_agent  # noqa: E402
from pysc2.env import run_loop  # noqa: E402
from pysc2.lib import point  # noqa: E402
from pysc2.lib.actions import FUNCTIONS, FunctionCall  # noqa: E402

features = pysc2.features
AIF = sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64),
                                   use_feature_units=True)


def make_env(map_name: str = "MoveToBeacon", aif=AIF, **kwargs) -> sc2_env.SC2Env:
    return sc2_env.SC2Env(map_name=map_name, players=[sc2_env.Agent(sc2_env.Race.terran)],
                          agent_interface_format=aif, step_mul=8, random_seed=kwargs.pop("random_seed", 3), **kwargs)


@pytest.mark.parametrize("map_name, agent_class, low, high", [
    # pysc2's scripted agents on the real game: MoveToBeacon ~25, CollectMineralShards ~80-100.
    ("MoveToBeacon", scripted_agent.MoveToBeacon, 18, 35),
    ("CollectMineralShards", scripted_agent.CollectMineralShards, 50, 140),
    ("CollectMineralShards", scripted_agent.CollectMineralShardsFeatureUnits, 50, 140),
    ("DefeatRoaches", scripted_agent.DefeatRoaches, 10, 300),
    ("MoveToBeacon", random_agent.RandomAgent, 0, 5),
])
def test_pysc2_agents_run_unchanged_in_pysc2_run_loop(map_name, agent_class, low, high, capsys):
    agent = agent_class()
    with make_env(map_name) as env:
        run_loop.run_loop([agent], env, max_episodes=1)
    assert agent.episodes == 1 and agent.steps > 10
    assert low <= agent.reward <= high, agent.reward
    assert "fps" in capsys.readouterr().out  # run_loop's own report


def _function_signature(spec) -> list[tuple]:
    return [(f.id, f.name, tuple((a.id, a.name, tuple(a.sizes)) for a in f.args)) for f in spec.functions]


@pytest.mark.parametrize("aif", [
    AIF,
    sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=84, minimap=64), use_raw_units=True),
    sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=32, minimap=32),
                                 use_feature_units=True, use_raw_units=True),
    sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64)),
])
def test_specs_equal_pysc2_features(aif):
    with make_env(aif=aif) as env:
        (obs_spec,), (act_spec,) = env.observation_spec(), env.action_spec()
    theirs = features.Features(aif, map_size=point.Point(64, 64))
    assert dict(obs_spec) == {k: tuple(v) for k, v in theirs.observation_spec().items()}
    their_actions = theirs.action_spec()
    assert [(t.id, t.name, tuple(t.sizes)) for t in act_spec.types] == \
        [(t.id, t.name, tuple(t.sizes)) for t in their_actions.types]
    assert _function_signature(act_spec) == _function_signature(their_actions)


def _matches(shape: tuple, spec: tuple) -> bool:
    return len(shape) == len(spec) and all(s == 0 or s == n for n, s in zip(shape, spec))


def test_observations_have_pysc2_keys_shapes_names_and_dtypes():
    aif = sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64),
                                       use_feature_units=True, use_raw_units=True)
    with make_env(aif=aif) as env:
        (spec,) = env.observation_spec()
        (timestep,) = env.reset()
        obs = timestep.observation
        assert timestep.first() and timestep.reward == 0
        assert set(obs) == set(spec) | {"map_name"}
        for key, shape in spec.items():
            if key != "map_name":
                assert _matches(np.asarray(obs[key]).shape, shape), key
        assert obs.feature_screen.dtype == np.int32 and obs.feature_units.dtype == np.int64
        # Named access, as pysc2 agents use it.
        assert obs.feature_screen.player_relative.shape == (64, 64)
        assert (obs.feature_screen.player_relative == features.PlayerRelative.SELF).any()
        assert obs.feature_minimap.camera.any()
        assert obs.player.player_id == 1
        units = obs.feature_units
        marine = [unit for unit in units if unit.alliance == features.PlayerRelative.SELF]
        assert len(marine) == 1 and marine[0].unit_type == 48 and marine[0].health == 45
        assert units[:, "tag"].tolist() == [0, 0]  # tags only in raw_units, as in pysc2
        assert (obs.raw_units[:, features.FeatureUnit.tag] > 0).all()
        assert set(obs.available_actions) >= {0, 1, 2, 3, 4, 7}
        assert obs.map_name == "MoveToBeacon"


def test_observation_values_equal_the_batched_engine():
    with make_env(random_seed=11) as env:
        (timestep,) = env.reset()
    batched = arena.make("MoveToBeacon", num_envs=1)
    obs, _ = batched.reset(seed=11)
    assert np.array_equal(timestep.observation.feature_screen, obs["feature_screen"][0].numpy())
    assert np.array_equal(timestep.observation.feature_minimap, obs["feature_minimap"][0].numpy())


def test_selection_semantics_and_select_observations():
    with make_env("DefeatRoaches", aif=AIF) as env:
        (timestep,) = env.reset()
        assert len(timestep.observation.multi_select) == 9  # the Marines start selected
        own = [unit for unit in timestep.observation.feature_units if unit.alliance == features.PlayerRelative.SELF]
        first = [int(own[0].x), int(own[0].y)]
        (timestep,) = env.step([FunctionCall(FUNCTIONS.select_point.id, [[0], first])])  # select one
        assert len(timestep.observation.single_select) == 1 and len(timestep.observation.multi_select) == 0
        assert timestep.observation.single_select[0].unit_type == 48
        assert timestep.observation.last_actions.tolist() == [FUNCTIONS.select_point.id]
        second = [int(own[1].x), int(own[1].y)]
        (timestep,) = env.step([FunctionCall(FUNCTIONS.select_point.id, [[1], second])])  # toggle adds
        assert len(timestep.observation.multi_select) == 2
        (timestep,) = env.step([FunctionCall(FUNCTIONS.select_control_group.id, [[1], [3]])])  # set group 3
        assert timestep.observation.control_groups[3].tolist() == [48, 2]
        (timestep,) = env.step([FunctionCall(FUNCTIONS.select_army.id, [[0]])])
        assert len(timestep.observation.multi_select) == 9
        (timestep,) = env.step([FunctionCall(FUNCTIONS.Attack_screen.id, [[0], [32, 32]])])
        assert timestep.observation.action_result.tolist() == []  # success is no error


def test_unavailable_function_raises_by_default_and_is_a_reported_no_op_otherwise():
    with make_env() as env:
        env.reset()
        env.step([FunctionCall(FUNCTIONS.select_point.id, [[0], [0, 0]])])  # select nothing
        with pytest.raises(ValueError, match="Function 331/Move_screen is currently not available"):
            env.step([FunctionCall(FUNCTIONS.Move_screen.id, [[0], [10, 10]])])
    with make_env(ensure_available_actions=False) as env:
        env.reset()
        env.step([FunctionCall(FUNCTIONS.select_point.id, [[0], [0, 0]])])
        (timestep,) = env.step([FunctionCall(FUNCTIONS.Move_screen.id, [[0], [10, 10]])])
        assert timestep.observation.action_result.tolist() == [214]
        assert timestep.observation.last_actions.tolist() == []


@pytest.mark.parametrize("call, message", [
    (FunctionCall(FUNCTIONS.move_camera.id, []), "Wrong number of arguments"),
    (FunctionCall(FUNCTIONS.move_camera.id, [[64, 3]]), "out of range"),
    (FunctionCall(FUNCTIONS.move_camera.id, [[3]]), "Wrong number of values"),
    (FunctionCall(9999, []), "Invalid function id"),
])
def test_malformed_actions_raise_like_pysc2(call, message):
    with make_env() as env:
        env.reset()
        with pytest.raises(ValueError, match=message):
            env.step([call])


def test_episode_limit_last_discount_and_autoreset():
    with make_env(game_steps_per_episode=80, discount=0.9) as env:
        (timestep,) = env.reset()
        steps = 0
        while not timestep.last():
            (timestep,) = env.step([FunctionCall(FUNCTIONS.no_op.id, [])])
            steps += 1
            assert timestep.discount == 0.9
        assert steps == 10 and timestep.observation.game_loop[0] == 80
        (timestep,) = env.step([FunctionCall(FUNCTIONS.no_op.id, [])])
        assert timestep.first() and timestep.observation.game_loop[0] == 0


def test_reward_is_the_score_change():
    with make_env() as env:
        agent = scripted_agent.MoveToBeacon()
        agent.setup(env.observation_spec()[0], env.action_spec()[0])
        (timestep,) = env.reset()
        total = 0.0
        for _ in range(60):
            (timestep,) = env.step([agent.step(timestep)])
            total += timestep.reward
        assert total == timestep.observation.score_cumulative.score > 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(map_name="Nowhere"), "map 'Nowhere' is not an embedded scenario"),
    (dict(agent_interface_format=None), "Please specify agent_interface_format"),
    (dict(players=[sc2_env.Agent(sc2_env.Race.terran), sc2_env.Agent(sc2_env.Race.zerg)]), "1-player map"),
    (dict(agent_interface_format=sc2_env.AgentInterfaceFormat(
        feature_dimensions=sc2_env.Dimensions(screen=(64, 48), minimap=64))), "square layers"),
    (dict(agent_interface_format=sc2_env.AgentInterfaceFormat(
        rgb_dimensions=sc2_env.Dimensions(screen=64, minimap=64))), "feature_dimensions"),
    (dict(save_replay_episodes=1), "Missing replay_dir"),
])
def test_bad_constructor_arguments_say_what_is_wrong(kwargs, message):
    arguments = dict(map_name="MoveToBeacon", players=[sc2_env.Agent(sc2_env.Race.terran)],
                     agent_interface_format=AIF)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        sc2_env.SC2Env(**arguments)


def test_random_seed_repeats_the_game():
    def trajectory():
        with make_env("CollectMineralShards", random_seed=5) as env:
            (timestep,) = env.reset()
            return timestep.observation.feature_screen.copy()
    assert np.array_equal(trajectory(), trajectory())


def test_save_replay_episodes_writes_arena_replays_that_verify(tmp_path):
    from arena.replay.format import read_replay
    from arena.replay.verify import verify_replay

    env = sc2_env.SC2Env(map_name="MoveToBeacon", players=[sc2_env.Agent(sc2_env.Race.terran)],
                         agent_interface_format=AIF, step_mul=8, random_seed=7, save_replay_episodes=2,
                         replay_dir=str(tmp_path), game_steps_per_episode=80)
    agent = scripted_agent.MoveToBeacon()
    agent.setup(env.observation_spec()[0], env.action_spec()[0])
    for _ in range(2):
        (timestep,) = env.reset()
        while not timestep.last():
            (timestep,) = env.step([agent.step(timestep)])
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == ["MoveToBeacon-seed8-episode2.replay.npz"]  # every 2nd episode
    replay = read_replay(files[0])
    assert replay.outcome["ended"] == "stopped" and replay.outcome["game_loops"] == 80
    assert replay.outcome["result"] == [timestep.observation.score_cumulative.score]
    assert verify_replay(files[0]).ok
    path = env.save_replay(str(tmp_path), "again")  # pysc2's method: the game just played
    assert read_replay(path).header["seed"] == 8
    env.close()


def test_pysc2_after_a_compiled_protobuf_is_refused_with_the_remedy():
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"}
    script = ("from google.protobuf import descriptor_pb2\nfrom arena.compat.pysc2 import load_pysc2\n"
              "try:\n    load_pysc2()\nexcept ImportError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert "start Python with PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python" in result.stdout, result.stderr
