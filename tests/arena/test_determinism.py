"""Determinism: same seed, same trajectory (bit for bit); a batch of B games equals B single games with the same seeds;
and time subdivides: two agent steps of 4 game loops equal one of 8 when the second action is no_op."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import arena
from arena import BatchedAction, FunctionId, InterfaceFormat, StepType
from arena.sim.state import State, select_envs

# Small layers keep the rendering cheap; every key of the observation is still compared.
SMALL = InterfaceFormat(screen_size=16, minimap_size=16, raw_units=True)
COMMANDS = (FunctionId.Attack_screen, FunctionId.Attack_minimap, FunctionId.Move_screen, FunctionId.Move_minimap,
            FunctionId.Smart_screen, FunctionId.HoldPosition_quick, FunctionId.Stop_quick)


def random_actions(obs: dict[str, torch.Tensor], generator: torch.Generator, fmt: InterfaceFormat = SMALL,
                   attack_bias: float = 0.0) -> BatchedAction:
    """A uniformly random available function per game with uniformly random arguments (pysc2's RandomAgent);
    with probability `attack_bias` an Attack_minimap on a random point instead, so that games see fighting."""
    available = obs["available_actions"].bool()
    B = available.shape[0]
    function = torch.multinomial(available.float(), 1, generator=generator)[:, 0]
    attack = (torch.rand(B, generator=generator) < attack_bias) & available[:, int(FunctionId.Attack_minimap)]
    function = torch.where(attack, int(FunctionId.Attack_minimap), function)
    S, M = fmt.screen_size, fmt.minimap_size
    return BatchedAction.make(
        function, batch=B,
        screen=torch.randint(S, (B, 2), generator=generator), screen2=torch.randint(S, (B, 2), generator=generator),
        minimap=torch.randint(M, (B, 2), generator=generator), queued=torch.randint(2, (B,), generator=generator),
        select_point_act=torch.randint(4, (B,), generator=generator),
        select_add=torch.randint(2, (B,), generator=generator),
        control_group_act=torch.randint(5, (B,), generator=generator),
        control_group_id=torch.randint(10, (B,), generator=generator),
        select_worker=torch.randint(4, (B,), generator=generator))


def attack_script(obs: dict[str, torch.Tensor], generator: torch.Generator, step: int, side: torch.Tensor
                  ) -> BatchedAction:
    """For the wave mini-games: every 10 steps select the army, then attack-move at the enemies' box (right of the
    map when `side` [B] is 0, else left); random interface actions that give no orders in between."""
    B = side.shape[0]
    if step % 10 == 0:
        return BatchedAction.make(int(FunctionId.select_army), batch=B)
    if step % 10 == 1:
        enemy_x = torch.where(side == 0, 40, 26)  # box centres (minigames.md: (38,25)-(42,31), (24,25)-(28,31))
        minimap = torch.stack([enemy_x * SMALL.minimap_size // 64, torch.full_like(enemy_x, 9)], dim=1)
        return BatchedAction.make(int(FunctionId.Attack_minimap), batch=B, minimap=minimap)
    action = random_actions(obs, generator)
    harmless = (FunctionId.no_op, FunctionId.move_camera, FunctionId.select_point, FunctionId.select_rect,
                FunctionId.select_control_group)
    keep = torch.zeros_like(action.function, dtype=torch.bool)
    for f in harmless:
        keep |= action.function == int(f)
    return dataclasses.replace(action, function=torch.where(keep, action.function, int(FunctionId.no_op)))


def slice_action(action: BatchedAction, i: int) -> BatchedAction:
    return BatchedAction(**{f.name: getattr(action, f.name)[i:i + 1].clone() for f in dataclasses.fields(action)})


def assert_states_equal(a: State, b: State, where: str = "") -> None:
    for field in dataclasses.fields(State):
        x, y = getattr(a, field.name), getattr(b, field.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f"{where}: {field.name}"
        assert torch.equal(x, y), f"{where}: State.{field.name} differs"


def assert_obs_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], where: str = "",
                     skip: tuple[str, ...] = ()) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key not in skip:
            assert torch.equal(a[key], b[key]), f"{where}: observation {key!r} differs"


# ---------------------------------------------------------------------------------------------------------------
# Same seed, same trajectory.

@pytest.mark.parametrize("scenario", ["DefeatZerglingsAndBanelings", "CollectMineralShards",
                                      pytest.param("FindAndDefeatZerglings", marks=pytest.mark.slow)])
def test_same_seed_same_trajectory(scenario):
    envs = [arena.make(scenario, num_envs=2, interface=SMALL) for _ in range(2)]
    obs = [env.reset(seed=[11, 12])[0] for env in envs]
    generators = [torch.Generator().manual_seed(5) for _ in range(2)]
    assert_states_equal(envs[0].state, envs[1].state, "reset")
    for step in range(25):
        outputs = [env.step(random_actions(o, g, attack_bias=0.3)) for env, o, g in zip(envs, obs, generators)]
        assert_states_equal(envs[0].state, envs[1].state, f"step {step}")
        assert_obs_equal(outputs[0][0], outputs[1][0], f"step {step}")
        for a, b in zip(outputs[0][1:4], outputs[1][1:4]):
            assert torch.equal(a, b)
        obs = [out[0] for out in outputs]
    # Something happened: the units moved from where they started.
    fresh = arena.make(scenario, num_envs=2, interface=SMALL)
    fresh.reset(seed=[11, 12])
    assert not torch.equal(fresh.state.unit_pos, envs[0].state.unit_pos)


@pytest.mark.parametrize("scenario", ["MoveToBeacon", "CollectMineralShards", "FindAndDefeatZerglings",
                                      "DefeatRoaches"])
def test_different_seeds_give_different_games(scenario):
    env = arena.make(scenario, num_envs=8, interface=SMALL)
    env.reset(seed=list(range(100, 108)))
    state = env.state
    layouts = {tuple(state.unit_pos[i].flatten().tolist()) + (int(state.side[i]),) for i in range(8)}
    assert len(layouts) >= 2
    again = arena.make(scenario, num_envs=8, interface=SMALL)
    again.reset(seed=list(range(100, 108)))
    assert_states_equal(state, again.state, "reset")


def test_integer_seed_means_consecutive_seeds():
    batch = arena.make("MoveToBeacon", num_envs=3, interface=SMALL)
    batch.reset(seed=40)
    listed = arena.make("MoveToBeacon", num_envs=3, interface=SMALL)
    listed.reset(seed=[40, 41, 42])
    assert_states_equal(batch.state, listed.state)


# ---------------------------------------------------------------------------------------------------------------
# A batch of B games equals B single games.

def _run_batch_and_singles(scenario: str, seeds: list[int], steps: int, attack_bias: float = 0.0,
                           loop_offsets: list[int] | None = None, scripted: bool = False) -> list[torch.Tensor]:
    """Play a batch and one env per seed side by side with the same actions; compare everything each step.
    Returns the batch's step types per step."""
    B = len(seeds)
    batch = arena.make(scenario, num_envs=B, interface=SMALL)
    singles = [arena.make(scenario, num_envs=1, interface=SMALL) for _ in seeds]
    obs, info = batch.reset(seed=seeds)
    single_obs = [env.reset(seed=[s])[0] for env, s in zip(singles, seeds)]
    if loop_offsets is not None:  # start each game closer to its time limit, the same way in batch and singles
        batch.state = batch.state.replace(game_loop=torch.tensor(loop_offsets))
        for env, offset in zip(singles, loop_offsets):
            env.state = env.state.replace(game_loop=torch.tensor([offset]))
    for i in range(B):
        assert_obs_equal({k: v[i:i + 1] for k, v in obs.items()}, single_obs[i], f"reset, game {i}")
    generator = torch.Generator().manual_seed(2024)
    step_types = []
    for step in range(steps):
        if scripted:
            action = attack_script(obs, generator, step, batch.state.side)
        else:
            action = random_actions(obs, generator, attack_bias=attack_bias)
        obs, reward, terminated, truncated, info = batch.step(action)
        step_types.append(info["step_type"].clone())
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(slice_action(action, i))
            where = f"step {step}, game {i}"
            assert_states_equal(select_envs(batch.state, slice(i, i + 1)), env.state, where)
            assert_obs_equal({k: v[i:i + 1] for k, v in obs.items()}, o, where)
            assert torch.equal(reward[i:i + 1], r), where
            assert torch.equal(terminated[i:i + 1], te) and torch.equal(truncated[i:i + 1], tr), where
            for key in ("step_type", "discount", "score"):
                assert torch.equal(info[key][i:i + 1], inf[key]), f"{where}: info {key!r}"
    return step_types


