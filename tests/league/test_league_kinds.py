"""League kinds as switches (AlphaStar's ablation): each preset's opponent distribution, switches that override a
preset, leagues saved before the switches, refused values, and one short league of a new kind from a league.toml.

Distributions are sampled from a seeded rng and compared within about four standard deviations.
"""

from __future__ import annotations

import collections
import hashlib
import json
import random
import sqlite3

import pytest

from league.cli import main
from league.config import ConfigError, LeagueConfig, load_config
from league.matchmaking import (Branch, LeagueKind, LeagueRules, LeagueSize, Matchmaking, SelfPlayRule,
                                choose_opponent, initial_players, snapshot)
from league.payoff import PairRecord, Payoff
from league.pfsp import Weighting, pfsp_probabilities
from league.runner import League
from league.store import LeagueStore

N = 20_000
TOL = 4 * (0.25 / N) ** 0.5
MAIN, MX, LX = "main_agent_0", "main_exploiter_0", "league_exploiter_0"
SNAPS = [f"{MAIN}@{i}" for i in range(4)]
RATES = [0.9, 0.6, 0.3, 0.1]  # main_agent_0 against its snapshots: @3 is the hardest

OLD_SELF_PLAY_CONFIG = json.loads(
    '{"scenario": "MarineMirror-v1", "kind": "self_play", "size": {"main_agents": 1, "main_exploiters": 0, '
    '"league_exploiters": 0}, "rules": {"snapshot_min_steps": 4800, "snapshot_timeout_steps": 9600, '
    '"snapshot_win_rate": 0.7, "pfsp_probability": 0.5, "verification_probability": 0.15, '
    '"selfplay_min_win_rate": 0.3, "exploiter_verification_win_rate": 0.3, "forgetting_win_rate": 0.7, '
    '"main_exploiter_min_win_rate": 0.1, "league_exploiter_reset_probability": 0.25}, "learner": {"algo": "ppo", '
    '"unroll": 8, "epochs": 1, "minibatches": 1, "learning_rate": 0.0003, "gamma": 0.99, "gae_lambda": 0.95, '
    '"clip": 0.2, "value_coef": 0.5, "entropy_coef": 0.01, "max_grad_norm": 0.5, "kl_coef": 0.0, '
    '"mixed_precision": false}, "policy": "entity", "action_space": "move", "screen_size": 16, "games_per_match": 2, '
    '"payoff_decay": 0.99, "replay_every": 5, "eval_every": 4, "eval_games": 2, "init": null, "seed": 0, '
    '"device": "cpu"}')
"""`LeagueConfig.to_dict()` of a self-play league, as the code before `[matchmaking]` saved it (commit 3e8d652)."""
OLD_ALPHASTAR_CONFIG = {**OLD_SELF_PLAY_CONFIG, "kind": "alphastar",
                        "size": {"main_agents": 1, "main_exploiters": 1, "league_exploiters": 1}}

TINY_TOML = """scenario = "MarineMirror"
games_per_match = 2
screen_size = 16
eval_every = 0
replay_every = 0

[learner]
unroll = 8
minibatches = 1
epochs = 1
"""


def payoff_with(rates: dict) -> Payoff:
    return Payoff.from_records((home, away, PairRecord(games=10.0, wins=10.0 * x, losses=10.0 * (1 - x)))
                               for (home, away), x in rates.items())


def main_agent_league(kind: LeagueKind) -> dict:
    """A `kind` league whose main agent has four snapshots (@0..@3)."""
    players = initial_players(kind)
    for _ in range(3):
        players, _ = snapshot(players, MAIN)
    return players


def sample(players, payoff, matchmaking, name=MAIN, n=N, seed=0):
    rng = random.Random(seed)
    return [choose_opponent(name, players, payoff, LeagueRules(), rng, matchmaking) for _ in range(n)]


def frequencies(matches, key) -> collections.Counter:
    counts = collections.Counter(key(m) for m in matches)
    return collections.Counter({k: v / len(matches) for k, v in counts.items()})


