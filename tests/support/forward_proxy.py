"""
A forward HTTP proxy on 127.0.0.1 that counts what passes through it: absolute-URI requests for
``http://`` targets (one request per connection, answered with ``Connection: close``) and CONNECT
tunnels for ``https://`` targets.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = ("connection", "proxy-connection", "keep-alive")


@dataclass
class Passed:
    """One request (or tunnel) the proxy forwarded."""

    method: str
    target: str
    user_agent: str


@dataclass
class ForwardProxy:
    """The proxy; :attr:`url` is what a client's ``proxies`` or ``HTTP_PROXY`` names."""

    passed: list[Passed] = field(default_factory=list)
    _listener: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._listener is not None
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> ForwardProxy:
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.closing(client):
            head = _read_head(client)
            if head is None:
                return
            request_line, *header_lines, rest = head
            method, target, version = request_line.split(" ", 2)
            headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
            agent = next((v.strip() for k, v in headers.items() if k.strip().lower() == "user-agent"), "")
            with self._lock:
                self.passed.append(Passed(method, target, agent))
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _pump_both(client, upstream, rest)
                return
            parts = urlsplit(target)
            upstream = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            kept = [
                line
                for line in header_lines
                if line.split(":", 1)[0].strip().lower()
                not in ("connection", "proxy-connection", "keep-alive")
            ]
            forwarded = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
            upstream.sendall(forwarded.encode("latin-1") + rest)
            _pump_both(client, upstream, b"")


def _read_head(sock: socket.socket) -> list[Any] | None:
    """The request line and header lines, plus whatever of the body came with them (last item)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return [*head.decode("latin-1").split("\r\n"), rest]


def _pump_both(client: socket.socket, upstream: socket.socket, first: bytes) -> None:
    with contextlib.closing(upstream):
        if first:
            upstream.sendall(first)
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        _pump(upstream, client)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def forward_proxy() -> Iterator[ForwardProxy]:
    """A running proxy, stopped afterwards."""
    proxy = ForwardProxy().start()
    try:
        yield proxy
    finally:
        proxy.stop()
