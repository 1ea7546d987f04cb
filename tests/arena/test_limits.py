"""The APM cap on its own: over long random action streams no window ever holds more counted actions than a cap,
no-ops are free, an action identical to the previous one counts once, and refused actions leave no trace."""

from __future__ import annotations

import pytest
import torch

from arena.interface.actions import BatchedAction
from arena.interface.functions import FunctionId
from arena.interface.limits import ALPHASTAR_APM, ALPHASTAR_DEMO_APM, ApmCap, ApmState, Limits, action_key, admit

FUNCTIONS = [int(FunctionId.no_op), int(FunctionId.select_army), int(FunctionId.Move_screen),
             int(FunctionId.Attack_screen), int(FunctionId.Stop_quick)]


def random_actions(generator: torch.Generator, batch: int) -> BatchedAction:
    choice = torch.randint(len(FUNCTIONS), (batch,), generator=generator)
    function = torch.tensor(FUNCTIONS)[choice]
    screen = torch.randint(3, (batch, 2), generator=generator)  # few points, so duplicates happen often
    return BatchedAction.make(function, screen=screen)


def stream(limits: Limits, *, batch: int = 16, steps: int = 300, seed: int = 0, players: int = 2):
    """Feed random actions at random (increasing) game loops; return per step (time, counted, refused, keys)."""
    generator = torch.Generator().manual_seed(seed)
    apm = ApmState.empty(batch, players, limits, torch.device("cpu"))
    now = torch.zeros(batch, dtype=torch.long)
    history = []
    for _ in range(steps):
        now = now + torch.randint(0, 4, (batch,), generator=generator)  # several actions may share a game loop
        for player in range(players):
            action = random_actions(generator, batch)
            previous = apm.previous[:, player].clone()
            refused, apm = admit(apm, action, player, now, limits)
            key = action_key(action)
            counted = (action.function != int(FunctionId.no_op)) & ~(key == previous).all(dim=1) & ~refused
            history.append((player, now.clone(), counted, refused, action.function.clone()))
    return history, apm


@pytest.mark.parametrize("caps", [ALPHASTAR_APM, ALPHASTAR_DEMO_APM, (ApmCap(3, 10), ApmCap(5, 40))])
def test_no_window_ever_holds_more_than_the_cap(caps):
    history, _ = stream(Limits(apm_caps=caps))
    for player in range(2):
        rows = [(t, c) for p, t, c, _, _ in history if p == player]
        times = torch.stack([t for t, _ in rows], dim=1)  # [B, T]
        counted = torch.stack([c for _, c in rows], dim=1)  # [B, T]
        for cap in caps:
            # For every counted action, the counted actions in the window ending at it (inclusive).
            inside = (times[:, None, :] > times[:, :, None] - cap.window_loops) & (times[:, None, :] <= times[:, :, None])
            order = torch.arange(times.shape[1])
            not_later = order[None, :] <= order[:, None]  # only actions issued up to this one
            in_window = (inside & not_later[None] & counted[:, None, :]).sum(dim=2)
            assert int(torch.where(counted, in_window, 0).max()) <= cap.actions
            # ...and the cap binds: the stream is dense enough that some actions were refused.
    assert any(bool(r.any()) for _, _, _, r, _ in history)


def test_no_ops_are_free_and_never_refused():
    limits = Limits(apm_caps=(ApmCap(1, 1000),))
    apm = ApmState.empty(4, 1, limits, torch.device("cpu"))
    now = torch.zeros(4, dtype=torch.long)
    refused, apm = admit(apm, BatchedAction.make(int(FunctionId.select_army), batch=4), 0, now, limits)
    assert not refused.any()
    for _ in range(10):
        refused, apm = admit(apm, BatchedAction.no_op(4), 0, now + 1, limits)
        assert not refused.any()
    refused, apm = admit(apm, BatchedAction.make(int(FunctionId.Move_screen), batch=4, screen=(5, 5)), 0, now + 2,
                         limits)
    assert refused.all() and apm.refused[:, 0].tolist() == [1, 1, 1, 1]


def test_an_identical_action_counts_once_and_unused_arguments_do_not_matter():
    limits = Limits(apm_caps=(ApmCap(2, 1000),))
    apm = ApmState.empty(1, 1, limits, torch.device("cpu"))
    now = torch.zeros(1, dtype=torch.long)
    move = BatchedAction.make(int(FunctionId.Move_screen), screen=(7, 7))
    for step in range(20):
        # select_army ignores `screen`: a different screen value is still the same action
        refused, apm = admit(apm, move, 0, now + step, limits)
        assert not refused.any()
    assert int((apm.recent[0, 0] >= 0).sum()) == 1
    stop = BatchedAction.make(int(FunctionId.Stop_quick), screen=(1, 2))
    refused, apm = admit(apm, stop, 0, now + 30, limits)
    assert not refused.any()
    refused, apm = admit(apm, BatchedAction.make(int(FunctionId.Stop_quick), screen=(9, 9)), 0, now + 31, limits)
    assert not refused.any()  # identical to the previous Stop_quick: screen is not one of its arguments
    refused, apm = admit(apm, move, 0, now + 32, limits)
    assert refused.all()  # a third distinct action inside the window


def test_the_window_slides():
    limits = Limits(apm_caps=(ApmCap(2, 10),))
    apm = ApmState.empty(1, 1, limits, torch.device("cpu"))
    a = BatchedAction.make(int(FunctionId.Move_screen), screen=(1, 1))
    b = BatchedAction.make(int(FunctionId.Move_screen), screen=(2, 2))
    t = lambda loop: torch.tensor([loop])  # noqa: E731
    assert not admit(apm, a, 0, t(0), limits)[0].any()
    apm = admit(apm, a, 0, t(0), limits)[1]
    apm = admit(apm, b, 0, t(3), limits)[1]
    assert admit(apm, a, 0, t(9), limits)[0].all()  # 0 and 3 are inside (0, 9]
    assert not admit(apm, a, 0, t(10), limits)[0].any()  # 0 has left the window (0, 10]


def test_reset_forgets_history():
    limits = Limits(apm_caps=(ApmCap(1, 100),))
    apm = ApmState.empty(2, 1, limits, torch.device("cpu"))
    apm = admit(apm, BatchedAction.make(int(FunctionId.select_army), batch=2), 0, torch.zeros(2, dtype=torch.long),
                limits)[1]
    apm = apm.reset_where(torch.tensor([True, False]))
    refused, _ = admit(apm, BatchedAction.make(int(FunctionId.Stop_quick), batch=2), 0, torch.ones(2, dtype=torch.long),
                       limits)
    assert refused.tolist() == [False, True]


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="actions >= 1"):
        ApmCap(0, 112)
    with pytest.raises(ValueError, match="delay_loops must be at least 0"):
        Limits(delay_loops=-1)