def assert_drawn(matches, candidates, probabilities):
    """The aways of `matches` are drawn from `candidates` with `probabilities` (tolerance for len(matches))."""
    freq = frequencies(matches, lambda m: m.away)
    assert set(freq) <= set(candidates)
    tol = 4 * (0.25 / len(matches)) ** 0.5
    for candidate, probability in zip(candidates, probabilities):
        assert freq[candidate] == pytest.approx(probability, abs=tol), candidate


# ---- The presets ----

ABLATION = [  # kind, (self_play, pfsp, fsp, verification, pfsp_weighting, self_play_rule), exploiters
    (LeagueKind.FICTITIOUS_SELF_PLAY, (0, 0, 1, 0, "squared", "plain"), (0, 0)),
    (LeagueKind.PFSP, (0, 1, 0, 0, "squared", "plain"), (0, 0)),
    (LeagueKind.SELF_PLAY, (1, 0, 0, 0, "squared", "plain"), (0, 0)),
    (LeagueKind.PFSP_SELF_PLAY, (0.35, 0.5, 0, 0.15, "squared", "curriculum"), (0, 0)),
    (LeagueKind.PFSP_SELF_PLAY_MAIN_EXPLOITERS, (0.35, 0.5, 0, 0.15, "squared", "curriculum"), (1, 0)),
    (LeagueKind.ALPHASTAR, (0.35, 0.5, 0, 0.15, "squared", "curriculum"), (1, 1)),
]


def test_the_six_rungs_of_alphastars_ablation_are_presets_in_its_order():
    assert [kind for kind, _, _ in ABLATION] == list(LeagueKind)
    for kind, switches, exploiters in ABLATION:
        mix = Matchmaking.for_kind(kind)
        assert (mix.self_play, mix.pfsp, mix.fsp, mix.verification, mix.pfsp_weighting.value,
                mix.self_play_rule.value) == switches, kind
        size = LeagueSize.for_kind(kind)
        assert (size.main_agents, size.main_exploiters, size.league_exploiters) == (1, *exploiters), kind
        config = LeagueConfig(kind=kind)
        assert config.league_matchmaking == mix and config.league_size == size
        assert LeagueConfig.from_dict({"kind": kind.value}).league_matchmaking == mix


def _fingerprint(kind: LeagueKind) -> str:
    """A hash of 6,000 matches chosen in a `kind` league (two main agents, three snapshots of every learner)."""
    players = initial_players(kind, LeagueSize.for_kind(kind, main_agents=2))
    learning = [name for name, player in players.items() if player.learning]
    for name in learning * 3:
        players, _ = snapshot(players, name)
    gen = random.Random(7)
    payoff = Payoff.from_records((home, away, PairRecord(games=10.0, wins=10.0 * x, losses=10.0 * (1 - x)))
                                 for home in learning for away in players for x in [round(gen.random(), 1)])
    matches = []
    for seed in range(50):
        rng = random.Random(seed)
        for name in learning:
            for _ in range(20):
                match = choose_opponent(name, players, payoff, LeagueRules(), rng, kind)
                matches.append((match.home, match.away, match.branch.value))
    return hashlib.sha256(repr(matches).encode()).hexdigest()[:16]


@pytest.mark.parametrize("kind, fingerprint", [
    (LeagueKind.ALPHASTAR, "d01fb9f151d83b82"),
    (LeagueKind.SELF_PLAY, "0a9eea98b2ee0c69"),
    (LeagueKind.FICTITIOUS_SELF_PLAY, "c0e1c4ef3ab0b30b"),
])
def test_the_kinds_from_before_the_switches_choose_exactly_the_same_matches(kind, fingerprint):
    """Same seeds, same matches as the code before `Matchmaking` (3e8d652), draw for draw."""
    assert _fingerprint(kind) == fingerprint


