"""The embedded engine's one-player shells: the batched tensor environment (a Gymnasium vector env over
`arena.core.GameCore`) and a single-game Gymnasium view of it; and `make`, which picks the environment for a scenario
and backend. The protocol they all speak is arena.protocol's."""

from __future__ import annotations

import gymnasium
import numpy as np
import torch

from arena.backends import Backend
from arena.core import GameCore, staggered_start
from arena.interface.functions import ActionResult
from arena.interface.limits import Limits
from arena.interface.view import InterfaceFormat
from arena.multi_env import ArenaMultiEnv
from arena.protocol import (AUTORESET_MODE, Actions, BatchedEnvironment, StepType, action_space, discount,
                            observation_space, player_actions, step_types)
from arena.scenarios.base import Scenario
from arena.scenarios.registry import make_scenario
from arena.sim.state import Score
from arena.sim.step import Engine


class ArenaEnv(GameCore, gymnasium.vector.VectorEnv):
    """B games of a one-player scenario stepped together, with tensor observations and actions (the fast path).

    Observations are dicts of tensors with pysc2's names ([B, ...]); actions are `BatchedAction`s (or dicts of
    their fields, or a one-element sequence of either: arena.protocol). Episodes reset on the step after they end
    (Gymnasium's next-step autoreset); the reward of a step is the change of score_cumulative[0]. `limits` puts the
    player under the fairness limits (APM cap, action delay, fog), as two-player games are by default; its
    observations then carry `apm_window_actions` and `apm_refused`.
    """

    metadata = {"autoreset_mode": AUTORESET_MODE}

    def __init__(self, scenario: str | Scenario, *, num_envs: int = 1, device: torch.device | str = "cpu",
                 step_mul: int | None = None, interface: InterfaceFormat | None = None, engine: str | Engine = "auto",
                 limits: Limits | None = None):
        chosen = make_scenario(scenario) if isinstance(scenario, str) else scenario
        if chosen.spec.num_agents != 1:
            raise ValueError(f"{chosen.spec.id} has {chosen.spec.num_agents} players; use the multi-player environment")
        super().__init__(chosen, num_envs=num_envs, device=device, step_mul=step_mul, interface=interface,
                         limits=limits, engine=engine)
        self.single_observation_space = observation_space(self.interface, self.spec_.num_units, limits is not None)
        self.single_action_space = action_space(self.interface)
        self.observation_space = self.single_observation_space
        self.action_space = self.single_action_space

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None
              ) -> tuple[dict[str, torch.Tensor], dict]:
        """Begin an episode in every game. `options={"stagger": True}`: each game's first episode starts part of the
        way into its time limit (`staggered_start`), so the games of a batch do not all end on the same step."""
        unknown = sorted(set(options or {}) - {"stagger"})
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; known: ['stagger']")
        self.begin(seed, stagger=bool((options or {}).get("stagger")))
        zeros = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        obs = self.observe_player(0, torch.full_like(zeros, int(ActionResult.Success)), zeros)
        return obs, self._info(torch.full_like(zeros, int(StepType.FIRST)))

    def step(self, actions: Actions):
        """One step of every game: (obs, reward [B], terminated [B], truncated [B], info)."""
        step = self.advance(player_actions(actions, num_players=1, num_envs=self.num_envs, device=self.device))
        score = Score.SCORE
        reward = torch.where(step.began, 0.0, step.after.score[:, 0, score] - step.before.score[:, 0, score])
        obs = self.observe_player(0, step.action_result[:, 0], step.last_action[:, 0])
        return obs, reward, step.terminated, step.truncated, self._info(step_types(step.began, step.ending))

    def _info(self, step_type: torch.Tensor) -> dict:
        return {"step_type": step_type, "score": self.state.score[:, 0, Score.SCORE], "discount": discount(step_type)}


class ArenaSingleEnv(gymnasium.Env):
    """One game as a plain Gymnasium environment with numpy observations (a view of a one-game `ArenaEnv`)."""

    metadata = {"render_modes": []}

    def __init__(self, scenario: str | Scenario, *, step_mul: int | None = None,
                 interface: InterfaceFormat | None = None, limits: Limits | None = None):
        self.batched = ArenaEnv(scenario, num_envs=1, step_mul=step_mul, interface=interface, limits=limits)
        self.observation_space = self.batched.single_observation_space
        self.action_space = self.batched.single_action_space

    def _numpy(self, obs: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        return {key: obs[key][0].cpu().numpy().astype(space.dtype)
                for key, space in self.observation_space.spaces.items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(0, 2**31 - 1))
        obs, info = self.batched.reset(seed=[seed])
        return self._numpy(obs), {key: value[0].item() for key, value in info.items()}

    def step(self, action: dict):
        batched = {key: torch.as_tensor(np.asarray(value))[None] for key, value in action.items()}
        obs, reward, terminated, truncated, info = self.batched.step(batched)
        return (self._numpy(obs), float(reward[0]), bool(terminated[0]), bool(truncated[0]),
                {key: value[0].item() for key, value in info.items()})


def make(scenario: str, *, num_envs: int = 1, device: torch.device | str = "cpu", step_mul: int | None = None,
         interface: InterfaceFormat | None = None, engine: str | Engine = "auto", backend: str = "embedded",
         **backend_options) -> BatchedEnvironment:
    """A batched environment of `num_envs` games of `scenario` (an id such as "MoveToBeacon" or "MoveToBeacon-v1").

    `backend` picks what plays the games (`arena.backends.Backend`): "embedded", the torch engine (an `ArenaEnv`),
    or "sc2", the real StarCraft II through pysc2 (an `arena.backends.sc2.Sc2Env`, which also takes pysc2 map names
    such as "Simple64"; `backend_options` go to it: players, max_units, save_replay_episodes, replay_dir, ...).
    All speak one protocol (`arena.protocol.BatchedEnvironment`). A two-player scenario gives an
    `arena.multi_env.ArenaMultiEnv` (observations [B, P, ...], one action per player), under `limits=`
    (`arena.interface.limits.Limits`; default AlphaStar's APM cap, 2 game loops of delay, fog of war); a one-player
    scenario gives an `ArenaEnv`, under no limits unless `limits=` gives some. `engine` picks what runs the embedded
    engine's game loop (`arena.sim.step.Engine`): "auto" (the default: the compiled kernel on the CPU, the torch
    passes on a GPU), "kernel", "torch", or "compiled" (the torch passes through torch.compile, which needs a C++
    compiler on CPU); all agree up to float rounding."""
    chosen = Backend.parse(backend)
    if chosen is Backend.SC2:
        if Engine.parse(engine) is not Engine.AUTO:
            raise ValueError(f"engine={engine!r} applies to the embedded engine only, not to backend='sc2'")
        from arena.backends.sc2 import Sc2Env  # here: it imports pysc2, which only this backend needs

        return Sc2Env(scenario, num_envs=num_envs, device=device, step_mul=step_mul, interface=interface,
                      **backend_options)
    limits = backend_options.pop("limits", None)
    if backend_options:
        raise TypeError(f"options {sorted(backend_options)} are for backend='sc2'; the embedded backend takes "
                        "only limits=")
    shell = ArenaMultiEnv if make_scenario(scenario).spec.num_agents > 1 else ArenaEnv
    return shell(scenario, num_envs=num_envs, device=device, step_mul=step_mul, interface=interface, limits=limits,
                 engine=engine)


__all__ = ["ArenaEnv", "ArenaSingleEnv", "StepType", "make", "observation_space", "action_space", "staggered_start"]
