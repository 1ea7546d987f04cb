"""Focus fire, shared by the combat agents: choose one enemy for the whole army and keep it until it dies."""

from __future__ import annotations

import torch

from agents.scripted.units import INF, ScreenUnits, centroid, gather_rows

STICKY_TAG_NONE = -1.0


def focus_target(units: ScreenUnits, candidates: torch.Tensor, previous_tag: torch.Tensor, *,
                 px_per_hp: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The enemy row [B] the army should shoot, and whether there is one [B].

    Keeps the previous target (by tag) while it is a candidate; otherwise the candidate [B, U] that is cheapest to
    kill and nearest to the army: health plus distance to the army's centre, one pixel counting as `px_per_hp`
    health points.
    """
    army = centroid(units.pos, units.own & units.selected)
    dist = torch.linalg.vector_norm(units.pos - army[:, None], dim=-1)
    cost = torch.where(candidates, units.health + dist * px_per_hp, INF)
    kept = candidates & (units.tag == previous_tag[:, None])
    cost = torch.where(kept, -1.0, cost)
    row = cost.argmin(dim=1)
    return row, candidates.any(dim=1)


def target_tag(units: ScreenUnits, row: torch.Tensor, found: torch.Tensor) -> torch.Tensor:
    """[B] the tag of the chosen row, or STICKY_TAG_NONE."""
    return torch.where(found, gather_rows(units.tag, row), STICKY_TAG_NONE)
