"""What policies read of an observation, made small: feature layers as uint8 codes (categorical indices or
log-scaled numbers), the unit list as a few normalised columns, the player vector log-scaled.

These encodings are what a learner keeps in its rollout buffer, so they are compact and cheap (no gradients), and
the networks turn them into floats (`LayerEmbedding`).
"""

from __future__ import annotations

import dataclasses
import enum
import math

import torch
from torch import nn

from arena.interface.functions import ABILITY_ATTACK, ABILITY_HOLD, ABILITY_MOVE, NUM_FUNCTIONS
from arena.interface.unit_list import NUM_UNIT_FEATURES, FeatureUnit
from arena.interface.view import MINIMAP_LAYERS, SCREEN_LAYERS
from arena.sim.units import UNIT_SPECS, UnitType

DEFAULT_UNIT_TYPE_IDS: tuple[int, ...] = tuple(UNIT_SPECS[t].pysc2_id for t in UnitType if t != UnitType.NONE)
"""The unit-type vocabulary: the pysc2 ids of the engine's unit types (feature layers and unit lists hold pysc2
ids). Index 0 is "no unit", index i + 1 is ids[i], the last index is any other id (the real game's other units).
A policy's config keeps its own copy, so a checkpoint keeps meaning the same types if the engine adds some."""

LOG_CODE_SCALE = 24.0
"""A log-coded number x is stored as round(24 * log2(1 + x)) in a uint8: 3 % steps, up to x = 2 ** (255 / 24) - 1,
about 1,570 (more than any unit's HP or shields; larger numbers saturate)."""


class Coding(enum.Enum):
    """How a feature layer is stored in a uint8 and read by the network."""

    CATEGORICAL = "categorical"
    """A small set of values: the value itself, embedded by the network (a one-hot and a 1x1 conv)."""
    UNIT_TYPE = "unit_type"
    """pysc2 unit ids: their index in the config's vocabulary, embedded."""
    LINEAR = "linear"
    """A number in 0..255 (ratios, percentages, heights): the value itself, read as value / 255."""
    LOG = "log"
    """A count or amount (HP, energy): log-coded (LOG_CODE_SCALE), read as code / 255."""


@dataclasses.dataclass(frozen=True)
class LayerCoding:
    """How one pysc2 feature layer is encoded."""

    coding: Coding
    categories: int = 0
    """For CATEGORICAL layers: how many values (larger values are clamped to the last)."""


LAYER_CODINGS: dict[str, LayerCoding] = {
    "height_map": LayerCoding(Coding.LINEAR),
    "visibility_map": LayerCoding(Coding.CATEGORICAL, 4),  # pysc2: hidden, seen, visible, full hidden
    "creep": LayerCoding(Coding.CATEGORICAL, 2),
    "power": LayerCoding(Coding.CATEGORICAL, 2),
    "camera": LayerCoding(Coding.CATEGORICAL, 2),
    "player_id": LayerCoding(Coding.CATEGORICAL, 17),  # 1..15 players, 16 neutral
    "player_relative": LayerCoding(Coding.CATEGORICAL, 5),  # none, self, ally, neutral, enemy
    "unit_type": LayerCoding(Coding.UNIT_TYPE),
    "selected": LayerCoding(Coding.CATEGORICAL, 2),
    "unit_hit_points": LayerCoding(Coding.LOG),
    "unit_hit_points_ratio": LayerCoding(Coding.LINEAR),
    "unit_energy": LayerCoding(Coding.LOG),
    "unit_energy_ratio": LayerCoding(Coding.LINEAR),
    "unit_shields": LayerCoding(Coding.LOG),
    "unit_shields_ratio": LayerCoding(Coding.LINEAR),
    "unit_density": LayerCoding(Coding.LINEAR),
    "unit_density_aa": LayerCoding(Coding.LINEAR),
    "build_progress": LayerCoding(Coding.LINEAR),
    "active": LayerCoding(Coding.CATEGORICAL, 2),
    "pathable": LayerCoding(Coding.CATEGORICAL, 2),
    "buildable": LayerCoding(Coding.CATEGORICAL, 2),
    "alerts": LayerCoding(Coding.CATEGORICAL, 2),
}
"""The layers policies may read, by pysc2 name (screen and minimap layers of the same name are coded alike)."""


