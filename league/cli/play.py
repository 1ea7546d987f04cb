"""`arena scenarios | play | bench`: the scenarios, games of agents on them, and the engine's speed."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable

import torch
from tqdm import tqdm

import arena
from agents.pysc2_agents import is_import_path, load_agent_class, play_pysc2_episodes
from agents.registry import agent_interface, agent_names, make_agent
from agents.rollout import EpisodeScores, MatchRecord, play_episodes, play_matches
from arena.backends import Sc2NotInstalledError
from arena.interface.limits import Limits
from arena.interface.view import InterfaceFormat
from arena.multi_env import ArenaMultiEnv
from arena.replay.recorder import ReplayRecorder, ReplaySampling
from arena.scenarios.registry import make_scenario, resolve_id
from arena.sim.step import Engine
from league.progress import progress_bar


def _device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"arena: device {name!r} asked for, but CUDA is not available on this machine")
    return torch.device(name)


def _at_least_one(command: str, options: dict[str, int | None]) -> bool:
    """Whether every given option (None: not given) is at least 1; otherwise says which is not, on stderr."""
    for name, value in options.items():
        if value is not None and value < 1:
            print(f"arena {command}: {name} must be at least 1, got {value}", file=sys.stderr)
            return False
    return True


def _batch_progress(bar: tqdm) -> Callable[[int, int], None]:
    """An `on_step` callback that advances `bar` by the games a batch has finished since the last call."""
    last = [0]

    def progress(finished: int, total: int) -> None:
        bar.update(finished - last[0])
        last[0] = finished

    return progress


def _recorder(args: argparse.Namespace, players: list[str]) -> ReplayRecorder | None:
    """The replay recorder `--replay-dir` asks for (None without it)."""
    if args.replay_dir is None:
        return None
    sampling = ReplaySampling(every=args.replay_every, decisive_only=args.replay_decisive)
    return ReplayRecorder(args.replay_dir, players, sampling=sampling)


def _report_replays(recorder: ReplayRecorder | None, quiet: bool) -> None:
    if recorder is not None and not quiet:
        print(f"{len(recorder.saved)} replay{'s' if len(recorder.saved) != 1 else ''} written to "
              f"{recorder.folder}", file=sys.stderr)


def command_scenarios(args: argparse.Namespace) -> int:
    for scenario_id in arena.scenario_ids():
        spec = make_scenario(scenario_id).spec
        print(f"{scenario_id:34s} {spec.num_agents} player{'s' if spec.num_agents > 1 else ' '}  "
              f"{spec.time_limit_s:5.0f} s  {spec.description}")
    return 0


def _play_rounds(args: argparse.Namespace, scenario_id: str, device: torch.device) -> list[float]:
    scores: list[float] = []
    batch = max(1, min(args.episodes, args.batch))
    with progress_bar(total=args.episodes, desc=f"{scenario_id} ({args.agent})", unit="episode",
                      quiet=args.quiet) as bar:
        recorder = _recorder(args, [args.agent])
        while len(scores) < args.episodes:
            n = min(batch, args.episodes - len(scores))
            env = arena.make(scenario_id, num_envs=n, device=device, step_mul=args.step_mul,
                             engine=args.engine, backend=args.backend, interface=args.interface)
            agent = make_agent(args.agent, scenario_id, seed=args.seed + len(scores))
            done_before = len(scores)
            result: EpisodeScores = play_episodes(env, agent, seed=args.seed + done_before,
                                                  on_step=_batch_progress(bar), recorder=recorder)
            scores.extend(result.scores)
    _report_replays(recorder, args.quiet)
    return scores


def _play_pysc2_agent(args: argparse.Namespace, scenario_id: str, device: torch.device) -> list[float]:
    """Episodes of a pysc2 agent (by import path) through the pysc2-shaped environment, one game at a time."""
    from arena import pysc2_env

    agent = load_agent_class(args.agent)()
    fmt = pysc2_env.AgentInterfaceFormat(feature_dimensions=pysc2_env.Dimensions(screen=64, minimap=64),
                                         use_feature_units=True)

    def make_env() -> pysc2_env.SC2Env:
        map_name = scenario_id.rsplit("-v", 1)[0]
        if args.backend == "sc2":  # pysc2's own environment on the real game
            from arena.backends.installation import check_installation
            from pysc2.env import sc2_env

            check_installation(map_name)
            return sc2_env.SC2Env(map_name=map_name, players=[sc2_env.Agent(sc2_env.Race.terran)],
                                  agent_interface_format=fmt, step_mul=args.step_mul, random_seed=args.seed)
        replays = {} if args.replay_dir is None else {"save_replay_episodes": args.replay_every,
                                                      "replay_dir": args.replay_dir}
        return pysc2_env.SC2Env(map_name=scenario_id, players=[pysc2_env.Agent(pysc2_env.Race.terran)],
                                agent_interface_format=fmt, step_mul=args.step_mul, random_seed=args.seed,
                                device=device, engine=args.engine, **replays)

    with progress_bar(total=args.episodes, desc=f"{scenario_id} ({args.agent})", unit="episode",
                      quiet=args.quiet) as bar:
        return play_pysc2_episodes(make_env, agent, args.episodes, on_episode=lambda score: bar.update(1))


def _play_two_player(args: argparse.Namespace, scenario_id: str, device: torch.device) -> MatchRecord:
    """Games of a two-player scenario, played in batches; outcomes from player 1's side."""
    limits = Limits.off() if args.no_limits else Limits()
    outcomes: list[int] = []
    steps = 0
    batch = max(1, min(args.episodes, args.batch))
    with progress_bar(total=args.episodes, desc=f"{scenario_id} ({' vs '.join(args.agents)})", unit="game",
                      quiet=args.quiet) as bar:
        recorder = _recorder(args, list(args.agents))
        while len(outcomes) < args.episodes:
            n = min(batch, args.episodes - len(outcomes))
            env = ArenaMultiEnv(scenario_id, num_envs=n, device=device, step_mul=args.step_mul, limits=limits,
                                engine=args.engine, interface=args.interface)
            agents = [make_agent(name, scenario_id, seed=args.seed + len(outcomes) + 1000 * player)
                      for player, name in enumerate(args.agents)]
            record = play_matches(env, agents, seed=args.seed + len(outcomes), on_step=_batch_progress(bar),
                                  recorder=recorder)
            outcomes.extend(record.outcomes)
            steps += record.steps
    _report_replays(recorder, args.quiet)
    return MatchRecord(outcomes=outcomes, steps=steps)


