"""Who plays whom, when a learning player is frozen into the pool, and when it is reset: the league's rules.

Pure functions over the players (name -> `Player`, or a sequence of them), the `Payoff`, the `LeagueRules` and an
explicit `random.Random`; state transitions (`snapshot`, `reset`, `add_steps`) return new dicts. The rules are
AlphaStar's published pseudocode (`multiagent.py`: `get_match`, `ready_to_checkpoint` and `checkpoint` of
`MainPlayer`, `MainExploiter`, `LeagueExploiter`; league.md), one registry entry per `Role`. The main agents'
branches are weighted by switches (`Matchmaking`), and a `LeagueKind` names a preset of them and of the exploiter
counts: the six rungs of AlphaStar's ablation, from FSP to the full league.

Order: candidates come in the order of `players` (the pseudocode's `payoff.players`), except a main agent's own
snapshots, sorted by snapshot number (`<name>@<n>`): the forgetting check needs them oldest first. Same players in
the same order, same payoff and same seed give the same matches.

Empty candidate sets: the league starts with a snapshot `<main>@0` of each main agent (as the pseudocode does), so
"all historical players" is never empty in practice. If a set is empty all the same, the choice falls back to
self-play against a current main agent (`Branch.SELF_PLAY`; by the plain self-play rule, the current self); a main
exploiter with no snapshots of the main agent to practise on plays the main agent itself.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

from league import pfsp
from league.payoff import Payoff
from league.pfsp import Weighting
from league.players import LEARNING_ROLES, Player, Role, learning_player_name

PlayersLike = Union[Mapping[str, Player], Sequence[Player]]
"""The league's players: name -> Player, or the Players themselves (names must be unique)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeagueRules:
    """The thresholds and probabilities of the roles' rules (defaults: AlphaStar's pseudocode, except steps). The
    main agents' opponent mix is `Matchmaking`'s."""

    snapshot_min_steps: int = 100_000
    """No snapshot until this many agent steps since the last one. AlphaStar: 2e9 (full StarCraft); scale it to
    the scenario (the default keeps AlphaStar's 1 : 2 ratio to the timeout)."""
    snapshot_timeout_steps: int = 200_000
    """A snapshot is due anyway after more than this many steps since the last one. AlphaStar: 4e9."""
    snapshot_win_rate: float = 0.7
    """A snapshot is due when the player beats every player of its relevant set more often than this."""
    selfplay_min_win_rate: float = 0.3
    """Main agents' self-play: the current main agent while beating it more often than this, else PFSP-variance
    over its snapshots (a curriculum)."""
    exploiter_verification_win_rate: float = 0.3
    """Verification: play past main exploiters when the lowest win rate against them is below this."""
    forgetting_win_rate: float = 0.7
    """Verification: play a main agent's past snapshots when the lowest win rate against them (monotonic suffix
    removed) is below this."""
    main_exploiter_min_win_rate: float = 0.1
    """Main exploiters: the current main agent while beating it more often than this, else PFSP-variance over its
    snapshots."""
    league_exploiter_reset_probability: float = 0.25
    """League exploiters: the probability of a reset to the initial parameters after each snapshot."""

    def __post_init__(self) -> None:
        if self.snapshot_min_steps < 0:
            raise ValueError(f"snapshot_min_steps must be non-negative, got {self.snapshot_min_steps}")
        if self.snapshot_timeout_steps < self.snapshot_min_steps:
            raise ValueError(f"snapshot_timeout_steps ({self.snapshot_timeout_steps}) must be at least "
                             f"snapshot_min_steps ({self.snapshot_min_steps})")
        for name in ("snapshot_win_rate", "selfplay_min_win_rate", "exploiter_verification_win_rate",
                     "forgetting_win_rate", "main_exploiter_min_win_rate", "league_exploiter_reset_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")


