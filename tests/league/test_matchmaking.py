"""Every role's opponent choice, the snapshot and reset rules, and the league's state transitions.

Choice distributions are sampled (20,000 draws from a seeded rng) and compared with AlphaStar's pseudocode
(`multiagent.py`, league.md) within about four standard deviations.
"""

import collections
import dataclasses
import random

import pytest

from league.matchmaking import (Branch, LeagueKind, LeagueRules, LeagueSize, Match, Matchmaking, add_steps,
                                choose_opponent, initial_players, reset, reset_after_snapshot, snapshot, snapshot_due)
from league.payoff import PairRecord, Payoff
from league.pfsp import Weighting, pfsp_probabilities
from league.players import Player, Role

N = 20_000
TOL = 0.015
MAIN, MAIN_1, MX, LX = "main_agent_0", "main_agent_1", "main_exploiter_0", "league_exploiter_0"
ONLY_VERIFICATION = Matchmaking(self_play=0.0, pfsp=0.0, verification=1.0)
ONLY_SELF_PLAY = Matchmaking(pfsp=0.0, verification=0.0)


def payoff_with(rates: dict) -> Payoff:
    """A payoff where home beats away with exactly the given rate (10 games each, no draws)."""
    return Payoff.from_records((home, away, PairRecord(games=10.0, wins=10.0 * x, losses=10.0 * (1 - x)))
                               for (home, away), x in rates.items())


def league(*snapshots: str, kind=LeagueKind.ALPHASTAR, size=None) -> dict:
    """`initial_players`, then one snapshot of each named player, in order."""
    players = initial_players(kind, size)
    for name in snapshots:
        players, _ = snapshot(players, name)
    return players


def sample(name, players, payoff, matchmaking=LeagueKind.ALPHASTAR, n=N, seed=0, rules=LeagueRules()):
    rng = random.Random(seed)
    return [choose_opponent(name, players, payoff, rules, rng, matchmaking) for _ in range(n)]


def frequencies(matches, key) -> collections.Counter:
    counts = collections.Counter(key(m) for m in matches)
    return collections.Counter({k: v / len(matches) for k, v in counts.items()})


def assert_pfsp(matches, candidates, rates, weighting):
    """The aways of `matches` are drawn from `candidates` with PFSP probabilities (tolerance for len(matches))."""
    freq = frequencies(matches, lambda m: m.away)
    assert set(freq) <= set(candidates)
    tol = 4 * (0.25 / len(matches)) ** 0.5
    for candidate, probability in zip(candidates, pfsp_probabilities(rates, weighting)):
        assert freq[candidate] == pytest.approx(probability, abs=tol), candidate


# ---- Main agents ----

def test_main_agent_branch_frequencies():
    players = league(MX)  # main_agent_0@0 and main_exploiter_0@0
    payoff = payoff_with({(MAIN, "main_exploiter_0@0"): 0.1})  # an exploiter beats us: verification finds it
    freq = frequencies(sample(MAIN, players, payoff), lambda m: m.branch)
    assert freq[Branch.PFSP] == pytest.approx(0.5, abs=TOL)
    assert freq[Branch.VERIFICATION_EXPLOITERS] == pytest.approx(0.15, abs=TOL)
    assert freq[Branch.SELF_PLAY] == pytest.approx(0.35, abs=TOL)
    assert sum(freq.values()) == pytest.approx(1.0)


def test_main_agent_pfsp_branch_is_squared_over_all_historical():
    players = league(MAIN, MAIN, MX, LX)
    historical = ["main_agent_0@0", "main_agent_0@1", "main_agent_0@2", "main_exploiter_0@0", "league_exploiter_0@0"]
    rates = [0.9, 0.6, 0.4, 0.5, 0.2]
    payoff = payoff_with({(MAIN, h): x for h, x in zip(historical, rates)})
    matches = [m for m in sample(MAIN, players, payoff) if m.branch is Branch.PFSP]
    assert all(m.away_frozen for m in matches)
    assert_pfsp(matches, historical, rates, Weighting.SQUARED)


