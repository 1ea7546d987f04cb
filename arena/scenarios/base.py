"""What a scenario is: its constants (`ScenarioSpec`) and pure functions over the State: spawn the units of a new
episode, apply the map's rules after every game loop, say when an episode is over and, with two players, who won."""

from __future__ import annotations

import abc
import dataclasses

import torch

from arena.interface.view import MapGeometry
from arena.sim.rules import LoopTrigger
from arena.sim.state import State, empty_state
from arena.sim.units import LOOPS_PER_GAME_SECOND

MINI_GAME_CAMERA_BOUNDS = (10.0, 8.0, 54.0, 44.0)
"""All seven mini-game maps (minigames.md)."""


@dataclasses.dataclass(frozen=True)
class ScenarioSpec:
    """Constants of a scenario."""

    name: str
    """Name without version, e.g. "MoveToBeacon"."""
    version: int
    """Bumped whenever the rules change, so results stay comparable."""
    description: str
    num_units: int
    """Unit slots per game."""
    playable: tuple[float, float, float, float]
    """The playable rectangle (x0, y0, x1, y1) in map units."""
    camera_start: tuple[float, float]
    time_limit_s: float
    """Episode length in game seconds (16 game loops each)."""
    num_agents: int = 1
    map_size: tuple[int, int] = (64, 64)
    """(width, height) in map cells."""
    camera_bounds: tuple[float, float, float, float] = MINI_GAME_CAMERA_BOUNDS
    fog: bool = False
    step_mul: int = 8
    """pysc2's mini-game default."""
    economy: bool = False
    """The engine runs its economy passes (gathering, construction, production) for this scenario."""
    functions: tuple[int, ...] | None = None
    """pysc2 function ids the players may use (besides those always available); None: every modelled one."""

    @property
    def id(self) -> str:
        return f"{self.name}-v{self.version}"

    @property
    def time_limit_loops(self) -> int:
        return int(round(self.time_limit_s * LOOPS_PER_GAME_SECOND))

    @property
    def geometry(self) -> MapGeometry:
        return MapGeometry(width=float(self.map_size[0]), height=float(self.map_size[1]),
                           camera_bounds=self.camera_bounds, playable=self.playable)


class Scenario(abc.ABC):
    """A map's rules. Implementations are stateless: everything lives in the State."""

    spec: ScenarioSpec
    loop_trigger: LoopTrigger | None = None
    """When `loop_rule` may change a game (arena.sim.rules.LoopTrigger): the compiled engine then runs all of a
    step's loops in one call, stopping a game only after such a loop. None: the rule runs after every loop."""

    @abc.abstractmethod
    def spawn(self, state: State) -> State:
        """Place the units of a new episode into an empty state whose seed and episode are set."""

    @abc.abstractmethod
    def loop_rule(self, state: State, died: torch.Tensor) -> State:
        """After every game loop: rewards (score), respawns, waves. `died` [B, U] are this loop's deaths."""

    def terminated(self, state: State) -> torch.Tensor:
        """[B] bool: the episode ended before its time limit."""
        return torch.zeros(state.batch_size, dtype=torch.bool, device=state.device)

    def outcome(self, state: State) -> torch.Tensor:
        """[B] long: +1 where player 1 (Owner.PLAYER_1) has won, -1 where player 2 has, 0 otherwise (a draw, or
        not decided yet). Two-player environments read it when an episode ends (terminated or at the time limit)
        and reward the players +1 / -1 / 0 from it; one-player scenarios never call it."""
        return torch.zeros(state.batch_size, dtype=torch.long, device=state.device)

    def initial_state(self, seed: torch.Tensor, episode: torch.Tensor) -> State:
        """The first state of an episode for each game: seed and episode [B] long."""
        spec = self.spec
        state = empty_state(batch=seed.shape[0], units=spec.num_units, agents=spec.num_agents,
                            cells=(spec.map_size[1], spec.map_size[0]), device=seed.device)
        camera = torch.tensor(spec.camera_start, dtype=torch.float32, device=seed.device)
        state = state.replace(seed=seed, episode=episode,
                              camera=camera.expand(seed.shape[0], spec.num_agents, 2).clone())
        return self.spawn(state)
