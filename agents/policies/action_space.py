"""Action spaces for training: which pysc2 functions a policy may choose and which arguments it does not choose.

A policy's config holds its action space (`PolicyConfig.functions`, `fixed_arguments`), so a saved policy keeps it
wherever it plays (ladder, league, replays). The spaces are masks over the functions the environment offers: a
policy never sees or picks a function outside its space, and the environment is unchanged.

Why restrict: on the single-screen mini-games the camera bounds let `move_camera` shift the view by most of a
screen (as in the game), and a fresh policy that clicks the camera away loses the beacon from its screen in about
three quarters of its training states; `queued` sampled half the time makes a move wait behind the current order.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from arena.interface.functions import FunctionId

MINIMAP_FUNCTIONS = (FunctionId.Attack_minimap, FunctionId.Move_minimap, FunctionId.Smart_minimap)
ACT_NOW = (("queued", 0),)
"""Orders replace the current one instead of queueing behind it."""


@dataclasses.dataclass(frozen=True)
class ActionSpace:
    """A named action space."""

    name: str
    functions: tuple[int, ...] | None
    """pysc2 function ids the policy may choose (no_op always stays); None: every function."""
    fixed_arguments: tuple[tuple[str, int], ...]
    """Arguments the policy does not choose, with their value."""
    description: str

    def __post_init__(self) -> None:
        if self.functions is not None:  # the order policies keep them in (PolicyConfig.functions)
            object.__setattr__(self, "functions", tuple(sorted(set(self.functions))))

    def policy_options(self) -> dict[str, Any]:
        """The PolicyConfig fields that make a policy use this space."""
        return {"functions": self.functions, "fixed_arguments": self.fixed_arguments}


def _without(*excluded: FunctionId) -> tuple[int, ...]:
    return tuple(int(f) for f in FunctionId if f not in excluded)


ACTION_SPACES: Mapping[str, ActionSpace] = {space.name: space for space in (
    ActionSpace("full", None, (), "every function the engine models, every argument chosen (the PySC2 paper's "
                                  "setting)"),
    ActionSpace("no_camera", _without(FunctionId.move_camera), ACT_NOW,
                "every function but move_camera; queued fixed to 0 (orders act now)"),
    ActionSpace("move", (int(FunctionId.no_op), int(FunctionId.select_army), int(FunctionId.Move_screen),
                         int(FunctionId.Attack_screen)), ACT_NOW,
                "select_army, Move_screen and Attack_screen; queued fixed to 0: the least that plays the movement "
                "and fighting mini-games"),
    ActionSpace("screen", _without(FunctionId.move_camera, *MINIMAP_FUNCTIONS), ACT_NOW,
                "no camera and no minimap functions; queued fixed to 0: for mini-games whose map fits on the screen"),
    ActionSpace("screen_queued", _without(FunctionId.move_camera, *MINIMAP_FUNCTIONS), (),
                "as screen, but queued is chosen: for policies cloned from agents that queue orders"),
)}
"""The action spaces by name (`arena train --action-space NAME`)."""


def action_space(name: str) -> ActionSpace:
    """The action space called `name`.

    Raises:
        ValueError: no space has that name (the message lists them).
    """
    if name not in ACTION_SPACES:
        raise ValueError(f"unknown action space {name!r}; known: {', '.join(ACTION_SPACES)}")
    return ACTION_SPACES[name]


__all__ = ["ACTION_SPACES", "ActionSpace", "action_space"]
