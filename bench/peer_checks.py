"""
The response check handed to the HTTP provider's ``HttpEventTrigger`` (by dotted path): the closest it
comes to waiting on a HeyGen execution's JSON status. The trigger re-imports this module on every
poll, so it is kept tiny.
"""

from __future__ import annotations

from typing import Any

TERMINAL = ("completed", "failed")


async def execution_finished(response: Any) -> bool:
    """Whether the status response says the execution ended."""
    return response.json()["data"]["status"] in TERMINAL