def test_verification_picks_past_exploiters_below_0_3_by_squared_pfsp():
    players = league(MX, MX, MX)
    exploiters = ["main_exploiter_0@0", "main_exploiter_0@1", "main_exploiter_0@2"]
    rates = [0.25, 0.6, 0.9]
    payoff = payoff_with({(MAIN, e): x for e, x in zip(exploiters, rates)})
    matches = sample(MAIN, players, payoff, ONLY_VERIFICATION, n=10_000)
    assert {m.branch for m in matches} == {Branch.VERIFICATION_EXPLOITERS}
    assert_pfsp(matches, exploiters, rates, Weighting.SQUARED)


def test_verification_without_a_strong_exploiter_checks_forgetting_with_suffix_removed():
    players = league(MX, MAIN, MAIN, MAIN)  # main_agent_0@0..@3
    snaps = [f"main_agent_0@{i}" for i in range(4)]
    rates = {snaps[0]: 0.2, snaps[1]: 0.9, snaps[2]: 0.8, snaps[3]: 0.7}  # falling suffix @2, @3 is dropped
    payoff = payoff_with({(MAIN, "main_exploiter_0@0"): 0.3, **{(MAIN, s): x for s, x in rates.items()}})
    matches = sample(MAIN, players, payoff, ONLY_VERIFICATION, n=10_000)
    assert {m.branch for m in matches} == {Branch.VERIFICATION_FORGETTING}
    assert_pfsp(matches, snaps[:2], [0.2, 0.9], Weighting.SQUARED)


def test_forgetting_orders_snapshots_by_number_not_by_players_order():
    players = league(*[MAIN] * 11)  # main_agent_0@0..@11
    shuffled = dict(sorted(players.items()))  # "@10" and "@11" now come before "@2"
    assert list(shuffled).index("main_agent_0@10") < list(shuffled).index("main_agent_0@2")
    rates = {f"main_agent_0@{i}": round(0.95 - 0.05 * i, 2) for i in range(12)}  # falling, 0.95 .. 0.40
    rates["main_agent_0@10"] = 0.6  # the last rise (0.50 at @9): keep @0..@10, drop @11. In name order, the
    # prefix would end at "@2" (0.85 after "@11"'s 0.40) and keep @11.
    payoff = payoff_with({(MAIN, s): x for s, x in rates.items()})
    matches = sample(MAIN, shuffled, payoff, ONLY_VERIFICATION, n=2000)
    assert {m.branch for m in matches} == {Branch.VERIFICATION_FORGETTING}
    assert "main_agent_0@11" not in {m.away for m in matches}


@pytest.mark.parametrize("rates", [
    [0.9, 0.8, 0.7],       # only falling: the suffix removal leaves nothing
    [0.75, 0.8, 0.7],      # kept prefix [0.75, 0.8]: not below 0.7
])
def test_verification_falls_through_to_self_play(rates):
    players = league(MAIN, MAIN)
    payoff = payoff_with({(MAIN, f"main_agent_0@{i}"): x for i, x in enumerate(rates)})
    matches = sample(MAIN, players, payoff, ONLY_VERIFICATION, n=500)
    assert {(m.branch, m.away, m.away_frozen) for m in matches} == {(Branch.SELF_PLAY, MAIN, False)}


def test_self_play_against_a_uniformly_chosen_main_agent_or_its_snapshots_when_too_strong():
    players = league(MAIN_1, MAIN_1, size=LeagueSize(main_agents=2, main_exploiters=0, league_exploiters=0))
    snaps = ["main_agent_1@0", "main_agent_1@1", "main_agent_1@2"]
    snap_rates = [0.2, 0.5, 0.9]
    payoff = payoff_with({(MAIN, MAIN): 0.31, (MAIN, MAIN_1): 0.3, **dict(zip([(MAIN, s) for s in snaps],
                                                                             snap_rates))})
    matches = sample(MAIN, players, payoff, ONLY_SELF_PLAY)
    freq = frequencies(matches, lambda m: m.branch)
    assert freq[Branch.SELF_PLAY] == pytest.approx(0.5, abs=TOL)  # main_agent_0 is beaten > 0.3: play it
    assert freq[Branch.SELF_PLAY_CURRICULUM] == pytest.approx(0.5, abs=TOL)  # main_agent_1 at <= 0.3: curriculum
    assert {m.away for m in matches if m.branch is Branch.SELF_PLAY} == {MAIN}
    curriculum = [m for m in matches if m.branch is Branch.SELF_PLAY_CURRICULUM]
    assert all(m.away_frozen for m in curriculum)
    assert_pfsp(curriculum, snaps, snap_rates, Weighting.VARIANCE)


