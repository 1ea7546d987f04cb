"""The scenario registry: versioned ids ("MoveToBeacon-v1"); a bare name means its latest version."""

from __future__ import annotations

from arena.scenarios.base import Scenario
from arena.scenarios.collect_mineral_shards import CollectMineralShards
from arena.scenarios.counter_pick import CounterPick
from arena.scenarios.combat_waves import DefeatRoaches, DefeatZerglingsAndBanelings
from arena.scenarios.economy_minigames import ECONOMY_MINI_GAMES
from arena.scenarios.full_game import FULL_GAME_SCENARIOS
from arena.scenarios.find_and_defeat_zerglings import FindAndDefeatZerglings
from arena.scenarios.move_to_beacon import MoveToBeacon
from arena.scenarios.skirmish import Skirmish2s3z, Skirmish3m, Skirmish27mVs30m
from arena.scenarios.two_player import TWO_PLAYER_SCENARIOS

_REGISTRY: dict[str, type[Scenario]] = {}


def register(scenario: type[Scenario]) -> type[Scenario]:
    """Add a scenario class under its spec's versioned id."""
    scenario_id = scenario.spec.id
    if scenario_id in _REGISTRY:
        raise ValueError(f"scenario {scenario_id} is already registered")
    _REGISTRY[scenario_id] = scenario
    return scenario


for _scenario in (MoveToBeacon, CollectMineralShards, FindAndDefeatZerglings, DefeatRoaches,
                  DefeatZerglingsAndBanelings, *ECONOMY_MINI_GAMES):
    register(_scenario)
for _scenario in (Skirmish3m, Skirmish2s3z, Skirmish27mVs30m):
    register(_scenario)
for _scenario in TWO_PLAYER_SCENARIOS + (CounterPick,) + FULL_GAME_SCENARIOS:
    register(_scenario)


def scenario_ids() -> list[str]:
    return sorted(_REGISTRY)


def resolve_id(name: str) -> str:
    """The versioned id for `name`: itself if registered, else the latest version of that name."""
    if name in _REGISTRY:
        return name
    versions = [sid for sid in _REGISTRY if sid.rsplit("-v", 1)[0] == name]
    if not versions:
        known = ", ".join(scenario_ids())
        raise KeyError(f"unknown scenario {name!r}; known scenarios: {known}")
    return max(versions, key=lambda sid: int(sid.rsplit("-v", 1)[1]))


def make_scenario(name: str) -> Scenario:
    """A scenario by id or bare name."""
    return _REGISTRY[resolve_id(name)]()
