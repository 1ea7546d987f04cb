"""CollectMineralsAndGas: mine with every worker where it earns most, train SCVs without pause, build Supply Depots
before supply runs out and Refineries with three workers each (agents.scripted.economy does the work)."""

from __future__ import annotations

from agents.scripted.economy import REFINERY, SUPPLY_DEPOT, EconomyAgent, Plan

EPISODE_LOOPS = 420 * 16
"""The map's 420 game seconds."""
DEPOT_SITES = ((32.0, 36.0), (34.0, 36.0), (36.0, 36.0), (32.0, 20.0), (34.0, 20.0), (36.0, 20.0), (30.0, 36.0),
               (30.0, 20.0))
"""Along the top and bottom edges, out of the workers' paths between the Command Center and the resources."""

PLAN = Plan(
    structures=(SUPPLY_DEPOT, REFINERY), sites={SUPPLY_DEPOT: DEPOT_SITES},
    wanted={REFINERY: ((14, 1), (16, 2), (19, 3), (22, 4))},
    max_workers=60, worker_payback=20.0, episode_loops=EPISODE_LOOPS)


class CollectMineralsAndGasAgent(EconomyAgent):
    """The shared scripted economy with the CollectMineralsAndGas plan."""

    name = "scripted-CollectMineralsAndGas"
    plan = PLAN
