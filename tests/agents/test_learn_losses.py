"""The learners' maths: every function in agents.learn.losses against a plain Python loop over T and B written
here from the papers' definitions (random inputs, several seeds, episodes ending mid-sequence), V-trace on-policy
equal to n-step returns, PPO's clipping at hand-computed values, gradients where they belong, and masked
categoricals that stay finite."""

from __future__ import annotations

import math

import pytest
import torch

from agents.learn.losses import (
    PPOLossConfig,
    VTraceLossConfig,
    categorical_entropy,
    categorical_kl,
    entropy_loss,
    gae,
    masked_log_softmax,
    normalize_advantages,
    ppo_loss,
    ppo_policy_loss,
    value_loss,
    vtrace,
    vtrace_loss,
)

SEEDS = [0, 1, 2, 3]
T, B, A = 7, 5, 6
GAMMA = 0.9
TOLERANCE = {"atol": 1e-10, "rtol": 1e-10}
"""The tests run in float64, so the vectorized functions and the loops agree to rounding."""


def random_sequences(seed: int) -> dict[str, torch.Tensor]:
    """Random `[T, B]` rollouts whose episodes end at random steps (discount 0 there), and log-probs of two
    policies whose ratios fall on both sides of 1."""
    generator = torch.Generator().manual_seed(seed)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    dones = torch.rand(T, B, generator=generator, dtype=torch.float64) < 0.25
    dones[T // 2, 0] = True  # at least one episode ends mid-sequence
    behaviour = -torch.rand(T, B, generator=generator, dtype=torch.float64) * 2.0
    return {
        "rewards": normal(T, B),
        "values": normal(T, B),
        "bootstrap_value": normal(B),
        "discounts": GAMMA * (~dones).to(torch.float64),
        "behaviour_log_probs": behaviour,
        "target_log_probs": behaviour + 0.7 * normal(T, B),
    }


def as_lists(data: dict[str, torch.Tensor]) -> dict[str, list]:
    return {name: tensor.tolist() for name, tensor in data.items()}


# --------------------------------------------------------------------------------------------------------------
# Reference loops, from the definitions (explicit sums of products), not from the backward recursions.
# --------------------------------------------------------------------------------------------------------------


def value_after(values: list, bootstrap: list, t: int, b: int) -> float:
    return values[t + 1][b] if t + 1 < len(values) else bootstrap[b]


def carries(d: dict[str, list], t: int, b: int) -> float:
    """1 where the trace runs on past step t, 0 where a time limit cut the episode there."""
    return 0.0 if d.get("truncated") and d["truncated"][t][b] else 1.0


def loop_gae(d: dict[str, list], lam: float) -> tuple[list, list]:
    """A_t = sum_{k >= t} (prod_{i=t}^{k-1} discount_i * lambda) delta_k (Schulman et al. 2016, equation 16); a
    truncated step keeps its own bootstrap (discount_k V_{k+1}) but nothing after it is summed."""
    advantages = [[0.0] * B for _ in range(T)]
    for b in range(B):
        deltas = [
            d["rewards"][t][b] + d["discounts"][t][b] * value_after(d["values"], d["bootstrap_value"], t, b)
            - d["values"][t][b]
            for t in range(T)
        ]
        for t in range(T):
            weight, total = 1.0, 0.0
            for k in range(t, T):
                total += weight * deltas[k]
                weight *= d["discounts"][k][b] * lam * carries(d, k, b)
            advantages[t][b] = total
    returns = [[advantages[t][b] + d["values"][t][b] for b in range(B)] for t in range(T)]
    return advantages, returns


def loop_n_step_returns(d: dict[str, list]) -> list:
    """G_t = r_t + d_t r_{t+1} + d_t d_{t+1} r_{t+2} + ... + (d_t ... d_{T-1}) bootstrap."""
    returns = [[0.0] * B for _ in range(T)]
    for b in range(B):
        for t in range(T):
            weight, total = 1.0, 0.0
            for k in range(t, T):
                total += weight * d["rewards"][k][b]
                weight *= d["discounts"][k][b]
            returns[t][b] = total + weight * d["bootstrap_value"][b]
    return returns


def clip_or_not(x: float, clip: float | None) -> float:
    return x if clip is None else min(clip, x)


def loop_vtrace(
    d: dict[str, list], clip_rho: float | None, clip_c: float | None, clip_pg_rho: float | None, lam: float
) -> tuple[list, list]:
    """v_s = V(x_s) + sum_{t>=s} (prod_{i=s}^{t-1} discount_i c_i) delta_t V, with delta_t V =
    rho_t (r_t + discount_t V(x_{t+1}) - V(x_t)) (Espeholt et al. 2018, equation 1), and the policy-gradient
    advantage rho_s (r_s + discount_s v_{s+1} - V(x_s))."""
    vs = [[0.0] * B for _ in range(T)]
    pg = [[0.0] * B for _ in range(T)]
    for b in range(B):
        rhos = [math.exp(d["target_log_probs"][t][b] - d["behaviour_log_probs"][t][b]) for t in range(T)]
        for s in range(T):
            weight, total = 1.0, 0.0
            for t in range(s, T):
                next_value = value_after(d["values"], d["bootstrap_value"], t, b)
                delta = clip_or_not(rhos[t], clip_rho) * (
                    d["rewards"][t][b] + d["discounts"][t][b] * next_value - d["values"][t][b]
                )
                total += weight * delta
                weight *= d["discounts"][t][b] * lam * clip_or_not(rhos[t], clip_c) * carries(d, t, b)
            vs[s][b] = d["values"][s][b] + total
        for s in range(T):
            next_vs = vs[s + 1][b] if s + 1 < T else d["bootstrap_value"][b]
            if not carries(d, s, b):  # the final observation's value, not the next episode's target
                next_vs = value_after(d["values"], d["bootstrap_value"], s, b)
            pg[s][b] = clip_or_not(rhos[s], clip_pg_rho) * (
                d["rewards"][s][b] + d["discounts"][s][b] * next_vs - d["values"][s][b]
            )
    return vs, pg


def loop_log_softmax(row: list, allowed: list) -> list:
    top = max(x for x, ok in zip(row, allowed) if ok)
    log_total = top + math.log(sum(math.exp(x - top) for x, ok in zip(row, allowed) if ok))
    return [x - log_total if ok else None for x, ok in zip(row, allowed)]


def loop_entropy(row: list, allowed: list) -> float:
    return -sum(math.exp(lp) * lp for lp in loop_log_softmax(row, allowed) if lp is not None)


def loop_kl(p_row: list, q_row: list, allowed: list) -> float:
    p, q = loop_log_softmax(p_row, allowed), loop_log_softmax(q_row, allowed)
    return sum(math.exp(lp) * (lp - lq) for lp, lq in zip(p, q) if lp is not None)


def tensor(rows: list) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def random_mask(generator: torch.Generator, *shape: int) -> torch.Tensor:
    """A random bool mask with at least one True in every row of the last axis."""
    mask = torch.rand(*shape, generator=generator) < 0.6
    mask[..., 0] = True
    return mask[..., torch.randperm(shape[-1], generator=generator)]


# --------------------------------------------------------------------------------------------------------------
# GAE and V-trace.
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_gae_matches_the_loop(seed: int, lam: float) -> None:
    data = random_sequences(seed)
    advantages, returns = gae(data["rewards"], data["values"], data["bootstrap_value"], data["discounts"], lam)
    expected_advantages, expected_returns = loop_gae(as_lists(data), lam)
    torch.testing.assert_close(advantages, tensor(expected_advantages), **TOLERANCE)
    torch.testing.assert_close(returns, tensor(expected_returns), **TOLERANCE)


@pytest.mark.parametrize("seed", SEEDS)
def test_gae_with_lambda_one_returns_the_n_step_returns(seed: int) -> None:
    data = random_sequences(seed)
    _, returns = gae(data["rewards"], data["values"], data["bootstrap_value"], data["discounts"], 1.0)
    torch.testing.assert_close(returns, tensor(loop_n_step_returns(as_lists(data))), **TOLERANCE)


CLIPS = [
    pytest.param(1.0, 1.0, 1.0, 1.0, id="paper"),
    pytest.param(2.0, 0.5, 1.5, 1.0, id="rho2-c0.5-pg1.5"),
    pytest.param(None, None, None, 1.0, id="unclipped"),
    pytest.param(1.0, 1.0, 1.0, 0.8, id="lambda0.8"),
]


def truncated_sequences(seed: int) -> dict[str, torch.Tensor]:
    """`random_sequences` where some episodes are cut by a time limit: discount gamma kept, `truncated` True."""
    data = random_sequences(seed)
    generator = torch.Generator().manual_seed(seed + 100)
    truncated = (torch.rand(T, B, generator=generator, dtype=torch.float64) < 0.25) & (data["discounts"] > 0)
    truncated[T // 2 - 1, 1] = True  # at least one mid-sequence and one at the last step
    truncated[T - 1, 2] = True
    data["truncated"] = truncated & (data["discounts"] > 0)
    return data


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_gae_with_truncated_steps_matches_the_loop(seed: int, lam: float) -> None:
    data = truncated_sequences(seed)
    advantages, returns = gae(data["rewards"], data["values"], data["bootstrap_value"], data["discounts"], lam,
                              truncated=data["truncated"])
    expected_advantages, expected_returns = loop_gae(as_lists(data), lam)
    torch.testing.assert_close(advantages, tensor(expected_advantages), **TOLERANCE)
    torch.testing.assert_close(returns, tensor(expected_returns), **TOLERANCE)
    untruncated, _ = gae(data["rewards"], data["values"], data["bootstrap_value"], data["discounts"], lam)
    if lam > 0:
        assert not torch.allclose(advantages, untruncated)  # the cut matters in this data


def test_a_time_limit_bootstraps_from_the_final_observation() -> None:
    """One game: the episode is cut by its time limit at step 1 (discount kept); step 2 is the ignored action on
    its final observation (value 10, invalid, discount 0), step 3 the next episode. Step 1's return is its reward
    plus the discounted value of the final observation, and nothing of the next episode flows back."""
    rewards = tensor([[1.0], [2.0], [0.0], [4.0]])
    values = tensor([[0.0], [0.0], [10.0], [0.0]])
    discounts = tensor([[0.5], [0.5], [0.0], [0.5]])
    truncated = torch.tensor([[False], [True], [False], [False]])
    _, returns = gae(rewards, values, tensor([8.0]), discounts, 1.0, truncated=truncated)
    torch.testing.assert_close(returns[:2], tensor([[1.0 + 0.5 * 7.0], [2.0 + 0.5 * 10.0]]))
    torch.testing.assert_close(returns[3], tensor([4.0 + 0.5 * 8.0]))
    terminated, _ = gae(rewards, values, tensor([8.0]), tensor([[0.5], [0.0], [0.0], [0.5]]), 1.0)
    assert float(terminated[1, 0]) == 2.0  # a termination would have dropped the final value


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("clip_rho", "clip_c", "clip_pg_rho", "lam"), CLIPS)
def test_vtrace_with_truncated_steps_matches_the_loop(
    seed: int, clip_rho: float | None, clip_c: float | None, clip_pg_rho: float | None, lam: float
) -> None:
    data = truncated_sequences(seed)
    result = vtrace(data["behaviour_log_probs"], data["target_log_probs"], data["rewards"], data["values"],
                    data["bootstrap_value"], data["discounts"], clip_rho=clip_rho, clip_c=clip_c,
                    clip_pg_rho=clip_pg_rho, trace_lambda=lam, truncated=data["truncated"])
    expected_vs, expected_pg = loop_vtrace(as_lists(data), clip_rho, clip_c, clip_pg_rho, lam)
    torch.testing.assert_close(result.vs, tensor(expected_vs), **TOLERANCE)
    torch.testing.assert_close(result.pg_advantages, tensor(expected_pg), **TOLERANCE)


@pytest.mark.parametrize("seed", SEEDS)
def test_on_policy_vtrace_with_truncation_is_gae_with_truncation(seed: int) -> None:
    data = truncated_sequences(seed)
    result = vtrace(data["behaviour_log_probs"], data["behaviour_log_probs"], data["rewards"], data["values"],
                    data["bootstrap_value"], data["discounts"], truncated=data["truncated"])
    _, returns = gae(data["rewards"], data["values"], data["bootstrap_value"], data["discounts"], 1.0,
                     truncated=data["truncated"])
    torch.testing.assert_close(result.vs, returns, **TOLERANCE)


def test_an_episode_end_cuts_the_bootstrap() -> None:
    """One environment, an episode ending at step 1: step 1's return is its reward alone."""
    rewards = tensor([[1.0], [2.0], [4.0]])
    discounts = tensor([[0.5], [0.0], [0.5]])
    _, returns = gae(rewards, torch.zeros(3, 1, dtype=torch.float64), tensor([8.0]), discounts, 1.0)
    torch.testing.assert_close(returns, tensor([[2.0], [2.0], [8.0]]))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("lam", [0.5, 1.0])
def test_vtrace_on_policy_with_lambda_one_is_the_n_step_returns(seed: int, lam: float) -> None:
    data = random_sequences(seed)
    result = vtrace(
        data["behaviour_log_probs"],
        data["behaviour_log_probs"],
        data["rewards"],
        data["values"],
        data["bootstrap_value"],
        data["discounts"],
        trace_lambda=lam,
    )
    torch.testing.assert_close(result.rhos, torch.ones(T, B, dtype=torch.float64))
    if lam == 1.0:
        torch.testing.assert_close(result.vs, tensor(loop_n_step_returns(as_lists(data))), **TOLERANCE)
    # On-policy V-trace with lambda is GAE's return with the same lambda.
    _, gae_returns = gae(data["rewards"], data["values"], data["bootstrap_value"], data["discounts"], lam)
    torch.testing.assert_close(result.vs, gae_returns, **TOLERANCE)




@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("clip_rho", "clip_c", "clip_pg_rho", "lam"), CLIPS)
def test_vtrace_matches_the_loop(
    seed: int, clip_rho: float | None, clip_c: float | None, clip_pg_rho: float | None, lam: float
) -> None:
    data = random_sequences(seed)
    result = vtrace(
        data["behaviour_log_probs"],
        data["target_log_probs"],
        data["rewards"],
        data["values"],
        data["bootstrap_value"],
        data["discounts"],
        clip_rho=clip_rho,
        clip_c=clip_c,
        clip_pg_rho=clip_pg_rho,
        trace_lambda=lam,
    )
    expected_vs, expected_pg = loop_vtrace(as_lists(data), clip_rho, clip_c, clip_pg_rho, lam)
    torch.testing.assert_close(result.vs, tensor(expected_vs), **TOLERANCE)
    torch.testing.assert_close(result.pg_advantages, tensor(expected_pg), **TOLERANCE)
    torch.testing.assert_close(result.rhos, (data["target_log_probs"] - data["behaviour_log_probs"]).exp())