# ---- Exploiters ----

def test_main_exploiter_plays_the_main_agent_while_beating_it_above_0_1():
    players = league(MAIN)
    matches = sample(MX, players, payoff_with({(MX, MAIN): 0.11}), n=200)
    assert {(m.away, m.away_frozen, m.branch) for m in matches} == {(MAIN, False, Branch.MAIN_EXPLOITER_CURRENT)}


def test_main_exploiter_falls_back_to_variance_pfsp_over_the_main_agents_snapshots():
    players = league(MAIN, MAIN, LX)
    snaps, rates = ["main_agent_0@0", "main_agent_0@1", "main_agent_0@2"], [0.1, 0.5, 0.3]
    payoff = payoff_with({(MX, MAIN): 0.1, **{(MX, s): x for s, x in zip(snaps, rates)}})
    matches = sample(MX, players, payoff)
    assert {m.branch for m in matches} == {Branch.MAIN_EXPLOITER_CURRICULUM}
    assert_pfsp(matches, snaps, rates, Weighting.VARIANCE)  # never the league exploiter's snapshot


def test_main_exploiter_chooses_main_agents_uniformly():
    players = league(size=LeagueSize(main_agents=3))
    freq = frequencies(sample(MX, players, Payoff()), lambda m: m.away)
    for main in ("main_agent_0", "main_agent_1", "main_agent_2"):
        assert freq[main] == pytest.approx(1 / 3, abs=TOL)


def test_league_exploiter_is_linear_capped_pfsp_over_all_historical():
    players = league(MAIN, MX, LX)
    historical = ["main_agent_0@0", "main_agent_0@1", "main_exploiter_0@0", "league_exploiter_0@0"]
    rates = [0.1, 0.4, 0.7, 0.95]  # weights 0.5, 0.5, 0.3, 0.05
    payoff = payoff_with({(LX, h): x for h, x in zip(historical, rates)})
    matches = sample(LX, players, payoff)
    assert {(m.branch, m.away_frozen) for m in matches} == {(Branch.LEAGUE_EXPLOITER_PFSP, True)}
    assert_pfsp(matches, historical, rates, Weighting.LINEAR_CAPPED)


# ---- Other kinds ----

def test_fictitious_self_play_is_uniform_over_historical():
    players = league(MAIN, MAIN, MAIN, kind=LeagueKind.FICTITIOUS_SELF_PLAY)
    payoff = payoff_with({(MAIN, "main_agent_0@0"): 0.99, (MAIN, "main_agent_0@1"): 0.0})
    matches = sample(MAIN, players, payoff, LeagueKind.FICTITIOUS_SELF_PLAY)
    assert {(m.branch, m.away_frozen) for m in matches} == {(Branch.FICTITIOUS, True)}
    assert_pfsp(matches, [f"main_agent_0@{i}" for i in range(4)], [0.5] * 4, Weighting.UNIFORM)


def test_self_play_kind_always_plays_its_current_self():
    players = league(MAIN, kind=LeagueKind.SELF_PLAY, size=LeagueSize(main_agents=2, main_exploiters=0,
                                                                     league_exploiters=0))
    for name in (MAIN, MAIN_1):
        matches = sample(name, players, payoff_with({(name, name): 0.0}), LeagueKind.SELF_PLAY, n=100)
        assert set(matches) == {Match(home=name, away=name, away_frozen=False, branch=Branch.SELF_PLAY)}


# ---- Empty candidate sets, reproducibility, errors ----