class LeagueKind(str, enum.Enum):
    """A named preset of the league's switches: the main agents' opponent mix (`Matchmaking`) and the numbers of
    exploiters (`LeagueSize`). The six rungs of AlphaStar's ablation, in the order of its Elo (league.md)."""

    FICTITIOUS_SELF_PLAY = "fictitious_self_play"
    """FSP (Elo 1143): main agents only, each against a uniform draw over all historical players."""
    PFSP = "pfsp"
    """PFSP (1273): main agents only, each against PFSP-squared over all historical players."""
    SELF_PLAY = "self_play"
    """SP (1519): main agents only, each always against its current self."""
    PFSP_SELF_PLAY = "pfsp_self_play"
    """PFSP + SP (1540): main agents only, with AlphaStar's main agent mix (self-play, PFSP, verification)."""
    PFSP_SELF_PLAY_MAIN_EXPLOITERS = "pfsp_self_play_main_exploiters"
    """+ main exploiters (1693): AlphaStar's main agent mix, and main exploiters."""
    ALPHASTAR = "alphastar"
    """+ league exploiters (1824): main agents, main exploiters and league exploiters, with the roles' rules."""


class SelfPlayRule(str, enum.Enum):
    """Whom a main agent's self-play branch plays."""

    PLAIN = "plain"
    """Always its current self."""
    CURRICULUM = "curriculum"
    """AlphaStar's `_selfplay_branch`: a current main agent drawn uniformly (with one main agent: itself), or, while
    it beats that one at most `selfplay_min_win_rate` of the time, PFSP-variance over that one's snapshots."""


class MixBranch(str, enum.Enum):
    """A branch of the main agents' mix; its value is `Matchmaking`'s field for its weight."""

    PFSP = "pfsp"
    FSP = "fsp"
    VERIFICATION = "verification"
    SELF_PLAY = "self_play"


PFSP_WEIGHTINGS = (Weighting.SQUARED, Weighting.VARIANCE, Weighting.LINEAR, Weighting.LINEAR_CAPPED, Weighting.UNIFORM)
"""The weightings the PFSP branch may use (`hard` is left out: with its fixed exponent 2 it is `squared`)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Matchmaking:
    """The main agents' opponent mix (`[matchmaking]` in league.toml; defaults: AlphaStar's main agent).

    Each match of a main agent takes one branch, with probability its weight / the sum of the weights; a branch
    whose candidates are missing falls back to self-play. The weights need not sum to 1: 35 / 50 / 15 is 0.35 /
    0.5 / 0.15. Exploiters are not switched here: their numbers are `LeagueSize`'s.
    """

    self_play: float = 0.35
    """Weight of self-play, by `self_play_rule`."""
    pfsp: float = 0.5
    """Weight of PFSP over all historical players, by `pfsp_weighting`."""
    fsp: float = 0.0
    """Weight of fictitious self-play: a uniform draw over all historical players."""
    verification: float = 0.15
    """Weight of verification: past main exploiters that beat us, else the main agent's own forgotten snapshots
    (PFSP-squared); when neither applies, self-play."""
    pfsp_weighting: Weighting = Weighting.SQUARED
    """The PFSP branch's f(win rate): squared (AlphaStar), variance, linear, linear_capped or uniform."""
    self_play_rule: SelfPlayRule = SelfPlayRule.CURRICULUM
    """Whom self-play (and every fallback) plays: `plain` (the current self) or `curriculum` (AlphaStar's)."""

    def __post_init__(self) -> None:
        for branch, value in self.weights.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < math.inf:
                raise ValueError(f"{branch.value} is a weight: a non-negative number, got {value!r}")
        if not any(self.weights.values()):
            raise ValueError(f"the main agents need a branch to play: one of "
                             f"{', '.join(branch.value for branch in MixBranch)} must be above 0")
        object.__setattr__(self, "pfsp_weighting", _choice(Weighting, PFSP_WEIGHTINGS, "pfsp_weighting",
                                                           self.pfsp_weighting))
        object.__setattr__(self, "self_play_rule", _choice(SelfPlayRule, tuple(SelfPlayRule), "self_play_rule",
                                                           self.self_play_rule))

    @property
    def weights(self) -> dict[MixBranch, float]:
        """The branches' weights, in the order of the draw (AlphaStar's: PFSP, then verification, then the rest)."""
        return {branch: getattr(self, branch.value) for branch in MixBranch}

    @property
    def plays_the_pool(self) -> bool:
        """Whether main agents ever play historical players, and so ever meet what exploiters found."""
        return any(weight for branch, weight in self.weights.items() if branch is not MixBranch.SELF_PLAY)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the weights as numbers, the choices as their names."""
        return {**dataclasses.asdict(self), "pfsp_weighting": self.pfsp_weighting.value,
                "self_play_rule": self.self_play_rule.value}

    @classmethod
    def for_kind(cls, kind: LeagueKind) -> Matchmaking:
        """The main agents' mix of the `kind` preset."""
        return _PRESETS[LeagueKind(kind)].matchmaking


