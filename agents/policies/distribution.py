"""The distribution over pysc2 actions a policy outputs: a function id, then the arguments that function takes.

A sample is a dict of tensors with the `BatchedAction` field names ("function" [B], "screen" [B, 2] (x, y), ...,
"select_worker" [B], all long); every argument has a value in range even when the function ignores it. Policies
that choose a screen point through a unit add latent keys ("point_kind", "unit_index") that make the log-prob exact.

Each argument's distribution has one row per function that conditions it ([B, R, ...]): R = 1 when the argument
does not depend on the function (FullyConv), or R = len(ARGUMENT_FUNCTIONS[name]) when it does (an
autoregressive head: a row per function that takes the argument, in that order). Given the function, the arguments
are independent, so the log-prob, the entropy and the KL divergence below are exact:

    log p(a)  = log p(f) + sum over the arguments f takes of log p(arg | f)          (the PySC2 paper)
    H         = H(f) + sum over arguments of  sum over f taking it of p(f) H(arg | f)
    KL(p | q) = KL(f) + sum over arguments of sum over f taking it of p(f) KL(arg | f)

Unavailable functions get probability exactly 0 and are never sampled.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import functools
from typing import Mapping

import torch

from agents.random_agent import CATEGORICAL_SIZES
from arena.interface.actions import BatchedAction
from arena.interface.functions import FUNCTION_ARGUMENTS, NUM_FUNCTIONS, FunctionId

ARGUMENT_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(BatchedAction) if f.name != "function")
"""The argument fields of a BatchedAction, in its order."""
POINT_ARGUMENTS = ("screen", "minimap", "screen2")
ARGUMENT_SIZES: dict[str, int] = dict(CATEGORICAL_SIZES)
"""Values of each categorical argument (pysc2 `lib/actions.py` TYPES)."""
ARGUMENT_FUNCTIONS: dict[str, tuple[int, ...]] = {
    name: tuple(sorted(int(f) for f, arguments in FUNCTION_ARGUMENTS.items() if any(a.name == name
                                                                                      for a in arguments)))
    for name in ARGUMENT_NAMES}
"""The function ids that take each argument, ascending: the rows of a function-conditioned argument head."""
POINT_KIND = "point_kind"
UNIT_INDEX = "unit_index"
NEGATIVE = torch.finfo(torch.float32).min
"""The logit of an impossible choice: finite (no NaN in entropies), and exp() of it is exactly 0."""


class PointKind(enum.IntEnum):
    """How a unit-or-point argument chose its point (the "point_kind" latent)."""

    PIXEL = 0
    """A free screen pixel."""
    UNIT = 1
    """An on-screen unit; the point is its centre pixel."""


def _uses_table() -> torch.Tensor:
    uses = torch.zeros(NUM_FUNCTIONS, len(ARGUMENT_NAMES), dtype=torch.bool)
    for function, arguments in FUNCTION_ARGUMENTS.items():
        for argument in arguments:
            uses[int(function), ARGUMENT_NAMES.index(argument.name)] = True
    return uses


@functools.lru_cache(maxsize=None)
def argument_functions(functions: tuple[int, ...] | None) -> Mapping[str, tuple[int, ...]]:
    """Per argument, the functions of an action space (`functions`; None: all) that take it, ascending: the rows of
    a function-conditioned head. An argument no function of the space takes keeps one row (its first function's,
    whose probability is 0), so every head keeps a shape."""
    if functions is None:
        return ARGUMENT_FUNCTIONS
    allowed = set(functions)
    return {name: tuple(f for f in ids if f in allowed) or ids[:1] for name, ids in ARGUMENT_FUNCTIONS.items()}


@functools.lru_cache(maxsize=None)
def _row_tables(functions: tuple[tuple[str, tuple[int, ...]], ...]) -> dict[str, torch.Tensor]:
    """Per argument, [573] long: a function's row in a function-conditioned head (0 for functions not taking it)."""
    tables = {}
    for name, ids in functions:
        rows = torch.zeros(NUM_FUNCTIONS, dtype=torch.long)
        rows[list(ids)] = torch.arange(len(ids))
        tables[name] = rows
    return tables


USES = _uses_table()
"""[573, len(ARGUMENT_NAMES)] bool: which arguments each function takes."""


