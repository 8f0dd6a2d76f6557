"""What the settings dataclasses share when ``POST /_admin/faults`` (or the environment) changes them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def current_values(
    settings: object, names: Collection[str], changes: Mapping[str, Any], kind: str
) -> dict[str, Any]:
    """
    The fields of some settings by name, once the changes are known to name only those fields.

    :param settings: a frozen settings dataclass.
    :param names: its fields.
    :param changes: the fields to change.
    :param kind: what the error calls the settings (``fault``, ``billing``).
    :raises ValueError: naming the unknown fields among the changes.
    """
    unknown = set(changes) - set(names)
    if unknown:
        raise ValueError(f"unknown {kind} setting(s): {', '.join(sorted(unknown))}")
    return {name: getattr(settings, name) for name in names}
