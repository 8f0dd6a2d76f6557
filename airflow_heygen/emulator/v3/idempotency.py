"""
``Idempotency-Key`` on v3 creates: the same key on the same endpoint within 24 hours replays the
first successful answer (same status and body, no new job), whatever the body; a duplicate that
arrives while the first is still being processed gets 409 ``request_in_progress``.

Only successful answers are remembered: an error (validation, 402, ...) releases the key, so the
corrected request can be sent again with it. Answers persist in the data dir, so a restarted
emulator still replays them.
"""

from __future__ import annotations

import enum
import hashlib
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from airflow_heygen.emulator.store import RecordStore
from airflow_heygen.emulator.v3.errors import V3Error, invalid

HEADER = "Idempotency-Key"
TTL_SECONDS = 24 * 3600
_KEY = re.compile(r"^[A-Za-z0-9_:.-]{1,255}$")


def idempotency_key(request: web.Request) -> str | None:
    """
    The request's ``Idempotency-Key``, or None when it has none.

    :param request: the request.
    :raises V3Error: 400 ``invalid_parameter`` (param ``Idempotency-Key``) when it is not 1-255
        characters of ``[A-Za-z0-9_:.-]``.
    """
    if HEADER not in request.headers:
        return None
    key = request.headers[HEADER]
    if not _KEY.match(key):
        raise invalid(HEADER, f"{HEADER} must be 1-255 characters of letters, digits, '_', ':', '.' or '-'")
    return key


@dataclass(frozen=True)
class RememberedAnswer:
    """
    The first successful answer to a key on one endpoint.

    :param scope: method and concrete path, e.g. ``POST /v3/videos`` (path parameters included).
    :param key: the ``Idempotency-Key``.
    :param status: HTTP status of the answer.
    :param body: its JSON body.
    :param created_at: Unix time it was given.
    """

    scope: str
    key: str
    status: int
    body: Any
    created_at: float

    @property
    def record_id(self) -> str:
        """A file-name-safe digest of scope and key."""
        return answer_id(self.scope, self.key)

    def to_record(self) -> dict[str, Any]:
        """The JSON record stored on disk."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RememberedAnswer:
        """
        Rebuild from a stored record.

        :param record: what :meth:`to_record` returned.
        """
        return cls(**record)


def answer_id(scope: str, key: str) -> str:
    """
    The record id of a scope and key.

    :param scope: method and path.
    :param key: the key.
    """
    return hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:40]


class KeyState(str, enum.Enum):
    """What is known about a key on an endpoint."""

    NEW = "new"
    IN_FLIGHT = "in_flight"
    ANSWERED = "answered"


class IdempotencyBook:
    """
    Remembered answers (persisted) and keys in flight (in memory: a restart ends every request).

    :param folder: where remembered answers are stored.
    :param ttl: seconds an answer is replayed.
    """

    def __init__(self, folder: Path, ttl: float = TTL_SECONDS) -> None:
        self._store: RecordStore[RememberedAnswer] = RecordStore(folder, RememberedAnswer.from_record)
        self._ttl = ttl
        self._in_flight: set[str] = set()

    def load(self) -> int:
        """
        Read the remembered answers; expired ones are ignored (and dropped at their next use).

        :return: how many are still replayable.
        """
        now = time.time()
        return sum(1 for answer in self._store.load_records() if now - answer.created_at < self._ttl)

    def state(self, scope: str, key: str) -> tuple[KeyState, RememberedAnswer | None]:
        """
        Whether the key is new, in flight or answered on this endpoint.

        :param scope: method and path.
        :param key: the key.
        """
        record_id = answer_id(scope, key)
        if record_id in self._in_flight:
            return KeyState.IN_FLIGHT, None
        answer = self._store.get(record_id)
        if answer is not None and time.time() - answer.created_at < self._ttl:
            return KeyState.ANSWERED, answer
        return KeyState.NEW, None

    def claim(self, scope: str, key: str) -> None:
        """
        Mark the key in flight (call right after :meth:`state` said new, with no await between).

        :param scope: method and path.
        :param key: the key.
        """
        self._in_flight.add(answer_id(scope, key))

    def release(self, scope: str, key: str) -> None:
        """
        Forget an in-flight key without an answer (the request failed).

        :param scope: method and path.
        :param key: the key.
        """
        self._in_flight.discard(answer_id(scope, key))

    async def remember(self, scope: str, key: str, status: int, body: Any) -> None:
        """
        Store the answer of an in-flight key (on disk before it returns), then end its flight.

        :param scope: method and path.
        :param key: the key.
        :param status: HTTP status.
        :param body: JSON body.
        """
        try:
            await self._store.put(RememberedAnswer(scope, key, status, body, time.time()))
        finally:
            self.release(scope, key)

    def close(self) -> None:
        """Finish pending writes."""
        self._store.close()


def in_flight_error() -> V3Error:
    """The 409 for a duplicate of a request still being processed."""
    return V3Error(
        409,
        "request_in_progress",
        "A request with this Idempotency-Key is still being processed; retry later",
        HEADER,
    )
