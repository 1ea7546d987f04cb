"""Fairness limits every player lives under (league.md): an APM cap over a sliding window of game time, and a
delay between an observation and the actions that answer it.

APM (AlphaStar): at most 22 non-duplicate actions in any 112 game loops (5 s at 22.4 loops per second). No-ops are
free; an action identical to the player's previous one (same function, same arguments it takes) counts once. An
action over the cap is not carried out; the player is told through action_result (ApmCapExceeded) and the
observation's `apm_window_actions` and `apm_refused` counters.
"""

from __future__ import annotations

import dataclasses
import functools

import torch

from arena.interface.actions import BatchedAction
from arena.interface.functions import FUNCTION_ARGUMENTS, NUM_FUNCTIONS, FunctionId

NEVER = -(2**40)
"""The game loop of an action that never happened (far outside every window)."""


@dataclasses.dataclass(frozen=True)
class ApmCap:
    """At most `actions` counted actions in any `window_loops` consecutive game loops."""

    actions: int
    window_loops: int

    def __post_init__(self) -> None:
        if self.actions < 1 or self.window_loops < 1:
            raise ValueError(f"an APM cap needs actions >= 1 and window_loops >= 1, got {self}")


ALPHASTAR_APM = (ApmCap(actions=22, window_loops=112),)
"""AlphaStar's final cap: 22 non-duplicate actions per 5 s."""
ALPHASTAR_DEMO_APM = (ApmCap(50, 112), ApmCap(100, 336), ApmCap(160, 672), ApmCap(300, 1344))
"""The earlier demo's caps: 600 APM over 5 s, 400 over 15 s, 320 over 30 s, 300 over 60 s."""
DEFAULT_DELAY_LOOPS = 2
"""About AlphaStar's 110 ms (2.5 game loops at 22.4 per second), rounded down to whole game loops."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits of one run. `Limits.off()` lifts them all (fog of war stays as the scenario says unless
    `fog=False`)."""

    apm_caps: tuple[ApmCap, ...] = ALPHASTAR_APM
    delay_loops: int = DEFAULT_DELAY_LOOPS
    fog: bool = True

    def __post_init__(self) -> None:
        if self.delay_loops < 0:
            raise ValueError(f"delay_loops must be at least 0, got {self.delay_loops}")

    @staticmethod
    def off() -> "Limits":
        return Limits(apm_caps=(), delay_loops=0, fog=False)

    @property
    def memory(self) -> int:
        """How many past action times the cap check needs."""
        return max((cap.actions for cap in self.apm_caps), default=1)


@dataclasses.dataclass(frozen=True)
class ApmState:
    """What the cap check remembers per game and player."""

    recent: torch.Tensor  # [B, P, K] long: game loops of the K latest counted actions, oldest first (NEVER if none)
    previous: torch.Tensor  # [B, P, F] long: the key of the previous carried-out action (-1 for none)
    refused: torch.Tensor  # [B, P] long: actions refused this episode

    @staticmethod
    def empty(batch: int, players: int, limits: Limits, device: torch.device) -> "ApmState":
        return ApmState(recent=torch.full((batch, players, limits.memory), NEVER, dtype=torch.long, device=device),
                        previous=torch.full((batch, players, KEY_WIDTH), -1, dtype=torch.long, device=device),
                        refused=torch.zeros(batch, players, dtype=torch.long, device=device))

    def reset_where(self, mask: torch.Tensor) -> "ApmState":
        """Forget everything for the games in `mask` [B] (a new episode)."""
        m = mask[:, None]
        return ApmState(recent=torch.where(m[..., None], NEVER, self.recent),
                        previous=torch.where(m[..., None], -1, self.previous),
                        refused=torch.where(m, 0, self.refused))


_KEY_FIELDS = ("screen", "minimap", "screen2", "queued", "select_point_act", "select_add", "control_group_act",
               "control_group_id", "select_worker")
KEY_WIDTH = 1 + sum(2 if name in ("screen", "minimap", "screen2") else 1 for name in _KEY_FIELDS)


@functools.lru_cache(maxsize=8)
def _argument_mask(device: torch.device) -> torch.Tensor:
    """[NUM_FUNCTIONS, KEY_WIDTH] bool: which key columns each function's arguments use (the id always)."""
    mask = torch.zeros(NUM_FUNCTIONS, KEY_WIDTH, dtype=torch.bool)
    mask[:, 0] = True
    columns, start = {}, 1
    for name in _KEY_FIELDS:
        width = 2 if name in ("screen", "minimap", "screen2") else 1
        columns[name] = slice(start, start + width)
        start += width
    for function, arguments in FUNCTION_ARGUMENTS.items():
        for argument in arguments:
            mask[int(function), columns[argument.name]] = True
    return mask.to(device)


def action_key(action: BatchedAction) -> torch.Tensor:
    """[B, KEY_WIDTH] the function id and the arguments it takes (others zeroed): equal keys = identical actions."""
    parts = [action.function[:, None]]
    for name in _KEY_FIELDS:
        value = getattr(action, name)
        parts.append(value if value.dim() == 2 else value[:, None])
    key = torch.cat(parts, dim=1)
    used = _argument_mask(key.device)[action.function.clamp(0, NUM_FUNCTIONS - 1)]
    return torch.where(used, key, 0)


def window_counts(apm: ApmState, now: torch.Tensor, cap: ApmCap) -> torch.Tensor:
    """[B, P] counted actions in the window of `cap` that ends at game loop `now` [B]."""
    return (apm.recent > (now - cap.window_loops)[:, None, None]).sum(dim=2)


def admit(apm: ApmState, action: BatchedAction, player: int, now: torch.Tensor, limits: Limits
          ) -> tuple[torch.Tensor, ApmState]:
    """Check `player`'s actions [B] carried out at game loop `now` [B] against the caps.

    Returns which are refused [B] and the updated ApmState: counted actions are recorded, and the previous action
    becomes this one where it is carried out (a refused action changes nothing but the refusal count).
    """
    key = action_key(action)
    free = action.function == int(FunctionId.no_op)
    duplicate = (key == apm.previous[:, player]).all(dim=1)
    counts = ~free & ~duplicate
    over = torch.zeros_like(free)
    K = apm.recent.shape[2]
    for cap in limits.apm_caps:
        nth_latest = apm.recent[:, player, K - cap.actions]
        over |= nth_latest > now - cap.window_loops
    refused = counts & over
    counted = counts & ~over
    shifted = torch.cat([apm.recent[:, player, 1:], now[:, None]], dim=1)
    recent = apm.recent.clone()
    recent[:, player] = torch.where(counted[:, None], shifted, apm.recent[:, player])
    previous = apm.previous.clone()
    previous[:, player] = torch.where((~free & ~refused)[:, None], key, apm.previous[:, player])
    refused_total = apm.refused.clone()
    refused_total[:, player] += refused.long()
    return refused, ApmState(recent=recent, previous=previous, refused=refused_total)
