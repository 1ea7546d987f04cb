"""Two-player scenarios without an environment: spawns (counts, owners, equal costs, mirror symmetry), each rule
(scores, respawns, the end and its outcome), each player's own view, mirror seeds, and the scripted agents of both
seats. Games are stepped here by a small two-seat loop over the engine's pure functions."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from agents.random_agent import RandomAgent
from agents.registry import make_agent
from arena.interface.actions import BatchedAction, apply_action, validate_arguments
from arena.interface.features import PlayerRelative
from arena.interface.functions import ActionResult
from arena.interface.observation import ObservationContext, observe, perceive, remember_seen
from arena.interface.unit_list import FeatureUnit
from arena.interface.view import InterfaceFormat
from arena.scenarios.base import Scenario
from arena.scenarios.registry import make_scenario, scenario_ids
from arena.scenarios.two_player import (MAP_WIDTH, TERRAN_ARMY, ZERG_ARMY, army_cost, mirror_seed, mirror_x,
                                        swap_players)
from arena.sim.state import Owner, Score, State
from arena.sim.step import SimParams, game_loop, run_loops
from arena.sim.units import UNIT_SPECS, UnitType, unit_table

TWO_PLAYER = ["MarineMirror", "TerranVsZerg", "BeaconRace", "ShardRace"]
SYMMETRIC = ["MarineMirror", "BeaconRace", "ShardRace"]
SMALL = InterfaceFormat(screen_size=32, minimap_size=32)


@dataclasses.dataclass
class Duel:
    """B games of a two-player scenario, both seats stepped by hand (what the two-player environment does)."""

    scenario: Scenario
    state: State
    ctx: ObservationContext
    params: SimParams
    results: list[torch.Tensor]
    last: list[torch.Tensor]

    @staticmethod
    def start(name: str, seeds: list[int], fmt: InterfaceFormat = SMALL) -> "Duel":
        scenario = make_scenario(name)
        spec = scenario.spec
        params = SimParams.create(spec.playable)
        ctx = ObservationContext(table=unit_table("cpu"), fmt=fmt, geometry=spec.geometry, playable=params.bounds,
                                 fog=spec.fog)
        B = len(seeds)
        state = remember_seen(scenario.initial_state(torch.tensor(seeds), torch.zeros(B, dtype=torch.long)), ctx)
        zeros = torch.zeros(B, dtype=torch.long)
        return Duel(scenario, state, ctx, params, [zeros + int(ActionResult.Success)] * 2, [zeros, zeros])

    def observe(self, player: int) -> dict[str, torch.Tensor]:
        return observe(self.state, player, self.ctx, self.results[player], self.last[player])

    def step(self, actions: list[BatchedAction]) -> None:
        state, spec = self.state, self.scenario.spec
        for player, action in enumerate(actions):
            visible, _ = perceive(state, player, self.ctx)
            state, self.results[player] = apply_action(state, action, player, self.ctx.table, self.ctx.fmt,
                                                       spec.geometry, visible)
            self.last[player] = action.function
        rule = lambda s, died: remember_seen(self.scenario.loop_rule(s, died), self.ctx)  # noqa: E731
        self.state = run_loops(state, self.params, spec.step_mul, rule)

    def loop(self, state: State | None = None) -> State:
        """One game loop with the scenario's rule (no actions)."""
        state, died = game_loop(self.state if state is None else state, self.params)
        self.state = self.scenario.loop_rule(state, died)
        return self.state


def owned(state: State, game: int, owner: Owner) -> torch.Tensor:
    return (state.unit_alive[game] & (state.unit_owner[game] == int(owner))).nonzero()[:, 0]


def types_of(state: State, game: int, owner: Owner) -> dict[UnitType, int]:
    kinds = state.unit_type[game, owned(state, game, owner)].tolist()
    return {UnitType(k): kinds.count(k) for k in sorted(set(kinds))}


def states_equal(a: State, b: State, skip: tuple[str, ...] = ("seed",)) -> list[str]:
    """The fields where two states differ."""
    return [f.name for f in dataclasses.fields(State)
            if f.name not in skip and not torch.equal(getattr(a, f.name), getattr(b, f.name))]


# ---------------------------------------------------------------------------------------------------------------
# Registration and spawns.

