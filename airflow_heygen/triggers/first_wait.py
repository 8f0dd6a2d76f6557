"""
The learned first wait of the triggers whose reads are one request per job (kinds without a bulk
status endpoint: workflows executions): how long recent jobs of a workflow type took, so a new
trigger skips the first reads that would almost surely find its job still running (``docs/waiting.md``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque

# The learned first wait: how many recent completions of a workflow type a triggerer remembers, how
# many it needs before it skips polls, and which quantile of their durations the skip reaches.
REMEMBERED_COMPLETIONS = 100
MIN_COMPLETIONS = 8
EARLY_QUANTILE = 0.05


class CompletionTimes:
    """
    How long recent executions took to complete, per workflow type, as the triggers of one event
    loop (one triggerer) saw it: from a trigger's first poll to the poll that found it completed.
    """

    def __init__(self) -> None:
        self._seconds: dict[str, deque[float]] = {}

    def record(self, workflow_type: str | None, seconds: float) -> None:
        """
        Remember one completion.

        :param workflow_type: the execution's workflow type.
        :param seconds: time from the trigger's first poll to the poll that saw it completed.
        """
        key = workflow_type or ""
        if key not in self._seconds:
            self._seconds[key] = deque(maxlen=REMEMBERED_COMPLETIONS)
        self._seconds[key].append(seconds)

    def early(self, workflow_type: str | None) -> float | None:
        """
        Seconds after a first poll before which few executions of this type complete (the
        ``EARLY_QUANTILE`` of the remembered durations); None until ``MIN_COMPLETIONS`` were seen.

        :param workflow_type: the execution's workflow type.
        """
        seconds = self._seconds.get(workflow_type or "")
        if seconds is None or len(seconds) < MIN_COMPLETIONS:
            return None
        return sorted(seconds)[int(EARLY_QUANTILE * len(seconds))]


_COMPLETION_TIMES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CompletionTimes] = (
    weakref.WeakKeyDictionary()
)


def completion_times() -> CompletionTimes:
    """The completion times learned on the running event loop."""
    loop = asyncio.get_running_loop()
    if loop not in _COMPLETION_TIMES:
        _COMPLETION_TIMES[loop] = CompletionTimes()
    return _COMPLETION_TIMES[loop]
