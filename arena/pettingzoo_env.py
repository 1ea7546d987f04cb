"""One two-player game as a PettingZoo `ParallelEnv`: the multi-agent ecosystem's convention over `arena.make`.

    from arena import pettingzoo_env

    env = pettingzoo_env.parallel_env("MarineMirror")
    observations, infos = env.reset(seed=0)
    while env.agents:
        actions = {agent: env.action_space(agent).sample(mask=infos[agent]["action_mask"]) for agent in env.agents}
        observations, rewards, terminations, truncations, infos = env.step(actions)

Agents are "player_1" and "player_2" (seat order: player_1 is the scenario's player 1). Both act every step,
simultaneously, under the two-player environment's limits (APM cap, action delay, fog of war; `limits=`).

- Observations: each agent's own view, a dict of numpy arrays with pysc2's names (`observation_space(agent)`, a
  gymnasium `Dict`): the one-player observation (`arena.env.observation_space`) plus the APM counters
  `apm_window_actions` and `apm_refused`.
- Actions: a pysc2 FunctionCall as a dict (`action_space(agent)`, a gymnasium `Dict`): "function", a `Discrete(573)`
  of pysc2's function ids, and one entry per pysc2 argument type ("screen", "minimap", "screen2": `MultiDiscrete`
  (x, y) pixels; "queued", "select_point_act", "select_add", "control_group_act", "control_group_id",
  "select_worker": `Discrete`). Every entry must be there; the function reads only the arguments it takes
  (`arena.interface.functions.FUNCTION_ARGUMENTS`). `function_call` builds one from a function and its arguments.
- Unavailable functions: `infos[agent]["action_mask"]` says which functions the agent may call now (its
  `available_actions`), shaped for `action_space(agent).sample(mask=...)`. Calling a function outside it is not an
  error: nothing is carried out for that agent that step (as for a no_op), and its next observation's
  `action_result` is 214 (`ActionResult.InvalidAvailableAction`). Functions the engine does not model are never
  available. An action outside `action_space(agent)` (a missing or unknown entry, a value out of range) raises
  ValueError naming the agent and the entry.
- Rewards: +1 to the winner and -1 to the loser on the step the game ends, 0 otherwise (a draw: 0 to both).
- Ends: a decided game ends both agents with `terminations` True; the scenario's time limit ends them with
  `truncations` True (a time limit is a truncation). Both agents then leave `env.agents` together; step again only
  after `reset()`.
- Seeding: `reset(seed=s)` plays the game that `arena.make(scenario).reset(seed=s)` plays; later `reset()` calls
  without a seed draw their games' seeds from `s`, so a seeded run repeats. Action spaces are seeded separately
  (`env.action_space(agent).seed(...)`), as in Gymnasium.
- `render()` with `render_mode="rgb_array"`: both players' minimaps side by side (own units green, enemies red,
  neutral units cyan; cells the player cannot see now darker), as an [H, W, 3] uint8 array.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from gymnasium import logger, spaces

try:
    from pettingzoo import ParallelEnv
except ImportError as error:  # an optional extra
    raise ImportError(f"arena.pettingzoo_env needs PettingZoo ({error}); install it with `pip install pettingzoo` "
                      "(or `pip install -e \".[pettingzoo]\"`)") from error

from arena.env import action_space, make, observation_space
from arena.interface.actions import BatchedAction
from arena.interface.features import PlayerRelative
from arena.interface.limits import Limits
from arena.interface.view import MINIMAP_LAYERS, InterfaceFormat
from arena.scenarios.registry import make_scenario
from arena.sim.step import Engine

RENDER_SCALE = 4
"""Screen pixels per minimap pixel in `render()`."""

PLAYER_RELATIVE_COLORS = np.array([
    [0, 0, 0],  # NONE: the ground
    [60, 200, 60],  # SELF
    [60, 120, 230],  # ALLY
    [60, 200, 220],  # NEUTRAL
    [220, 60, 60],  # ENEMY
], dtype=np.uint8)
"""RGB per pysc2 player_relative value (arena.interface.features.PlayerRelative)."""

GROUND_BY_VISIBILITY = np.array([20, 45, 80], dtype=np.uint8)
"""The grey of an empty cell by pysc2's visibility_map value: hidden, seen, visible."""


def agent_names(num_players: int) -> list[str]:
    """PettingZoo's agent ids for the seats, in seat order: "player_1", "player_2", ..."""
    return [f"player_{player + 1}" for player in range(num_players)]


def player_observation_space(fmt: InterfaceFormat, units: int) -> spaces.Dict:
    """The gymnasium space of one player's observation in a two-player game: the one-player observation and the
    APM counters of `arena.interface.limits`."""
    layout = dict(observation_space(fmt, units).spaces)
    layout["apm_window_actions"] = spaces.Box(0, np.iinfo(np.int64).max, (), np.int64)
    layout["apm_refused"] = spaces.Box(0, np.iinfo(np.int64).max, (), np.int64)
    return spaces.Dict(layout)


