"""
A threading HTTP server on 127.0.0.1 serving media by test-defined routes: ranged, broken, redirected or
generated bodies, for the publisher's downloads.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    """One request a media server received."""

    path: str
    headers: dict[str, str]


class MediaServer:
    """A threading HTTP server on 127.0.0.1 whose paths answer with test-defined routes."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.seen.append(Seen(path, dict(self.headers)))
                route = server.routes.get(path, answer_status(404))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}{path}"

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@dataclass
class Video:
    """
    Serves ``body``, honouring ``Range: bytes=N-`` when ``ranges``.

    The next ``breaks`` responses stop after ``cut`` bytes and drop the connection; ``overstated`` makes
    every response announce that many bytes more than it sends.
    """

    body: bytes
    ranges: bool = True
    breaks: int = 0
    cut: int = 0
    overstated: int = 0
    served: list[int] = field(default_factory=list)

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        start = 0
        asked = handler.headers.get("Range")
        if self.ranges and asked:
            start = int(asked.removeprefix("bytes=").rstrip("-"))
        payload = self.body[start:]
        handler.send_response(206 if start else 200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(len(payload) + self.overstated))
        handler.send_header("ETag", '"v1"')
        if self.ranges:
            handler.send_header("Accept-Ranges", "bytes")
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(self.body) - 1}/{len(self.body)}")
        handler.end_headers()
        if self.breaks > 0:
            self.breaks -= 1
            payload = payload[: self.cut]
        if len(payload) < len(self.body) - start or self.overstated:
            handler.close_connection = True
        self.served.append(len(payload))
        handler.wfile.write(payload)


def answer_status(status: int, headers: dict[str, str] | None = None) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def redirect_to(location: str) -> Route:
    return answer_status(302, {"Location": location})


def generated(block: bytes, count: int) -> Route:
    """``count`` copies of ``block``, written as they go: the server never holds the whole video."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(block) * count))
        handler.end_headers()
        for _ in range(count):
            handler.wfile.write(block)

    return route
