"""The compiled kernel game loop (arena.sim.kernels) against the torch passes it replaces (arena.sim.step.game_loop):
from the same state, one game loop of each agrees, for random states of every scenario (combat, economy, full
game); the kernel is independent of its batch and its thread count; the engines are chosen by name with clear
errors."""

from __future__ import annotations

import dataclasses

import numba
import pytest
import torch

import arena
from arena.env import StepType
from arena.scenarios.registry import make_scenario, scenario_ids
from arena.sim import geometry, movement, targeting
from arena.sim.kernels import CONSTANTS, kernel_game_loop
from arena.sim.state import Order, Owner, Score, State, concat, select_envs
from arena.sim.step import Engine, SimParams, game_loop, loop_function
from arena.sim.units import UnitType, unit_table

COMBAT_SCENARIOS = [s for s in scenario_ids() if not make_scenario(s).spec.economy]
ECONOMY_SCENARIOS = [s for s in scenario_ids() if make_scenario(s).spec.economy]
ECONOMY_TYPES = [t for t in UnitType if t not in (UnitType.NONE, UnitType.BEACON, UnitType.MINERAL_SHARD)]
POSITION_TOLERANCE = 1e-4
"""Map units: float32 sums in another order (pushes, damage) differ in the last bits."""


def params_of(scenario_id: str) -> SimParams:
    spec = make_scenario(scenario_id).spec
    return SimParams.create(spec.playable, economy=spec.economy)


def random_state(scenario_id: str, batch: int, seed: int) -> State:
    """A scenario's start, then shaken: random orders (attack a random slot, dead ones too, attack-move, move, hold,
    stop, queued behind each other), cooldowns, HP, shields, pairs of units on the same point, units outside the
    bounds, a few dead units; then a few game loops of the torch passes so that targets and orders are mid-fight."""
    g = torch.Generator().manual_seed(seed)
    scenario = make_scenario(scenario_id)
    seeds = torch.arange(batch) + 1000 * seed
    state = scenario.initial_state(seeds, torch.zeros(batch, dtype=torch.long))
    B, U, Q = state.order_kind.shape
    table = unit_table()
    spec = scenario.spec
    x0, y0, x1, y1 = spec.playable
    pos = state.unit_pos.clone()
    crowd = torch.rand(B, U, generator=g) < 0.5  # half the units gather near one point per game: fights, pushes
    centre = torch.stack([torch.empty(B).uniform_(x0, x1, generator=g), torch.empty(B).uniform_(y0, y1, generator=g)],
                         dim=1)
    pos = torch.where(crowd[..., None], centre[:, None] + torch.randn(B, U, 2, generator=g) * 2.0, pos)
    same = torch.randint(U, (B,), generator=g)  # one unit on top of the next one
    pos[torch.arange(B), (same + 1) % U] = pos[torch.arange(B), same]
    kinds = torch.tensor([int(o) for o in (Order.NONE, Order.MOVE, Order.ATTACK_MOVE, Order.ATTACK_UNIT, Order.HOLD)])
    order_kind = kinds[torch.randint(len(kinds), (B, U, Q), generator=g)]
    order_kind[:, :, 2:] = torch.where(torch.rand(B, U, Q - 2, generator=g) < 0.5, 0, order_kind[:, :, 2:])
    order_pos = torch.stack([torch.empty(B, U, Q).uniform_(x0 - 2, x1 + 2, generator=g),
                             torch.empty(B, U, Q).uniform_(y0 - 2, y1 + 2, generator=g)], dim=-1)
    order_unit = torch.where(order_kind == int(Order.ATTACK_UNIT), torch.randint(U, (B, U, Q), generator=g), -1)
    alive = state.unit_alive & ~(torch.rand(B, U, generator=g) < 0.1)
    max_hp = table.max_hp[state.unit_type]
    state = state.replace(
        unit_pos=pos, unit_alive=alive,
        unit_hp=torch.where(alive, max_hp * torch.empty(B, U).uniform_(0.05, 1.0, generator=g), state.unit_hp),
        unit_shields=table.max_shields[state.unit_type] * torch.rand(B, U, generator=g),
        unit_cooldown=torch.where(torch.rand(B, U, generator=g) < 0.5, 0.0,
                                  torch.rand(B, U, generator=g) * table.cooldown[state.unit_type]),
        order_kind=torch.where(state.unit_owner[..., None] == int(Owner.NEUTRAL), state.order_kind, order_kind),
        order_pos=order_pos, order_unit=order_unit)
    if spec.economy:
        state = shake_economy(state, g)
    params = params_of(scenario_id)
    for _ in range(int(torch.randint(4, (1,), generator=g))):
        state, _ = game_loop(state, params)
    return state


