"""The two-player environment under its limits, on a small test scenario (two Marines a side, random spots, fog of
war): actions take effect exactly `delay_loops` game loops after the observation they answer, the APM cap holds in
every window, no observation ever shows an enemy that no own unit sees, and episodes reset cleanly."""

from __future__ import annotations

import pytest
import torch

from arena.interface.actions import BatchedAction
from arena.interface.features import PlayerRelative
from arena.interface.functions import ActionResult, FunctionId
from arena.interface.limits import ApmCap, Limits
from arena.interface.view import SCREEN_LAYERS, InterfaceFormat, minimap_to_world, screen_to_world, world_to_screen
from arena.multi_env import ArenaMultiEnv, player_view
from arena.scenarios.base import Scenario, ScenarioSpec
from arena.scenarios.spawn import place, points_in_rect, slot_range
from arena.sim import rng
from arena.sim.state import Owner, State, select_envs
from arena.sim.units import UnitType, unit_table
from agents.random_agent import RandomAgent

FMT = InterfaceFormat(screen_size=32, minimap_size=32, raw_units=True)


class Duel(Scenario):
    """Two Marines a side at random spots of a 40 x 40 area; fog of war; ends when a side is dead, or after 30 s."""

    spec = ScenarioSpec(name="TestDuel", version=1, description="test", num_units=4,
                        playable=(12.0, 12.0, 52.0, 52.0), camera_start=(32.0, 32.0), time_limit_s=30.0,
                        num_agents=2, fog=True)

    def spawn(self, state: State) -> State:
        key = rng.episode_key(state.seed, state.episode, state.wave, 1)
        spots = points_in_rect(key, (4,), (14.0, 14.0, 50.0, 50.0))
        state = place(state, slot_range(state, 0, 2), UnitType.MARINE, Owner.PLAYER_1, spots[:, :2])
        state = place(state, slot_range(state, 2, 2), UnitType.MARINE, Owner.PLAYER_2, spots[:, 2:])
        selected = state.selected.clone()
        selected[:, 0, :2] = True
        selected[:, 1, 2:] = True
        camera = torch.stack([spots[:, 0], spots[:, 2]], dim=1)
        return state.replace(selected=selected, camera=camera.clamp(20.0, 44.0))

    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        return state

    def terminated(self, state: State) -> torch.Tensor:
        return ~state.unit_alive[:, :2].any(dim=1) | ~state.unit_alive[:, 2:].any(dim=1)

    def outcome(self, state: State) -> torch.Tensor:
        first, second = state.unit_alive[:, :2].any(dim=1), state.unit_alive[:, 2:].any(dim=1)
        return torch.where(first & ~second, 1, torch.where(second & ~first, -1, 0))


def make(batch: int = 4, limits: Limits | None = None, step_mul: int = 8) -> ArenaMultiEnv:
    return ArenaMultiEnv(Duel(), num_envs=batch, interface=FMT, limits=limits, step_mul=step_mul)


def place_apart(env: ArenaMultiEnv) -> None:
    """Player 1's Marines at (20, 20) and (20, 24), player 2's far away; both cameras at the centre; player 1's
    first Marine alone selected: it can walk east unobstructed."""
    B = env.num_envs
    pos = torch.tensor([[20.0, 20.0], [20.0, 24.0], [44.0, 44.0], [44.0, 40.0]]).expand(B, 4, 2).clone()
    selected = torch.zeros(B, 2, 4, dtype=torch.bool)
    selected[:, 0, 0] = True
    selected[:, 1, 2:] = True
    env.state = env.state.replace(unit_pos=pos, selected=selected, camera=torch.full((B, 2, 2), 32.0))


def move_to_world(env: ArenaMultiEnv, x: float, y: float) -> BatchedAction:
    point = torch.tensor([[[x, y]]]).expand(env.num_envs, 1, 2)
    pixel = world_to_screen(point, env.state.camera[:, 0], FMT)[:, 0].floor().long()
    return BatchedAction.make(int(FunctionId.Move_screen), batch=env.num_envs, screen=pixel)