def test_two_player_scenarios_are_registered_with_their_spec():
    for name in TWO_PLAYER:
        assert f"{name}-v1" in scenario_ids()
        spec = make_scenario(name).spec
        assert spec.num_agents == 2 and spec.fog and spec.version == 1
        assert "Two players" in spec.description and "Win" in spec.description
        assert ("asymmetric" in spec.description) == (name not in SYMMETRIC)


def test_one_player_scenarios_never_decide_an_outcome():
    scenario = make_scenario("MoveToBeacon")
    state = scenario.initial_state(torch.tensor([1, 2]), torch.zeros(2, dtype=torch.long))
    assert scenario.outcome(state).tolist() == [0, 0] and scenario.outcome(state).dtype == torch.long


ARMIES = {
    "MarineMirror": ({UnitType.MARINE: 8}, {UnitType.MARINE: 8}),
    "TerranVsZerg": ({UnitType.MARINE: 6, UnitType.MARAUDER: 2}, {UnitType.ZERGLING: 2, UnitType.ROACH: 5}),
    "BeaconRace": ({UnitType.MARINE: 1}, {UnitType.MARINE: 1}),
    "ShardRace": ({UnitType.MARINE: 2}, {UnitType.MARINE: 2}),
}
NEUTRAL = {"MarineMirror": {}, "TerranVsZerg": {}, "BeaconRace": {UnitType.BEACON: 1},
           "ShardRace": {UnitType.MINERAL_SHARD: 20}}


@pytest.mark.parametrize("name", TWO_PLAYER)
def test_spawn_counts_owners_selection_and_cameras(name):
    duel = Duel.start(name, list(range(8)))
    state = duel.state
    assert set(state.side.tolist()) == {0, 1}  # the coin flip gives both players the left side sometimes
    for game in range(8):
        assert types_of(state, game, Owner.PLAYER_1) == ARMIES[name][0]
        assert types_of(state, game, Owner.PLAYER_2) == ARMIES[name][1]
        assert types_of(state, game, Owner.NEUTRAL) == NEUTRAL[name]
        for player, owner in enumerate((Owner.PLAYER_1, Owner.PLAYER_2)):
            own = owned(state, game, owner)
            assert state.selected[game, player].nonzero()[:, 0].tolist() == own.tolist()
            # Player 1 starts on the left where side is 0.
            left = bool(state.unit_pos[game, own, 0].mean() < MAP_WIDTH / 2)
            assert left == ((int(state.side[game]) == 0) == (player == 0))
    x0, y0, x1, y1 = make_scenario(name).spec.playable
    pos = state.unit_pos[state.unit_alive]
    assert bool(((pos[:, 0] > x0) & (pos[:, 0] < x1) & (pos[:, 1] > y0) & (pos[:, 1] < y1)).all())


def test_terran_and_zerg_armies_cost_the_same():
    # Marine 50/0, Marauder 100/25, Zergling 25/0, Roach 75/25 (units.md).
    assert army_cost(TERRAN_ARMY) == (500, 50) and army_cost(ZERG_ARMY) == (425, 125)
    state = make_scenario("TerranVsZerg").initial_state(torch.tensor([5]), torch.zeros(1, dtype=torch.long))
    costs = []
    for owner in (Owner.PLAYER_1, Owner.PLAYER_2):
        kinds = [UNIT_SPECS[UnitType(k)] for k in state.unit_type[0, owned(state, 0, owner)].tolist()]
        costs.append(sum(spec.minerals + spec.gas for spec in kinds))
    assert costs == [550, 550]


@pytest.mark.parametrize("name", SYMMETRIC)
def test_symmetric_spawns_are_exact_mirrors(name):
    state = make_scenario(name).initial_state(torch.arange(6), torch.zeros(6, dtype=torch.long))
    players = ARMIES[name][0][UnitType.MARINE]
    left, right = state.unit_pos[:, :players], state.unit_pos[:, players:2 * players]
    assert torch.equal(right, mirror_x(left))  # exact, not approximately
    assert bool((left[..., 0] < MAP_WIDTH / 2).all())
    assert torch.equal(state.unit_owner[:, players:2 * players], 1 - state.unit_owner[:, :players])
    if name == "BeaconRace":
        assert bool((state.unit_pos[:, 2, 0] == MAP_WIDTH / 2).all())  # the first beacon is as far from both
    if name == "ShardRace":
        shards = state.unit_pos[:, 4:]
        assert torch.equal(shards[:, 10:], mirror_x(shards[:, :10]))


