"""The engine's state: a frozen dataclass of batched tensors, struct-of-arrays, fixed unit slots with an alive mask.

Dimension letters: B environments, U unit slots, Q order-queue slots, A agent players (those who observe and act),
P owners with a score (always 2: player 1 and player 2), G control groups (10), H/W map cells.
"""

from __future__ import annotations

import dataclasses
import enum

import torch

from arena.sim.units import NUM_UNIT_TYPES

ORDER_QUEUE = 4
"""Orders a unit holds at once (the current one and three queued)."""
PRODUCTION_QUEUE = 5
"""Units a structure can have queued for training (StarCraft II: 5)."""
NO_RALLY = -2
"""`unit_rally_target` of a structure without a rally point (-1: a point, >= 0: a unit slot)."""
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
    GATHER = 5
    """Harvest from order_unit (a mineral field or a finished gas building): walk there, mine, carry the cargo to
    the nearest own town hall, repeat."""
    RETURN = 6
    """Carry the cargo to the nearest own town hall, then stop."""
    BUILD = 7
    """Walk to order_pos and place a structure of order_type there (on the geyser order_unit for gas buildings)."""
    CONSTRUCT = 8
    """An SCV building the structure order_unit; done when it is finished."""


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
    order_unit: torch.Tensor  # [B, U, Q] long, target slot of ATTACK_UNIT, GATHER, CONSTRUCT (geyser of BUILD), else -1
    order_type: torch.Tensor  # [B, U, Q] long, UnitType a BUILD order places, 0 otherwise
    unit_build_left: torch.Tensor  # [B, U] float, game loops until the structure / egg / cocoon is finished, 0: done
    unit_morph: torch.Tensor  # [B, U] long, UnitType an egg or cocoon becomes when finished, 0 otherwise
    unit_resources: torch.Tensor  # [B, U] float, minerals or gas left in a field, geyser or gas building
    unit_cargo: torch.Tensor  # [B, U] float, minerals or gas a worker carries
    unit_cargo_gas: torch.Tensor  # [B, U] bool, the cargo is gas
    unit_timer: torch.Tensor  # [B, U] float, game loops a worker has left mining (then pausing) at its resource
    unit_larva: torch.Tensor  # [B, U] float, a Hatchery's larva (the integer part) and the next one's progress
    unit_rally: torch.Tensor  # [B, U, 2] float, a structure's rally point
    unit_rally_target: torch.Tensor  # [B, U] long, NO_RALLY, -1 (a point) or the slot of a resource to gather
    queue: torch.Tensor  # [B, U, R] long, UnitType a structure will train, slot 0 in training, 0: empty
    queue_progress: torch.Tensor  # [B, U] float, game loops spent on the unit in training
    selected: torch.Tensor  # [B, A, U] bool, each agent player's selection
    control_groups: torch.Tensor  # [B, A, G, U] bool
    camera: torch.Tensor  # [B, A, 2] float, camera centre in map units
    explored: torch.Tensor  # [B, A, H, W] bool, map cells each agent player has ever seen (fog of war)
    score: torch.Tensor  # [B, P, 13] float, pysc2's score_cumulative per owner
    minerals: torch.Tensor  # [B, P] float, each owner's bank
    vespene: torch.Tensor  # [B, P] float
    trained: torch.Tensor  # [B, P, K] float, units of each type each owner has made (trained, hatched, morphed)
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
        """A copy with `changes` (field name -> tensor). Faster than dataclasses.replace, which re-runs __init__
        over all 37 fields: every pass of every game loop calls this.

        Raises:
            TypeError: a name is not a field of State.
        """
        unknown = changes.keys() - _FIELD_NAMES
        if unknown:
            raise TypeError(f"State has no field(s) {sorted(unknown)}")
        new = object.__new__(State)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new


_FIELD_NAMES = frozenset(field.name for field in dataclasses.fields(State))


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
        order_type=zeros(B, U, Q, dtype=torch.long),
        unit_build_left=zeros(B, U),
        unit_morph=zeros(B, U, dtype=torch.long),
        unit_resources=zeros(B, U),
        unit_cargo=zeros(B, U),
        unit_cargo_gas=zeros(B, U, dtype=torch.bool),
        unit_timer=zeros(B, U),
        unit_larva=zeros(B, U),
        unit_rally=zeros(B, U, 2),
        unit_rally_target=torch.full((B, U), NO_RALLY, dtype=torch.long, device=device),
        queue=zeros(B, U, PRODUCTION_QUEUE, dtype=torch.long),
        queue_progress=zeros(B, U),
        selected=zeros(B, A, U, dtype=torch.bool),
        control_groups=zeros(B, A, CONTROL_GROUPS, U, dtype=torch.bool),
        camera=zeros(B, A, 2),
        explored=zeros(B, A, cells[0], cells[1], dtype=torch.bool),
        score=zeros(B, NUM_OWNERS, SCORE_FIELDS),
        minerals=zeros(B, NUM_OWNERS),
        vespene=zeros(B, NUM_OWNERS),
        trained=zeros(B, NUM_OWNERS, NUM_UNIT_TYPES),
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


def put_games(state: State, index: torch.Tensor, games: State) -> State:
    """`state` with its games at `index` [k] (long) replaced by the k games of `games`: what `where` does for a
    mask, at the cost of the k games (a new episode's spawn is then built for those games only)."""
    fields = {}
    for field in dataclasses.fields(State):
        merged = getattr(state, field.name).clone()
        merged[index] = getattr(games, field.name)
        fields[field.name] = merged
    return State(**fields)


def select_envs(state: State, index: torch.Tensor | slice) -> State:
    """The games at `index` along B."""
    return State(**{f.name: getattr(state, f.name)[index] for f in dataclasses.fields(State)})


def concat(states: list[State]) -> State:
    """Stack the games of several states along B."""
    return State(**{f.name: torch.cat([getattr(s, f.name) for s in states]) for f in dataclasses.fields(State)})
