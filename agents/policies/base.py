"""What a neural policy is: it encodes batched observations into a compact form (what a learner stores), maps that
to an `ActionDistribution` and a value, and is saved as safetensors weights beside a JSON description.

    policy = make_policy("fullyconv", interface)          # agents.policies
    encoded = policy.encode(obs)                          # no grad, small: the rollout buffer keeps these
    output = policy(encoded)                              # PolicyOutput(distribution, value [B])
    sample = output.distribution.sample(generator)        # function + arguments (+ latents)
    env.step(to_batched_action(sample))
    save_policy(policy, "checkpoints/step_1000")          # step_1000.safetensors + step_1000.json
    policy = load_policy("checkpoints/step_1000")         # never unpickles
"""

from __future__ import annotations

import abc
import dataclasses
import json
from typing import Any, ClassVar, Mapping

import torch

from agents.base import BatchedAgent
from agents.policies.distribution import (ARGUMENT_FUNCTIONS, ARGUMENT_NAMES, ARGUMENT_SIZES, ActionDistribution,
                                          ArgumentDistribution, CategoricalArgument, PointArgument, PointKind,
                                          UnitOrPointArgument, argument_functions)
from agents.policies.encoding import encode_available, required
from arena.interface.actions import BatchedAction
from arena.interface.functions import NUM_FUNCTIONS, FunctionId