def _choice(enum_type: type[enum.Enum], allowed: tuple, name: str, value: Any) -> Any:
    """`value` as a member of `enum_type` among `allowed`, else a ValueError naming `name` and the choices."""
    try:
        member = enum_type(value)
    except ValueError:
        member = None
    if member not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(m.value for m in allowed)}, got {value!r}")
    return member


@dataclasses.dataclass(frozen=True)
class _Preset:
    """A `LeagueKind`: the main agents' mix and how many exploiters of each role."""

    matchmaking: Matchmaking
    main_exploiters: int
    league_exploiters: int


_ALPHASTAR_MIX = Matchmaking()
_PRESETS: dict[LeagueKind, _Preset] = {
    LeagueKind.FICTITIOUS_SELF_PLAY: _Preset(Matchmaking(self_play=0.0, pfsp=0.0, fsp=1.0, verification=0.0,
                                                         self_play_rule=SelfPlayRule.PLAIN), 0, 0),
    LeagueKind.PFSP: _Preset(Matchmaking(self_play=0.0, pfsp=1.0, fsp=0.0, verification=0.0,
                                         self_play_rule=SelfPlayRule.PLAIN), 0, 0),
    LeagueKind.SELF_PLAY: _Preset(Matchmaking(self_play=1.0, pfsp=0.0, fsp=0.0, verification=0.0,
                                              self_play_rule=SelfPlayRule.PLAIN), 0, 0),
    LeagueKind.PFSP_SELF_PLAY: _Preset(_ALPHASTAR_MIX, 0, 0),
    LeagueKind.PFSP_SELF_PLAY_MAIN_EXPLOITERS: _Preset(_ALPHASTAR_MIX, 1, 0),
    LeagueKind.ALPHASTAR: _Preset(_ALPHASTAR_MIX, 1, 1),
}
"""Each kind's switches. In the FSP, PFSP and self-play kinds self-play (and so every fallback) is the current self,
as the FSP and self-play kinds played before they were presets."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeagueSize:
    """How many learning players of each role (default: the small league, one of each; AlphaStar: 3, 3, 6)."""

    main_agents: int = 1
    """At least one: every other role's opponents come from them."""
    main_exploiters: int = 1
    """The kind's by default (alphastar, pfsp_self_play_main_exploiters: 1; the others: 0)."""
    league_exploiters: int = 1
    """The kind's by default (alphastar: 1; the others: 0)."""

    def __post_init__(self) -> None:
        if self.main_agents < 1:
            raise ValueError(f"a league needs at least one main agent, got {self.main_agents}")
        if self.main_exploiters < 0 or self.league_exploiters < 0:
            raise ValueError(f"exploiter counts must be non-negative, got {self.main_exploiters} main exploiters "
                             f"and {self.league_exploiters} league exploiters")

    def count(self, role: Role) -> int:
        """How many learning players have `role` (0 for historical players, which are not counted here)."""
        return {Role.MAIN_AGENT: self.main_agents, Role.MAIN_EXPLOITER: self.main_exploiters,
                Role.LEAGUE_EXPLOITER: self.league_exploiters}.get(role, 0)

    def check(self, matchmaking: Matchmaking | LeagueKind) -> None:
        """Raise ValueError unless this size fits the main agents' mix (a `LeagueKind`: its preset's): exploiters
        need main agents that play historical players, else what they find is never played."""
        mix = _as_matchmaking(matchmaking)
        if not mix.plays_the_pool and (self.main_exploiters or self.league_exploiters):
            raise ValueError(f"a league whose main agents only play self-play has main agents only, got "
                             f"{self.main_exploiters} main exploiters and {self.league_exploiters} league exploiters")

    @classmethod
    def for_kind(cls, kind: LeagueKind, *, main_agents: int = 1) -> LeagueSize:
        """The default size of a `kind` league: its preset's exploiters (AlphaStar: one of each role)."""
        preset = _PRESETS[LeagueKind(kind)]
        return cls(main_agents=main_agents, main_exploiters=preset.main_exploiters,
                   league_exploiters=preset.league_exploiters)


