"""The learners' maths as pure torch functions: advantage estimation, V-trace targets and the PPO / IMPALA losses.

Every function takes tensors and returns tensors; none holds state. Sequences are time-major: `[T, B]` is T steps
of B environments (or B sequences of a replay batch), and `bootstrap_value [B]` is the value of the state reached
after the last step. A step's `discount` is `gamma * (1 - done)`: 0 where the episode ended at that step, so nothing
after an episode's end flows back into it (the arena's termination is `discount == 0`, PySC2's `TimeStep`).

A time limit is not an end (Pardo et al. 2018): where `truncated [T, B]` is True the episode was cut at that step
with its discount still `gamma`, and the value it bootstraps from, `V[t + 1]`, is the value of its final observation.
The environments reset on the step after an episode ends (next-step autoreset), so that observation is what the
next step of the sequence starts from and its value is simply the next entry of `values` (or `bootstrap_value` at
the last step). The trace, though, must not run on into the next episode: a truncated step cuts it.

Targets (advantages, returns, V-trace's `vs` and policy-gradient advantages) are computed without gradients: a loss
moves the policy and the value towards them, never them towards the prediction.

Losses are means over all elements. Where a batch is padded, an optional `mask` (True for real steps) keeps the
padding out of every mean; padded entries must be finite, their values do not matter.

References:
    Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized Advantage Estimation" (GAE).
    Schulman et al. 2017, "Proximal Policy Optimization Algorithms" (the clipped surrogate).
    Espeholt et al. 2018, "IMPALA: Scalable Distributed Deep-RL with Importance Weighted Actor-Learner
        Architectures" (V-trace); reference implementation deepmind/scalable_agent `vtrace.py`.
    Vinyals et al. 2019, "Grandmaster level in StarCraft II using multi-agent reinforcement learning" (AlphaStar:
        a KL penalty towards a supervised, behaviour-cloned policy).
"""

from __future__ import annotations

import dataclasses

import torch

# ----------------------------------------------------------------------------------------------------------------
# Checks and reductions shared by the functions below.
# ----------------------------------------------------------------------------------------------------------------


def _check_same_shape(**tensors: torch.Tensor) -> None:
    """Raise a ValueError naming every argument when the tensors do not all have the same shape."""
    shapes = {name: tuple(tensor.shape) for name, tensor in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"expected tensors of one shape, got {listed}")


