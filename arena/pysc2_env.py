"""PySC2's `SC2Env` over the embedded engine: PySC2 agents run unchanged.

Switch one import::

    from pysc2.env import sc2_env          # the real game
    from arena import pysc2_env as sc2_env  # the embedded engine, same names

and keep the rest: `sc2_env.SC2Env(map_name="MoveToBeacon", players=[sc2_env.Agent(sc2_env.Race.terran)],
agent_interface_format=sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64)),
step_mul=8)`, `pysc2.env.run_loop.run_loop(agents, env)`, `reset()` / `step()` returning tuples of pysc2
`TimeStep`s whose observations are pysc2 `NamedDict`s with pysc2's keys, layer names, dtypes and scales, and actions
as `pysc2.lib.actions.FunctionCall`s.

What differs from the real game: one embedded game per environment (use `arena.make` for batches); the engine
models the functions in `arena.interface.functions` and reports the others as never available; layers the engine
has nothing for (creep, power, ...) are zeros; `visualize`, `realtime`, `version` and `battle_net_map` are accepted
and ignored; replays (`save_replay_episodes`, `save_replay`) are the arena's own replay files (arena.replay), which
`arena replay view` shows, not .SC2Replay files.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from arena.compat.pysc2 import load_pysc2
from arena.env import ArenaEnv, StepType
from arena.interface.actions import BatchedAction
from arena.interface.functions import FUNCTION_ARGUMENTS, NUM_FUNCTIONS, ActionResult, ArgumentType, FunctionId
from arena.interface.unit_list import FeatureUnit
from arena.interface.view import MINIMAP_LAYERS, SCREEN_LAYERS, InterfaceFormat
from arena.replay.format import SUFFIX, write_replay
from arena.replay.recorder import ReplayRecorder
from arena.scenarios.registry import make_scenario, resolve_id

_pysc2 = load_pysc2()
from pysc2.env import environment  # noqa: E402
from pysc2.env.sc2_env import Agent, Bot, BotBuild, Difficulty, Race  # noqa: E402,F401  (re-exported names)
from pysc2.lib import named_array  # noqa: E402

actions, features = _pysc2.actions, _pysc2.features
AgentInterfaceFormat = features.AgentInterfaceFormat
Dimensions = features.Dimensions
parse_agent_interface_format = features.parse_agent_interface_format

_UNIT_LAYER = len(features.UnitLayer)
_FEATURE_UNIT = len(features.FeatureUnit)
_BATCHED_FIELDS = {f.name for f in dataclasses.fields(BatchedAction)}


class UnsupportedInterfaceError(ValueError):
    """The AgentInterfaceFormat asks for something the embedded engine does not render."""


def interface_format(aif: Any) -> InterfaceFormat:
    """Our InterfaceFormat for a pysc2 AgentInterfaceFormat (square feature layers, feature or raw units)."""
    if aif.feature_dimensions is None:
        raise UnsupportedInterfaceError("the embedded engine needs feature_dimensions in the AgentInterfaceFormat "
                                        "(rgb_dimensions alone are not rendered)")
    if aif.rgb_dimensions is not None:
        raise UnsupportedInterfaceError("the embedded engine renders feature layers only; drop rgb_dimensions")
    if aif.action_space != actions.ActionSpace.FEATURES:
        raise UnsupportedInterfaceError(f"the embedded engine takes FEATURES actions, not {aif.action_space.name}")
    screen, minimap = aif.feature_dimensions.screen, aif.feature_dimensions.minimap
    if screen.x != screen.y or minimap.x != minimap.y:
        raise UnsupportedInterfaceError(f"the embedded engine renders square layers; got screen {screen.x}x{screen.y}"
                                        f" and minimap {minimap.x}x{minimap.y}")
    return InterfaceFormat(screen_size=int(screen.x), minimap_size=int(minimap.x),
                           camera_width=float(aif.camera_width_world_units or 24),
                           feature_layers=True, feature_units=bool(aif.use_feature_units),
                           raw_units=bool(aif.use_raw_units))


def action_spec(fmt: InterfaceFormat) -> Any:
    """pysc2's ValidActions for our interface: argument types with our sizes, and every pysc2 function with the
    arguments the engine reads for it (pysc2's own list for the functions the engine never makes available)."""
    sizes = {ArgumentType.screen.id: (fmt.screen_size, fmt.screen_size),
             ArgumentType.screen2.id: (fmt.screen_size, fmt.screen_size),
             ArgumentType.minimap.id: (fmt.minimap_size, fmt.minimap_size)}
    sizes.update({t.id: t.sizes for t in ArgumentType if t.id not in sizes})
    types = actions.Arguments(*[actions.ArgumentType.spec(t.id, t.name, sizes.get(t.id, t.sizes))
                                for t in actions.TYPES])
    ours = {int(f): tuple(a.id for a in args) for f, args in FUNCTION_ARGUMENTS.items()}
    functions = actions.Functions([
        actions.Function.spec(f.id, f.name, tuple(types[t] for t in ours.get(int(f.id), [a.id for a in f.args])))
        for f in actions.FUNCTIONS])
    return actions.ValidActions(types, functions)


def observation_spec(fmt: InterfaceFormat) -> Any:
    """pysc2's observation spec (name -> shape, 0 where the length varies) for our interface."""
    spec = {
        "action_result": (0,), "alerts": (0,), "build_queue": (0, _UNIT_LAYER), "cargo": (0, _UNIT_LAYER),
        "cargo_slots_available": (1,), "control_groups": (10, 2), "game_loop": (1,), "last_actions": (0,),
        "map_name": (0,), "multi_select": (0, _UNIT_LAYER), "player": (11,), "production_queue": (0, 2),
        "score_cumulative": (13,), "score_by_category": (11, 5), "score_by_vital": (3, 3),
        "single_select": (0, _UNIT_LAYER), "available_actions": (0,),
        "feature_screen": (len(SCREEN_LAYERS), fmt.screen_size, fmt.screen_size),
        "feature_minimap": (len(MINIMAP_LAYERS), fmt.minimap_size, fmt.minimap_size),
    }
    if fmt.feature_units:
        spec.update(feature_units=(0, _FEATURE_UNIT), feature_effects=(0, len(features.EffectPos)))
    if fmt.raw_units:
        spec.update(raw_units=(0, _FEATURE_UNIT), raw_effects=(0, len(features.EffectPos)))
    if fmt.feature_units or fmt.raw_units:
        spec["radar"] = (0, len(features.Radar))
    spec.update(upgrades=(0,), home_race_requested=(1,), away_race_requested=(1,))
    return named_array.NamedDict(spec)


def to_batched_action(call: Any, spec: Any, device: torch.device) -> BatchedAction:
    """A pysc2 FunctionCall as a one-game BatchedAction; `spec` is the environment's `action_spec(fmt)`.

    Raises ValueError as pysc2's Features.transform_action does: unknown function id, wrong number of arguments or
    of values, a value out of range.
    """
    function, arguments = int(call.function), list(call.arguments)
    if not 0 <= function < NUM_FUNCTIONS:
        raise ValueError(f"Invalid function id: {function}.")
    pysc2_function = actions.FUNCTIONS[function]
    spec = spec.functions[function]
    if len(arguments) != len(spec.args):
        raise ValueError(f"Wrong number of arguments for function: {pysc2_function}, got: {arguments}")
    values: dict[str, Any] = {}
    for arg_type, value in zip(spec.args, arguments):
        value = [int(v) for v in np.asarray(value).reshape(-1)]
        if len(value) != len(arg_type.sizes):
            raise ValueError(f"Wrong number of values for argument of {pysc2_function}, got: {arguments}")
        if not all(0 <= v < size for v, size in zip(value, arg_type.sizes)):
            raise ValueError(f"Argument is out of range for {pysc2_function}, got: {arguments}")
        if arg_type.name in _BATCHED_FIELDS:
            values[arg_type.name] = tuple(value) if len(value) == 2 else value[0]
    return BatchedAction.make(function, batch=1, device=device, **values)


def _named(rows: np.ndarray, names: Any, dtype: Any) -> Any:
    return named_array.NamedNumpyArray(np.asarray(rows, dtype=dtype), names=names)


def to_pysc2_observation(obs: dict[str, torch.Tensor], fmt: InterfaceFormat, map_name: str) -> Any:
    """One game's batched observation (row 0 of `obs`) as the NamedDict pysc2's Features.transform_obs builds."""
    row = {k: v[0].cpu().numpy() for k, v in obs.items()}
    empty_units = np.zeros((0, _UNIT_LAYER), dtype=np.int32)
    selected = row["multi_select"][row["multi_select_mask"]].astype(np.int32)
    single = _named(selected, [None, features.UnitLayer], np.int32) if len(selected) == 1 else empty_units
    multi = _named(selected, [None, features.UnitLayer], np.int32) if len(selected) > 1 else empty_units
    result = int(row["action_result"])
    last = int(row["last_actions"])
    out = {
        "single_select": single, "multi_select": multi, "build_queue": empty_units, "cargo": empty_units,
        "production_queue": np.zeros((0, 2), dtype=np.int32),
        "last_actions": np.array([last] if last != int(FunctionId.no_op) and result == int(ActionResult.Success)
                                 else [], dtype=np.int32),
        "cargo_slots_available": np.array([0], dtype=np.int32),
        "home_race_requested": np.array([0], dtype=np.int32), "away_race_requested": np.array([0], dtype=np.int32),
        "map_name": map_name,
        "feature_screen": _named(row["feature_screen"], [features.ScreenFeatures, None, None], np.int32),
        "feature_minimap": _named(row["feature_minimap"], [features.MinimapFeatures, None, None], np.int32),
        "action_result": np.array([] if result == int(ActionResult.Success) else [result], dtype=np.int32),
        "alerts": np.array([], dtype=np.int32),
        "game_loop": np.array([int(row["game_loop"])], dtype=np.int32),
        "score_cumulative": _named(row["score_cumulative"], features.ScoreCumulative, np.int32),
        "score_by_category": _named(np.zeros((11, 5)), [features.ScoreByCategory, features.ScoreCategories],
                                    np.int32),
        "score_by_vital": _named(np.zeros((3, 3)), [features.ScoreByVital, features.ScoreVitals], np.int32),
        "player": _named(row["player"], features.Player, np.int32),
        "control_groups": row["control_groups"].astype(np.int32),
        "upgrades": np.array([], dtype=np.int32),
        "available_actions": np.flatnonzero(row["available_actions"]).astype(np.int32),
    }
    if fmt.feature_units:
        units = row["feature_units"][row["feature_units_mask"]].copy()
        units[:, int(FeatureUnit.tag)] = 0  # pysc2 gives tags only in raw_units
        out["feature_units"] = _named(units.reshape(-1, _FEATURE_UNIT), [None, features.FeatureUnit], np.int64)
        out["feature_effects"] = _named(np.zeros((0, len(features.EffectPos))), [None, features.EffectPos], np.int32)
    if fmt.raw_units:
        units = row["raw_units"][row["raw_units_mask"]]
        out["raw_units"] = _named(units.reshape(-1, _FEATURE_UNIT), [None, features.FeatureUnit], np.int64)
        out["raw_effects"] = _named(np.zeros((0, len(features.EffectPos))), [None, features.EffectPos], np.int32)
    if fmt.feature_units or fmt.raw_units:
        out["radar"] = _named(np.zeros((0, len(features.Radar))), [None, features.Radar], np.int32)
    return named_array.NamedDict(out)


def _map_name(map_name: Any) -> str:
    if map_name is None:
        raise ValueError("Missing a map name.")
    return getattr(map_name, "name", None) or str(map_name)


class SC2Env(environment.Base):
    """pysc2's SC2Env over one embedded game. Keywords as pysc2's (`help(pysc2.env.sc2_env.SC2Env)`), plus:

    Args:
        device: where the engine runs ("cpu" or "cuda").
        engine: what runs the engine's game loop (`arena.make`'s engine: auto, kernel, torch, compiled).

    `ensure_available_actions=True` (pysc2's default) raises ValueError for a function that is not in
    available_actions, as pysc2 does; with False the engine does nothing for it and reports action_result 214.
    """

    def __init__(self, *, map_name: Any = None, battle_net_map: bool = False, players: Sequence[Any] | None = None,
                 agent_interface_format: Any = None, discount: float = 1.0, discount_zero_after_timeout: bool = False,
                 visualize: bool = False, step_mul: int | None = None, realtime: bool = False,
                 save_replay_episodes: int = 0, replay_dir: str | None = None, replay_prefix: str | None = None,
                 game_steps_per_episode: int | None = None, score_index: int | None = None,
                 score_multiplier: float | None = None, random_seed: int | None = None, disable_fog: bool = False,
                 ensure_available_actions: bool = True, version: str | None = None,
                 device: torch.device | str = "cpu", engine: str = "auto"):
        del battle_net_map, visualize, realtime, version  # accepted, nothing to do
        name = _map_name(map_name)
        try:
            scenario_id = resolve_id(name)
        except KeyError as error:
            raise ValueError(f"map {name!r} is not an embedded scenario: {error.args[0]}") from None
        scenario = make_scenario(scenario_id)
        players = list(players) if players is not None else [Agent(Race.random)]
        agents = [p for p in players if isinstance(p, Agent)]
        if len(agents) != scenario.spec.num_agents or len(players) != len(agents):
            raise ValueError(f"{name} is a {scenario.spec.num_agents}-player map for agents only; got players "
                             f"{players}")
        if agent_interface_format is None:
            raise ValueError("Please specify agent_interface_format.")
        formats = agent_interface_format if isinstance(agent_interface_format, (list, tuple)) else \
            [agent_interface_format] * len(agents)
        if len(formats) != len(agents):
            raise ValueError(f"{len(formats)} agent_interface_formats for {len(agents)} agents")
        if save_replay_episodes and not replay_dir:
            raise ValueError("Missing replay_dir")  # pysc2's words
        if save_replay_episodes < 0:
            raise ValueError(f"save_replay_episodes must be at least 0, got {save_replay_episodes}")
        if disable_fog and scenario.spec.fog:
            scenario.spec = dataclasses.replace(scenario.spec, fog=False)
        self._fmt = interface_format(formats[0])
        self._action_spec = action_spec(self._fmt)
        self._map_name = name
        self._env = ArenaEnv(scenario, num_envs=1, device=device, step_mul=step_mul, interface=self._fmt,
                             engine=engine)
        self._discount = discount
        self._discount_zero_after_timeout = discount_zero_after_timeout
        self._episode_loops = int(game_steps_per_episode or 0)
        self._score_index = score_index if score_index is not None else 0
        self._score_multiplier = score_multiplier if score_multiplier is not None else 1.0
        self._ensure_available = ensure_available_actions
        self._seed = random_seed
        self._save_replay_episodes = save_replay_episodes
        self._replay_dir = replay_dir
        self._replay_prefix = replay_prefix or name
        self._recorder = ReplayRecorder(None, [f"player {i + 1}" for i in range(len(agents))])
        self._episode = 0
        self._state = StepType.LAST
        self._last_obs: dict[str, torch.Tensor] | None = None
        self._score = 0.0

    # -- pysc2's environment.Base -------------------------------------------------------------------------------
    def observation_spec(self) -> tuple[Any, ...]:
        return (observation_spec(self._fmt),)

    def action_spec(self) -> tuple[Any, ...]:
        return (self._action_spec,)

    def reset(self) -> tuple[Any, ...]:
        # pysc2: random_seed fixes the game's seed; without it every game is seeded afresh.
        seed = secrets.randbelow(2**31) if self._seed is None else self._seed + self._episode
        obs, _ = self._env.reset(seed=seed)
        self._recorder.replays.clear()
        self._recorder.reset(self._env, obs)
        self._episode += 1
        self._last_obs, self._state = obs, StepType.FIRST
        self._score = float(obs["score_cumulative"][0, self._score_index])
        return (self._timestep(StepType.FIRST, 0.0, 0.0, obs),)

    def step(self, actions_: Sequence[Any], step_mul: int | None = None) -> tuple[Any, ...]:
        if step_mul is not None:
            raise ValueError("a per-step step_mul is not supported by the embedded engine; set it in the constructor")
        if self._state == StepType.LAST:
            return self.reset()
        if len(actions_) != 1:
            raise ValueError(f"expected 1 action (one per agent), got {len(actions_)}")
        call = actions_[0]
        function = int(call.function)
        if self._ensure_available and 0 <= function < NUM_FUNCTIONS \
                and not bool(self._last_obs["available_actions"][0, function]):
            raise ValueError(f"Function {function}/{actions.FUNCTIONS[function].name} is currently not available")
        action = to_batched_action(call, self._action_spec, self._env.device)
        obs, reward_, terminated, truncated, info = self._env.step(action)
        self._recorder.step(self._env, action, obs, reward_, info)
        over_time = self._episode_loops > 0 and int(obs["game_loop"][0]) >= self._episode_loops
        last = bool(terminated[0] or truncated[0]) or over_time
        score = float(obs["score_cumulative"][0, self._score_index])
        reward = (score - self._score) * self._score_multiplier
        self._score = score
        self._last_obs = obs
        if last:
            timed_out = bool(truncated[0]) or (over_time and not bool(terminated[0]))
            discount = 0.0 if (not timed_out or self._discount_zero_after_timeout) else self._discount
            self._state = StepType.LAST
            if self._save_replay_episodes and self._episode % self._save_replay_episodes == 0:
                self.save_replay(self._replay_dir, self._replay_prefix)
            return (self._timestep(StepType.LAST, reward, discount, obs),)
        self._state = StepType.MID
        return (self._timestep(StepType.MID, reward, self._discount, obs),)

    def close(self) -> None:
        env = getattr(self, "_env", None)  # absent when the constructor refused its arguments
        if env is not None:
            env.close()

    def save_replay(self, replay_dir: str, prefix: str | None = None) -> str:
        """Write the current (or just ended) game as an arena replay into `replay_dir`; returns its path (pysc2's
        method, with the arena's replay format instead of .SC2Replay)."""
        if self._env.state is None:
            raise RuntimeError("no game to save: call reset() first")
        recorder = self._recorder
        replay = recorder.replays[-1] if recorder.replays else recorder.so_far(self._env, game=0)
        folder = Path(replay_dir)
        stem = f"{prefix or self._replay_prefix}-seed{replay.header['seed']}-episode{self._episode}"
        path, n = folder / f"{stem}{SUFFIX}", 1
        while path.exists():
            path, n = folder / f"{stem}-{n}{SUFFIX}", n + 1
        return str(write_replay(path, replay))

    # -- helpers -------------------------------------------------------------------------------------------------
    def _timestep(self, step_type: StepType, reward: float, discount: float, obs: dict[str, torch.Tensor]) -> Any:
        return environment.TimeStep(step_type=environment.StepType(int(step_type)), reward=reward,
                                    discount=discount, observation=to_pysc2_observation(obs, self._fmt,
                                                                                        self._map_name))


__all__ = ["SC2Env", "Agent", "Bot", "BotBuild", "Difficulty", "Race", "AgentInterfaceFormat", "Dimensions",
           "parse_agent_interface_format", "action_spec", "observation_spec", "to_batched_action",
           "to_pysc2_observation", "interface_format", "UnsupportedInterfaceError"]
