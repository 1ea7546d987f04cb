"""The engine's state: a frozen dataclass of batched tensors, struct-of-arrays, fixed unit slots with an alive mask.

Dimension letters: B environments, U unit slots, Q order-queue slots, A agent players (those who observe and act),
P owners with a score (always 2: player 1 and player 2), G control groups (10), H/W map cells.
"""

from __future__ import annotations

import dataclasses
import enum

import torch

ORDER_QUEUE = 4
"""Orders a unit holds at once (the current one and three queued)."""
CONTROL_GROUPS = 10
SCORE_FIELDS = 13
"""pysc2's score_cumulative length."""
NUM_OWNERS = 2


class Owner(enum.IntEnum):
    """Who owns a unit. pysc2 calls them player 1, player 2 and neutral (player id 16)."""

    PLAYER_1 = 0
    PLAYER_2 = 1
    NEUTRAL = 2


class Order(enum.IntEnum):
    NONE = 0
    MOVE = 1
    ATTACK_MOVE = 2
    ATTACK_UNIT = 3
    HOLD = 4


class Score(enum.IntEnum):
    """Indices of pysc2's score_cumulative."""

    SCORE = 0
    IDLE_PRODUCTION_TIME = 1
    IDLE_WORKER_TIME = 2
    TOTAL_VALUE_UNITS = 3
    TOTAL_VALUE_STRUCTURES = 4
    KILLED_VALUE_UNITS = 5
    KILLED_VALUE_STRUCTURES = 6
    COLLECTED_MINERALS = 7
    COLLECTED_VESPENE = 8
    COLLECTION_RATE_MINERALS = 9
    COLLECTION_RATE_VESPENE = 10
    SPENT_MINERALS = 11
    SPENT_VESPENE = 12


@dataclasses.dataclass(frozen=True)
class State:
    """Everything about B games at one game loop."""

    unit_type: torch.Tensor  # [B, U] long, UnitType
    unit_owner: torch.Tensor  # [B, U] long, Owner
    unit_alive: torch.Tensor  # [B, U] bool
    unit_pos: torch.Tensor  # [B, U, 2] float, map units (x, y), y up as in StarCraft II
    unit_hp: torch.Tensor  # [B, U] float
    unit_shields: torch.Tensor  # [B, U] float
    unit_cooldown: torch.Tensor  # [B, U] float, game loops until the weapon is ready
    unit_target: torch.Tensor  # [B, U] long, slot the unit is engaging, -1 for none
    order_kind: torch.Tensor  # [B, U, Q] long, Order; slot 0 is the current order
    order_pos: torch.Tensor  # [B, U, Q, 2] float
    order_unit: torch.Tensor  # [B, U, Q] long, target slot of ATTACK_UNIT, -1 otherwise
    selected: torch.Tensor  # [B, A, U] bool, each agent player's selection
    control_groups: torch.Tensor  # [B, A, G, U] bool
    camera: torch.Tensor  # [B, A, 2] float, camera centre in map units
    explored: torch.Tensor  # [B, A, H, W] bool, map cells each agent player has ever seen (fog of war)
    score: torch.Tensor  # [B, P, 13] float, pysc2's score_cumulative per owner
    game_loop: torch.Tensor  # [B] long, game loops since the episode began
    episode: torch.Tensor  # [B] long, episodes this environment has begun
    wave: torch.Tensor  # [B] long, waves the scenario has spawned in this episode
    side: torch.Tensor  # [B] long, the scenario's coin flip (0 or 1)
    seed: torch.Tensor  # [B] long, the environment's seed

    @property
    def batch_size(self) -> int:
        return self.unit_type.shape[0]

    @property
    def num_units(self) -> int:
        return self.unit_type.shape[1]

    @property
    def num_agents(self) -> int:
        return self.selected.shape[1]

    @property
    def device(self) -> torch.device:
        return self.unit_type.device

    def replace(self, **changes: torch.Tensor) -> "State":
        return dataclasses.replace(self, **changes)


def empty_state(*, batch: int, units: int, agents: int, cells: tuple[int, int],
                device: torch.device | str = "cpu") -> State:
    """A state of `batch` games with `units` empty slots each on a map of `cells` (H, W)."""
    B, U, A, Q = batch, units, agents, ORDER_QUEUE
    zeros = lambda *shape, dtype=torch.float32: torch.zeros(shape, dtype=dtype, device=device)  # noqa: E731
    minus_one = lambda *shape: torch.full(shape, -1, dtype=torch.long, device=device)  # noqa: E731
    return State(
        unit_type=zeros(B, U, dtype=torch.long),
        unit_owner=torch.full((B, U), int(Owner.NEUTRAL), dtype=torch.long, device=device),
        unit_alive=zeros(B, U, dtype=torch.bool),
        unit_pos=zeros(B, U, 2),
        unit_hp=zeros(B, U),
        unit_shields=zeros(B, U),
        unit_cooldown=zeros(B, U),
        unit_target=minus_one(B, U),
        order_kind=zeros(B, U, Q, dtype=torch.long),
        order_pos=zeros(B, U, Q, 2),
        order_unit=minus_one(B, U, Q),
        selected=zeros(B, A, U, dtype=torch.bool),
        control_groups=zeros(B, A, CONTROL_GROUPS, U, dtype=torch.bool),
        camera=zeros(B, A, 2),
        explored=zeros(B, A, cells[0], cells[1], dtype=torch.bool),
        score=zeros(B, NUM_OWNERS, SCORE_FIELDS),
        game_loop=zeros(B, dtype=torch.long),
        episode=zeros(B, dtype=torch.long),
        wave=zeros(B, dtype=torch.long),
        side=zeros(B, dtype=torch.long),
        seed=zeros(B, dtype=torch.long),
    )


def _expand_mask(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.reshape(mask.shape + (1,) * (like.dim() - 1))


def where(mask: torch.Tensor, if_true: State, if_false: State) -> State:
    """Per environment: `if_true` where `mask` [B] holds, else `if_false`."""
    fields = {}
    for field in dataclasses.fields(State):
        a, b = getattr(if_true, field.name), getattr(if_false, field.name)
        fields[field.name] = torch.where(_expand_mask(mask, a), a, b)
    return State(**fields)


def select_envs(state: State, index: torch.Tensor | slice) -> State:
    """The games at `index` along B."""
    return State(**{f.name: getattr(state, f.name)[index] for f in dataclasses.fields(State)})


def concat(states: list[State]) -> State:
    """Stack the games of several states along B."""
    return State(**{f.name: torch.cat([getattr(s, f.name) for s in states]) for f in dataclasses.fields(State)})
