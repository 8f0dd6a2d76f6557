"""Counters served by ``GET /_admin/stats``."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class StatsRecorder:
    """Counts requests per endpoint and status code, accepted submissions and injected faults."""

    def __init__(self) -> None:
        self._requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._submissions: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    def record_request(self, endpoint: str, status: int) -> None:
        """
        Count one answered request.

        :param endpoint: method and route pattern, e.g. ``GET /v1/workflows/executions/{execution_id}``.
        :param status: HTTP status code.
        """
        self._requests[endpoint][str(status)] += 1

    def record_submission(self, workflow_type: str) -> None:
        """
        Count one accepted submission.

        :param workflow_type: its workflow type.
        """
        self._submissions[workflow_type] += 1

    def record_fault(self, kind: str) -> None:
        """
        Count one injected fault.

        :param kind: ``rate_limited``, ``server_error`` or ``failed_job``.
        """
        self._faults[kind] += 1

    def reset(self) -> None:
        """Zero every counter."""
        self._requests.clear()
        self._submissions.clear()
        self._faults.clear()

    def snapshot(self, executions_by_status: dict[str, int]) -> dict[str, Any]:
        """
        The counters as JSON.

        :param executions_by_status: current execution counts per status (not reset by :meth:`reset`).
        """
        return {
            "submissions": dict(self._submissions),
            "requests": {endpoint: dict(codes) for endpoint, codes in sorted(self._requests.items())},
            "faults": {
                kind: self._faults.get(kind, 0) for kind in ("rate_limited", "server_error", "failed_job")
            },
            "executions": executions_by_status,
        }