@pytest.mark.parametrize("delay, step_mul", [(0, 8), (1, 8), (2, 8), (5, 1), (10, 8), (19, 4)])
def test_actions_take_effect_exactly_delay_loops_after_their_observation(delay, step_mul):
    env = make(batch=2, limits=Limits(apm_caps=(), delay_loops=delay, fog=False), step_mul=step_mul)
    env.reset(seed=3)
    place_apart(env)
    start = env.state.unit_pos[:, 0].clone()
    speed = float(unit_table().speed[int(UnitType.MARINE)])
    env.step([move_to_world(env, 43.0, 21.0), BatchedAction.no_op(2)])  # issued at game loop 0, 23 units away
    for _ in range(40 // step_mul + 3):
        moved = torch.linalg.vector_norm(env.state.unit_pos[:, 0] - start, dim=-1)
        now = int(env.state.game_loop[0])
        expected = max(0, now - delay) * speed
        assert torch.allclose(moved, torch.full_like(moved, expected), atol=1e-4), (now, moved, expected)
        env.step([BatchedAction.no_op(2), BatchedAction.no_op(2)])


def test_queued_actions_keep_their_order_across_steps():
    env = make(batch=1, limits=Limits(apm_caps=(), delay_loops=12, fog=False), step_mul=4)
    env.reset(seed=1)
    # A move (observation at loop 0) then a stop (observation at loop 4), each carried out 12 loops later: the
    # Marine walks from loop 12 to loop 16 and stands still after (in the other order it would never stop).
    place_apart(env)
    start = env.state.unit_pos[0, 0].clone()
    stop = BatchedAction.make(int(FunctionId.Stop_quick))
    env.step([move_to_world(env, 43.0, 21.0), BatchedAction.no_op(1)])
    env.step([stop, BatchedAction.no_op(1)])
    for _ in range(8):
        env.step([BatchedAction.no_op(1), BatchedAction.no_op(1)])
    travelled = torch.linalg.vector_norm(env.state.unit_pos[0, 0] - start)
    speed = float(unit_table().speed[int(UnitType.MARINE)])
    assert torch.isclose(travelled, torch.tensor(4 * speed), atol=1e-4)  # moved between loop 12 and loop 16


def test_apm_cap_holds_in_the_environment_and_refusals_are_reported():
    cap = ApmCap(actions=4, window_loops=64)
    env = make(batch=8, limits=Limits(apm_caps=(cap,), delay_loops=0, fog=False), step_mul=2)
    obs, _ = env.reset(seed=0)
    agents = [RandomAgent(seed=1, screen_size=32, minimap_size=32), RandomAgent(seed=2, screen_size=32,
                                                                                minimap_size=32)]
    refused_seen = 0
    first = torch.ones(8, dtype=torch.bool)
    for _ in range(80):
        actions = [a.act(player_view(obs, p), first) for p, a in enumerate(agents)]
        obs, _, _, _, info = env.step(actions)
        first = info["step_type"] == 0
        assert int(obs["apm_window_actions"].max()) <= cap.actions
        refused_seen += int((obs["action_result"] == int(ActionResult.ApmCapExceeded)).sum())
    assert refused_seen > 0 and int(env.apm.refused.sum()) > 0


def test_no_limits_means_no_refusals():
    env = make(batch=8, limits=Limits.off(), step_mul=2)
    obs, _ = env.reset(seed=0)
    agents = [RandomAgent(seed=1, screen_size=32, minimap_size=32), RandomAgent(seed=2, screen_size=32,
                                                                                minimap_size=32)]
    first = torch.ones(8, dtype=torch.bool)
    for _ in range(60):
        obs, _, _, _, info = env.step([a.act(player_view(obs, p), first) for p, a in enumerate(agents)])
        first = info["step_type"] == 0
        assert not (obs["action_result"] == int(ActionResult.ApmCapExceeded)).any()


def _seen_by(state: State, player: int, points: torch.Tensor, slack: float) -> torch.Tensor:
    """[B, N] whether each point [B, N, 2] lies within sight (+ slack) of one of `player`'s living units."""
    table = unit_table()
    own = state.unit_alive & (state.unit_owner == player)
    sight = table.sight[state.unit_type]
    gap = torch.linalg.vector_norm(points[:, :, None] - state.unit_pos[:, None], dim=-1)  # [B, N, U]
    return ((gap <= sight[:, None] + slack) & own[:, None]).any(dim=2)


def test_no_observation_ever_shows_an_enemy_no_own_unit_sees():
    B = 8
    env = make(batch=B, limits=Limits(delay_loops=0), step_mul=4)
    obs, _ = env.reset(seed=5)
    agents = [RandomAgent(seed=7, screen_size=32, minimap_size=32), RandomAgent(seed=8, screen_size=32,
                                                                                minimap_size=32)]
    geometry = env.spec_.geometry
    relative = SCREEN_LAYERS.index("player_relative")
    first = torch.ones(B, dtype=torch.bool)
    hidden_somewhere = 0
    for _ in range(40):
        state = env.state
        for player in range(2):
            view = player_view(obs, player)
            enemy = state.unit_alive & (state.unit_owner == 1 - player)
            # Unit lists: every listed enemy stands within an own unit's sight (1 cell of slack: visibility is
            # decided per map cell).
            listed = view["raw_units_mask"] & enemy
            seen = _seen_by(state, player, state.unit_pos, slack=1.5)
            assert not (listed & ~seen).any()
            hidden_somewhere += int((enemy & ~seen).sum())
            # Layers: every ENEMY pixel of the screen and minimap lies within sight of an own unit.
            for layer in ("feature_screen", "feature_minimap"):
                enemy_px = view[layer][:, relative] == int(PlayerRelative.ENEMY)  # [B, H, W]
                for b in range(B):
                    ys, xs = torch.nonzero(enemy_px[b], as_tuple=True)
                    if len(xs) == 0:
                        continue
                    pixels = torch.stack([xs, ys], dim=-1)  # [N, 2] integer (x, y)
                    if layer == "feature_screen":
                        world = screen_to_world(pixels, state.camera[b, player].expand(len(pixels), 2), FMT)
                    else:
                        world = minimap_to_world(pixels, FMT, geometry)
                    single = select_envs(state, slice(b, b + 1))
                    slack = 2.0 if layer == "feature_minimap" else 1.5  # a minimap pixel spans 2 map units
                    assert _seen_by(single, player, world[None], slack=slack).all(), (layer, b)
        actions = [a.act(player_view(obs, p), first) for p, a in enumerate(agents)]
        obs, _, _, _, info = env.step(actions)
        first = info["step_type"] == 0
    assert hidden_somewhere > 0  # the fog had something to hide


def test_rewards_outcomes_and_autoreset():
    env = make(batch=3, limits=Limits.off(), step_mul=8)
    env.reset(seed=2)
    alive = env.state.unit_alive.clone()
    alive[0, 2:] = False  # game 0: player 2's army is gone -> player 1 wins
    alive[1, :2] = False  # game 1: player 1's army is gone -> player 2 wins
    env.state = env.state.replace(unit_alive=alive)
    noop = [BatchedAction.no_op(3), BatchedAction.no_op(3)]
    obs, reward, terminated, truncated, info = env.step(noop)
    assert terminated.tolist() == [True, True, False]
    assert reward.tolist() == [[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]]
    assert info["outcome"].tolist() == [1, -1, 0] and info["step_type"].tolist() == [2, 2, 1]
    obs, reward, terminated, truncated, info = env.step(noop)
    assert info["step_type"].tolist() == [0, 0, 1]
    assert env.state.unit_alive[:2].all() and env.state.game_loop.tolist()[:2] == [0, 0]
    assert obs["feature_units"].shape[:2] == (3, 2)  # [B, P, ...]


def test_draw_at_the_time_limit():
    env = make(batch=2, limits=Limits.off(), step_mul=8)
    env.reset(seed=4)
    env.state = env.state.replace(unit_pos=torch.tensor([[[14.0, 14.0], [15.0, 14.0], [50.0, 50.0], [49.0, 50.0]]]
                                                        ).expand(2, 4, 2).clone())
    noop = [BatchedAction.no_op(2), BatchedAction.no_op(2)]
    steps = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(noop)
        steps += 1
        if truncated.any():
            break
    assert truncated.all() and not terminated.any() and reward.abs().sum() == 0 and info["outcome"].tolist() == [0, 0]
    assert steps == Duel.spec.time_limit_loops // 8


def test_bad_actions_are_refused_with_a_message():
    env = make(batch=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="one BatchedAction per player"):
        env.step([BatchedAction.no_op(2)])
    with pytest.raises(ValueError, match="player 1: expected one function per environment"):
        env.step([BatchedAction.no_op(2), BatchedAction.no_op(3)])
    with pytest.raises(ValueError, match="one-player scenario"):
        ArenaMultiEnv("MoveToBeacon")


@pytest.mark.parametrize("scenario", ["MarineMirror", "BeaconRace"])
def test_swapping_the_players_with_mirrored_seeds_swaps_the_outcomes(scenario):
    """A symmetric scenario under all limits: the scripted agent against an idle one, then the seats exchanged on
    the mirror seeds; every game's outcome is the negation of its mirror game's."""
    from agents.registry import make_agent
    from arena.scenarios.two_player import mirror_seed

    seeds = [10, 12, 14, 16]
    env = ArenaMultiEnv(scenario, num_envs=len(seeds), interface=InterfaceFormat(screen_size=32, minimap_size=32))
    env_swapped = ArenaMultiEnv(scenario, num_envs=len(seeds),
                                interface=InterfaceFormat(screen_size=32, minimap_size=32))
    scripted, idle = make_agent("scripted", scenario), make_agent("noop", scenario)
    record = play_matches_with_seeds(env, [scripted, idle], seeds)
    swapped = play_matches_with_seeds(env_swapped, [make_agent("noop", scenario), make_agent("scripted", scenario)],
                                      [mirror_seed(s) for s in seeds])
    assert swapped == [-o for o in record]
    assert any(o != 0 for o in record)  # decisive games, so the check has teeth


def play_matches_with_seeds(env: ArenaMultiEnv, agents, seeds: list[int]) -> list[int]:
    obs, info = env.reset(seed=seeds)
    for agent in agents:
        agent.reset(env.num_envs)
    first = torch.ones(env.num_envs, dtype=torch.bool)
    finished = torch.zeros(env.num_envs, dtype=torch.bool)
    outcomes = torch.zeros(env.num_envs, dtype=torch.long)
    while not bool(finished.all()):
        obs, _, _, _, info = env.step([a.act(player_view(obs, p), first) for p, a in enumerate(agents)])
        ending = (info["step_type"] == 2) & ~finished
        outcomes = torch.where(ending, info["outcome"], outcomes)
        finished |= ending
        first = info["step_type"] == 0
    return outcomes.tolist()
