"""PySC2 agents by import path (`pysc2.agents.scripted_agent.MoveToBeacon`), played one game at a time through a
pysc2-shaped environment (the embedded engine's `arena.pysc2_env.SC2Env`, or pysc2's own for the real game)."""

from __future__ import annotations

import importlib
from typing import Any, Callable

from agents.base import BatchedAgent


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


class Pysc2BatchedAgent(BatchedAgent):
    """A pysc2 agent class playing every game of a batch: one instance per game, each fed the pysc2 TimeStep of its
    game (built from the batched observation as `arena.pysc2_env.SC2Env` builds it) and answering a FunctionCall.
    A call the game would refuse (an unknown function or bad arguments) becomes a no-op, as a real game ignores it.

    Args:
        agent_class: the pysc2 agent class (`load_agent_class`).
        interface: the observations' InterfaceFormat (screen and minimap sizes).
        map_name: the scenario, shown to the agent as the map's name.
    """

    name = "pysc2"

    def __init__(self, agent_class: type, interface: Any, map_name: str):
        self.agent_class = agent_class
        self.interface = interface
        self.map_name = map_name
        self.agents: list[Any] = []

    def reset(self, num_envs: int) -> None:
        from arena.pysc2_env import action_spec, observation_spec

        self.agents = [self.agent_class() for _ in range(num_envs)]
        for agent in self.agents:
            agent.setup(observation_spec(self.interface), action_spec(self.interface))

    def act(self, obs: dict, first: Any) -> Any:
        from pysc2.env import environment

        from arena.interface.actions import BatchedAction
        from arena.pysc2_env import action_spec, to_batched_action, to_pysc2_observation

        if len(self.agents) != len(first):
            self.reset(len(first))
        spec, device = action_spec(self.interface), first.device
        actions = []
        for game, agent in enumerate(self.agents):
            row = {key: value[game:game + 1] for key, value in obs.items()}
            if bool(first[game]):
                agent.reset()
            step_type = environment.StepType.FIRST if bool(first[game]) else environment.StepType.MID
            timestep = environment.TimeStep(step_type=step_type, reward=0.0, discount=1.0,
                                            observation=to_pysc2_observation(row, self.interface, self.map_name))
            try:
                actions.append(to_batched_action(agent.step(timestep), spec, device))
            except ValueError:
                actions.append(BatchedAction.no_op(1, device))
        return BatchedAction.cat(actions)
