"""PFSP weightings, probabilities, draws and the monotonic-suffix rule (league.md, "PFSP weightings")."""

import collections
import random

import pytest

from league.pfsp import Weighting, choose, pfsp_probabilities, remove_monotonic_suffix, weight

RATES = [0.0, 0.2, 0.5, 0.8, 1.0]


@pytest.mark.parametrize("weighting, f", [
    (Weighting.SQUARED, lambda x: (1 - x) ** 2),
    (Weighting.VARIANCE, lambda x: x * (1 - x)),
    (Weighting.LINEAR, lambda x: 1 - x),
    (Weighting.LINEAR_CAPPED, lambda x: min(0.5, 1 - x)),
    (Weighting.UNIFORM, lambda x: 1.0),
])
def test_weight_matches_formula(weighting, f):
    for x in RATES:
        assert weight(x, weighting) == pytest.approx(f(x))


def test_hard_weighting_uses_p_and_squared_is_p_2():
    for x in RATES:
        assert weight(x, Weighting.HARD, p=3.0) == pytest.approx((1 - x) ** 3)
        assert weight(x, Weighting.HARD) == pytest.approx(weight(x, Weighting.SQUARED))


def test_enum_values_are_the_pseudocode_names():
    assert [w.value for w in Weighting] == ["squared", "hard", "variance", "linear", "linear_capped", "uniform"]


def test_probabilities_are_normalised_weights():
    rates = [0.1, 0.4, 0.9]
    weights = [(1 - x) ** 2 for x in rates]
    assert pfsp_probabilities(rates, Weighting.SQUARED) == pytest.approx([w / sum(weights) for w in weights])
    assert sum(pfsp_probabilities(rates, Weighting.LINEAR_CAPPED)) == pytest.approx(1.0)


def test_always_beaten_candidate_is_never_drawn_under_squared():
    assert pfsp_probabilities([1.0, 0.5], Weighting.SQUARED) == [0.0, 1.0]


@pytest.mark.parametrize("weighting, rates", [
    (Weighting.SQUARED, [1.0, 1.0, 1.0]),
    (Weighting.VARIANCE, [0.0, 1.0, 0.0]),
    (Weighting.LINEAR, [1.0, 1.0]),
])
def test_all_zero_weights_fall_back_to_uniform(weighting, rates):
    assert pfsp_probabilities(rates, weighting) == pytest.approx([1 / len(rates)] * len(rates))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="at least one"):
        pfsp_probabilities([], Weighting.SQUARED)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            pfsp_probabilities([0.5, bad], Weighting.SQUARED)
    with pytest.raises(ValueError, match="exponent"):
        weight(0.5, Weighting.HARD, p=0.0)
    with pytest.raises(ValueError):
        weight(0.5, "no_such_weighting")
    with pytest.raises(ValueError, match="2 candidates but 3"):
        choose(["a", "b"], [0.1, 0.2, 0.3], Weighting.SQUARED, random.Random(0))
    with pytest.raises(ValueError, match="at least one"):
        choose([], [], Weighting.SQUARED, random.Random(0))


@pytest.mark.parametrize("weighting", [Weighting.SQUARED, Weighting.VARIANCE, Weighting.LINEAR_CAPPED,
                                       Weighting.UNIFORM])
def test_choose_draws_with_pfsp_probabilities(weighting):
    names, rates, n = ["a", "b", "c", "d"], [0.1, 0.3, 0.6, 0.9], 20_000
    rng = random.Random(1)
    counts = collections.Counter(choose(names, rates, weighting, rng) for _ in range(n))
    for name, probability in zip(names, pfsp_probabilities(rates, weighting)):
        assert counts[name] / n == pytest.approx(probability, abs=0.015)


def test_choose_is_reproducible_and_uses_one_draw():
    names, rates = ["a", "b", "c"], [0.2, 0.5, 0.7]
    first = [choose(names, rates, Weighting.SQUARED, random.Random(7)) for _ in range(5)]
    assert first == [choose(names, rates, Weighting.SQUARED, random.Random(7)) for _ in range(5)]
    rng, reference = random.Random(3), random.Random(3)
    choose(names, rates, Weighting.SQUARED, rng)
    reference.random()
    assert rng.random() == reference.random()


class _AlmostOne(random.Random):
    """A draw at the very top of [0, 1), where rounding in the cumulative sum can leave it unmatched."""

    def random(self):
        return 1.0


def test_choose_never_returns_a_zero_probability_candidate_at_the_edge():
    assert choose(["a", "b", "c"], [0.3, 0.4, 1.0], Weighting.SQUARED, _AlmostOne()) in ("a", "b")


@pytest.mark.parametrize("rates, kept", [
    ([], 0),
    ([0.4], 0),                        # one snapshot: the loop never runs
    ([0.9, 0.8, 0.7], 0),              # only falling: nothing kept
    ([0.2, 0.9, 0.8, 0.7], 2),         # rises at index 1, then falls: keep [:2]
    ([0.9, 0.5, 0.6, 0.4, 0.3], 3),    # last rise at index 2
    ([0.1, 0.2, 0.3], 3),              # rises at the end: keep everything
    ([0.5, 0.5, 0.5], 0),              # equal is not a rise
])
def test_remove_monotonic_suffix(rates, kept):
    players = [f"p@{i}" for i in range(len(rates))]
    assert remove_monotonic_suffix(rates, players) == (rates[:kept], players[:kept])


def test_remove_monotonic_suffix_needs_equal_lengths():
    with pytest.raises(ValueError, match="2 win rates but 1 players"):
        remove_monotonic_suffix([0.1, 0.2], ["a"])