@pytest.mark.parametrize("name", TWO_PLAYER)
def test_mirror_seeds_exchange_the_players(name):
    scenario = make_scenario(name)
    seeds = torch.tensor([0, 1, 6, 7, 12345])
    episode = torch.tensor([0, 0, 3, 3, 1])
    a = scenario.initial_state(seeds, episode)
    b = scenario.initial_state(mirror_seed(seeds), episode)
    assert torch.equal(b.side, 1 - a.side)
    if name in SYMMETRIC:
        assert states_equal(swap_players(a), b) == []
    else:  # the same armies and jitter, sides exchanged: each army's positions mirrored
        assert torch.equal(b.unit_pos[b.unit_alive], mirror_x(a.unit_pos[a.unit_alive]))
        assert torch.equal(a.unit_owner, b.unit_owner)


# ---------------------------------------------------------------------------------------------------------------
# Each player's view.

@pytest.mark.parametrize("name", TWO_PLAYER)
def test_each_player_sees_its_own_units_as_self_on_its_screen(name):
    duel = Duel.start(name, [3, 4], fmt=SMALL)
    for player in range(2):
        obs = duel.observe(player)
        units, mask = obs["feature_units"], obs["feature_units_mask"]
        alliance = units[..., int(FeatureUnit.alliance)]
        own = duel.state.unit_alive & (duel.state.unit_owner == player)
        assert torch.equal(mask & (alliance == PlayerRelative.SELF), own)  # all own units on the screen
        assert not bool((mask & (alliance == PlayerRelative.SELF) & (duel.state.unit_owner != player)).any())
        assert torch.equal(obs["multi_select_mask"], own)
        assert bool((obs["player"][:, 0] == player + 1).all())
        assert torch.equal(obs["camera"], duel.state.camera[:, player])
        if name in ("MarineMirror", "TerranVsZerg"):  # 16 apart under fog: the enemy is out of sight
            assert not bool((mask & (alliance == PlayerRelative.ENEMY)).any())


# ---------------------------------------------------------------------------------------------------------------
# Rules.

@pytest.mark.parametrize("name", ["MarineMirror", "TerranVsZerg"])
def test_battle_ends_when_an_army_is_dead_and_its_owner_loses(name):
    scenario = make_scenario(name)
    state = scenario.initial_state(torch.arange(4), torch.zeros(4, dtype=torch.long))
    assert scenario.terminated(state).tolist() == [False] * 4 and scenario.outcome(state).tolist() == [0] * 4
    p1, p2 = state.unit_owner == int(Owner.PLAYER_1), state.unit_owner == int(Owner.PLAYER_2)
    dead = torch.tensor([[False, False], [False, True], [True, False], [True, True]])  # player 1's, player 2's
    alive = state.unit_alive & ~(dead[:, :1] & p1) & ~(dead[:, 1:] & p2)
    ended = state.replace(unit_alive=alive, unit_hp=torch.where(alive, state.unit_hp, 0.0))
    assert scenario.terminated(ended).tolist() == [False, True, True, True]
    assert scenario.outcome(ended).tolist() == [0, 1, -1, 0]  # both dead on the same loop: a draw


def test_battle_scores_each_player_its_kills():
    duel = Duel.start("MarineMirror", [0, 1])
    state = duel.state
    victims = (state.unit_owner == int(Owner.PLAYER_2)) & (torch.arange(16) % 8 < 3)  # 3 of player 2's Marines
    victims[1] = (state.unit_owner[1] == int(Owner.PLAYER_1)) & (torch.arange(16) % 8 == 0)  # 1 of player 1's
    hit = state.replace(unit_hp=torch.where(victims, -1.0, state.unit_hp))
    after = duel.loop(hit)
    assert after.score[:, :, Score.SCORE].tolist() == [[3.0, 0.0], [0.0, 1.0]]
    assert after.score[:, 0, Score.KILLED_VALUE_UNITS].tolist() == [150.0, 0.0]


def _edit_pos(state: State, slot: int, pos: torch.Tensor, games: torch.Tensor | None = None) -> State:
    new = state.unit_pos.clone()
    new[:, slot] = pos if games is None else torch.where(games[:, None], pos, new[:, slot])
    return state.replace(unit_pos=new)


