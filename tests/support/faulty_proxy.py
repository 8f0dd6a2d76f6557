"""A TCP proxy on 127.0.0.1 that refuses, resets or stalls connections on demand: the network cut."""

from __future__ import annotations

import contextlib
import enum
import socket
import struct
import threading
import time


class CutMode(str, enum.Enum):
    """How :class:`FaultyProxy` breaks the network."""

    REFUSE = "refuse"  # nothing listens: connection refused
    RESET = "reset"  # connections are accepted, read, then reset (RST)
    STALL = "stall"  # connections are accepted and read, and never answered


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset instead of an orderly shutdown."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultyProxy:
    """
    A TCP proxy on 127.0.0.1 in front of ``upstream_port`` that can cut the network in three ways.

    :meth:`cut` resets every open connection and then refuses, resets or stalls new ones until
    :meth:`restore`; ``counts`` says how many connections were reset or stalled.

    :param upstream_port: the port of the server behind it.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode: CutMode | None = None
        self.counts = {"reset": 0, "stalled": 0}
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        while True:
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        mode = self.mode
        if mode is CutMode.REFUSE:  # accepted just before the listener closed
            _reset(client)
            return
        if mode is CutMode.RESET:
            with contextlib.suppress(OSError):
                client.settimeout(2)
                client.recv(65536)
            self._count("reset")
            _reset(client)
            return
        with self._lock:
            self._open.add(client)
        if mode is CutMode.STALL:
            self._count("stalled")
            with contextlib.suppress(OSError):
                while client.recv(65536):
                    pass
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._open.add(upstream)
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            for sock in (source, sink):
                _reset(sock)

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def cut(self, mode: CutMode) -> None:
        """
        Break the network: reset every open connection, then treat new ones according to ``mode``.

        :param mode: refuse, reset or stall.
        """
        self.mode = mode
        if mode is CutMode.REFUSE:
            self._stop_listening()
        with self._lock:
            doomed, self._open = list(self._open), set()
        for sock in doomed:
            _reset(sock)

    def restore(self) -> None:
        """Let connections through again (stalled ones are dropped; the listener comes back on its port)."""
        self.mode = None
        with self._lock:
            stalled, self._open = list(self._open), set()
        for sock in stalled:
            _reset(sock)
        if self._listener is None:
            self._listen()

    def _stop_listening(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave it accepting.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._stop_listening()
        with self._lock:
            doomed, self._open = list(self._open), set()
        for sock in doomed:
            _reset(sock)
