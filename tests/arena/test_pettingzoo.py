"""The PettingZoo view of a two-player game: PettingZoo's own parallel_api_test passes, a game of random actions ends
with both agents truncated (time limit) or terminated (a side dead) and leaving `agents`, a seed repeats a game, an
unavailable function does nothing and says 214, and bad agent names or malformed actions raise errors naming the
fault."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from arena import pettingzoo_env
from arena.interface.features import PlayerRelative
from arena.interface.functions import ActionResult, FunctionId
from arena.interface.limits import Limits
from arena.interface.view import MINIMAP_LAYERS, InterfaceFormat
from arena.scenarios.registry import make_scenario, scenario_ids

SMALL = InterfaceFormat(screen_size=16, minimap_size=16)
STEP_MUL = 32
"""MarineMirror's 60 s time limit (960 game loops) is 30 steps."""


def make(scenario: str = "MarineMirror", **options) -> pettingzoo_env.ArenaParallelEnv:
    options = {"step_mul": STEP_MUL, "interface": SMALL, **options}
    return pettingzoo_env.parallel_env(scenario, **options)


def random_actions(env: pettingzoo_env.ArenaParallelEnv, infos: dict) -> dict:
    return {agent: env.action_space(agent).sample(mask=infos[agent]["action_mask"]) for agent in env.agents}


def no_ops(env: pettingzoo_env.ArenaParallelEnv) -> dict:
    return {agent: pettingzoo_env.function_call(env.action_space(agent), FunctionId.no_op) for agent in env.agents}


TWO_PLAYER = [sid for sid in scenario_ids() if make_scenario(sid).spec.num_agents == 2]


def test_passes_pettingzoo_parallel_api_test_through_the_game_end():
    parallel_api_test(make(), num_cycles=40)  # 40 steps: past MarineMirror's 30-step game, so agents leave


@pytest.mark.parametrize("scenario", [sid for sid in TWO_PLAYER if not sid.startswith("MarineMirror")])
def test_every_two_player_scenario_passes_pettingzoo_parallel_api_test(scenario):
    parallel_api_test(make(scenario), num_cycles=5)


def test_a_random_game_ends_for_both_agents_at_once_and_they_leave():
    env = make()
    for agent in env.possible_agents:
        env.action_space(agent).seed(1)
    observations, infos = env.reset(seed=1)
    assert env.agents == ["player_1", "player_2"]
    steps = 0
    while env.agents:
        for agent in env.agents:
            assert env.observation_space(agent).contains(observations[agent])
            assert infos[agent]["action_mask"]["function"].tolist() == observations[agent]["available_actions"].tolist()
        observations, rewards, terminations, truncations, infos = env.step(random_actions(env, infos))
        steps += 1
        assert set(rewards) == set(terminations) == set(truncations) == set(infos) == {"player_1", "player_2"}
        ended = {agent: terminations[agent] or truncations[agent] for agent in env.possible_agents}
        assert env.agents == ([] if all(ended.values()) else ["player_1", "player_2"])
        assert len(set(ended.values())) == 1  # both seats end together
    assert steps <= 30
    assert terminations["player_1"] != truncations["player_1"]  # one or the other, never both
    assert truncations["player_1"] == (steps == 30)  # the time limit is a truncation
    assert rewards["player_1"] == -rewards["player_2"] and rewards["player_1"] in (-1.0, 0.0, 1.0)
    assert all(info["step_type"] == 2 and info["discount"] == 0.0 for info in infos.values())
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})


def test_the_time_limit_is_a_truncation_not_a_termination():
    env = make()
    env.reset(seed=1)
    steps = 0
    while env.agents:
        observations, rewards, terminations, truncations, infos = env.step(no_ops(env))
        steps += 1
    assert steps == 30
    assert truncations == {"player_1": True, "player_2": True}
    assert terminations == {"player_1": False, "player_2": False}
    assert rewards == {"player_1": 0.0, "player_2": 0.0}


def attack_the_enemy(env: pettingzoo_env.ArenaParallelEnv, observation: dict) -> dict:
    """player_1's army attack-moves to the first enemy cell of its minimap (a select_army first)."""
    space = env.action_space("player_1")
    if not observation["multi_select_mask"].any():
        return pettingzoo_env.function_call(space, FunctionId.select_army)
    relative = observation["feature_minimap"][MINIMAP_LAYERS.index("player_relative")]
    y, x = np.argwhere(relative == PlayerRelative.ENEMY)[0]
    return pettingzoo_env.function_call(space, FunctionId.Attack_minimap, minimap=(x, y))


def has_units(observation: dict) -> bool:
    relative = observation["feature_minimap"][MINIMAP_LAYERS.index("player_relative")]
    return bool((relative == PlayerRelative.SELF).any())


