"""The economy mini-games as minigames.md states them: CollectMineralsAndGas and BuildMarines start as the maps do,
score what they should, limit BuildMarines' command cards, restore mined-out fields on reset (pysc2 #271 must not
happen here), play through pysc2's SC2Env, and their scripted agents beat the random agent."""

from __future__ import annotations

import pytest
import torch

import arena
from agents.registry import make_agent
from arena import BatchedAction, FunctionId, InterfaceFormat, StepType
from arena.interface.functions import ActionResult
from arena.interface.unit_list import FeatureUnit
from arena.interface.view import world_to_screen
from arena.scenarios.economy_minigames import EAST_FIELDS, GEYSERS, WEST_FIELDS
from arena.sim.economy import allocate_slots, spawn_units
from arena.sim.state import Order, Owner, Score
from arena.sim.units import UnitType, unit_table

UNITS_ONLY = InterfaceFormat(feature_layers=False)
T = unit_table()


def make(scenario: str, seeds: list[int]) -> tuple[arena.ArenaEnv, dict]:
    env = arena.make(scenario, num_envs=len(seeds), interface=UNITS_ONLY)
    obs, _ = env.reset(seed=seeds)
    return env, obs


def step(env: arena.ArenaEnv, function: FunctionId, **arguments) -> tuple[dict, torch.Tensor]:
    obs, reward, _, _, _ = env.step(BatchedAction.make(int(function), batch=env.num_envs, **arguments))
    return obs, reward


def pixel(env: arena.ArenaEnv, pos: tuple[float, float]) -> tuple[int, int]:
    """The screen pixel of a map position for game 0's camera."""
    px = world_to_screen(torch.tensor([[pos]]), env.state.camera[:, 0], env.interface)[0, 0]
    return int(px[0]), int(px[1])


def of_type(env: arena.ArenaEnv, kind: UnitType, game: int = 0) -> torch.Tensor:
    state = env.state
    return (state.unit_alive[game] & (state.unit_type[game] == int(kind))).nonzero()[:, 0]


def positions(env: arena.ArenaEnv, kind: UnitType) -> set[tuple[float, float]]:
    return {tuple(round(v, 2) for v in p) for p in env.state.unit_pos[0, of_type(env, kind)].tolist()}


def add_units(env: arena.ArenaEnv, kinds: list[UnitType], where: list[tuple[float, float]],
              build_left: float = 0.0) -> torch.Tensor:
    """Finished (or under construction) units of player 1 in free slots of game 0 (and every game); their slots."""
    state, B, N = env.state, env.num_envs, len(kinds)
    slots = allocate_slots(~state.unit_alive, torch.ones(B, N, dtype=torch.bool))
    env.state = spawn_units(state, T, slots, torch.tensor([int(k) for k in kinds]).expand(B, N),
                            torch.full((B, N), int(Owner.PLAYER_1)), torch.tensor(where).expand(B, N, 2),
                            build_left=torch.full((B, N), build_left))
    return slots[0]


def select(env: arena.ArenaEnv, slot: int) -> None:
    selected = torch.zeros_like(env.state.selected)
    selected[:, 0, slot] = True
    env.state = env.state.replace(selected=selected)


def test_collect_minerals_and_gas_starts_as_the_map_does():
    env, obs = make("CollectMineralsAndGas", [0, 1])
    spec = env.spec_
    assert spec.playable == (19.9, 19.0, 45.9, 37.0) and spec.time_limit_loops == 420 * 16 and spec.economy
    assert spec.functions is None
    assert positions(env, UnitType.COMMAND_CENTER) == {(29.8, 28.0)}
    assert positions(env, UnitType.MINERAL_FIELD) == set(WEST_FIELDS) | set(EAST_FIELDS)
    assert positions(env, UnitType.VESPENE_GEYSER) == set(GEYSERS) == {(26.5, 20.5), (39.5, 20.5), (26.5, 34.5),
                                                                      (39.5, 34.5)}
    state = env.state
    fields, geysers, scvs = (of_type(env, k) for k in (UnitType.MINERAL_FIELD, UnitType.VESPENE_GEYSER,
                                                        UnitType.SCV))
    assert len(fields) == 16 and len(geysers) == 4 and len(scvs) == 12
    assert (state.unit_resources[0, fields] == 1500).all() and (state.unit_resources[0, geysers] == 2000).all()
    assert (state.unit_owner[0, fields] == int(Owner.NEUTRAL)).all()
    assert (state.unit_owner[0, scvs] == int(Owner.PLAYER_1)).all()
    assert (state.order_kind[0, scvs, 0] == int(Order.NONE)).all()  # idle
    xs = sorted({round(x, 2) for x in state.unit_pos[0, scvs, 0].tolist()})
    assert len(xs) == 2 and xs[0] > 29.8 + 2.75  # two columns beside the Command Center
    player = obs["player"]
    assert player[:, 1].tolist() == [50.0, 50.0] and player[:, 3].tolist() == [12.0, 12.0]
    assert player[:, 4].tolist() == [15.0, 15.0] and player[:, 7].tolist() == [12.0, 12.0]
    # The camera starts on the base: the Command Center and every resource are on the screen.
    on_screen = obs["feature_units_mask"][0]
    assert on_screen[of_type(env, UnitType.COMMAND_CENTER)].all() and on_screen[fields].all()
    assert on_screen[geysers].all()


