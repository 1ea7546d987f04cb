"""`arena replay ...`: information about replays, verification by re-simulation, the browser viewer, and clips."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from arena.replay.format import SUFFIX, Replay, ReplayError, read_replay
from league.cli.options import common_options
from league.progress import progress_bar


def _player_line(replay: Replay) -> str:
    names = [p["name"] for p in replay.header["players"]]
    result = replay.outcome.get("result", [])
    if len(names) > 1 and len(result) == len(names):
        words = {1: "won", 0: "drew", -1: "lost"}
        return ", ".join(f"player {i + 1} {name} {words.get(int(r), r)}" for i, (name, r) in
                         enumerate(zip(names, result)))
    return ", ".join(f"player {i + 1} {name} scored {r:g}" for i, (name, r) in enumerate(zip(names, result)))


def describe(replay: Replay, path: str | Path) -> str:
    """A few lines about a replay: scenario, seed, players, limits, length, outcome, size."""
    header, outcome = replay.header, replay.outcome
    loops = outcome.get("game_loops", 0)
    seconds = loops / header.get("game_loops_per_second", 22.4)
    limits = header.get("limits")
    limits_text = ("none (one-player scenario)" if limits is None else
                   f"APM caps {limits['apm_caps'] or 'off'}, delay {limits['delay_loops']} game loops, "
                   f"fog of war {'on' if limits['fog'] else 'off'}")
    lines = [f"{path}",
             f"  scenario   {header['scenario']['id']}   (format {header['format_version']}, engine "
             f"{header.get('engine_version', '?')}, recorded {header.get('recorded', '?')})",
             f"  seed       {header['seed']}   step_mul {header['step_mul']}",
             f"  players    {', '.join(p['name'] for p in header['players'])}",
             f"  limits     {limits_text}",
             f"  length     {outcome.get('steps', replay.num_frames - 1)} steps, {loops} game loops "
             f"({int(seconds // 60)}:{int(seconds % 60):02d} on the game clock, {loops / 16:g} game seconds), "
             f"{replay.num_frames} frames, ended: {outcome.get('ended', '?')}",
             f"  outcome    {_player_line(replay)}",
             f"  size       {Path(path).stat().st_size / 1024:.1f} KiB"]
    if replay.explanations:
        lines.append(f"  explains   {', '.join(sorted(replay.explanations))}")
    return "\n".join(lines)


def command_info(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            replay = read_replay(path)
        except ReplayError as error:
            print(f"arena replay info: {error}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            print(json.dumps({"file": str(path), "header": replay.header, "outcome": replay.outcome,
                              "frames": replay.num_frames}))
        else:
            print(describe(replay, path))
    return status


def _replay_files(paths: list[str]) -> list[Path]:
    """The given files, with folders standing for the replays inside them."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        files.extend(sorted(path.glob(f"*{SUFFIX}")) if path.is_dir() else [path])
    return files


def command_verify(args: argparse.Namespace) -> int:
    from arena.replay.verify import verify_replay

    files = _replay_files(args.files)
    if not files:
        print(f"arena replay verify: no replays ({SUFFIX}) in {' '.join(args.files)}", file=sys.stderr)
        return 1
    failed = 0
    for path in progress_bar(iterable=files, desc="verifying", unit="replay",
                             quiet=args.quiet or len(files) < 2):
        try:
            result = verify_replay(path, device=args.device)
        except ReplayError as error:
            print(f"arena replay verify: {error}", file=sys.stderr)
            failed += 1
            continue
        if result.ok:
            print(f"{path}: ok, {result.frames} frames re-simulated and equal")
        else:
            print(f"{path}: MISMATCH after {result.matched} equal frames: {result.difference}")
            failed += 1
    return 1 if failed else 0


def command_view(args: argparse.Namespace) -> int:
    from arena.replay.server import serve_replays

    try:
        read_replay(args.file)
    except ReplayError as error:
        print(f"arena replay view: {error}", file=sys.stderr)
        return 1
    return _serve(serve_replays([Path(args.file)], port=args.port, open_browser=not args.no_browser))


def command_serve(args: argparse.Namespace) -> int:
    from arena.replay.server import serve_replays

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"arena replay serve: {folder} is not a folder", file=sys.stderr)
        return 1
    return _serve(serve_replays(folder, port=args.port, open_browser=not args.no_browser))


def _serve(server) -> int:
    print(f"arena replay viewer at {server.url}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


def command_render(args: argparse.Namespace) -> int:
    from arena.replay.render import render_replay

    try:
        with progress_bar(desc=f"rendering {Path(args.output).name}", unit="frame", quiet=args.quiet,
                          delay=0.5) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            result = render_replay(args.file, args.output, fps=args.fps, size=args.size, every=args.every,
                                   fog_player=None if args.fog is None else args.fog - 1, on_frame=progress)
    except ReplayError as error:
        print(f"arena replay render: {error}", file=sys.stderr)
        return 1
    except (ValueError, RuntimeError) as error:
        print(f"arena replay render: {error}", file=sys.stderr)
        return 2
    print(f"{result.output}: {result.frames} frames, {result.bytes / 1024:.0f} KiB")
    return 0


def add_replay_commands(replay: argparse.ArgumentParser) -> None:
    """`arena replay info | verify | view | serve | render` under the `replay` parser."""
    commands = replay.add_subparsers(dest="replay_command", required=True)

    info = commands.add_parser("info", parents=[common_options()], help="print a replay's header and outcome")
    info.add_argument("files", nargs="+", metavar="FILE")
    info.add_argument("--json", action="store_true", help="one JSON line per replay")
    info.set_defaults(run=command_info)

    verify = commands.add_parser("verify", help="re-simulate replays from seed and actions and check every frame",
                                 parents=[common_options()])
    verify.add_argument("files", nargs="+", metavar="FILE", help="replay files or folders of them")
    verify.add_argument("--device", default="cpu")
    verify.add_argument("--quiet", action="store_true", help="no progress bar")
    verify.set_defaults(run=command_verify)

    view = commands.add_parser("view", help="watch a replay in the browser (a local server on 127.0.0.1)",
                               parents=[common_options()])
    view.add_argument("file", metavar="FILE")
    view.add_argument("--port", type=int, default=0, help="port to serve on (default: a free one)")
    view.add_argument("--no-browser", action="store_true", help="only print the address")
    view.set_defaults(run=command_view)

    serve = commands.add_parser("serve", help="serve a folder of replays to the browser viewer",
                                parents=[common_options()])
    serve.add_argument("folder", metavar="DIR")
    serve.add_argument("--port", type=int, default=0, help="port to serve on (default: a free one)")
    serve.add_argument("--no-browser", action="store_true", help="only print the address")
    serve.set_defaults(run=command_serve)

    render = commands.add_parser("render", help="render a replay to an animated GIF (or mp4 with an encoder)",
                                 parents=[common_options()])
    render.add_argument("file", metavar="FILE")
    render.add_argument("-o", "--output", required=True, help="clip.gif or clip.mp4")
    render.add_argument("--fps", type=float, default=8.0, help="frames per second of the clip")
    render.add_argument("--size", type=int, default=480, help="width and height in pixels")
    render.add_argument("--every", type=int, default=1, help="draw every Nth frame")
    render.add_argument("--fog", type=int, choices=(1, 2), default=None,
                        help="show only what player 1 or 2 saw")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(run=command_render)