def test_fsp_draws_the_snapshots_uniformly_whatever_the_win_rates():
    players = main_agent_league(LeagueKind.FICTITIOUS_SELF_PLAY)
    matches = sample(players, payoff_with({(MAIN, s): x for s, x in zip(SNAPS, RATES)}),
                     LeagueKind.FICTITIOUS_SELF_PLAY)
    assert {(m.branch, m.away_frozen) for m in matches} == {(Branch.FICTITIOUS, True)}
    assert_drawn(matches, SNAPS, [0.25] * 4)


def test_pfsp_draws_harder_snapshots_more_often_by_the_squared_weighting():
    players = main_agent_league(LeagueKind.PFSP)
    matches = sample(players, payoff_with({(MAIN, s): x for s, x in zip(SNAPS, RATES)}), LeagueKind.PFSP)
    assert {(m.branch, m.away_frozen) for m in matches} == {(Branch.PFSP, True)}
    assert_drawn(matches, SNAPS, pfsp_probabilities(RATES, Weighting.SQUARED))
    freq = frequencies(matches, lambda m: m.away)
    assert freq[SNAPS[0]] < freq[SNAPS[1]] < freq[SNAPS[2]] < freq[SNAPS[3]]


def test_self_play_only_ever_plays_the_agent_itself():
    players = main_agent_league(LeagueKind.SELF_PLAY)
    payoff = payoff_with({(MAIN, MAIN): 0.0, **{(MAIN, s): x for s, x in zip(SNAPS, RATES)}})  # no curriculum
    matches = sample(players, payoff, LeagueKind.SELF_PLAY, n=500)
    assert {(m.away, m.away_frozen, m.branch) for m in matches} == {(MAIN, False, Branch.SELF_PLAY)}


@pytest.mark.parametrize("kind", [LeagueKind.PFSP_SELF_PLAY, LeagueKind.PFSP_SELF_PLAY_MAIN_EXPLOITERS,
                                  LeagueKind.ALPHASTAR])
def test_pfsp_self_play_kinds_mix_self_play_pfsp_and_verification_as_alphastars_main_agent(kind):
    players = main_agent_league(kind)
    rates = [0.2, 0.9, 0.8, 0.7]  # forgetting: @0 is lost to again (the falling suffix @2, @3 is dropped)
    payoff = payoff_with({(MAIN, MAIN): 0.5, **{(MAIN, s): x for s, x in zip(SNAPS, rates)}})
    matches = sample(players, payoff, kind)
    freq = frequencies(matches, lambda m: m.branch)
    assert freq[Branch.PFSP] == pytest.approx(0.5, abs=TOL)
    assert freq[Branch.VERIFICATION_FORGETTING] == pytest.approx(0.15, abs=TOL)
    assert freq[Branch.SELF_PLAY] == pytest.approx(0.35, abs=TOL)
    assert {m.away for m in matches if m.branch is Branch.SELF_PLAY} == {MAIN}
    learning = sorted(name for name, player in players.items() if player.learning)
    assert learning == {LeagueKind.PFSP_SELF_PLAY: [MAIN], LeagueKind.PFSP_SELF_PLAY_MAIN_EXPLOITERS: [MAIN, MX],
                        LeagueKind.ALPHASTAR: [LX, MAIN, MX]}[kind]
    if MX in players:
        assert {m.branch for m in sample(players, Payoff(), kind, name=MX, n=100)} == {
            Branch.MAIN_EXPLOITER_CURRENT}


# ---- Switches override presets ----

