"""The browser replay viewer's local server: the static page (viewer/) and a small JSON API over some replays.

  GET /                       the page: the listing of replays, or one replay with `?replay=NAME`
  GET /viewer.js, /render.js, /viewer.css   the page's scripts and style
  GET /api/replays            {"folder", "replays": [{"name", "scenario", "players", "outcome", ...} or
                              {"name", "error"} for a file that cannot be read]}
  GET /api/replay?name=NAME   replay_to_json(replay) plus "name", "functions" ({id: {"name", "arguments"}}) and
                              "action_results" ({code: name})

Errors are JSON {"error", "file"} with a 4xx status. Only the replays of the catalog are ever read: a request names
a replay by its catalog name, never by a path, so no request reaches a file outside the served folder or files.
The server binds 127.0.0.1 only: a replay viewer has no business on the network.
"""

from __future__ import annotations

import dataclasses
import http
import http.server
import logging
import os
import urllib.parse
import webbrowser
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from arena.local_server import BackgroundServer, JsonRequestHandler
from arena.interface.functions import FUNCTION_ARGUMENTS, ActionResult, ArgumentType, FunctionId
from arena.replay.format import SUFFIX, ReplayError, read_header, read_replay, replay_to_json

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
VIEWER_DIR = Path(__file__).parent / "viewer"
STATIC_FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/render.js": ("render.js", "text/javascript; charset=utf-8"),
    "/viewer.js": ("viewer.js", "text/javascript; charset=utf-8"),
    "/viewer.css": ("viewer.css", "text/css; charset=utf-8"),
}
"""URL path -> (file in VIEWER_DIR, content type): the only static files served."""

ARGUMENT_COLUMNS: dict[ArgumentType, tuple[str, ...]] = {
    ArgumentType.screen: ("screen_x", "screen_y"),
    ArgumentType.minimap: ("minimap_x", "minimap_y"),
    ArgumentType.screen2: ("screen2_x", "screen2_y"),
    ArgumentType.queued: ("queued",),
    ArgumentType.control_group_act: ("control_group_act",),
    ArgumentType.control_group_id: ("control_group_id",),
    ArgumentType.select_point_act: ("select_point_act",),
    ArgumentType.select_add: ("select_add",),
    ArgumentType.select_worker: ("select_worker",),
}
"""Which columns of format.ACTION_FIELDS hold each argument type's values."""


@dataclasses.dataclass(frozen=True)
class ReplayCatalog:
    """The replays a server may read: every replay file under a folder (found anew on each listing, so new
    recordings appear), or a fixed list of files. Names are paths relative to the folder (or to the files' common
    folder), with forward slashes."""

    root: Path
    """The folder that names are relative to."""
    files: tuple[Path, ...] | None = None
    """The given files, or None to serve every `*.replay.npz` under `root`."""

    @classmethod
    def of(cls, paths_or_folder: str | os.PathLike | Iterable[str | os.PathLike]) -> ReplayCatalog:
        """A catalog of one folder, one file, or several files (a missing one is refused here, not at request)."""
        if isinstance(paths_or_folder, (str, os.PathLike)):
            paths_or_folder = [paths_or_folder]
        paths = [Path(path).resolve() for path in paths_or_folder]
        if not paths:
            raise ValueError("no replays to serve: give a replay file or a folder of replays")
        missing = [str(path) for path in paths if not path.exists()]
        if missing:
            raise FileNotFoundError(f"no such replay file or folder: {', '.join(missing)}")
        if len(paths) == 1 and paths[0].is_dir():
            return cls(root=paths[0])
        folders = [str(path) for path in paths if path.is_dir()]
        if folders:
            raise ValueError(f"give one folder or replay files, not folders among files: {', '.join(folders)}")
        return cls(root=Path(os.path.commonpath([path.parent for path in paths])), files=tuple(paths))

    def paths(self) -> dict[str, Path]:
        """name -> file, sorted by name."""
        if self.files is not None:
            files = list(self.files)
        else:  # a link out of the folder is not served
            files = [path for path in self.root.rglob(f"*{SUFFIX}")
                     if path.is_file() and path.resolve().is_relative_to(self.root)]
        return dict(sorted((path.relative_to(self.root).as_posix(), path) for path in files))

    def find(self, name: str) -> Path | None:
        """The file of a catalog name, or None for a name the catalog does not hold (a path outside it included)."""
        return self.paths().get(name)


def listing_entry(name: str, path: Path) -> dict[str, Any]:
    """One row of the listing: what the header and outcome say, or the error for a file that cannot be read."""
    try:
        header, outcome = read_header(path)
        scenario = header.get("scenario") or {}
        players = [player.get("name", f"player {index + 1}") if isinstance(player, dict) else str(player)
                   for index, player in enumerate(header.get("players") or [])]
        return {"name": name, "scenario": scenario.get("id") or scenario.get("name") or "?",
                "players": players, "outcome": outcome, "seed": header.get("seed"),
                "engine_version": header.get("engine_version"), "bytes": path.stat().st_size}
    except ReplayError as error:
        return {"name": name, "error": error.problem}
    except Exception as error:  # noqa: BLE001 - one unreadable file must never break the listing of the others
        log.warning("cannot read the header of %s", path, exc_info=True)
        return {"name": name, "error": f"cannot be read ({type(error).__name__}: {error})"}


