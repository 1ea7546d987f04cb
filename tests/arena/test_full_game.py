"""The full 1v1 game (FullGame, FullGameTvZ, FullGameZvZ) and its built-in bots: spawns (mirrored bases, resources,
supply), the end (every enemy structure destroyed; a draw at the time limit), mirror seeds, bots that build, the
CLI with bots, and the ladder (slow)."""

from __future__ import annotations

import pytest
import torch

from agents.bots.terran import LEVELS, STRATEGIES, bot_config
from agents.registry import make_agent
from arena.env import StepType
from arena.interface.actions import BatchedAction
from arena.multi_env import ArenaMultiEnv, player_view
from arena.scenarios.full_game import GAME_LOOPS, MINERAL_FIELDS, TOWN_HALL, structures_left
from arena.scenarios.registry import make_scenario
from arena.scenarios.two_player import mirror_seed, mirror_x, swap_players
from arena.sim.economy import supply_cap, supply_used
from arena.sim.geometry import planar_norm
from arena.sim.state import Owner
from arena.sim.units import UnitType, unit_table
from benchmarks.bot_tables import play_pair
from league.cli import main
from tests.arena.test_two_player_scenarios import states_equal

SEEDS = torch.tensor([0, 1, 2, 3])


def _count(state, player, kind):
    return ((state.unit_owner == player) & state.unit_alive & (state.unit_type == int(kind))).sum(dim=1)


def test_full_games_are_registered_two_player_economy_scenarios():
    for name in ("FullGame", "FullGameTvZ", "FullGameZvZ"):
        spec = make_scenario(name).spec
        assert spec.num_agents == 2 and spec.economy and spec.fog
        assert spec.time_limit_loops == GAME_LOOPS == 13_440
        assert spec.playable == (0.0, 0.0, 64.0, 64.0)


def test_terran_bases_are_mirrored_with_resources_workers_and_supply():
    state = make_scenario("FullGame").initial_state(SEEDS, torch.zeros_like(SEEDS))
    table = unit_table()
    for player in range(2):
        assert _count(state, player, UnitType.COMMAND_CENTER).tolist() == [1] * 4
        assert _count(state, player, UnitType.SCV).tolist() == [12] * 4
    assert _count(state, int(Owner.NEUTRAL), UnitType.MINERAL_FIELD).tolist() == [16] * 4
    assert _count(state, int(Owner.NEUTRAL), UnitType.VESPENE_GEYSER).tolist() == [4] * 4
    assert torch.equal(state.minerals, torch.full((4, 2), 50.0))
    assert torch.equal(supply_used(state, table)[:, :2], torch.full((4, 2), 12.0))
    assert torch.equal(supply_cap(state, table)[:, :2], torch.full((4, 2), 15.0))
    # Slots by side: the right base (slots 24..46) is the left one (0..22) mirrored.
    assert torch.equal(state.unit_pos[:, 24:47], mirror_x(state.unit_pos[:, :23]))
    fields = state.unit_type[0] == int(UnitType.MINERAL_FIELD)
    amounts = state.unit_resources[0][fields]
    assert sorted(amounts.tolist()) == [900.0] * 8 + [1800.0] * 8
    distance = planar_norm(torch.tensor(MINERAL_FIELDS) - torch.tensor(TOWN_HALL))
    assert bool(((distance >= 6.5) & (distance <= 7.5)).all())
    gathering = state.order_kind[:, :, 0] != 0
    workers = table.worker[state.unit_type] & state.unit_alive
    assert torch.equal(gathering & workers, workers)
    # Each camera starts over its own town hall.
    halls = state.unit_alive & table.town_hall[state.unit_type]
    for player in range(2):
        mine = halls & (state.unit_owner == player)
        pos = state.unit_pos[mine].reshape(4, 2)
        assert torch.equal(state.camera[:, player], pos)


