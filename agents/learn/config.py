"""How a policy learns, defined once: the algorithm (an Enum), its hyper-parameters (`LearningSettings`) and a
training run's whole configuration (`TrainConfig`: those plus the scenario, the policy and the run's options).

Read by the trainer (agents.learn.trainer), the learner (agents.learn.learner), the warm start, the league (its
learning players' `[learner]` settings are LearningSettings with two defaults of its own: league.config) and the
command line (`arena train`, whose options default to None and so to these). A run's config.json holds a TrainConfig
as JSON, the algorithm as its string value ("ppo", "vtrace"), as before the Enum.
"""

from __future__ import annotations

import dataclasses
import enum
import types
from typing import Any, Mapping

from agents.policies.action_space import action_space
from arena.interface.view import InterfaceFormat
from arena.scenarios.registry import make_scenario, resolve_id


class Algorithm(enum.StrEnum):
    """The reinforcement-learning algorithm; its value is what config files and `--algo` say."""

    PPO = "ppo"
    """Proximal policy optimisation (Schulman et al. 2017): clipped updates, several epochs over each batch."""
    VTRACE = "vtrace"
    """IMPALA's V-trace (Espeholt et al. 2018): one pass, off-policy corrected; the acting copy lags (actor_lag)."""


ALGORITHMS = tuple(algorithm.value for algorithm in Algorithm)
"""The algorithms' names, for `--algo` and messages."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LearningSettings:
    """How a policy learns: the algorithm and its hyper-parameters. `arena train` takes these defaults (TrainConfig
    extends this class); a league's learning players take them too, but for two (league.config.LearnerSettings)."""

    algo: Algorithm = Algorithm.PPO
    """ppo, or vtrace (IMPALA's off-policy correction); a string is read as its Algorithm."""
    unroll: int = 32
    """Steps of every game per update."""
    epochs: int = 2
    """PPO: passes over each batch."""
    minibatches: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip: float = 0.2
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 0.5
    kl_coef: float = 0.0
    """Weight of the KL penalty towards a policy to stay near (TrainConfig.kl_to / warm_start; a league's init)."""
    mixed_precision: bool = False
    """bfloat16 autocast for the forward passes on CUDA."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "algo", Algorithm(self.algo))
        except ValueError:
            raise ValueError(f"algo must be one of {ALGORITHMS}, got {self.algo!r}") from None
        for name in ("unroll", "epochs", "minibatches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class TrainConfig(LearningSettings):
    """Everything a training run is: the scenario, the policy, the algorithm and its hyper-parameters (the fields of
    LearningSettings, keyword-only)."""

    scenario: str
    policy: str = "fullyconv"
    num_envs: int = 32
    actor_lag: int = 2
    """V-trace: the acting copy of the policy is refreshed every this many updates."""
    screen_size: int = 32
    minimap_size: int = 32
    step_mul: int | None = None
    opponent: str | None = None
    """Two-player scenarios: player 2's agent (e.g. "bot:1", "scripted", or a saved policy's path)."""
    kl_to: str | None = None
    """A saved (e.g. behaviour-cloned) policy to stay near: AlphaStar's KL penalty, weighted by kl_coef."""
    init: str | None = None
    """A saved policy (e.g. from `arena train bc`) to start from instead of fresh weights; it must have this run's
    architecture (policy kind, screen size, action space, time)."""
    warm_start: str | None = None
    """An agent (e.g. "scripted") whose recorded episodes the policy is cloned from before reinforcement learning
    starts (agents.learn.warm_start); with kl_coef the run also stays near the clone."""
    warm_start_episodes: int = 32
    warm_start_epochs: int = 6
    critic_warmup: int = 0
    """Agent steps at the start of the run in which only the value learns (no policy-gradient or entropy term):
    after a warm start the value head is untrained, and the first advantages it gives would push the policy off
    the clone before they mean anything."""
    seed: int = 0
    device: str = "cpu"
    action_space: str = "full"
    """The functions the policy may choose and the arguments it does not (agents.policies.action_space: full,
    no_camera, screen); kept in the policy's config, so it goes wherever the policy plays."""
    see_time: bool = True
    """The policy reads the fraction of the episode left (PolicyConfig.time_limit_loops)."""
    relative_positions: bool = False
    """Entity policies: each unit also reads its offset from the selected units and from the player's other units
    (EntityConfig.relative_positions)."""
    selection_summary: bool = False
    """Entity policies: the core also reads the mean of the selected units' embeddings
    (EntityConfig.selection_summary)."""
    stagger: bool = True
    """One-player scenarios: each game's first episode starts part of the way in (arena.env.staggered_start), so
    the games of a batch do not all end on the same step."""
    normalize_advantages: bool = True
    """PPO: advantages scaled to mean 0 and standard deviation 1 over each batch."""
    reward_scale: float = 1.0
    """Rewards are multiplied by this for learning (scores and logs are unscaled)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        action_space(self.action_space)  # a clear error for an unknown name
        if self.reward_scale <= 0:
            raise ValueError(f"reward_scale must be positive, got {self.reward_scale}")
        for name in ("num_envs", "actor_lag"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if (self.num_envs * self.unroll) % self.minibatches:
            raise ValueError(f"num_envs x unroll ({self.num_envs * self.unroll}) must divide into {self.minibatches} "
                             "minibatches")
        if self.kl_coef and not (self.kl_to or self.warm_start):
            raise ValueError("kl_coef needs kl_to (or warm_start), the policy to stay near")
        if self.warm_start and self.init:
            raise ValueError("warm_start and init both give the policy to start from; choose one")
        if self.warm_start and make_scenario(resolve_id(self.scenario)).spec.num_agents > 1:
            raise ValueError("warm_start records one-player episodes; for a two-player scenario record games with "
                             "`arena play --agents ... --replay-dir DIR`, clone them with `arena train bc`, and pass "
                             "--init (and --kl-to)")
        for option in ("relative_positions", "selection_summary"):
            if getattr(self, option) and self.policy != "entity":
                raise ValueError(f"{option} is an option of the entity policy, not of {self.policy!r}")
        if self.critic_warmup < 0:
            raise ValueError(f"critic_warmup must be 0 or more agent steps, got {self.critic_warmup}")
        if self.warm_start and (self.warm_start_episodes < 1 or self.warm_start_epochs < 1):
            raise ValueError(f"warm_start_episodes and warm_start_epochs must be at least 1, got "
                             f"{self.warm_start_episodes} and {self.warm_start_epochs}")

    @property
    def interface(self) -> InterfaceFormat:
        return InterfaceFormat(screen_size=self.screen_size, minimap_size=self.minimap_size)

    @property
    def policy_options(self) -> dict:
        """The policy config fields this run sets: its action space, with see_time the time limit, and (entity
        policies) relative_positions and selection_summary when they are on."""
        spec = make_scenario(resolve_id(self.scenario)).spec
        return {**action_space(self.action_space).policy_options(),
                "time_limit_loops": spec.time_limit_loops if self.see_time else None,
                **entity_options(self.relative_positions, self.selection_summary)}


def entity_options(relative_positions: bool, selection_summary: bool) -> dict[str, bool]:
    """The entity policy's optional inputs that are on (those off are left to the policy's defaults, so a run
    without them makes the same config as before they existed)."""
    return {name: True for name, on in (("relative_positions", relative_positions),
                                        ("selection_summary", selection_summary)) if on}


TRAIN_DEFAULTS: Mapping[str, Any] = types.MappingProxyType({field.name: field.default
                                                           for field in dataclasses.fields(TrainConfig)
                                                           if field.default is not dataclasses.MISSING})
"""Every TrainConfig default by field name, for help texts and for the league where it takes one of them."""


__all__ = ["ALGORITHMS", "Algorithm", "LearningSettings", "TRAIN_DEFAULTS", "TrainConfig"]
