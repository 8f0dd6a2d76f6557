"""
What a create will cost, before it is sent: the output's expected seconds (from the media it is made
of, read with a few ranged requests, or from the script's length) times the rate of the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_heygen.kinds import dig
from airflow_heygen.spend.rates import Rate, variant_of

# Speech of a script, when no audio gives the length: about 150 words a minute.
WORDS_PER_SECOND = 2.5
# media URL -> its duration in seconds, or None when it cannot be read.
SecondsOf = Callable[[str], float | None]


@dataclass(frozen=True)
class Estimate:
    """
    The expected cost of one create.

    :param kind: the job kind.
    :param variant: which rate of the kind (video type, mode, workflow type).
    :param seconds: the expected output seconds, or None when not known.
    :param seconds_basis: where the seconds come from, in words.
    :param rate: the rate, or None when there is none for this variant.
    """

    kind: str
    variant: str
    seconds: float | None
    seconds_basis: str
    rate: Rate | None

    @property
    def cost_usd(self) -> float | None:
        """The estimate in US dollars; None when the rate or the seconds are unknown."""
        return None if self.rate is None else self.rate.cost(self.seconds)

    @property
    def basis(self) -> str:
        """How the estimate was made, e.g. ``30.0 s (the audio's duration) x $0.0667/s``."""
        if self.rate is None:
            key = f"{self.kind}.{self.variant}"
            return f"no rate for {key}: HeyGen publishes none; set the connection extra rates.{key}"
        if self.rate.per_video is not None:
            return f"{self.rate.text()} ({self.kind} {self.variant})"
        seconds = "unknown seconds" if self.seconds is None else f"{self.seconds:.1f} s"
        return f"{seconds} ({self.seconds_basis}) x {self.rate.text()}"

    def text(self) -> str:
        """The estimate and its basis."""
        cost = self.cost_usd
        return f"{'unknown' if cost is None else f'${cost:.2f}'} = {self.basis}"

    def to_dict(self) -> dict[str, Any]:
        """What results and manifest rows carry of it."""
        cost = self.cost_usd
        return {
            "estimated_cost_usd": None if cost is None else round(cost, 4),
            "estimate_basis": self.basis,
            "rate": None if self.rate is None else self.rate.text(),
        }


def _url(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value
    if isinstance(value, Mapping):
        return _url(value.get("url"))
    return None


def _script_seconds(script: Any) -> float | None:
    words = len(re.findall(r"\S+", script)) if isinstance(script, str) else 0
    return words / WORDS_PER_SECOND if words else None


def expected_seconds(kind: str, body: Mapping[str, Any], seconds_of: SecondsOf) -> tuple[float | None, str]:
    """
    The output's expected seconds and their basis: the target video's duration (face swap, lip-sync,
    translation), the audio's (avatar videos; a script's length in words otherwise).

    :param kind: the job kind.
    :param body: the create body (a workflows one: ``{"workflow_type", "input"}``).
    :param seconds_of: reads a media URL's duration.
    """
    if kind == "workflow":
        data = body.get("input") or {}
        target = _url(data.get("target_video_url"))
        if target:
            return seconds_of(target), "the target video's duration"
        audios = [_url(entry) for entry in data.get("audio_list") or () if isinstance(entry, Mapping)]
        durations = [seconds_of(url) for url in audios if url]
        if durations and None not in durations:
            return sum(d for d in durations if d is not None), "the audio's duration"
        return None, "no media to measure"
    if kind in ("lipsync", "video_translation"):
        url = _url(dig(body, ("video",)))
        return (seconds_of(url) if url else None), "the video's duration"
    audio = _url(body.get("audio_url")) or _url(body.get("audio"))
    if audio:
        return seconds_of(audio), "the audio's duration"
    seconds = _script_seconds(body.get("script"))
    return seconds, f"the script at {WORDS_PER_SECOND:g} words/s"


def estimate(
    kind: str,
    body: Mapping[str, Any],
    rates: Mapping[tuple[str, str], Rate],
    seconds_of: SecondsOf,
    expected: float | None = None,
) -> Estimate:
    """
    The estimate of one create.

    :param kind: the job kind.
    :param body: its checked body.
    :param rates: the rate table (:func:`~airflow_heygen.spend.rates.rate_table`).
    :param seconds_of: reads a media URL's duration.
    :param expected: the output seconds the user gave (``expected_seconds``), which win.
    """
    variant = variant_of(kind, body)
    rate = rates.get((kind, variant))
    seconds: float | None
    if expected is not None:
        seconds, basis = float(expected), "expected_seconds"
    elif rate is not None and rate.per_video is None:
        seconds, basis = expected_seconds(kind, body, seconds_of)
    else:
        seconds, basis = None, "not needed"
    return Estimate(kind, variant, seconds, basis, rate)


def cached_seconds(read: SecondsOf) -> SecondsOf:
    """``read``, asked once per URL (a campaign's items share their target video)."""
    known: dict[str, float | None] = {}

    def seconds_of(url: str) -> float | None:
        if url not in known:
            known[url] = read(url)
        return known[url]

    return seconds_of


def seconds_over_http(url: str) -> float | None:
    """A media URL's duration from its header (ranged reads); None when it cannot be read."""
    import requests

    from airflow_heygen.spend.durations import http_range_reader, media_seconds

    try:
        return media_seconds(http_range_reader(url))
    except (requests.RequestException, ValueError, IndexError):
        return None


def finished_cost(
    kind: str,
    body: Mapping[str, Any],
    rates: Mapping[tuple[str, str], Rate],
    duration: Any,
    video_url: str | None,
) -> tuple[float | None, Rate | None]:
    """
    What a finished job cost, by the rate table: its rate times the video's duration (as HeyGen's read
    reports it; else read from the video's header, only where a per-second rate needs it).

    :param kind: the job kind.
    :param body: the body it was created with.
    :param rates: the rate table.
    :param duration: the duration HeyGen's read reported, if any.
    :param video_url: the finished video's URL.
    :return: the cost (None when unknown) and the rate used.
    """
    rate = rates.get((kind, variant_of(kind, body)))
    if rate is None or rate.per_video is not None:
        return (None if rate is None else rate.per_video), rate
    seconds = (
        float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None
    )
    if seconds is None and video_url:
        seconds = seconds_over_http(video_url)
    return rate.cost(seconds), rate


def spent(
    kind: str,
    body: Mapping[str, Any],
    rates: Mapping[tuple[str, str], Rate],
    outputs: Sequence[tuple[Any, str | None]],
    estimated: Mapping[str, Any],
) -> dict[str, Any]:
    """
    The cost fields of a task's result: its estimate, what its jobs cost (None unless every one is
    known) and the rate.

    :param kind: the jobs' kind.
    :param body: the body they were created with.
    :param rates: the rate table.
    :param outputs: each finished job's (reported duration, video URL).
    :param estimated: the estimate made before the create (``estimated_cost_usd``), if any.
    """
    costs = [finished_cost(kind, body, rates, duration, url) for duration, url in outputs]
    known = [cost for cost, _ in costs if cost is not None]
    rate = costs[0][1] if costs else None
    return {
        "estimated_cost_usd": estimated.get("estimated_cost_usd"),
        "cost_usd": round(sum(known), 4) if known and len(known) == len(costs) else None,
        "rate": None if rate is None else rate.text(),
    }
