"""The learner: PPO and V-trace smoke runs that move the loss, checkpoints that resume bit for bit, training against a
fixed opponent, the `arena train` command with evaluation and recorded explanations, and behaviour cloning."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agents.learn.tensorboard import read_scalars
from agents.learn.config import TrainConfig
from agents.learn.trainer import Trainer
from agents.policies.checkpoint import load_policy
from agents.rollout import record_games
from arena.replay.format import read_replay
from league.cli import main

SMALL = dict(num_envs=8, unroll=16, minibatches=2, screen_size=16, minimap_size=16)


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.policy.state_dict().items()}


def test_ppo_learns_from_its_rollouts_and_logs(tmp_path):
    trainer = Trainer(TrainConfig(scenario="MoveToBeacon", **SMALL), tmp_path)
    before = _weights(trainer)
    progress = trainer.train(steps=3 * 8 * 16, checkpoint_every=2)
    assert progress.updates == 3 and progress.agent_steps == 384
    after = _weights(trainer)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["update"] for line in lines] == [1, 2, 3]
    assert all(np.isfinite(line["total_loss"]) for line in lines)
    assert len({round(line["total_loss"], 6) for line in lines}) > 1  # the loss moves
    events = next((tmp_path / "tensorboard").iterdir())
    tags = {tag for tag, _, _ in read_scalars(events)}
    assert {"train/total_loss", "train/policy_loss", "train/value_loss", "train/steps_per_second"} <= tags
    latest = json.loads((tmp_path / "checkpoints" / "latest.json").read_text())["checkpoint"]
    assert latest == "update_000003"
    trainer.train(steps=6 * 8 * 16, checkpoint_every=1)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith("update_"))
    assert kept == ["update_000004", "update_000005", "update_000006"]  # the newest three
    assert trainer.save_checkpoint().name == "update_000006"  # saving the same update again changes nothing


def test_a_resumed_run_continues_bit_for_bit(tmp_path):
    config = TrainConfig(scenario="MoveToBeacon", seed=3, **SMALL)
    straight = Trainer(config, tmp_path / "straight")
    straight.train(steps=4 * 128, checkpoint_every=100)

    first = Trainer(config, tmp_path / "stopped")
    first.train(steps=2 * 128, checkpoint_every=100)  # checkpoints at the end: update 2
    del first
    resumed = Trainer(config, tmp_path / "stopped", resume=True)
    assert resumed.progress.updates == 2
    resumed.train(steps=4 * 128, checkpoint_every=100)
    a, b = _weights(straight), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.progress.recent_scores == resumed.progress.recent_scores


def test_resuming_needs_the_same_configuration_and_a_new_run_a_new_folder(tmp_path):
    config = TrainConfig(scenario="MoveToBeacon", **SMALL)
    Trainer(config, tmp_path).train(steps=128)
    with pytest.raises(FileExistsError, match="already holds a run"):
        Trainer(config, tmp_path)
    with pytest.raises(ValueError, match="differs in \\['learning_rate'\\]"):
        Trainer(TrainConfig(scenario="MoveToBeacon", learning_rate=1e-3, **SMALL), tmp_path, resume=True)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        Trainer(config, tmp_path / "empty", resume=True)
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["relative_positions"]  # a run saved before the option existed resumes with its default
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert Trainer(config, tmp_path, resume=True).progress.updates == 1
    with pytest.raises(ValueError, match="relative_positions is an option of the entity policy, not of 'fullyconv'"):
        TrainConfig(scenario="MoveToBeacon", relative_positions=True, **SMALL)


def test_vtrace_learns_with_a_lagging_actor(tmp_path):
    trainer = Trainer(TrainConfig(scenario="MoveToBeacon", algo="vtrace", actor_lag=2, **SMALL), tmp_path)
    stats = [trainer.update() for _ in range(3)]
    assert all(np.isfinite(s["total_loss"]) and "mean_rho" in s for s in stats)
    # After an odd number of updates the actor lags the learner; after the refresh they were equal.
    lagging = any(not torch.equal(p, q) for p, q in zip(trainer.policy.parameters(), trainer.actor.parameters()))
    assert lagging


def test_a_two_player_scenario_trains_against_a_fixed_opponent(tmp_path):
    trainer = Trainer(TrainConfig(scenario="MarineMirror", opponent="scripted", **SMALL), tmp_path)
    trainer.train(steps=2 * 128)
    assert trainer.progress.episodes > 0  # marines fight quickly
    assert set(trainer.progress.recent_scores) <= {-1.0, 0.0, 1.0}
    with pytest.raises(ValueError, match="give an opponent"):
        Trainer(TrainConfig(scenario="MarineMirror", **SMALL), tmp_path / "alone")


def test_arena_train_saves_evaluates_and_records_explanations(tmp_path, capsys):
    out, replays = tmp_path / "run", tmp_path / "replays"
    assert main(["train", "MarineMirror", "--opponent", "scripted", "--steps", "256", "--num-envs", "8",
                 "--unroll", "16", "--minibatches", "2", "--screen-size", "16", "--out", str(out),
                 "--eval-episodes", "2", "--replay-dir", str(replays), "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["agent_steps"] == 256 and summary["eval_episodes"] == 2
    policy = load_policy(out / "policy")
    assert policy.config.screen_size == 16
    files = sorted(replays.iterdir())
    assert len(files) == 2
    replay = read_replay(files[0])
    assert {"value", "top_functions", "top_probs"} <= set(replay.explanations)
    assert np.isfinite(replay.explanations["value"][:-1, 0]).all()
    assert main(["train", "MarineMirror", "--opponent", "scripted", "--steps", "256", "--out", str(out),
                 "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_behaviour_cloning_learns_the_recorded_actions(tmp_path, capsys):
    replays = tmp_path / "replays"
    record_games("MarineMirror", ["scripted", "scripted"], replays, games=2, seed=0)
    out = tmp_path / "bc"
    assert main(["train", "bc", "--replays", str(replays), "--epochs", "6", "--out", str(out), "--quiet",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    history = json.loads((out / "bc.json").read_text())["history"]
    assert summary["examples"] > 20
    assert history[-1]["loss"] < history[0]["loss"]
    assert load_policy(out / "policy").config.screen_size == 64  # the replays' interface
    assert main(["train", "bc", "--replays", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert "no replays" in capsys.readouterr().err


def test_arena_play_plays_a_saved_policy_at_its_own_screen_size(tmp_path, capsys):
    from agents.policies import make_policy, save_policy
    from arena.interface.view import InterfaceFormat

    save_policy(make_policy("fullyconv", InterfaceFormat(screen_size=16, minimap_size=16)), tmp_path / "tiny")
    assert main(["play", "MarineMirror", "--agents", f"policy:{tmp_path / 'tiny.json'}", "scripted",
                 "--episodes", "2", "--quiet", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["outcomes"]) == 2
    assert main(["play", "MoveToBeacon", "--agent", f"policy:{tmp_path / 'missing.json'}", "--quiet"]) == 2
    assert "cannot load the policy" in capsys.readouterr().err
