"""FullyConv, the PySC2 paper's baseline agent network (Vinyals et al. 2017, "StarCraft II: A New Challenge for
Reinforcement Learning", section 4.3), on the batched observations.

Screen and minimap each: categorical layers embedded (a one-hot and a 1x1 conv), numeric layers log-scaled, then a
5x5 conv with 16 channels and a 3x3 conv with 32 (padded: the resolution is kept). The non-spatial features (the
player vector log-scaled and the available actions) go through a linear layer with tanh and are broadcast over the
map. Their concatenation is the state: spatial arguments (screen, screen2, minimap) come from a 1x1 conv of it at
their own resolution; a fully connected layer of 256 units then gives the function id, each non-spatial argument and
the value.

One deviation, for size: the state is average-pooled to pool_size x pool_size before the fully connected layer
(the paper flattens it whole, which at 64 x 64 puts some 20 million weights in that one layer); pool_size equal to
the screen size recovers the paper's network. With it the weights do not depend on the screen size.
Arguments do not depend on the chosen function (each is a single row, as in the paper).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

import torch
from torch import nn

from agents.policies.base import Policy, PolicyConfig, PolicyOutput
from agents.policies.distribution import ARGUMENT_SIZES, CategoricalArgument, PointArgument, masked_log_softmax
from agents.policies.encoding import (DEFAULT_UNIT_TYPE_IDS, LayerEmbedding, broadcast, check_layers,
                                      encode_minimap, encode_player, encode_screen, init_head, resize,
                                      unit_type_lookup)
from arena.interface.functions import NUM_FUNCTIONS
from arena.interface.observation import PLAYER_FIELDS
from arena.interface.view import MINIMAP_LAYERS, SCREEN_LAYERS

FULLY_CONV_SCREEN_LAYERS = ("visibility_map", "player_relative", "unit_type", "selected", "unit_hit_points",
                            "unit_hit_points_ratio", "unit_shields", "unit_energy", "unit_density", "build_progress",
                            "pathable")
"""The screen layers FullyConv reads by default: those the engine draws with content (its height_map and creep are
all zeros; add them for the real game)."""
FULLY_CONV_MINIMAP_LAYERS = ("visibility_map", "camera", "player_relative", "selected", "unit_type", "pathable")


@dataclasses.dataclass(frozen=True)
class FullyConvConfig(PolicyConfig):
    """FullyConv's sizes (the defaults are the paper's where it gives them)."""

    kind: ClassVar[str] = "fullyconv"
    screen_layers: tuple[str, ...] = FULLY_CONV_SCREEN_LAYERS
    """pysc2 screen layers read, in this order (encoding.LAYER_CODINGS says how each is coded)."""
    minimap_layers: tuple[str, ...] = FULLY_CONV_MINIMAP_LAYERS
    """pysc2 minimap layers read."""
    unit_type_ids: tuple[int, ...] = DEFAULT_UNIT_TYPE_IDS
    """The unit-type vocabulary (pysc2 ids; encoding.DEFAULT_UNIT_TYPE_IDS)."""
    embedding_dim: int = 8
    """Channels the categorical layers are embedded into."""
    conv_channels: tuple[int, int] = (16, 32)
    """Channels of the 5x5 and the 3x3 convolution (the paper: 16, 32)."""
    nonspatial_channels: int = 16
    """Channels of the broadcast non-spatial features."""
    pool_size: int = 8
    """The state is average-pooled to pool_size x pool_size before the fully connected layer."""
    hidden_size: int = 256
    """Units of the fully connected layer (the paper: 256)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_layers(self.screen_layers, SCREEN_LAYERS, "FullyConvConfig.screen_layers")
        check_layers(self.minimap_layers, MINIMAP_LAYERS, "FullyConvConfig.minimap_layers")
        if len(self.conv_channels) != 2 or min(self.conv_channels) < 1:
            raise ValueError(f"conv_channels must be two positive sizes, got {self.conv_channels}")
        for name in ("embedding_dim", "nonspatial_channels", "pool_size", "hidden_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.unit_type_ids:
            raise ValueError("unit_type_ids must name at least one unit type")


def spatial_encoder(embedding: LayerEmbedding, channels: tuple[int, int]) -> nn.Sequential:
    """Embedded layers, then a 5x5 and a 3x3 convolution with ReLUs, keeping the resolution."""
    return nn.Sequential(embedding, nn.Conv2d(embedding.out_channels, channels[0], 5, padding=2), nn.ReLU(),
                         nn.Conv2d(channels[0], channels[1], 3, padding=1), nn.ReLU())


class FullyConv(Policy):
    """The PySC2 paper's FullyConv agent network (module docstring).

    encode() gives: "screen" uint8 [B, len(screen_layers), S, S], "minimap" uint8 [B, len(minimap_layers), M, M]
    (layer codes, encoding.LAYER_CODINGS), "player" float32 [B, 11] (log(1 + x)), "available_actions" bool
    [B, 573].
    """

    config_type = FullyConvConfig

    def __init__(self, config: FullyConvConfig):
        super().__init__(config)
        self.register_buffer("unit_type_lookup", unit_type_lookup(config.unit_type_ids), persistent=False)
        embed = config.embedding_dim
        self.screen_encoder = spatial_encoder(LayerEmbedding(config.screen_layers, config.unit_type_ids, embed),
                                              config.conv_channels)
        self.minimap_encoder = spatial_encoder(LayerEmbedding(config.minimap_layers, config.unit_type_ids, embed),
                                               config.conv_channels)
        self.nonspatial = nn.Linear(PLAYER_FIELDS + NUM_FUNCTIONS + self.time_features, config.nonspatial_channels)
        state = 2 * config.conv_channels[1] + config.nonspatial_channels
        self.fc = nn.Linear(state * config.pool_size ** 2, config.hidden_size)
        self.function_head = init_head(nn.Linear(config.hidden_size, NUM_FUNCTIONS))
        self.value_head = nn.Linear(config.hidden_size, 1)
        self.argument_heads = nn.ModuleDict({name: init_head(nn.Linear(config.hidden_size, size))
                                             for name, size in ARGUMENT_SIZES.items()})
        self.point_heads = nn.ModuleDict({name: init_head(nn.Conv2d(state, 1, 1))
                                          for name in ("screen", "screen2", "minimap")})

    @torch.no_grad()
    def encode(self, obs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        config, lookup = self.config, self.unit_type_lookup
        return {
            "screen": encode_screen(obs, config.screen_layers, config.screen_size, lookup),
            "minimap": encode_minimap(obs, config.minimap_layers, config.minimap_size, lookup),
            "player": encode_player(obs, lookup.device),
            "available_actions": self.encode_available(obs),
            "time_left": self.encode_time(obs),
        }

    def forward(self, encoded: Mapping[str, torch.Tensor]) -> PolicyOutput:
        S, M = self.config.screen_size, self.config.minimap_size
        screen = self.screen_encoder(encoded["screen"])  # [B, 32, S, S]
        minimap = self.minimap_encoder(encoded["minimap"])  # [B, 32, M, M]
        available = encoded["available_actions"]
        flat = torch.cat([encoded["player"].float(), available.float(), encoded["time_left"].float()], dim=-1)
        nonspatial = torch.tanh(self.nonspatial(flat))  # [B, 16]
        state_screen = torch.cat([screen, resize(minimap, S), broadcast(nonspatial, S)], dim=1)
        state_minimap = torch.cat([resize(screen, M), minimap, broadcast(nonspatial, M)], dim=1)
        pooled = nn.functional.adaptive_avg_pool2d(state_screen, self.config.pool_size).flatten(1)
        hidden = torch.relu(self.fc(pooled))  # [B, 256]
        arguments = {name: CategoricalArgument(name, masked_log_softmax(head(hidden))[:, None])
                     for name, head in self.argument_heads.items()}
        for name, state, size in (("screen", state_screen, S), ("screen2", state_screen, S),
                                  ("minimap", state_minimap, M)):
            logits = self.point_heads[name](state).flatten(1)  # [B, size * size]
            arguments[name] = PointArgument(name, masked_log_softmax(logits)[:, None], size)
        distribution = self.distribution(self.function_head(hidden), available, arguments)
        return PolicyOutput(distribution=distribution, value=self.value_head(hidden)[:, 0])