def _as_matchmaking(matchmaking: Matchmaking | LeagueKind) -> Matchmaking:
    """The main agents' mix itself, or a kind's preset mix."""
    return matchmaking if isinstance(matchmaking, Matchmaking) else Matchmaking.for_kind(matchmaking)


class Branch(str, enum.Enum):
    """Which rule produced a match (the branches of the pseudocode's `get_match` methods)."""

    PFSP = "pfsp"
    """Main agent: PFSP-squared over all historical players."""
    VERIFICATION_EXPLOITERS = "verification_exploiters"
    """Main agent: PFSP-squared over past main exploiters, the lowest win rate against them being below 0.3."""
    VERIFICATION_FORGETTING = "verification_forgetting"
    """Main agent: PFSP-squared over a main agent's own snapshots it has started to lose to again."""
    SELF_PLAY = "self_play"
    """Against a current main agent (or, by the plain self-play rule, the current self); also every fallback when a
    candidate set is empty."""
    SELF_PLAY_CURRICULUM = "self_play_curriculum"
    """Main agent: PFSP-variance over the chosen main agent's snapshots, the win rate against it being <= 0.3."""
    MAIN_EXPLOITER_CURRENT = "main_exploiter_current"
    """Main exploiter: against a current main agent."""
    MAIN_EXPLOITER_CURRICULUM = "main_exploiter_curriculum"
    """Main exploiter: PFSP-variance over a main agent's snapshots, the win rate against it being <= 0.1."""
    LEAGUE_EXPLOITER_PFSP = "league_exploiter_pfsp"
    """League exploiter: PFSP-linear-capped over all historical players."""
    FICTITIOUS = "fictitious"
    """Fictitious self-play: a uniform draw over all historical players."""


@dataclasses.dataclass(frozen=True)
class Match:
    """One game to play: the learning player `home` against `away`."""

    home: str
    """The learning player that asked for an opponent."""
    away: str
    """Its opponent: a historical snapshot, a current main agent, or home itself."""
    away_frozen: bool
    """Whether away is a historical (frozen) snapshot. Unlike the pseudocode's flag (also True for a main
    exploiter's game against a current main agent), a current player is never frozen here."""
    branch: Branch
    """Which rule chose away."""


@dataclasses.dataclass(frozen=True)
class _League:
    """The players and payoff a rule looks at, with the candidate sets the pseudocode names."""

    players: Mapping[str, Player]
    payoff: Payoff

    def learning_player(self, name: str) -> Player:
        if name not in self.players:
            raise ValueError(f"no player named {name!r} in the league")
        player = self.players[name]
        if not player.learning:
            raise ValueError(f"{name} is a historical player: it never learns, chooses opponents or snapshots")
        return player

    def of_role(self, role: Role) -> list[str]:
        return [name for name, player in self.players.items() if player.role is role]

    def historical(self) -> list[str]:
        return self.of_role(Role.HISTORICAL)

    def main_agents(self) -> list[str]:
        return self.of_role(Role.MAIN_AGENT)

    def exploiter_snapshots(self) -> list[str]:
        """Past main exploiters (the pseudocode: historical players whose parent is a main exploiter)."""
        return [n for n in self.historical() if self.players[n].parent_role is Role.MAIN_EXPLOITER]

    def snapshots_of(self, parent: str) -> list[str]:
        """The snapshots of `parent`, oldest first."""
        return sorted((n for n in self.historical() if self.players[n].parent == parent), key=_snapshot_number)

    def match(self, home: str, away: str, branch: Branch) -> Match:
        return Match(home=home, away=away, away_frozen=not self.players[away].learning, branch=branch)

    def pfsp_match(self, home: str, candidates: Sequence[str], weighting: Weighting, branch: Branch,
                   rng: random.Random) -> Match | None:
        """PFSP over `candidates` with home's win rates against them; None if there are none."""
        if not candidates:
            return None
        away = pfsp.choose(candidates, self.payoff.win_rates(home, candidates), weighting, rng)
        return self.match(home, away, branch)


def _snapshot_number(name: str) -> int:
    number = name.rpartition("@")[2]
    if not number.isdigit():
        raise ValueError(f"a snapshot is named <parent>@<n>, got {name!r}")
    return int(number)