def shake_economy(state: State, g: torch.Generator) -> State:
    """Economy on top: workers told to gather a random slot (a field, a geyser, a dead one), return cargo, build a
    random structure at a random point (on a geyser for gas buildings) or construct; cargo, mining timers, banks;
    structures under construction, eggs about to hatch (Zerglings in pairs), queues about to finish with rally points
    (on a resource too), Hatcheries with larva; free slots for new units."""
    B, U, Q = state.order_kind.shape
    table = unit_table()
    alive = state.unit_alive & ~(torch.rand(B, U, generator=g) < 0.15)  # free slots for spawns
    kind = state.unit_type
    worker = table.worker[kind] & alive
    economy_orders = torch.tensor([int(o) for o in (Order.GATHER, Order.RETURN, Order.BUILD, Order.CONSTRUCT)])
    pick = economy_orders[torch.randint(4, (B, U), generator=g)]
    order_kind, order_unit, order_type = state.order_kind.clone(), state.order_unit.clone(), state.order_type.clone()
    order_pos = state.order_pos.clone()
    resources = (table.resource[kind] > 0) | table.gas_building[kind]
    resource_slot = torch.multinomial(resources.float() + 0.05, U, replacement=True, generator=g)  # mostly fields
    structures = torch.tensor([int(t) for t in ECONOMY_TYPES if bool(table.structure[int(t)])])
    build = structures[torch.randint(len(structures), (B, U), generator=g)]
    geyser = torch.multinomial((kind == int(UnitType.VESPENE_GEYSER)).float() + 0.01, U, replacement=True,
                               generator=g)
    use = worker & (torch.rand(B, U, generator=g) < 0.8)
    order_kind[:, :, 0] = torch.where(use, pick, order_kind[:, :, 0])
    order_unit[:, :, 0] = torch.where(use & (pick == int(Order.BUILD)) & table.gas_building[build], geyser,
                                      torch.where(use & (pick != int(Order.BUILD)), resource_slot,
                                                  order_unit[:, :, 0]))
    order_type[:, :, 0] = torch.where(use & (pick == int(Order.BUILD)), build, order_type[:, :, 0])
    near = state.unit_pos + torch.randn(B, U, 2, generator=g) * 2.0
    order_pos[:, :, 0] = torch.where((use & (pick == int(Order.BUILD)))[..., None], near.round(), order_pos[:, :, 0])
    cargo = torch.where(worker & (torch.rand(B, U, generator=g) < 0.5),
                        torch.randint(1, 6, (B, U), generator=g).float(), 0.0)
    timer = torch.where(torch.rand(B, U, generator=g) < 0.5, 0.0, torch.rand(B, U, generator=g) * 100)
    structure = table.structure[kind] & alive
    build_left = torch.where(structure & (torch.rand(B, U, generator=g) < 0.3),
                             torch.randint(1, 4, (B, U), generator=g).float(), state.unit_build_left)
    egg = alive & (torch.rand(B, U, generator=g) < 0.05) & ~structure & ~resources
    morph = torch.where(egg, torch.tensor([int(UnitType.ZERGLING), int(UnitType.ROACH), int(UnitType.DRONE)])[
        torch.randint(3, (B, U), generator=g)], state.unit_morph)
    build_left = torch.where(egg, torch.randint(0, 3, (B, U), generator=g).float(), build_left)
    producer = structure & (table.town_hall[kind] | (kind == int(UnitType.BARRACKS)))
    units = torch.tensor([int(UnitType.SCV), int(UnitType.MARINE), int(UnitType.MARAUDER), int(UnitType.DRONE)])
    queue = state.queue.clone()
    queue[:, :, 0] = torch.where(producer, units[torch.randint(4, (B, U), generator=g)], queue[:, :, 0])
    queue[:, :, 1] = torch.where(producer & (torch.rand(B, U, generator=g) < 0.5), int(UnitType.MARINE),
                                 queue[:, :, 1])
    progress = torch.where(producer, table.build_loops[queue[:, :, 0]] - torch.randint(0, 3, (B, U), generator=g),
                           state.queue_progress)
    rally_target = torch.where(producer, torch.where(torch.rand(B, U, generator=g) < 0.5, resource_slot, -1),
                               state.unit_rally_target)
    rally_target = torch.where(producer & (torch.rand(B, U, generator=g) < 0.3), -2, rally_target)
    return state.replace(
        unit_alive=alive, order_kind=order_kind, order_unit=order_unit, order_type=order_type, order_pos=order_pos,
        unit_cargo=cargo, unit_cargo_gas=torch.rand(B, U, generator=g) < 0.3, unit_timer=timer,
        unit_build_left=build_left, unit_morph=morph, queue=queue, queue_progress=progress.float(),
        unit_rally_target=rally_target, unit_rally=near,
        unit_larva=torch.where(kind == int(UnitType.HATCHERY), torch.rand(B, U, generator=g) * 3, 0.0),
        unit_resources=torch.where(resources & (torch.rand(B, U, generator=g) < 0.2), 3.0, state.unit_resources),
        minerals=torch.rand(B, 2, generator=g) * 400, vespene=torch.rand(B, 2, generator=g) * 200)