def test_beacon_race_scores_the_marine_that_reaches_the_beacon_and_moves_it():
    duel = Duel.start("BeaconRace", [0, 1, 2])
    state = duel.state
    beacon = state.unit_pos[:, 2].clone()
    # Game 0: the left Marine arrives; game 1: the right one; game 2: both at once.
    state = _edit_pos(state, 0, beacon + torch.tensor([0.5, 0.0]), torch.tensor([True, False, True]))
    state = _edit_pos(state, 1, beacon - torch.tensor([0.5, 0.0]), torch.tensor([False, True, True]))
    after = duel.loop(state)
    owners = state.unit_owner[:, :2]
    expected = torch.zeros(3, 2)
    for game, slots in enumerate(([0], [1], [0, 1])):
        for slot in slots:
            expected[game, owners[game, slot]] += 1
    assert torch.equal(after.score[:, :, Score.SCORE], expected)
    assert after.wave.tolist() == [1, 1, 1]
    gap = torch.linalg.vector_norm(after.unit_pos[:, :2] - after.unit_pos[:, 2:3], dim=-1)
    assert bool((gap >= 5.0).all())  # the new beacon is at least 5 from both Marines
    quiet = duel.loop()
    assert torch.equal(quiet.score, after.score)  # nobody is at the new beacon


@pytest.mark.parametrize("name", ["BeaconRace", "ShardRace"])
def test_a_dead_race_marine_comes_back_at_its_start(name):
    duel = Duel.start(name, [4, 5])
    start = duel.state
    marines = 2 if name == "BeaconRace" else 4
    moved = start.replace(unit_pos=start.unit_pos + torch.where(torch.arange(start.num_units) < marines, 0.7,
                                                                0.0)[None, :, None])
    killed = moved.replace(unit_hp=torch.where(torch.arange(start.num_units) == marines - 1, -1.0, moved.unit_hp))
    after = duel.loop(killed)
    slot = marines - 1
    assert bool(after.unit_alive[:, slot].all())
    assert torch.equal(after.unit_pos[:, slot], start.unit_pos[:, slot])
    assert torch.equal(after.unit_owner, start.unit_owner)
    assert bool((after.unit_hp[:, slot] == UNIT_SPECS[UnitType.MARINE].hp).all())
    assert not bool(after.selected[:, :, slot].any())  # deselected, as a new unit


def test_shard_race_scores_per_player_and_brings_mirrored_shards_when_none_are_left():
    duel = Duel.start("ShardRace", [8, 9])
    state = duel.state
    # Player 2's first Marine walks onto a shard; player 1's second Marine onto another.
    p2 = (state.unit_owner[:, :4] == 1).long().argmax(dim=1)
    p1 = 3 - (state.unit_owner[:, :4] == 0).long().flip(1).argmax(dim=1)
    pos = state.unit_pos.clone()
    games = torch.arange(2)
    pos[games, p2] = state.unit_pos[:, 4]
    pos[games, p1] = state.unit_pos[:, 20]
    after = duel.loop(state.replace(unit_pos=pos))
    assert after.score[:, :, Score.SCORE].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert not bool(after.unit_alive[:, 4].any()) and not bool(after.unit_alive[:, 20].any())
    assert int(after.unit_alive[:, 4:].sum()) == 2 * 18
    # Every shard gone: 20 new ones, mirrored, at least 2 from every Marine.
    cleared = after.replace(unit_alive=torch.cat([after.unit_alive[:, :4], torch.zeros(2, 20, dtype=torch.bool)],
                                                 dim=1))
    fresh = duel.loop(cleared)
    assert fresh.wave.tolist() == [1, 1] and bool(fresh.unit_alive[:, 4:].all())
    shards = fresh.unit_pos[:, 4:]
    assert torch.equal(shards[:, 10:], mirror_x(shards[:, :10]))
    gap = torch.linalg.vector_norm(shards[:, :, None] - fresh.unit_pos[:, None, :4], dim=-1)
    assert bool((gap >= 2.0).all())


@pytest.mark.parametrize("name", ["BeaconRace", "ShardRace"])
def test_races_are_won_by_more_points_and_equal_points_draw(name):
    scenario = make_scenario(name)
    state = scenario.initial_state(torch.arange(3), torch.zeros(3, dtype=torch.long))
    assert not bool(scenario.terminated(state).any())
    score = state.score.clone()
    score[:, :, Score.SCORE] = torch.tensor([[5.0, 3.0], [2.0, 4.0], [6.0, 6.0]])
    assert scenario.outcome(state.replace(score=score)).tolist() == [1, -1, 0]