def check_layers(names: tuple[str, ...], available: tuple[str, ...], where: str) -> None:
    """Raise a ValueError naming the problem if `names` are not distinct, codable layers of `available`."""
    if not names:
        raise ValueError(f"{where}: no layers chosen")
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: layers repeat in {names}")
    for name in names:
        if name not in available:
            raise ValueError(f"{where}: {name!r} is not a layer; layers: {', '.join(available)}")
        if name not in LAYER_CODINGS:
            raise ValueError(f"{where}: no coding for layer {name!r}; codable: {', '.join(sorted(LAYER_CODINGS))}")


def unit_type_vocabulary_size(unit_type_ids: tuple[int, ...]) -> int:
    """Indices of a vocabulary: no unit, each id, any other id."""
    return len(unit_type_ids) + 2


def unit_type_lookup(unit_type_ids: tuple[int, ...]) -> torch.Tensor:
    """[max id + 2] long: pysc2 unit id -> vocabulary index (ids above the largest clamp to the last entry, "other")."""
    top = max(unit_type_ids) + 1
    other = len(unit_type_ids) + 1
    lookup = torch.full((top + 1,), other, dtype=torch.long)
    lookup[0] = 0
    lookup[torch.tensor(unit_type_ids)] = torch.arange(1, len(unit_type_ids) + 1)
    return lookup


def unit_type_index(pysc2_ids: torch.Tensor, lookup: torch.Tensor) -> torch.Tensor:
    """pysc2 unit ids (any shape, any numeric dtype) -> uint8 vocabulary indices."""
    ids = pysc2_ids.long().clamp(0, lookup.shape[0] - 1)
    return lookup[ids].to(torch.uint8)


def log_code(values: torch.Tensor) -> torch.Tensor:
    """Non-negative numbers -> uint8 log codes (LOG_CODE_SCALE)."""
    code = torch.round(LOG_CODE_SCALE * torch.log2(1.0 + values.float().clamp(min=0)))
    return code.clamp(max=255).to(torch.uint8)


def encode_layers(layers: torch.Tensor, all_names: tuple[str, ...], names: tuple[str, ...],
                  lookup: torch.Tensor) -> torch.Tensor:
    """pysc2 layers [B, C, H, W] (int16, in the order `all_names`) -> the chosen `names` as uint8 codes
    [B, len(names), H, W]."""
    coded = []
    for name in names:
        layer = layers[:, all_names.index(name)]
        coding = LAYER_CODINGS[name]
        if coding.coding is Coding.CATEGORICAL:
            coded.append(layer.clamp(0, coding.categories - 1).to(torch.uint8))
        elif coding.coding is Coding.UNIT_TYPE:
            coded.append(unit_type_index(layer, lookup))
        elif coding.coding is Coding.LINEAR:
            coded.append(layer.clamp(0, 255).to(torch.uint8))
        else:
            coded.append(log_code(layer))
    return torch.stack(coded, dim=1)


def encode_screen(obs: dict[str, torch.Tensor], names: tuple[str, ...], size: int, lookup: torch.Tensor
                  ) -> torch.Tensor:
    """The chosen screen layers of `obs` as uint8 codes [B, len(names), S, S] (checks the screen's size)."""
    layers = required(obs, "feature_screen")
    _check_square(layers, size, "feature_screen", "screen_size")
    return encode_layers(layers.to(lookup.device), SCREEN_LAYERS, names, lookup)


def encode_minimap(obs: dict[str, torch.Tensor], names: tuple[str, ...], size: int, lookup: torch.Tensor
                   ) -> torch.Tensor:
    """The chosen minimap layers of `obs` as uint8 codes [B, len(names), M, M] (checks the minimap's size)."""
    layers = required(obs, "feature_minimap")
    _check_square(layers, size, "feature_minimap", "minimap_size")
    return encode_layers(layers.to(lookup.device), MINIMAP_LAYERS, names, lookup)