def _boundaries(step_types: list[torch.Tensor], game: int) -> list[int]:
    """Steps at which `game` returned LAST, each checked to be followed by FIRST."""
    types = [int(t[game]) for t in step_types]
    lasts = [i for i, t in enumerate(types) if t == StepType.LAST]
    for i in lasts:
        if i + 1 < len(types):
            assert types[i + 1] == StepType.FIRST
    return lasts


def test_batch_equals_single_games_across_terminations():
    # Marines attack-move into the waves and die at different times in different games: each game's episode
    # ends (all Marines dead) and restarts on its own, on the next step, without touching the others.
    seeds = [0, 1, 5]
    step_types = _run_batch_and_singles("DefeatZerglingsAndBanelings", seeds, steps=48, scripted=True)
    ends = [_boundaries(step_types, i) for i in range(len(seeds))]
    assert any(ends), "no episode ended: the test would not cover autoreset"
    assert len({tuple(e) for e in ends}) > 1, "episodes ended on the same step everywhere"


def test_batch_equals_single_games_across_time_limits():
    # FindAndDefeatZerglings (fog of war, 180 s = 2880 loops): games start at different distances from the limit,
    # so they are truncated and restarted at different steps.
    limit = 2880
    offsets = [limit - 8 * 3, limit - 8 * 7, 0]
    step_types = _run_batch_and_singles("FindAndDefeatZerglings", [7, 8, 9], steps=10, attack_bias=0.3,
                                        loop_offsets=offsets)
    assert _boundaries(step_types, 0) == [2]
    assert _boundaries(step_types, 1) == [6]
    assert _boundaries(step_types, 2) == []


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [s for s in arena.scenario_ids() if arena.make_scenario(s).spec.num_agents == 1])
def test_batch_equals_single_games_every_scenario(scenario):
    spec_limit = arena.make(scenario, num_envs=1).spec_.time_limit_loops
    _run_batch_and_singles(scenario, [21, 22, 23], steps=30, attack_bias=0.4,
                           loop_offsets=[spec_limit - 8 * 10, 0, spec_limit - 8 * 20])