def player_observation(obs: dict[str, torch.Tensor], player: int, space: spaces.Dict) -> dict[str, np.ndarray]:
    """Game 0's observation [B, P, ...] for `player`, as numpy in the space's dtypes. Raises ValueError if the
    environment's keys and the space's differ (the space would no longer describe what agents get)."""
    only_observed, only_in_space = sorted(set(obs) - set(space.spaces)), sorted(set(space.spaces) - set(obs))
    if only_observed or only_in_space:
        raise ValueError(f"the observation's keys and its space's differ: only in the observation {only_observed}, "
                         f"only in the space {only_in_space}")
    return {key: obs[key][0, player].cpu().numpy().astype(subspace.dtype) for key, subspace in space.spaces.items()}


def action_mask(available_actions: np.ndarray, space: spaces.Dict) -> dict[str, np.ndarray | None]:
    """A mask for `space.sample(mask=...)`: the available functions (int8 [573]); every argument value allowed
    (None)."""
    return {key: available_actions.astype(np.int8) if key == "function" else None for key in space.spaces}


def check_action(agent: str, action: Any, space: spaces.Dict) -> None:
    """Raise ValueError naming the agent and what is wrong unless `action` is in `space`."""
    if not isinstance(action, Mapping):
        raise ValueError(f"{agent}'s action must be a dict with the entries {list(space.spaces)}, "
                         f"got {type(action).__name__}")
    missing, unknown = sorted(set(space.spaces) - set(action)), sorted(set(action) - set(space.spaces))
    if missing or unknown:
        raise ValueError(f"{agent}'s action: missing entries {missing}, unknown entries {unknown} "
                         f"(an action has exactly {list(space.spaces)}; `function_call` fills in the unused ones)")
    for key, subspace in space.spaces.items():
        value = action[key]
        if not subspace.contains(value):
            raise ValueError(f"{agent}'s action[{key!r}] = {value!r} is not in {subspace} (integers, "
                             f"{_range_text(subspace)})")


def _range_text(space: spaces.Space) -> str:
    if isinstance(space, spaces.Discrete):
        return f"0 <= value < {space.n}"
    if isinstance(space, spaces.MultiDiscrete):
        return f"shape {space.shape}, 0 <= each < {space.nvec.tolist()}"
    return str(space)


def function_call(space: spaces.Dict, function: int, **arguments: int | tuple[int, int]) -> dict[str, np.ndarray]:
    """An action of `space` calling pysc2 function id `function` with `arguments` (by argument type name, e.g.
    screen=(10, 12), queued=0); the arguments not given are zeros."""
    unknown = sorted(set(arguments) - (set(space.spaces) - {"function"}))
    if unknown:
        raise ValueError(f"unknown arguments {unknown}; the argument types are {list(space.spaces)[1:]}")
    action = {key: np.zeros(subspace.shape, np.int64) for key, subspace in space.spaces.items()}
    action["function"] = np.asarray(int(function), np.int64)
    action.update({key: np.asarray(value, np.int64) for key, value in arguments.items()})
    return action


def batched_action(action: Mapping[str, Any]) -> BatchedAction:
    """One game's action dict as the engine's BatchedAction [1]."""
    arguments = {key: torch.as_tensor(np.asarray(value, np.int64)) for key, value in action.items()
                 if key != "function"}
    return BatchedAction.make(int(action["function"]), batch=1, **arguments)


def minimap_image(feature_minimap: np.ndarray) -> np.ndarray:
    """[M, M, 3] uint8: a player's minimap [11, M, M] as colours (units by player_relative over ground greyed by
    visibility)."""
    relative = feature_minimap[MINIMAP_LAYERS.index("player_relative")].clip(0, PlayerRelative.ENEMY)
    visibility = feature_minimap[MINIMAP_LAYERS.index("visibility_map")].clip(0, 2)
    ground = np.repeat(GROUND_BY_VISIBILITY[visibility][..., None], 3, axis=-1)
    return np.where((relative > 0)[..., None], PLAYER_RELATIVE_COLORS[relative], ground)


def side_by_side(images: list[np.ndarray], scale: int = RENDER_SCALE, gap: int = 2) -> np.ndarray:
    """The images left to right, each scaled up `scale` times, `gap` white columns between them."""
    scaled = [image.repeat(scale, axis=0).repeat(scale, axis=1) for image in images]
    divider = np.full((scaled[0].shape[0], gap, 3), 255, np.uint8)
    parts = [part for image in scaled for part in (image, divider)][:-1]
    return np.concatenate(parts, axis=1)