def test_zerg_bases_have_a_hatchery_larva_drones_and_an_overlord():
    state = make_scenario("FullGameTvZ").initial_state(SEEDS, torch.zeros_like(SEEDS))
    table = unit_table()
    assert _count(state, 0, UnitType.COMMAND_CENTER).tolist() == [1] * 4
    assert _count(state, 1, UnitType.HATCHERY).tolist() == [1] * 4
    assert _count(state, 1, UnitType.DRONE).tolist() == [12] * 4
    assert _count(state, 1, UnitType.OVERLORD).tolist() == [1] * 4
    assert torch.equal(supply_cap(state, table)[:, 1], torch.full((4,), 14.0))
    hatchery = state.unit_alive & (state.unit_type == int(UnitType.HATCHERY))
    assert torch.equal(state.unit_larva[hatchery], torch.full((4,), 3.0))
    # Player 1 is Terran on either side.
    cc = state.unit_pos[state.unit_alive & (state.unit_type == int(UnitType.COMMAND_CENTER))][:, 0]
    assert torch.equal(cc < 32, state.side == 0)


@pytest.mark.parametrize("name", ["FullGame", "FullGameZvZ"])
def test_mirror_seeds_exchange_the_players(name):
    scenario = make_scenario(name)
    episode = torch.tensor([0, 0, 3, 3])
    a = scenario.initial_state(SEEDS, episode)
    b = scenario.initial_state(mirror_seed(SEEDS), episode)
    assert torch.equal(b.side, 1 - a.side)
    assert states_equal(swap_players(a), b) == []


def _destroy_structures(state, player):
    table = unit_table()
    mine = state.unit_alive & (state.unit_owner == player) & table.structure[state.unit_type]
    return state.replace(unit_alive=state.unit_alive & ~mine)


def test_destroying_every_enemy_structure_wins_and_both_at_once_draws():
    scenario = make_scenario("FullGame")
    state = scenario.initial_state(SEEDS, torch.zeros_like(SEEDS))
    assert not bool(scenario.terminated(state).any())
    lost_2 = _destroy_structures(state, 1)
    assert bool(scenario.terminated(lost_2).all()) and scenario.outcome(lost_2).tolist() == [1] * 4
    lost_1 = _destroy_structures(state, 0)
    assert scenario.outcome(lost_1).tolist() == [-1] * 4
    both = _destroy_structures(lost_1, 1)
    assert bool(scenario.terminated(both).all()) and scenario.outcome(both).tolist() == [0] * 4
    # Workers alone do not keep a player in the game; a structure under construction does.
    assert bool((~structures_left(lost_2, 1)).all())


def test_the_game_ends_in_the_environment_with_rewards_and_draws_at_the_time_limit():
    env = ArenaMultiEnv("FullGame", num_envs=2)
    env.reset(seed=[0, 1])
    noop = BatchedAction.no_op(2, torch.device("cpu"))
    lost = _destroy_structures(env.state, 1)
    game_0 = torch.tensor([True, False])
    alive = torch.where(game_0[:, None], lost.unit_alive, env.state.unit_alive)
    env.state = env.state.replace(unit_alive=alive, game_loop=torch.tensor([0, GAME_LOOPS - env.step_mul]))
    _, reward, terminated, truncated, info = env.step([noop, noop])
    # Game 0: player 2 has no structure left; game 1: both have some at the time limit.
    assert terminated.tolist() == [True, False] and truncated.tolist() == [False, True]
    assert info["outcome"].tolist() == [1, 0]
    assert reward.tolist() == [[1.0, -1.0], [0.0, 0.0]]
    assert bool((info["step_type"] == int(StepType.LAST)).all())


def test_bot_names_parse_levels_and_strategies():
    assert set(LEVELS) == {1, 2, 3, 4, 5} and set(STRATEGIES) == {"rush", "greedy", "turtle"}
    assert bot_config("3") == LEVELS[3] and bot_config("rush") == STRATEGIES["rush"]
    assert make_agent("bot:turtle", "FullGame").name == "bot:turtle"
    with pytest.raises(ValueError, match="unknown bot"):
        make_agent("bot:9", "FullGame")


def _play_bots(names: tuple[str, str], steps: int):
    """Two bots in two games (seeds 0 and 1); returns the final state and the actions the APM cap refused."""
    env = ArenaMultiEnv("FullGame", num_envs=2)
    obs, info = env.reset(seed=[0, 1])
    bots = [make_agent(name, "FullGame") for name in names]
    first = torch.ones(2, dtype=torch.bool)
    refused = 0
    for _ in range(steps):
        actions = [bot.act(player_view(obs, p), first) for p, bot in enumerate(bots)]
        obs, _, _, _, info = env.step(actions)
        first = info["step_type"] == int(StepType.FIRST)
        refused += int(obs["apm_refused"].sum())
    return env.state, refused