# ---------------------------------------------------------------------------------------------------------------
# Time subdivides.

@pytest.mark.parametrize("scenario", ["DefeatZerglingsAndBanelings", "CollectMineralShards", "MoveToBeacon",
                                      "FindAndDefeatZerglings"])
def test_two_steps_of_four_loops_equal_one_of_eight(scenario):
    seeds = [3, 4]
    coarse = arena.make(scenario, num_envs=2, step_mul=8, interface=SMALL)
    fine = arena.make(scenario, num_envs=2, step_mul=4, interface=SMALL)
    obs, _ = coarse.reset(seed=seeds)
    fine.reset(seed=seeds)
    generator = torch.Generator().manual_seed(99)
    no_op = BatchedAction.no_op(2)
    for step in range(20):
        action = random_actions(obs, generator, attack_bias=0.5)
        obs, reward, terminated, truncated, info = coarse.step(action)
        _, r1, te1, tr1, _ = fine.step(action)
        fine_obs, r2, te2, tr2, fine_info = fine.step(no_op)
        where = f"step {step}"
        assert_states_equal(coarse.state, fine.state, where)
        assert_obs_equal(obs, fine_obs, where, skip=("last_actions", "action_result"))
        assert torch.equal(reward, r1 + r2), where
        assert not (te1 | tr1).any()  # no episode ends in the middle of a step here
        assert torch.equal(terminated, te2) and torch.equal(truncated, tr2)
        assert torch.equal(info["step_type"], fine_info["step_type"])
    assert int(coarse.state.game_loop[0]) == 160 and int(fine.state.game_loop[0]) == 160
