"""CounterPick (arena/scenarios/counter_pick.py): registration, the choice phase's spawn and its mirror, the choice read
from the chooser's order (and its default), mirror games, the end, and the cycle's direction with the scripted
agent."""

from __future__ import annotations

import torch

from agents.random_agent import RandomAgent
from agents.registry import make_agent
from arena.interface.actions import BatchedAction
from arena.interface.functions import FunctionId
from arena.interface.limits import Limits
from arena.scenarios.counter_pick import (ARMIES, CHOICE_LOOPS, DEFAULT_COMPOSITION, SIDE_SLOTS, Composition,
                                          composition_cost, player_choices)
from arena.scenarios.registry import make_scenario, scenario_ids
from arena.scenarios.two_player import mirror_seed, mirror_x, swap_players
from arena.sim.state import Owner
from arena.sim.units import UnitType
from benchmarks.counter_cycle import play
from tests.arena.test_two_player_scenarios import SMALL, Duel, states_equal, types_of

NAME = "CounterPick"
CHOICE_STEPS = CHOICE_LOOPS // 8


def army_of(composition: Composition) -> dict[UnitType, int]:
    return {unit_type: count for unit_type, count in ARMIES[composition]}


def test_registered_symmetric_and_every_army_costs_900():
    assert f"{NAME}-v1" in scenario_ids()
    spec = make_scenario(NAME).spec
    assert spec.num_agents == 2 and spec.fog and "symmetric" in spec.description and "asymmetric" not in \
        spec.description
    assert [composition_cost(c) for c in Composition] == [900, 900, 900]


def test_each_player_starts_with_a_selected_overlord_beside_three_mirrored_beacons():
    duel = Duel.start(NAME, list(range(6)))
    state = duel.state
    for game in range(6):
        for player, owner in enumerate((Owner.PLAYER_1, Owner.PLAYER_2)):
            assert types_of(state, game, owner) == {UnitType.OVERLORD: 1}
            assert bool(state.selected[game, player].sum() == 1)
        assert types_of(state, game, Owner.NEUTRAL) == {UnitType.BEACON: 6}
    left, right = state.unit_pos[:, :4], state.unit_pos[:, SIDE_SLOTS:SIDE_SLOTS + 4]
    assert torch.equal(right, mirror_x(left))
    assert not bool(make_scenario(NAME).terminated(state).any())  # no army yet: not over
    assert make_scenario(NAME).outcome(state).tolist() == [0] * 6


def test_mirror_seeds_exchange_the_players():
    scenario = make_scenario(NAME)
    seeds, episode = torch.tensor([0, 1, 6, 7, 12345]), torch.tensor([0, 0, 3, 3, 1])
    a, b = scenario.initial_state(seeds, episode), scenario.initial_state(mirror_seed(seeds), episode)
    assert states_equal(swap_players(a), b) == []


def _choose(duel: Duel, agents: list) -> None:
    first = torch.ones(duel.state.batch_size, dtype=torch.bool)
    for _ in range(CHOICE_STEPS):
        duel.step([agent.act(duel.observe(player), first) for player, agent in enumerate(agents)])
        first = torch.zeros_like(first)


def test_the_choice_is_read_from_the_overlords_order_for_either_seat_and_side():
    seeds = list(range(6))
    for picks in ((Composition.ZERGLINGS, Composition.BANELINGS), (Composition.BANELINGS, Composition.ROACHES)):
        duel = Duel.start(NAME, seeds)
        agents = [make_agent(f"scripted:{c.name.lower()}", NAME) for c in picks]
        first = torch.ones(6, dtype=torch.bool)
        duel.step([agent.act(duel.observe(p), first) for p, agent in enumerate(agents)])
        assert player_choices(duel.state).tolist() == [[int(picks[0]), int(picks[1])]] * 6
        _choose(duel, [make_agent("noop", NAME)] * 2)  # the order stands until the phase ends
        state = duel.state
        assert set(state.side.tolist()) == {0, 1}
        for game in range(6):
            assert types_of(state, game, Owner.PLAYER_1) == army_of(picks[0])
            assert types_of(state, game, Owner.PLAYER_2) == army_of(picks[1])
            assert types_of(state, game, Owner.NEUTRAL) == {}
            for player in range(2):  # preselected, each camera over its own army
                own = state.unit_alive[game] & (state.unit_owner[game] == player)
                assert torch.equal(state.selected[game, player], own)
                centre = state.unit_pos[game, own].mean(dim=0)
                assert float(torch.linalg.vector_norm(state.camera[game, player] - centre)) < 1.0


def test_no_order_or_a_point_away_from_every_zone_picks_the_default():
    duel = Duel.start(NAME, [0, 1])
    away = BatchedAction.make(int(FunctionId.Move_screen), batch=2, device="cpu",
                              screen=torch.tensor([[0, 0], [0, 0]]), queued=0)  # a screen corner
    duel.step([away, BatchedAction.no_op(2, "cpu")])
    assert player_choices(duel.state).tolist() == [[int(DEFAULT_COMPOSITION)] * 2] * 2
    _choose(duel, [make_agent("noop", NAME)] * 2)
    for game in range(2):
        for owner in (Owner.PLAYER_1, Owner.PLAYER_2):
            assert types_of(duel.state, game, owner) == army_of(DEFAULT_COMPOSITION)


def test_a_mirror_game_is_the_same_game_with_the_seats_exchanged():
    """The random-picking scripted agent against a random agent, and the mirror seeds with the seats swapped: every
    state is the other's with the players exchanged, through the choice and into the fight."""
    seeds = [2, 5]
    a, b = Duel.start(NAME, seeds, fmt=SMALL), Duel.start(NAME, [mirror_seed(s) for s in seeds], fmt=SMALL)
    scripted_a, scripted_b = make_agent("scripted", NAME, seed=4), make_agent("scripted", NAME, seed=4)
    random_a, random_b = RandomAgent(seed=3), RandomAgent(seed=3)
    first = torch.ones(2, dtype=torch.bool)
    for step in range(CHOICE_STEPS + 3):
        a.step([scripted_a.act(a.observe(0), first), random_a.act(a.observe(1), first)])
        b.step([random_b.act(b.observe(0), first), scripted_b.act(b.observe(1), first)])
        first = torch.zeros(2, dtype=torch.bool)
        assert states_equal(swap_players(a.state), b.state) == [], step
    assert bool((a.state.wave == 1).all())  # the armies are out
    assert torch.equal(a.scenario.outcome(b.state), -a.scenario.outcome(a.state))


def test_the_cycle_shows_in_the_two_clear_cut_pairs():
    """Zerglings beat Roaches and Roaches beat Banelings in every game (benchmarks/counter_cycle.py measures the
    whole table, Banelings against Zerglings included)."""
    for winner, loser in ((Composition.ZERGLINGS, Composition.ROACHES), (Composition.ROACHES, Composition.BANELINGS)):
        record = play(winner, loser, games=8, seed=0, limits=Limits(), interface=SMALL)
        assert record.wins >= 7, (winner, loser, record)


def test_both_engines_step_alike_through_the_choice():
    """Random play on the kernel and the torch passes (the rule runs after every loop on one, after every step on
    the other): the armies spawn on the same loop and the games agree."""
    from tests.arena.test_kernels import _step_both

    _step_both(NAME, 2 * CHOICE_STEPS + 4)
