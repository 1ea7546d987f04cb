"""The ladder: round-robin games between any agents (saved policies, built-in bots, scripted and random agents,
PySC2 agents, every snapshot of a league), kept in a ladder store so a ladder grows with new players without
replaying old pairs, and ratings from all the results (Elo with bootstrap intervals, TrueSkill, the Nash mixture).

Player specs (`arena ladder run --players ...`): `policy:PATH` or a path to a saved policy (.json / .safetensors /
its folder), `bot:<level|strategy>`, `scripted`, `random`, `noop`, a PySC2 agent class by import path, and
`league:DIR` (every frozen snapshot of the league in DIR).

Files of a ladder folder: ladder.sqlite: meta (format "sc2arena-ladder", version, scenario, created_at), players
(name, spec, kind, league_steps, parent, league, added_at), games (id, player_1, player_2, score_1: 1 / 0.5 / 0 for
player 1, seed, time).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

from league.database import (LockedDatabase, StoreError, StoreKind, connect_read_write, open_checked, release_lock,
                             take_lock)

LADDER_FORMAT = "sc2arena-ladder"
LADDER_VERSION = 1
LADDER_DATABASE = "ladder.sqlite"
LADDER_STORE = StoreKind(noun="ladder", format=LADDER_FORMAT, version=LADDER_VERSION,
                         tables=frozenset({"meta", "players", "games"}), lock_name="ladder.lock")
LEAGUE_PREFIX = "league:"
POLICY_SUFFIXES = (".json", ".safetensors")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE players (name TEXT PRIMARY KEY, spec TEXT NOT NULL, kind TEXT NOT NULL, league_steps INTEGER,
                      parent TEXT, league TEXT, added_at REAL NOT NULL);
CREATE TABLE games (id INTEGER PRIMARY KEY AUTOINCREMENT, player_1 TEXT NOT NULL REFERENCES players(name),
                    player_2 TEXT NOT NULL REFERENCES players(name), score_1 REAL NOT NULL, seed INTEGER NOT NULL,
                    time REAL NOT NULL);
CREATE INDEX games_pair ON games (player_1, player_2)
"""


@dataclasses.dataclass(frozen=True)
class LadderPlayer:
    """One player of a ladder."""

    name: str
    """Unique in the ladder: the spec itself, or `<league folder>/<snapshot>` for a league's snapshots."""
    spec: str
    """What `agents.registry.make_agent` (or the PySC2 adapter) builds the agent from."""
    kind: str
    """policy, bot, scripted, random, noop, pysc2 or league snapshot."""
    league_steps: int | None = None
    """League snapshots: their parent's training steps when they were frozen."""
    parent: str | None = None
    """League snapshots: the learning player they were frozen from."""
    league: str | None = None
    """League snapshots: the league's folder."""


@dataclasses.dataclass(frozen=True)
class GameRecord:
    player_1: str
    player_2: str
    score_1: float
    """Player 1's result: 1 win, 0.5 draw, 0 loss."""
    seed: int


def _policy_spec(spec: str) -> str | None:
    """`policy:PATH` for a saved policy given by path (with or without the prefix); None if `spec` is not one."""
    path = spec[len("policy:"):] if spec.startswith("policy:") else spec
    candidate = Path(path)
    if spec.startswith("policy:") or candidate.suffix in POLICY_SUFFIXES or (candidate / "policy.json").is_file():
        if candidate.is_dir():
            candidate = candidate / "policy.json"
        if not candidate.exists() and not candidate.with_suffix(".json").exists():
            raise ValueError(f"no saved policy at {path}")
        return f"policy:{candidate}"
    return None


def league_snapshots(folder: str | Path) -> list[LadderPlayer]:
    """Every frozen snapshot of the league in `folder` (read-only: a running league is not disturbed)."""
    from league.store import LeagueStore

    folder = Path(folder)
    with LeagueStore.open(folder, read_only=True) as store:
        players = store.players()
    label = folder.name or str(folder)
    found = []
    for player in sorted((p for p in players.values() if not p.learning), key=lambda p: (p.parent, p.steps, p.name)):
        if player.checkpoint is None:
            continue
        found.append(LadderPlayer(name=f"{label}/{player.name}", kind="league snapshot",
                                  spec=f"policy:{folder / player.checkpoint / 'policy.json'}",
                                  league_steps=player.steps, parent=player.parent, league=str(folder)))
    if not found:
        raise ValueError(f"the league in {folder} has no snapshots yet")
    return found