def function_table(function_ids: Iterable[int]) -> dict[str, dict[str, Any]]:
    """{id: {"name", "arguments": [[argument name, [action columns]], ...]}} for the page to name actions."""
    table = {}
    for function_id in sorted(set(function_ids)):
        if function_id < 0:
            continue  # padding of top_functions
        try:
            function = FunctionId(function_id)
        except ValueError:
            table[str(function_id)] = {"name": f"function {function_id}", "arguments": []}
            continue
        arguments = [[argument.name, list(ARGUMENT_COLUMNS[argument])] for argument in FUNCTION_ARGUMENTS[function]]
        table[str(function_id)] = {"name": function.name, "arguments": arguments}
    return table


def replay_document(name: str, path: Path) -> dict[str, Any]:
    """What /api/replay sends: replay_to_json plus the replay's name and the functions its actions use."""
    replay = read_replay(path)
    document = replay_to_json(replay)
    used = replay.actions[..., 0].ravel().tolist()
    if "top_functions" in replay.explanations:
        used += replay.explanations["top_functions"].ravel().tolist()
    document["name"] = name
    document["functions"] = function_table(used)
    document["action_results"] = {str(int(result)): result.name for result in ActionResult}
    return document


class ApiError(Exception):
    """A request the server answers with an error document."""

    def __init__(self, status: http.HTTPStatus, problem: str, file: str | None = None):
        super().__init__(problem)
        self.status = status
        self.problem = problem
        self.file = file


class _Handler(JsonRequestHandler):
    server: _Server
    server_version = "ArenaReplayViewer"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        try:
            if url.path in STATIC_FILES:
                file, content_type = STATIC_FILES[url.path]
                self.send_body(http.HTTPStatus.OK, (VIEWER_DIR / file).read_bytes(), content_type)
            elif url.path == "/api/replays":
                self.send_json(http.HTTPStatus.OK, self._listing())
            elif url.path == "/api/replay":
                self.send_json(http.HTTPStatus.OK, self._replay(query.get("name", [""])[0]))
            else:
                raise ApiError(http.HTTPStatus.NOT_FOUND, f"no such page: {url.path}")
        except ApiError as error:
            self.send_json(error.status, {"error": error.problem, "file": error.file})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception as error:  # noqa: BLE001 - the page shows every failure; the server keeps serving
            log.exception("the replay viewer failed on %s", self.path)
            self.send_json(http.HTTPStatus.INTERNAL_SERVER_ERROR,
                            {"error": f"{type(error).__name__}: {error}", "file": None})

    def _listing(self) -> dict[str, Any]:
        catalog = self.server.catalog
        return {"folder": str(catalog.root),
                "replays": [listing_entry(name, path) for name, path in catalog.paths().items()]}

    def _replay(self, name: str) -> dict[str, Any]:
        if not name:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, "name the replay: /api/replay?name=NAME")
        path = self.server.catalog.find(name)
        if path is None:
            raise ApiError(http.HTTPStatus.NOT_FOUND, f"no replay named {name!r} is served here "
                                                      f"(from {self.server.catalog.root})", file=name)
        try:
            return replay_document(name, path)
        except ReplayError as error:
            raise ApiError(http.HTTPStatus.UNPROCESSABLE_ENTITY, error.problem, file=name) from None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, catalog: ReplayCatalog):
        super().__init__((HOST, port), _Handler)
        self.catalog = catalog


class ReplayServer(BackgroundServer):
    """A running viewer server: `url` is the page to open; `serve_forever()` blocks (until Ctrl-C or `shutdown()`),
    `start()` serves from a background thread instead."""

    def __init__(self, server: _Server, url: str):
        super().__init__(server, "replay-viewer")
        self.url = url
        """The page: the one replay given, or the listing."""

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def catalog(self) -> ReplayCatalog:
        return self._server.catalog


def replay_page_url(base_url: str, name: str) -> str:
    """The page that shows one replay of a server."""
    return f"{base_url}?{urllib.parse.urlencode({'replay': name})}"


def serve_replays(paths_or_folder: str | os.PathLike | Iterable[str | os.PathLike], *, port: int = 0,
                  open_browser: bool = True) -> ReplayServer:
    """Bind a viewer server on 127.0.0.1 for one replay file, several, or a folder, and open its page.

    Args:
        paths_or_folder: a replay file (`arena replay view FILE`: the page opens that replay), several files, or a
            folder (`arena replay serve DIR`: the page opens the listing of every *.replay.npz under it).
        port: the port to bind; 0 picks a free one.
        open_browser: open the page with `webbrowser.open`.

    Returns:
        The bound server: call `serve_forever()` (blocking) or `start()` (background thread), then `shutdown()`.

    Raises:
        FileNotFoundError: a given file or folder does not exist.
        OSError: the port cannot be bound (in use).
    """
    catalog = ReplayCatalog.of(paths_or_folder)
    try:
        server = _Server(port, catalog)
    except OSError as error:
        raise OSError(error.errno, f"cannot serve replays on {HOST}:{port} ({error.strerror}); choose another port, "
                                   "or 0 for a free one") from None
    base_url = f"http://{HOST}:{server.server_address[1]}/"
    files = catalog.paths()
    single = catalog.files is not None and len(files) == 1
    replay_server = ReplayServer(server, replay_page_url(base_url, next(iter(files))) if single else base_url)
    if open_browser and not webbrowser.open(replay_server.url):
        log.warning("could not open a browser; open %s", replay_server.url)
    return replay_server


__all__ = ["ReplayCatalog", "ReplayServer", "function_table", "listing_entry", "replay_document", "serve_replays"]