def test_bots_train_workers_and_order_a_depot():
    state, refused = _play_bots(("bot:5", "bot:4"), 50)
    for player in range(2):
        assert bool((_count(state, player, UnitType.SCV) >= 13).all())
    building = (state.order_kind != 0) & (state.order_type == int(UnitType.SUPPLY_DEPOT))
    depots = _count(state, 0, UnitType.SUPPLY_DEPOT) + _count(state, 1, UnitType.SUPPLY_DEPOT)
    assert bool((building.flatten(1).any(dim=1) | (depots > 0)).all())
    assert refused == 0


@pytest.mark.slow
def test_bots_play_a_few_hundred_steps_and_build_under_the_limits():
    state, refused = _play_bots(("bot:5", "bot:rush"), 220)
    for player in range(2):
        assert bool((_count(state, player, UnitType.SUPPLY_DEPOT) >= 1).all())
        assert bool((_count(state, player, UnitType.BARRACKS) >= 1).all())
    assert bool((_count(state, 0, UnitType.SCV) > 12).all())
    assert refused == 0


def test_cli_rejects_an_unknown_bot(capsys):
    assert main(["play", "FullGame", "--agents", "bot:1", "bot:nonsense", "--episodes", "1", "--quiet"]) == 2
    assert "unknown bot 'nonsense'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_plays_a_full_game_between_bots(capsys):
    assert main(["play", "FullGame", "--agents", "bot:1", "bot:rush", "--episodes", "1", "--quiet"]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("FullGame-v1  bot:1 vs bot:rush  games 1")


@pytest.mark.slow
def test_a_higher_level_beats_level_one():
    result = play_pair("bot:5", "bot:1", games=4)
    assert result.wins >= 3


def test_builders_finish_what_they_start_and_the_turtle_rallies_its_barracks():
    """bot:greedy (many structures in a row) against bot:turtle for 2.3 game minutes, before any fight: after every
    step each structure under construction has an SCV constructing it (a builder given a second Build order would
    leave its first one unfinished), and the turtle's finished Barracks rally to one spot in front of its base."""
    from agents.bots.terran import RALLY_SPOT
    from arena.sim.state import Order
    env = ArenaMultiEnv("FullGame", num_envs=2)
    obs, info = env.reset(seed=[0, 1])
    bots = [make_agent("bot:greedy", "FullGame"), make_agent("bot:turtle", "FullGame")]
    first = torch.ones(2, dtype=torch.bool)
    for _ in range(390):
        actions = [bot.act(player_view(obs, p), first) for p, bot in enumerate(bots)]
        obs, _, _, _, info = env.step(actions)
        first = info["step_type"] == int(StepType.FIRST)
        state = env.state
        unfinished = state.unit_alive & (state.unit_build_left > 0) & (state.unit_owner != int(Owner.NEUTRAL))
        constructing = state.unit_alive & (state.order_kind[:, :, 0] == int(Order.CONSTRUCT))
        built_on = torch.zeros_like(unfinished).scatter_(1, state.order_unit[:, :, 0].clamp(min=0), constructing)
        assert not (unfinished & ~built_on).any()
    barracks = state.unit_alive & (state.unit_type == int(UnitType.BARRACKS)) & (state.unit_build_left <= 0)
    turtle = state.unit_owner == 1
    assert bool((barracks & turtle).any(dim=1).all())
    on_left = state.unit_pos[:, :, 0].masked_fill(~(turtle & barracks), float("nan")).nanmean(dim=1) < 32
    spot = torch.tensor(RALLY_SPOT).expand(2, 2).clone()
    spot[:, 0] = torch.where(on_left, spot[:, 0], 64 - spot[:, 0])
    rallied = barracks & turtle
    assert bool((state.unit_rally_target[rallied] == -1).all())
    gap = planar_norm(state.unit_rally - spot[:, None, :])[rallied]
    assert bool((gap < 0.6).all())  # one screen pixel
