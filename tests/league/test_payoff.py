"""The payoff table: decayed counts per ordered pair, win rates, and saving / rebuilding (league.md, "Payoff")."""

import pytest

from league.payoff import PairRecord, Payoff
from league.players import Outcome

W, D, L = Outcome.WIN, Outcome.DRAW, Outcome.LOSS


def test_unplayed_pair_has_win_rate_one_half():
    payoff = Payoff()
    assert payoff.win_rate("a", "b") == 0.5
    assert payoff.pair("a", "b") == PairRecord()
    assert PairRecord().win_rate == 0.5
    assert payoff.players == ()


def test_win_rate_counts_draws_as_half():
    assert PairRecord(games=4, wins=2, draws=1, losses=1).win_rate == pytest.approx(2.5 / 4)


def test_hand_computed_decay_over_several_results():
    payoff = Payoff(decay=0.99)
    for outcome in (W, W, D, L):
        payoff.record("a", "b", outcome)
    # Each result: every count x 0.99, then + the result. Games: ((1 * .99 + 1) * .99 + 1) * .99 + 1.
    games = ((0.99 + 1) * 0.99 + 1) * 0.99 + 1
    wins = 0.99 ** 3 + 0.99 ** 2  # the W of result 1 decayed three times, the W of result 2 twice
    draws = 0.99                  # the D of result 3, decayed once
    losses = 1.0                  # the L of result 4
    ab = payoff.pair("a", "b")
    assert (ab.games, ab.wins, ab.draws, ab.losses) == pytest.approx((games, wins, draws, losses))
    ba = payoff.pair("b", "a")
    assert (ba.games, ba.wins, ba.draws, ba.losses) == pytest.approx((games, losses, draws, wins))
    assert payoff.win_rate("a", "b") == pytest.approx((wins + draws / 2) / games)
    assert payoff.win_rate("a", "b") + payoff.win_rate("b", "a") == pytest.approx(1.0)


def test_recording_one_pair_leaves_other_pairs_alone():
    payoff = Payoff(decay=0.5)
    payoff.record("a", "b", W)
    payoff.record("a", "c", L)
    assert payoff.pair("a", "b") == PairRecord(games=1, wins=1)
    assert payoff.pair("c", "a") == PairRecord(games=1, wins=1)
    assert payoff.win_rates("a", ["b", "c", "never"]) == [1.0, 0.0, 0.5]


def test_self_play_records_once_after_one_decay():
    payoff = Payoff(decay=0.5)
    payoff.record("a", "a", W)
    payoff.record("a", "a", L)
    assert payoff.pair("a", "a") == PairRecord(games=1.5, wins=0.5, losses=1.0)
    assert payoff.win_rate("a", "a") == pytest.approx(0.5 / 1.5)
    assert payoff.players == ("a",)


LOG = [("a", "b", W), ("b", "a", D), ("a", "c", L), ("c", "c", W), ("b", "c", W), ("a", "b", L), ("c", "a", W)]


def test_from_results_equals_incremental_record():
    incremental = Payoff(decay=0.99)
    for home, away, outcome in LOG:
        incremental.record(home, away, outcome)
    assert Payoff.from_results(LOG, decay=0.99) == incremental
    assert Payoff.from_results(LOG, decay=0.9) != incremental
    assert Payoff.from_results(LOG[:-1], decay=0.99) != incremental


def test_records_round_trip_and_are_sorted():
    payoff = Payoff.from_results(LOG, decay=0.95)
    records = payoff.records()
    assert [(h, a) for h, a, _ in records] == sorted((h, a) for h, a, _ in records)
    assert ("b", "a") in [(h, a) for h, a, _ in records]
    loaded = Payoff.from_records(records, decay=0.95)
    assert loaded == payoff and loaded.records() == records
    assert loaded.decay == 0.95
    assert payoff.players == ("a", "b", "c")


def test_copy_is_independent():
    payoff = Payoff.from_results(LOG)
    copied = payoff.copy()
    copied.record("a", "b", W)
    assert copied != payoff
    assert payoff == Payoff.from_results(LOG)


def test_matrix():
    payoff = Payoff.from_results([("a", "b", W), ("a", "c", D)])
    assert payoff.matrix(["a", "b", "c"]) == [[0.5, 1.0, 0.5], [0.0, 0.5, 0.5], [0.5, 0.5, 0.5]]


def test_decay_one_counts_plainly():
    payoff = Payoff.from_results([("a", "b", W)] * 3 + [("a", "b", L)], decay=1.0)
    assert payoff.pair("a", "b") == PairRecord(games=4, wins=3, losses=1)
    assert payoff.win_rate("a", "b") == 0.75


def test_bad_inputs_raise():
    for decay in (0.0, -0.5, 1.01):
        with pytest.raises(ValueError, match="decay"):
            Payoff(decay)
    with pytest.raises(TypeError, match="Outcome"):
        Payoff().record("a", "b", "win")
    with pytest.raises(ValueError, match="non-empty string"):
        Payoff().record("", "b", W)
    with pytest.raises(ValueError, match="twice"):
        Payoff.from_records([("a", "b", PairRecord()), ("a", "b", PairRecord())])
    with pytest.raises(ValueError, match="non-negative"):
        PairRecord(games=-1.0)
    with pytest.raises(ValueError, match="exceed"):
        PairRecord(games=1.0, wins=1.0, losses=1.0)