# ---------------------------------------------------------------------------------------------------------------
# Scripted agents, and mirror games.

@pytest.mark.parametrize("name", TWO_PLAYER)
def test_scripted_agents_act_validly_for_both_seats(name):
    duel = Duel.start(name, [10, 11], fmt=SMALL)
    agents = [make_agent("scripted", name), make_agent("scripted", name)]
    first = torch.ones(2, dtype=torch.bool)
    for _ in range(3):
        actions = []
        for player, agent in enumerate(agents):
            obs = duel.observe(player)
            action = agent.act(obs, first)
            assert bool(obs["available_actions"].gather(1, action.function[:, None]).all())
            assert bool(validate_arguments(action, SMALL).all())
            actions.append(action)
        duel.step(actions)
        for player in range(2):
            assert duel.results[player].tolist() == [int(ActionResult.Success)] * 2
        first = torch.zeros(2, dtype=torch.bool)


@pytest.mark.parametrize("name", SYMMETRIC)
def test_a_mirror_game_is_the_same_game_with_the_seats_exchanged(name):
    """Game A: the scripted agent as player 1, a random agent as player 2. Game B: the mirror seeds, seats swapped.
    Every state of B is A's with the players exchanged, so B's outcome is A's negated."""
    seeds = [2, 5]
    a, b = Duel.start(name, seeds), Duel.start(name, [mirror_seed(s) for s in seeds])
    scripted_a, scripted_b = make_agent("scripted", name), make_agent("scripted", name)
    random_a, random_b = RandomAgent(seed=3), RandomAgent(seed=3)
    first = torch.ones(2, dtype=torch.bool)
    for step in range(4):
        a.step([scripted_a.act(a.observe(0), first), random_a.act(a.observe(1), first)])
        b.step([random_b.act(b.observe(0), first), scripted_b.act(b.observe(1), first)])
        first = torch.zeros(2, dtype=torch.bool)
        assert states_equal(swap_players(a.state), b.state) == [], step
    scenario = a.scenario
    assert torch.equal(scenario.outcome(b.state), -scenario.outcome(a.state))


def test_idle_armies_never_meet_and_draw_at_the_time_limit():
    duel = Duel.start("MarineMirror", [0, 1])
    limit = duel.scenario.spec.time_limit_loops
    state = run_loops(duel.state, duel.params, limit, duel.scenario.loop_rule)
    assert int(state.game_loop[0]) == limit
    assert not bool(duel.scenario.terminated(state).any()) and duel.scenario.outcome(state).tolist() == [0, 0]


def _play(duel: Duel, agents: list, steps: int) -> torch.Tensor:
    """Step both seats until every game ended; the outcome of each game where it ended."""
    first = torch.ones(duel.state.batch_size, dtype=torch.bool)
    ended = torch.zeros_like(first)
    outcome = torch.zeros(duel.state.batch_size, dtype=torch.long)
    for _ in range(steps):
        duel.step([agent.act(duel.observe(player), first) for player, agent in enumerate(agents)])
        first = torch.zeros_like(first)
        over = duel.scenario.terminated(duel.state) & ~ended
        outcome = torch.where(over, duel.scenario.outcome(duel.state), outcome)
        ended |= over
        if bool(ended.all()):
            break
    return torch.where(ended, outcome, duel.scenario.outcome(duel.state))


@pytest.mark.slow
@pytest.mark.parametrize("name, opponent", [("MarineMirror", "random"), ("TerranVsZerg", "random"),
                                            ("BeaconRace", "noop"), ("ShardRace", "noop")])
def test_scripted_agents_beat_weak_opponents_from_either_seat(name, opponent):
    seeds = [0, 1, 2, 3]
    steps = make_scenario(name).spec.time_limit_loops // make_scenario(name).spec.step_mul
    first = _play(Duel.start(name, seeds, fmt=InterfaceFormat()),
                  [make_agent("scripted", name), make_agent(opponent, name, seed=1)], steps)
    second = _play(Duel.start(name, seeds, fmt=InterfaceFormat()),
                   [make_agent(opponent, name, seed=1), make_agent("scripted", name)], steps)
    assert first.tolist() == [1] * 4 and second.tolist() == [-1] * 4
