"""EntityPolicy: a small network in the spirit of AlphaStar (Vinyals et al. 2019): a transformer over the unit list,
a small convolutional encoder of the screen and the minimap, an MLP core, and an autoregressive action head.

The action head chooses the function first. Every argument is then conditioned on it: its head reads
relu(core + embedding(function)), computed for each function that takes the argument at once (a row per function,
agents.policies.distribution), so the log-prob, entropy and KL stay exact. Given the function the arguments are
independent of each other.

The screen point argument is a unit or a free point (distribution.UnitOrPointArgument): a gate chooses "a unit" or
"a pixel"; a pointer attention over the on-screen units (keys from the transformer, the query from the function-
conditioned core) chooses the unit, whose centre pixel becomes the point; a spatial head (the function-conditioned
query against a 1x1 conv of the screen features) chooses a free pixel. The latents "point_kind" and "unit_index"
are kept in the sample so its log-prob is that of the path taken. screen2 and minimap are spatial heads of the same
form; the non-spatial arguments are linear heads.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

import torch
from torch import nn

from agents.policies.base import Policy, PolicyConfig, PolicyOutput
from agents.policies.distribution import (ARGUMENT_SIZES, CategoricalArgument, PointArgument, PointKind,
                                          UnitOrPointArgument, masked_log_softmax)
from agents.policies.encoding import (DEFAULT_UNIT_TYPE_IDS, NUM_UNIT_NUMBERS, UNIT_ALLIANCES, UNIT_NUMBER_SELECTED,
                                      UNIT_NUMBER_X, UNIT_NUMBER_Y, LayerEmbedding,
                                      check_layers, encode_minimap, encode_player, encode_screen,
                                      init_head, inverse_sqrt, required, unit_numbers, unit_pixels,
                                      unit_type_index, unit_type_lookup, unit_type_vocabulary_size)
from agents.policies.fully_conv import FULLY_CONV_MINIMAP_LAYERS, spatial_encoder
from arena.interface.features import PlayerRelative
from arena.interface.functions import NUM_FUNCTIONS
from arena.interface.observation import PLAYER_FIELDS
from arena.interface.unit_list import FeatureUnit
from arena.interface.view import MINIMAP_LAYERS, SCREEN_LAYERS

ENTITY_SCREEN_LAYERS = ("visibility_map", "pathable", "player_relative", "selected", "unit_density")
"""The screen layers the entity policy reads by default: units come from the unit list, the screen is for free
points (terrain, where units stand)."""


@dataclasses.dataclass(frozen=True)
class EntityConfig(PolicyConfig):
    """EntityPolicy's sizes."""

    kind: ClassVar[str] = "entity"
    screen_layers: tuple[str, ...] = ENTITY_SCREEN_LAYERS
    """pysc2 screen layers read (for the free-point heads)."""
    minimap_layers: tuple[str, ...] = FULLY_CONV_MINIMAP_LAYERS
    """pysc2 minimap layers read."""
    unit_type_ids: tuple[int, ...] = DEFAULT_UNIT_TYPE_IDS
    """The unit-type vocabulary (pysc2 ids)."""
    embedding_dim: int = 8
    """Channels the categorical feature layers are embedded into."""
    spatial_channels: tuple[int, int] = (16, 16)
    """Channels of the 5x5 and 3x3 convolutions of the screen and minimap encoders."""
    unit_dim: int = 64
    """Width of the unit transformer."""
    unit_heads: int = 2
    """Attention heads of the unit transformer."""
    unit_layers: int = 2
    """Transformer blocks."""
    core_size: int = 256
    """Width of the core MLP and the function embedding."""
    key_dim: int = 32
    """Width of the pointer's and the spatial heads' keys and queries."""
    relative_positions: bool = False
    """Each unit also reads where it stands relative to the selected units' centre and to the centre of the player's
    other units (offsets and distances, in screen widths): which shard is nearest to the selected Marine is then
    one feature away, instead of a distance the attention must compute. Off in policies saved before it."""
    selection_summary: bool = False
    """The core also reads the mean of the selected units' embeddings: what the selection is and does (a Command
    Center's queue, a Marine's orders) decides most commands, and the summary token would have to find it among
    every unit on the screen. Off in policies saved before it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_layers(self.screen_layers, SCREEN_LAYERS, "EntityConfig.screen_layers")
        check_layers(self.minimap_layers, MINIMAP_LAYERS, "EntityConfig.minimap_layers")
        for name in ("embedding_dim", "unit_dim", "unit_heads", "core_size", "key_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.unit_layers < 0 or len(self.spatial_channels) != 2 or min(self.spatial_channels) < 1:
            raise ValueError("unit_layers must be >= 0 and spatial_channels two positive sizes")
        if self.unit_dim % self.unit_heads:
            raise ValueError(f"unit_dim {self.unit_dim} must be a multiple of unit_heads {self.unit_heads}")
        if not self.unit_type_ids:
            raise ValueError("unit_type_ids must name at least one unit type")


def on_screen_first(units: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """units [B, U, F], mask [B, U] -> the on-screen units first, in their order, and only as many slots as the
    fullest game has on screen (at least one, masked where empty, so the pointer has something to index).

    The unit list has a slot for every unit a scenario may ever have (DefeatRoaches: 52, about 13 alive), and the
    transformer's cost grows with the slots; the dropped slots are all masked, so the policy's outputs are those of
    the full list. Encodings of different widths are zero-padded (masked) when stacked (`pad_stack`).
    """
    width = max(int(mask.sum(1).max()) if mask.numel() else 0, 1)
    if width >= units.shape[1]:
        if units.shape[1] == 0:
            return units.new_zeros(units.shape[0], 1, units.shape[2]), mask.new_zeros(mask.shape[0], 1)
        return units, mask
    order = torch.argsort((~mask).to(torch.uint8), dim=1, stable=True)[:, :width]
    return units.gather(1, order[..., None].expand(-1, -1, units.shape[2])), mask.gather(1, order)


class TransformerBlock(nn.Module):
    """A pre-norm transformer encoder block (self-attention over the tokens a mask keeps, then an MLP)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))

    def forward(self, tokens: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """tokens [B, T, D], keep [B, T] bool (every row keeps at least one token) -> [B, T, D]."""
        B, T, D = tokens.shape
        q, k, v = self.qkv(self.attention_norm(tokens)).reshape(B, T, 3, self.heads, D // self.heads).unbind(2)
        attended = nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=keep[:, None, None, :])
        tokens = tokens + self.out(attended.transpose(1, 2).reshape(B, T, D))
        return tokens + self.mlp(self.mlp_norm(tokens))


RELATIVE_FEATURES = 6
"""(dx, dy, distance) to the selected units' centre and to the centre of the player's unselected units."""


def relative_positions(numbers: torch.Tensor, alliance: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, U, RELATIVE_FEATURES]: each unit's offset (x, y, distance; screen widths) from the centre of the selected
    units and from the centre of the player's unselected units (zero where there are none)."""
    xy = numbers[..., UNIT_NUMBER_X:UNIT_NUMBER_Y + 1]
    selected = (numbers[..., UNIT_NUMBER_SELECTED] > 0.5) & mask
    others = (alliance == PlayerRelative.SELF) & ~selected & mask

    def offsets(group: torch.Tensor) -> torch.Tensor:
        weights = group.float()[..., None]
        count = weights.sum(dim=1, keepdim=True)
        centre = (xy * weights).sum(dim=1, keepdim=True) / count.clamp(min=1.0)
        offset = torch.where(count > 0, xy - centre, 0.0)
        return torch.cat([offset, torch.linalg.vector_norm(offset, dim=-1, keepdim=True)], dim=-1)

    return torch.where(mask[..., None], torch.cat([offsets(selected), offsets(others)], dim=-1), 0.0)


def masked_mean(units: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, U, D], [B, U] bool -> [B, D] the mean of the units of the mask (zeros where it holds none)."""
    weights = mask.float()[..., None]
    return (units * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class UnitEncoder(nn.Module):
    """Units (type, alliance, numbers) -> per-unit embeddings [B, U, D] and a summary [B, 2D] (a learned summary
    token that attends to the units, which also keeps attention defined when no unit is on screen, and the mean of
    the units), [B, 3D] with `selection_summary` (and the mean of the selected units)."""

    def __init__(self, config: EntityConfig):
        super().__init__()
        dim = config.unit_dim
        self.type_embedding = nn.Embedding(unit_type_vocabulary_size(config.unit_type_ids), dim)
        self.alliance_embedding = nn.Embedding(UNIT_ALLIANCES, dim)
        self.numbers = nn.Linear(NUM_UNIT_NUMBERS, dim)
        self.relative = nn.Linear(RELATIVE_FEATURES, dim) if config.relative_positions else None
        self.selection_summary = config.selection_summary
        self.summary_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.blocks = nn.ModuleList(TransformerBlock(dim, config.unit_heads) for _ in range(config.unit_layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, encoded: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        mask = encoded["unit_mask"]
        units = (self.type_embedding(encoded["unit_type"].long()) + self.alliance_embedding(
            encoded["unit_alliance"].long()) + self.numbers(encoded["unit_numbers"].float()))
        if self.relative is not None:
            units = units + self.relative(relative_positions(encoded["unit_numbers"].float(),
                                                             encoded["unit_alliance"], mask))
        B = units.shape[0]
        tokens = torch.cat([self.summary_token.expand(B, 1, -1), units], dim=1)
        keep = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=mask.device), mask], dim=1)
        for block in self.blocks:
            tokens = block(tokens, keep)
        tokens = self.norm(tokens)
        units = tokens[:, 1:]
        summary = [tokens[:, 0], masked_mean(units, mask)]
        if self.selection_summary:
            selected = (encoded["unit_numbers"][..., UNIT_NUMBER_SELECTED] > 0.5) & mask
            summary.append(masked_mean(units, selected))
        return units, torch.cat(summary, dim=-1)


class PointHead(nn.Module):
    """Function-conditioned logits over a map's pixels: query(conditioned core) . key(map) plus a per-pixel bias."""

    def __init__(self, core: int, channels: int, key_dim: int):
        super().__init__()
        self.query = nn.Linear(core, key_dim)
        self.key = nn.Conv2d(channels, key_dim, 1)
        self.bias = init_head(nn.Conv2d(channels, 1, 1))
        init_head(self.query)

    def forward(self, conditioned: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """conditioned [B, F, core], maps [B, C, H, W] -> logits [B, F, H * W]."""
        keys = self.key(maps).flatten(2)  # [B, K, H * W]
        logits = torch.einsum("bfk,bkn->bfn", self.query(conditioned), keys) * inverse_sqrt(keys.shape[1])
        return logits + self.bias(maps).flatten(2)


class EntityPolicy(Policy):
    """The unit-list policy (module docstring).

    encode() gives: "screen" uint8 [B, len(screen_layers), S, S], "minimap" uint8 [B, len(minimap_layers), M, M],
    "player" float32 [B, 11], "available_actions" bool [B, 573], "unit_type" uint8 [B, U] (vocabulary index),
    "unit_alliance" uint8 [B, U], "unit_numbers" float16 [B, U, NUM_UNIT_NUMBERS], "unit_mask" bool [B, U] (the
    on-screen units), "unit_pixel" int16 [B, U, 2] (each unit's (x, y) screen pixel, the point it stands for).
    U is the most units any game of the batch has on screen (`on_screen_first`).
    """

    config_type = EntityConfig

    def __init__(self, config: EntityConfig):
        super().__init__(config)
        self.register_buffer("unit_type_lookup", unit_type_lookup(config.unit_type_ids), persistent=False)
        for name, ids in self.argument_functions.items():
            self.register_buffer(f"functions_{name}", torch.tensor(ids, dtype=torch.long), persistent=False)
        core, channels = config.core_size, config.spatial_channels
        self.units = UnitEncoder(config)
        self.screen_encoder = spatial_encoder(
            LayerEmbedding(config.screen_layers, config.unit_type_ids, config.embedding_dim), channels)
        self.minimap_encoder = spatial_encoder(
            LayerEmbedding(config.minimap_layers, config.unit_type_ids, config.embedding_dim), channels)
        summaries = 3 if config.selection_summary else 2
        core_input = summaries * config.unit_dim + 2 * channels[1] + PLAYER_FIELDS + NUM_FUNCTIONS + self.time_features
        self.core = nn.Sequential(nn.Linear(core_input, core), nn.ReLU(), nn.Linear(core, core), nn.ReLU())
        self.function_head = init_head(nn.Linear(core, NUM_FUNCTIONS))
        self.function_embedding = nn.Embedding(NUM_FUNCTIONS, core)
        self.value_head = nn.Sequential(nn.Linear(core, core), nn.ReLU(), nn.Linear(core, 1))
        self.argument_heads = nn.ModuleDict({name: init_head(nn.Linear(core, size))
                                             for name, size in ARGUMENT_SIZES.items()})
        self.gate_head = init_head(nn.Linear(core, len(PointKind)))
        self.unit_query = init_head(nn.Linear(core, config.key_dim))
        self.unit_key = nn.Linear(config.unit_dim, config.key_dim)
        self.point_heads = nn.ModuleDict({name: PointHead(core, channels[1], config.key_dim)
                                          for name in ("screen", "screen2", "minimap")})

    @torch.no_grad()
    def encode(self, obs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        config, lookup = self.config, self.unit_type_lookup
        device = lookup.device
        units, mask = on_screen_first(required(obs, "feature_units").to(device, torch.float32),
                                      required(obs, "feature_units_mask").to(device).bool())
        return {
            "screen": encode_screen(obs, config.screen_layers, config.screen_size, lookup),
            "minimap": encode_minimap(obs, config.minimap_layers, config.minimap_size, lookup),
            "player": encode_player(obs, device),
            "available_actions": self.encode_available(obs),
            "time_left": self.encode_time(obs),
            "unit_type": unit_type_index(units[..., int(FeatureUnit.unit_type)], lookup),
            "unit_alliance": units[..., int(FeatureUnit.alliance)].clamp(0, UNIT_ALLIANCES - 1).to(torch.uint8),
            "unit_numbers": torch.where(mask[..., None], unit_numbers(units, config.screen_size), 0.0).half(),
            "unit_mask": mask,
            "unit_pixel": unit_pixels(units, config.screen_size),
        }

    def _conditioned(self, core: torch.Tensor, name: str) -> torch.Tensor:
        """[B, F, core] the core conditioned on each function taking argument `name`."""
        functions = getattr(self, f"functions_{name}")
        return torch.relu(core[:, None] + self.function_embedding(functions)[None])

    def forward(self, encoded: Mapping[str, torch.Tensor]) -> PolicyOutput:
        S, M = self.config.screen_size, self.config.minimap_size
        units, unit_summary = self.units(encoded)  # [B, U, D], [B, 2D]
        screen = self.screen_encoder(encoded["screen"])  # [B, C, S, S]
        minimap = self.minimap_encoder(encoded["minimap"])  # [B, C, M, M]
        available = encoded["available_actions"]
        core = self.core(torch.cat([unit_summary, screen.mean((2, 3)), minimap.mean((2, 3)),
                                    encoded["player"].float(), available.float(),
                                    encoded["time_left"].float()], dim=-1))  # [B, core]
        arguments = {name: CategoricalArgument(name, masked_log_softmax(head(self._conditioned(core, name))))
                     for name, head in self.argument_heads.items()}
        arguments["screen"] = self._screen_argument(core, units, screen, encoded)
        arguments["screen2"] = PointArgument("screen2", masked_log_softmax(
            self.point_heads["screen2"](self._conditioned(core, "screen2"), screen)), S)
        arguments["minimap"] = PointArgument("minimap", masked_log_softmax(
            self.point_heads["minimap"](self._conditioned(core, "minimap"), minimap)), M)
        distribution = self.distribution(self.function_head(core), available, arguments)
        return PolicyOutput(distribution=distribution, value=self.value_head(core)[:, 0])

    def _screen_argument(self, core: torch.Tensor, units: torch.Tensor, screen: torch.Tensor,
                         encoded: Mapping[str, torch.Tensor]) -> UnitOrPointArgument:
        conditioned = self._conditioned(core, "screen")  # [B, F, core]
        mask = encoded["unit_mask"]
        keys = self.unit_key(units)  # [B, U, K]
        pointer = torch.einsum("bfk,buk->bfu", self.unit_query(conditioned), keys) * inverse_sqrt(keys.shape[-1])
        has_units = mask.any(-1)
        gate_keep = torch.stack([torch.ones_like(has_units), has_units], dim=-1)[:, None]  # [B, 1, 2] PointKind
        gate = masked_log_softmax(self.gate_head(conditioned), gate_keep.expand(-1, conditioned.shape[1], -1))
        pixel = PointArgument("screen", masked_log_softmax(self.point_heads["screen"](conditioned, screen)),
                              self.config.screen_size)
        return UnitOrPointArgument("screen", gate=gate, unit=masked_log_softmax(pointer, mask[:, None]),
                                   pixel=pixel, unit_pixel=encoded["unit_pixel"].long(), unit_mask=mask)
