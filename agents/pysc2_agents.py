"""PySC2 agents by import path (`pysc2.agents.scripted_agent.MoveToBeacon`), played one game at a time through a
pysc2-shaped environment (the embedded engine's `arena.pysc2_env.SC2Env`, or pysc2's own for the real game)."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def is_import_path(name: str) -> bool:
    """Agent names with a dot are import paths of pysc2 agent classes (not those with a kind prefix such as
    "policy:" or "bot:", whose paths may hold dots)."""
    return "." in name and ":" not in name


def load_agent_class(path: str) -> type:
    """The class at `path` ("package.module.Class"), imported after the pysc2 compatibility fixes.

    Raises ValueError naming what could not be found.
    """
    from arena.compat.pysc2 import load_pysc2

    load_pysc2()
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import the agent module {module_name!r}: {error}") from None
    agent_class = getattr(module, class_name, None)
    if not isinstance(agent_class, type):
        raise ValueError(f"{module_name!r} has no agent class {class_name!r}")
    for method in ("setup", "reset", "step"):
        if not callable(getattr(agent_class, method, None)):
            raise ValueError(f"{path} is not a pysc2 agent: it has no {method}() method "
                             "(pysc2 agents derive from pysc2.agents.base_agent.BaseAgent)")
    return agent_class


def play_pysc2_episodes(make_env: Callable[[], Any], agent: Any, episodes: int,
                        on_episode: Callable[[float], None] | None = None) -> list[float]:
    """Play `episodes` games with a pysc2 agent, as pysc2's run_loop does, and return each game's final score
    (score_cumulative.score of the last observation). `on_episode(score)` is called after each."""
    scores: list[float] = []
    with make_env() as env:
        agent.setup(env.observation_spec()[0], env.action_spec()[0])
        for _ in range(episodes):
            (timestep,) = env.reset()
            agent.reset()
            while True:
                action = agent.step(timestep)
                if timestep.last():
                    break
                (timestep,) = env.step([action])
            scores.append(float(timestep.observation["score_cumulative"][0]))
            if on_episode is not None:
                on_episode(scores[-1])
    return scores