def assert_states_agree(expected: State, actual: State, context: str) -> None:
    for field in dataclasses.fields(State):
        a, b = getattr(expected, field.name), getattr(actual, field.name)
        assert a.shape == b.shape and a.dtype == b.dtype, f"{context}: {field.name}"
        if a.dtype.is_floating_point:
            assert torch.allclose(a, b, atol=POSITION_TOLERANCE, rtol=1e-5), \
                f"{context}: {field.name} differs by {(a - b).abs().max():g}"
        else:
            assert torch.equal(a, b), f"{context}: {field.name} differs at {(a != b).nonzero()[:5].tolist()}"


@pytest.mark.parametrize("scenario_id", COMBAT_SCENARIOS + ECONOMY_SCENARIOS)
def test_one_game_loop_agrees_with_the_torch_passes_from_random_states(scenario_id: str) -> None:
    params = params_of(scenario_id)
    for seed in range(3):
        state = random_state(scenario_id, batch=16, seed=seed)
        expected, died_expected = game_loop(state, params)
        actual, died_actual = kernel_game_loop(state, params)
        assert torch.equal(died_expected, died_actual), f"{scenario_id} seed {seed}: deaths"
        assert_states_agree(expected, actual, f"{scenario_id} seed {seed}")


def test_the_random_states_exercise_the_rules() -> None:
    """The comparison above sees weapons fire, units die, Banelings blow up, orders pop, units push apart."""
    params = params_of("DefeatZerglingsAndBanelings")
    state = random_state("DefeatZerglingsAndBanelings", batch=16, seed=0)
    after, died = game_loop(state, params)
    assert bool(died.any())
    assert bool(((state.unit_type == int(UnitType.BANELING)) & died).any())
    assert bool((after.unit_cooldown > state.unit_cooldown).any())  # someone fired
    assert bool((after.order_kind[:, :, 0] != state.order_kind[:, :, 0]).any())  # orders done or forgotten
    assert float(after.score[:, :, Score.KILLED_VALUE_UNITS].sum()) > 0