class ArenaParallelEnv(ParallelEnv):
    """One game of a two-player scenario as a PettingZoo `ParallelEnv` (the module's docstring says what each part
    holds).

    Args:
        scenario: a registered two-player scenario id (e.g. "MarineMirror", "BeaconRace", "FullGame").
        render_mode: None, or "rgb_array" for `render()`'s minimaps (needs feature layers).
        step_mul, interface, limits, engine, device: as for `arena.make`.
    """

    metadata = {"name": "arena_parallel_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(self, scenario: str, *, render_mode: str | None = None, step_mul: int | None = None,
                 interface: InterfaceFormat | None = None, limits: Limits | None = None,
                 engine: str | Engine = "auto", device: torch.device | str = "cpu"):
        spec = make_scenario(scenario).spec
        if spec.num_agents < 2:
            raise ValueError(f"{spec.id} is a one-player scenario; use arena.ArenaSingleEnv or arena.make")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, "
                             f"got {render_mode!r}")
        self.interface = interface or InterfaceFormat()
        if render_mode == "rgb_array" and not self.interface.feature_layers:
            raise ValueError("render_mode='rgb_array' draws the minimap layers: use an interface with "
                             "feature_layers=True")
        self.render_mode = render_mode
        self.game = make(scenario, num_envs=1, device=device, step_mul=step_mul, interface=self.interface,
                         engine=engine, limits=limits)
        self.possible_agents = agent_names(spec.num_agents)
        self.agents: list[str] = []
        obs_space = player_observation_space(self.interface, spec.num_units)
        self.observation_spaces = {agent: obs_space for agent in self.possible_agents}
        # One action space each, so each agent's sampling can be seeded on its own.
        self.action_spaces = {agent: action_space(self.interface) for agent in self.possible_agents}
        self._seed_source = np.random.default_rng()
        self._observations: dict[str, dict[str, np.ndarray]] = {}

    def observation_space(self, agent: str) -> spaces.Dict:
        return self.observation_spaces[self._known(agent)]

    def action_space(self, agent: str) -> spaces.Dict:
        return self.action_spaces[self._known(agent)]

    def reset(self, seed: int | None = None, options: dict | None = None
              ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict]]:
        """A new game. `options` are accepted for the API; this environment has none and ignores them."""
        if seed is not None:
            self._seed_source = np.random.default_rng(seed)
        game_seed = int(seed) if seed is not None else int(self._seed_source.integers(0, 2**31 - 1))
        obs, info = self.game.reset(seed=game_seed)
        self.agents = list(self.possible_agents)
        return self._observe(obs), self._infos(obs, info)

    def step(self, actions: dict[str, dict[str, Any]]):
        """One action per live agent. Returns (observations, rewards, terminations, truncations, infos), each a
        dict by agent."""
        if not self.agents:
            raise RuntimeError("the game has ended (or never began): call reset() before step()")
        self._check_agents(actions)
        for agent in self.agents:
            check_action(agent, actions[agent], self.action_spaces[agent])
        obs, reward, terminated, truncated, info = self.game.step(
            [batched_action(actions[agent]) for agent in self.possible_agents])
        observations, infos = self._observe(obs), self._infos(obs, info)
        rewards = {agent: float(reward[0, p]) for p, agent in enumerate(self.possible_agents)}
        terminations = dict.fromkeys(self.possible_agents, bool(terminated[0]))
        truncations = dict.fromkeys(self.possible_agents, bool(truncated[0]))
        if bool(terminated[0] | truncated[0]):
            self.agents = []  # the game is over for both seats; the batched env would start a new one next step
        return observations, rewards, terminations, truncations, infos

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            logger.warn("render() without a render_mode does nothing; make the environment with "
                        "render_mode='rgb_array'")
            return None
        if not self._observations:
            raise RuntimeError("call reset() before render()")
        return side_by_side([minimap_image(self._observations[agent]["feature_minimap"])
                             for agent in self.possible_agents])

    def close(self) -> None:
        self.game.close()
        self.agents = []
        self._observations = {}

    # -- pieces ------------------------------------------------------------------------------------------------
    def _known(self, agent: str) -> str:
        if agent not in self.possible_agents:
            raise ValueError(f"unknown agent {agent!r}; this game's agents are {self.possible_agents}")
        return agent

    def _check_agents(self, actions: Any) -> None:
        if not isinstance(actions, Mapping):
            raise ValueError(f"step() takes a dict of actions by agent, got {type(actions).__name__}")
        for agent in actions:
            self._known(agent)
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise ValueError(f"no action for {missing}: every live agent acts every step "
                             "(a no_op is `function_call(env.action_space(agent), 0)`)")

    def _observe(self, obs: dict[str, torch.Tensor]) -> dict[str, dict[str, np.ndarray]]:
        self._observations = {agent: player_observation(obs, p, self.observation_spaces[agent])
                              for p, agent in enumerate(self.possible_agents)}
        return self._observations

    def _infos(self, obs: dict[str, torch.Tensor], info: dict[str, torch.Tensor]) -> dict[str, dict]:
        return {agent: {"step_type": int(info["step_type"][0]), "discount": float(info["discount"][0]),
                        "score": float(info["score"][0, p]),
                        "action_mask": action_mask(obs["available_actions"][0, p].cpu().numpy(),
                                                   self.action_spaces[agent])}
                for p, agent in enumerate(self.possible_agents)}


def parallel_env(scenario: str = "MarineMirror", **options: Any) -> ArenaParallelEnv:
    """One game of `scenario` as a PettingZoo ParallelEnv (PettingZoo's own constructor name); `options` as for
    `ArenaParallelEnv`."""
    return ArenaParallelEnv(scenario, **options)


__all__ = ["ArenaParallelEnv", "action_mask", "agent_names", "batched_action", "check_action", "function_call",
           "minimap_image", "parallel_env", "player_observation", "player_observation_space"]
