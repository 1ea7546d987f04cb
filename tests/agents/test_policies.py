"""Neural policies: shapes of what they read and output, samples that are always legal, log-probs, entropies and KLs
checked against plain loops, checkpoints that round-trip and refuse bad files clearly, the agent that plays them,
and a gradient step that does what it should."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import arena
from agents.learn.learner import pad_stack
from agents.policies import (POLICY_KINDS, PolicyAgent, PolicyFileError, explain, load_policy, make_policy,
                             save_policy, to_batched_action)
from agents.policies.distribution import (ARGUMENT_NAMES, ARGUMENT_SIZES, POINT_KIND, UNIT_INDEX,
                                          ActionDistribution, CategoricalArgument, PointArgument, PointKind,
                                          UnitOrPointArgument, categorical_entropy)
from arena.interface.functions import NUM_FUNCTIONS
from agents.policies.encoding import log_code
from arena.interface.actions import BatchedAction
from arena.interface.functions import FUNCTION_ARGUMENTS, ActionResult, FunctionId
from arena.interface.unit_list import FeatureUnit
from arena.interface.view import InterfaceFormat
from arena.multi_env import player_view

SIZE = 32
FORMAT = InterfaceFormat(screen_size=SIZE, minimap_size=SIZE)
KINDS = sorted(POLICY_KINDS)
EXPECTED_KEYS = {
    "fullyconv": {"screen": torch.uint8, "minimap": torch.uint8, "player": torch.float32,
                  "available_actions": torch.bool, "time_left": torch.float32},
    "entity": {"screen": torch.uint8, "minimap": torch.uint8, "player": torch.float32, "available_actions": torch.bool,
               "time_left": torch.float32,
               "unit_type": torch.uint8, "unit_alliance": torch.uint8, "unit_numbers": torch.float16,
               "unit_mask": torch.bool, "unit_pixel": torch.int16},
}


def _beacon_observations() -> list[dict[str, torch.Tensor]]:
    """MoveToBeacon observations at the start and after selecting the army (so unit commands are available)."""
    env = arena.make("MoveToBeacon", num_envs=4, interface=FORMAT)
    obs, _ = env.reset(seed=3)
    selected, *_ = env.step(BatchedAction.make(int(FunctionId.select_army), batch=4))
    return [obs, selected]


@pytest.fixture(scope="module")
def observations() -> list[dict[str, torch.Tensor]]:
    """One-player and two-player (each player's view of MarineMirror) observations."""
    duel = arena.make("MarineMirror", num_envs=2, interface=FORMAT)
    obs, _ = duel.reset(seed=1)
    return _beacon_observations() + [player_view(obs, 0), player_view(obs, 1)]


@pytest.fixture(scope="module")
def policies() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {kind: make_policy(kind, FORMAT) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_encoding_and_output_shapes(kind, policies, observations):
    policy = policies[kind]
    for obs in observations:
        B = obs["available_actions"].shape[0]
        encoded = policy.encode(obs)
        assert {key: value.dtype for key, value in encoded.items()} == EXPECTED_KEYS[kind]
        assert all(value.shape[0] == B and not value.requires_grad for value in encoded.values())
        assert encoded["screen"].shape[-2:] == (SIZE, SIZE) and encoded["minimap"].shape[-2:] == (SIZE, SIZE)
        output = policy(encoded)
        assert output.value.shape == (B,)
        assert output.distribution.function_probs.shape == (B, 573)
        sample = output.distribution.sample(torch.Generator().manual_seed(0))
        for name in ARGUMENT_NAMES:
            assert sample[name].shape == ((B, 2) if name in ("screen", "minimap", "screen2") else (B,))
            assert sample[name].dtype == torch.long
        action = to_batched_action(sample)
        assert isinstance(action, BatchedAction) and torch.equal(action.function, sample["function"])
        assert (kind == "entity") == (POINT_KIND in sample and UNIT_INDEX in sample)


@pytest.mark.parametrize("kind", KINDS)
def test_samples_are_available_and_in_range(kind, policies, observations):
    policy = policies[kind]
    generator = torch.Generator().manual_seed(1)
    for obs in observations:
        encoded = policy.encode(obs)
        distribution = policy(encoded).distribution
        available = obs["available_actions"]
        assert torch.all(distribution.function_probs[~available] == 0)
        assert torch.allclose(distribution.function_probs.sum(-1), torch.ones(available.shape[0]))
        for draw in [distribution.sample(generator) for _ in range(20)] + [distribution.mode()]:
            assert available.gather(1, draw["function"][:, None]).all()
            for name, size in ARGUMENT_SIZES.items():
                assert ((draw[name] >= 0) & (draw[name] < size)).all(), name
            for name in ("screen", "minimap", "screen2"):
                assert ((draw[name] >= 0) & (draw[name] < SIZE)).all(), name
            if kind == "entity":
                by_unit = draw[POINT_KIND] == PointKind.UNIT
                unit_pixel = encoded["unit_pixel"].long().gather(1, draw[UNIT_INDEX][:, None, None].expand(-1, 1, 2))
                assert torch.equal(draw["screen"][by_unit], unit_pixel[:, 0][by_unit])
                assert encoded["unit_mask"].gather(1, draw[UNIT_INDEX][:, None])[:, 0][by_unit].all()


def _argument_log_prob(distribution, name: str, function: int, game: int, sample) -> float:
    """By hand: the log-prob of one game's argument value, from the stored per-row log-probs."""
    argument = distribution.arguments[name]
    rows = [int(f) for f in sorted(f for f, args in FUNCTION_ARGUMENTS.items() if any(a.name == name for a in args))]
    row = rows.index(function) if argument.rows > 1 else 0
    if isinstance(argument, UnitOrPointArgument):
        kind = int(sample[POINT_KIND][game])
        gate = float(argument.gate[game, min(row, argument.gate.shape[1] - 1), kind])
        if kind == PointKind.UNIT:
            return gate + float(argument.unit[game, row, int(sample[UNIT_INDEX][game])])
        x, y = (int(v) for v in sample[name][game])
        return gate + float(argument.pixel.log_probs[game, row, y * SIZE + x])
    if name in ("screen", "minimap", "screen2"):
        x, y = (int(v) for v in sample[name][game])
        return float(argument.log_probs[game, row, y * SIZE + x])
    return float(argument.log_probs[game, row, int(sample[name][game])])


@pytest.mark.parametrize("kind", KINDS)
def test_log_prob_is_the_function_plus_the_arguments_it_takes(kind, policies, observations):
    policy = policies[kind]
    generator = torch.Generator().manual_seed(2)
    for obs in observations[1:3]:
        with torch.no_grad():
            distribution = policy(policy.encode(obs)).distribution
        for _ in range(5):
            sample = distribution.sample(generator)
            log_prob = distribution.log_prob(sample)
            for game in range(log_prob.shape[0]):
                function = int(sample["function"][game])
                expected = float(distribution.function_log_probs[game, function])
                for argument in FUNCTION_ARGUMENTS[FunctionId(function)]:
                    expected += _argument_log_prob(distribution, argument.name, function, game, sample)
                assert math.isclose(float(log_prob[game]), expected, rel_tol=1e-5, abs_tol=1e-5)


def _entropy_by_hand(distribution, game: int) -> float:
    """H(f) + sum over f of p(f) * sum over its arguments of H(argument | f), as a loop over functions."""
    probs = distribution.function_probs[game]
    total = float(torch.distributions.Categorical(probs=probs).entropy())
    for function, arguments in FUNCTION_ARGUMENTS.items():
        p = float(probs[int(function)])
        for argument in arguments:
            per_row = distribution.arguments[argument.name].entropy()[game]
            rows = sorted(int(f) for f, args in FUNCTION_ARGUMENTS.items() if argument in args)
            total += p * float(per_row[rows.index(int(function)) if per_row.shape[0] > 1 else 0])
    return total


@pytest.mark.parametrize("kind", KINDS)
def test_entropy_and_kl(kind, policies, observations):
    policy = policies[kind]
    torch.manual_seed(5)
    other = make_policy(kind, FORMAT)
    for obs in observations:
        with torch.no_grad():
            mine = policy(policy.encode(obs)).distribution
            theirs = other(other.encode(obs)).distribution
        entropy = mine.entropy()
        assert torch.isfinite(entropy).all() and (entropy > 0).all()
        for game in range(entropy.shape[0]):
            assert math.isclose(float(entropy[game]), _entropy_by_hand(mine, game), rel_tol=1e-4)
        assert torch.allclose(mine.kl(mine), torch.zeros_like(entropy), atol=1e-5)
        kl = mine.kl(theirs)
        assert torch.isfinite(kl).all() and (kl > 0).all()


def test_kl_across_kinds_names_the_argument(policies, observations):
    obs = observations[1]
    fullyconv = policies["fullyconv"](policies["fullyconv"].encode(obs)).distribution
    entity = policies["entity"](policies["entity"].encode(obs)).distribution
    with pytest.raises(ValueError, match="'screen'"):
        entity.kl(fullyconv)


def _joint_path_distribution(argument: UnitOrPointArgument, game: int, row: int) -> torch.distributions.Categorical:
    """The unit-or-point choice as one categorical over its paths: every pixel, then every unit."""
    gate = argument.gate[game, row].exp()
    probs = torch.cat([gate[PointKind.PIXEL] * argument.pixel.log_probs[game, row].exp(),
                       gate[PointKind.UNIT] * argument.unit[game, row].exp()])
    return torch.distributions.Categorical(probs=probs)


def test_entity_screen_entropy_and_kl_are_those_of_the_joint_choice(observations):
    torch.manual_seed(9)
    first, second = make_policy("entity", FORMAT), make_policy("entity", FORMAT)
    with torch.no_grad():
        mine = first(first.encode(observations[1])).distribution.arguments["screen"]
        theirs = second(second.encode(observations[1])).distribution.arguments["screen"]
        entropy, kl = mine.entropy(), mine.kl(theirs)
    for game, row in [(0, 0), (1, 3), (3, mine.rows - 1)]:
        p, q = _joint_path_distribution(mine, game, row), _joint_path_distribution(theirs, game, row)
        assert math.isclose(float(entropy[game, row]), float(p.entropy()), rel_tol=1e-4)
        assert math.isclose(float(kl[game, row]), float(torch.distributions.kl_divergence(p, q)), rel_tol=1e-3,
                            abs_tol=1e-6)


def test_entity_marginal_log_prob_covers_the_path_taken(policies, observations):
    policy = policies["entity"]
    distribution = policy(policy.encode(observations[1])).distribution
    sample = distribution.sample(torch.Generator().manual_seed(3))
    sample["function"] = torch.full_like(sample["function"], int(FunctionId.Move_screen))
    marginal = {key: value for key, value in sample.items() if key not in (POINT_KIND, UNIT_INDEX)}
    assert (distribution.log_prob(marginal) >= distribution.log_prob(sample) - 1e-5).all()


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(kind, policies, observations, tmp_path):
    policy = policies[kind]
    weights, description = save_policy(policy, tmp_path / "checkpoints" / "step_10")
    assert weights.name == "step_10.safetensors" and description.name == "step_10.json"
    assert sorted(p.name for p in weights.parent.iterdir()) == ["step_10.json", "step_10.safetensors"]
    saved = json.loads(description.read_text())
    assert saved["format"] == "arena-policy" and saved["version"] == 1 and saved["kind"] == kind
    assert saved["config"]["screen_size"] == SIZE and saved["parameters"] == sum(p.numel() for p in policy.parameters())
    loaded = load_policy(tmp_path / "checkpoints" / "step_10.json")
    assert loaded.config == policy.config and type(loaded) is type(policy)
    obs = observations[1]
    with torch.no_grad():
        before, after = policy(policy.encode(obs)), loaded(loaded.encode(obs))
    assert torch.equal(before.distribution.function_log_probs, after.distribution.function_log_probs)
    assert torch.equal(before.value, after.value)
    first = before.distribution.sample(torch.Generator().manual_seed(4))
    second = after.distribution.sample(torch.Generator().manual_seed(4))
    assert all(torch.equal(first[key], second[key]) for key in first)
    save_policy(policy, tmp_path)  # a folder: policy.safetensors and policy.json
    assert load_policy(tmp_path).config == policy.config


def test_bad_policy_files_raise_clear_errors(policies, tmp_path):
    policy = policies["fullyconv"]
    weights, description = save_policy(policy, tmp_path / "good")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_policy(tmp_path / "missing")

    def edited(name: str, change) -> str:
        data = json.loads(description.read_text())
        change(data)
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        (tmp_path / f"{name}.safetensors").write_bytes(weights.read_bytes())
        return str(tmp_path / name)

    cases = {
        edited("kind", lambda d: d.update(kind="lstm")): "unknown policy kind 'lstm'",
        edited("future", lambda d: d.update(version=99)): "newer",
        edited("field", lambda d: d["config"].update(depth=3)): "unknown fullyconv config fields",
        edited("other", lambda d: d["config"].update(hidden_size=128)): "another kind or config",
    }
    (tmp_path / "broken.json").write_text(description.read_text())
    (tmp_path / "broken.safetensors").write_bytes(b"not safetensors at all")
    cases[str(tmp_path / "broken")] = "not a readable safetensors file"
    (tmp_path / "text.json").write_text("{not json")
    cases[str(tmp_path / "text")] = "not a JSON policy description"
    small = make_policy("fullyconv", FORMAT, hidden_size=16)
    save_file({k: v.contiguous() for k, v in small.state_dict().items()}, str(tmp_path / "shapes.safetensors"))
    (tmp_path / "shapes.json").write_text(description.read_text())
    cases[str(tmp_path / "shapes")] = "do not fit the fullyconv config"
    for path, problem in cases.items():
        with pytest.raises(PolicyFileError, match=problem) as error:
            load_policy(path)
        assert error.value.path.startswith(path)
    (tmp_path / "weightless.json").write_text(description.read_text())
    with pytest.raises(FileNotFoundError, match="weightless.safetensors"):
        load_policy(tmp_path / "weightless")


def test_make_policy_and_encode_explain_their_errors(policies, observations):
    with pytest.raises(ValueError, match="unknown policy kind"):
        make_policy("lstm", FORMAT)
    with pytest.raises(ValueError, match="no config fields"):
        make_policy("fullyconv", FORMAT, depth=3)
    with pytest.raises(ValueError, match="unit list"):
        make_policy("entity", InterfaceFormat(screen_size=SIZE, minimap_size=SIZE, feature_units=False))
    with pytest.raises(ValueError, match="screen_size=32"):
        policies["fullyconv"].encode(arena.make("MoveToBeacon", num_envs=1).reset(seed=0)[0])
    without_units = {k: v for k, v in observations[0].items() if not k.startswith("feature_units")}
    with pytest.raises(KeyError, match="feature_units"):
        policies["entity"].encode(without_units)


def test_log_codes_are_monotone_and_saturate():
    codes = log_code(torch.tensor([0.0, 1.0, 45.0, 1500.0, 1e6]))
    assert codes.tolist()[0] == 0 and codes.tolist()[-1] == 255
    assert codes.tolist() == sorted(codes.tolist())


@pytest.mark.parametrize("kind", KINDS)
def test_policy_agent_plays_and_explains(kind, policies):
    env = arena.make("MoveToBeacon", num_envs=3, interface=FORMAT)
    obs, _ = env.reset(seed=0)
    agent = PolicyAgent(policies[kind], seed=7)
    agent.reset(env.num_envs)
    first = torch.ones(env.num_envs, dtype=torch.bool)
    for _ in range(4):
        action = agent.act(obs, first)
        assert obs["available_actions"].gather(1, action.function[:, None]).all()
        obs, reward, terminated, truncated, info = env.step(action)
        assert (obs["action_result"] != int(ActionResult.InvalidAvailableAction)).all()
        first = info["step_type"] == 0
        explanation = agent.last_explanation
        assert set(explanation) == {"value", "top_functions", "top_probs", "heatmap"}
        assert explanation["value"].shape == (3,) and explanation["value"].dtype == torch.float32
        assert explanation["top_functions"].shape == (3, 5) and explanation["top_functions"].dtype == torch.long
        assert explanation["top_probs"].shape == (3, 5) and explanation["top_probs"].dtype == torch.float32
        assert explanation["heatmap"].shape == (3, SIZE, SIZE) and explanation["heatmap"].dtype == torch.uint8
        assert (explanation["heatmap"].flatten(1).max(-1).values == 255).all()
        assert agent.last_log_prob.shape == (3,) and torch.isfinite(agent.last_log_prob).all()
    again = PolicyAgent(policies[kind], seed=7)
    first_obs, _ = env.reset(seed=0)
    assert torch.equal(again.act(first_obs, first).function, PolicyAgent(policies[kind], seed=7).act(
        first_obs, first).function)
    greedy = PolicyAgent(policies[kind], greedy=True).act(first_obs, first)
    assert torch.equal(greedy.function, policies[kind](policies[kind].encode(first_obs)).distribution
                       .function_probs.argmax(-1))


def test_explanations_fit_the_replay_format(policies, observations):
    from arena.replay.format import EXPLANATION_FIELDS

    output = policies["entity"](policies["entity"].encode(observations[2]))
    explanation = explain(output, top_k=3)
    assert set(explanation) == set(EXPLANATION_FIELDS)
    ids, probs = explanation["top_functions"], explanation["top_probs"]
    assert ((ids == -1) == (probs == 0)).all()


def test_a_gradient_step_raises_the_log_prob_of_the_chosen_action(observations):
    torch.manual_seed(11)
    policy = make_policy("fullyconv", FORMAT)
    encoded = policy.encode(observations[1])
    with torch.no_grad():
        chosen = policy(encoded).distribution.sample(torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.05)
    before = policy(encoded).distribution.log_prob(chosen)
    (-before.mean()).backward()
    optimizer.step()
    with torch.no_grad():
        after = policy(encoded).distribution.log_prob(chosen)
    assert (after > before.detach()).all(), (before, after)


def test_the_entropy_bonus_does_not_favour_functions_for_their_arguments():
    """The exact entropy rewards picking functions with more arguments (select_rect's two screen points); the
    regularizing entropy has the same value but only the function's own entropy moves the function head."""
    torch.manual_seed(0)
    B = 3
    logits = torch.randn(B, NUM_FUNCTIONS, requires_grad=True)
    available = torch.zeros(B, NUM_FUNCTIONS, dtype=torch.bool)
    available[:, [0, 3, 331]] = True  # no_op, select_rect (screen, screen2, select_add), Move_screen (queued, screen)
    arguments = {}
    for name, size in ARGUMENT_SIZES.items():
        arguments[name] = CategoricalArgument(name, torch.log_softmax(torch.randn(B, 1, size), -1))
    for name in ("screen", "screen2", "minimap"):
        arguments[name] = PointArgument(name, torch.log_softmax(torch.randn(B, 1, 64), -1), 8)
    distribution = ActionDistribution(logits, available, arguments)
    exact, regularizing = distribution.entropy(), distribution.regularizing_entropy()
    assert torch.allclose(exact, regularizing)
    (grad_regularizing,) = torch.autograd.grad(regularizing.sum(), logits, retain_graph=True)
    (grad_function_only,) = torch.autograd.grad(categorical_entropy(distribution.function_log_probs).sum(), logits,
                                                retain_graph=True)
    (grad_exact,) = torch.autograd.grad(exact.sum(), logits)
    assert torch.allclose(grad_regularizing, grad_function_only)
    assert grad_exact[:, 3].sum() > grad_regularizing[:, 3].sum()  # the exact one pulls towards select_rect


def test_entity_encoding_keeps_only_the_slots_of_on_screen_units(policies):
    """DefeatRoaches' unit list has a slot for every unit it may ever have; the encoding keeps the on-screen units,
    in their order, in as many slots as the fullest game needs, and the policy's outputs do not change when masked
    slots are added back (pad_stack)."""
    env = arena.make("DefeatRoaches", num_envs=3, interface=FORMAT)
    obs, _ = env.reset(seed=2)
    policy = policies["entity"]
    encoded = policy.encode(obs)
    mask = obs["feature_units_mask"].bool()
    assert mask.shape[1] > int(mask.sum(1).max())  # the list has empty slots to drop
    assert encoded["unit_mask"].shape[1] == int(mask.sum(1).max())
    assert torch.equal(encoded["unit_mask"].sum(1), mask.sum(1))
    for game in range(3):
        alive = mask[game].nonzero()[:, 0]
        expected = obs["feature_units"][game, alive][:, int(FeatureUnit.unit_type)]
        kept = encoded["unit_mask"][game]
        assert torch.equal(policy.unit_type_lookup[expected.long()].to(torch.uint8), encoded["unit_type"][game, kept])
    wider = {key: pad_stack([value, value.new_zeros((value.shape[0], value.shape[1] + 5, *value.shape[2:]))])[0]
             if key.startswith("unit_") else value for key, value in encoded.items()}
    assert wider["unit_mask"].shape[1] == encoded["unit_mask"].shape[1] + 5
    with torch.no_grad():
        narrow_out, wide_out = policy(encoded), policy(wider)
    torch.testing.assert_close(narrow_out.value, wide_out.value)
    torch.testing.assert_close(narrow_out.distribution.entropy(), wide_out.distribution.entropy())
    sample = narrow_out.distribution.mode()
    torch.testing.assert_close(narrow_out.distribution.log_prob(sample), wide_out.distribution.log_prob(sample))


def test_pad_stack_pads_with_zeros_only_where_sizes_differ():
    same = pad_stack([torch.ones(2, 3), torch.ones(2, 3)])
    assert torch.equal(same, torch.ones(2, 2, 3))
    mixed = pad_stack([torch.ones(2, 1, 4), torch.full((2, 3, 4), 2.0)])
    assert mixed.shape == (2, 2, 3, 4)
    assert torch.equal(mixed[0, :, :1], torch.ones(2, 1, 4)) and not mixed[0, :, 1:].any()
    assert torch.equal(mixed[1], torch.full((2, 3, 4), 2.0))


def test_relative_positions_are_offsets_from_the_selection_and_the_other_own_units():
    """CollectMineralShards after selecting one Marine: every unit's offset from that Marine, and from the other one,
    in screen widths, as the columns of the unit list give them; masked slots read zero."""
    from agents.policies.encoding import UNIT_NUMBER_SELECTED, UNIT_NUMBER_X, UNIT_NUMBER_Y, unit_numbers
    from agents.policies.entity import relative_positions

    env = arena.make("CollectMineralShards", num_envs=2, interface=FORMAT)
    obs, _ = env.reset(seed=4)
    units = obs["feature_units"].float()
    own = units[..., int(FeatureUnit.alliance)] == 1
    first_marine = own.long().argmax(dim=1)
    pixel = units[torch.arange(2), first_marine][:, [int(FeatureUnit.x), int(FeatureUnit.y)]]
    obs, *_ = env.step(BatchedAction.make(int(FunctionId.select_point), batch=2, screen=pixel.long()))
    units, mask = obs["feature_units"].float(), obs["feature_units_mask"].bool()
    numbers = unit_numbers(units, SIZE)
    selected = units[..., int(FeatureUnit.is_selected)] > 0
    own = units[..., int(FeatureUnit.alliance)] == 1
    assert torch.equal(numbers[..., UNIT_NUMBER_SELECTED] > 0.5, selected)
    assert torch.equal(numbers[..., UNIT_NUMBER_X], units[..., int(FeatureUnit.x)] / SIZE)
    assert torch.equal(numbers[..., UNIT_NUMBER_Y], units[..., int(FeatureUnit.y)] / SIZE)
    assert (selected.sum(1) == 1).all() and ((own & ~selected & mask).sum(1) == 1).all()
    features = relative_positions(numbers, units[..., int(FeatureUnit.alliance)].long(), mask)
    xy = numbers[..., UNIT_NUMBER_X:UNIT_NUMBER_Y + 1]
    for game in range(2):
        me = xy[game, selected[game]][0]
        other = xy[game, own[game] & ~selected[game] & mask[game]][0]
        for row in mask[game].nonzero()[:, 0]:
            expected = torch.cat([xy[game, row] - me, (xy[game, row] - me).norm()[None],
                                  xy[game, row] - other, (xy[game, row] - other).norm()[None]])
            torch.testing.assert_close(features[game, row], expected)
        assert (features[game, ~mask[game]] == 0).all()


def test_an_entity_policy_with_relative_positions_saves_loads_and_old_configs_still_load(observations, tmp_path):
    torch.manual_seed(0)
    policy = make_policy("entity", FORMAT, relative_positions=True)
    plain = make_policy("entity", FORMAT)
    assert policy.units.relative is not None and plain.units.relative is None
    save_policy(policy, tmp_path / "rel")
    loaded = load_policy(tmp_path / "rel")
    assert loaded.config.relative_positions
    encoded = policy.encode(observations[1])
    with torch.no_grad():
        torch.testing.assert_close(policy(encoded).value, loaded(encoded).value)
    save_policy(plain, tmp_path / "old")
    description = json.loads((tmp_path / "old.json").read_text())
    del description["config"]["relative_positions"]  # as a policy saved before the option existed
    (tmp_path / "old.json").write_text(json.dumps(description))
    with safe_open(str(tmp_path / "old.safetensors"), framework="pt") as weights:
        metadata = weights.metadata()
        tensors = {key: weights.get_tensor(key) for key in weights.keys()}
    for key, value in metadata.items():
        saved = json.loads(value)
        if isinstance(saved, dict) and "config" in saved:
            del saved["config"]["relative_positions"]
            metadata[key] = json.dumps(saved)
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=metadata)
    assert not load_policy(tmp_path / "old").config.relative_positions


def test_the_selection_summary_is_the_mean_of_the_selected_units_and_ignores_padding(observations):
    """`selection_summary`: the unit encoder's summary gains the mean of the selected units' embeddings (what the core
    reads); masked slots added back change nothing."""
    from agents.policies.encoding import UNIT_NUMBER_SELECTED
    from agents.policies.entity import masked_mean

    units = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    assert torch.equal(masked_mean(units, torch.tensor([[True, False, True]])), torch.tensor([[3.0, 4.0]]))
    assert torch.equal(masked_mean(units, torch.zeros(1, 3, dtype=torch.bool)), torch.zeros(1, 2))
    torch.manual_seed(0)
    policy = make_policy("entity", FORMAT, selection_summary=True)
    assert policy.core[0].in_features == make_policy("entity", FORMAT).core[0].in_features + policy.config.unit_dim
    encoded = policy.encode(observations[1])  # the Marine selected
    assert (encoded["unit_numbers"][..., UNIT_NUMBER_SELECTED] > 0.5).any(dim=1).all()
    wider = {key: pad_stack([value, value.new_zeros((value.shape[0], value.shape[1] + 3, *value.shape[2:]))])[0]
             if key.startswith("unit_") else value for key, value in encoded.items()}
    with torch.no_grad():
        units, summary = policy.units(encoded)
        selected = (encoded["unit_numbers"][..., UNIT_NUMBER_SELECTED] > 0.5) & encoded["unit_mask"]
        D = policy.config.unit_dim
        assert summary.shape[-1] == 3 * D
        torch.testing.assert_close(summary[:, 2 * D:], masked_mean(units, selected))
        torch.testing.assert_close(policy(encoded).value, policy(wider).value)