def test_empty_candidate_sets_fall_back_to_a_current_main_agent():
    players = [Player(name=MAIN, role=Role.MAIN_AGENT), Player(name=MX, role=Role.MAIN_EXPLOITER),
               Player(name=LX, role=Role.LEAGUE_EXPLOITER)]  # no historical player at all
    payoff = payoff_with({(MAIN, MAIN): 0.0, (MX, MAIN): 0.0})
    for name, branch in ((MAIN, Branch.SELF_PLAY), (MX, Branch.MAIN_EXPLOITER_CURRENT), (LX, Branch.SELF_PLAY)):
        matches = sample(name, players, payoff, n=300)
        assert {(m.away, m.away_frozen, m.branch) for m in matches} == {(MAIN, False, branch)}
    matches = sample(MAIN, players[:1], payoff, LeagueKind.FICTITIOUS_SELF_PLAY, n=50)
    assert {(m.away, m.branch) for m in matches} == {(MAIN, Branch.SELF_PLAY)}


def test_same_seed_same_matches():
    players = league(MAIN, MX, LX)
    payoff = payoff_with({(MAIN, "main_exploiter_0@0"): 0.2, (MX, MAIN): 0.05})
    for name in (MAIN, MX, LX):
        assert sample(name, players, payoff, n=200, seed=5) == sample(name, players, payoff, n=200, seed=5)


def test_choose_opponent_errors():
    players, rng = league(), random.Random(0)
    with pytest.raises(ValueError, match="no player named"):
        choose_opponent("nobody", players, Payoff(), LeagueRules(), rng)
    with pytest.raises(ValueError, match="historical"):
        choose_opponent("main_agent_0@0", players, Payoff(), LeagueRules(), rng)
    with pytest.raises(ValueError, match="only play self-play has no main_exploiter"):
        choose_opponent(MX, players, Payoff(), LeagueRules(), rng, LeagueKind.SELF_PLAY)
    with pytest.raises(ValueError, match="no main agent"):
        choose_opponent(LX, [players[LX], players["main_agent_0@0"]], Payoff(), LeagueRules(), rng)
    with pytest.raises(ValueError, match="filed under"):
        choose_opponent(MAIN, {"x": players[MAIN]}, Payoff(), LeagueRules(), rng)
    with pytest.raises(ValueError, match="share a name"):
        choose_opponent(MAIN, [players[MAIN], players[MAIN]], Payoff(), LeagueRules(), rng)


# ---- Snapshot rules ----

RULES = LeagueRules(snapshot_min_steps=100, snapshot_timeout_steps=300)


def trained(players, name, steps):
    return add_steps(players, name, steps)


@pytest.mark.parametrize("steps, rate, due", [
    (99, 0.9, False),    # too early, however strong
    (100, 0.9, True),    # enough steps and beats everyone > 0.7
    (200, 0.7, False),   # 0.7 is not > 0.7
    (300, 0.0, False),   # at the timeout, not past it
    (301, 0.0, True),    # past the timeout
])
def test_main_agent_snapshot(steps, rate, due):
    players = trained(league(MX, LX), MAIN, steps)
    payoff = payoff_with({(MAIN, h): rate for h in ("main_agent_0@0", "main_exploiter_0@0", "league_exploiter_0@0")})
    assert snapshot_due(MAIN, players, payoff, RULES) is due


def test_main_agent_must_beat_every_historical_player():
    players = trained(league(MX), MAIN, 150)
    payoff = payoff_with({(MAIN, "main_agent_0@0"): 0.9})  # main_exploiter_0@0 unplayed: 0.5
    assert not snapshot_due(MAIN, players, payoff, RULES)


def test_main_exploiter_must_beat_the_current_main_agents_only():
    players = trained(league(MAIN, size=LeagueSize(main_agents=2)), MX, 150)
    strong = payoff_with({(MX, MAIN): 0.8, (MX, MAIN_1): 0.75, (MX, "main_agent_0@0"): 0.0})
    assert snapshot_due(MX, players, strong, RULES)
    assert not snapshot_due(MX, players, payoff_with({(MX, MAIN): 0.8}), RULES)  # main_agent_1 unplayed


def test_league_exploiter_must_beat_all_historical_players():
    players = trained(league(MAIN), LX, 150)
    beats_mains = payoff_with({(LX, MAIN): 1.0, (LX, "main_agent_0@0"): 0.9})
    assert not snapshot_due(LX, players, beats_mains, RULES)  # main_agent_0@1 unplayed
    beats_all = payoff_with({(LX, "main_agent_0@0"): 0.9, (LX, "main_agent_0@1"): 0.8})
    assert snapshot_due(LX, players, beats_all, RULES)


