"""Agents by name: `make_agent("scripted", "MoveToBeacon-v1")`, `make_agent("random", ...)`, `make_agent("noop",
...)`."""

from __future__ import annotations

from typing import Callable

from agents.base import BatchedAgent
from agents.bots.terran import make_bot
from agents.noop_agent import NoopAgent
from agents.random_agent import RandomAgent
from agents.scripted.army import ArmyAgent
from agents.scripted.build_marines import BuildMarinesAgent
from agents.scripted.counter_pick import CounterPickAgent, composition_named
from agents.scripted.collect_minerals_and_gas import CollectMineralsAndGasAgent
from agents.scripted.collect_mineral_shards import CollectMineralShardsAgent, VoronoiShardsAgent
from agents.scripted.defeat_roaches import DefeatRoachesAgent
from agents.scripted.defeat_zerglings_and_banelings import DefeatZerglingsAndBanelingsAgent
from agents.scripted.find_and_defeat_zerglings import FindAndDefeatZerglingsAgent
from agents.scripted.move_to_beacon import MoveToBeaconAgent
from agents.scripted.races import BeaconRaceAgent, ShardRaceAgent
from arena.interface.view import InterfaceFormat
from arena.scenarios.registry import resolve_id

SCRIPTED: dict[str, Callable[[], BatchedAgent]] = {
    "MoveToBeacon": MoveToBeaconAgent,
    "CollectMineralShards": CollectMineralShardsAgent,
    "FindAndDefeatZerglings": FindAndDefeatZerglingsAgent,
    "DefeatRoaches": DefeatRoachesAgent,
    "DefeatZerglingsAndBanelings": DefeatZerglingsAndBanelingsAgent,
    "CollectMineralsAndGas": CollectMineralsAndGasAgent,
    "BuildMarines": BuildMarinesAgent,
    # Two-player scenarios: the agent plays one seat, from that player's observation.
    "MarineMirror": ArmyAgent,
    "TerranVsZerg": ArmyAgent,
    "BeaconRace": BeaconRaceAgent,
    "ShardRace": ShardRaceAgent,
    "CounterPick": CounterPickAgent,
}
"""The scripted agent of each scenario, by the scenario's name without version. For a two-player scenario it plays
either seat: make one per player."""

_MAKERS: dict[str, Callable[[str, int], BatchedAgent]] = {
    "random": lambda scenario, seed: RandomAgent(seed=seed),
    "noop": lambda scenario, seed: NoopAgent(),
    "scripted": lambda scenario, seed: _scripted(scenario),
}


def agent_names() -> list[str]:
    """The names `make_agent` knows."""
    return sorted(_MAKERS)


def scripted_scenarios() -> list[str]:
    """The scenario names that have a scripted agent."""
    return sorted(SCRIPTED)


def _scenario_name(scenario_id: str) -> str:
    """"MoveToBeacon" or "MoveToBeacon-v1" -> "MoveToBeacon" (the scenario must be registered)."""
    try:
        return resolve_id(scenario_id).rsplit("-v", 1)[0]
    except KeyError as error:
        raise ValueError(error.args[0]) from None


def _scripted(scenario_id: str) -> BatchedAgent:
    name = _scenario_name(scenario_id)
    if name not in SCRIPTED:
        raise ValueError(f"no scripted agent for scenario {scenario_id!r}; scripted agents exist for: "
                         f"{', '.join(scripted_scenarios())}")
    return SCRIPTED[name]()


SCRIPTED_PREFIX = "scripted:"
"""`scripted:<option>`: the scenario's scripted agent with an option; CounterPick's take a composition
(`scripted:zerglings`, `scripted:roaches`, `scripted:banelings`), `scripted` alone picks at random;
CollectMineralShards' `scripted:voronoi` is its memoryless strategy (each Marine to the nearest shard of its own
territory), which a policy can clone."""
SCRIPTED_OPTIONS: dict[str, Callable[[str, int], BatchedAgent]] = {
    "CounterPick": lambda option, seed: CounterPickAgent(composition=composition_named(option), seed=seed),
    "CollectMineralShards": lambda option, seed: _one_option("CollectMineralShards", option, {
        "voronoi": VoronoiShardsAgent}),
}


