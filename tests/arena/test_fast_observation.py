"""The observation's fast paths (fog of war by runs of cells, units painted in two groups by size) give exactly what
their plain cell-by-cell statements give, on random placements and on full games in progress."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import arena
from agents.registry import make_agent
from arena.interface.features import paint_units, paint_units_split, paint_units_together
from arena.interface.fog import visible_cells, visible_cells_by_cell, visible_cells_in_runs
from arena.multi_env import ArenaMultiEnv, player_view
from arena.sim.state import Owner
from arena.sim.units import unit_table


def scattered_state(seed: int, batch: int = 6, map_cells: int = 64):
    """A FullGame state with every unit moved to a random spot (some near and beyond the map's edges), and random
    owners, including dead units."""
    env = ArenaMultiEnv("FullGame", num_envs=batch)
    env.reset(seed=seed)
    state = env.state
    gen = torch.Generator().manual_seed(seed)
    B, U = state.unit_type.shape
    pos = torch.rand(B, U, 2, generator=gen) * (map_cells + 8) - 4
    # Some exactly on cell corners and centres: where float rounding of the run ends matters most.
    snapped = torch.rand(B, U, 1, generator=gen) < 0.3
    pos = torch.where(snapped, (pos * 2).round() / 2, pos)
    owner = torch.randint(0, 3, (B, U), generator=gen)
    alive = torch.rand(B, U, generator=gen) < 0.8
    return state.replace(unit_pos=pos, unit_owner=torch.where(owner == 2, int(Owner.NEUTRAL), owner),
                              unit_alive=alive)


SIGHT = {"kernel (CPU)": visible_cells, "torch, in runs": visible_cells_in_runs}


@pytest.mark.parametrize("marker", SIGHT)
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("player", [0, 1])
def test_fast_fog_equals_fog_cell_by_cell_on_random_placements(seed, player, marker):
    state = scattered_state(seed)
    table = unit_table(torch.device("cpu"))
    for cells in [(64, 64), (40, 72)]:
        assert torch.equal(SIGHT[marker](state, player, table, cells),
                           visible_cells_by_cell(state, player, table, cells))


@pytest.mark.parametrize("marker", SIGHT)
def test_fast_fog_equals_fog_cell_by_cell_with_exact_sight_circles(marker):
    """Units on cell centres and corners with sight radii whose circles pass exactly through cell centres."""
    state = scattered_state(0, batch=2)
    B, U = state.unit_type.shape
    grid = torch.arange(B * U, dtype=torch.float32).reshape(B, U)
    pos = torch.stack([10 + (grid % 9) * 0.5, 20 + (grid // 9 % 7) * 0.5], dim=-1)
    state = state.replace(unit_pos=pos, unit_owner=torch.zeros_like(state.unit_owner),
                          unit_alive=torch.ones_like(state.unit_alive))
    table = unit_table(torch.device("cpu"))
    for sight in (5.0, 10.0, 13.0, 7.5):
        table_exact = dataclasses.replace(table, sight=torch.full_like(table.sight, sight))
        assert torch.equal(SIGHT[marker](state, 0, table_exact, (64, 64)),
                           visible_cells_by_cell(state, 0, table_exact, (64, 64)))


@pytest.mark.parametrize("marker", SIGHT)
def test_no_living_unit_sees_nothing(marker):
    state = scattered_state(1)
    state = state.replace(unit_alive=torch.zeros_like(state.unit_alive))
    table = unit_table(torch.device("cpu"))
    assert not SIGHT[marker](state, 0, table, (64, 64)).any()


PAINTERS = {"kernel (CPU)": paint_units, "torch, in two groups": paint_units_split}


@pytest.mark.parametrize("painter", PAINTERS)
@pytest.mark.parametrize("seed", range(4))
def test_painting_fast_equals_painting_together(seed, painter):
    gen = torch.Generator().manual_seed(seed)
    B, U, F, size = 5, 40, 3, 48
    values = torch.randint(0, 200, (B, U, F), generator=gen).float()
    pos = torch.rand(B, U, 2, generator=gen) * (size + 16) - 8
    radius = torch.tensor([0.5, 1.0, 1.7, 2.7, 4.8, 7.3])[torch.randint(0, 6, (B, U), generator=gen)]
    radius = torch.where(torch.rand(B, U, generator=gen) < 0.7, radius.clamp(max=1.7), radius)  # mostly small
    radius = torch.where(torch.rand(B, U, generator=gen) < 0.05, 0.0, radius)  # a dot: its centre pixel only
    pos[:, :2] = pos[:, 2:4]  # units on top of each other
    drawn = torch.rand(B, U, generator=gen) < 0.85
    got = PAINTERS[painter](values, drawn, pos, radius, size)
    want = paint_units_together(values, drawn, pos, radius, size)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


@pytest.mark.parametrize("painter", PAINTERS)
def test_painting_with_one_size_or_nothing_drawn(painter):
    B, U, size = 2, 6, 16
    values = torch.arange(B * U * 2, dtype=torch.float32).reshape(B, U, 2)
    pos = torch.rand(B, U, 2, generator=torch.Generator().manual_seed(3)) * size
    for drawn in (torch.ones(B, U, dtype=torch.bool), torch.zeros(B, U, dtype=torch.bool)):
        radius = torch.full((B, U), 1.5)
        got = PAINTERS[painter](values, drawn, pos, radius, size)
        want = paint_units_together(values, drawn, pos, radius, size)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_full_games_in_progress_observe_the_same_as_the_plain_versions(monkeypatch):
    """Bots play FullGame for a while; then each player's whole observation (screen and minimap layers, unit lists)
    with the fast paths equals the one with the plain versions swapped in."""
    import arena.interface.features as features
    import arena.interface.observation as observation
    env = ArenaMultiEnv("FullGame", num_envs=3, interface=arena.InterfaceFormat())
    bots = [make_agent("bot:3", "FullGame", seed=p) for p in range(2)]
    obs, _ = env.reset(seed=5)
    for bot in bots:
        bot.reset(3)
    first = torch.ones(3, dtype=torch.bool)
    for _ in range(120):
        obs, _, _, _, info = env.step([bot.act(player_view(obs, p), first) for p, bot in enumerate(bots)])
        first = info["step_type"] == 0
    no_result = torch.zeros(3, dtype=torch.long)

    def observations() -> list[dict[str, torch.Tensor]]:
        return [observation.observe(env.state, p, env.context, no_result, no_result) for p in range(2)]

    fast = observations()
    monkeypatch.setattr(features, "paint_units", features.paint_units_together)
    monkeypatch.setattr(observation, "visible_cells", visible_cells_by_cell)
    plain = observations()
    for got, want in zip(fast, plain):
        assert got.keys() == want.keys()
        for key in got:
            assert torch.equal(got[key], want[key]), key
    assert (fast[0]["feature_screen"][:, 4] > 0).any()  # units were drawn (unit_type)