def test_build_marines_starts_mining_the_west_line():
    env, obs = make("BuildMarines", [0])
    assert env.spec_.time_limit_loops == 900 * 16
    assert positions(env, UnitType.MINERAL_FIELD) == set(WEST_FIELDS)
    assert len(of_type(env, UnitType.VESPENE_GEYSER)) == 0
    scvs = of_type(env, UnitType.SCV)
    assert len(scvs) == 12
    state = env.state
    assert (state.order_kind[0, scvs, 0] == int(Order.GATHER)).all()
    targets = state.order_unit[0, scvs, 0]
    assert (state.unit_type[0, targets] == int(UnitType.MINERAL_FIELD)).all() and len(set(targets.tolist())) == 8
    assert obs["player"][0, 1] == 50 and obs["player"][0, 7] == 0  # no idle worker
    for _ in range(30):
        obs, _ = step(env, FunctionId.no_op)
    assert obs["player"][0, 1] > 50  # the SCVs bring minerals home
    assert obs["score_cumulative"][0, Score.SCORE] == 0  # ... which score nothing here


def test_score_is_minerals_and_gas_collected_and_spending_does_not_lower_it():
    env, _ = make("CollectMineralsAndGas", [0])
    state = env.state
    scvs, fields = of_type(env, UnitType.SCV), of_type(env, UnitType.MINERAL_FIELD)
    order_kind, order_unit = state.order_kind.clone(), state.order_unit.clone()
    order_kind[0, scvs, 0] = int(Order.GATHER)
    order_unit[0, scvs, 0] = fields[torch.arange(12) % 8]
    env.state = state.replace(order_kind=order_kind, order_unit=order_unit)
    refinery = add_units(env, [UnitType.REFINERY], [GEYSERS[0]])
    env.state.unit_resources[0, refinery] = 2000.0
    gas_scv = scvs[0]
    env.state.order_unit[0, gas_scv, 0] = refinery[0]
    for _ in range(40):
        obs, reward = step(env, FunctionId.no_op)
        assert reward[0] >= 0
    score = obs["score_cumulative"][0]
    assert score[Score.COLLECTED_MINERALS] > 50 and score[Score.COLLECTED_VESPENE] > 0
    assert score[Score.SCORE] == score[Score.COLLECTED_MINERALS] + score[Score.COLLECTED_VESPENE]
    assert obs["player"][0, 2] == score[Score.COLLECTED_VESPENE]  # the bank holds the gas
    select(env, int(of_type(env, UnitType.COMMAND_CENTER)[0]))
    minerals = float(obs["player"][0, 1])
    obs, reward = step(env, FunctionId.Train_SCV_quick)
    assert int(obs["action_result"][0]) == int(ActionResult.Success)
    assert obs["player"][0, 1] < minerals and obs["score_cumulative"][0, Score.SPENT_MINERALS] == 50
    assert reward[0] >= 0 and obs["score_cumulative"][0, Score.SCORE] >= score[Score.SCORE]


def test_build_marines_scores_one_per_marine():
    env, _ = make("BuildMarines", [0])
    add_units(env, [UnitType.SUPPLY_DEPOT], [(40.0, 36.0)])
    barracks = add_units(env, [UnitType.BARRACKS], [(38.5, 28.5)])
    env.state = env.state.replace(minerals=torch.tensor([[300.0, 0.0]]))
    select(env, int(barracks[0]))
    for _ in range(2):
        obs, _ = step(env, FunctionId.Train_Marine_quick)
        assert int(obs["action_result"][0]) == int(ActionResult.Success)
    marine_loops = float(T.build_loops[int(UnitType.MARINE)])
    for made in (1, 2):
        # Skip to 4 game loops before the Marine in training is done.
        progress = env.state.queue_progress.clone()
        progress[0, barracks[0]] = marine_loops - 4
        env.state = env.state.replace(queue_progress=progress)
        obs, reward = step(env, FunctionId.no_op)
        assert float(reward[0]) == 1.0 and len(of_type(env, UnitType.MARINE)) == made
        assert float(obs["score_cumulative"][0, Score.SCORE]) == made
    obs, reward = step(env, FunctionId.no_op)
    assert float(reward[0]) == 0.0 and float(obs["score_cumulative"][0, Score.SCORE]) == 2.0


