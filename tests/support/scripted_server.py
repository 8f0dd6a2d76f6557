"""An HTTP server on 127.0.0.1 that answers whatever a test scripts: lies, drips, raw bytes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    """
    One scripted HTTP answer of :class:`ScriptedServer`.

    :param status: the status code.
    :param body: the body.
    :param headers: headers besides Content-Length.
    :param drip: seconds between body bytes (a slow drip); 0 sends it at once.
    :param announced: Content-Length to announce instead of the body's length (a lie).
    :param raw: bytes sent instead of a well-formed answer (status line included), then the connection closes.
    """

    status: int = 200
    body: bytes = field(default=b"", repr=False)
    headers: tuple[tuple[str, str], ...] = ()
    drip: float = 0.0
    announced: int | None = None
    raw: bytes | None = None


@dataclass(frozen=True)
class Received:
    """
    A request :class:`ScriptedServer` received.

    :param method: HTTP method.
    :param path: path with query.
    :param headers: its headers.
    """

    method: str
    path: str
    headers: dict[str, str]


class ScriptedServer:
    """
    An HTTP server on 127.0.0.1 that answers each request with the next scripted :class:`Answer`, and with
    ``default`` once the script is used up; it records every request.
    """

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.default = Answer(404, b'{"error": {"message": "nothing scripted"}}')
        self.received: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with server._lock:
                    server.received.append(Received(self.command, self.path, dict(self.headers)))
                    answer = server.script.pop(0) if server.script else server.default
                with contextlib.suppress(OSError):
                    server.send(self, answer)

            do_GET = do_POST = _answer

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def reset(self, script: list[Answer], default: Answer) -> None:
        """
        Start over with a new script.

        :param script: answers for the next requests, in order.
        :param default: the answer once the script is used up.
        """
        with self._lock:
            self.script = list(script)
            self.default = default
            self.received = []

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        """
        Write ``answer`` to ``handler``'s connection.

        :param handler: the request being answered.
        :param answer: what to send.
        """
        if answer.raw is not None:
            handler.wfile.write(answer.raw)
            handler.close_connection = True
            return
        handler.send_response(answer.status)
        for name, value in answer.headers:
            handler.send_header(name, value)
        announced = len(answer.body) if answer.announced is None else answer.announced
        handler.send_header("Content-Length", str(announced))
        handler.end_headers()
        if announced != len(answer.body):
            handler.close_connection = True
        if not answer.drip:
            handler.wfile.write(answer.body)
            return
        handler.wfile.flush()
        for index in range(len(answer.body)):
            handler.wfile.write(answer.body[index : index + 1])
            handler.wfile.flush()
            time.sleep(answer.drip)

    def stop(self) -> None:
        """Stop serving."""
        self._http.shutdown()
        self._http.server_close()


@contextlib.contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    """A :class:`ScriptedServer` for the duration of a ``with`` block."""
    server = ScriptedServer()
    try:
        yield server
    finally:
        server.stop()