def _check_sequences(bootstrap_value: torch.Tensor, **sequences: torch.Tensor) -> None:
    """Raise a ValueError unless the sequences are time-major `[T, B]` alike and `bootstrap_value` is `[B]`."""
    _check_same_shape(**sequences)
    name, first = next(iter(sequences.items()))
    if first.dim() < 1 or first.shape[0] == 0:
        raise ValueError(f"expected time-major sequences [T, B] with T >= 1, got {name} {tuple(first.shape)}")
    if tuple(bootstrap_value.shape) != tuple(first.shape[1:]):
        raise ValueError(
            f"bootstrap_value must be the value after the last step, shape {tuple(first.shape[1:])} (the sequences "
            f"without their time axis), got {tuple(bootstrap_value.shape)}"
        )


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The mean of `values` over the entries where `mask` is True (all entries without a mask); 0 if none are.

    `torch.where` rather than a product, so even a padded inf stays out of the result.
    """
    if mask is None:
        return values.mean()
    _check_same_shape(values=values, mask=mask)
    kept = mask.to(torch.bool)
    total = torch.where(kept, values, torch.zeros_like(values)).sum()
    return total / kept.sum().clamp(min=1).to(values.dtype)


def _shifted_values(values: torch.Tensor, bootstrap_value: torch.Tensor) -> torch.Tensor:
    """`values` one step ahead: the value of the state after each step, `[T, B]`, the last being the bootstrap."""
    return torch.cat([values[1:], bootstrap_value.unsqueeze(0)], dim=0)


def _trace_decays(discounts: torch.Tensor, truncated: torch.Tensor | None) -> torch.Tensor:
    """The discounts the trace carries backwards: `discounts`, but 0 at truncated steps (the trace stops there while
    the one-step bootstrap still uses the discount)."""
    if truncated is None:
        return discounts
    _check_same_shape(discounts=discounts, truncated=truncated)
    return torch.where(truncated.to(torch.bool), torch.zeros_like(discounts), discounts)


def _discounted_backward_sum(deltas: torch.Tensor, decays: torch.Tensor) -> torch.Tensor:
    """`out[t] = deltas[t] + decays[t] * out[t + 1]`, with `out[T] = 0`; all tensors `[T, B]`.

    The backward recursion shared by GAE (`decays = discount * lambda`) and V-trace (`decays = discount * c`).
    """
    out = torch.empty_like(deltas)
    accumulated = torch.zeros_like(deltas[0])
    for t in range(deltas.shape[0] - 1, -1, -1):
        accumulated = deltas[t] + decays[t] * accumulated
        out[t] = accumulated
    return out


# ----------------------------------------------------------------------------------------------------------------
# Targets.
# ----------------------------------------------------------------------------------------------------------------


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap_value: torch.Tensor,
    discounts: torch.Tensor,
    gae_lambda: float,
    truncated: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimation (Schulman et al. 2016), computed backwards and without gradients.

    `delta[t] = rewards[t] + discounts[t] * V[t + 1] - V[t]` and
    `advantages[t] = delta[t] + discounts[t] * gae_lambda * advantages[t + 1]`, with `V[T] = bootstrap_value`.
    A zero discount (an episode's end) cuts both the bootstrap and the trace, as in cleanrl's `ppo.py`; a
    truncated step (a time limit) keeps its bootstrap `discounts[t] * V[t + 1]` and cuts only the trace.

    Args:
        rewards: `[T, B]` reward received at each step.
        values: `[T, B]` the value estimate of the state each step starts from.
        bootstrap_value: `[B]` the value estimate of the state after the last step.
        discounts: `[T, B]` `gamma * (1 - done)`: 0 where the episode ended at that step.
        gae_lambda: the trace's decay in [0, 1]; 0 gives one-step TD errors, 1 the discounted returns minus values.
        truncated: optional `[T, B]` bool, True where a time limit cut the episode at that step (module docstring).

    Returns:
        `(advantages, returns)`, both `[T, B]` and detached; `returns = advantages + values`, the value targets.
    """
    _check_sequences(bootstrap_value, rewards=rewards, values=values, discounts=discounts)
    if not 0.0 <= gae_lambda <= 1.0:
        raise ValueError(f"gae_lambda must lie in [0, 1], got {gae_lambda}")
    with torch.no_grad():
        values = values.detach()
        deltas = rewards + discounts * _shifted_values(values, bootstrap_value.detach()) - values
        advantages = _discounted_backward_sum(deltas, _trace_decays(discounts, truncated) * gae_lambda)
        return advantages, advantages + values


@dataclasses.dataclass(frozen=True)
class VTraceReturns:
    """V-trace targets for a batch of sequences, all detached."""

    vs: torch.Tensor
    """`[T, B]` the V-trace value targets v_s."""
    pg_advantages: torch.Tensor
    """`[T, B]` the policy-gradient advantages `rho_s (r_s + discount_s v_{s+1} - V(x_s))`, rho clipped at
    `clip_pg_rho`."""
    rhos: torch.Tensor
    """`[T, B]` the unclipped importance ratios `pi(a_s | x_s) / mu(a_s | x_s)`, for logging."""


def _clipped(ratios: torch.Tensor, clip: float | None) -> torch.Tensor:
    """`min(clip, ratios)`, or the ratios unchanged when `clip` is None (V-trace's truncation thresholds)."""
    return ratios if clip is None else ratios.clamp(max=clip)