def _as_mapping(players: PlayersLike) -> dict[str, Player]:
    """The players as a fresh dict name -> Player, checking that names are unique and keys match them."""
    if isinstance(players, Mapping):
        for key, player in players.items():
            if key != player.name:
                raise ValueError(f"player {player.name!r} is filed under the key {key!r}")
        return dict(players)
    mapping = {player.name: player for player in players}
    if len(mapping) != len(players):
        raise ValueError("two players share a name")
    return mapping


def _with(players: PlayersLike, *changed: Player) -> dict[str, Player]:
    """A new dict of the players with `changed` put in (replacing a namesake, or appended)."""
    return {**_as_mapping(players), **{player.name: player for player in changed}}


def _uniform(names: Sequence[str], rng: random.Random) -> str:
    """One of `names`, each equally likely, from one `rng.random()`."""
    return names[min(int(rng.random() * len(names)), len(names) - 1)]


# ---- Opponent choice, one function per role ----

def _main_agent_opponent(me: str, league: _League, rules: LeagueRules, mix: Matchmaking,
                         rng: random.Random) -> Match:
    """MainPlayer.get_match, its branches weighted by `mix`: PFSP, FSP, verification or self-play."""
    branch = _mix_branch(mix, rng)
    if branch in (MixBranch.PFSP, MixBranch.FSP):
        weighting, label = ((mix.pfsp_weighting, Branch.PFSP) if branch is MixBranch.PFSP
                            else (Weighting.UNIFORM, Branch.FICTITIOUS))
        match = league.pfsp_match(me, league.historical(), weighting, label, rng)
        return match or _self_play_branch(me, _self_play_opponent(me, league, mix, rng), league, rules, mix, rng)
    opponent = _self_play_opponent(me, league, mix, rng)
    if branch is MixBranch.VERIFICATION:
        match = _verification_branch(me, opponent, league, rules, rng)
        if match is not None:
            return match
    return _self_play_branch(me, opponent, league, rules, mix, rng)


def _mix_branch(mix: Matchmaking, rng: random.Random) -> MixBranch:
    """The branch of one main agent's match: one `rng.random()` u against the cumulative weights, none when only
    one branch has weight (so AlphaStar's mix draws as its pseudocode does, the single-branch kinds draw nothing)."""
    weights = {branch: weight for branch, weight in mix.weights.items() if weight > 0}
    if len(weights) == 1:
        return next(iter(weights))
    u = rng.random() * sum(weights.values())
    cumulative = 0.0
    for branch, weight in weights.items():
        cumulative += weight
        if u < cumulative:
            return branch
    return branch  # rounding left the cumulative sum just below u: the last branch


def _self_play_opponent(me: str, league: _League, mix: Matchmaking, rng: random.Random) -> str:
    """The current main agent self-play is against: `me` by the plain rule, else one drawn uniformly."""
    return me if mix.self_play_rule is SelfPlayRule.PLAIN else _uniform(league.main_agents(), rng)


def _verification_branch(me: str, opponent: str, league: _League, rules: LeagueRules,
                         rng: random.Random) -> Match | None:
    """MainPlayer._verification_branch: past main exploiters that beat us, else the opponent's forgotten snapshots."""
    exploiters = league.exploiter_snapshots()
    win_rates = league.payoff.win_rates(me, exploiters)
    if win_rates and min(win_rates) < rules.exploiter_verification_win_rate:
        return league.pfsp_match(me, exploiters, Weighting.SQUARED, Branch.VERIFICATION_EXPLOITERS, rng)
    snapshots = league.snapshots_of(opponent)
    win_rates, snapshots = pfsp.remove_monotonic_suffix(league.payoff.win_rates(me, snapshots), snapshots)
    if win_rates and min(win_rates) < rules.forgetting_win_rate:
        return league.pfsp_match(me, snapshots, Weighting.SQUARED, Branch.VERIFICATION_FORGETTING, rng)
    return None


def _self_play_branch(me: str, opponent: str, league: _League, rules: LeagueRules, mix: Matchmaking,
                      rng: random.Random) -> Match:
    """MainPlayer._selfplay_branch: the current opponent, or (by the curriculum rule) a curriculum over its snapshots
    when it is too strong."""
    if mix.self_play_rule is SelfPlayRule.PLAIN or league.payoff.win_rate(me, opponent) > rules.selfplay_min_win_rate:
        return league.match(me, opponent, Branch.SELF_PLAY)
    curriculum = league.pfsp_match(me, league.snapshots_of(opponent), Weighting.VARIANCE,
                                   Branch.SELF_PLAY_CURRICULUM, rng)
    return curriculum or league.match(me, opponent, Branch.SELF_PLAY)


