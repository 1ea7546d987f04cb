"""Stateful shells over the pure engine: the batched tensor environment (a Gymnasium vector env) and a
single-game Gymnasium view of it."""

from __future__ import annotations

import enum
import os

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from arena.interface.actions import BatchedAction, apply_action
from arena.interface.functions import NUM_FUNCTIONS, ActionResult, FunctionId
from arena.interface.observation import ObservationContext, observe, perceive, remember_seen
from arena.interface.unit_list import NUM_UNIT_FEATURES, SELECTION_FEATURES
from arena.interface.view import MINIMAP_LAYERS, SCREEN_LAYERS, InterfaceFormat
from arena.scenarios.base import Scenario
from arena.scenarios.registry import make_scenario
from arena.sim.state import CONTROL_GROUPS, Score, State, put_games
from arena.sim.step import Engine, SimParams, loop_function, loop_runner
from arena.sim.units import unit_table


class StepType(enum.IntEnum):
    """dm_env / pysc2 step types."""

    FIRST = 0
    MID = 1
    LAST = 2


def _seeds(seed: int | list[int] | None, num_envs: int) -> list[int]:
    if seed is None:
        base = int.from_bytes(os.urandom(4), "little")
        return [base + i for i in range(num_envs)]
    if isinstance(seed, int):
        return [seed + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"got {len(seeds)} seeds for {num_envs} environments")
    return [int(s) for s in seeds]


