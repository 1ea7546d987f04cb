"""The real StarCraft II behind the batched environment protocol (arena.protocol): `Sc2Env` speaks
`arena.env.ArenaEnv`'s API over one pysc2 `SC2Env` per game, stepped in turn.

Observations have ArenaEnv's keys, shapes and dtypes for the same `InterfaceFormat`; actions are `BatchedAction`s
turned into pysc2 `FunctionCall`s. Episodes reset on the step after they end (Gymnasium's next-step autoreset), as
in ArenaEnv: pysc2's own auto-reset is never relied on.

With two agents on a map (a melee map with `players=[Agent, Agent]`) every game gives one row per agent, game-major
(row = game * num_agents + agent), so `num_envs` = games x agents and each agent acts and is rewarded on its own row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import gymnasium
import numpy as np
import torch

from arena.backends.conversion import NO_OP_CALL, action_rows, function_call, observation_row, stack_rows
from arena.backends.installation import (Sc2NotInstalledError, check_installation, default_install_dir,
                                         not_installed, parse_absl_flags)
from arena.compat.pysc2 import load_pysc2
from arena.interface.actions import validate_arguments
from arena.interface.functions import ActionResult, FunctionId
from arena.interface.view import InterfaceFormat
from arena.protocol import AUTORESET_MODE, Actions, StepType, action_space, discount, observation_space, player_actions
from arena.scenarios.registry import make_scenario

load_pysc2()  # before any pysc2 import (protobuf and Python 3.11 fixes)
from pysc2 import maps  # noqa: E402
from pysc2.env import environment, sc2_env  # noqa: E402
from pysc2.lib import sc_process  # noqa: E402

logger = logging.getLogger(__name__)

DEFAULT_MAX_UNITS = 512
"""Rows of the unit lists (feature_units, raw_units, multi_select) per game; more units are left out with a warning."""
_NOT_INSTALLED_LAUNCH_ERRORS = ("No SC2 binary found", "Expected to find StarCraft II")
"""The starts of pysc2's SC2LaunchError messages that mean the game is missing (pysc2 `run_configs/platforms.py`)."""


def map_name(scenario: str) -> str:
    """pysc2's map for an arena scenario id ("MoveToBeacon-v1" -> "MoveToBeacon") or a pysc2 map name ("Simple64")."""
    base, separator, version = scenario.rpartition("-v")
    name = base if separator and version.isdigit() else scenario
    try:
        maps.get(name)
    except maps.lib.NoMapError:
        known = ", ".join(list(maps.mini_games.mini_games) + list(maps.melee.melee_maps))
        raise ValueError(f"{scenario!r} is not a pysc2 map; mini-games and melee maps: {known} "
                         f"(and pysc2's ladder maps)") from None
    return name


def time_limit_loops(name: str, game_steps_per_episode: int | None) -> int | None:
    """The game loop at which an episode is cut short (a truncation), or None: `game_steps_per_episode` if given,
    else the mini-game timer of arena's scenario of that name (pysc2 leaves it to the map), else pysc2's map default
    (30 minutes for melee maps)."""
    if game_steps_per_episode is not None:
        return game_steps_per_episode or None
    try:
        return make_scenario(name).spec.time_limit_loops
    except KeyError:
        return maps.get(name).game_steps_per_episode or None


def default_players(name: str) -> list:
    """One Terran agent on a mini-game; on a melee map, a random-race agent against the very easy built-in bot."""
    if maps.get(name).players == 1:
        return [sc2_env.Agent(sc2_env.Race.terran)]
    return [sc2_env.Agent(sc2_env.Race.random), sc2_env.Bot(sc2_env.Race.random, sc2_env.Difficulty.very_easy)]


def check_players(name: str, players: Sequence) -> int:
    """The number of agents among `players`, or ValueError if pysc2 could not seat them on the map."""
    if not all(isinstance(p, (sc2_env.Agent, sc2_env.Bot)) for p in players):
        raise ValueError(f"players must be pysc2 sc2_env.Agent or sc2_env.Bot, got {list(players)}")
    agents = sum(isinstance(p, sc2_env.Agent) for p in players)
    seats = maps.get(name).players
    if seats == 1 and (agents != 1 or len(players) != 1):
        raise ValueError(f"{name} is a one-player map: give exactly one Agent, got {list(players)}")
    if seats != 1 and not (agents >= 1 and 2 <= len(players) <= min(seats, 2)):
        raise ValueError(f"{name} takes two players with at least one Agent, got {list(players)}")
    return agents