def test_build_marines_command_cards():
    env, obs = make("BuildMarines", [0])
    scv = int(of_type(env, UnitType.SCV)[0])
    cc = int(of_type(env, UnitType.COMMAND_CENTER)[0])
    barracks = int(add_units(env, [UnitType.BARRACKS], [(38.5, 28.5)])[0])
    add_units(env, [UnitType.SUPPLY_DEPOT], [(40.0, 36.0)])
    env.state = env.state.replace(minerals=torch.tensor([[1000.0, 0.0]]))

    def offered(slot: int) -> set[int]:
        select(env, slot)
        obs, _ = step(env, FunctionId.no_op)
        return set(obs["available_actions"][0].nonzero()[:, 0].tolist())

    scv_card = offered(scv)
    assert {int(FunctionId.Harvest_Gather_screen), int(FunctionId.Build_SupplyDepot_screen),
            int(FunctionId.Build_Barracks_screen), int(FunctionId.Move_screen)} <= scv_card
    assert not {int(FunctionId.Build_Refinery_screen), int(FunctionId.Build_CommandCenter_screen)} & scv_card
    cc_card = offered(cc)
    assert {int(FunctionId.Train_SCV_quick), int(FunctionId.Rally_Workers_screen)} <= cc_card
    rax_card = offered(barracks)
    assert int(FunctionId.Train_Marine_quick) in rax_card
    assert not {int(FunctionId.Train_Marauder_quick), int(FunctionId.Rally_Units_screen),
                int(FunctionId.Rally_Workers_screen)} & rax_card
    select(env, scv)
    obs, _ = step(env, FunctionId.Build_Refinery_screen, screen=pixel(env, (40.5, 22.5)))
    assert int(obs["action_result"][0]) == int(ActionResult.InvalidAvailableAction)


@pytest.mark.parametrize("scenario", ["CollectMineralsAndGas", "BuildMarines"])
def test_mined_out_fields_are_restored_on_reset(scenario):
    env, _ = make(scenario, [0, 1])
    fields = of_type(env, UnitType.MINERAL_FIELD)
    spawned = env.state.unit_resources[:, fields].clone()
    # Mine the line out: one field gone, the others nearly empty; a structure stands where none was.
    alive, resources = env.state.unit_alive.clone(), env.state.unit_resources.clone()
    alive[:, fields[0]] = False
    resources[:, fields[1:]] = 5.0
    env.state = env.state.replace(unit_alive=alive, unit_resources=resources,
                                  game_loop=torch.full((2,), env.spec_.time_limit_loops - 8))
    add_units(env, [UnitType.SUPPLY_DEPOT], [(40.0, 36.0)])
    _, _, _, truncated, _ = env.step(BatchedAction.no_op(2))
    assert truncated.all()
    obs, _, _, _, info = env.step(BatchedAction.no_op(2))
    assert info["step_type"].tolist() == [int(StepType.FIRST)] * 2
    assert torch.equal(env.state.unit_resources[:, fields], spawned)
    assert env.state.unit_alive[:, fields].all()
    assert len(of_type(env, UnitType.SUPPLY_DEPOT)) == 0 and obs["player"][:, 1].tolist() == [50.0, 50.0]


def test_feature_units_report_build_progress_and_contents():
    env, _ = make("CollectMineralsAndGas", [0])
    depot = add_units(env, [UnitType.SUPPLY_DEPOT], [(34.0, 36.0)], build_left=float(T.build_loops[15]) / 4)
    obs, _ = step(env, FunctionId.no_op)
    units = obs["feature_units"][0]
    assert 74 <= float(units[depot[0], FeatureUnit.build_progress]) < 100
    fields, geysers = of_type(env, UnitType.MINERAL_FIELD), of_type(env, UnitType.VESPENE_GEYSER)
    assert (units[fields, FeatureUnit.mineral_contents] == 1500).all()
    assert (units[geysers, FeatureUnit.vespene_contents] == 2000).all()
    assert (units[of_type(env, UnitType.SCV), FeatureUnit.build_progress] == 100).all()


def mean_score(scenario: str, agent: str, steps: int, seeds: list[int]) -> float:
    env = arena.make(scenario, num_envs=len(seeds))
    player = make_agent(agent, scenario, seed=3)
    obs, _ = env.reset(seed=seeds)
    player.reset(len(seeds))
    first = torch.ones(len(seeds), dtype=torch.bool)
    for _ in range(steps):
        obs, _, _, _, info = env.step(player.act(obs, first))
        first = info["step_type"] == int(StepType.FIRST)
    return float(info["score"].mean())


