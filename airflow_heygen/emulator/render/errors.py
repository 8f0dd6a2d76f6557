"""Errors raised by the renderers."""

from __future__ import annotations


class MediaError(Exception):
    """Input media that cannot be rendered; the message is shown to API clients as the failure reason."""
