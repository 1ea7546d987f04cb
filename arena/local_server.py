"""What the project's small local web servers share (the replay viewer's, arena.replay.server, and the league's page,
league.dashboard.server): a request handler that answers with bytes or strict JSON, never cached, and a bound server
that serves in the foreground or from a background thread."""

from __future__ import annotations

import http
import http.server
import json
import logging
import threading
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def _finite(value: Any) -> Any:
    """JSON values with NaN and infinities as null (browsers' JSON.parse refuses NaN)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def json_bytes(value: Any) -> bytes:
    """Compact, strict JSON."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:  # a NaN somewhere: the slow path only then
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False).encode()


class JsonRequestHandler(http.server.BaseHTTPRequestHandler):
    """A handler whose answers are bytes or JSON, never cached; requests are logged at debug level only."""

    def send_json(self, status: http.HTTPStatus, value: Any) -> None:
        self.send_body(status, json_bytes(value), "application/json")

    def send_body(self, status: http.HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.debug("%s - %s", self.address_string(), format % args)


class BackgroundServer:
    """A bound server: `serve_forever()` blocks (until Ctrl-C or `shutdown()`), `start()` serves from a daemon thread
    instead; `shutdown()` stops it and closes the socket."""

    def __init__(self, server: http.server.ThreadingHTTPServer, thread_name: str):
        self._server = server
        self._thread: threading.Thread | None = None
        self._thread_name = thread_name

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def serve_forever(self) -> None:
        """Serve until shutdown() or KeyboardInterrupt; the socket is closed on the way out."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def start(self):
        """Serve from a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name=self._thread_name, daemon=True)
            self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


__all__ = ["BackgroundServer", "JsonRequestHandler", "json_bytes"]
