"""What the league's page shows, read from a league's folder without writing to it.

`LeagueWatch(folder).document()` is the page's whole state as plain JSON-ready data: the players (role, steps,
snapshots, resets, Elo with a 95 % interval, TrueSkill, their latest evaluations against `random` and `scripted`), the
decayed payoff matrix with the games behind each cell, Elo and TrueSkill over time with snapshots and resets marked,
the lineage, each learning player's matchmaking distribution now, the matches in flight, the learning curves from the
players' TensorBoard scalars, the sampled replays (newest first) and the ladder report of the league's snapshots
when one has been run.

Reading never writes: the store is opened read-only (no lock taken, nothing written; SQLite's WAL lets a reader look
while the league commits), the other files are only read. What is costly (bootstrap intervals, TrueSkill over every
game, the matchmaking draws) is recomputed only when a match has been committed since the last look; the matches,
ratings and scalars are read incrementally. A damaged or missing store gives a document with an `error` and nothing
else, so the page shows an error panel and keeps asking.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from agents.learn.tensorboard import read_records
from league.config import ConfigError, LeagueConfig
from league.evaluation import FixedOpponent
from league.in_flight import read_in_flight
from league.ladder.ratings import bootstrap_elo, trueskill_environment, trueskill_rank_value
from league.matchmaking import choose_opponent
from league.payoff import Payoff
from league.players import Outcome, Player, Role
from league.store import (EvaluationRecord, EventKind, EventRecord, LeagueStore, MatchRecord, RatingRecord, StoreError,
                          initial_snapshot)

LADDER_FOLDER = "ladder"
"""Where in a league's folder the page looks for a ladder of its snapshots (`arena ladder run --players
league:DIR ... --out DIR/ladder`)."""
MATCHMAKING_DRAWS = 2000
"""Opponent choices drawn with the league's own rule to estimate each learning player's matchmaking distribution."""
BOOTSTRAP_SAMPLES = 100
"""Resamples behind each Elo interval."""
POINTS_PER_SERIES = 400
"""A curve sent to the page keeps at most this many points (evenly spaced, the last one always)."""
REPLAYS_SHOWN = 60
"""The newest replays listed."""
SCORE = {Outcome.WIN: 1.0, Outcome.DRAW: 0.5, Outcome.LOSS: 0.0}
ROLE_ORDER = {Role.MAIN_AGENT: 0, Role.MAIN_EXPLOITER: 1, Role.LEAGUE_EXPLOITER: 2, Role.HISTORICAL: 3}


def player_order(players: dict[str, Player]) -> list[str]:
    """Learning players first (main agents, main exploiters, league exploiters), then the snapshots grouped by parent
    in the order they were taken."""
    def key(name: str) -> tuple:
        player = players[name]
        if player.learning:
            return (ROLE_ORDER[player.role], name, 0)
        parent, _, number = name.rpartition("@")
        return (ROLE_ORDER[Role.HISTORICAL], parent, int(number) if number.isdigit() else 0)
    return sorted(players, key=key)


def thin(points: Sequence[Any], limit: int = POINTS_PER_SERIES) -> list[Any]:
    """At most `limit` of `points`, evenly spaced, keeping the first and the last."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def payoff_matrix(names: Sequence[str], payoff: Payoff) -> dict[str, Any]:
    """The decayed payoff of every ordered pair: win rates (None where they never played) and the games behind."""
    win_rate, games = [], []
    for home in names:
        pairs = [payoff.pair(home, away) for away in names]
        win_rate.append([None if home == away or pair.games == 0 else pair.win_rate
                         for away, pair in zip(names, pairs)])
        games.append([0.0 if home == away else pair.games for away, pair in zip(names, pairs)])
    return {"names": list(names), "win_rate": win_rate, "games": games}


def elo_intervals(names: Sequence[str], matches: Sequence[MatchRecord], anchor: str | None,
                  samples: int = BOOTSTRAP_SAMPLES) -> dict[str, tuple[float, float, float]]:
    """Each player's Elo over every game the league played (not decayed), with a 95 % bootstrap interval; players
    that never played are left out."""
    index = {name: i for i, name in enumerate(names)}
    games = [(index[m.home], index[m.away], SCORE[m.outcome]) for m in matches
             if m.home in index and m.away in index and m.home != m.away]
    played = {i for game in games for i in game[:2]}
    if not games:
        return {}
    fitted = bootstrap_elo(list(names), games, samples=samples, anchor=anchor if anchor in index else None)
    return {name: fitted[name] for name in names if index[name] in played}


class TrueSkillHistory:
    """TrueSkill over the league's games in the order they were played, each player's (mu, sigma) after every match
    it played; fed incrementally."""

    def __init__(self) -> None:
        self.environment = trueskill_environment()
        self.ratings: dict[str, Any] = {}
        self.history: dict[str, list[list[float]]] = collections.defaultdict(list)
        """player -> [[time, mu, sigma], ...]"""

    def add(self, matches: Iterable[MatchRecord]) -> None:
        import trueskill

        by_batch: dict[int, list[MatchRecord]] = collections.defaultdict(list)
        for match in matches:
            by_batch[match.batch].append(match)
        for batch in sorted(by_batch):
            games, rated = by_batch[batch], set()
            for game in games:
                if game.home == game.away:
                    continue  # plain self-play against its own current weights: no information on anyone
                home, away = (self.ratings.setdefault(n, self.environment.create_rating())
                              for n in (game.home, game.away))
                if game.outcome is Outcome.LOSS:
                    away, home = trueskill.rate_1vs1(away, home, env=self.environment)
                else:
                    home, away = trueskill.rate_1vs1(home, away, drawn=game.outcome is Outcome.DRAW,
                                                     env=self.environment)
                self.ratings[game.home], self.ratings[game.away] = home, away
                rated |= {game.home, game.away}
            for name in sorted(rated):
                rating = self.ratings[name]
                self.history[name].append([games[-1].time or 0.0, float(rating.mu), float(rating.sigma)])

    def current(self, name: str) -> dict[str, float] | None:
        rating = self.ratings.get(name)
        if rating is None:
            return None
        return {"mu": float(rating.mu), "sigma": float(rating.sigma),
                "rank_value": trueskill_rank_value(float(rating.mu), float(rating.sigma))}


def matchmaking_distribution(name: str, players: dict[str, Player], payoff: Payoff, config: LeagueConfig,
                             draws: int = MATCHMAKING_DRAWS, seed: int = 0) -> list[dict[str, Any]]:
    """How often the league's own rule would now choose each (opponent, branch) for learning player `name`:
    `draws` choices with a seeded generator, as fractions, most likely first."""
    rng = random.Random(seed)
    counts: collections.Counter = collections.Counter()
    for _ in range(draws):
        match = choose_opponent(name, players, payoff, config.league_rules, rng, config.league_matchmaking)
        counts[(match.away, match.branch.value)] += 1
    return [{"opponent": away, "branch": branch, "probability": count / draws}
            for (away, branch), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def evaluation_json(record: EvaluationRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"win_rate": record.win_rate, "games": record.games, "wins": record.wins, "draws": record.draws,
            "losses": record.losses, "match": record.batch, "steps": record.player_steps}


def lineage(events: Iterable[EventRecord]) -> list[dict[str, Any]]:
    """The league's history without checkpoint saves: players created, snapshots taken, resets."""
    return [{"time": e.time, "player": e.player, "kind": e.kind.value, "detail": e.detail, "steps": e.steps}
            for e in events if e.kind is not EventKind.CHECKPOINT]


class ScalarTail:
    """The scalars of every TensorBoard events file in a folder, read incrementally (a file being appended to is
    read up to its last whole record)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.offsets: dict[Path, int] = {}
        self.series: dict[str, list[tuple[int, float]]] = collections.defaultdict(list)
        """tag -> [(step, value)] in the order written"""

    def update(self) -> None:
        for path in sorted(self.folder.glob("events.out.tfevents.*")) if self.folder.is_dir() else []:
            start = self.offsets.get(path, 0)
            if path.stat().st_size <= start:
                continue
            with path.open("rb") as file:
                file.seek(start)
                data = file.read()
            records, end = read_records(data, name=str(path))
            self.offsets[path] = start + end
            for tag, value, step in records:
                self.series[tag].append((int(step), float(value)))

    def curves(self, players: Iterable[str]) -> dict[str, dict[str, list[tuple[int, float]]]]:
        """player -> statistic -> [(step, value)], thinned; only the named players' tags (`<player>/<statistic>`)."""
        out: dict[str, dict[str, list[tuple[int, float]]]] = {name: {} for name in players}
        for tag, points in self.series.items():
            player, _, statistic = tag.partition("/")
            if player in out and statistic:
                out[player][statistic] = thin(points)
        return {name: curves for name, curves in out.items() if curves}


def ladder_report(folder: Path) -> dict[str, Any] | None:
    """The ladder's report.json in `folder` (its players' rows and what they were ranked on), None without one."""
    path = folder / "report.json"
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())
        players = [{key: row.get(key) for key in ("name", "kind", "games", "elo", "elo_low", "elo_high",
                                                    "trueskill_mu", "trueskill_sigma", "nash_probability",
                                                    "league_steps")} for row in report["players"]]
        return {"title": report.get("title"), "scenario": report.get("scenario"), "games": report.get("games"),
                "created": report.get("created"), "anchor": report.get("anchor"), "players": players,
                "file": str(path)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return {"error": f"{path} cannot be read as a ladder report ({type(error).__name__}: {error})",
                "file": str(path)}


@dataclasses.dataclass
class _Derived:
    """What is recomputed only after a new match: keyed by the last match id and the players."""

    key: tuple
    intervals: dict[str, tuple[float, float, float]]
    matchmaking: dict[str, Any]


class LeagueWatch:
    """Looks at one league's folder for the page (module docstring)."""

    def __init__(self, folder: str | Path, ladder: str | Path | None = None):
        self.folder = Path(folder).resolve()
        self.ladder_folder = Path(ladder).resolve() if ladder is not None else self.folder / LADDER_FOLDER
        self.scalars = ScalarTail(self.folder / "tensorboard")
        self._matches: list[MatchRecord] = []
        self._trueskill = TrueSkillHistory()
        self._derived: _Derived | None = None

    def document(self) -> dict[str, Any]:
        """The page's state now; `{"error": ...}` (and the folder) when the league cannot be read."""
        try:
            return self._document()
        except (StoreError, ConfigError, sqlite3.Error, ValueError, OSError, KeyError) as error:
            return {"folder": str(self.folder), "time": time.time(),
                    "error": f"{type(error).__name__}: {error}" if not isinstance(error, (StoreError, ConfigError))
                    else str(error)}

    def _document(self) -> dict[str, Any]:
        with LeagueStore.open(self.folder, read_only=True) as store:
            config = LeagueConfig.from_dict(store.config(), source=str(store.path))
            players = store.players()
            stats = store.stats()
            new_matches = store.matches(after_id=self._matches[-1].id if self._matches else 0)
            ratings = store.ratings()
            events = store.events()
            evaluations = store.latest_evaluations()
            payoff = store.payoff(config.payoff_decay)
            league_elo = store.latest_ratings()
        if self._matches and new_matches and new_matches[0].id <= self._matches[-1].id:
            raise StoreError(f"{self.folder}: the matches table went back in time")
        self._matches.extend(new_matches)
        self._trueskill.add(new_matches)
        self.scalars.update()
        names = player_order(players)
        derived = self._derived_state(names, players, payoff, config)
        in_flight = read_in_flight(self.folder)
        return {
            "folder": str(self.folder), "time": time.time(),
            "league": {"scenario": config.scenario, "kind": config.kind.value, "policy": config.policy,
                       "games_per_match": config.games_per_match, "payoff_decay": config.payoff_decay},
            "stats": stats,
            "running": in_flight.alive,
            "players": [self._player_row(players[n], league_elo, derived, evaluations) for n in names],
            "payoff": payoff_matrix(names, payoff),
            "ratings": {"elo": _elo_history(ratings), "trueskill": {n: thin(h) for n, h in
                                                                     self._trueskill.history.items()}},
            "lineage": lineage(events),
            "matchmaking": derived.matchmaking,
            "in_flight": {"running": in_flight.alive, "pid": in_flight.pid, "updated": in_flight.updated,
                          "matches": [dataclasses.asdict(m) for m in in_flight.matches] if in_flight.alive else []},
            "curves": self.scalars.curves(n for n in names if players[n].learning),
            "replays": _replays(self._matches),
            "ladder": ladder_report(self.ladder_folder),
        }

    def _derived_state(self, names: list[str], players: dict[str, Player], payoff: Payoff,
                       config: LeagueConfig) -> _Derived:
        key = (self._matches[-1].id if self._matches else 0, tuple(sorted((n, p.steps, p.resets)
                                                                           for n, p in players.items())))
        if self._derived is not None and self._derived.key == key:
            return self._derived
        anchor = initial_snapshot(players)
        matchmaking = {}
        for name in names:
            if players[name].learning:
                try:
                    matchmaking[name] = {"choices": matchmaking_distribution(name, players, payoff, config),
                                         "draws": MATCHMAKING_DRAWS}
                except ValueError as error:
                    matchmaking[name] = {"error": str(error)}
        self._derived = _Derived(key=key, intervals=elo_intervals(names, self._matches, anchor),
                                 matchmaking=matchmaking)
        return self._derived

    def _player_row(self, player: Player, league_elo: dict[str, float], derived: _Derived,
                    evaluations: dict[str, dict[str, EvaluationRecord]]) -> dict[str, Any]:
        interval = derived.intervals.get(player.name)
        return {"name": player.name, "role": player.role.value, "learning": player.learning, "parent": player.parent,
                "steps": player.steps, "snapshots": player.snapshots, "resets": player.resets,
                "elo": league_elo.get(player.name) if interval is not None else None,
                "elo_all_games": None if interval is None else {"elo": interval[0], "low": interval[1],
                                                                "high": interval[2]},
                "trueskill": self._trueskill.current(player.name),
                **{f"vs_{o.value}": evaluation_json(evaluations.get(player.name, {}).get(o.value))
                   for o in FixedOpponent}}


def _elo_history(ratings: Sequence[RatingRecord]) -> dict[str, list[list[float]]]:
    """player -> [[time, Elo], ...] from the store's rating history (the league's Elo after every match)."""
    history: dict[str, list[list[float]]] = collections.defaultdict(list)
    for record in ratings:
        history[record.player].append([record.time, record.rating])
    return {name: thin(points) for name, points in history.items()}


def _replays(matches: Sequence[MatchRecord]) -> list[dict[str, Any]]:
    """The newest kept replays: their names under the league's replays/ folder and the games they hold."""
    shown = []
    for match in reversed(matches):
        if match.replay is None:
            continue
        name = match.replay[len("replays/"):] if match.replay.startswith("replays/") else match.replay
        shown.append({"name": name, "home": match.home, "away": match.away, "outcome": match.outcome.value,
                      "match": match.batch, "branch": match.branch, "time": match.time})
        if len(shown) == REPLAYS_SHOWN:
            break
    return shown


__all__ = ["LADDER_FOLDER", "LeagueWatch", "ScalarTail", "TrueSkillHistory", "elo_intervals", "ladder_report",
           "lineage", "matchmaking_distribution", "payoff_matrix", "player_order", "thin"]