def parse_player(spec: str) -> list[LadderPlayer]:
    """The ladder players a command-line spec stands for (one, or a league's snapshots)."""
    from agents.pysc2_agents import is_import_path
    from agents.registry import BOT_PREFIX, agent_names

    if spec.startswith(LEAGUE_PREFIX):
        return league_snapshots(spec[len(LEAGUE_PREFIX):])
    policy = _policy_spec(spec)
    if policy is not None:
        return [LadderPlayer(name=spec, spec=policy, kind="policy")]
    if spec.startswith(BOT_PREFIX):
        return [LadderPlayer(name=spec, spec=spec, kind="bot")]
    if spec in agent_names():
        return [LadderPlayer(name=spec, spec=spec, kind=spec)]
    if is_import_path(spec):
        return [LadderPlayer(name=spec, spec=spec, kind="pysc2")]
    raise ValueError(f"unknown player {spec!r}: give policy:PATH (or a saved policy's path), bot:<level|strategy>, "
                     f"{', '.join(agent_names())}, a PySC2 agent class by import path, or league:DIR")


def parse_players(specs: Sequence[str]) -> list[LadderPlayer]:
    players: list[LadderPlayer] = []
    for spec in specs:
        players.extend(parse_player(spec))
    names = [p.name for p in players]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"players named more than once: {', '.join(repeated)}")
    return players


class LadderStore(LockedDatabase):
    """A ladder's SQLite store (module docstring). `create` refuses a folder that holds one; `open` checks the file
    and never writes to one it rejects; one process writes at a time (a lock file)."""

    database_name = LADDER_DATABASE

    @staticmethod
    def create(folder: str | Path, *, scenario: str) -> "LadderStore":
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LADDER_DATABASE
        lock = take_lock(folder, LADDER_STORE)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            release_lock(lock)
            raise StoreError(f"{path} exists already: {folder} holds a ladder") from None
        connection = connect_read_write(path)
        with _transaction(connection):
            for statement in _SCHEMA.split(";"):
                connection.execute(statement)
            connection.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                ("format", LADDER_FORMAT), ("version", str(LADDER_VERSION)), ("scenario", scenario),
                ("created_at", repr(time.time()))])
        return LadderStore(folder, connection, lock)

    @staticmethod
    def open(folder: str | Path, *, read_only: bool = False) -> "LadderStore":
        folder = Path(folder)
        path = folder / LADDER_DATABASE
        if not path.is_file():
            raise StoreError(f"no ladder in {folder}: make one with `arena ladder run --out {folder} --players ...`")
        checked = open_checked(path, LADDER_STORE)
        if read_only:
            return LadderStore(folder, checked, None)
        checked.close()
        lock = take_lock(folder, LADDER_STORE)
        return LadderStore(folder, connect_read_write(path), lock)

    @property
    def scenario(self) -> str:
        return self._query("SELECT value FROM meta WHERE key = 'scenario'")[0][0]

    @property
    def created_at(self) -> float:
        return float(self._query("SELECT value FROM meta WHERE key = 'created_at'")[0][0])

    def players(self) -> list[LadderPlayer]:
        rows = self._query(
            "SELECT name, spec, kind, league_steps, parent, league FROM players ORDER BY added_at, rowid")
        return [LadderPlayer(*row) for row in rows]

    def add_players(self, players: Sequence[LadderPlayer]) -> list[LadderPlayer]:
        """Add the players not in the ladder yet (a name already there must have the same spec); returns the new."""
        known = {p.name: p for p in self.players()}
        new = []
        for player in players:
            if player.name in known:
                if known[player.name].spec != player.spec:
                    raise ValueError(f"the ladder has a player {player.name!r} already, made from "
                                     f"{known[player.name].spec}, not {player.spec}")
                continue
            new.append(player)
        connection = self._live_connection()
        with _transaction(connection):
            for player in new:
                connection.execute(
                    "INSERT INTO players (name, spec, kind, league_steps, parent, league, added_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?)", (*dataclasses.astuple(player), time.time()))
        return new

    def add_games(self, games: Sequence[GameRecord]) -> None:
        """Record games, all or none."""
        connection = self._live_connection()
        with _transaction(connection):
            now = time.time()
            connection.executemany(
                "INSERT INTO games (player_1, player_2, score_1, seed, time) VALUES (?, ?, ?, ?, ?)",
                [(g.player_1, g.player_2, g.score_1, g.seed, now) for g in games])

    def games(self) -> list[GameRecord]:
        rows = self._query("SELECT player_1, player_2, score_1, seed FROM games ORDER BY id")
        return [GameRecord(*row) for row in rows]

    def next_seed(self) -> int:
        (last,), = self._query("SELECT MAX(seed) FROM games")
        return 0 if last is None else int(last) + 1


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