@dataclasses.dataclass(frozen=True)
class PolicyConfig:
    """What every policy config holds; each policy kind subclasses it with its own fields."""

    kind: ClassVar[str] = ""
    """The registry name of the policy this configures (agents.policies.POLICY_KINDS)."""
    screen_size: int = 64
    """Screen pixels per side the policy reads and points at."""
    minimap_size: int = 64
    """Minimap pixels per side."""
    functions: tuple[int, ...] | None = None
    """The action space: the pysc2 function ids the policy may choose (no_op always stays); the others are masked
    out of the available actions the policy reads, so it never sees or picks them. None: every function."""
    fixed_arguments: tuple[tuple[str, int], ...] = ()
    """Categorical arguments the policy does not choose, with their value: (("queued", 0),) makes every order act
    now instead of waiting behind the current one."""
    time_limit_loops: int | None = None
    """The episode's time limit in game loops: the policy reads the fraction of it left (from the observation's
    game_loop), so its value can tell an episode about to end from one just begun. None: it does not see time."""

    def __post_init__(self) -> None:
        if self.screen_size < 8 or self.minimap_size < 8:
            raise ValueError(f"screen_size and minimap_size must be at least 8, got {self.screen_size} and "
                             f"{self.minimap_size}")
        object.__setattr__(self, "fixed_arguments", check_fixed_arguments(self.fixed_arguments))
        if self.functions is not None:
            object.__setattr__(self, "functions", check_functions(self.functions))
        if self.time_limit_loops is not None and self.time_limit_loops < 1:
            raise ValueError(f"time_limit_loops must be at least 1 (or None), got {self.time_limit_loops}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PolicyConfig":
        """The config of `to_dict`'s data; missing fields take their defaults.

        Raises:
            ValueError: a field is unknown or a value is invalid.
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ValueError(f"unknown {cls.kind} config fields {unknown}; known: {sorted(fields)}")
        values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(f"invalid {cls.kind} config: {error}") from None


def check_functions(functions) -> tuple[int, ...]:
    """The action space's function ids, sorted and without repeats, no_op included.

    Raises:
        ValueError: an id is not a pysc2 function id.
    """
    ids = sorted({int(f) for f in functions} | {int(FunctionId.no_op)})
    bad = [f for f in ids if not 0 <= f < NUM_FUNCTIONS]
    if bad:
        raise ValueError(f"functions {bad} are not pysc2 function ids (0..{NUM_FUNCTIONS - 1})")
    return tuple(ids)


def check_fixed_arguments(fixed) -> tuple[tuple[str, int], ...]:
    """Fixed arguments as sorted (name, value) pairs (JSON gives lists; a dict is accepted too).

    Raises:
        ValueError: a name is not a categorical argument, or its value is out of range.
    """
    pairs = fixed.items() if isinstance(fixed, Mapping) else fixed
    checked = {}
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"a fixed argument is a (name, value) pair, got {pair!r}")
        name, value = str(pair[0]), int(pair[1])
        if name not in ARGUMENT_SIZES:
            raise ValueError(f"{name!r} cannot be fixed: fixable arguments are {', '.join(ARGUMENT_SIZES)}")
        if not 0 <= value < ARGUMENT_SIZES[name]:
            raise ValueError(f"{name} takes values 0..{ARGUMENT_SIZES[name] - 1}, got {value}")
        checked[name] = value
    return tuple(sorted(checked.items()))


@dataclasses.dataclass(frozen=True)
class PolicyOutput:
    """What a policy computes for B games."""

    distribution: ActionDistribution
    value: torch.Tensor  # [B] the value estimate


class Policy(torch.nn.Module, abc.ABC):
    """A neural policy over batched pysc2 observations.

    Subclasses set `config_type`, build their layers from `config`, and implement `encode` and `forward`. Buffers
    derived from the config are non-persistent, so the weights file holds only learned parameters.
    """

    config_type: ClassVar[type[PolicyConfig]] = PolicyConfig

    def __init__(self, config: PolicyConfig):
        super().__init__()
        if not isinstance(config, self.config_type):
            raise TypeError(f"{type(self).__name__} takes a {self.config_type.__name__}, got {type(config).__name__}")
        self.config = config
        allowed = torch.ones(NUM_FUNCTIONS, dtype=torch.bool)
        if config.functions is not None:
            allowed = torch.zeros(NUM_FUNCTIONS, dtype=torch.bool)
            allowed[list(config.functions)] = True
        self.register_buffer("allowed_functions", allowed, persistent=False)
        self.argument_functions = argument_functions(config.functions)
        """Per argument, the functions of the action space that take it (the rows of conditioned heads)."""

    @property
    def time_features(self) -> int:
        """Inputs the policy reads about time: 1 (the fraction of the episode left) with a time limit, else 0."""
        return 0 if self.config.time_limit_loops is None else 1

    def encode_available(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """available_actions [B, 573] bool within the policy's action space (config.functions)."""
        return encode_available(obs, self.allowed_functions.device) & self.allowed_functions

    def encode_time(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """[B, time_features] float: the fraction of the episode left, 1 at its start and 0 at its time limit."""
        device = self.allowed_functions.device
        if self.config.time_limit_loops is None:
            return torch.zeros(obs["available_actions"].shape[0], 0, device=device)
        loops = required(obs, "game_loop").to(device, torch.float32).reshape(-1, 1)
        return (1.0 - loops / self.config.time_limit_loops).clamp(0.0, 1.0)

    def distribution(self, function_logits: torch.Tensor, available: torch.Tensor,
                     arguments: Mapping[str, ArgumentDistribution]) -> ActionDistribution:
        """The ActionDistribution of this policy's action space (its argument rows and fixed arguments)."""
        return ActionDistribution(function_logits, available, arguments, argument_functions=self.argument_functions,
                                  fixed_arguments=dict(self.config.fixed_arguments))

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @abc.abstractmethod
    def encode(self, obs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The compact, gradient-free form of what the network reads of a batched observation ([B, ...] tensors on
        the policy's device). `forward` takes it; learners store it."""

    @abc.abstractmethod
    def forward(self, encoded: Mapping[str, torch.Tensor]) -> PolicyOutput:
        """The action distribution and value of B encoded observations."""


def to_batched_action(sample: Mapping[str, torch.Tensor]) -> BatchedAction:
    """A sample (or mode) of an ActionDistribution as the environment's action (latent keys are dropped)."""
    function = sample["function"]
    return BatchedAction.make(function, batch=function.shape[0], device=function.device,
                              **{name: sample[name] for name in ARGUMENT_NAMES})


def policy_details(policy: Policy) -> dict[str, Any]:
    """What a replay's header keeps about a neural player: its kind, its action space and whether it sees time."""
    config = policy.config
    return {"policy": policy.kind,
            "action_space": {"functions": None if config.functions is None else list(config.functions),
                             "fixed_arguments": {name: value for name, value in config.fixed_arguments}},
            "sees_time": config.time_limit_loops is not None}


def explain(output: PolicyOutput, top_k: int = 5) -> dict[str, torch.Tensor]:
    """What the policy thought, for replays (arena.replay.format.EXPLANATION_FIELDS): value [B] float, the top_k
    functions [B, k] long (-1 where the probability is 0) and their probs [B, k] float, and the heatmap [B, S, S]
    uint8: the screen-point probabilities of the most probable function that takes a screen point, scaled so the
    most probable pixel of each game is 255."""
    distribution = output.distribution
    ids, probs = distribution.top_functions(top_k)
    probs_map = distribution.point_probs("screen", distribution.most_probable_point_function("screen"))
    peak = probs_map.flatten(1).max(-1).values.clamp(min=1e-12)[:, None, None]
    heatmap = (probs_map / peak * 255.0).round().clamp(0, 255).to(torch.uint8)
    return {"value": output.value.detach().float(), "top_functions": ids, "top_probs": probs.float(),
            "heatmap": heatmap}


class PolicyAgent(BatchedAgent):
    """Plays with a policy: samples its distribution (or, `greedy`, takes the mode) under torch.no_grad.

    After each `act`: `last_explanation` (see `explain`), and for learners `last_sample` (the dict sampled,
    latents included) and `last_log_prob` [B].

    Args:
        policy: the policy (its device is where it runs; observations are moved there and actions back).
        seed: seeds the agent's own generator (on the policy's device): same seed, same actions.
        greedy: take the most probable action instead of sampling.
        top_k: functions listed in the explanation.
    """

    name = "policy"

    def __init__(self, policy: Policy, *, seed: int = 0, greedy: bool = False, top_k: int = 5):
        self.policy = policy
        self.seed = seed
        self.greedy = greedy
        self.top_k = top_k
        self.generator: torch.Generator | None = None
        self.last_explanation: dict[str, torch.Tensor] | None = None
        self.last_sample: dict[str, torch.Tensor] | None = None
        self.last_log_prob: torch.Tensor | None = None

    def _generator(self) -> torch.Generator:
        device = self.policy.device
        if self.generator is None or self.generator.device != device:
            self.generator = torch.Generator(device=device).manual_seed(self.seed)
        return self.generator

    def act(self, obs: dict[str, torch.Tensor], first: torch.Tensor) -> BatchedAction:
        with torch.no_grad():
            output = self.policy(self.policy.encode(obs))
            distribution = output.distribution
            sample = distribution.mode() if self.greedy else distribution.sample(self._generator())
            self.last_sample = sample
            self.last_log_prob = distribution.log_prob(sample)
            self.last_explanation = explain(output, self.top_k)
        return to_batched_action(sample).to(obs["available_actions"].device)


__all__ = ["ARGUMENT_FUNCTIONS", "ARGUMENT_NAMES", "ActionDistribution", "ArgumentDistribution",
           "CategoricalArgument", "PointArgument", "PointKind", "Policy", "PolicyAgent", "PolicyConfig", "PolicyOutput",
           "UnitOrPointArgument", "explain", "policy_details", "to_batched_action"]