def vtrace(
    behaviour_log_probs: torch.Tensor,
    target_log_probs: torch.Tensor,
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap_value: torch.Tensor,
    discounts: torch.Tensor,
    clip_rho: float | None = 1.0,
    clip_c: float | None = 1.0,
    clip_pg_rho: float | None = 1.0,
    trace_lambda: float = 1.0,
    truncated: torch.Tensor | None = None,
) -> VTraceReturns:
    """IMPALA's V-trace targets (Espeholt et al. 2018, section 4.1), computed backwards without gradients.

    Follows deepmind/scalable_agent `vtrace.from_importance_weights`: with `rho_t = pi / mu` the importance ratio,
    `delta_t = min(clip_rho, rho_t) (r_t + discount_t V(x_{t+1}) - V(x_t))` and
    `c_t = trace_lambda * min(clip_c, rho_t)`,
    `v_s - V(x_s) = delta_s + discount_s c_s (v_{s+1} - V(x_{s+1}))` and
    `pg_advantage_s = min(clip_pg_rho, rho_s) (r_s + discount_s v_{s+1} - V(x_s))`, with `v_T = V(x_T) =
    bootstrap_value`. On-policy (`rho = 1`) with `trace_lambda = 1`, `vs` are the discounted n-step returns
    bootstrapped from `bootstrap_value`. `trace_lambda` is the lambda of the paper's remark 2 (rlax `lambda_`).

    Args:
        behaviour_log_probs: `[T, B]` log mu(a_t | x_t), the policy that acted.
        target_log_probs: `[T, B]` log pi(a_t | x_t), the policy being learned.
        rewards: `[T, B]` reward received at each step.
        values: `[T, B]` V(x_t) under the learner's value function.
        bootstrap_value: `[B]` V(x_T), the value after the last step.
        discounts: `[T, B]` `gamma * (1 - done)`: 0 where the episode ended at that step.
        clip_rho: rho-bar, the truncation of the ratios in the value targets; None for none.
        clip_c: c-bar, the truncation of the trace coefficients; None for none.
        clip_pg_rho: the truncation of the ratios in the policy-gradient advantages; None for none.
        trace_lambda: a decay in [0, 1] multiplying every trace coefficient c_t.
        truncated: optional `[T, B]` bool, True where a time limit cut the episode at that step: there
            `v_s = V(x_s) + delta_s` (no trace from the next episode) and the policy-gradient advantage bootstraps
            from `V(x_{s+1})`, the final observation's value (module docstring).

    Returns:
        `VTraceReturns(vs, pg_advantages, rhos)`, each `[T, B]` and detached.
    """
    _check_sequences(
        bootstrap_value,
        behaviour_log_probs=behaviour_log_probs,
        target_log_probs=target_log_probs,
        rewards=rewards,
        values=values,
        discounts=discounts,
    )
    if not 0.0 <= trace_lambda <= 1.0:
        raise ValueError(f"trace_lambda must lie in [0, 1], got {trace_lambda}")
    with torch.no_grad():
        values, bootstrap_value = values.detach(), bootstrap_value.detach()
        rhos = torch.exp(target_log_probs.detach() - behaviour_log_probs.detach())
        next_values = _shifted_values(values, bootstrap_value)
        deltas = _clipped(rhos, clip_rho) * (rewards + discounts * next_values - values)
        traces = trace_lambda * _clipped(rhos, clip_c)
        vs = values + _discounted_backward_sum(deltas, _trace_decays(discounts, truncated) * traces)
        next_vs = _shifted_values(vs, bootstrap_value)
        if truncated is not None:
            next_vs = torch.where(truncated.to(torch.bool), next_values, next_vs)
        pg_advantages = _clipped(rhos, clip_pg_rho) * (rewards + discounts * next_vs - values)
        return VTraceReturns(vs=vs, pg_advantages=pg_advantages, rhos=rhos)


