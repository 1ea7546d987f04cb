"""A league's configuration: one frozen dataclass, its defaults (a small league that shows progress in a minute on a
laptop), and the TOML file `arena league start --config league.toml` reads.

```toml
scenario = "MarineMirror"     # any two-player scenario
kind = "alphastar"            # a preset of [matchmaking] and [size]: league.matchmaking.LeagueKind
games_per_match = 16
eval_every = 4                # evaluate each learning player against random and scripted every 4 of its matches

[size]                        # given keys override the kind's
main_agents = 1
main_exploiters = 1
league_exploiters = 1

[matchmaking]                 # the main agents' opponent mix (league.matchmaking.Matchmaking); overrides the kind's
self_play = 0.35
pfsp = 0.5
fsp = 0.0
verification = 0.15
pfsp_weighting = "squared"
self_play_rule = "curriculum"

[rules]                       # league.matchmaking.LeagueRules; snapshot steps default to the scenario's scale
snapshot_win_rate = 0.7

[learner]                     # the PPO / V-trace settings of every learning player
algo = "ppo"
learning_rate = 3e-4
```
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from agents.learn.presets import preset_for
from agents.learn.config import TRAIN_DEFAULTS, LearningSettings, TrainConfig
from agents.policies.action_space import action_space
from agents.policies import POLICY_KINDS
from arena.scenarios.registry import make_scenario, resolve_id
from league.matchmaking import LeagueKind, LeagueRules, LeagueSize, Matchmaking, MixBranch

SNAPSHOT_EPISODES = 40
"""The default snapshot_min_steps is this many of the scenario's longest episodes (AlphaStar's 2e9 steps are for
full StarCraft; the timeout keeps its 1 : 2 ratio)."""


class ConfigError(ValueError):
    """A league configuration that cannot be used; the message names the key (and the file) at fault."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LearnerSettings(LearningSettings):
    """How every learning player learns (`[learner]` in league.toml): `arena train`'s LearningSettings
    (agents.learn.config), defined there once; a league changes two defaults on purpose, below. kl_coef weighs a
    KL penalty towards the league's initial policy (`init`, e.g. a behaviour-cloned one)."""

    unroll: int = 16
    """The league's own since its first version (arena train: 32): a match's games_per_match (16) games give an
    update of 16 x 16 = 256 steps (arena train: 32 games x 32 = 1,024), so a match holds more updates."""
    minibatches: int = 2
    """The league's own since its first version (arena train: 4): 2 minibatches of 128 steps (arena train: 4 of
    256)."""

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except ValueError as error:
            raise ConfigError(f"learner.{error}") from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeagueConfig:
    """Everything a league is. Every field has a default: `arena league start` with no options is a small league."""

    scenario: str = "MarineMirror"
    """A two-player scenario id or name (`arena scenarios` lists them)."""
    kind: LeagueKind = LeagueKind.ALPHASTAR
    """A preset of `matchmaking` and of the exploiters in `size` (league.matchmaking.LeagueKind)."""
    size: LeagueSize | None = None
    """Learning players per role; None: the kind's (AlphaStar: one of each role; self-play: one main agent)."""
    matchmaking: Matchmaking | None = None
    """The main agents' opponent mix; None: the kind's. `from_dict` completes a partial table from the kind's."""
    rules: LeagueRules | None = None
    """Snapshot, reset and matchmaking thresholds; None: AlphaStar's, with snapshot steps scaled to the scenario."""
    learner: LearnerSettings = LearnerSettings()
    policy: str = "entity"
    """The learning players' network (agents.policies: entity, fullyconv)."""
    action_space: str | None = None
    """What the learning players may do (agents.policies.action_space: full, no_camera, screen, move); None: the
    scenario's training preset's (agents.learn.presets; MarineMirror: move), else full."""
    screen_size: int = 16
    """Screen and minimap feature layers' size (16 keeps a laptop league quick; MarineMirror's area is 32 x 32)."""
    games_per_match: int = 16
    """Games of one matched pair played side by side in one batch."""
    payoff_decay: float = 0.99
    replay_every: int = 5
    """Record one match in this many (0: none); a recorded match keeps every fourth game as a replay."""
    eval_every: int = 4
    """A learning player is evaluated against the fixed agents `random` and `scripted` after its first match and
    then after every `eval_every`-th of its matches (league.evaluation; the live table's 'vs random', 'vs scripted'
    columns); 0: never. Nothing is learned from these games and they never enter the payoff."""
    eval_games: int = 16
    """Games against each fixed agent per evaluation, played side by side in one batch, half with the player in
    each seat."""
    init: str | None = None
    """A saved policy (e.g. from `arena train bc`) every learning player starts from and resets to; None: fresh
    random parameters."""
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        try:
            scenario_id = resolve_id(self.scenario)
        except (KeyError, ValueError) as error:
            raise ConfigError(f"scenario: {error.args[0]}") from None
        if make_scenario(scenario_id).spec.num_agents != 2:
            raise ConfigError(f"scenario: {scenario_id} is a one-player scenario; a league needs a two-player one "
                              "(e.g. MarineMirror, BeaconRace, TerranVsZerg, FullGame)")
        object.__setattr__(self, "scenario", scenario_id)
        object.__setattr__(self, "kind", LeagueKind(self.kind))
        if self.action_space is None:
            preset = preset_for(scenario_id)
            object.__setattr__(self, "action_space", (preset.settings if preset else {}).get(
                "action_space", TRAIN_DEFAULTS["action_space"]))
        try:
            action_space(self.action_space)
        except ValueError as error:
            raise ConfigError(f"action_space: {error}") from None
        if self.policy not in POLICY_KINDS:
            raise ConfigError(f"policy must be one of {sorted(POLICY_KINDS)}, got {self.policy!r}")
        for name in ("screen_size", "games_per_match"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.eval_every < 0:
            raise ConfigError(f"eval_every must be 0 (no evaluation) or more, got {self.eval_every}")
        if self.eval_games < 1:
            raise ConfigError(f"eval_games must be at least 1, got {self.eval_games}")
        if self.replay_every < 0:
            raise ConfigError(f"replay_every must be 0 (no replays) or more, got {self.replay_every}")
        if not 0.0 < self.payoff_decay <= 1.0:
            raise ConfigError(f"payoff_decay must lie in (0, 1], got {self.payoff_decay}")
        try:
            self.league_size.check(self.league_matchmaking)
        except ValueError as error:
            raise ConfigError(f"size: {error}") from None
        if self.learner.kl_coef and not self.init:
            raise ConfigError("learner.kl_coef needs init, the policy to stay near")

    @property
    def league_size(self) -> LeagueSize:
        return self.size or LeagueSize.for_kind(self.kind)

    @property
    def league_matchmaking(self) -> Matchmaking:
        return self.matchmaking or Matchmaking.for_kind(self.kind)

    @property
    def episode_steps(self) -> int:
        """Agent steps of the scenario's longest episode."""
        spec = make_scenario(self.scenario).spec
        return max(1, round(spec.time_limit_s * 16 / spec.step_mul))

    @property
    def league_rules(self) -> LeagueRules:
        if self.rules is not None:
            return self.rules
        steps = SNAPSHOT_EPISODES * self.episode_steps
        return LeagueRules(snapshot_min_steps=steps, snapshot_timeout_steps=2 * steps)

    def train_config(self, seed: int) -> TrainConfig:
        """The TrainConfig a learning player's Learner and the match seat are built from."""
        settings = {field.name: getattr(self.learner, field.name) for field in dataclasses.fields(LearningSettings)}
        return TrainConfig(scenario=self.scenario, policy=self.policy, num_envs=self.games_per_match,
                           screen_size=self.screen_size, minimap_size=self.screen_size, seed=seed,
                           device=self.device, kl_to=self.init if self.learner.kl_coef else None,
                           action_space=self.action_space, **settings)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what the store keeps and `from_dict` reads back)."""
        data = dataclasses.asdict(self)
        data["kind"] = self.kind.value
        data["size"] = dataclasses.asdict(self.league_size)
        data["rules"] = dataclasses.asdict(self.league_rules)
        data["matchmaking"] = self.league_matchmaking.to_dict()
        return data

    @staticmethod
    def from_dict(data: dict[str, Any], *, source: str = "the configuration") -> "LeagueConfig":
        """Read a configuration from plain data (a TOML file's tables); unknown keys are errors.

        `[size]` and `[matchmaking]` are completed from the kind's preset. A league saved before `[matchmaking]`
        existed kept the main agents' mix in `[rules]` (`pfsp_probability`, `verification_probability`): it is
        read as the same mix (`_old_mix`).
        """
        data = dict(data)
        kind = _kind(data.get("kind", LeagueKind.ALPHASTAR), source)
        if isinstance(data.get("rules"), dict):
            data["rules"], old_mix = _old_mix(data["rules"], kind, data.get("matchmaking"), source)
            mix_table = data.get("matchmaking")
            if old_mix and (mix_table is None or isinstance(mix_table, dict)):
                data["matchmaking"] = {**old_mix, **(mix_table or {})}
        presets = {"size": dataclasses.asdict(LeagueSize.for_kind(kind)),
                   "matchmaking": Matchmaking.for_kind(kind).to_dict()}
        nested = {"size": LeagueSize, "matchmaking": Matchmaking, "rules": LeagueRules, "learner": LearnerSettings}
        for key, settings in nested.items():
            table = data.get(key)
            if table is None:
                continue
            if key in presets and isinstance(table, dict):
                table = {**presets[key], **table}
            data[key] = _build(settings, table, f"{source} [{key}]")
        return _build(LeagueConfig, data, source)


def _kind(value: Any, source: str) -> LeagueKind:
    try:
        return LeagueKind(value)
    except ValueError:
        raise ConfigError(f"{source}: kind must be one of {', '.join(k.value for k in LeagueKind)}, "
                          f"got {value!r}") from None


OLD_MIX_KEYS = ("pfsp_probability", "verification_probability")
"""Where leagues saved before `[matchmaking]` kept the main agents' mix: `[rules]`, as probabilities (self-play the
rest); only the alphastar kind used them."""


def _old_mix(rules: dict[str, Any], kind: LeagueKind, matchmaking: Any,
             source: str) -> tuple[dict[str, Any], dict[str, float]]:
    """`[rules]` without `OLD_MIX_KEYS`, and the mix they set as `[matchmaking]` weights ({} if none).

    An alphastar league's become the same mix; the self-play and FSP kinds never used them (dropped, as they were
    ignored before); the kinds that came with `[matchmaking]` refuse them with the new names.
    """
    old = {key: rules[key] for key in OLD_MIX_KEYS if key in rules}
    rules = {key: value for key, value in rules.items() if key not in OLD_MIX_KEYS}
    if not old or kind in (LeagueKind.SELF_PLAY, LeagueKind.FICTITIOUS_SELF_PLAY):
        return rules, {}
    where = f"{source} [rules]"
    if kind is not LeagueKind.ALPHASTAR:
        raise ConfigError(f"{where}: {', '.join(old)} set an alphastar league's mix before [matchmaking]; give a "
                          f"{kind.value} league's as [matchmaking] pfsp, verification and self_play weights")
    if isinstance(matchmaking, dict) and set(matchmaking) & {branch.value for branch in MixBranch}:
        raise ConfigError(f"{where}: {', '.join(old)} and [matchmaking]'s weights both set the main agents' mix; "
                          "give it in [matchmaking] only")
    pfsp, verification = old.get("pfsp_probability", 0.5), old.get("verification_probability", 0.15)
    for name, value in (("pfsp_probability", pfsp), ("verification_probability", verification)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ConfigError(f"{where}: {name} must lie in [0, 1], got {value!r}")
    if pfsp + verification > 1.0:
        raise ConfigError(f"{where}: pfsp_probability + verification_probability must not exceed 1, got "
                          f"{pfsp} + {verification}")
    return rules, {"pfsp": pfsp, "verification": verification, "self_play": max(0.0, 1.0 - pfsp - verification)}


def _build(kind: type, data: Any, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table of settings, got {data!r}")
    known = {field.name for field in dataclasses.fields(kind)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    try:
        return kind(**data)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from None


def load_config(path: str | Path, **overrides: Any) -> LeagueConfig:
    """Read a league.toml; `overrides` (the command line's options that were given) replace its top-level keys."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    data.update({key: value for key, value in overrides.items() if value is not None})
    return LeagueConfig.from_dict(data, source=str(path))