def test_switches_in_league_toml_override_the_kinds(tmp_path):
    path = tmp_path / "league.toml"
    path.write_text('kind = "pfsp"\n[matchmaking]\nfsp = 1\npfsp_weighting = "variance"\n')
    mix = load_config(path).league_matchmaking
    assert mix == Matchmaking(self_play=0, pfsp=1, fsp=1, verification=0, pfsp_weighting=Weighting.VARIANCE,
                              self_play_rule=SelfPlayRule.PLAIN)
    players = main_agent_league(LeagueKind.PFSP)
    matches = sample(players, payoff_with({(MAIN, s): x for s, x in zip(SNAPS, RATES)}), mix)
    assert frequencies(matches, lambda m: m.branch) == pytest.approx({Branch.PFSP: 0.5, Branch.FICTITIOUS: 0.5},
                                                                      abs=TOL)
    variance = pfsp_probabilities(RATES, Weighting.VARIANCE)
    assert_drawn([m for m in matches if m.branch is Branch.PFSP], SNAPS, variance)
    assert_drawn([m for m in matches if m.branch is Branch.FICTITIOUS], SNAPS, [0.25] * 4)

    path.write_text('kind = "self_play"\n[size]\nmain_agents = 2\n')  # the rest of [size] is the kind's
    assert load_config(path).league_size == LeagueSize(main_agents=2, main_exploiters=0, league_exploiters=0)
    path.write_text('kind = "pfsp"\n[size]\nmain_exploiters = 2\n')  # the main agent meets their snapshots
    assert load_config(path).league_size == LeagueSize(main_agents=1, main_exploiters=2, league_exploiters=0)
    path.write_text('kind = "alphastar"\n[matchmaking]\nverification = 0\nself_play_rule = "plain"\n')
    mix = load_config(path).league_matchmaking
    assert (mix.self_play, mix.pfsp, mix.verification, mix.self_play_rule) == (0.35, 0.5, 0, SelfPlayRule.PLAIN)
    config = load_config(path)
    saved = LeagueConfig.from_dict(config.to_dict())  # what a league folder keeps reads back the same
    assert (saved.league_matchmaking, saved.league_size) == (config.league_matchmaking, config.league_size)


# ---- Leagues saved before the switches ----

def test_a_self_play_league_saved_before_the_switches_loads_as_self_play():
    config = LeagueConfig.from_dict(OLD_SELF_PLAY_CONFIG)
    assert config.kind is LeagueKind.SELF_PLAY and config.league_matchmaking == Matchmaking.for_kind(config.kind)
    assert config.league_size == LeagueSize(main_exploiters=0, league_exploiters=0)
    assert "pfsp_probability" not in config.to_dict()["rules"]  # it never applied to self-play
    fsp = LeagueConfig.from_dict({**OLD_SELF_PLAY_CONFIG, "kind": "fictitious_self_play"})
    assert fsp.league_matchmaking == Matchmaking.for_kind(LeagueKind.FICTITIOUS_SELF_PLAY)


def test_an_alphastar_league_saved_before_the_switches_keeps_its_mix_from_rules():
    config = LeagueConfig.from_dict(OLD_ALPHASTAR_CONFIG)
    assert config.league_matchmaking == Matchmaking() == Matchmaking.for_kind(LeagueKind.ALPHASTAR)
    assert config.league_rules == LeagueRules(snapshot_min_steps=4800, snapshot_timeout_steps=9600)
    changed = {**OLD_ALPHASTAR_CONFIG, "rules": {**OLD_ALPHASTAR_CONFIG["rules"], "pfsp_probability": 0.6}}
    mix = LeagueConfig.from_dict(changed).league_matchmaking
    assert (mix.pfsp, mix.verification, mix.self_play, mix.fsp) == pytest.approx((0.6, 0.15, 0.25, 0.0))
    assert mix.self_play_rule is SelfPlayRule.CURRICULUM


def test_an_old_alphastar_league_folder_resumes_with_the_same_matchmaking(tmp_path):
    folder = tmp_path / "league"
    config = LeagueConfig.from_dict(OLD_ALPHASTAR_CONFIG)
    League.create(folder, config).close()
    connection = sqlite3.connect(folder / "league.sqlite")  # the folder as the code before the switches left it
    with connection:
        connection.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(OLD_ALPHASTAR_CONFIG),))
    connection.close()
    with LeagueStore.open(folder, read_only=True) as store:
        assert "matchmaking" not in store.config() and "pfsp_probability" in store.config()["rules"]
    league = League.open(folder)
    try:
        assert league.config == config and league.config.league_matchmaking == Matchmaking()
        job = league.next_job()
        rng = random.Random(config.seed * 1_000_003)
        expected = choose_opponent(job.home, league.players, league.payoff, league.rules, rng, LeagueKind.ALPHASTAR)
        assert (job.away, job.branch) == (expected.away, expected.branch.value)
    finally:
        league.close()