def masked_log_softmax(logits: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    """Log-probabilities over the last dimension; entries where `keep` is False get probability exactly 0."""
    if keep is not None:
        logits = logits.masked_fill(~keep, NEGATIVE)
    return torch.log_softmax(logits.float(), dim=-1)


def categorical_entropy(log_probs: torch.Tensor) -> torch.Tensor:
    """Entropy over the last dimension (impossible entries add exactly 0)."""
    return -(log_probs.exp() * log_probs).sum(-1)


def categorical_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p | q) over the last dimension; rows broadcast."""
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def sample_index(log_probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One draw per row of [B, N] log-probabilities -> [B] long (zero-probability entries are never drawn)."""
    return torch.multinomial(log_probs.exp(), 1, generator=generator)[:, 0]


def _pick(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """table [B, R, ...], rows [B] -> [B, ...] (R == 1: that row for every game)."""
    if table.shape[1] == 1:
        return table[:, 0]
    return table[torch.arange(table.shape[0], device=table.device), rows]


def _pixel_index(point: torch.Tensor, width: int) -> torch.Tensor:
    return point[:, 1].long() * width + point[:, 0].long()


def _pixel_point(index: torch.Tensor, width: int) -> torch.Tensor:
    return torch.stack([index % width, index // width], dim=-1)


class ArgumentDistribution(abc.ABC):
    """One argument's distribution, a row per conditioning function ([B, R, ...]); see the module docstring."""

    name: str

    @property
    @abc.abstractmethod
    def rows(self) -> int:
        """R: 1 (the same for every function) or the number of functions taking the argument."""

    @abc.abstractmethod
    def sample(self, rows: torch.Tensor, generator: torch.Generator | None) -> dict[str, torch.Tensor]:
        """Draw from row rows[b] of game b: {name: value} plus any latent keys."""

    @abc.abstractmethod
    def mode(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """The most probable value of row rows[b], as `sample` gives it."""

    @abc.abstractmethod
    def log_prob(self, rows: torch.Tensor, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """[B] log-probability of the sample's value under row rows[b]."""

    @abc.abstractmethod
    def entropy(self) -> torch.Tensor:
        """[B, R] each row's entropy."""

    def regularizing_entropy(self) -> torch.Tensor:
        """[B, R] the entropy a learner's bonus maximises (ActionDistribution.regularizing_entropy): the same
        value as `entropy`, with any mixture weights inside the argument held constant."""
        return self.entropy()

    @abc.abstractmethod
    def kl(self, other: "ArgumentDistribution") -> torch.Tensor:
        """[B, max(R, R')] KL(self | other) per row (a one-row side broadcasts)."""


@dataclasses.dataclass(frozen=True, eq=False)
class CategoricalArgument(ArgumentDistribution):
    """A categorical argument (queued, select_add, ...): log_probs [B, R, N]."""

    name: str
    log_probs: torch.Tensor

    @property
    def rows(self) -> int:
        return self.log_probs.shape[1]

    def sample(self, rows, generator):
        return {self.name: sample_index(_pick(self.log_probs, rows), generator)}

    def mode(self, rows):
        return {self.name: _pick(self.log_probs, rows).argmax(-1)}

    def log_prob(self, rows, sample):
        return _pick(self.log_probs, rows).gather(1, sample[self.name].long()[:, None])[:, 0]

    def entropy(self):
        return categorical_entropy(self.log_probs)

    def kl(self, other):
        _same_kind(self, other)
        return categorical_kl(self.log_probs, other.log_probs)


@dataclasses.dataclass(frozen=True, eq=False)
class PointArgument(ArgumentDistribution):
    """A point on a height x width grid (screen, minimap, screen2): log_probs [B, R, H * W] over pixels in row-major
    order (index y * width + x); values are (x, y)."""

    name: str
    log_probs: torch.Tensor
    width: int

    @property
    def rows(self) -> int:
        return self.log_probs.shape[1]

    def sample(self, rows, generator):
        return {self.name: _pixel_point(sample_index(_pick(self.log_probs, rows), generator), self.width)}

    def mode(self, rows):
        return {self.name: _pixel_point(_pick(self.log_probs, rows).argmax(-1), self.width)}

    def log_prob(self, rows, sample):
        index = _pixel_index(sample[self.name], self.width)
        return _pick(self.log_probs, rows).gather(1, index[:, None])[:, 0]

    def entropy(self):
        return categorical_entropy(self.log_probs)

    def kl(self, other):
        _same_kind(self, other)
        return categorical_kl(self.log_probs, other.log_probs)

    def point_probs(self, rows: torch.Tensor) -> torch.Tensor:
        """[B, H, W] the probability of each pixel under row rows[b]."""
        probs = _pick(self.log_probs, rows).exp()
        return probs.reshape(probs.shape[0], -1, self.width)


@dataclasses.dataclass(frozen=True, eq=False)
class UnitOrPointArgument(ArgumentDistribution):
    """A screen point chosen in two ways: a gate picks "a unit" or "a free pixel" (`PointKind`), then a pointer over
    the on-screen units or a distribution over pixels picks which. A chosen unit's point is its centre pixel.

    Samples carry the latents "point_kind" and "unit_index", and the log-prob of such a sample is the log-prob of
    the path taken: log gate[kind] + log p(unit) or log p(pixel). A sample without them (an action from elsewhere,
    e.g. a demonstration) gets the marginal log-prob of its point: both paths that reach that pixel, summed.
    Entropy and KL are those of the joint (gate, unit, pixel) choice: H(gate) + g_unit H(unit) + g_pixel H(pixel).
    """

    name: str
    gate: torch.Tensor  # [B, R, 2] log-probs over PointKind
    unit: torch.Tensor  # [B, R, U] log-probs over unit slots (slots without an on-screen unit: 0 probability)
    pixel: PointArgument  # [B, R, H * W]
    unit_pixel: torch.Tensor  # [B, U, 2] long (x, y) each unit's point
    unit_mask: torch.Tensor  # [B, U] bool

    @property
    def rows(self) -> int:
        return max(self.gate.shape[1], self.unit.shape[1], self.pixel.rows)

    def _point(self, kind: torch.Tensor, unit: torch.Tensor, pixel_point: torch.Tensor) -> torch.Tensor:
        unit_point = self.unit_pixel.gather(1, unit[:, None, None].expand(-1, 1, 2))[:, 0]
        return torch.where((kind == PointKind.UNIT)[:, None], unit_point, pixel_point)

    def sample(self, rows, generator):
        kind = sample_index(_pick(self.gate, rows), generator)
        unit = sample_index(_pick(self.unit, rows), generator)
        pixel = self.pixel.sample(rows, generator)[self.name]
        return {self.name: self._point(kind, unit, pixel), POINT_KIND: kind, UNIT_INDEX: unit}

    def mode(self, rows):
        gate, unit_lp, pixel_lp = _pick(self.gate, rows), _pick(self.unit, rows), _pick(self.pixel.log_probs, rows)
        best_unit, unit = unit_lp.max(-1)
        best_pixel, pixel = pixel_lp.max(-1)
        by_unit = gate[:, PointKind.UNIT] + best_unit > gate[:, PointKind.PIXEL] + best_pixel
        kind = torch.where(by_unit, int(PointKind.UNIT), int(PointKind.PIXEL))
        point = self._point(kind, unit, _pixel_point(pixel, self.pixel.width))
        return {self.name: point, POINT_KIND: kind, UNIT_INDEX: unit}

    def log_prob(self, rows, sample):
        gate = _pick(self.gate, rows)
        pixel = self.pixel.log_prob(rows, sample)
        if POINT_KIND not in sample:
            return self._marginal_log_prob(rows, sample[self.name], gate, pixel)
        kind = sample[POINT_KIND].long()
        unit = _pick(self.unit, rows).gather(1, sample[UNIT_INDEX].long()[:, None])[:, 0]
        path = torch.where(kind == PointKind.UNIT, unit, pixel)
        return gate.gather(1, kind[:, None])[:, 0] + path

    def _marginal_log_prob(self, rows, point, gate, pixel) -> torch.Tensor:
        at_point = (self.unit_pixel == point[:, None, :]).all(-1) & self.unit_mask
        unit = _pick(self.unit, rows).masked_fill(~at_point, NEGATIVE).logsumexp(-1)
        return torch.logaddexp(gate[:, PointKind.PIXEL] + pixel, gate[:, PointKind.UNIT] + unit)

    def entropy(self):
        gate_probs = self.gate.exp()
        return (categorical_entropy(self.gate) + gate_probs[..., PointKind.UNIT] * categorical_entropy(self.unit)
                + gate_probs[..., PointKind.PIXEL] * self.pixel.entropy())

    def regularizing_entropy(self):
        gate_probs = self.gate.exp().detach()  # the gate's own entropy alone moves the gate
        return (categorical_entropy(self.gate) + gate_probs[..., PointKind.UNIT] * categorical_entropy(self.unit)
                + gate_probs[..., PointKind.PIXEL] * self.pixel.entropy())

    def kl(self, other):
        _same_kind(self, other)
        gate_probs = self.gate.exp()
        return (categorical_kl(self.gate, other.gate)
                + gate_probs[..., PointKind.UNIT] * categorical_kl(self.unit, other.unit)
                + gate_probs[..., PointKind.PIXEL] * self.pixel.kl(other.pixel))

    def point_probs(self, rows: torch.Tensor) -> torch.Tensor:
        """[B, H, W] the probability of each pixel under row rows[b] (both paths)."""
        gate = _pick(self.gate, rows).exp()
        probs = self.pixel.point_probs(rows) * gate[:, PointKind.PIXEL, None, None]
        B, H, W = probs.shape
        unit = _pick(self.unit, rows).exp() * gate[:, PointKind.UNIT, None]
        index = self.unit_pixel[..., 1].long() * W + self.unit_pixel[..., 0].long()
        return probs.reshape(B, -1).scatter_add(1, index, unit).reshape(B, H, W)


def fixed_argument(argument: ArgumentDistribution, value: int) -> CategoricalArgument:
    """`argument` (categorical) with all its probability on `value`, in every row: no choice and no entropy."""
    if not isinstance(argument, CategoricalArgument):
        raise ValueError(f"only categorical arguments can be fixed, not {argument.name!r}")
    keep = torch.zeros_like(argument.log_probs, dtype=torch.bool)
    keep[..., value] = True
    return CategoricalArgument(argument.name, masked_log_softmax(argument.log_probs, keep))


def _same_kind(mine: ArgumentDistribution, other: ArgumentDistribution) -> None:
    if type(mine) is not type(other):
        raise ValueError(f"cannot compare argument {mine.name!r} across structures: {type(mine).__name__} vs "
                         f"{type(other).__name__} (the two policies choose it differently)")


class ActionDistribution:
    """The policy's distribution over actions for B games: function logits [B, 573] masked with the available
    actions, and one `ArgumentDistribution` per BatchedAction argument.

    Args:
        function_logits: [B, 573] unnormalised.
        available: [B, 573] bool, the observation's available_actions (no_op counts as available when nothing is).
        arguments: by argument name, every name of ARGUMENT_NAMES.
        argument_functions: per argument, the functions whose rows a conditioned head has (`argument_functions` of
            the policy's action space; default every function taking it).
        fixed_arguments: categorical arguments given one value with probability 1 (no choice, no entropy).
    """

    def __init__(self, function_logits: torch.Tensor, available: torch.Tensor,
                 arguments: Mapping[str, ArgumentDistribution], *,
                 argument_functions: Mapping[str, tuple[int, ...]] = ARGUMENT_FUNCTIONS,
                 fixed_arguments: Mapping[str, int] | None = None):
        missing = [name for name in ARGUMENT_NAMES if name not in arguments]
        if missing:
            raise ValueError(f"an ActionDistribution needs every argument; missing {missing}")
        for name, argument in arguments.items():
            if argument.rows not in (1, len(argument_functions[name])):
                raise ValueError(f"argument {name!r} has {argument.rows} rows; expected 1 or one per function "
                                 f"taking it ({len(argument_functions[name])})")
        keep = available.bool()
        nothing = ~keep.any(-1, keepdim=True)
        keep = keep | (nothing & (torch.arange(NUM_FUNCTIONS, device=keep.device) == int(FunctionId.no_op)))
        self.function_log_probs = masked_log_softmax(function_logits, keep)  # [B, 573]
        self.argument_functions = {name: tuple(argument_functions[name]) for name in ARGUMENT_NAMES}
        self.row_tables = _row_tables(tuple(self.argument_functions.items()))
        self.arguments = {name: arguments[name] for name in ARGUMENT_NAMES}
        for name, value in (fixed_arguments or {}).items():
            self.arguments[name] = fixed_argument(self.arguments[name], value)

    @property
    def function_probs(self) -> torch.Tensor:
        """[B, 573] probabilities of the function ids (0 for unavailable ones)."""
        return self.function_log_probs.exp()

    def _rows(self, name: str, function: torch.Tensor) -> torch.Tensor:
        if self.arguments[name].rows == 1:
            return torch.zeros_like(function)
        return self.row_tables[name].to(function.device)[function]

    def _uses(self, function: torch.Tensor) -> torch.Tensor:
        return USES.to(function.device)[function]  # [B, len(ARGUMENT_NAMES)]

    def sample(self, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """A function id drawn from the available ones, then a value for every argument (conditioned on that
        function); long tensors keyed by BatchedAction field names, plus latent keys."""
        function = sample_index(self.function_log_probs, generator)
        sample = {"function": function}
        for name, argument in self.arguments.items():
            sample.update(argument.sample(self._rows(name, function), generator))
        return sample

    def mode(self) -> dict[str, torch.Tensor]:
        """The most probable function, then each argument's most probable value given it."""
        function = self.function_log_probs.argmax(-1)
        sample = {"function": function}
        for name, argument in self.arguments.items():
            sample.update(argument.mode(self._rows(name, function)))
        return sample

    def log_prob(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """[B] log p(function) plus the log-probs of only the arguments that function takes."""
        function = sample["function"].long().to(self.function_log_probs.device)
        total = self.function_log_probs.gather(1, function[:, None])[:, 0]
        uses = self._uses(function)
        for i, (name, argument) in enumerate(self.arguments.items()):
            term = argument.log_prob(self._rows(name, function), sample)
            total = total + torch.where(uses[:, i], term, torch.zeros_like(term))
        return total

    def _function_weights(self, name: str) -> torch.Tensor:
        """[B, F] the probability of each function taking argument `name`."""
        return self.function_log_probs[:, list(self.argument_functions[name])].exp()

    def entropy(self) -> torch.Tensor:
        """[B] the exact entropy of the action: the function's entropy plus each argument's entropy weighted by the
        probabilities of the functions that take it (the expectation over functions, not a sample's)."""
        total = categorical_entropy(self.function_log_probs)
        for name, argument in self.arguments.items():
            total = total + (self._function_weights(name) * argument.entropy()).sum(-1)
        return total

    def regularizing_entropy(self) -> torch.Tensor:
        """[B] the entropy the learners' bonus maximises: equal in value to `entropy()`, but the weights of the
        arguments' entropies (the probabilities of the functions taking them) are held constant. The exact entropy's
        gradient pushes the function head towards functions with more and larger arguments (select_rect's two
        screen points beat Move_screen's one), which is not exploration but a bias: a PPO run on MoveToBeacon
        collapsed onto select_rect that way. Here only the function's own entropy moves the function head."""
        total = categorical_entropy(self.function_log_probs)
        for name, argument in self.arguments.items():
            total = total + (self._function_weights(name).detach() * argument.regularizing_entropy()).sum(-1)
        return total

    def kl(self, other: "ActionDistribution") -> torch.Tensor:
        """[B] KL(self | other), exact: KL of the functions plus each argument's KL weighted by this distribution's
        probabilities of the functions taking it. For a KL penalty towards a supervised policy, call it on the
        learner's distribution with the supervised one as `other` (or the other way round for the forward KL)."""
        total = categorical_kl(self.function_log_probs, other.function_log_probs)
        for name, argument in self.arguments.items():
            total = total + (self._function_weights(name) * argument.kl(other.arguments[name])).sum(-1)
        return total

    def top_functions(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids [B, k] long, probs [B, k]) the k most probable functions; ids of probability 0 are -1."""
        probs, ids = self.function_probs.topk(min(k, NUM_FUNCTIONS), dim=-1)
        return torch.where(probs > 0, ids, -1), probs

    def point_probs(self, name: str, function: torch.Tensor) -> torch.Tensor:
        """[B, H, W] the probability of each pixel of point argument `name` when the function is function[b]."""
        argument = self.arguments[name]
        if not hasattr(argument, "point_probs"):
            raise ValueError(f"argument {name!r} is not a point")
        return argument.point_probs(self._rows(name, function))

    def most_probable_point_function(self, name: str = "screen") -> torch.Tensor:
        """[B] long: the most probable function that takes point argument `name`."""
        ids = torch.tensor(self.argument_functions[name], device=self.function_log_probs.device)
        return ids[self._function_weights(name).argmax(-1)]
