"""The protocol every batched environment speaks, whatever plays the games (the embedded engine's `ArenaEnv` and
`ArenaMultiEnv`, the real game's `arena.backends.sc2.Sc2Env`): step types, spaces, seeding and autoreset.

Shape of the protocol (`BatchedEnvironment`):

- `reset(*, seed=None, options=None) -> (obs, info)` and `step(actions) -> (obs, reward, terminated, truncated,
  info)`, Gymnasium's vector API. `actions` is one `BatchedAction` per player (a sequence of `num_players`), or, with
  one player, that player's `BatchedAction` (or a dict of its fields) alone: `player_actions` reads all of these.
- Observations are dicts of tensors with pysc2's names, `[B, ...]` with one player and `[B, P, ...]` with more
  (`single_observation_space` is one game's, one player's); rewards, `[B]` or `[B, P]`; terminated and truncated
  `[B]`. A time limit is a truncation, the game's own end a termination (`discount` 0 on both, pysc2's convention).
- `info` holds `step_type` [B] (`StepType`), `discount` [B] and the players' `score`; two-player environments add
  `outcome` [B] (+1 player 1 won, -1 player 2 won, 0 a draw or no end yet).
- Seeding: `seed` is an int (game i gets `seed + i`), one seed per game, or None (fresh random seeds): see
  `episode_seeds`. A game's later episodes follow from its seed and episode count alone, so the same seeds and
  actions give the same trajectory.
- Autoreset: Gymnasium's next-step mode (`AUTORESET_MODE`). A step that ends a game's episode returns LAST; that
  game's next step ignores its actions and returns the FIRST observation of a new episode (reward 0, neither
  terminated nor truncated). `needs_reset` [B] says which games that next step will reset.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from typing import Protocol, Union, runtime_checkable

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from arena.interface.actions import BatchedAction
from arena.interface.functions import NUM_FUNCTIONS
from arena.interface.unit_list import NUM_UNIT_FEATURES, SELECTION_FEATURES
from arena.interface.view import MINIMAP_LAYERS, SCREEN_LAYERS, InterfaceFormat
from arena.sim.state import CONTROL_GROUPS

AUTORESET_MODE = AutoresetMode.NEXT_STEP
"""Every environment resets an ended game on the step after its LAST step (Gymnasium's `metadata["autoreset_mode"]`)."""


class StepType(enum.IntEnum):
    """dm_env / pysc2 step types."""

    FIRST = 0
    MID = 1
    LAST = 2


PlayerAction = Union[BatchedAction, Mapping[str, torch.Tensor]]
"""One player's actions in every game: a BatchedAction, or a dict of its fields (Gymnasium's action space)."""
Actions = Union[PlayerAction, Sequence[PlayerAction]]
"""What `step` takes: one PlayerAction per player, or with one player that player's alone."""


def episode_seeds(seed: int | Sequence[int] | None, num_envs: int) -> list[int]:
    """One seed per game: `seed + game` for an int, the given seeds (one per game), or consecutive seeds from a
    random base for None."""
    if seed is None:
        base = int.from_bytes(os.urandom(4), "little")
        return [base + i for i in range(num_envs)]
    if isinstance(seed, int):
        return [seed + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"got {len(seeds)} seeds for {num_envs} environments")
    return [int(s) for s in seeds]


def player_actions(actions: Actions, *, num_players: int, num_envs: int | None, device: torch.device | str
                   ) -> list[BatchedAction]:
    """`actions` as one BatchedAction of `num_envs` games per player, on `device` (`num_envs` None: the caller
    checks the batch size itself).

    Raises:
        ValueError: not one action per player, or not one function per game.
        TypeError: something that is neither a BatchedAction nor a dict of its fields.
    """
    single = isinstance(actions, (BatchedAction, Mapping))
    if single and num_players == 1:
        actions = [actions]
    elif single or len(actions) != num_players:
        given = 1 if single else len(actions)
        raise ValueError(f"expected one BatchedAction per player ({num_players}), got {given}")
    checked = []
    for player, action in enumerate(actions):
        action = as_batched_action(action, device, player)
        if num_envs is not None and action.function.shape != (num_envs,):
            where = f"player {player}: " if num_players > 1 else ""
            raise ValueError(f"{where}expected one function per environment ({num_envs}), "
                             f"got shape {tuple(action.function.shape)}")
        checked.append(action.to(device))
    return checked


def as_batched_action(action: PlayerAction, device: torch.device | str, player: int = 0) -> BatchedAction:
    """A BatchedAction as it is, or one made from a dict of its fields (values put on `device`)."""
    if isinstance(action, BatchedAction):
        return action
    if not isinstance(action, Mapping):
        raise TypeError(f"player {player}'s action must be a BatchedAction or a dict of its fields, "
                        f"got {type(action).__name__}")
    return BatchedAction.make(torch.as_tensor(action["function"], device=device), device=device,
                              **{k: torch.as_tensor(v, device=device) for k, v in action.items() if k != "function"})


def step_types(began: torch.Tensor, ending: torch.Tensor) -> torch.Tensor:
    """[B] long StepType of a step: FIRST where a new episode began (next-step autoreset), LAST where the episode
    ended, MID otherwise."""
    return torch.where(began, int(StepType.FIRST), torch.where(ending, int(StepType.LAST), int(StepType.MID)))


def discount(step_type: torch.Tensor) -> torch.Tensor:
    """[B] float pysc2's discount: 1 on MID steps, 0 on FIRST and LAST."""
    return torch.where(step_type == int(StepType.MID), 1.0, 0.0)


def observation_space(fmt: InterfaceFormat, units: int, fairness_counters: bool = False) -> spaces.Dict:
    """The Gymnasium space of one game's observation (one player's), with the fairness layer's APM counters where
    the player is under limits (arena.interface.fairness)."""
    S, M = fmt.screen_size, fmt.minimap_size
    big = np.iinfo(np.int16).max
    layout = {
        "available_actions": spaces.MultiBinary(NUM_FUNCTIONS),
        "player": spaces.Box(0, np.inf, (11,), np.float32),
        "score_cumulative": spaces.Box(-np.inf, np.inf, (13,), np.float32),
        "game_loop": spaces.Box(0, np.iinfo(np.int64).max, (), np.int64),
        "action_result": spaces.Box(0, 1000, (), np.int64),
        "last_actions": spaces.Box(0, NUM_FUNCTIONS - 1, (), np.int64),
        "camera": spaces.Box(0, 256, (2,), np.float32),
        "multi_select": spaces.Box(-np.inf, np.inf, (units, SELECTION_FEATURES), np.float32),
        "multi_select_mask": spaces.MultiBinary(units),
        "control_groups": spaces.Box(0, np.iinfo(np.int64).max, (CONTROL_GROUPS, 2), np.int64),
    }
    if fmt.feature_layers:
        layout["feature_screen"] = spaces.Box(0, big, (len(SCREEN_LAYERS), S, S), np.int16)
        layout["feature_minimap"] = spaces.Box(0, big, (len(MINIMAP_LAYERS), M, M), np.int16)
    if fmt.feature_units:
        layout["feature_units"] = spaces.Box(-np.inf, np.inf, (units, NUM_UNIT_FEATURES), np.float32)
        layout["feature_units_mask"] = spaces.MultiBinary(units)
    if fmt.raw_units:
        layout["raw_units"] = spaces.Box(-np.inf, np.inf, (units, NUM_UNIT_FEATURES), np.float32)
        layout["raw_units_mask"] = spaces.MultiBinary(units)
    if fairness_counters:
        layout["apm_window_actions"] = spaces.Box(0, np.iinfo(np.int64).max, (), np.int64)
        layout["apm_refused"] = spaces.Box(0, np.iinfo(np.int64).max, (), np.int64)
    return spaces.Dict(layout)


def action_space(fmt: InterfaceFormat) -> spaces.Dict:
    """The Gymnasium space of one game's action: a pysc2 function id and every argument type's value."""
    S, M = fmt.screen_size, fmt.minimap_size
    return spaces.Dict({
        "function": spaces.Discrete(NUM_FUNCTIONS),
        "screen": spaces.MultiDiscrete([S, S]),
        "minimap": spaces.MultiDiscrete([M, M]),
        "screen2": spaces.MultiDiscrete([S, S]),
        "queued": spaces.Discrete(2),
        "select_point_act": spaces.Discrete(4),
        "select_add": spaces.Discrete(2),
        "control_group_act": spaces.Discrete(5),
        "control_group_id": spaces.Discrete(10),
        "select_worker": spaces.Discrete(4),
    })


@runtime_checkable
class BatchedEnvironment(Protocol):
    """What `arena.make` returns, whatever the backend (see the module docstring for the rules)."""

    num_envs: int
    """B: games stepped together."""
    num_players: int
    """P: players that act in each game (each with its own observation, action and reward)."""
    device: torch.device
    step_mul: int
    """Game loops per step."""
    interface: InterfaceFormat
    single_observation_space: spaces.Dict
    single_action_space: spaces.Dict
    metadata: dict

    @property
    def needs_reset(self) -> torch.Tensor:
        """[B] bool: games whose episode ended on the latest step; the next step starts them afresh."""
        ...

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict | None = None
              ) -> tuple[dict[str, torch.Tensor], dict]:
        ...

    def step(self, actions: Actions) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        ...

    def close(self) -> None:
        ...


__all__ = ["AUTORESET_MODE", "Actions", "BatchedEnvironment", "PlayerAction", "StepType", "action_space",
           "as_batched_action", "discount", "episode_seeds", "observation_space", "player_actions", "step_types"]