def required(obs: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    """obs[key], or a KeyError that says which interface option provides it."""
    if key not in obs:
        hint = {"feature_screen": "InterfaceFormat(feature_layers=True)",
                "feature_minimap": "InterfaceFormat(feature_layers=True)",
                "feature_units": "InterfaceFormat(feature_units=True)",
                "feature_units_mask": "InterfaceFormat(feature_units=True)"}.get(key, "the environment")
        raise KeyError(f"the policy reads observation {key!r}, which this observation lacks (it comes with {hint}); "
                       f"keys present: {', '.join(sorted(obs))}")
    return obs[key]


def _check_square(layers: torch.Tensor, size: int, key: str, option: str) -> None:
    if layers.dim() != 4 or layers.shape[-1] != size or layers.shape[-2] != size:
        raise ValueError(f"{key} has shape {tuple(layers.shape)}, but the policy was built for {option}={size} "
                         f"([B, C, {size}, {size}])")


def encode_player(obs: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
    """pysc2's player vector [B, 11] log-scaled: float32 log(1 + x)."""
    return torch.log1p(required(obs, "player").to(device, torch.float32).clamp(min=0))


def encode_available(obs: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
    """available_actions [B, 573] as bool."""
    available = required(obs, "available_actions").to(device).bool()
    if available.shape[-1] != NUM_FUNCTIONS:
        raise ValueError(f"available_actions has {available.shape[-1]} functions, expected {NUM_FUNCTIONS}")
    return available


UNIT_ALLIANCES = 5
"""pysc2 alliance / player_relative values: none, self, ally, neutral, enemy."""
ORDER_ABILITIES = (ABILITY_MOVE, ABILITY_ATTACK, ABILITY_HOLD)
"""The general abilities a unit's first order is matched against (one-hot columns)."""
NUM_UNIT_NUMBERS = 17 + len(ORDER_ABILITIES)
"""Columns of `unit_numbers`."""
UNIT_NUMBER_X, UNIT_NUMBER_Y, UNIT_NUMBER_SELECTED = 7, 8, 10
"""The columns of `unit_numbers` holding x and y (screen widths) and is_selected."""


def unit_numbers(units: torch.Tensor, screen_size: int) -> torch.Tensor:
    """feature_units [B, U, 46] -> [B, U, NUM_UNIT_NUMBERS] float, each column about 0..1: amounts log-scaled
    (log(1 + x) / 8: 1.0 at about 3,000), ratios over their range, positions over the screen size."""
    if units.shape[-1] != NUM_UNIT_FEATURES:
        raise ValueError(f"feature_units has {units.shape[-1]} columns, expected {NUM_UNIT_FEATURES}")

    def col(column: FeatureUnit) -> torch.Tensor:
        return units[..., int(column)]

    def amount(column: FeatureUnit) -> torch.Tensor:
        return torch.log1p(col(column).clamp(min=0)) / 8.0

    columns = [
        amount(FeatureUnit.health), amount(FeatureUnit.shield), amount(FeatureUnit.energy),
        col(FeatureUnit.health_ratio) / 255.0, col(FeatureUnit.shield_ratio) / 255.0,
        col(FeatureUnit.energy_ratio) / 255.0, col(FeatureUnit.build_progress) / 100.0,
        col(FeatureUnit.x) / screen_size, col(FeatureUnit.y) / screen_size, col(FeatureUnit.radius) / screen_size,
        col(FeatureUnit.is_selected), amount(FeatureUnit.weapon_cooldown), col(FeatureUnit.order_length) / 4.0,
        amount(FeatureUnit.mineral_contents), amount(FeatureUnit.vespene_contents),
        col(FeatureUnit.assigned_harvesters) / 16.0, col(FeatureUnit.ideal_harvesters) / 16.0,
    ]
    columns += [(col(FeatureUnit.order_id_0) == ability).float() for ability in ORDER_ABILITIES]
    return torch.stack(columns, dim=-1)


def unit_pixels(units: torch.Tensor, screen_size: int) -> torch.Tensor:
    """feature_units [B, U, 46] -> [B, U, 2] int16 (x, y): each unit's centre pixel, clamped onto the screen (a unit
    whose centre is just off screen is pointed at from the nearest edge pixel)."""
    xy = units[..., [int(FeatureUnit.x), int(FeatureUnit.y)]].floor().clamp(0, screen_size - 1)
    return xy.to(torch.int16)


def uint8_embedding_offsets(names: tuple[str, ...], unit_type_ids: tuple[int, ...]) -> tuple[list[int], int]:
    """Where each categorical layer's values start in one shared embedding table, and the table's size."""
    offsets, total = [], 0
    for name in names:
        coding = LAYER_CODINGS[name]
        if coding.coding is Coding.CATEGORICAL:
            offsets.append(total)
            total += coding.categories
        elif coding.coding is Coding.UNIT_TYPE:
            offsets.append(total)
            total += unit_type_vocabulary_size(unit_type_ids)
    return offsets, total


class LayerEmbedding(nn.Module):
    """uint8 layer codes [B, C, H, W] -> float [B, embedding_dim + numeric layers, H, W].

    The categorical layers are embedded and the embeddings summed, which is a one-hot of every categorical layer in
    the channel dimension followed by a 1x1 convolution (the PySC2 paper's preprocessing); numeric layers are
    code / 255.
    """

    def __init__(self, names: tuple[str, ...], unit_type_ids: tuple[int, ...], embedding_dim: int):
        super().__init__()
        categorical = [i for i, n in enumerate(names) if LAYER_CODINGS[n].coding in (Coding.CATEGORICAL,
                                                                                     Coding.UNIT_TYPE)]
        self.categorical = categorical
        self.numeric = [i for i in range(len(names)) if i not in categorical]
        offsets, total = uint8_embedding_offsets(names, unit_type_ids)
        self.offsets = offsets
        self.embedding = nn.Embedding(max(total, 1), embedding_dim)
        self.out_channels = embedding_dim + len(self.numeric)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        parts = [self._embedded(codes)]
        if self.numeric:
            parts.append(codes[:, self.numeric].float() / 255.0)
        return torch.cat(parts, dim=1)

    def _embedded(self, codes: torch.Tensor) -> torch.Tensor:
        """The categorical layers' summed embeddings [B, embedding_dim, H, W], computed as the one-hot of every
        categorical layer times the embedding table (a 1x1 convolution): equal to summing `nn.Embedding` lookups,
        but its backward pass is a matrix product instead of a scatter over every pixel (on CPU the entity policy's
        forward and backward pass over 256 samples at 16 x 16 went from 1.1 s to 0.42 s)."""
        B, _, H, W = codes.shape
        weight = self.embedding.weight  # [categories, D]
        if not self.categorical:
            return weight.new_zeros(B, weight.shape[1], H, W)
        onehot = weight.new_zeros(B, weight.shape[0], H, W)
        for layer, offset in zip(self.categorical, self.offsets):
            onehot.scatter_(1, (codes[:, layer].long() + offset)[:, None], 1.0)  # layers own disjoint rows
        return torch.einsum("bchw,cd->bdhw", onehot, weight)


def resize(maps: torch.Tensor, size: int) -> torch.Tensor:
    """Spatial maps [B, C, H, W] at size x size (bilinear); unchanged when they are that size already."""
    if maps.shape[-1] == size and maps.shape[-2] == size:
        return maps
    return nn.functional.interpolate(maps, size=(size, size), mode="bilinear", align_corners=False)


def broadcast(vector: torch.Tensor, size: int) -> torch.Tensor:
    """[B, C] -> [B, C, size, size]."""
    return vector[:, :, None, None].expand(-1, -1, size, size)


def init_head(layer: nn.Linear | nn.Conv2d, scale: float = 0.01) -> nn.Module:
    """Scale an output layer's initial weights down and zero its bias, so a new policy starts near uniform (the usual
    policy-head initialisation of actor-critic agents)."""
    with torch.no_grad():
        layer.weight.mul_(scale)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def bytes_per_game(encoded: dict[str, torch.Tensor]) -> int:
    """Bytes one game's encoding takes ([B, ...] tensors: the total over keys divided by B)."""
    batch = next(iter(encoded.values())).shape[0]
    return sum(t.numel() * t.element_size() for t in encoded.values()) // batch


def inverse_sqrt(dim: int) -> float:
    return 1.0 / math.sqrt(dim)