def test_snapshot_steps_count_from_the_last_snapshot():
    players = trained(league(), MAIN, 250)
    players, _ = snapshot(players, MAIN)
    players = trained(players, MAIN, 99)
    payoff = payoff_with({(MAIN, "main_agent_0@0"): 0.9, (MAIN, "main_agent_0@1"): 0.9})
    assert not snapshot_due(MAIN, players, payoff, RULES)
    assert snapshot_due(MAIN, trained(players, MAIN, 1), payoff, RULES)


def test_historical_never_due_and_empty_relevant_set_waits_for_timeout():
    players = league()
    assert not snapshot_due("main_agent_0@0", players, Payoff(), LeagueRules(snapshot_min_steps=0))
    alone = {LX: Player(name=LX, role=Role.LEAGUE_EXPLOITER, steps=200), MAIN: Player(name=MAIN, role=Role.MAIN_AGENT)}
    assert not snapshot_due(LX, alone, Payoff(), RULES)
    assert snapshot_due(LX, add_steps(alone, LX, 101), Payoff(), RULES)
    with pytest.raises(ValueError, match="no player named"):
        snapshot_due("nobody", players, Payoff(), RULES)


# ---- Reset rules ----

def test_reset_rules():
    players, rules = league(), LeagueRules()
    rng, untouched = random.Random(3), random.Random(3)
    assert not any(reset_after_snapshot(players[MAIN], rules, rng) for _ in range(100))
    assert all(reset_after_snapshot(players[MX], rules, rng) for _ in range(100))
    assert rng.random() == untouched.random()  # neither drew from the rng
    share = sum(reset_after_snapshot(players[LX], rules, rng) for _ in range(N)) / N
    assert share == pytest.approx(0.25, abs=TOL)
    assert not any(reset_after_snapshot(players[LX], dataclasses.replace(rules, league_exploiter_reset_probability=0.0),
                                        rng) for _ in range(100))
    with pytest.raises(ValueError, match="historical"):
        reset_after_snapshot(players["main_agent_0@0"], rules, rng)


# ---- State transitions ----

@pytest.mark.parametrize("kind, size, learning", [
    (LeagueKind.ALPHASTAR, None, [MAIN, MX, LX]),
    (LeagueKind.ALPHASTAR, LeagueSize(main_agents=2, main_exploiters=2, league_exploiters=3),
     [MAIN, MAIN_1, MX, "main_exploiter_1", LX, "league_exploiter_1", "league_exploiter_2"]),
    (LeagueKind.SELF_PLAY, None, [MAIN]),
    (LeagueKind.FICTITIOUS_SELF_PLAY, LeagueSize(main_agents=2, main_exploiters=0, league_exploiters=0),
     [MAIN, MAIN_1]),
])
def test_initial_players(kind, size, learning):
    players = initial_players(kind, size)
    mains = [n for n in learning if n.startswith("main_agent")]
    assert list(players) == learning + [f"{m}@0" for m in mains]
    for name in learning:
        player = players[name]
        assert player.learning and (player.steps, player.resets) == (0, 0)
        assert player.snapshots == (1 if name in mains else 0)
    for main in mains:
        assert players[f"{main}@0"] == Player(name=f"{main}@0", role=Role.HISTORICAL, parent=main,
                                              parent_role=Role.MAIN_AGENT)


def test_league_size_validation():
    LeagueSize.for_kind(LeagueKind.SELF_PLAY).check(LeagueKind.SELF_PLAY)
    assert LeagueSize.for_kind(LeagueKind.ALPHASTAR) == LeagueSize()
    with pytest.raises(ValueError, match="main agents only"):
        initial_players(LeagueKind.SELF_PLAY, LeagueSize())
    with pytest.raises(ValueError, match="main agents only"):
        initial_players(LeagueKind.SELF_PLAY, LeagueSize(main_exploiters=0, league_exploiters=1))
    with pytest.raises(ValueError, match="main agents only"):
        initial_players(LeagueKind.ALPHASTAR, matchmaking=Matchmaking(pfsp=0.0, verification=0.0))
    initial_players(LeagueKind.FICTITIOUS_SELF_PLAY, LeagueSize(main_exploiters=0, league_exploiters=1))  # they meet
    with pytest.raises(ValueError, match="at least one main agent"):
        LeagueSize(main_agents=0)
    with pytest.raises(ValueError, match="non-negative"):
        LeagueSize(main_exploiters=-1)