def play_interface(names: list[str], screen_size: int | None) -> InterfaceFormat | None:
    """The interface a game is played at: the named policies' screen and minimap sizes, or `--screen-size` (for
    both), or None (the scenario's default).

    Raises:
        ValueError: --screen-size differs from what a named policy reads, or is below 8.
    """
    interface = agent_interface(names)
    if screen_size is None:
        return interface
    if screen_size < 8:
        raise ValueError(f"--screen-size must be at least 8, got {screen_size}")
    if interface is not None and (interface.screen_size, interface.minimap_size) != (screen_size, screen_size):
        raise ValueError(f"--screen-size {screen_size} differs from what the policy reads "
                         f"({interface.screen_size} x {interface.minimap_size})")
    return InterfaceFormat(screen_size=screen_size, minimap_size=screen_size)


def command_play_two_player(args: argparse.Namespace, scenario_id: str) -> int:
    if args.agents is None:
        args.agents = ["scripted", "scripted"]
    if len(args.agents) != 2:
        print(f"arena play: {scenario_id} is a two-player scenario; give --agents A B, got {args.agents}",
              file=sys.stderr)
        return 2
    try:
        for name in args.agents:
            make_agent(name, scenario_id, seed=args.seed)
        args.interface = play_interface(args.agents, args.screen_size)
    except ValueError as error:
        print(f"arena play: {error.args[0]}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    record = _play_two_player(args, scenario_id, _device(args.device))
    elapsed = time.perf_counter() - start
    if args.json:
        print(json.dumps({"scenario": scenario_id, "agents": args.agents, "outcomes": record.outcomes,
                          "wins": record.wins, "draws": record.draws, "losses": record.losses}))
        return 0
    for i, outcome in enumerate(record.outcomes):
        print(f"game {i + 1:3d}  {('win' if outcome > 0 else 'loss' if outcome < 0 else 'draw'):4s} "
              f"for player 1 ({args.agents[0]})")
    print(f"{scenario_id}  {args.agents[0]} vs {args.agents[1]}  games {len(record.outcomes)}  "
          f"wins {record.wins}  draws {record.draws}  losses {record.losses}  "
          f"(player 1's record; limits {'off' if args.no_limits else 'on'}; {elapsed:.1f} s)")
    return 0


def command_play(args: argparse.Namespace) -> int:
    try:
        scenario_id = resolve_id(args.scenario)
    except KeyError as error:
        print(f"arena play: {error.args[0]}", file=sys.stderr)
        return 2
    if not _at_least_one("play", {"--episodes": args.episodes, "--batch": args.batch, "--step-mul": args.step_mul,
                                  "--replay-every": args.replay_every}):
        return 2
    if args.replay_dir is not None and args.backend != "embedded":
        print("arena play: --replay-dir records games of the embedded engine; the real game writes its own "
              ".SC2Replay files (pysc2's save_replay_episodes and replay_dir)", file=sys.stderr)
        return 2
    if args.replay_dir is not None and os.path.exists(args.replay_dir) and not os.path.isdir(args.replay_dir):
        print(f"arena play: --replay-dir {args.replay_dir} is a file, not a folder", file=sys.stderr)
        return 2
    if make_scenario(scenario_id).spec.num_agents > 1:
        if args.backend != "embedded":
            print(f"arena play: the two-player scenario {scenario_id} runs on the embedded engine only",
                  file=sys.stderr)
            return 2
        return command_play_two_player(args, scenario_id)
    if args.agents is not None:
        print(f"arena play: {scenario_id} is a one-player scenario; use --agent, not --agents", file=sys.stderr)
        return 2
    try:
        if is_import_path(args.agent):
            load_agent_class(args.agent)
        else:
            make_agent(args.agent, scenario_id, seed=args.seed)
        args.interface = play_interface([args.agent], args.screen_size)
    except ValueError as error:
        print(f"arena play: {error.args[0]}", file=sys.stderr)
        return 2
    device = _device(args.device)
    start = time.perf_counter()
    play = _play_pysc2_agent if is_import_path(args.agent) else _play_rounds
    try:
        scores = play(args, scenario_id, device)
    except Sc2NotInstalledError as error:
        print(f"arena play: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    mean = sum(scores) / len(scores)
    std = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5
    if args.json:
        print(json.dumps({"scenario": scenario_id, "agent": args.agent, "scores": scores, "mean": mean,
                          "std": std}))
        return 0
    for i, score in enumerate(scores):
        print(f"episode {i + 1:3d}  score {score:g}")
    print(f"{scenario_id}  agent {args.agent}  episodes {len(scores)}  mean {mean:.2f}  std {std:.2f}  "
          f"({elapsed:.1f} s)")
    return 0


def command_bench(args: argparse.Namespace) -> int:
    try:
        ids = [resolve_id(s) for s in args.scenarios] if args.scenarios else arena.scenario_ids()
    except KeyError as error:
        print(f"arena bench: {error.args[0]}", file=sys.stderr)
        return 2
    if not _at_least_one("bench", {"--num-envs": args.num_envs, "--steps": args.steps}):
        return 2
    device = _device(args.device)
    fmt = InterfaceFormat() if args.layers else InterfaceFormat(feature_layers=False)
    print(f"{'scenario':34s} {'envs':>6s} {'env-steps/s':>12s}   ({device}, no_op actions, "
          f"{'feature layers' if args.layers else 'unit lists only'})")
    for scenario_id in ids:
        env = arena.make(scenario_id, num_envs=args.num_envs, device=device, interface=fmt, engine=args.engine)
        env.reset(seed=0)
        noop = arena.BatchedAction.no_op(args.num_envs, device)
        if isinstance(env, ArenaMultiEnv):
            noop = [noop] * env.num_players
        for _ in range(2):
            env.step(noop)
        start = time.perf_counter()
        for _ in range(args.steps):
            env.step(noop)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rate = args.num_envs * args.steps / (time.perf_counter() - start)
        print(f"{scenario_id:34s} {args.num_envs:6d} {rate:12.0f}")
    return 0


def _add_engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=[e.value for e in Engine], default="auto",
                        help="what runs the game loop: auto (default: the compiled kernel on the CPU, torch on a "
                             "GPU), kernel, torch (the reference passes), compiled (torch.compile: "
                             "tens of seconds to compile)")


def add_play_command(play: argparse.ArgumentParser) -> None:
    """The options of `arena play`."""
    play.add_argument("scenario", help="scenario id or name, e.g. MoveToBeacon (see `arena scenarios`)")
    play.add_argument("--agent", default="scripted",
                      help=f"one of {', '.join(agent_names())}, policy:PATH (a policy saved by `arena train`), or a "
                           "pysc2 agent class by import path, e.g. pysc2.agents.scripted_agent.MoveToBeacon (played "
                           "one game at a time)")
    play.add_argument("--agents", nargs="+", default=None, metavar="AGENT",
                      help="two-player scenarios: the agents of player 1 and player 2 (default: scripted scripted); "
                           "the full game's built-in bots are bot:1 .. bot:5, bot:rush, bot:greedy, bot:turtle")
    play.add_argument("--no-limits", action="store_true",
                      help="two-player scenarios: lift the APM cap, the action delay and fog of war")
    play.add_argument("--episodes", type=int, default=10, help="episodes (games) to play")
    play.add_argument("--seed", type=int, default=0)
    play.add_argument("--device", default="cpu", help="cpu or cuda")
    play.add_argument("--step-mul", type=int, default=None, help="game loops per agent step (default: scenario's)")
    play.add_argument("--batch", type=int, default=64, help="games played side by side")
    play.add_argument("--screen-size", type=int, default=None,
                      help="screen and minimap feature layers' size (default: a policy's, else 64); replays keep it, "
                           "so `arena train bc` clones at it")
    play.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    play.add_argument("--replay-dir", default=None, metavar="DIR",
                      help="write a replay of every game into DIR (see `arena replay`)")
    play.add_argument("--replay-every", type=int, default=1, metavar="N", help="with --replay-dir: keep every Nth game")
    play.add_argument("--replay-decisive", action="store_true",
                      help="with --replay-dir: keep only games someone won (two-player scenarios)")
    play.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_engine_option(play)
    play.add_argument("--backend", choices=("embedded", "sc2"), default="embedded",
                      help="embedded: the torch engine (default); sc2: the real StarCraft II through pysc2 "
                           "(needs the game: SC2PATH)")
    play.set_defaults(run=command_play)


def add_bench_command(bench: argparse.ArgumentParser) -> None:
    """The options of `arena bench`."""
    bench.add_argument("scenarios", nargs="*", help="scenario ids (default: all)")
    bench.add_argument("--num-envs", type=int, default=256)
    bench.add_argument("--steps", type=int, default=20)
    bench.add_argument("--device", default="cpu")
    bench.add_argument("--layers", action="store_true", help="render feature layers too")
    _add_engine_option(bench)
    bench.set_defaults(run=command_bench)