@pytest.mark.slow
def test_scripted_collect_minerals_and_gas_beats_random_early():
    # 160 agent steps (57 s at faster): the scripted agent has every worker mining and more SCVs coming.
    scripted = mean_score("CollectMineralsAndGas", "scripted", 160, [0, 1])
    random = mean_score("CollectMineralsAndGas", "random", 160, [0, 1])
    assert scripted > 450 and scripted > 3 * random, (scripted, random)


@pytest.mark.slow
def test_scripted_build_marines_makes_marines_early():
    # 520 agent steps (3 min at faster): Barracks up and the first Marines out; the random agent makes none.
    assert mean_score("BuildMarines", "scripted", 520, [0]) >= 4
    assert mean_score("BuildMarines", "random", 520, [0]) == 0


def test_scripted_collect_minerals_and_gas_puts_every_worker_to_work():
    env = arena.make("CollectMineralsAndGas", num_envs=1, interface=InterfaceFormat(feature_layers=False))
    agent = make_agent("scripted", "CollectMineralsAndGas")
    obs, _ = env.reset(seed=0)
    agent.reset(1)
    first = torch.ones(1, dtype=torch.bool)
    for _ in range(30):
        obs, _, _, _, info = env.step(agent.act(obs, first))
        first = info["step_type"] == int(StepType.FIRST)
        assert int(obs["action_result"][0]) == int(ActionResult.Success)
    assert obs["player"][0, 7] == 0  # no idle worker left
    scvs = of_type(env, UnitType.SCV)
    targets = env.state.order_unit[0, scvs, 0]
    assert (env.state.order_kind[0, scvs, 0] == int(Order.GATHER)).all()
    assert len(set(targets.tolist())) >= 6  # spread over the fields, not all on one


@pytest.mark.parametrize("map_name", ["CollectMineralsAndGas", "BuildMarines"])
def test_pysc2_env_takes_the_economy_functions(map_name):
    from arena import pysc2_env as sc2_env
    from arena.compat.pysc2 import load_pysc2

    load_pysc2()
    from pysc2.lib.actions import FUNCTIONS

    def first(obs, unit_type: int) -> tuple[int, int]:
        unit = next(u for u in obs.feature_units if u.unit_type == unit_type)
        return int(unit.x), int(unit.y)

    depot = (56, 13)  # screen pixel of (42, 35): free on both maps
    aif = sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64),
                                       use_feature_units=True)
    with sc2_env.SC2Env(map_name=map_name, players=[sc2_env.Agent(sc2_env.Race.terran)],
                        agent_interface_format=aif, step_mul=8, random_seed=3) as env:
        obs = env.reset()[0].observation
        field = first(obs, 341)
        obs = env.step([FUNCTIONS.select_point("select", first(obs, 18))])[0].observation
        assert FUNCTIONS.Train_SCV_quick.id in obs.available_actions
        obs = env.step([FUNCTIONS.Train_SCV_quick("now")])[0].observation
        assert len(obs.action_result) == 0 and obs.player.minerals < 50 and obs.player.food_used == 13
        obs = env.step([FUNCTIONS.Rally_Workers_screen("now", field)])[0].observation
        assert len(obs.action_result) == 0
        obs = env.step([FUNCTIONS.select_point("select", first(obs, 45))])[0].observation
        obs = env.step([FUNCTIONS.Harvest_Gather_screen("now", field)])[0].observation
        assert len(obs.action_result) == 0
        obs = env.step([FUNCTIONS.Build_SupplyDepot_screen("now", depot)])[0].observation
        assert list(obs.action_result) == [int(ActionResult.NotEnoughMinerals)]
        engine = env._env  # the batched environment under the pysc2 shell
        engine.state = engine.state.replace(minerals=torch.tensor([[500.0, 0.0]]))
        obs = env.step([FUNCTIONS.Build_SupplyDepot_screen("now", depot)])[0].observation
        assert len(obs.action_result) == 0
        rewards = [env.step([FUNCTIONS.no_op()])[0].reward for _ in range(8)]
        assert all(r >= 0 for r in rewards)
        obs = env.step([FUNCTIONS.select_point("select", first(obs, 18))])[0].observation
        refinery = FUNCTIONS.Build_Refinery_screen.id
        obs = env.step([FUNCTIONS.select_point("select", first(obs, 45))])[0].observation
        assert FUNCTIONS.Build_SupplyDepot_screen.id in obs.available_actions
        assert (refinery in obs.available_actions) == (map_name == "CollectMineralsAndGas")