class ArenaEnv(gymnasium.vector.VectorEnv):
    """B games of one scenario stepped together, with tensor observations and actions (the fast path).

    Observations are dicts of tensors with pysc2's names ([B, ...]); actions are `BatchedAction`s (or dicts of
    their fields). Episodes reset on the step after they end (Gymnasium's next-step autoreset); the reward of a step
    is the change of score_cumulative[0].
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, scenario: str | Scenario, *, num_envs: int = 1, device: torch.device | str = "cpu",
                 step_mul: int | None = None, interface: InterfaceFormat | None = None, engine: str | Engine = "auto"):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.scenario = make_scenario(scenario) if isinstance(scenario, str) else scenario
        spec = self.scenario.spec
        if spec.num_agents != 1:
            raise ValueError(f"{spec.id} has {spec.num_agents} players; use the multi-player environment")
        self.spec_ = spec
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.step_mul = spec.step_mul if step_mul is None else step_mul
        if self.step_mul < 1:
            raise ValueError(f"step_mul must be at least 1, got {self.step_mul}")
        self.interface = interface or InterfaceFormat()
        self.params = SimParams.create(spec.playable, self.device, economy=spec.economy)
        self._game_loop = loop_function(engine, self.params)
        self.context = ObservationContext.for_scenario(spec, unit_table(self.device), self.interface,
                                                       self.params.bounds, spec.fog)
        self._run_loops = loop_runner(engine, self.params, self.scenario.loop_trigger, fog=self.context.fog)
        self.single_observation_space = observation_space(self.interface, spec.num_units)
        self.single_action_space = action_space(self.interface)
        self.observation_space = self.single_observation_space
        self.action_space = self.single_action_space
        self.state: State | None = None
        self._needs_reset = torch.zeros(num_envs, dtype=torch.bool, device=self.device)

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None
              ) -> tuple[dict[str, torch.Tensor], dict]:
        """Begin an episode in every game. `options={"stagger": True}`: each game's first episode starts part of the
        way into its time limit (`staggered_start`), so the games of a batch do not all end on the same step."""
        unknown = sorted(set(options or {}) - {"stagger"})
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; known: ['stagger']")
        seeds = torch.tensor(_seeds(seed, self.num_envs), dtype=torch.long, device=self.device)
        episode = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        initial = self.scenario.initial_state(seeds, episode)
        if (options or {}).get("stagger"):
            initial = initial.replace(game_loop=staggered_start(seeds, self.spec_.time_limit_loops, self.step_mul))
        self.state = remember_seen(initial, self.context)
        self._needs_reset = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        zeros = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        obs = observe(self.state, 0, self.context, torch.full_like(zeros, int(ActionResult.Success)), zeros)
        return obs, self._info(torch.full_like(zeros, int(StepType.FIRST)), torch.zeros(self.num_envs,
                                                                                       device=self.device))

    def step(self, actions: BatchedAction | dict[str, torch.Tensor]):
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        action = actions if isinstance(actions, BatchedAction) else BatchedAction.make(
            torch.as_tensor(actions["function"], device=self.device), device=self.device,
            **{k: torch.as_tensor(v, device=self.device) for k, v in actions.items() if k != "function"})
        if action.function.shape != (self.num_envs,):
            raise ValueError(f"expected one function per environment ({self.num_envs}), "
                             f"got shape {tuple(action.function.shape)}")
        action = action.to(self.device)
        spec, state = self.spec_, self.state
        visible, _ = perceive(state, 0, self.context)
        acted, result = apply_action(state, action, 0, self.context.table, self.interface, spec.geometry, visible,
                                     self.context.allowed, self.context.economy)
        stepped = self._run_loops(acted, self.params, self.step_mul, self._loop_rule)
        new_state = remember_seen(self._autoreset(stepped), self.context)
        terminated = self.scenario.terminated(new_state) & ~self._needs_reset
        truncated = (new_state.game_loop >= spec.time_limit_loops) & ~terminated & ~self._needs_reset
        reward = torch.where(self._needs_reset, 0.0,
                             new_state.score[:, 0, Score.SCORE] - state.score[:, 0, Score.SCORE])
        step_type = torch.where(self._needs_reset, int(StepType.FIRST),
                                torch.where(terminated | truncated, int(StepType.LAST), int(StepType.MID)))
        result = torch.where(self._needs_reset, int(ActionResult.Success), result)
        last_action = torch.where(self._needs_reset, int(FunctionId.no_op), action.function)
        self.state = new_state
        self._needs_reset = terminated | truncated
        obs = observe(new_state, 0, self.context, result, last_action)
        return obs, reward, terminated, truncated, self._info(step_type, reward)

    def _loop_rule(self, state: State, died: torch.Tensor) -> State:
        """The scenario's rule after every game loop; under fog, what each player sees in that loop is remembered
        (pysc2's SEEN cells), so exploring does not depend on step_mul."""
        return remember_seen(self.scenario.loop_rule(state, died), self.context)

    def _autoreset(self, stepped: State) -> State:
        """Games whose episode ended on the previous step begin a new one (their action was ignored).
        A new episode's spawn is built only for the games that need one, on steps where some game does."""
        if not bool(self._needs_reset.any()):
            return stepped
        index = self._needs_reset.nonzero()[:, 0]  # spawn new episodes for these games only
        fresh = self.scenario.initial_state(self.state.seed[index], self.state.episode[index] + 1)
        return put_games(stepped, index, fresh)

    def _info(self, step_type: torch.Tensor, reward: torch.Tensor) -> dict:
        return {"step_type": step_type, "score": self.state.score[:, 0, Score.SCORE],
                "discount": torch.where(step_type == int(StepType.MID), 1.0, 0.0)}  # pysc2: 0 on FIRST and LAST

    def close(self, **kwargs) -> None:
        self.state = None


def staggered_start(seeds: torch.Tensor, time_limit_loops: int, step_mul: int) -> torch.Tensor:
    """[B] long: the game loop each game's first episode starts at, a whole number of steps in [0, time limit),
    spread by a hash of the game's seed (the same seeds, the same starts, on every device). A learner whose games
    all end on the same step sees its value targets jump once per episode; staggered, their ends spread out."""
    steps = max(time_limit_loops // step_mul, 1)
    mixed = (seeds * 2654435761 + 40503) % 2147483647  # Knuth's multiplicative hash: neighbouring seeds spread out
    return (mixed % steps) * step_mul


def observation_space(fmt: InterfaceFormat, units: int) -> spaces.Dict:
    """The Gymnasium space of one game's observation."""
    S, M = fmt.screen_size, fmt.minimap_size
    big = np.iinfo(np.int16).max
    layout = {
        "available_actions": spaces.MultiBinary(NUM_FUNCTIONS),
        "player": spaces.Box(0, np.inf, (11,), np.float32),
        "score_cumulative": spaces.Box(-np.inf, np.inf, (13,), np.float32),
        "game_loop": spaces.Box(0, np.iinfo(np.int64).max, (), np.int64),
        "action_result": spaces.Box(0, 1000, (), np.int64),
        "last_actions": spaces.Box(0, NUM_FUNCTIONS - 1, (), np.int64),
        "camera": spaces.Box(0, 256, (2,), np.float32),
        "multi_select": spaces.Box(-np.inf, np.inf, (units, SELECTION_FEATURES), np.float32),
        "multi_select_mask": spaces.MultiBinary(units),
        "control_groups": spaces.Box(0, np.iinfo(np.int64).max, (CONTROL_GROUPS, 2), np.int64),
    }
    if fmt.feature_layers:
        layout["feature_screen"] = spaces.Box(0, big, (len(SCREEN_LAYERS), S, S), np.int16)
        layout["feature_minimap"] = spaces.Box(0, big, (len(MINIMAP_LAYERS), M, M), np.int16)
    if fmt.feature_units:
        layout["feature_units"] = spaces.Box(-np.inf, np.inf, (units, NUM_UNIT_FEATURES), np.float32)
        layout["feature_units_mask"] = spaces.MultiBinary(units)
    if fmt.raw_units:
        layout["raw_units"] = spaces.Box(-np.inf, np.inf, (units, NUM_UNIT_FEATURES), np.float32)
        layout["raw_units_mask"] = spaces.MultiBinary(units)
    return spaces.Dict(layout)


def action_space(fmt: InterfaceFormat) -> spaces.Dict:
    """The Gymnasium space of one game's action: a pysc2 function id and every argument type's value."""
    S, M = fmt.screen_size, fmt.minimap_size
    return spaces.Dict({
        "function": spaces.Discrete(NUM_FUNCTIONS),
        "screen": spaces.MultiDiscrete([S, S]),
        "minimap": spaces.MultiDiscrete([M, M]),
        "screen2": spaces.MultiDiscrete([S, S]),
        "queued": spaces.Discrete(2),
        "select_point_act": spaces.Discrete(4),
        "select_add": spaces.Discrete(2),
        "control_group_act": spaces.Discrete(5),
        "control_group_id": spaces.Discrete(10),
        "select_worker": spaces.Discrete(4),
    })


class ArenaSingleEnv(gymnasium.Env):
    """One game as a plain Gymnasium environment with numpy observations (a view of a one-game `ArenaEnv`)."""

    metadata = {"render_modes": []}

    def __init__(self, scenario: str | Scenario, *, step_mul: int | None = None,
                 interface: InterfaceFormat | None = None):
        self.batched = ArenaEnv(scenario, num_envs=1, step_mul=step_mul, interface=interface)
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
         **backend_options) -> gymnasium.vector.VectorEnv:
    """A batched environment of `num_envs` games of `scenario` (an id such as "MoveToBeacon" or "MoveToBeacon-v1").

    `backend` picks what plays the games (`arena.backends.Backend`): "embedded", the torch engine (an `ArenaEnv`),
    or "sc2", the real StarCraft II through pysc2 (an `arena.backends.sc2.Sc2Env`, which also takes pysc2 map names
    such as "Simple64"; `backend_options` go to it: players, max_units, save_replay_episodes, replay_dir, ...).
    Both speak the same protocol. A two-player scenario gives an `arena.multi_env.ArenaMultiEnv` (observations
    [B, P, ...], one action per player), under `limits=` (`arena.interface.limits.Limits`; default AlphaStar's APM
    cap, 2 game loops of delay, fog of war). `engine` picks what runs the embedded engine's game loop
    (`arena.sim.step.Engine`): "auto" (the default: the compiled kernel on the CPU, the torch passes on a GPU),
    "kernel", "torch", or "compiled" (the torch passes through torch.compile, which needs a C++ compiler on CPU);
    all agree up to float rounding."""
    from arena.backends import Backend

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
                        "only limits= (two-player scenarios)")
    if make_scenario(scenario).spec.num_agents > 1:
        from arena.multi_env import ArenaMultiEnv  # it builds on this module

        return ArenaMultiEnv(scenario, num_envs=num_envs, device=device, step_mul=step_mul, interface=interface,
                             limits=limits, engine=engine)
    if limits is not None:
        raise ValueError(f"limits= applies to two-player scenarios; {scenario} has one player")
    return ArenaEnv(scenario, num_envs=num_envs, device=device, step_mul=step_mul, interface=interface,
                    engine=engine)


__all__ = ["ArenaEnv", "ArenaSingleEnv", "StepType", "make", "observation_space", "action_space", "staggered_start"]