def test_a_decided_game_ends_in_a_termination_with_the_side_left_standing_rewarded():
    env = make(limits=Limits.off(), step_mul=8)  # no fog: player_1 sees where to attack
    observations, infos = env.reset(seed=2)
    while env.agents:
        actions = no_ops(env) | {"player_1": attack_the_enemy(env, observations["player_1"])}
        observations, rewards, terminations, truncations, infos = env.step(actions)
    assert terminations == {"player_1": True, "player_2": True}
    assert truncations == {"player_1": False, "player_2": False}
    assert sorted(rewards.values()) == [-1.0, 1.0]
    assert {agent: has_units(observations[agent]) for agent in env.possible_agents} == {
        agent: reward == 1.0 for agent, reward in rewards.items()}


def play(env: pettingzoo_env.ArenaParallelEnv, seed: int | None, steps: int) -> list:
    """What the agents saw and got over `steps` random steps from reset(seed)."""
    for agent in env.possible_agents:
        env.action_space(agent).seed(7)
    observations, infos = env.reset(seed=seed)
    seen = [observations]
    for _ in range(steps):
        observations, rewards, *_ = env.step(random_actions(env, infos))
        seen.append((observations, rewards))
    return seen


def same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


def test_a_seed_repeats_the_game_and_the_unseeded_resets_after_it():
    first, second = make(), make()
    assert same(play(first, seed=5, steps=6), play(second, seed=5, steps=6))
    assert same(play(first, seed=None, steps=3), play(second, seed=None, steps=3))
    assert not same(play(first, seed=5, steps=0), play(second, seed=6, steps=0))


def test_an_unavailable_function_does_nothing_and_action_result_says_so():
    env = make(limits=Limits.off())
    observations, infos = env.reset(seed=0)
    barracks = int(FunctionId.Build_Barracks_screen)
    assert infos["player_1"]["action_mask"]["function"][barracks] == 0
    actions = no_ops(env)
    actions["player_1"] = pettingzoo_env.function_call(env.action_space("player_1"), barracks, screen=(3, 4))
    observations, *_ = env.step(actions)
    assert observations["player_1"]["action_result"] == int(ActionResult.InvalidAvailableAction)
    assert observations["player_2"]["action_result"] == int(ActionResult.Success)
    assert observations["player_1"]["last_actions"] == int(FunctionId.no_op)


def test_unknown_or_missing_agents_are_named():
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="'player_3'"):
        env.action_space("player_3")
    with pytest.raises(ValueError, match="'player_3'"):
        env.observation_space("player_3")
    with pytest.raises(ValueError, match="'player_3'"):
        env.step(no_ops(env) | {"player_3": no_ops(env)["player_1"]})
    with pytest.raises(ValueError, match="player_2"):
        env.step({"player_1": no_ops(env)["player_1"]})


@pytest.mark.parametrize("change, fault", [
    (lambda action: {key: value for key, value in action.items() if key != "screen"}, r"missing entries \['screen'\]"),
    (lambda action: action | {"target": 3}, r"unknown entries \['target'\]"),
    (lambda action: action | {"screen": (16, 2)}, r"player_1's action\['screen'\] = \(16, 2\)"),
    (lambda action: action | {"function": 573}, r"player_1's action\['function'\] = 573"),
    (lambda action: action | {"queued": 0.5}, r"action\['queued'\]"),
    (lambda action: [action["function"]], "must be a dict"),
])
def test_a_malformed_action_names_what_is_wrong(change, fault):
    env = make()
    env.reset(seed=0)
    actions = no_ops(env)
    actions["player_1"] = change(actions["player_1"])
    with pytest.raises(ValueError, match=fault):
        env.step(actions)


def test_render_draws_both_players_minimaps():
    env = make(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    scale = pettingzoo_env.RENDER_SCALE
    assert frame.shape == (16 * scale, 2 * 16 * scale + 2, 3) and frame.dtype == np.uint8
    own = pettingzoo_env.PLAYER_RELATIVE_COLORS[PlayerRelative.SELF]
    left, right = frame[:, :16 * scale], frame[:, -16 * scale:]
    assert (left == own).all(axis=-1).any() and (right == own).all(axis=-1).any()


def test_one_player_scenarios_and_unknown_render_modes_are_refused():
    with pytest.raises(ValueError, match="one-player"):
        make("MoveToBeacon")
    with pytest.raises(ValueError, match="render_mode"):
        make(render_mode="human")


def test_without_pettingzoo_the_import_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pettingzoo", None)  # `import pettingzoo` now raises ImportError
    monkeypatch.delitem(sys.modules, "arena.pettingzoo_env")
    with pytest.raises(ImportError, match="pip install pettingzoo"):
        importlib.import_module("arena.pettingzoo_env")
