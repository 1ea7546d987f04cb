"""Hyper-parameters defined once (issue 24, item 3): the algorithm is an Enum, TrainConfig's JSON is what it was,
and the league's learner settings are arena train's with two defaults of its own."""

from __future__ import annotations

import dataclasses
import json

import pytest

from agents.learn.config import ALGORITHMS, TRAIN_DEFAULTS, Algorithm, LearningSettings, TrainConfig
from league.config import ConfigError, LeagueConfig, LearnerSettings

OLD_CONFIG_JSON = {  # a run's config.json as written before the Enum (the algorithm as a plain string)
    "scenario": "MoveToBeacon", "policy": "fullyconv", "algo": "vtrace", "num_envs": 32, "unroll": 32, "epochs": 2,
    "minibatches": 4, "learning_rate": 3e-4, "gamma": 0.99, "gae_lambda": 0.95, "clip": 0.2, "value_coef": 0.5,
    "entropy_coef": 0.01, "max_grad_norm": 0.5, "actor_lag": 2, "screen_size": 32, "minimap_size": 32,
    "step_mul": None, "opponent": None, "kl_to": None, "kl_coef": 0.0, "init": None, "warm_start": None,
    "warm_start_episodes": 32, "warm_start_epochs": 6, "critic_warmup": 0, "seed": 0, "device": "cpu",
    "mixed_precision": False, "action_space": "full", "see_time": True, "stagger": True,
    "normalize_advantages": True, "reward_scale": 1.0}


def test_the_algorithm_is_an_enum_read_from_its_name():
    assert TrainConfig(scenario="MoveToBeacon", algo="vtrace").algo is Algorithm.VTRACE
    assert TrainConfig(scenario="MoveToBeacon").algo is Algorithm.PPO
    assert ALGORITHMS == ("ppo", "vtrace")
    with pytest.raises(ValueError, match="algo must be one of"):
        TrainConfig(scenario="MoveToBeacon", algo="a3c")


def test_an_old_config_json_loads_and_is_written_the_same():
    config = TrainConfig(**OLD_CONFIG_JSON)
    assert config.algo is Algorithm.VTRACE
    # What --resume compares; fields added since are written with their defaults, which --resume fills in for the
    # old file (tests/agents/test_trainer.py).
    added = {"relative_positions": False, "selection_summary": False}
    assert json.loads(json.dumps(dataclasses.asdict(config))) == {**OLD_CONFIG_JSON, **added}


def test_the_league_learner_is_arena_trains_but_for_unroll_and_minibatches():
    league, train = LearnerSettings(), LearningSettings()
    differ = {f.name for f in dataclasses.fields(LearningSettings) if getattr(league, f.name) != getattr(train, f.name)}
    assert differ == {"unroll", "minibatches"}
    assert all(getattr(train, f.name) == TRAIN_DEFAULTS[f.name] for f in dataclasses.fields(LearningSettings))
    run = LeagueConfig().train_config(seed=3)
    assert (run.unroll, run.minibatches, run.algo, run.seed) == (16, 2, Algorithm.PPO, 3)
    stored = LeagueConfig().to_dict()["learner"]
    assert json.loads(json.dumps(stored))["algo"] == "ppo"
    assert LeagueConfig.from_dict({"learner": {"algo": "vtrace"}}).learner.algo is Algorithm.VTRACE
    with pytest.raises(ConfigError, match="learner.algo must be one of"):
        LeagueConfig.from_dict({"learner": {"algo": "a3c"}})
