"""Tested training settings per scenario: what `arena train SCENARIO` uses when no other option is given.

Each preset is a set of TrainConfig fields (policy, screen size, games, unroll, learning rate, entropy, epochs,
reward scale, action space) and the agent steps to train for; command-line options override any of them. The
README's learning table gives what each reaches, with the command that measures it (benchmarks/learning.py).
Scenarios without a preset train with TrainConfig's defaults.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Mapping

from arena.scenarios.registry import make_scenario, resolve_id

COMBAT = types.MappingProxyType({"policy": "entity", "screen_size": 16, "minimap_size": 16, "num_envs": 64,
                                 "unroll": 16, "epochs": 1, "minibatches": 4, "learning_rate": 5e-4,
                                 "entropy_coef": 1e-3, "action_space": "screen"})
"""The entity policy on a 16 x 16 screen, 64 games, PPO with one epoch of 4 minibatches: what learned
MoveToBeacon fastest per wall-clock second on 2 CPU cores (README, "Learning")."""


@dataclasses.dataclass(frozen=True)
class Preset:
    """A scenario's tested settings."""

    scenario: str
    """The scenario's name (any version)."""
    settings: Mapping[str, Any]
    """TrainConfig fields."""
    steps: int
    """Agent steps `arena train` trains for by default."""
    note: str
    """What it is for, in a few words."""


def _preset(scenario: str, steps: int, note: str, **changes: Any) -> Preset:
    return Preset(scenario=scenario, settings=types.MappingProxyType({**COMBAT, **changes}), steps=steps, note=note)


PRESETS: Mapping[str, Preset] = types.MappingProxyType({preset.scenario: preset for preset in (
    _preset("MoveToBeacon", 100_000, "one Marine to the beacon"),
    _preset("CollectMineralShards", 2_000_000, "cloned from the memoryless split (scripted:voronoi), then PPO near "
            "the clone", reward_scale=0.5, screen_size=32, minimap_size=32, action_space="screen_queued",
            relative_positions=True, warm_start="scripted:voronoi", warm_start_episodes=64, warm_start_epochs=12,
            kl_coef=0.3, learning_rate=2e-4, critic_warmup=16_384),
    _preset("FindAndDefeatZerglings", 2_000_000, "cloned from the scripted agent's sweeps, then PPO near the clone",
            screen_size=32, minimap_size=32, action_space="full", warm_start="scripted", kl_coef=0.1,
            learning_rate=2e-4),
    _preset("DefeatRoaches", 2_000_000, "focus fire; rewards +10 a Roach, -1 a Marine", reward_scale=0.1,
            gamma=0.95),
    _preset("DefeatZerglingsAndBanelings", 2_000_000, "split against Banelings", reward_scale=0.1, gamma=0.95),
    _preset("CollectMineralsAndGas", 4_000_000, "economy: cloned from the scripted agent, then PPO near the clone",
            reward_scale=0.01, screen_size=32, minimap_size=32, action_space="no_camera", unroll=32,
            warm_start="scripted", warm_start_episodes=16, warm_start_epochs=8, kl_coef=1.0, learning_rate=1e-4,
            critic_warmup=32_768, selection_summary=True),
    _preset("BuildMarines", 4_000_000, "production: cloned from the scripted agent, then PPO near the clone",
            screen_size=32, minimap_size=32, action_space="no_camera", unroll=32, warm_start="scripted",
            warm_start_episodes=8, warm_start_epochs=4, kl_coef=0.1, learning_rate=2e-4),
    _preset("MarineMirror", 300_000, "8 Marines against player 2 (`--opponent`, default scripted)",
            opponent="scripted", action_space="move"),
)})
"""The presets by scenario name."""


def preset_for(scenario: str) -> Preset | None:
    """The preset of `scenario` (an id or a name), or None."""
    return PRESETS.get(make_scenario(resolve_id(scenario)).spec.name)


def presets_table() -> str:
    """The presets as the text `arena train --presets` prints."""
    lines = []
    for preset in PRESETS.values():
        shown = ", ".join(f"{key}={value}" for key, value in preset.settings.items())
        lines.append(f"{preset.scenario}  ({preset.note}; {preset.steps:,} steps)\n    {shown}")
    return "\n".join(lines)


__all__ = ["PRESETS", "Preset", "preset_for", "presets_table"]
