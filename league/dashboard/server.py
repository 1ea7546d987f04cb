"""The league's page server: `serve_league(folder)` binds 127.0.0.1 (by default) and serves

- `/`, `/dashboard.js`, `/dashboard.css`: the page (league/dashboard/page; no outside dependency, works offline);
- `/api/league`: the league's state now (league.dashboard.data.LeagueWatch), which the page asks for every few seconds;
- `/replays/...`: the replay viewer (arena.replay) over the league's `replays/` folder, so a replay opens in it.

It only reads the league's folder: the store read-only, the replays through the viewer's catalog (which serves only
replay files under that folder, never a link out of it), the ladder's report as data. Any other path is a 404.
"""

from __future__ import annotations

import http
import http.server
import logging
import threading
import urllib.parse
import webbrowser
from pathlib import Path
from typing import Any

from arena.local_server import BackgroundServer, JsonRequestHandler
from arena.replay.server import STATIC_FILES as VIEWER_FILES, VIEWER_DIR, ReplayCatalog, listing_entry, replay_document
from arena.replay.format import ReplayError
from league.dashboard.data import LeagueWatch

log = logging.getLogger(__name__)

LOCALHOST = "127.0.0.1"
PAGE_DIR = Path(__file__).parent / "page"
PAGE_FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
"""URL path -> (file in PAGE_DIR, content type): the page's only files."""
REPLAYS_PREFIX = "/replays"


class _Handler(JsonRequestHandler):
    server: "_Server"
    server_version = "ArenaLeaguePage"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        try:
            if url.path in PAGE_FILES:
                file, content_type = PAGE_FILES[url.path]
                self.send_body(http.HTTPStatus.OK, (PAGE_DIR / file).read_bytes(), content_type)
            elif url.path == "/api/league":
                self.send_json(http.HTTPStatus.OK, self.server.league_document())
            elif url.path == REPLAYS_PREFIX:
                self._redirect(REPLAYS_PREFIX + "/" + (f"?{url.query}" if url.query else ""))
            elif url.path.startswith(REPLAYS_PREFIX + "/"):
                self._viewer(url.path[len(REPLAYS_PREFIX):], query)
            else:
                self.send_json(http.HTTPStatus.NOT_FOUND, {"error": f"no such page: {url.path}"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception as error:  # noqa: BLE001 - the page shows every failure; the server keeps serving
            log.exception("the league page failed on %s", self.path)
            self.send_json(http.HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(error).__name__}: {error}"})

    def _viewer(self, path: str, query: dict[str, list[str]]) -> None:
        """The replay viewer's files and API, over the league's replays folder."""
        if path in VIEWER_FILES:
            file, content_type = VIEWER_FILES[path]
            self.send_body(http.HTTPStatus.OK, (VIEWER_DIR / file).read_bytes(), content_type)
            return
        catalog = self.server.replay_catalog()
        if path == "/api/replays":
            replays = {} if catalog is None else catalog.paths()
            self.send_json(http.HTTPStatus.OK, {"folder": str(self.server.folder / "replays"),
                                                 "replays": [listing_entry(n, p) for n, p in replays.items()]})
        elif path == "/api/replay":
            name = query.get("name", [""])[0]
            found = None if catalog is None or not name else catalog.find(name)
            if found is None:
                self.send_json(http.HTTPStatus.NOT_FOUND if name else http.HTTPStatus.BAD_REQUEST,
                                {"error": f"no replay named {name!r} in this league" if name
                                 else "name the replay: api/replay?name=NAME", "file": name or None})
                return
            try:
                self.send_json(http.HTTPStatus.OK, replay_document(name, found))
            except ReplayError as error:
                self.send_json(http.HTTPStatus.UNPROCESSABLE_ENTITY, {"error": error.problem, "file": name})
        else:
            self.send_json(http.HTTPStatus.NOT_FOUND, {"error": f"no such page: {REPLAYS_PREFIX}{path}"})

    def _redirect(self, location: str) -> None:
        self.send_response(http.HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, watch: LeagueWatch):
        super().__init__((host, port), _Handler)
        self.watch = watch
        self.folder = watch.folder
        self._lock = threading.Lock()

    def league_document(self) -> dict[str, Any]:
        with self._lock:  # one look at a time: the watch keeps incremental state
            return self.watch.document()

    def replay_catalog(self) -> ReplayCatalog | None:
        folder = self.folder / "replays"
        return ReplayCatalog(root=folder.resolve()) if folder.is_dir() else None


class LeagueServer(BackgroundServer):
    """A running page server: `url` is the page; `serve_forever()` blocks (until Ctrl-C or `shutdown()`), `start()`
    serves from a background thread instead."""

    def __init__(self, server: _Server, host: str):
        super().__init__(server, "league-page")
        self.host = host

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def watch(self) -> LeagueWatch:
        return self._server.watch


def serve_league(folder: str | Path, *, host: str = LOCALHOST, port: int = 0, ladder: str | Path | None = None,
                 open_browser: bool = False) -> LeagueServer:
    """Bind the page server of the league in `folder` (it need not hold a league yet: the page says so until it does).

    Args:
        folder: the league's folder.
        host: the address to bind; 127.0.0.1 by default (anything else exposes the page to the network).
        port: the port; 0 picks a free one.
        ladder: a ladder folder whose report.json the page shows; default `<folder>/ladder`.
        open_browser: open the page with `webbrowser.open`.

    Raises:
        FileNotFoundError: `folder` is not a folder.
        OSError: the address cannot be bound (the message says which and what to do).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no league folder {folder}: start one with `arena league start --out {folder}`")
    watch = LeagueWatch(folder, ladder)
    try:
        server = _Server(host, port, watch)
    except OSError as error:
        raise OSError(error.errno, f"cannot serve the league page on {host}:{port} ({error.strerror}); choose "
                                   "another --port, or 0 for a free one") from None
    league_server = LeagueServer(server, host)
    if open_browser and not webbrowser.open(league_server.url):
        log.warning("could not open a browser; open %s", league_server.url)
    return league_server


__all__ = ["LOCALHOST", "LeagueServer", "PAGE_FILES", "serve_league"]
