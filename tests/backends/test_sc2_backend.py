"""The real-game backend (`backend="sc2"`) through pysc2's `mock_sc2_env`: the same observation specs as the
embedded engine, actions reaching the game as pysc2 FunctionCalls, autoreset, unavailable functions, replays, seeds,
two-player maps, and the error for a missing game (with the real SC2Env: this machine has no StarCraft II)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import arena
from arena import BatchedAction, FunctionId, InterfaceFormat
from arena.backends.conversion import camera_centre, pad_rows
from arena.backends.sc2 import Sc2Env, Sc2NotInstalledError
from arena.compat.pysc2 import load_pysc2
from arena.interface.functions import ActionResult

load_pysc2()
from pysc2.env import mock_sc2_env, sc2_env  # noqa: E402
from pysc2.lib.actions import FunctionCall  # noqa: E402

NO_OP = FunctionCall(int(FunctionId.no_op), [])
MOCK_AVAILABLE = [0, 1, 2, 3, 4, 6, 7, 451, 452]
"""pysc2's dummy observation's available functions (Move_screen, 331, is not among them)."""


class RecordingGame(mock_sc2_env.SC2TestEnv):
    """pysc2's mock game that keeps its constructor's arguments, the actions it was sent and whether it was closed."""

    def __init__(self, **options):
        self.options = dict(options)
        options.pop("replay_prefix", None)  # the real SC2Env takes it; the mock does not
        super().__init__(**options)
        self.sent: list[list] = []
        self.resets = 0
        self.saved: list[tuple] = []
        self.is_closed = False

    def reset(self):
        self.resets += 1
        return super().reset()

    def step(self, actions, step_mul=None):
        if any(a is not None for a in actions):  # the mock's reset steps with [None]
            self.sent.append(list(actions))
        return super().step(actions, step_mul)

    def save_replay(self, replay_dir, prefix=None):
        self.saved.append((replay_dir, prefix))
        return os.path.join(replay_dir, f"{prefix}.SC2Replay")

    def close(self):
        self.is_closed = True


@pytest.fixture
def games() -> list[RecordingGame]:
    return []


def make(games: list[RecordingGame], scenario: str = "MoveToBeacon", **kwargs) -> Sc2Env:
    def factory(**options) -> RecordingGame:
        games.append(RecordingGame(**options))
        return games[-1]

    return arena.make(scenario, backend="sc2", sc2_env_factory=factory, **kwargs)


@pytest.mark.parametrize("fmt", [InterfaceFormat(), InterfaceFormat(screen_size=32, minimap_size=16, raw_units=True),
                                 InterfaceFormat(feature_layers=False, feature_units=False)],
                         ids=["default", "small-raw", "no-layers"])
def test_observations_have_the_embedded_engines_keys_shapes_and_dtypes(games, fmt):
    embedded = arena.make("MoveToBeacon", num_envs=2, interface=fmt)
    expected, expected_info = embedded.reset(seed=0)
    units = expected["multi_select"].shape[1]
    env = make(games, num_envs=2, interface=fmt, max_units=units)
    assert env.single_observation_space == embedded.single_observation_space
    assert env.single_action_space == embedded.single_action_space
    obs, info = env.reset(seed=0)
    stepped = env.step(BatchedAction.no_op(2))
    for got, got_info in ((obs, info), (stepped[0], stepped[4])):
        assert list(got) == list(expected)
        for key, value in expected.items():
            assert (got[key].shape, got[key].dtype, got[key].device) == (value.shape, value.dtype, value.device), key
        assert all(env.single_observation_space[key].contains(value[0].numpy()) for key, value in got.items())
        assert list(got_info) == list(expected_info)
        for key, value in expected_info.items():
            assert (got_info[key].shape, got_info[key].dtype) == (value.shape, value.dtype), key
    _, reward, terminated, truncated, _ = stepped
    assert (reward.dtype, terminated.dtype, truncated.dtype) == (torch.float32, torch.bool, torch.bool)
    assert reward.shape == terminated.shape == truncated.shape == (2,)


def test_observation_values_come_from_the_game(games):
    env = make(games, num_envs=2, interface=InterfaceFormat(raw_units=True), max_units=8)
    obs, info = env.reset(seed=0)
    assert obs["available_actions"][0].nonzero().flatten().tolist() == MOCK_AVAILABLE
    assert obs["feature_units_mask"].tolist() == [[True] + [False] * 7] * 2
    assert obs["feature_units"][:, 0, 0].tolist() == [661, 661]  # the dummy observation's LabBot
    assert obs["raw_units_mask"][:, 0].all()
    # The mock draws the camera on the minimap's top-left quarter of its 256 x 256 map: centre (64, 256 - 64).
    assert obs["camera"].tolist() == [[64.0, 192.0]] * 2
    assert torch.equal(info["score"], obs["score_cumulative"][:, 0])
    assert info["step_type"].tolist() == [0, 0] and info["discount"].tolist() == [0.0, 0.0]
    assert obs["action_result"].tolist() == [int(ActionResult.Success)] * 2
    assert obs["last_actions"].tolist() == [int(FunctionId.no_op)] * 2


@pytest.mark.parametrize("function, arguments, expected", [
    (FunctionId.Smart_screen, dict(queued=1, screen=(3, 4)), [[1], [3, 4]]),
    (FunctionId.Smart_minimap, dict(queued=0, minimap=(5, 6)), [[0], [5, 6]]),
    (FunctionId.select_rect, dict(select_add=1, screen=(1, 2), screen2=(7, 8)), [[1], [1, 2], [7, 8]]),
    (FunctionId.select_point, dict(select_point_act=2, screen=(9, 10)), [[2], [9, 10]]),
    (FunctionId.select_control_group, dict(control_group_act=3, control_group_id=7), [[3], [7]]),
    (FunctionId.select_idle_worker, dict(select_worker=2), [[2]]),
    (FunctionId.select_army, dict(select_add=1), [[1]]),
    (FunctionId.move_camera, dict(minimap=(11, 12)), [[11, 12]]),
    (FunctionId.no_op, dict(queued=1, screen=(1, 1)), []),
])
def test_actions_reach_the_game_as_function_calls_with_pysc2s_arguments(games, function, arguments, expected):
    env = make(games, num_envs=2)
    env.reset(seed=0)
    action = BatchedAction.make(torch.tensor([int(function), int(FunctionId.no_op)]), **arguments)
    obs, *_ = env.step(action)
    assert games[0].sent == [[FunctionCall(int(function), expected)]]
    assert games[1].sent == [[NO_OP]]
    assert obs["action_result"].tolist() == [int(ActionResult.Success)] * 2
    assert obs["last_actions"].tolist() == [int(function), int(FunctionId.no_op)]


def test_dict_actions_are_accepted_and_a_wrong_batch_is_refused(games):
    env = make(games, num_envs=2)
    env.reset(seed=0)
    env.step({"function": torch.tensor([451, 451]), "screen": torch.tensor([[1, 2], [3, 4]])})
    assert [game.sent[-1] for game in games] == [[FunctionCall(451, [[0], [1, 2]])], [FunctionCall(451, [[0], [3, 4]])]]
    with pytest.raises(ValueError, match="one function per agent"):
        env.step(BatchedAction.no_op(3))


def test_unavailable_functions_and_bad_arguments_are_sent_as_no_op_and_reported(games):
    env = make(games, num_envs=2)
    env.reset(seed=0)
    move = BatchedAction.make(torch.tensor([int(FunctionId.Move_screen), int(FunctionId.Smart_screen)]),
                              screen=torch.tensor([[3, 4], [64, 0]]))  # x = 64 is off a 64-pixel screen
    obs, *_ = env.step(move)
    assert [game.sent for game in games] == [[[NO_OP]], [[NO_OP]]]
    assert obs["action_result"].tolist() == [int(ActionResult.InvalidAvailableAction), int(ActionResult.Error)]
    assert obs["last_actions"].tolist() == [int(FunctionId.Move_screen), int(FunctionId.Smart_screen)]
    # The embedded engine reports the same for an unavailable function.
    embedded = arena.make("MoveToBeacon", num_envs=2)
    embedded.reset(seed=0)
    assert embedded.step(move)[0]["action_result"].tolist() == obs["action_result"].tolist()


def test_an_ended_episode_resets_on_the_next_step_and_its_action_is_ignored(games):
    env = make(games, num_envs=1)
    env.reset(seed=0)
    smart = BatchedAction.make(int(FunctionId.Smart_screen), screen=(1, 1))
    for _ in range(9):  # the mock ends its episodes on the 10th step
        _, _, terminated, truncated, info = env.step(smart)
        assert info["step_type"].tolist() == [1] and not terminated.any() and not truncated.any()
        assert info["discount"].tolist() == [1.0]
    _, _, terminated, truncated, info = env.step(smart)
    assert info["step_type"].tolist() == [2] and terminated.tolist() == [True] and truncated.tolist() == [False]
    assert info["discount"].tolist() == [0.0]
    sent, resets = len(games[0].sent), games[0].resets
    obs, reward, terminated, truncated, info = env.step(smart)
    assert (len(games[0].sent), games[0].resets) == (sent, resets + 1)  # reset, not stepped
    assert info["step_type"].tolist() == [0] and reward.tolist() == [0.0]
    assert not terminated.any() and not truncated.any()
    assert obs["last_actions"].tolist() == [int(FunctionId.no_op)]
    env.step(smart)
    assert len(games[0].sent) == sent + 1


def test_an_episode_that_reaches_the_time_limit_is_truncated(games):
    env = make(games, num_envs=1)
    env.reset(seed=0)
    for timestep in games[0].next_timestep:  # the mock repeats these observations
        timestep.observation["game_loop"][0] = env.time_limit
    assert env.time_limit == arena.make_scenario("MoveToBeacon").spec.time_limit_loops
    for _ in range(10):
        _, _, terminated, truncated, info = env.step(BatchedAction.no_op(1))
    assert info["step_type"].tolist() == [2] and truncated.tolist() == [True] and terminated.tolist() == [False]


def test_games_get_the_map_interface_seeds_and_replay_options(games, tmp_path):
    fmt = InterfaceFormat(screen_size=48, minimap_size=32, camera_width=30.0, raw_units=True)
    env = make(games, scenario="MoveToBeacon-v1", num_envs=2, interface=fmt, step_mul=4, save_replay_episodes=3,
               replay_dir=str(tmp_path))
    assert games == []  # games start at the first reset
    env.reset(seed=10)
    assert [game.options["random_seed"] for game in games] == [10, 11]
    assert [game.options["replay_prefix"] for game in games] == ["MoveToBeacon_game0", "MoveToBeacon_game1"]
    for game in games:
        options = game.options
        assert (options["map_name"], options["step_mul"], options["visualize"]) == ("MoveToBeacon", 4, False)
        assert (options["save_replay_episodes"], options["replay_dir"]) == (3, str(tmp_path))
        aif = options["agent_interface_format"]
        dims = aif.feature_dimensions
        assert (dims.screen.x, dims.minimap.x, aif.camera_width_world_units) == (48, 32, 30.0)
        assert aif.use_feature_units and aif.use_raw_units
        assert [type(p) for p in options["players"]] == [sc2_env.Agent]
    assert env.save_replays() == [str(tmp_path / "MoveToBeacon_game0.SC2Replay"),
                                  str(tmp_path / "MoveToBeacon_game1.SC2Replay")]
    with pytest.raises(ValueError, match="replay_dir"):
        make(games, save_replay_episodes=1)


def test_seeds_relaunch_the_games_only_when_they_change(games):
    env = make(games, num_envs=2)
    env.reset(seed=5)
    env.reset(seed=5)
    env.reset()
    assert len(games) == 2 and [game.resets for game in games] == [3, 3]
    env.reset(seed=[7, 9])
    assert len(games) == 4 and games[0].is_closed and games[1].is_closed
    assert [game.options["random_seed"] for game in games[2:]] == [7, 9]
    with pytest.raises(ValueError, match="3 seeds for 2 games"):
        env.reset(seed=[1, 2, 3])


def test_close_and_context_manager_close_every_game(games):
    with make(games, num_envs=2) as env:
        env.reset(seed=0)
    assert [game.is_closed for game in games] == [True, True]
    env.reset(seed=0)  # a closed environment can be reset again, and closed again
    env.close()
    assert all(game.is_closed for game in games)
    with pytest.raises(RuntimeError, match="reset"):
        make(games).step(BatchedAction.no_op(1))


def test_two_agents_on_a_melee_map_are_rows_of_the_batch(games):
    players = [sc2_env.Agent(sc2_env.Race.terran), sc2_env.Agent(sc2_env.Race.zerg)]
    env = make(games, scenario="Simple64", num_envs=2, players=players)
    assert (env.num_games, env.num_agents, env.num_envs) == (2, 2, 4)
    obs, _ = env.reset(seed=0)
    assert obs["player"].shape == (4, 11)
    functions = torch.tensor([int(FunctionId.select_army), 0, 0, int(FunctionId.select_army)])
    _, reward, *_ = env.step(BatchedAction.make(functions, select_add=1))
    assert reward.shape == (4,)
    army = FunctionCall(int(FunctionId.select_army), [[1]])
    assert [game.sent for game in games] == [[[army, NO_OP]], [[NO_OP, army]]]


def test_melee_maps_default_to_an_agent_against_a_bot(games):
    env = make(games, scenario="Simple64", num_envs=1)
    env.reset(seed=0)
    assert [type(p) for p in games[0].options["players"]] == [sc2_env.Agent, sc2_env.Bot]
    assert env.num_envs == 1 and env.time_limit == 16 * 60 * 30  # pysc2's 30-minute melee limit


def test_bad_maps_and_players_are_refused(games):
    with pytest.raises(ValueError, match="not a pysc2 map"):
        make(games, scenario="Skirmish3m")
    with pytest.raises(ValueError, match="one-player map"):
        make(games, players=[sc2_env.Agent(sc2_env.Race.terran), sc2_env.Agent(sc2_env.Race.terran)])
    with pytest.raises(ValueError, match="two players"):
        make(games, scenario="Simple64", players=[sc2_env.Bot(sc2_env.Race.zerg, sc2_env.Difficulty.easy)] * 2)
    with pytest.raises(ValueError, match="num_envs"):
        make(games, num_envs=0)


def test_unknown_backend_and_misplaced_options_are_refused():
    with pytest.raises(ValueError, match="unknown backend 'starcraft'.*'embedded', 'sc2'"):
        arena.make("MoveToBeacon", backend="starcraft")
    with pytest.raises(TypeError, match="players"):
        arena.make("MoveToBeacon", players=[])
    with pytest.raises(ValueError, match="engine"):
        arena.make("MoveToBeacon", backend="sc2", engine="kernel", sc2_env_factory=RecordingGame)
    assert isinstance(arena.make("MoveToBeacon", backend="embedded"), arena.ArenaEnv)


def test_a_missing_game_names_sc2path_and_the_path_looked_at(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("SC2PATH", str(missing))
    with pytest.raises(Sc2NotInstalledError, match="SC2PATH") as error:
        arena.make("MoveToBeacon", backend="sc2")  # the real pysc2 SC2Env: no game on this machine
    assert str(missing) in str(error.value) and "install" in str(error.value)


def test_a_missing_map_or_binary_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    (tmp_path / "Versions" / "Base75689").mkdir(parents=True)
    with pytest.raises(Sc2NotInstalledError, match="Simple64") as error:
        arena.make("Simple64", backend="sc2")
    assert str(tmp_path / "Maps" / "Melee" / "Simple64.SC2Map") in str(error.value)
    (tmp_path / "Maps" / "mini_games").mkdir(parents=True)
    (tmp_path / "Maps" / "mini_games" / "MoveToBeacon.SC2Map").touch()
    env = arena.make("MoveToBeacon", backend="sc2")
    with pytest.raises(Sc2NotInstalledError, match="No SC2 binary found.*SC2PATH"):
        env.reset(seed=0)


def test_camera_centre_reads_the_minimap_rectangle():
    layer = np.zeros((64, 64), dtype=np.int32)
    layer[10:34, 20:44] = 1  # x 20..43, y 10..33 pixels
    assert camera_centre(layer, (64.0, 64.0)).tolist() == [32.0, 42.0]
    assert camera_centre(layer, (128.0, 96.0)).tolist() == [64.0, 96.0 - 44.0]  # 2 map units per pixel
    assert camera_centre(np.zeros((64, 64)), (88.0, 96.0)).tolist() == [44.0, 48.0]


def test_unit_lists_beyond_max_units_are_cut_with_a_warning():
    rows = np.arange(3 * 7).reshape(3, 7)
    with pytest.warns(RuntimeWarning, match="max_units=2"):
        block, mask = pad_rows(rows, 2, 7)
    assert block.tolist() == rows[:2].tolist() and mask.tolist() == [True, True]
    block, mask = pad_rows(np.zeros((0, 7)), 2, 7)
    assert not block.any() and mask.tolist() == [False, False]