# -- playing ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, kw_only=True)
class LadderSettings:
    """How a ladder plays its pairs."""

    games: int = 40
    """Games per pair at most (seats swapped: half with each player as player 1)."""
    min_games: int = 10
    """Early stopping: a pair stops once it has this many games and its result is clear (95 % interval of the
    score off 0.5); 0 disables early stopping (every pair plays `games`)."""
    batch: int = 10
    """Games of a pair played side by side (even: half each seat)."""
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.games < 2 or self.batch < 2 or self.batch % 2:
            raise ValueError(f"games ({self.games}) must be at least 2 and batch ({self.batch}) an even number >= 2")
        if self.min_games < 0:
            raise ValueError(f"min_games must be 0 or more, got {self.min_games}")


def pair_scores(games: Sequence[GameRecord], a: str, b: str) -> list[float]:
    """a's results (1 / 0.5 / 0) in every game between a and b, whichever seat it had."""
    return [g.score_1 if g.player_1 == a else 1.0 - g.score_1 for g in games
            if {g.player_1, g.player_2} == {a, b} and a != b]


def result_is_clear(scores: Sequence[float], min_games: int) -> bool:
    """Enough games (min_games > 0) and the 95 % normal interval of the mean score excludes 0.5."""
    n = len(scores)
    if min_games <= 0 or n < min_games:
        return False
    mean = sum(scores) / n
    spread = math.sqrt(sum((s - mean) ** 2 for s in scores) / max(n - 1, 1))
    return abs(mean - 0.5) > 1.96 * max(spread, 1e-9) / math.sqrt(n)


def games_to_play(games: Sequence[GameRecord], a: str, b: str, settings: LadderSettings) -> int:
    """How many more games the pair (a, b) needs: none once it has `games` or its result is clear."""
    scores = pair_scores(games, a, b)
    if len(scores) >= settings.games or result_is_clear(scores, settings.min_games):
        return 0
    remaining = settings.games - len(scores)
    return min(settings.batch, remaining + remaining % 2)