def test_snapshot_adds_a_frozen_copy_and_leaves_the_input_alone():
    players = add_steps(league(), MX, 500)
    before = dict(players)
    after, frozen = snapshot(players, MX)
    assert players == before
    assert frozen == Player(name="main_exploiter_0@0", role=Role.HISTORICAL, parent=MX,
                            parent_role=Role.MAIN_EXPLOITER, steps=500)
    assert list(after) == list(players) + [frozen.name] and after[frozen.name] == frozen
    assert (after[MX].snapshots, after[MX].steps_at_snapshot, after[MX].steps_since_snapshot) == (1, 500, 0)
    after, again = snapshot(add_steps(after, MX, 10), MX)
    assert again.name == "main_exploiter_0@1" and again.steps == 510
    with pytest.raises(ValueError, match="historical"):
        snapshot(after, "main_exploiter_0@0")
    with pytest.raises(ValueError, match="exists already"):
        snapshot({**players, "main_exploiter_0@0": frozen}, MX)


def test_reset_and_add_steps():
    players = add_steps(league(), LX, 40)
    players = add_steps(players, LX, 2)
    assert players[LX].steps == 42
    after = reset(players, LX)
    assert (after[LX].resets, after[LX].steps, after[LX].steps_at_snapshot) == (1, 42, 42)
    assert players[LX].resets == 0
    with pytest.raises(ValueError, match="non-negative"):
        add_steps(players, LX, -1)
    with pytest.raises(ValueError, match="historical"):
        reset(players, "main_agent_0@0")
    with pytest.raises(ValueError, match="no player named"):
        add_steps(players, "nobody", 1)


def test_a_league_cycle_through_the_rules():
    """Train, snapshot when due, reset by role: the whole bookkeeping loop of one small league."""
    rules, rng = LeagueRules(snapshot_min_steps=10, snapshot_timeout_steps=20), random.Random(0)
    players, payoff = initial_players(LeagueKind.ALPHASTAR), Payoff()
    for _ in range(40):
        for name in (MAIN, MX, LX):
            players = add_steps(players, name, 7)
            if snapshot_due(name, players, payoff, rules):
                players, _ = snapshot(players, name)
                if reset_after_snapshot(players[name], rules, rng):
                    players = reset(players, name)
    assert players[MAIN].resets == 0
    assert players[MX].resets == players[MX].snapshots > 0
    assert 0 <= players[LX].resets <= players[LX].snapshots
    assert all(players[n].parent in (MAIN, MX, LX) for n in players if not players[n].learning)


# ---- Rules validation ----

@pytest.mark.parametrize("changes, message", [
    ({"snapshot_min_steps": 10, "snapshot_timeout_steps": 9}, "at least snapshot_min_steps"),
    ({"snapshot_min_steps": -1}, "non-negative"),
    ({"league_exploiter_reset_probability": -0.1}, "league_exploiter_reset_probability"),
    ({"snapshot_win_rate": 2.0}, "snapshot_win_rate"),
])
def test_rules_validation(changes, message):
    with pytest.raises(ValueError, match=message):
        LeagueRules(**changes)


def test_rules_defaults_are_alphastars():
    rules, mix = LeagueRules(), Matchmaking()
    assert (mix.pfsp, mix.verification, mix.self_play, mix.fsp) == (0.5, 0.15, 0.35, 0.0)
    assert (mix.pfsp_weighting, mix.self_play_rule) == (Weighting.SQUARED, "curriculum")
    assert rules.snapshot_timeout_steps == 2 * rules.snapshot_min_steps
    assert (rules.snapshot_win_rate, rules.selfplay_min_win_rate, rules.exploiter_verification_win_rate,
            rules.forgetting_win_rate, rules.main_exploiter_min_win_rate,
            rules.league_exploiter_reset_probability) == (0.7, 0.3, 0.3, 0.7, 0.1, 0.25)