def normalize_advantages(
    advantages: torch.Tensor, eps: float = 1e-8, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Advantages shifted to mean 0 and scaled to standard deviation 1 over the batch (cleanrl's `norm_adv`).

    Args:
        advantages: any shape, usually `[T, B]`.
        eps: added to the standard deviation, so a constant batch gives zeros rather than NaN.
        mask: optional, the shape of `advantages`; True for real steps. Statistics use only those; the padded
            entries come back as 0.

    Returns:
        The normalized advantages, the shape of `advantages`. The standard deviation is the unbiased one
        (`torch.std`'s), taken over at least one degree of freedom so that a single element gives 0, not NaN.
    """
    kept = torch.ones_like(advantages, dtype=torch.bool) if mask is None else mask.to(torch.bool)
    _check_same_shape(advantages=advantages, mask=kept)
    zeros = torch.zeros_like(advantages)
    count = kept.sum().to(advantages.dtype)
    mean = torch.where(kept, advantages, zeros).sum() / count.clamp(min=1)
    centred = torch.where(kept, advantages - mean, zeros)
    std = (centred.square().sum() / (count - 1).clamp(min=1)).sqrt()
    return centred / (std + eps)


# ----------------------------------------------------------------------------------------------------------------
# Categorical distributions over the actions a mask allows.
# ----------------------------------------------------------------------------------------------------------------


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Log-probabilities of a categorical over the actions `mask` allows, the others given probability 0.

    Masked-out logits are ignored whatever they hold (even -inf or NaN, forwards and backwards); their entries in
    the result are the dtype's most negative finite number rather than -inf, so that `exp` gives exactly 0 and
    products with zero probabilities stay 0 rather than NaN (as `torch.distributions.Categorical` clamps them).
    A row that allows nothing comes out uniform over all its actions instead of NaN; callers should not rely on it.

    Args:
        logits: `[..., A]` unnormalized log-probabilities over A actions.
        mask: `[..., A]` bool, True where the action is allowed; None allows every action.

    Returns:
        `[..., A]` log-probabilities.
    """
    if mask is None:
        return torch.log_softmax(logits, dim=-1)
    _check_same_shape(logits=logits, mask=mask)
    allowed = mask.to(torch.bool)
    most_negative = torch.finfo(logits.dtype).min
    filled = torch.where(allowed, logits, torch.full_like(logits, most_negative))
    log_probs = torch.log_softmax(filled, dim=-1)
    return torch.where(allowed, log_probs, torch.full_like(log_probs, most_negative))


def _allowed_log_probs(logits: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """`(probs, log_probs)`, both `[..., A]` with 0 in every masked-out entry, ready for `probs * log_probs` sums."""
    log_probs = masked_log_softmax(logits, mask)
    if mask is not None:
        log_probs = torch.where(mask.to(torch.bool), log_probs, torch.zeros_like(log_probs))
        return torch.where(mask.to(torch.bool), log_probs.exp(), torch.zeros_like(log_probs)), log_probs
    return log_probs.exp(), log_probs


def categorical_entropy(logits: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The entropy `-sum_a p(a) log p(a)` of the masked categorical of `masked_log_softmax`, in nats.

    Masked-out actions contribute exactly 0, with a finite gradient (no `0 * -inf`).

    Args:
        logits: `[..., A]`.
        mask: `[..., A]` bool, True where the action is allowed; None allows every action.

    Returns:
        `[...]` the entropy of each distribution; `log k` for a uniform over k allowed actions.
    """
    probs, log_probs = _allowed_log_probs(logits, mask)
    return -(probs * log_probs).sum(dim=-1)


def categorical_kl(p_logits: torch.Tensor, q_logits: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """`KL(p || q) = sum_a p(a) (log p(a) - log q(a))` between two masked categoricals over the same actions.

    Both distributions are restricted to the actions `mask` allows (the action mask of the state both saw), so
    masked-out entries contribute exactly 0 and never NaN. AlphaStar's penalty towards the supervised policy
    uses it with p the learner and q the behaviour-cloned policy (Vinyals et al. 2019).

    Args:
        p_logits: `[..., A]` logits of p.
        q_logits: `[..., A]` logits of q.
        mask: `[..., A]` bool, True where the action is allowed; None allows every action.

    Returns:
        `[...]` the KL divergence of each pair, >= 0 (up to rounding), 0 for identical distributions.
    """
    _check_same_shape(p_logits=p_logits, q_logits=q_logits)
    p_probs, p_log_probs = _allowed_log_probs(p_logits, mask)
    _, q_log_probs = _allowed_log_probs(q_logits, mask)
    return (p_probs * (p_log_probs - q_log_probs)).sum(dim=-1)


# ----------------------------------------------------------------------------------------------------------------
# Loss terms.
# ----------------------------------------------------------------------------------------------------------------


def ppo_policy_loss(
    new_log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    clip: float,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate objective, negated to be minimized (Schulman et al. 2017, equation 7).

    `loss = -mean(min(ratio * A, clamp(ratio, 1 - clip, 1 + clip) * A))` with `ratio = exp(new - old)`.
    Gradients flow into `new_log_probs` only; `old_log_probs` and `advantages` are treated as constants.

    Args:
        new_log_probs: `[T, B]` log pi(a_t | x_t) under the policy being learned.
        old_log_probs: `[T, B]` log pi_old(a_t | x_t) under the policy that collected the data.
        advantages: `[T, B]` advantage estimates (usually `gae`'s, often `normalize_advantages`'d).
        clip: epsilon, the half-width of the trust region around ratio 1; > 0.
        mask: optional `[T, B]` bool, True for real steps; the means skip the others.

    Returns:
        `(loss, clip_fraction)`: the scalar loss, and the detached fraction of steps whose ratio lies outside
        `[1 - clip, 1 + clip]`.
    """
    _check_same_shape(new_log_probs=new_log_probs, old_log_probs=old_log_probs, advantages=advantages)
    if clip <= 0:
        raise ValueError(f"the PPO clip must be positive, got {clip}")
    advantages = advantages.detach()
    ratio = torch.exp(new_log_probs - old_log_probs.detach())
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantages
    loss = -_masked_mean(torch.minimum(unclipped, clipped), mask)
    outside = ((ratio.detach() - 1.0).abs() > clip).to(new_log_probs.dtype)
    return loss, _masked_mean(outside, mask)


def value_loss(
    values: torch.Tensor,
    returns: torch.Tensor,
    old_values: torch.Tensor | None = None,
    clip: float | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """`0.5 * mean((values - returns)^2)`, optionally PPO-clipped around the values that collected the data.

    With `clip`, as in OpenAI baselines' `ppo2` and cleanrl's `clip_vloss`:
    `0.5 * mean(max((values - returns)^2, (old_values + clamp(values - old_values, -clip, clip) - returns)^2))`.
    Gradients flow into `values` only.

    Args:
        values: `[T, B]` the value predictions being learned.
        returns: `[T, B]` the targets (`gae`'s returns, V-trace's `vs`).
        old_values: `[T, B]` the predictions when the data was collected; required with `clip`.
        clip: the largest move of a value away from `old_values` that reduces the loss; None for no clipping.
        mask: optional `[T, B]` bool, True for real steps.

    Returns:
        The scalar loss.
    """
    _check_same_shape(values=values, returns=returns)
    returns = returns.detach()
    squared_error = (values - returns).square()
    if clip is not None:
        if old_values is None:
            raise ValueError("value_loss with a clip needs old_values, the predictions the clip is measured from")
        _check_same_shape(values=values, old_values=old_values)
        old_values = old_values.detach()
        clipped_values = old_values + (values - old_values).clamp(-clip, clip)
        squared_error = torch.maximum(squared_error, (clipped_values - returns).square())
    return 0.5 * _masked_mean(squared_error, mask)


def entropy_loss(entropy: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """`-mean(entropy)`: minimizing it raises the policy's entropy (the exploration bonus of A3C and PPO).

    Args:
        entropy: `[T, B]` (or any shape) the policy's entropy at each step, e.g. `categorical_entropy`'s.
        mask: optional, the shape of `entropy`; True for real steps.

    Returns:
        The scalar loss.
    """
    return -_masked_mean(entropy, mask)


# ----------------------------------------------------------------------------------------------------------------
# Whole losses.
# ----------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PPOLossConfig:
    """The weights of PPO's loss terms (defaults: cleanrl's `ppo.py`, Schulman et al. 2017)."""

    clip: float = 0.2
    """epsilon: the policy ratio's trust region is `[1 - clip, 1 + clip]`."""
    value_coef: float = 0.5
    """Weight of the value loss."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus."""
    kl_coef: float = 0.0
    """Weight of the KL penalty towards a supervised policy (AlphaStar); 0 leaves it out."""
    policy_coef: float = 1.0
    """Weight of the policy-gradient term; 0 (with entropy_coef 0) trains the value alone (a critic warm-up)."""
    value_clip: float | None = None
    """PPO-style clipping of the value around the old values; None for none (then no old values are needed)."""


def _approx_kl(new_log_probs: torch.Tensor, old_log_probs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The `(ratio - 1) - log ratio` estimate of KL(old || new), detached (Schulman's "k3", cleanrl's approx_kl)."""
    log_ratio = (new_log_probs - old_log_probs).detach()
    return _masked_mean(torch.expm1(log_ratio) - log_ratio, mask)


def _kl_term(kl: torch.Tensor | None, like: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The mean KL penalty, or a zero scalar when there is none."""
    if kl is None:
        return like.new_zeros(())
    _check_same_shape(kl=kl, log_probs=like)
    return _masked_mean(kl, mask)


def ppo_loss(
    new_log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    returns: torch.Tensor,
    entropy: torch.Tensor,
    kl: torch.Tensor | None = None,
    *,
    config: PPOLossConfig = PPOLossConfig(),
    old_values: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's loss (Schulman et al. 2017, equation 9), with AlphaStar's optional KL penalty.

    `total = policy_coef * policy_loss + value_coef * value_loss + entropy_coef * entropy_loss + kl_coef * mean(kl)`.

    Args:
        new_log_probs: `[T, B]` log-probabilities of the taken actions under the policy being learned.
        old_log_probs: `[T, B]` the same under the policy that collected the data.
        advantages: `[T, B]` advantage estimates; normalize them beforehand if wanted.
        values: `[T, B]` the value predictions being learned.
        returns: `[T, B]` the value targets.
        entropy: `[T, B]` the policy's entropy at each step.
        kl: optional `[T, B]` per-step KL from the learner to a supervised policy (`categorical_kl`).
        config: the clip and the terms' weights.
        old_values: `[T, B]` the value predictions at collection; required when `config.value_clip` is set.
        mask: optional `[T, B]` bool, True for real steps.

    Returns:
        `(total_loss, stats)`: the scalar loss and detached scalar tensors `total_loss`, `policy_loss`,
        `value_loss`, `entropy` (the mean entropy, not its loss), `kl` (the mean penalty KL, 0 without one),
        `clip_fraction` and `approx_kl` (an estimate of KL(old || new) from the ratios, for early stopping).
    """
    _check_same_shape(
        new_log_probs=new_log_probs,
        old_log_probs=old_log_probs,
        advantages=advantages,
        values=values,
        returns=returns,
        entropy=entropy,
    )
    policy, clip_fraction = ppo_policy_loss(new_log_probs, old_log_probs, advantages, config.clip, mask)
    value = value_loss(values, returns, old_values, config.value_clip, mask)
    entropy_term = entropy_loss(entropy, mask)
    kl_term = _kl_term(kl, new_log_probs, mask)
    total = (config.policy_coef * policy + config.value_coef * value + config.entropy_coef * entropy_term
             + config.kl_coef * kl_term)
    stats = {
        "total_loss": total.detach(),
        "policy_loss": policy.detach(),
        "value_loss": value.detach(),
        "entropy": -entropy_term.detach(),
        "kl": kl_term.detach(),
        "clip_fraction": clip_fraction,
        "approx_kl": _approx_kl(new_log_probs, old_log_probs, mask),
    }
    return total, stats


@dataclasses.dataclass(frozen=True)
class VTraceLossConfig:
    """V-trace's truncations and the weights of IMPALA's loss terms (Espeholt et al. 2018)."""

    clip_rho: float | None = 1.0
    """rho-bar, the truncation of the importance ratios in the value targets (the paper's 1.0); None for none."""
    clip_c: float | None = 1.0
    """c-bar, the truncation of the trace coefficients (the paper's 1.0); None for none."""
    clip_pg_rho: float | None = 1.0
    """The truncation of the ratios in the policy-gradient advantages (scalable_agent's 1.0); None for none."""
    trace_lambda: float = 1.0
    """A decay of the traces in [0, 1] (the paper's remark 2); 1 is plain V-trace."""
    value_coef: float = 0.5
    """Weight of the baseline loss (scalable_agent's `baseline_cost` 0.5)."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus."""
    kl_coef: float = 0.0
    """Weight of the KL penalty towards a supervised policy (AlphaStar); 0 leaves it out."""
    policy_coef: float = 1.0
    """Weight of the policy-gradient term; 0 (with entropy_coef 0) trains the value alone (a critic warm-up)."""


def vtrace_loss(
    behaviour_log_probs: torch.Tensor,
    target_log_probs: torch.Tensor,
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap_value: torch.Tensor,
    discounts: torch.Tensor,
    entropy: torch.Tensor,
    kl: torch.Tensor | None = None,
    *,
    config: VTraceLossConfig = VTraceLossConfig(),
    mask: torch.Tensor | None = None,
    truncated: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """IMPALA's actor-critic loss on V-trace targets (Espeholt et al. 2018, section 4.2), as scalable_agent builds it.

    `policy_loss = -mean(pg_advantages * target_log_probs)`, `value_loss = 0.5 * mean((vs - values)^2)`,
    `total = policy_coef * policy_loss + value_coef * value_loss + entropy_coef * entropy_loss + kl_coef * mean(kl)`.
    The targets are detached: gradients reach `target_log_probs` through the policy term only, and `values`
    through the baseline term only. Unlike scalable_agent, terms are means rather than sums, like `ppo_loss`.

    Args:
        behaviour_log_probs: `[T, B]` log-probabilities of the taken actions under the acting policy.
        target_log_probs: `[T, B]` the same under the policy being learned.
        rewards: `[T, B]`.
        values: `[T, B]` the learner's value predictions.
        bootstrap_value: `[B]` the learner's value after the last step.
        discounts: `[T, B]` `gamma * (1 - done)`.
        entropy: `[T, B]` the learned policy's entropy at each step.
        kl: optional `[T, B]` per-step KL from the learner to a supervised policy (`categorical_kl`).
        config: V-trace's truncations and the terms' weights.
        mask: optional `[T, B]` bool, True for real steps; it only keeps padding out of the means, so padded steps
            should also carry discount 0 at the last real step if anything follows them in the sequence.
        truncated: optional `[T, B]` bool, True where a time limit cut the episode (`vtrace`).

    Returns:
        `(total_loss, stats)`: the scalar loss and detached scalar tensors `total_loss`, `policy_loss`,
        `value_loss`, `entropy`, `kl`, `mean_rho` (mean unclipped importance ratio) and `mean_vs`.
    """
    _check_same_shape(target_log_probs=target_log_probs, entropy=entropy)
    targets = vtrace(
        behaviour_log_probs,
        target_log_probs,
        rewards,
        values,
        bootstrap_value,
        discounts,
        clip_rho=config.clip_rho,
        clip_c=config.clip_c,
        clip_pg_rho=config.clip_pg_rho,
        trace_lambda=config.trace_lambda,
        truncated=truncated,
    )
    policy = -_masked_mean(targets.pg_advantages.detach() * target_log_probs, mask)
    value = value_loss(values, targets.vs, mask=mask)
    entropy_term = entropy_loss(entropy, mask)
    kl_term = _kl_term(kl, target_log_probs, mask)
    total = (config.policy_coef * policy + config.value_coef * value + config.entropy_coef * entropy_term
             + config.kl_coef * kl_term)
    stats = {
        "total_loss": total.detach(),
        "policy_loss": policy.detach(),
        "value_loss": value.detach(),
        "entropy": -entropy_term.detach(),
        "kl": kl_term.detach(),
        "mean_rho": _masked_mean(targets.rhos, mask),
        "mean_vs": _masked_mean(targets.vs, mask),
    }
    return total, stats