def play_pair(scenario: str, first: LadderPlayer, second: LadderPlayer, count: int, seed: int,
              make: Callable[[LadderPlayer, int], object], interface, device: str) -> list[GameRecord]:
    """`count` games (even), half with each player as player 1, under the scenario's fairness limits."""
    import arena
    from agents.rollout import play_matches

    records = []
    half = max(1, count // 2)
    for seat, (p1, p2) in enumerate([(first, second), (second, first)]):
        env = arena.make(scenario, num_envs=half, device=device, interface=interface)
        start = seed + seat * half
        outcomes = play_matches(env, [make(p1, start), make(p2, start + 1)], seed=start).outcomes
        records += [GameRecord(player_1=p1.name, player_2=p2.name, score_1=(o + 1) / 2, seed=start + i)
                    for i, o in enumerate(outcomes)]
        env.close()
    return records


def make_ladder_agent(player: LadderPlayer, scenario: str, seed: int, interface):
    """The batched agent of a ladder player."""
    from agents.registry import make_agent

    if player.kind == "pysc2":
        from agents.pysc2_agents import Pysc2BatchedAgent, load_agent_class

        return Pysc2BatchedAgent(load_agent_class(player.spec), interface, scenario)
    return make_agent(player.spec, scenario, seed=seed)


class LocalPairs:
    """Plays a ladder's batches in this process, one at a time (`run_ladder`'s default; league.ray_executor's
    `RayPairs` plays them on Ray workers, several at once)."""

    capacity = 1

    def __init__(self, scenario: str, interface, device: str):
        self.scenario, self.interface, self.device = scenario, interface, device
        self._queue: list[tuple[LadderPlayer, LadderPlayer, int, int]] = []

    def submit(self, first: LadderPlayer, second: LadderPlayer, count: int, seed: int) -> None:
        self._queue.append((first, second, count, seed))

    def next_games(self) -> list[GameRecord]:
        first, second, count, seed = self._queue.pop(0)
        return play_pair(self.scenario, first, second, count, seed,
                         lambda p, s: make_ladder_agent(p, self.scenario, s, self.interface), self.interface,
                         self.device)

    def close(self) -> None:
        self._queue.clear()


def ladder_interface(players: Sequence[LadderPlayer]):
    """The interface every player of the ladder can play with (its policies' screen size), else the default."""
    from agents.registry import agent_interface
    from arena.interface.view import InterfaceFormat

    return agent_interface([p.spec for p in players]) or InterfaceFormat()


def run_ladder(store: LadderStore, settings: LadderSettings, *,
               on_pair: Callable[[LadderPlayer, LadderPlayer, int, int], None] | None = None,
               pairs_player=None) -> int:
    """Play every pair of the ladder's players until each has its games (or a clear result); games are committed
    batch by batch, so an interrupted ladder loses at most the batches in progress. `pairs_player` plays the
    batches (default `LocalPairs`; up to its `capacity` pairs at once). `on_pair(a, b, pairs done, pairs)` follows
    every batch. Returns the games played."""
    players = store.players()
    scenario = store.scenario
    pool = pairs_player or LocalPairs(scenario, ladder_interface(players), settings.device)
    pairs = [(a, b) for i, a in enumerate(players) for b in players[i + 1:]]
    games, played, seed = store.games(), 0, store.next_seed() + settings.seed * 1_000_000
    in_flight: list[tuple[LadderPlayer, LadderPlayer]] = []

    def finished() -> int:
        return sum(games_to_play(games, a.name, b.name, settings) == 0 for a, b in pairs)

    while True:
        for a, b in pairs:
            if len(in_flight) >= pool.capacity:
                break
            count = 0 if (a, b) in in_flight else games_to_play(games, a.name, b.name, settings)
            if count > 0:
                pool.submit(a, b, count, seed)
                in_flight.append((a, b))
                seed += count
        if not in_flight:
            return played
        records = pool.next_games()
        pair = next(p for p in in_flight if {p[0].name, p[1].name} == {records[0].player_1, records[0].player_2})
        in_flight.remove(pair)
        store.add_games(records)
        games += records
        played += len(records)
        if on_pair is not None:
            on_pair(pair[0], pair[1], finished(), len(pairs))


# -- the report ------------------------------------------------------------------------------------------------
def build_report(store: LadderStore, *, anchor: str | None = None, samples: int = 200,
                 title: str | None = None) -> dict:
    """The ladder's report as plain data (league.ladder.report documents the schema)."""
    from league.ladder.nash import max_entropy_nash, nash_averaged_ratings
    from league.ladder.ratings import bootstrap_elo, trueskill_rank_value, trueskill_ratings

    players, games = store.players(), store.games()
    names = [p.name for p in players]
    index = {n: i for i, n in enumerate(names)}
    outcomes = [(index[g.player_1], index[g.player_2], g.score_1) for g in games]
    anchor = anchor or _default_anchor(players)
    if anchor is not None and anchor not in index:
        raise ValueError(f"the anchor {anchor!r} is not a player of this ladder ({', '.join(names)})")
    elo = bootstrap_elo(names, outcomes, samples=samples, anchor=anchor) if names else {}
    trueskill = trueskill_ratings(names, outcomes) if names else {}
    score, count = _payoff(len(names), outcomes)
    antisymmetric = [[0.0 if count[i][j] == 0 else score[i][j] / count[i][j] - 0.5 for j in range(len(names))]
                     for i in range(len(names))]
    nash = max_entropy_nash(antisymmetric) if names else []
    nash_rating = nash_averaged_ratings(antisymmetric, nash) if names else []
    rows = []
    for i, player in enumerate(players):
        mu, sigma = trueskill[player.name]
        rows.append({"name": player.name, "kind": player.kind, "games": int(sum(count[i])),
                     "elo": elo[player.name][0], "elo_low": elo[player.name][1], "elo_high": elo[player.name][2],
                     "trueskill_mu": mu, "trueskill_sigma": sigma, "trueskill_rank_value": trueskill_rank_value(mu, sigma),
                     "nash_probability": nash[i], "nash_rating": nash_rating[i], "league_steps": player.league_steps})
    order = sorted(range(len(rows)), key=lambda i: -rows[i]["elo"])
    return {"format": "sc2arena-ladder-report", "version": 1, "title": title or f"Ladder {store.folder}",
            "scenario": store.scenario, "games": len(games), "anchor": anchor,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "players": [rows[i] for i in order],
            "payoff": [[None if count[i][j] == 0 else score[i][j] / count[i][j] for j in order] for i in order],
            "pair_games": [[int(count[i][j]) for j in order] for i in order],
            "league": _league_section(players, [rows[i] for i in range(len(rows))], score, count)}


def _default_anchor(players: Sequence[LadderPlayer]) -> str | None:
    """The weakest built-in bot level if there is one, else a random or no-op agent, else None (mean 0)."""
    bots = sorted((p.name for p in players if p.kind == "bot" and p.name[len("bot:"):].isdigit()),
                  key=lambda n: int(n[len("bot:"):]))
    if bots:
        return bots[0]
    return next((p.name for p in players if p.kind in ("noop", "random")), None)


def _payoff(n: int, outcomes: Sequence[tuple[int, int, float]]) -> tuple[list[list[float]], list[list[int]]]:
    score = [[0.0] * n for _ in range(n)]
    count = [[0] * n for _ in range(n)]
    for i, j, s in outcomes:
        score[i][j] += s
        score[j][i] += 1.0 - s
        count[i][j] += 1
        count[j][i] += 1
    return score, count


def _league_section(players: Sequence[LadderPlayer], rows: list[dict], score, count) -> dict | None:
    """Ratings of each lineage's snapshots over training steps, and forgetting: each main agent snapshot's minimum
    win rate against its own earlier snapshots."""
    snapshots = [(i, p) for i, p in enumerate(players) if p.kind == "league snapshot"]
    if not snapshots:
        return None
    lineages: dict[str, list[dict]] = {}
    for i, player in snapshots:
        lineages.setdefault(player.parent, []).append({"name": player.name, "steps": player.league_steps,
                                                        "elo": rows[i]["elo"], "elo_low": rows[i]["elo_low"],
                                                        "elo_high": rows[i]["elo_high"]})
    forgetting = []
    for parent in sorted(p for p in lineages if p.startswith("main_agent")):
        lineage = [(i, p) for i, p in snapshots if p.parent == parent]
        for k, (i, player) in enumerate(lineage):
            earlier = [(score[i][j] / count[i][j], q.name) for j, q in lineage[:k] if count[i][j]]
            worst = min(earlier) if earlier else (None, None)
            forgetting.append({"snapshot": player.name, "steps": player.league_steps, "min_win_rate": worst[0],
                               "against": worst[1]})
    return {"folder": snapshots[0][1].league, "lineages": lineages, "forgetting": forgetting}


def report_json(report: dict) -> str:
    return json.dumps(report, indent=1)