def test_the_random_economy_states_exercise_its_rules() -> None:
    """...and with an economy: cargo delivered, structures placed (money spent, SCVs constructing), units trained
    and hatched into new slots."""
    state = random_state("FullGame", batch=16, seed=0)
    after, _ = game_loop(state, params_of("FullGame"))
    def gained(field: int) -> float:
        return float((after.score[:, :, field] - state.score[:, :, field]).sum())
    assert gained(Score.COLLECTED_MINERALS) + gained(Score.COLLECTED_VESPENE) > 0
    assert gained(Score.SPENT_MINERALS) > 0
    assert bool(((after.order_kind[:, :, 0] == int(Order.CONSTRUCT)) &
                 (state.order_kind[:, :, 0] == int(Order.BUILD))).any())
    assert float((after.trained - state.trained).sum()) > 0
    assert bool((after.unit_alive & ~state.unit_alive).any())
    assert bool((after.unit_type != state.unit_type).any())  # eggs hatched


def test_the_kernel_leaves_its_input_state_unchanged() -> None:
    params = params_of("FullGame")
    state = random_state("FullGame", batch=4, seed=1)
    copy = state.replace(**{f.name: getattr(state, f.name).clone() for f in dataclasses.fields(State)})
    kernel_game_loop(state, params)
    assert_states_agree(copy, state, "input")


def test_a_batch_equals_its_games_one_by_one_and_threads_do_not_matter() -> None:
    params = params_of("FullGameZvZ")
    state = random_state("FullGameZvZ", batch=8, seed=2)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one, _ = kernel_game_loop(state, params)
        torch.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two, _ = kernel_game_loop(state, params)
    finally:
        torch.set_num_threads(threads)
    alone = concat([kernel_game_loop(select_envs(state, slice(b, b + 1)), params)[0] for b in range(8)])
    for field in dataclasses.fields(State):
        assert torch.equal(getattr(one, field.name), getattr(two, field.name)), field.name
        assert torch.equal(getattr(one, field.name), getattr(alone, field.name)), field.name


def test_the_kernels_constants_are_the_torch_passes() -> None:
    from arena.sim import economy, placement, state, units

    modules = (geometry, targeting, movement, economy, placement, state, units)
    enums = {"Order": Order, "Owner": Owner, "Score": Score, "Race": units.Race, "UnitType": UnitType}
    for name, value in CONSTANTS.items():
        if "." in name:
            enum_name, member = name.split(".")
            assert value == int(getattr(enums[enum_name], member)), name
        else:
            expected = next(getattr(m, name) for m in modules if hasattr(m, name))
            assert value == pytest.approx(expected, rel=1e-6), name


