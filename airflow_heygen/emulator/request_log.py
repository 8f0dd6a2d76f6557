"""JSON-lines log of /v1 requests: method, path with query, body and status; never headers."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import IO, Any

_MAX_BODY = 65536


class RequestLog:
    """
    Appends one JSON object per request to a file.

    :param path: the log file (created if missing, appended to otherwise).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def write(self, method: str, path: str, body: str, status: int) -> None:
        """
        Log one request.

        :param method: HTTP method.
        :param path: path with query string.
        :param body: request body text (JSON bodies are logged decoded).
        :param status: response status code.
        """
        decoded: Any = body[:_MAX_BODY] or None
        if body:
            with contextlib.suppress(ValueError):
                decoded = json.loads(body)
        entry = {
            "time": round(time.time(), 3),
            "method": method,
            "path": path,
            "body": decoded,
            "status": status,
        }
        self._file.write(json.dumps(entry, sort_keys=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()