def test_the_clips_matter_in_the_random_data() -> None:
    """Guards the tests above: some ratios exceed 1 and some fall below, so the clipped and unclipped differ."""
    data = random_sequences(0)
    rhos = (data["target_log_probs"] - data["behaviour_log_probs"]).exp()
    assert (rhos > 1.0).any() and (rhos < 1.0).any()
    clipped = loop_vtrace(as_lists(data), 1.0, 1.0, 1.0, 1.0)[0]
    unclipped = loop_vtrace(as_lists(data), None, None, None, 1.0)[0]
    assert not torch.allclose(tensor(clipped), tensor(unclipped))


def test_targets_carry_no_gradient() -> None:
    data = {name: value.clone().requires_grad_(True) for name, value in random_sequences(0).items()}
    advantages, returns = gae(data["rewards"], data["values"], data["bootstrap_value"], data["discounts"], 0.95)
    result = vtrace(
        data["behaviour_log_probs"],
        data["target_log_probs"],
        data["rewards"],
        data["values"],
        data["bootstrap_value"],
        data["discounts"],
    )
    for target in (advantages, returns, result.vs, result.pg_advantages, result.rhos):
        assert not target.requires_grad


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gae(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3), torch.zeros(3, 2), 0.9), "bootstrap"),
        (lambda: gae(torch.zeros(3, 2), torch.zeros(3, 3), torch.zeros(2), torch.zeros(3, 2), 0.9), "one shape"),
        (lambda: gae(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(2), torch.zeros(3, 2), 1.5), "gae_lambda"),
        (lambda: ppo_policy_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), clip=0.0), "clip"),
        (lambda: value_loss(torch.zeros(2), torch.zeros(2), clip=0.2), "old_values"),
        (lambda: ppo_loss(*[torch.zeros(2)] * 6, config=PPOLossConfig(value_clip=0.2)), "old_values"),
    ],
)
def test_bad_arguments_are_explained(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------------------------------------------
# PPO's terms.
# --------------------------------------------------------------------------------------------------------------


def test_ppo_clipping_at_hand_computed_values() -> None:
    """clip 0.2. Ratio 1.5: A=+1 takes the clipped 1.2 (no gradient), A=-1 the unclipped -1.5. Ratio 0.5: A=+1 the
    unclipped 0.5, A=-1 the clipped -0.8 (no gradient). Ratio 1.1, inside the region: the unclipped 1.1."""
    ratios = torch.tensor([1.5, 1.5, 0.5, 0.5, 1.1], dtype=torch.float64)
    advantages = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0], dtype=torch.float64)
    for ratio, advantage, objective, gradient in [
        (1.5, 1.0, 1.2, 0.0),
        (1.5, -1.0, -1.5, 1.5),
        (0.5, 1.0, 0.5, -0.5),
        (0.5, -1.0, -0.8, 0.0),
    ]:
        new = torch.tensor([math.log(ratio)], dtype=torch.float64, requires_grad=True)
        old = torch.zeros(1, dtype=torch.float64)
        loss, clip_fraction = ppo_policy_loss(new, old, torch.tensor([advantage], dtype=torch.float64), 0.2)
        assert loss.item() == pytest.approx(-objective), (ratio, advantage)
        assert clip_fraction.item() == 1.0
        (grad,) = torch.autograd.grad(loss, new)
        # d(-ratio * A)/d(log ratio) = -ratio * A on the unclipped side, 0 on the clipped side.
        assert grad.item() == pytest.approx(gradient), (ratio, advantage)
    loss, clip_fraction = ppo_policy_loss(ratios.log(), torch.zeros(5, dtype=torch.float64), advantages, 0.2)
    assert loss.item() == pytest.approx(-(1.2 - 1.5 + 0.5 - 0.8 + 1.1) / 5)
    assert clip_fraction.item() == pytest.approx(4 / 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_ppo_policy_loss_matches_the_loop(seed: int) -> None:
    data = random_sequences(seed)
    new, old, advantages = data["target_log_probs"], data["behaviour_log_probs"], data["rewards"]
    loss, clip_fraction = ppo_policy_loss(new, old, advantages, 0.2)
    objectives, clipped = [], []
    for t in range(T):
        for b in range(B):
            ratio = math.exp(new[t, b].item() - old[t, b].item())
            adv = advantages[t, b].item()
            objectives.append(min(ratio * adv, min(max(ratio, 0.8), 1.2) * adv))
            clipped.append(abs(ratio - 1.0) > 0.2)
    assert loss.item() == pytest.approx(-sum(objectives) / len(objectives), rel=1e-12)
    assert clip_fraction.item() == pytest.approx(sum(clipped) / len(clipped))


@pytest.mark.parametrize("seed", SEEDS)
def test_value_loss_matches_the_loop(seed: int) -> None:
    data = random_sequences(seed)
    values, returns, old = data["values"], data["rewards"], data["target_log_probs"]
    plain, clipped = [], []
    for t in range(T):
        for b in range(B):
            v, r, o = values[t, b].item(), returns[t, b].item(), old[t, b].item()
            v_clipped = o + min(max(v - o, -0.3), 0.3)
            plain.append((v - r) ** 2)
            clipped.append(max((v - r) ** 2, (v_clipped - r) ** 2))
    assert value_loss(values, returns).item() == pytest.approx(0.5 * sum(plain) / len(plain), rel=1e-12)
    assert value_loss(values, returns, old, clip=0.3).item() == pytest.approx(
        0.5 * sum(clipped) / len(clipped), rel=1e-12
    )


def test_value_clipping_at_hand_computed_values() -> None:
    """Old value 0, new 1, return 2, clip 0.2: the clipped value 0.2 is further from 2, so the loss is
    0.5 * 1.8^2 = 1.62 and its gradient is 0 (the clipped branch does not move with the value)."""
    values = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    loss = value_loss(values, torch.tensor([2.0], dtype=torch.float64), torch.zeros(1, dtype=torch.float64), clip=0.2)
    assert loss.item() == pytest.approx(1.62)
    assert torch.autograd.grad(loss, values)[0].item() == 0.0
    unclipped = value_loss(values, torch.tensor([2.0], dtype=torch.float64))
    assert unclipped.item() == pytest.approx(0.5)
    assert torch.autograd.grad(unclipped, values)[0].item() == pytest.approx(-1.0)


def test_masks_keep_padding_out_of_every_mean() -> None:
    data = random_sequences(1)
    mask = torch.ones(T, B, dtype=torch.bool)
    mask[T - 2 :, 1:] = False
    # Padding holds large finite values that would move every mean if it were counted.
    padded = {name: torch.where(mask, value, 7.0) for name, value in data.items() if value.shape == (T, B)}
    kept = {name: value[mask] for name, value in data.items() if value.shape == (T, B)}
    new, old, adv, values = "target_log_probs", "behaviour_log_probs", "rewards", "values"
    pairs = [
        (
            ppo_policy_loss(padded[new], padded[old], padded[adv], 0.2, mask),
            ppo_policy_loss(kept[new], kept[old], kept[adv], 0.2),
        ),
        (
            (value_loss(padded[values], padded[adv], padded[old], 0.2, mask),),
            (value_loss(kept[values], kept[adv], kept[old], 0.2),),
        ),
        ((entropy_loss(padded[values], mask),), (entropy_loss(kept[values]),)),
        ((normalize_advantages(padded[adv], mask=mask)[mask],), (normalize_advantages(kept[adv]),)),
    ]
    for masked, reference in pairs:
        for got, expected in zip(masked, reference):
            torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_normalize_advantages(seed: int) -> None:
    advantages = random_sequences(seed)["rewards"] * 3.0 + 2.0
    normalized = normalize_advantages(advantages)
    flat = advantages.flatten().tolist()
    mean = sum(flat) / len(flat)
    std = math.sqrt(sum((x - mean) ** 2 for x in flat) / (len(flat) - 1))
    torch.testing.assert_close(normalized, (advantages - mean) / (std + 1e-8))
    assert normalize_advantages(torch.full((4,), 3.0)).abs().max().item() == 0.0


# --------------------------------------------------------------------------------------------------------------
# Masked categoricals.
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_masked_categoricals_match_the_loop(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    p_logits = torch.randn(T, B, A, generator=generator, dtype=torch.float64) * 2.0
    q_logits = torch.randn(T, B, A, generator=generator, dtype=torch.float64) * 2.0
    mask = random_mask(generator, T, B, A)
    log_probs = masked_log_softmax(p_logits, mask)
    entropy = categorical_entropy(p_logits, mask)
    kl = categorical_kl(p_logits, q_logits, mask)
    for t in range(T):
        for b in range(B):
            p_row, q_row, allowed = p_logits[t, b].tolist(), q_logits[t, b].tolist(), mask[t, b].tolist()
            expected = loop_log_softmax(p_row, allowed)
            for a in range(A):
                if allowed[a]:
                    assert log_probs[t, b, a].item() == pytest.approx(expected[a], rel=1e-12)
                else:
                    assert log_probs[t, b, a].exp().item() == 0.0
            assert entropy[t, b].item() == pytest.approx(loop_entropy(p_row, allowed), rel=1e-10, abs=1e-12)
            assert kl[t, b].item() == pytest.approx(loop_kl(p_row, q_row, allowed), rel=1e-10, abs=1e-12)
    assert (kl >= -1e-12).all()


def test_without_a_mask_the_categoricals_are_torchs() -> None:
    generator = torch.Generator().manual_seed(0)
    p_logits, q_logits = torch.randn(2, B, A, generator=generator), torch.randn(2, B, A, generator=generator)
    p, q = torch.distributions.Categorical(logits=p_logits), torch.distributions.Categorical(logits=q_logits)
    torch.testing.assert_close(categorical_entropy(p_logits), p.entropy())
    torch.testing.assert_close(categorical_kl(p_logits, q_logits), torch.distributions.kl_divergence(p, q))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_uniform_over_k_allowed_actions_has_entropy_log_k(k: int) -> None:
    logits = torch.randn(A) * 100.0
    logits[:k] = 3.0
    mask = torch.arange(A) < k
    assert categorical_entropy(logits, mask).item() == pytest.approx(math.log(k), abs=1e-6)


def test_kl_of_identical_distributions_is_zero() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(T, B, A, generator=generator)
    mask = random_mask(generator, T, B, A)
    assert categorical_kl(logits, logits, mask).abs().max().item() < 1e-6
    assert categorical_kl(logits, logits + 5.0, mask).abs().max().item() < 1e-6  # a shift is the same policy


@pytest.mark.parametrize("fill", [float("-inf"), float("inf"), float("nan"), -1e30, 1e30])
def test_masked_entries_stay_finite_forwards_and_backwards(fill: float) -> None:
    """Whatever masked-out logits hold, entropy and KL and their gradients are finite, and the gradient never
    reaches a masked-out logit."""
    generator = torch.Generator().manual_seed(0)
    mask = random_mask(generator, T, B, A)
    mask[0, 0] = torch.tensor([True] + [False] * (A - 1))  # a single allowed action: p = 1 there
    p_logits = torch.where(mask, torch.randn(T, B, A, generator=generator), fill).requires_grad_(True)
    q_logits = torch.where(mask, torch.randn(T, B, A, generator=generator), fill).requires_grad_(True)
    entropy = categorical_entropy(p_logits, mask)
    kl = categorical_kl(p_logits, q_logits, mask)
    log_probs = masked_log_softmax(p_logits, mask)
    assert torch.isfinite(entropy).all() and torch.isfinite(kl).all() and torch.isfinite(log_probs).all()
    assert entropy[0, 0].item() == 0.0 and kl[0, 0].item() == 0.0
    assert (log_probs.exp()[~mask] == 0.0).all()
    p_grad, q_grad = torch.autograd.grad(entropy.sum() + kl.sum(), (p_logits, q_logits))
    for grad in (p_grad, q_grad):
        assert torch.isfinite(grad).all()
        assert (grad[~mask] == 0.0).all()


# --------------------------------------------------------------------------------------------------------------
# Whole losses.
# --------------------------------------------------------------------------------------------------------------


def leaf(x: torch.Tensor) -> torch.Tensor:
    return x.clone().requires_grad_(True)


@pytest.mark.parametrize("seed", SEEDS)
def test_ppo_loss_assembles_its_terms(seed: int) -> None:
    data = random_sequences(seed)
    new, values = leaf(data["target_log_probs"]), leaf(data["values"])
    entropy, kl = leaf(data["discounts"] + 0.5), leaf(data["rewards"].abs())
    old, advantages, returns = data["behaviour_log_probs"], data["rewards"], data["rewards"] + 1.0
    config = PPOLossConfig(clip=0.3, value_coef=0.7, entropy_coef=0.05, kl_coef=0.2)
    total, stats = ppo_loss(new, old, advantages, values, returns, entropy, kl, config=config)
    policy, clip_fraction = ppo_policy_loss(new, old, advantages, 0.3)
    expected = policy + 0.7 * value_loss(values, returns) - 0.05 * entropy.mean() + 0.2 * kl.mean()
    torch.testing.assert_close(total, expected)
    torch.testing.assert_close(stats["clip_fraction"], clip_fraction)
    torch.testing.assert_close(stats["entropy"], entropy.mean().detach())
    assert set(stats) == {"total_loss", "policy_loss", "value_loss", "entropy", "kl", "clip_fraction", "approx_kl"}
    assert all(s.dim() == 0 and not s.requires_grad for s in stats.values())
    assert stats["approx_kl"].item() >= 0.0
    # Gradients reach what is learned (log-probs, values, entropy, KL), never the data or the targets.
    old, advantages, returns = leaf(old), leaf(advantages), leaf(returns)
    total, _ = ppo_loss(new, old, advantages, values, returns, entropy, kl, config=config)
    grads = torch.autograd.grad(total, (new, values, entropy, kl, old, advantages, returns), allow_unused=True)
    assert all(g is not None and g.abs().sum() > 0 for g in grads[:4])
    assert all(g is None for g in grads[4:])


def test_without_the_policy_and_entropy_terms_only_the_value_and_kl_learn() -> None:
    data = random_sequences(1)
    new, values = leaf(data["target_log_probs"]), leaf(data["values"])
    entropy, kl = leaf(data["discounts"] + 0.5), leaf(data["rewards"].abs())
    config = PPOLossConfig(value_coef=0.7, entropy_coef=0.0, kl_coef=0.2, policy_coef=0.0)
    total, stats = ppo_loss(new, data["behaviour_log_probs"], data["rewards"], values, data["rewards"] + 1.0,
                            entropy, kl, config=config)
    torch.testing.assert_close(total, 0.7 * value_loss(values, data["rewards"] + 1.0) + 0.2 * kl.mean())
    assert stats["policy_loss"].abs().item() > 0  # still reported
    grads = torch.autograd.grad(total, (new, values, entropy, kl))
    assert grads[0].abs().sum() == 0 and grads[2].abs().sum() == 0
    assert grads[1].abs().sum() > 0 and grads[3].abs().sum() > 0


def test_ppo_loss_without_kl_and_with_value_clipping() -> None:
    data = random_sequences(0)
    old_values = data["values"] + 0.5
    total, stats = ppo_loss(
        data["target_log_probs"],
        data["behaviour_log_probs"],
        data["rewards"],
        data["values"],
        data["rewards"],
        data["discounts"],
        config=PPOLossConfig(value_clip=0.1),
        old_values=old_values,
    )
    assert stats["kl"].item() == 0.0
    clipped = value_loss(data["values"], data["rewards"], old_values, clip=0.1)
    torch.testing.assert_close(stats["value_loss"], clipped)
    assert clipped > value_loss(data["values"], data["rewards"])


@pytest.mark.parametrize("seed", SEEDS)
def test_vtrace_loss_matches_the_loop_and_keeps_gradients_off_the_targets(seed: int) -> None:
    data = random_sequences(seed)
    config = VTraceLossConfig(
        clip_rho=1.5, clip_c=0.9, clip_pg_rho=1.2, value_coef=0.4, entropy_coef=0.03, kl_coef=0.1
    )
    expected_vs, expected_pg = loop_vtrace(as_lists(data), 1.5, 0.9, 1.2, 1.0)
    vs, pg = tensor(expected_vs), tensor(expected_pg)
    inputs = {name: leaf(value) for name, value in data.items()}
    entropy, kl = leaf(data["discounts"] + 0.5), leaf(data["rewards"].abs())
    total, stats = vtrace_loss(
        inputs["behaviour_log_probs"],
        inputs["target_log_probs"],
        inputs["rewards"],
        inputs["values"],
        inputs["bootstrap_value"],
        inputs["discounts"],
        entropy,
        kl,
        config=config,
    )
    n = T * B
    policy = -(pg * data["target_log_probs"]).sum() / n
    baseline = 0.5 * (vs - data["values"]).square().sum() / n
    expected = policy + 0.4 * baseline - 0.03 * entropy.mean() + 0.1 * kl.mean()
    torch.testing.assert_close(total, expected, **TOLERANCE)
    torch.testing.assert_close(stats["policy_loss"], policy, **TOLERANCE)
    torch.testing.assert_close(stats["value_loss"], baseline, **TOLERANCE)
    assert all(s.dim() == 0 and not s.requires_grad for s in stats.values())
    names = ["target_log_probs", "values", "behaviour_log_probs", "rewards", "bootstrap_value", "discounts"]
    grads = dict(zip(names, torch.autograd.grad(total, [inputs[n_] for n_ in names], allow_unused=True)))
    # The policy term's gradient is the advantage itself; the baseline's is 0.4 * (values - vs) / n.
    torch.testing.assert_close(grads["target_log_probs"], -pg / n, **TOLERANCE)
    torch.testing.assert_close(grads["values"], 0.4 * (data["values"] - vs) / n, **TOLERANCE)
    for name in names[2:]:
        assert grads[name] is None, name