def _main_exploiter_opponent(me: str, league: _League, rules: LeagueRules, mix: Matchmaking,
                             rng: random.Random) -> Match:
    """MainExploiter.get_match: a main agent, or PFSP-variance over its snapshots when it is too strong."""
    opponent = _uniform(league.main_agents(), rng)
    if league.payoff.win_rate(me, opponent) > rules.main_exploiter_min_win_rate:
        return league.match(me, opponent, Branch.MAIN_EXPLOITER_CURRENT)
    curriculum = league.pfsp_match(me, league.snapshots_of(opponent), Weighting.VARIANCE,
                                   Branch.MAIN_EXPLOITER_CURRICULUM, rng)
    return curriculum or league.match(me, opponent, Branch.MAIN_EXPLOITER_CURRENT)


def _league_exploiter_opponent(me: str, league: _League, rules: LeagueRules, mix: Matchmaking,
                               rng: random.Random) -> Match:
    """LeagueExploiter.get_match: PFSP-linear-capped over all historical players."""
    match = league.pfsp_match(me, league.historical(), Weighting.LINEAR_CAPPED, Branch.LEAGUE_EXPLOITER_PFSP, rng)
    return match or league.match(me, _uniform(league.main_agents(), rng), Branch.SELF_PLAY)


_Chooser = Callable[[str, _League, LeagueRules, Matchmaking, random.Random], Match]

_OPPONENT_CHOOSERS: dict[Role, _Chooser] = {
    Role.MAIN_AGENT: _main_agent_opponent,
    Role.MAIN_EXPLOITER: _main_exploiter_opponent,
    Role.LEAGUE_EXPLOITER: _league_exploiter_opponent,
}


def choose_opponent(player_name: str, players: PlayersLike, payoff: Payoff, rules: LeagueRules,
                    rng: random.Random, matchmaking: Matchmaking | LeagueKind = LeagueKind.ALPHASTAR) -> Match:
    """The next match of the learning player `player_name`, by its role's rule.

    `players` are every player of the league (learning and historical); `matchmaking` is the main agents' mix (a
    `LeagueKind`: its preset's); `rng` is the only source of randomness, so a seeded one makes the choice
    reproducible.

    Raises:
        ValueError: If the player is unknown or historical, it is an exploiter while the main agents only play
            self-play, or the league has no main agent.
    """
    league = _League(_as_mapping(players), payoff)
    me = league.learning_player(player_name)
    mix = _as_matchmaking(matchmaking)
    if me.role is not Role.MAIN_AGENT and not mix.plays_the_pool:
        raise ValueError(f"a league whose main agents only play self-play has no {me.role.value} players "
                         f"({player_name})")
    if not league.main_agents():
        raise ValueError("the league has no main agent")
    return _OPPONENT_CHOOSERS[me.role](player_name, league, rules, mix, rng)


# ---- Snapshots and resets ----

_SNAPSHOT_OPPONENTS: dict[Role, Callable[[_League], list[str]]] = {
    Role.MAIN_AGENT: _League.historical,
    Role.MAIN_EXPLOITER: _League.main_agents,
    Role.LEAGUE_EXPLOITER: _League.historical,
}
"""The set a learning player must beat for a snapshot (the pseudocode's `ready_to_checkpoint`)."""


def snapshot_due(player_name: str, players: PlayersLike, payoff: Payoff, rules: LeagueRules) -> bool:
    """Whether a player should be frozen into the pool now (the pseudocode's `ready_to_checkpoint`).

    False until `snapshot_min_steps` steps since the last snapshot; then True if the player beats every player of
    its relevant set (main agents and league exploiters: all historical players; main exploiters: the current main
    agents) more often than `snapshot_win_rate`, or after more than `snapshot_timeout_steps`. An empty relevant set
    is never "beaten": only the timeout applies. Historical players: never.

    Raises:
        ValueError: If the player is unknown.
    """
    league = _League(_as_mapping(players), payoff)
    if player_name not in league.players:
        raise ValueError(f"no player named {player_name!r} in the league")
    me = league.players[player_name]
    if not me.learning or me.steps_since_snapshot < rules.snapshot_min_steps:
        return False
    if me.steps_since_snapshot > rules.snapshot_timeout_steps:
        return True
    win_rates = payoff.win_rates(player_name, _SNAPSHOT_OPPONENTS[me.role](league))
    return bool(win_rates) and min(win_rates) > rules.snapshot_win_rate


