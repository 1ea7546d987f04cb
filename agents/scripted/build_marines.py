"""BuildMarines: mine with SCVs up to about three a field, build Supply Depots ahead of supply, add Barracks as
the workforce grows and train Marines from every Barracks without pause (agents.scripted.economy does the work)."""

from __future__ import annotations

from agents.scripted.economy import BARRACKS, SUPPLY_DEPOT, EconomyAgent, Plan

EPISODE_LOOPS = 900 * 16
"""The map's 900 game seconds."""
DEPOT_SITES = tuple((x, y) for x in (44.0, 42.0) for y in (36.0, 34.0, 32.0, 30.0, 28.0, 26.0, 24.0, 22.0, 20.0)) + \
    tuple((x, y) for y in (36.0, 20.0) for x in (40.0, 38.0, 36.0, 34.0, 32.0))
"""The east edge, then the top and bottom edges: the mineral line is in the west."""
BARRACKS_SITES = ((35.5, 24.5), (35.5, 28.5), (35.5, 32.5), (39.5, 24.5), (39.5, 28.5), (39.5, 32.5), (31.5, 33.5),
                  (31.5, 22.5))
"""Between the Command Center and the depots, a cell apart so that Marines (made just below each) fit."""

PLAN = Plan(
    structures=(SUPPLY_DEPOT, BARRACKS), sites={SUPPLY_DEPOT: DEPOT_SITES, BARRACKS: BARRACKS_SITES},
    wanted={BARRACKS: ((15, 1), (16, 2), (18, 3), (19, 4), (20, 5), (22, 6))},
    max_workers=22, worker_payback=100.0, episode_loops=EPISODE_LOOPS, marines=True)


class BuildMarinesAgent(EconomyAgent):
    """The shared scripted economy with the BuildMarines plan."""

    name = "scripted-BuildMarines"
    plan = PLAN
