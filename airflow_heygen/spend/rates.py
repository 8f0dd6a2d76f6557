"""
The one rate table: what HeyGen charges per output second (or per video) for each kind of job, with
HeyGen's 2026 figures and their source, overridable in the connection extra's ``rates``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_heygen.exceptions import HeyGenInputError

# Where the figures come from, and when they were read.
RATES_SOURCE = "HeyGen API pricing page (heygen.com/api-pricing), read 2026-07"


@dataclass(frozen=True)
class Rate:
    """
    A price: per output second, or per video.

    :param per_second: US dollars per second of output video.
    :param per_video: US dollars per video, whatever its length.
    :param source: where the figure comes from.
    """

    per_second: float | None = None
    per_video: float | None = None
    source: str = RATES_SOURCE

    def cost(self, seconds: float | None) -> float | None:
        """The cost of a video of ``seconds`` (None where a per-second rate meets unknown seconds)."""
        if self.per_video is not None:
            return self.per_video
        if self.per_second is None or seconds is None:
            return None
        return self.per_second * seconds

    def text(self) -> str:
        """The rate in words, e.g. ``$0.0667/s``."""
        return f"${self.per_video:g}/video" if self.per_video is not None else f"${self.per_second:g}/s"


# (kind, variant) -> rate. The variant is the v3 video's ``type``, a lip-sync's or translation's
# ``mode``, or a workflow's type. Face swap (and HeyGen's other workflows) is not priced publicly: its
# rate comes from the connection extra, or the estimate says "unknown".
RATES: Mapping[tuple[str, str], Rate] = {
    ("video", "avatar"): Rate(per_second=0.0667),
    ("video", "image"): Rate(per_second=0.05),
    ("video", "cinematic_avatar"): Rate(per_video=7.0),
    ("lipsync", "speed"): Rate(per_second=0.0333),
    ("lipsync", "precision"): Rate(per_second=0.0667),
    ("video_translation", "speed"): Rate(per_second=0.0167),
    ("video_translation", "precision"): Rate(per_second=0.0667),
}
# The variant a body means when it does not say (HeyGen's documented defaults).
DEFAULT_VARIANTS = {"video": "avatar", "lipsync": "speed", "video_translation": "speed"}


def variant_of(kind: str, body: Mapping[str, Any]) -> str:
    """
    Which rate of ``kind`` a create body pays.

    :param kind: the job kind (``workflow`` for the workflows API).
    :param body: the create body (a workflows one: ``{"workflow_type", "input"}``).
    """
    if kind == "workflow":
        return str(body.get("workflow_type"))
    field = "type" if kind == "video" else "mode"
    value = body.get(field)
    return str(value) if isinstance(value, str) and value else DEFAULT_VARIANTS.get(kind, "")


def _rate_from(name: str, value: Any) -> Rate:
    where = f"connection extra rates.{name}"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return Rate(per_second=float(value), source="connection extra")
    if isinstance(value, Mapping) and len(value) == 1:
        ((unit, amount),) = value.items()
        if unit in ("per_second", "per_video") and isinstance(amount, (int, float)) and amount >= 0:
            return Rate(**{unit: float(amount)}, source="connection extra")
    raise HeyGenInputError(where, f"must be USD per second, or {{'per_video': USD}}, got {value!r}")


def rate_table(extra: Mapping[str, Any] | None) -> dict[tuple[str, str], Rate]:
    """
    The table, with the connection extra's ``rates`` over it: keys ``<kind>.<variant>`` (e.g.
    ``video.avatar``, ``workflow.FaceswapNode``), values USD per second or ``{"per_video": USD}``.

    :param extra: the HeyGen connection's extra.
    :raises HeyGenInputError: naming the bad entry.
    """
    table = dict(RATES)
    overrides = (extra or {}).get("rates") or {}
    if not isinstance(overrides, Mapping):
        raise HeyGenInputError("connection extra rates", f"must be an object, got {overrides!r}")
    for name, value in overrides.items():
        kind, _, variant = str(name).partition(".")
        if not variant:
            raise HeyGenInputError(
                f"connection extra rates.{name}", "keys are <kind>.<variant>, e.g. video.avatar"
            )
        table[(kind, variant)] = _rate_from(str(name), value)
    return table
