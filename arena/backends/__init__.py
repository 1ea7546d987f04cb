"""What plays the games behind the environment protocol: the embedded torch engine (`arena.env.ArenaEnv`) or the real
StarCraft II through pysc2 (`arena.backends.sc2.Sc2Env`).

This package imports neither torch-heavy engine code nor pysc2 on import; `arena.backends.sc2` imports pysc2 (a test
dependency), so it is only loaded when the real game is asked for.
"""

from __future__ import annotations

import enum


class Backend(str, enum.Enum):
    """The game behind `arena.make`."""

    EMBEDDED = "embedded"
    """The batched torch engine (fast; the default)."""
    SC2 = "sc2"
    """The real StarCraft II through `pysc2.env.sc2_env.SC2Env`, one game process per environment."""

    @classmethod
    def parse(cls, value: "Backend | str") -> "Backend":
        """`value` as a Backend, or ValueError naming the known backends."""
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(repr(b.value) for b in cls)
            raise ValueError(f"unknown backend {value!r}; known backends: {known}") from None


class Sc2NotInstalledError(RuntimeError):
    """StarCraft II, or the map asked for, is not where pysc2 looks for it (raised by arena.backends.installation)."""


__all__ = ["Backend", "Sc2NotInstalledError"]
