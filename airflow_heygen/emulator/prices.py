"""
HeyGen's price list as the emulator charges it (HeyGen's side: it has its own list, independent of
the provider's estimates). Prices are per output second, from HeyGen's API pricing page (2026);
face swap and the other workflows are not published there, so their rate is a setting.
"""

from __future__ import annotations

from dataclasses import dataclass

# type: avatar (Avatar IV/V) and type: image (photo avatar), per output second.
VIDEO_RATES_USD_PER_S = {"avatar": 0.0667, "image": 0.05}
# Cinematic avatar videos cost a flat price, whatever their length.
VIDEO_FLAT_USD = {"cinematic_avatar": 7.0}
LIPSYNC_RATES_USD_PER_S = {"speed": 0.0333, "precision": 0.0667}
TRANSLATION_RATES_USD_PER_S = {"speed": 0.0167, "precision": 0.0667}
# HeyGen's default mode of lip-syncs and translations.
DEFAULT_MODE = "speed"
DEFAULT_FACESWAP_RATE_USD_PER_S = 0.05


@dataclass(frozen=True)
class Price:
    """
    What one job costs.

    :param usd: the amount in US dollars.
    :param seconds: the output seconds it was priced on.
    """

    usd: float
    seconds: float


def video_price(video_type: str, seconds: float) -> Price:
    """
    A ``POST /v3/videos`` job.

    :param video_type: its ``type`` (``avatar``, ``image``, ``cinematic_avatar``; others as avatar).
    :param seconds: its output seconds.
    """
    if video_type in VIDEO_FLAT_USD:
        return Price(VIDEO_FLAT_USD[video_type], seconds)
    return Price(VIDEO_RATES_USD_PER_S.get(video_type, VIDEO_RATES_USD_PER_S["avatar"]) * seconds, seconds)


def lipsync_price(mode: str | None, seconds: float) -> Price:
    """
    A ``POST /v3/lipsyncs`` job.

    :param mode: ``speed`` (default) or ``precision``.
    :param seconds: its output seconds.
    """
    return Price(LIPSYNC_RATES_USD_PER_S[mode or DEFAULT_MODE] * seconds, seconds)


def translation_price(mode: str | None, seconds: float) -> Price:
    """
    One output language of a ``POST /v3/video-translations``.

    :param mode: ``speed`` (default) or ``precision``.
    :param seconds: its output seconds.
    """
    return Price(TRANSLATION_RATES_USD_PER_S[mode or DEFAULT_MODE] * seconds, seconds)


def workflow_price(rate_usd_per_s: float, seconds: float) -> Price:
    """
    A workflows API execution (face swap, avatar inference).

    :param rate_usd_per_s: the ``faceswap_rate_usd_per_s`` setting.
    :param seconds: its output seconds.
    """
    return Price(rate_usd_per_s * seconds, seconds)