def _one_option(scenario: str, option: str, agents: dict[str, Callable[[], BatchedAgent]]) -> BatchedAgent:
    if option not in agents:
        raise ValueError(f"the scripted agent of {scenario} has no option {option!r}; its options: "
                         f"{', '.join(sorted(agents))}")
    return agents[option]()


def _scripted_with_option(scenario_id: str, option: str, seed: int) -> BatchedAgent:
    name = _scenario_name(scenario_id)
    if name not in SCRIPTED_OPTIONS:
        raise ValueError(f"the scripted agent of {scenario_id!r} takes no option; scripted agents with options: "
                         f"{', '.join(sorted(SCRIPTED_OPTIONS))}")
    return SCRIPTED_OPTIONS[name](option, seed)


BOT_PREFIX = "bot:"
"""`bot:<level|strategy>`: the built-in full-game bot (agents/bots): levels 1..5, strategies rush, greedy, turtle."""


POLICY_PREFIX = "policy:"
"""`policy:<path>`: a saved neural policy (`arena train` writes `<run>/policy.json`), played by sampling."""


def _load_policy(path: str):
    from agents.policies.checkpoint import PolicyFileError, load_policy  # torch modules: only when a policy is named

    try:
        return load_policy(path)
    except (FileNotFoundError, PolicyFileError) as error:
        raise ValueError(f"cannot load the policy {path}: {error}") from None


def agent_interface(names: list[str]) -> InterfaceFormat | None:
    """The interface the named policies read (screen and minimap sizes), or None when no policy is named (the
    scenario's default then). Raises ValueError when two policies read different sizes."""
    sizes = {(p.config.screen_size, p.config.minimap_size) for p in
             (_load_policy(n[len(POLICY_PREFIX):]) for n in names if n.startswith(POLICY_PREFIX))}
    if len(sizes) > 1:
        raise ValueError(f"the policies read different screen and minimap sizes {sorted(sizes)}; they cannot share "
                         "one game")
    if not sizes:
        return None
    screen, minimap = sizes.pop()
    return InterfaceFormat(screen_size=screen, minimap_size=minimap)


def make_agent(name: str, scenario_id: str, *, seed: int = 0) -> BatchedAgent:
    """A new agent by `name` ("random", "noop", "scripted", "scripted:<option>", "bot:<level|strategy>", a built-in
    bot, or "policy:<path>", a saved neural policy) for the scenario `scenario_id` (a bare name such as
    "MoveToBeacon" or a versioned id such as "MoveToBeacon-v1").

    Raises:
        ValueError: the name is unknown, the scenario is unknown, it has no scripted agent, or the policy cannot
            be loaded.
    """
    if name.startswith(POLICY_PREFIX):
        from agents.policies.base import PolicyAgent

        _scenario_name(scenario_id)
        return PolicyAgent(_load_policy(name[len(POLICY_PREFIX):]), seed=seed)
    if name.startswith(SCRIPTED_PREFIX):
        return _scripted_with_option(scenario_id, name[len(SCRIPTED_PREFIX):], seed)
    if name.startswith(BOT_PREFIX):
        _scenario_name(scenario_id)
        return make_bot(name[len(BOT_PREFIX):])
    if name not in _MAKERS:
        raise ValueError(f"unknown agent {name!r}; known agents: {', '.join(agent_names())}, "
                         f"{POLICY_PREFIX}PATH (a policy saved by `arena train`), {BOT_PREFIX}1 .. {BOT_PREFIX}5 or "
                         f"{BOT_PREFIX}rush / greedy / turtle (the full game's built-in bots), or a pysc2 agent class "
                         "by import path (`arena play`, `arena ladder`)")
    _scenario_name(scenario_id)
    return _MAKERS[name](scenario_id, seed)