# ---- Refused values ----

@pytest.mark.parametrize("toml, message", [
    ('[matchmaking]\nself_play = -1\n', r"\[matchmaking\]: self_play is a weight: a non-negative number, got -1"),
    ('[matchmaking]\npfsp = "lots"\n', r"\[matchmaking\]: pfsp is a weight"),
    ('[matchmaking]\nfsp = nan\n', r"\[matchmaking\]: fsp is a weight"),
    ('kind = "self_play"\n[matchmaking]\nself_play = 0\n', r"\[matchmaking\]: the main agents need a branch"),
    ('[matchmaking]\nself_play = 0\npfsp = 0\nverification = 0\n', "one of pfsp, fsp, verification, self_play"),
    ('[matchmaking]\npfsp_weighting = "hard"\n', r"pfsp_weighting must be one of squared, .*got 'hard'"),
    ('[matchmaking]\npfsp_weighting = "cubed"\n', r"pfsp_weighting must be one of"),
    ('[matchmaking]\nself_play_rule = "mirror"\n', r"self_play_rule must be one of plain, curriculum, got 'mirror'"),
    ('[matchmaking]\nexploiters = 2\n', r"\[matchmaking\]: unknown setting exploiters"),
    ('matchmaking = 3\n', r"\[matchmaking\]: expected a table"),
    ('kind = "pfsp_plus"\n', r"kind must be one of fictitious_self_play, pfsp, self_play, pfsp_self_play, "),
    ('kind = "self_play"\n[size]\nmain_exploiters = 1\n', r"size: .*main agents only"),
    ('[matchmaking]\npfsp = 0\nverification = 0\n', r"size: .*main agents only"),  # alphastar's exploiters
    ('kind = "pfsp"\n[rules]\npfsp_probability = 0.5\n', r"\[rules\]: pfsp_probability .*\[matchmaking\] pfsp"),
    ('[rules]\npfsp_probability = 0.5\n[matchmaking]\npfsp = 1\n', r"\[rules\]: .*give it in \[matchmaking\] only"),
    ('[rules]\npfsp_probability = 1.5\n', r"\[rules\]: pfsp_probability must lie in \[0, 1\]"),
    ('[rules]\npfsp_probability = 0.9\nverification_probability = 0.2\n', "must not exceed 1"),
])
def test_bad_switches_are_refused_naming_the_field(tmp_path, toml, message):
    path = tmp_path / "league.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message) as error:
        load_config(path)
    assert str(path) in str(error.value)


# ---- End to end ----

def test_arena_league_start_runs_a_kind_from_league_toml(tmp_path, capsys):
    config, out = tmp_path / "league.toml", tmp_path / "league"
    config.write_text('kind = "pfsp_self_play_main_exploiters"\n' + TINY_TOML + "\n[matchmaking]\nfsp = 0.5\n")
    assert main(["league", "start", "--config", str(config), "--out", str(out), "--matches", "1", "--quiet"]) == 0
    capsys.readouterr()
    with LeagueStore.open(out, read_only=True) as store:
        saved = LeagueConfig.from_dict(store.config())
        assert saved.kind is LeagueKind.PFSP_SELF_PLAY_MAIN_EXPLOITERS
        assert saved.league_matchmaking == Matchmaking(fsp=0.5)
        assert sorted(name for name, p in store.players().items() if p.learning) == [MAIN, MX]
        assert len(store.matches()) >= 1 and int(store.stat("matches", 0)) == 1