def _step_both(scenario_id: str, steps: int, agent: str | None = None, num_envs: int = 4) -> int:
    """`steps` steps of random play (or of `agent`): each step starts both environments (engine='kernel' and 'torch')
    from the same state with the same actions, and their next states, rewards and step types must agree. (Left to
    run apart, two games drift: a push rounded differently can bring a unit into range one loop earlier.) Returns
    the number of nonzero rewards seen."""
    from agents.registry import make_agent
    from tests.arena.test_determinism import random_actions

    fmt = arena.InterfaceFormat(screen_size=16, minimap_size=16, raw_units=True)
    kernel, reference = (arena.make(scenario_id, num_envs=num_envs, interface=fmt, engine=e)
                         for e in ("kernel", "torch"))
    obs, _ = reference.reset(seed=3)
    kernel.reset(seed=3)
    player = None if agent is None else make_agent(agent, scenario_id)
    if player is not None:
        player.reset(num_envs)
    first = torch.ones(num_envs, dtype=torch.bool)
    g = torch.Generator().manual_seed(0)
    rewarded = 0
    for step in range(steps):
        if player is not None:
            actions = player.act(obs, first)
        elif obs["available_actions"].dim() == 3:  # two players
            actions = [random_actions({k: v[:, p] for k, v in obs.items()}, g, fmt, attack_bias=0.5)
                       for p in range(reference.num_players)]
        else:
            actions = random_actions(obs, g, fmt, attack_bias=0.5)
        kernel.state = reference.state
        if reference.fairness is not None:
            kernel.apm, kernel.fairness.delay.pending = reference.apm, list(reference.fairness.delay.pending)
        kernel.needs_reset = reference.needs_reset.clone()
        _, reward_k, terminated_k, truncated_k, _ = kernel.step(actions)
        obs, reward, terminated, truncated, info = reference.step(actions)
        first = info["step_type"] == int(StepType.FIRST)
        assert_states_agree(reference.state, kernel.state, f"{scenario_id} step {step}")
        assert torch.allclose(reward_k, reward) and torch.equal(terminated_k, terminated) and \
            torch.equal(truncated_k, truncated), f"{scenario_id} step {step}"
        rewarded += int((reward != 0).sum())
    return rewarded


@pytest.mark.parametrize("scenario_id", ["DefeatRoaches", "MarineMirror", "Skirmish3m", "CollectMineralsAndGas",
                                         "FullGameTvZ", "Skirmish2s3z", "DefeatZerglingsAndBanelings",
                                         "TerranVsZerg", "BeaconRace", "ShardRace"])
def test_environments_on_either_engine_step_alike(scenario_id: str) -> None:
    """30 steps of random play on both engines (a step's loops run in as few kernel calls as the scenario's
    LoopTrigger and the action delay allow); 12 for the economy's slow torch passes."""
    _step_both(scenario_id, 12 if make_scenario(scenario_id).spec.economy else 30)


@pytest.mark.parametrize("scenario_id", ["MoveToBeacon", "CollectMineralShards", "FindAndDefeatZerglings"])
def test_the_scripted_agent_plays_alike_on_either_engine(scenario_id: str) -> None:
    """The scripted agent reaches beacons, collects shards, finds Zerglings under fog of war: the loops after which
    the rule acts (its LoopTrigger) come up often, and both engines still step alike (what the player has seen
    too)."""
    assert _step_both(scenario_id, 40, agent="scripted") > 0


def test_every_scenario_declares_its_loop_trigger() -> None:
    """Without a LoopTrigger the kernel runs one loop per call, correct but slower: every scenario has one."""
    for scenario_id in scenario_ids():
        assert make_scenario(scenario_id).loop_trigger is not None, scenario_id


def test_engines_are_chosen_by_name_with_clear_errors() -> None:
    combat, economy = params_of("DefeatRoaches"), params_of(ECONOMY_SCENARIOS[0])
    assert loop_function("auto", combat) is kernel_game_loop
    assert loop_function("auto", economy) is kernel_game_loop
    assert loop_function(Engine.TORCH, economy) is game_loop
    with pytest.raises(ValueError, match="known: auto, kernel, torch, compiled"):
        loop_function("fast", combat)
    with pytest.raises(ValueError, match="unknown engine"):
        arena.make("MoveToBeacon", engine="warp")
    env = arena.make("CollectMineralsAndGas", engine="torch", interface=arena.InterfaceFormat(feature_layers=False))
    assert env._game_loop is game_loop


def test_the_kernel_leaves_torchs_thread_count_alone() -> None:
    """numba's OpenMP pool would reset torch's count (the process's one OpenMP runtime); the kernel uses numba's
    workqueue layer instead, on as many threads as torch has."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        kernel_game_loop(random_state("Skirmish3m", 2, 0), params_of("Skirmish3m"))
        assert torch.get_num_threads() == 1
        assert numba.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