_RESET_RULES: dict[Role, Callable[[LeagueRules, random.Random], bool]] = {
    Role.MAIN_AGENT: lambda rules, rng: False,
    Role.MAIN_EXPLOITER: lambda rules, rng: True,
    Role.LEAGUE_EXPLOITER: lambda rules, rng: rng.random() < rules.league_exploiter_reset_probability,
}
"""The pseudocode's `checkpoint` methods: whether the player goes back to the initial parameters."""


def reset_after_snapshot(player: Player, rules: LeagueRules, rng: random.Random) -> bool:
    """Whether a player is reset to the initial parameters after its snapshot.

    Main agents never, main exploiters always (neither draws from `rng`), league exploiters with probability
    `league_exploiter_reset_probability` (one `rng.random()`).

    Raises:
        ValueError: If the player is historical.
    """
    if not player.learning:
        raise ValueError(f"{player.name} is a historical player: it is never snapshot or reset")
    return _RESET_RULES[player.role](rules, rng)


# ---- State transitions ----

def initial_players(kind: LeagueKind, size: LeagueSize | None = None, *,
                    matchmaking: Matchmaking | None = None) -> dict[str, Player]:
    """A new league's players: the learning players, then one snapshot `<main>@0` of each main agent.

    As in the pseudocode, each main agent is frozen once at the start (its `snapshots` is 1), so there is always a
    historical player to play. `size` defaults to `LeagueSize.for_kind(kind)`, `matchmaking` (what `size` is
    checked against) to the kind's.

    Raises:
        ValueError: If `size` has exploiters while the main agents only play self-play.
    """
    kind = LeagueKind(kind)
    size = LeagueSize.for_kind(kind) if size is None else size
    size.check(kind if matchmaking is None else matchmaking)
    players = {}
    for role in LEARNING_ROLES:
        for index in range(size.count(role)):
            name = learning_player_name(role, index)
            players[name] = Player(name=name, role=role)
    for name in [name for name, player in players.items() if player.role is Role.MAIN_AGENT]:
        players, _ = snapshot(players, name)
    return players


def snapshot(players: PlayersLike, name: str) -> tuple[dict[str, Player], Player]:
    """Freeze a learning player: a new historical `<name>@<n>` with the parent's steps, appended to the players.

    The parent's `snapshots` goes up by one and its `steps_at_snapshot` becomes its `steps`. The new player's
    `checkpoint` is None: the caller saves the frozen weights and records where.

    Returns:
        The new players (a new dict; the input is unchanged) and the new historical player.

    Raises:
        ValueError: If `name` is unknown or historical, or its next snapshot name is taken.
    """
    league = _League(_as_mapping(players), Payoff())
    parent = league.learning_player(name)
    frozen = Player(name=parent.snapshot_name(), role=Role.HISTORICAL, parent=name, parent_role=parent.role,
                    steps=parent.steps)
    if frozen.name in league.players:
        raise ValueError(f"a player named {frozen.name} exists already")
    updated = dataclasses.replace(parent, snapshots=parent.snapshots + 1, steps_at_snapshot=parent.steps)
    return _with(league.players, updated, frozen), frozen


def reset(players: PlayersLike, name: str) -> dict[str, Player]:
    """Record a reset of a learning player: `resets` goes up by one; `steps` keep counting across resets.

    Only the record: the caller reloads the initial parameters into the player's weights. `steps_at_snapshot`
    becomes `steps`, so the snapshot rules count from the reset (a reset follows a snapshot, so this is usually
    no change).

    Raises:
        ValueError: If `name` is unknown or historical.
    """
    player = _League(_as_mapping(players), Payoff()).learning_player(name)
    return _with(players, dataclasses.replace(player, resets=player.resets + 1, steps_at_snapshot=player.steps))


def add_steps(players: PlayersLike, name: str, steps: int) -> dict[str, Player]:
    """Count `steps` more agent steps of training for a learning player.

    Raises:
        ValueError: If `name` is unknown or historical, or `steps` is negative.
    """
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    player = _League(_as_mapping(players), Payoff()).learning_player(name)
    return _with(players, dataclasses.replace(player, steps=player.steps + steps))