def _game_seeds(seed: int | Sequence[int] | None, num_games: int) -> list[int | None]:
    """One game seed each: `seed + game` for an int, None (the game chooses) for None."""
    if seed is None:
        return [None] * num_games
    if isinstance(seed, int):
        return [seed + game for game in range(num_games)]
    seeds = [int(s) for s in seed]
    if len(seeds) != num_games:
        raise ValueError(f"got {len(seeds)} seeds for {num_games} games")
    return seeds


class Sc2Env(gymnasium.vector.VectorEnv):
    """`num_envs` real StarCraft II games of one map with ArenaEnv's protocol (tensor observations, BatchedActions).

    Games are launched at the first `reset` (seconds each) and relaunched when `reset` gets other seeds: pysc2 seeds a
    game only when it is created. A LAST step is a truncation when the episode reached its time limit (see
    `time_limit_loops`) or pysc2 kept the discount (its timeout), and a termination otherwise (the map ended it:
    a victory, defeat or the map's own end rule). Rewards are pysc2's: the score change on mini-games, the outcome
    (+1, 0, -1) on melee maps. `last_actions` is the function asked for, as in ArenaEnv.
    """

    metadata = {"autoreset_mode": AUTORESET_MODE}
    num_players = 1
    """Each row of the batch is one agent of one game (two agents on a melee map: two rows), with its own action."""

    def __init__(self, scenario: str, *, num_envs: int = 1, device: torch.device | str = "cpu",
                 step_mul: int | None = None, interface: InterfaceFormat | None = None, players: Sequence | None = None,
                 max_units: int = DEFAULT_MAX_UNITS, save_replay_episodes: int = 0, replay_dir: str | None = None,
                 game_steps_per_episode: int | None = None, visualize: bool = False,
                 sc2_env_factory: Callable[..., environment.Base] = sc2_env.SC2Env):
        """Args:
            scenario: an arena mini-game id ("MoveToBeacon-v1", "MoveToBeacon") or any pysc2 map name ("Simple64").
            num_envs: games to run (each its own StarCraft II process, or two with two agents).
            device: where observation tensors are put.
            step_mul: game loops per step; None is the map's default (8).
            interface: what observations hold (screen, minimap, camera width, unit lists).
            players: pysc2 `sc2_env.Agent`s and `sc2_env.Bot`s; None is `default_players(map)`.
            max_units: rows of the unit lists.
            save_replay_episodes: save a .SC2Replay every this many episodes per game (0: never), into `replay_dir`
                (a relative folder is under the game's Replays folder, as in pysc2), named "{map}_game{i}_{time}".
            game_steps_per_episode: pysc2's episode limit in game loops (0: none; None: the map's).
            visualize: open pysc2's viewer window for each game.
            sc2_env_factory: makes one game from SC2Env's keyword arguments; tests pass pysc2's
                `mock_sc2_env.SC2TestEnv`.

        Raises:
            Sc2NotInstalledError: the game or the map is not where pysc2 looks (SC2PATH); checked for the real SC2Env.
            ValueError: an unknown map, players the map cannot seat, or a bad number.
        """
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if max_units < 1:
            raise ValueError(f"max_units must be at least 1, got {max_units}")
        if save_replay_episodes and not replay_dir:
            raise ValueError("save_replay_episodes needs a replay_dir")
        self.map_name = map_name(scenario)
        self.players = list(players) if players else default_players(self.map_name)
        self.num_agents = check_players(self.map_name, self.players)
        self.num_games = num_envs
        self.num_envs = num_envs * self.num_agents
        self.device = torch.device(device)
        self.step_mul = maps.get(self.map_name).step_mul if step_mul is None else step_mul
        if self.step_mul < 1:
            raise ValueError(f"step_mul must be at least 1, got {self.step_mul}")
        self.interface = interface or InterfaceFormat()
        self.max_units = max_units
        self.save_replay_episodes = save_replay_episodes
        self.replay_dir = replay_dir
        self.game_steps_per_episode = game_steps_per_episode
        self.visualize = visualize
        self.time_limit = time_limit_loops(self.map_name, game_steps_per_episode)
        self._factory = sc2_env_factory
        parse_absl_flags()
        if sc2_env_factory is sc2_env.SC2Env:
            check_installation(self.map_name)
        self.single_observation_space = observation_space(self.interface, max_units)
        self.single_action_space = action_space(self.interface)
        self.observation_space = self.single_observation_space
        self.action_space = self.single_action_space
        self._games: list[environment.Base] | None = None
        self._seeds: list[int | None] = []
        self._map_sizes: list[tuple[float, float]] = []
        self._available = np.zeros((self.num_envs, 0), dtype=bool)  # [B, 573] of the latest observation
        self._needs_reset = np.zeros(self.num_games, dtype=bool)

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict | None = None
              ) -> tuple[dict[str, torch.Tensor], dict]:
        """Start a new episode in every game; seeds (an int: seed + game, or one per game) relaunch the games unless
        they were launched with those seeds."""
        seeds = _game_seeds(seed, self.num_games)
        if self._games is None or (seed is not None and seeds != self._seeds):
            self._launch(seeds)
        timesteps = [step for game in self._games for step in game.reset()]
        self._needs_reset[:] = False
        rows = self.num_envs
        obs = self._observe(timesteps, [int(ActionResult.Success)] * rows, [int(FunctionId.no_op)] * rows)
        return obs, self._info(timesteps, obs)

    @property
    def needs_reset(self) -> torch.Tensor:
        """[B] bool (rows): games whose episode ended on the latest step; the next step resets them (arena.protocol)."""
        return torch.from_numpy(np.repeat(self._needs_reset, self.num_agents)).to(self.device)

    def step(self, actions: Actions):
        """One BatchedAction row per agent; a function that is not available is sent as no_op and reports
        ActionResult.InvalidAvailableAction (214), out-of-range arguments report ActionResult.Error, as in ArenaEnv."""
        if self._games is None:
            raise RuntimeError("call reset() before step()")
        (action,) = player_actions(actions, num_players=1, num_envs=None, device="cpu")
        if action.function.shape != (self.num_envs,):
            raise ValueError(f"expected one function per agent and game ({self.num_envs}), "
                             f"got shape {tuple(action.function.shape)}")
        action = action.to("cpu")
        rows = action_rows(action)
        in_range = validate_arguments(action, self.interface).numpy()
        timesteps, results, last_actions = [], [], []
        for index, game in enumerate(self._games):
            agent_rows = range(index * self.num_agents, (index + 1) * self.num_agents)
            if self._needs_reset[index]:  # the episode ended on the previous step: its action is ignored
                timesteps += game.reset()
                results += [int(ActionResult.Success)] * self.num_agents
                last_actions += [int(FunctionId.no_op)] * self.num_agents
                continue
            calls = []
            for row in agent_rows:
                call, result = self._checked_call(rows, row, bool(in_range[row]))
                calls.append(call)
                results.append(result)
                last_actions.append(int(rows["function"][row]))
            timesteps += game.step(calls)
        obs = self._observe(timesteps, results, last_actions)
        step_type = np.array([int(t.step_type) for t in timesteps])
        ended = step_type == int(StepType.LAST)
        kept_discount = np.array([t.discount for t in timesteps]) > 0
        timed_out = (obs["game_loop"].cpu().numpy() >= self.time_limit) if self.time_limit else np.zeros_like(ended)
        truncated = ended & (kept_discount | timed_out)
        terminated = ended & ~truncated
        self._needs_reset = ended.reshape(self.num_games, self.num_agents).any(axis=1)
        reward = torch.tensor([float(t.reward) for t in timesteps], dtype=torch.float32, device=self.device)
        return (obs, reward, torch.from_numpy(terminated).to(self.device), torch.from_numpy(truncated).to(self.device),
                self._info(timesteps, obs))

    def save_replays(self, replay_dir: str | None = None) -> list[str]:
        """Save every game's replay so far now (pysc2 `SC2Env.save_replay`); returns the paths pysc2 reports."""
        folder = replay_dir or self.replay_dir
        if not folder:
            raise ValueError("give a replay_dir here or to the constructor")
        if self._games is None:
            raise RuntimeError("no game is running: call reset() first")
        return [game.save_replay(folder, f"{self.map_name}_game{index}") for index, game in enumerate(self._games)]

    def _checked_call(self, rows: dict[str, np.ndarray], row: int, in_range: bool):
        """(FunctionCall to send, ActionResult to report or None for the game's own)."""
        if not in_range:
            return NO_OP_CALL, int(ActionResult.Error)
        if not self._available[row, int(rows["function"][row])]:
            return NO_OP_CALL, int(ActionResult.InvalidAvailableAction)
        return function_call(rows, row), None

    def _observe(self, timesteps: list, results: list[int | None], last_actions: list[int]) -> dict[str, torch.Tensor]:
        """The batched observation of the games' timesteps (one per row); a None result is the game's own: its first
        action error, else Success."""
        rows = []
        for row, timestep in enumerate(timesteps):
            observation = timestep.observation
            result = results[row]
            if result is None:
                errors = observation["action_result"]
                result = int(errors[0]) if len(errors) else int(ActionResult.Success)
            rows.append(observation_row(observation, fmt=self.interface, max_units=self.max_units,
                                        map_size=self._map_sizes[row // self.num_agents], action_result=result,
                                        last_action=last_actions[row]))
        self._available = np.stack([row["available_actions"] for row in rows])
        return stack_rows(rows, self.device)

    def _info(self, timesteps: list, obs: dict[str, torch.Tensor]) -> dict:
        step_type = torch.tensor([int(t.step_type) for t in timesteps], dtype=torch.long, device=self.device)
        return {"step_type": step_type, "score": obs["score_cumulative"][:, 0], "discount": discount(step_type)}

    def _launch(self, seeds: list[int | None]) -> None:
        """Start one game per seed (closing any running ones); if one fails, those started are closed."""
        self._close_games()
        games = []
        try:
            for index, seed in enumerate(seeds):
                games.append(self._new_game(index, seed))
        except BaseException:
            for game in games:
                game.close()
            raise
        self._games, self._seeds = games, seeds
        self.closed = False  # VectorEnv.close() does nothing once closed; a relaunched env can be closed again
        self._map_sizes = [(float(g.game_info[0].start_raw.map_size.x), float(g.game_info[0].start_raw.map_size.y))
                           for g in games]

    def _new_game(self, index: int, seed: int | None) -> environment.Base:
        fmt = self.interface
        # raw_resolution = the minimap size puts raw_units in minimap pixels, as ArenaEnv's raw_units are.
        interface = sc2_env.AgentInterfaceFormat(
            feature_dimensions=sc2_env.Dimensions(screen=fmt.screen_size, minimap=fmt.minimap_size),
            camera_width_world_units=fmt.camera_width, use_feature_units=fmt.feature_units,
            use_raw_units=fmt.raw_units, raw_resolution=fmt.minimap_size, action_space=sc2_env.ActionSpace.FEATURES)
        options = dict(map_name=self.map_name, players=self.players, agent_interface_format=interface,
                       step_mul=self.step_mul, game_steps_per_episode=self.game_steps_per_episode,
                       save_replay_episodes=self.save_replay_episodes, replay_dir=self.replay_dir,
                       visualize=self.visualize, random_seed=seed)
        if self.save_replay_episodes:
            # pysc2 names replays "{prefix}_{time to the second}": a prefix per game keeps games from overwriting.
            options["replay_prefix"] = f"{self.map_name}_game{index}"
        try:
            return self._factory(**options)
        except FileNotFoundError as error:
            raise not_installed(default_install_dir(), error) from error
        except sc_process.SC2LaunchError as error:
            if str(error).startswith(_NOT_INSTALLED_LAUNCH_ERRORS):
                raise not_installed(default_install_dir(), error) from error
            raise

    def _close_games(self) -> None:
        games, self._games = self._games or [], None
        for game in games:
            game.close()

    def close_extras(self, **kwargs) -> None:
        self._close_games()

    def __enter__(self) -> "Sc2Env":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


__all__ = ["DEFAULT_MAX_UNITS", "Sc2Env", "Sc2NotInstalledError", "check_players", "default_players", "map_name",
           "time_limit_loops"]
