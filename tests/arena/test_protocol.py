"""The environment protocol and its one core: both embedded shells are the same GameCore, remember the explored map
alike, take the fairness layer as a composable piece, and seed and autoreset as arena.protocol states; arena's
modules import one another without circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

import arena
from arena.core import GameCore
from arena.env import ArenaEnv
from arena.interface.actions import BatchedAction
from arena.interface.fairness import ActionDelay, FairnessLayer
from arena.interface.functions import ActionResult, FunctionId
from arena.interface.limits import ApmCap, Limits
from arena.multi_env import ArenaMultiEnv
from arena.protocol import BatchedEnvironment, StepType, episode_seeds, player_actions, step_types
from tests.arena.test_determinism import random_actions

SMALL = arena.InterfaceFormat(screen_size=16, minimap_size=16)
NO_LIMITS_BUT_FOG = Limits(apm_caps=(), delay_loops=0, fog=True)


def _random_step(env: GameCore, obs: dict, generator: torch.Generator) -> list[BatchedAction]:
    if env.num_players == 1:
        return [random_actions(obs, generator, SMALL, attack_bias=0.5)]
    return [random_actions({k: v[:, p] for k, v in obs.items()}, generator, SMALL, attack_bias=0.5)
            for p in range(env.num_players)]


# ---------------------------------------------------------------------------------------------------------------
# One core, one protocol.

@pytest.mark.parametrize("scenario", ["MoveToBeacon", "MarineMirror"])
def test_both_shells_are_the_one_core_and_speak_the_protocol(scenario):
    env = arena.make(scenario, num_envs=2, interface=SMALL)
    assert isinstance(env, GameCore) and isinstance(env, BatchedEnvironment)
    assert env.metadata["autoreset_mode"] == arena.protocol.AUTORESET_MODE
    obs, info = env.reset(seed=0)
    assert set(obs) >= set(env.single_observation_space.spaces)
    assert info["step_type"].tolist() == [int(StepType.FIRST)] * 2 and info["discount"].tolist() == [0.0, 0.0]
    assert env.needs_reset.tolist() == [False, False]
    no_op = [BatchedAction.no_op(2)] * env.num_players
    obs, reward, terminated, truncated, info = env.step(no_op)  # one action per player, whatever the shell
    assert reward.shape == ((2,) if env.num_players == 1 else (2, env.num_players))
    assert info["step_type"].tolist() == [int(StepType.MID)] * 2 and info["discount"].tolist() == [1.0, 1.0]


def test_a_one_player_env_takes_its_action_alone_as_a_dict_or_in_a_list():
    results = []
    for wrap in (lambda a: a, lambda a: [a], lambda a: {"function": a.function, "screen": a.screen}):
        env = arena.make("MoveToBeacon", num_envs=2, interface=SMALL)
        env.reset(seed=4)
        action = BatchedAction.make(torch.tensor([int(FunctionId.Move_screen)] * 2), screen=torch.tensor([[3, 4]] * 2))
        env.step(wrap(BatchedAction.make(torch.tensor([int(FunctionId.select_army)] * 2))))
        env.step(wrap(action))
        results.append(env.state.unit_pos)
    assert torch.equal(results[0], results[1]) and torch.equal(results[0], results[2])


def test_wrong_numbers_of_actions_are_refused_with_a_message():
    with pytest.raises(ValueError, match=r"one BatchedAction per player \(2\), got 1"):
        player_actions(BatchedAction.no_op(3), num_players=2, num_envs=3, device="cpu")
    with pytest.raises(ValueError, match=r"one BatchedAction per player \(1\), got 2"):
        player_actions([BatchedAction.no_op(3)] * 2, num_players=1, num_envs=3, device="cpu")
    with pytest.raises(ValueError, match=r"expected one function per environment \(3\)"):
        player_actions(BatchedAction.no_op(2), num_players=1, num_envs=3, device="cpu")
    with pytest.raises(TypeError, match="BatchedAction or a dict"):
        player_actions([BatchedAction.no_op(3), 7], num_players=2, num_envs=3, device="cpu")


def test_step_types_and_seeds_follow_the_protocol():
    began, ending = torch.tensor([True, False, False]), torch.tensor([False, True, False])
    assert step_types(began, ending).tolist() == [int(StepType.FIRST), int(StepType.LAST), int(StepType.MID)]
    assert episode_seeds(5, 3) == [5, 6, 7] and episode_seeds([9, 2], 2) == [9, 2]
    fresh = episode_seeds(None, 3)
    assert fresh == [fresh[0], fresh[0] + 1, fresh[0] + 2]
    with pytest.raises(ValueError, match="got 1 seeds for 2 environments"):
        episode_seeds([1], 2)


@pytest.mark.parametrize("scenario", ["MoveToBeacon", "MarineMirror"])
def test_same_seeds_same_trajectory_on_either_shell(scenario):
    runs = []
    for _ in range(2):
        env = arena.make(scenario, num_envs=2, interface=SMALL)
        obs, _ = env.reset(seed=[7, 3])
        generator = torch.Generator().manual_seed(1)
        for _ in range(5):
            obs, *_ = env.step(_random_step(env, obs, generator))
        runs.append(env.state)
    assert all(torch.equal(getattr(runs[0], f), getattr(runs[1], f)) for f in ("unit_pos", "unit_hp", "explored"))


@pytest.mark.parametrize("scenario", ["MoveToBeacon", "MarineMirror"])
def test_an_ended_game_restarts_on_the_next_step_ignoring_its_actions(scenario):
    env = arena.make(scenario, num_envs=2, interface=SMALL)
    env.reset(seed=0)
    limit = env.spec_.time_limit_loops
    env.state = env.state.replace(game_loop=torch.tensor([limit - env.step_mul, 0]))  # game 0 ends on this step
    no_op = [BatchedAction.no_op(2)] * env.num_players
    _, _, terminated, truncated, info = env.step(no_op)
    assert truncated.tolist() == [True, False] and not terminated.any()
    assert info["step_type"].tolist() == [int(StepType.LAST), int(StepType.MID)]
    assert env.needs_reset.tolist() == [True, False]
    select = [BatchedAction.make(torch.tensor([int(FunctionId.select_army)] * 2))] * env.num_players
    obs, reward, terminated, truncated, info = env.step(select)
    assert info["step_type"].tolist() == [int(StepType.FIRST), int(StepType.MID)]
    assert not (terminated | truncated).any() and not reward[0].any()
    assert env.state.game_loop[0] == 0 and env.state.episode.tolist() == [1, 0]
    assert (obs["last_actions"][0] == int(FunctionId.no_op)).all()  # the action of game 0 was ignored
    assert not env.needs_reset.any()


def test_needs_reset_and_state_can_be_restored_to_resume_games():
    """What the trainer's checkpoints save and load (agents.learn.trainer)."""
    original = arena.make("FindAndDefeatZerglings", num_envs=2, interface=SMALL)
    obs, _ = original.reset(seed=2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        obs, *_ = original.step(_random_step(original, obs, generator))
    resumed = arena.make("FindAndDefeatZerglings", num_envs=2, interface=SMALL)
    resumed.reset(seed=99)
    resumed.state, resumed.needs_reset = original.state, original.needs_reset.clone()
    action = _random_step(original, obs, generator)
    a, *_ = original.step(action)
    b, *_ = resumed.step(action)
    assert all(torch.equal(a[key], b[key]) for key in a)


# ---------------------------------------------------------------------------------------------------------------
# The explored map: remembered after every game loop, by both shells.

@pytest.mark.parametrize("scenario, limits", [("FindAndDefeatZerglings", None), ("TerranVsZerg", NO_LIMITS_BUT_FOG)])
def test_one_and_two_player_envs_remember_the_explored_map_loop_by_loop(scenario, limits):
    """Two steps of 4 game loops explore what one of 8 does: both shells remember what their players see after every
    game loop, not once per step."""
    coarse = arena.make(scenario, num_envs=2, step_mul=8, interface=SMALL, limits=limits)
    fine = arena.make(scenario, num_envs=2, step_mul=4, interface=SMALL, limits=limits)
    obs, _ = coarse.reset(seed=[3, 4])
    fine.reset(seed=[3, 4])
    generator = torch.Generator().manual_seed(5)
    no_op = [BatchedAction.no_op(2)] * coarse.num_players
    for _ in range(6):
        actions = _random_step(coarse, obs, generator)
        obs, *_ = coarse.step(actions)
        fine.step(actions)
        fine.step(no_op)
        assert torch.equal(coarse.state.explored, fine.state.explored)
        assert torch.equal(coarse.state.unit_pos, fine.state.unit_pos)
    assert coarse.state.explored.any()


def test_the_explored_map_is_kept_only_where_a_feature_layer_shows_it():
    units_only = arena.InterfaceFormat(screen_size=16, minimap_size=16, feature_layers=False, raw_units=True)
    for interface, kept in ((SMALL, True), (units_only, False)):
        env = arena.make("FindAndDefeatZerglings", num_envs=1, interface=interface)
        env.reset(seed=1)
        env.step(BatchedAction.no_op(1))
        assert env.remembers_explored is kept and bool(env.state.explored.any()) is kept
        assert (env.seen_cells()[0] is not None) is kept


# ---------------------------------------------------------------------------------------------------------------
# The fairness layer composes with either shell.

def test_a_one_player_env_under_the_apm_cap_refuses_actions_over_it():
    limits = Limits(apm_caps=(ApmCap(actions=3, window_loops=112),), delay_loops=0, fog=True)
    env = arena.make("MoveToBeacon", num_envs=1, step_mul=1, interface=SMALL, limits=limits)
    obs, _ = env.reset(seed=0)
    assert {"apm_window_actions", "apm_refused"} <= set(env.single_observation_space.spaces)
    results = []
    for step in range(5):  # different actions each step: none is a free duplicate
        point = torch.tensor([[step + 1, 2]])
        obs, *_ = env.step(BatchedAction.make(torch.tensor([int(FunctionId.Move_screen)]), screen=point)
                           if step else BatchedAction.make(torch.tensor([int(FunctionId.select_army)])))
        results.append(int(obs["action_result"][0]))
    assert results[3:] == [int(ActionResult.ApmCapExceeded)] * 2
    assert int(obs["apm_refused"][0]) == 2 and int(obs["apm_window_actions"][0]) == 3
    assert int(obs["last_actions"][0]) == int(FunctionId.no_op)  # under limits: what was carried out


def test_without_limits_a_one_player_env_is_unchanged_by_an_empty_layer():
    """Limits.off() only changes what is reported (the function carried out, the APM counters), not the game."""
    plain = arena.make("DefeatRoaches", num_envs=2, interface=SMALL)
    layered = arena.make("DefeatRoaches", num_envs=2, interface=SMALL, limits=Limits.off())
    assert plain.fairness is None and isinstance(layered.fairness, FairnessLayer)
    obs, _ = plain.reset(seed=6)
    layered.reset(seed=6)
    generator = torch.Generator().manual_seed(2)
    for _ in range(8):
        action = random_actions(obs, generator, SMALL, attack_bias=0.5)
        obs, reward, *_ = plain.step(action)
        layered_obs, layered_reward, *_ = layered.step(action)
        assert torch.equal(plain.state.unit_hp, layered.state.unit_hp) and torch.equal(reward, layered_reward)
        assert torch.equal(obs["action_result"], layered_obs["action_result"])


def test_the_action_delay_holds_actions_for_their_game_loops():
    delay = ActionDelay(loops=2)
    delay.submit([BatchedAction.no_op(2)], valid=torch.tensor([True, True]))
    assert delay.take_due() == []
    assert delay.loops_to_next_action(8) == 2  # this loop and the next, then the action is due
    assert len(delay.take_due()) == 1 and delay.pending == []
    delay.submit([BatchedAction.no_op(2)], valid=torch.tensor([True, True]))
    delay.drop(torch.tensor([False, True]))
    assert delay.pending[0].valid.tolist() == [True, False]
    assert ActionDelay(loops=0).loops_to_next_action(8) == 8


def test_the_layer_forgets_games_that_begin_anew():
    layer = FairnessLayer.from_limits(Limits(), num_envs=2, num_players=2, device=torch.device("cpu"))
    action = BatchedAction.make(torch.tensor([int(FunctionId.select_army)] * 2))
    layer.apm.refuse(action, 0, torch.tensor([10, 10]))
    layer.delay.submit([action, action], valid=torch.tensor([True, True]))
    layer.forget(torch.tensor([True, False]))
    counts = layer.apm.observation(0, torch.tensor([11, 11]))["apm_window_actions"]
    assert counts.tolist() == [0, 1] and layer.delay.pending[0].valid.tolist() == [False, True]
    layer.restart()
    assert layer.delay.pending == []
    assert not layer.apm.observation(0, torch.tensor([11, 11]))["apm_window_actions"].any()


def test_a_two_player_env_is_under_alphastars_limits_by_default():
    env = ArenaMultiEnv("MarineMirror")
    assert env.limits == Limits() and env.fairness.delay.loops == Limits().delay_loops
    with pytest.raises(ValueError, match="use the multi-player environment"):
        ArenaEnv("MarineMirror")


# ---------------------------------------------------------------------------------------------------------------
# Import hygiene.

def _arena_imports() -> dict[str, set[str]]:
    """Every arena module's imports of other arena modules, as written: at the top, inside functions and under
    TYPE_CHECKING alike."""
    root = Path(arena.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + [base]).rstrip(".")
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    imported |= {full} if full in modules else ({base} if base in modules else set())
        graph[name] = imported - {name}
    return graph


def test_arena_modules_import_one_another_without_circles():
    graph = _arena_imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph[module]):
            assert state.get(other) != 1, "import circle: " + " -> ".join(path[path.index(other):] + [module, other])
            if other not in state:
                visit(other, path + [module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_arena_modules_import_no_private_names_of_one_another():
    root = Path(arena.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("arena"):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{path}: imports {private} from {node.module}"
