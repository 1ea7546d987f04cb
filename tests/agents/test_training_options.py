"""The options that make learning work on small machines: action spaces, the time a policy sees, staggered starts,
time limits as truncations through collection, presets and the thread count."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

import arena
from agents.learn.learner import SeatStep, collect
from agents.learn.presets import PRESETS, preset_for
from agents.learn.config import TrainConfig
from agents.learn.trainer import Seat, Trainer, new_policy, opponent_agent
from agents.policies import make_policy
from agents.policies.action_space import ACTION_SPACES, action_space
from agents.policies.base import PolicyAgent
from agents.policies.checkpoint import load_policy, save_policy
from agents.policies.distribution import ARGUMENT_FUNCTIONS
from arena.env import StepType, staggered_start
from arena.interface.functions import FunctionId
from arena.interface.view import InterfaceFormat
from league.cli import main

FORMAT = InterfaceFormat(screen_size=16, minimap_size=16)
SMALL = dict(num_envs=8, unroll=16, minibatches=2, screen_size=16, minimap_size=16)


def _selected_observation(num_envs: int = 16) -> dict[str, torch.Tensor]:
    """MoveToBeacon after select_army: unit commands, the camera and the minimap are all available."""
    env = arena.make("MoveToBeacon", num_envs=num_envs, interface=FORMAT)
    env.reset(seed=0)
    obs, *_ = env.step({"function": torch.full((num_envs,), int(FunctionId.select_army))})
    assert obs["available_actions"][:, int(FunctionId.move_camera)].all()
    return obs


@pytest.mark.parametrize("kind", ["entity", "fullyconv"])
def test_a_policy_never_leaves_its_action_space(kind):
    space = action_space("screen")
    torch.manual_seed(0)
    policy = make_policy(kind, FORMAT, **space.policy_options())
    obs = _selected_observation()
    encoded = policy.encode(obs)
    allowed = set(space.functions)
    seen = set(encoded["available_actions"].nonzero()[:, 1].tolist())
    assert seen <= allowed and int(FunctionId.Move_screen) in seen
    assert not encoded["available_actions"][:, [int(FunctionId.move_camera), int(FunctionId.Move_minimap)]].any()
    distribution = policy(encoded).distribution
    generator = torch.Generator().manual_seed(1)
    for _ in range(20):
        sample = distribution.sample(generator)
        assert set(sample["function"].tolist()) <= allowed
        assert (sample["queued"] == 0).all()  # fixed: orders act now
    assert distribution.arguments["queued"].entropy().abs().max() < 1e-6
    full = make_policy(kind, FORMAT)(make_policy(kind, FORMAT).encode(obs)).distribution
    assert full.arguments["queued"].entropy().max() > 0.5  # without the fixed argument, queued is a choice


def test_the_screen_queued_space_chooses_queued_and_keeps_the_screen_space_functions():
    queued, screen = action_space("screen_queued"), action_space("screen")
    assert queued.functions == screen.functions and queued.fixed_arguments == ()
    policy = make_policy("entity", FORMAT, **queued.policy_options())
    distribution = policy(policy.encode(_selected_observation())).distribution
    assert distribution.arguments["queued"].entropy().max() > 0.5


def test_the_entity_policy_has_rows_only_for_its_functions():
    moves = (int(FunctionId.select_army), int(FunctionId.Move_screen), int(FunctionId.Attack_screen))
    policy = make_policy("entity", FORMAT, functions=moves)
    full = make_policy("entity", FORMAT)
    assert policy.argument_functions["screen"] == (int(FunctionId.Attack_screen), int(FunctionId.Move_screen))
    assert len(policy.argument_functions["minimap"]) == 1  # no minimap function: one placeholder row
    assert policy.functions_screen.numel() == len(policy.argument_functions["screen"])
    assert full.functions_screen.numel() == len(ARGUMENT_FUNCTIONS["screen"])


def test_the_action_space_and_time_limit_are_saved_with_the_policy(tmp_path):
    options = {**action_space("no_camera").policy_options(), "time_limit_loops": 1920}
    policy = make_policy("entity", FORMAT, **options)
    save_policy(policy, tmp_path / "p")
    loaded = load_policy(tmp_path / "p")
    assert loaded.config == policy.config
    assert loaded.config.fixed_arguments == (("queued", 0),) and loaded.config.time_limit_loops == 1920
    assert json.loads((tmp_path / "p.json").read_text())["config"]["fixed_arguments"] == [["queued", 0]]


@pytest.mark.parametrize(("options", "message"), [
    ({"functions": (0, 9999)}, "not pysc2 function ids"),
    ({"fixed_arguments": (("screen", 0),)}, "cannot be fixed"),
    ({"fixed_arguments": (("queued", 5),)}, "takes values 0..1"),
    ({"time_limit_loops": 0}, "time_limit_loops must be at least 1"),
])
def test_bad_action_spaces_are_explained(options, message):
    with pytest.raises(ValueError, match=message):
        make_policy("entity", FORMAT, **options)
    with pytest.raises(ValueError, match="unknown action space 'camera'"):
        action_space("camera")


def test_a_policy_that_sees_time_reads_the_fraction_left():
    policy = make_policy("entity", FORMAT, time_limit_loops=1000)
    obs = _selected_observation(4)
    obs = {**obs, "game_loop": torch.tensor([0, 250, 1000, 5000])}
    assert policy.encode_time(obs)[:, 0].tolist() == [1.0, 0.75, 0.0, 0.0]
    blind = make_policy("entity", FORMAT)
    assert blind.encode(obs)["time_left"].shape == (4, 0)
    with torch.no_grad():
        early = policy(policy.encode({**obs, "game_loop": torch.zeros(4, dtype=torch.long)})).value
        late = policy(policy.encode({**obs, "game_loop": torch.full((4,), 900)})).value
    assert not torch.allclose(early, late)  # the value can tell the time


def test_staggered_starts_spread_the_games_and_repeat_with_the_seed():
    env = arena.make("MoveToBeacon", num_envs=32, interface=FORMAT)
    obs, _ = env.reset(seed=5, options={"stagger": True})
    loops = obs["game_loop"]
    assert loops.unique().numel() > 16 and int(loops.max()) < env.spec_.time_limit_loops
    assert (loops % env.step_mul == 0).all()
    again, _ = env.reset(seed=5, options={"stagger": True})
    assert torch.equal(again["game_loop"], loops)
    plain, _ = env.reset(seed=5)
    assert (plain["game_loop"] == 0).all()
    assert torch.equal(staggered_start(torch.arange(5, 37), env.spec_.time_limit_loops, env.step_mul), loops)
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(seed=0, options={"shuffle": True})


def test_staggered_games_end_on_different_steps_and_are_truncated():
    seat = Seat(TrainConfig(scenario="MoveToBeacon", **SMALL), None)
    obs = seat.reset(0, stagger=True)
    ends, truncations, step = {}, 0, 0
    agent = PolicyAgent(make_policy("entity", FORMAT), seed=0)
    while len(ends) < 4:
        stepped = seat.step(agent.act(obs, torch.zeros(8, dtype=torch.bool)))
        last = stepped.step_type == int(StepType.LAST)
        for game in last.nonzero()[:, 0].tolist():
            ends.setdefault(game, step)
        truncations += int((stepped.truncated & last).sum())
        assert not (stepped.truncated & ~last).any()
        obs, step = stepped.obs, step + 1
    assert len(set(ends.values())) > 1  # the games' first episodes end on different steps
    assert truncations == sum(1 for _ in ends)  # MoveToBeacon ends only at its time limit: each end is a truncation


def test_two_player_time_limits_decide_the_game_and_are_not_truncations():
    config = TrainConfig(scenario="MarineMirror", opponent="random", **SMALL)
    seat = Seat(config, opponent_agent(config))
    seat.reset(0)
    from arena.interface.actions import BatchedAction

    stepped = seat.step(BatchedAction.make(torch.zeros(8, dtype=torch.long), batch=8))
    assert stepped.truncated.dtype == torch.bool and not stepped.truncated.any()


def test_collect_bootstraps_a_time_limit_and_cuts_a_termination():
    """A scripted step function: game 0's episode is cut by its time limit at step 1, game 1's ends at step 1."""
    policy = make_policy("entity", FORMAT)
    obs = _selected_observation(2)
    script = iter([(StepType.MID, StepType.MID), (StepType.LAST, StepType.LAST), (StepType.FIRST, StepType.FIRST),
                   (StepType.MID, StepType.MID)])

    def step(action) -> SeatStep:
        types = next(script)
        return SeatStep(obs=obs, reward=torch.tensor([1.0, 2.0]), step_type=torch.tensor([int(t) for t in types]),
                        truncated=torch.tensor([True, False]), result=torch.tensor([5.0, 6.0]))

    collected = collect(policy, step, obs, torch.zeros(2, dtype=torch.bool), unroll=4, gamma=0.9,
                        generator=torch.Generator().manual_seed(0), reward_scale=0.5)
    rollout = collected.rollout
    assert rollout.truncated[:, 0].tolist() == [False, True, False, False]
    assert not rollout.truncated[:, 1].any()  # truncated is only read where an episode ends
    assert rollout.discounts[:, 0].tolist() == pytest.approx([0.9, 0.9, 0.0, 0.9])  # bootstrap kept at the cut
    assert rollout.discounts[:, 1].tolist() == pytest.approx([0.9, 0.0, 0.0, 0.9])  # a termination ends it
    assert rollout.valid[:, 0].tolist() == [True, True, False, True]  # the ignored action after the end
    assert rollout.rewards[0].tolist() == [0.5, 1.0]  # scaled for learning
    assert collected.results[1].tolist() == [5.0, 6.0]  # results are not


def test_every_preset_makes_a_valid_config_and_a_policy():
    for name, preset in PRESETS.items():
        config = TrainConfig(scenario=name, **preset.settings)
        assert preset_for(name) is preset and preset.steps > 0
        policy = new_policy(config)
        assert policy.config.functions == action_space(config.action_space).functions or (
            action_space(config.action_space).functions is None)
        assert policy.config.time_limit_loops is not None
    assert set(ACTION_SPACES) == {"full", "no_camera", "move", "screen", "screen_queued"}


def test_arena_train_uses_the_preset_and_options_override_it(tmp_path, capsys):
    assert main(["train", "--presets"]) == 0
    assert "MoveToBeacon" in capsys.readouterr().out
    out = tmp_path / "run"
    assert main(["train", "MoveToBeacon", "--steps", "128", "--num-envs", "8", "--unroll", "16", "--minibatches",
                 "2", "--lr", "1e-3", "--out", str(out), "--eval-episodes", "0", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "preset MoveToBeacon (overridden: learning_rate, minibatches, num_envs)" in err
    assert "action space screen" in err
    config = json.loads((out / "config.json").read_text())
    preset = PRESETS["MoveToBeacon"].settings
    assert config["policy"] == preset["policy"] == "entity" and config["action_space"] == "screen"
    assert config["learning_rate"] == 1e-3 and config["num_envs"] == 8
    assert config["entropy_coef"] == preset["entropy_coef"]
    assert load_policy(out / "policy").config.fixed_arguments == (("queued", 0),)
    # a resumed run from the JSON config (lists, not tuples) is the same configuration
    assert main(["train", "MoveToBeacon", "--steps", "256", "--num-envs", "8", "--unroll", "16", "--minibatches",
                 "2", "--lr", "1e-3", "--out", str(out), "--eval-episodes", "0", "--quiet", "--resume"]) == 0
    capsys.readouterr()
    assert main(["train", "MoveToBeacon", "--no-preset", "--steps", "128", "--num-envs", "8", "--unroll", "16",
                 "--minibatches", "2", "--out", str(tmp_path / "plain"), "--eval-episodes", "0", "--quiet"]) == 0
    assert json.loads((tmp_path / "plain" / "config.json").read_text())["policy"] == "fullyconv"
    assert main(["train"]) == 2
    assert "name a scenario" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "MoveToBeacon", "--action-space", "camera"])


def test_the_thread_count_is_set_and_checked():
    from arena.threads import set_torch_threads

    before = torch.get_num_threads()
    try:
        assert set_torch_threads(1) == 1
        with pytest.raises(ValueError, match="threads must be at least 1"):
            set_torch_threads(0)
    finally:
        torch.set_num_threads(before)
    with pytest.raises(SystemExit):
        main(["scenarios", "--threads", "0"])


def test_a_trainer_with_a_time_limit_learns_from_truncated_rollouts(tmp_path):
    trainer = Trainer(TrainConfig(scenario="MoveToBeacon", action_space="screen", **SMALL), tmp_path)
    assert trainer.policy.config.time_limit_loops == trainer.seat.env.spec_.time_limit_loops
    starts = trainer.obs["game_loop"]
    assert starts.unique().numel() > 1  # staggered
    stats = trainer.update()
    assert torch.isfinite(torch.tensor(stats["total_loss"]))


def test_demonstrations_at_a_screen_size_clone_into_the_run_architecture(tmp_path, capsys):
    demos, bc = tmp_path / "demos", tmp_path / "bc"
    assert main(["play", "MoveToBeacon", "--agent", "scripted", "--episodes", "2", "--batch", "2", "--screen-size",
                 "16", "--replay-dir", str(demos), "--quiet"]) == 0
    assert main(["train", "bc", "--replays", str(demos), "--policy", "entity", "--action-space", "screen",
                 "--epochs", "1", "--out", str(bc), "--quiet"]) == 0
    cloned = load_policy(bc / "policy")
    assert cloned.config.screen_size == 16 and cloned.config.fixed_arguments == (("queued", 0),)
    capsys.readouterr()
    run = ["train", "MoveToBeacon", "--steps", "128", "--num-envs", "8", "--unroll", "16", "--minibatches", "2",
           "--eval-episodes", "0", "--quiet"]
    assert main(run + ["--init", str(bc / "policy.json"), "--kl-to", str(bc / "policy.json"), "--kl-coef", "0.1",
                       "--out", str(tmp_path / "rl")]) == 0
    assert main(run + ["--init", str(bc / "policy.json"), "--action-space", "full", "--out",
                       str(tmp_path / "other")]) == 2
    assert "differs from this run's in fixed_arguments, functions" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the option needs its number
        main(["play", "MoveToBeacon", "--agent", "scripted", "--screen-size"])
    assert main(["play", "MoveToBeacon", "--agent", "scripted", "--episodes", "1", "--screen-size", "4",
                 "--quiet"]) == 2
    assert "--screen-size must be at least 8" in capsys.readouterr().err


def test_a_league_takes_a_kl_coefficient_only_with_an_initial_policy(tmp_path, capsys):
    assert main(["league", "start", "--kl-coef", "0.1", "--out", str(tmp_path / "l"), "--matches", "1"]) == 2
    assert "kl_coef needs init" in capsys.readouterr().err


def test_a_warm_start_clones_the_teacher_first_and_a_resume_keeps_the_clone(tmp_path, capsys):
    """`--warm-start scripted`: the scripted agent's episodes are recorded, a policy of the run's architecture is
    cloned from them, learning starts from the clone and, with a KL weight, stays near it; a resumed run neither
    plays nor clones again."""
    out = tmp_path / "run"
    run = ["train", "MoveToBeacon", "--steps", "128", "--num-envs", "8", "--unroll", "16", "--minibatches", "2",
           "--eval-episodes", "0", "--warm-start", "scripted", "--warm-start-episodes", "2",
           "--warm-start-epochs", "1", "--kl-coef", "0.1", "--out", str(out)]
    assert main(run) == 0
    said = capsys.readouterr()
    assert "warm start: epoch 1/1: loss" in said.out + said.err  # each cloning epoch is reported as it ends
    summary = json.loads((out / "warm_start" / "warm_start.json").read_text())
    assert summary["teacher"] == "scripted" and summary["episodes"] == 2 and summary["teacher_mean"] > 10
    assert summary["examples"] > 0 and len(list((out / "warm_start" / "replays").iterdir())) == 2
    cloned = load_policy(out / "warm_start" / "policy")
    assert cloned.config == load_policy(out / "policy").config  # the run's architecture
    config = TrainConfig(**json.loads((out / "config.json").read_text()))
    before = (out / "warm_start" / "policy.safetensors").stat().st_mtime_ns
    resumed = Trainer(config, out, resume=True)
    assert resumed.warm_start_report is None and resumed.learner.supervised is not None
    assert (out / "warm_start" / "policy.safetensors").stat().st_mtime_ns == before
    fresh = Trainer(dataclasses.replace(config, kl_coef=0.0), tmp_path / "fresh")
    clone_weights = dict(load_policy(fresh.folder / "warm_start" / "policy").state_dict())
    assert all(torch.equal(value, clone_weights[name]) for name, value in fresh.policy.state_dict().items())
    assert fresh.learner.supervised is None


def test_warm_start_options_are_checked_and_a_preset_warm_start_can_be_turned_off(tmp_path, capsys):
    with pytest.raises(ValueError, match="warm_start and init both"):
        TrainConfig(scenario="MoveToBeacon", warm_start="scripted", init="x.json")
    with pytest.raises(ValueError, match="warm_start_episodes and warm_start_epochs must be at least 1"):
        TrainConfig(scenario="MoveToBeacon", warm_start="scripted", warm_start_episodes=0)
    TrainConfig(scenario="MoveToBeacon", warm_start="scripted", kl_coef=0.1)  # the clone is the KL's target
    with pytest.raises(ValueError, match="warm_start records one-player episodes"):
        TrainConfig(scenario="MarineMirror", warm_start="scripted")
    assert PRESETS["FindAndDefeatZerglings"].settings["warm_start"] == "scripted"
    assert main(["train", "MoveToBeacon", "--warm-start", "smart", "--out", str(tmp_path / "bad"),
                 "--quiet"]) == 2
    assert "smart" in capsys.readouterr().err
    out = tmp_path / "off"
    assert main(["train", "FindAndDefeatZerglings", "--warm-start", "none", "--steps", "64", "--num-envs", "4",
                 "--unroll", "16", "--minibatches", "2", "--kl-coef", "0", "--eval-episodes", "0", "--out", str(out),
                 "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["warm_start"] is None
    assert not (out / "warm_start").exists()


@pytest.mark.parametrize("algo", ["ppo", "vtrace"])
def test_a_critic_warmup_trains_the_value_and_holds_the_policy_heads(tmp_path, algo):
    steps_per_update = SMALL["num_envs"] * SMALL["unroll"]
    config = TrainConfig(scenario="MoveToBeacon", policy="entity", action_space="screen", algo=algo,
                         critic_warmup=2 * steps_per_update, entropy_coef=0.05, **SMALL)
    trainer = Trainer(config, tmp_path)
    weights = lambda: {k: v.detach().clone() for k, v in trainer.policy.state_dict().items()}  # noqa: E731
    policy_heads = [k for k in weights() if k.startswith(("function_head", "argument_heads"))]
    start = weights()
    trainer.train(steps=2 * steps_per_update)
    warmed = weights()
    assert all(torch.equal(start[k], warmed[k]) for k in policy_heads)  # no policy gradient, no entropy bonus
    assert not torch.equal(start["value_head.2.weight"], warmed["value_head.2.weight"])
    trainer.train(steps=3 * steps_per_update)
    assert any(not torch.equal(warmed[k], v) for k, v in weights().items() if k in policy_heads)
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["critic_only"] for line in lines] == [1.0, 1.0, 0.0]


def test_a_negative_critic_warmup_is_refused():
    with pytest.raises(ValueError, match="critic_warmup must be 0 or more"):
        TrainConfig(scenario="MoveToBeacon", critic_warmup=-1)
