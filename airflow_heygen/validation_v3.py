"""
Checks of v3 create bodies, run before anything is sent, and the builders of the bodies the
operators make from keyword arguments.

The rules follow the request schemas of HeyGen's ``operations.json``: required fields, the ``type``
discriminators, enums, media inputs (``{"type": "url", "url"}``, ``{"type": "asset_id", "asset_id"}``
and, for images, ``{"type": "base64", "media_type", "data"}``), http(s) URLs, and what the reference
says in prose (exactly one audio source, ``voice_id`` with ``script`` for image videos, a non-empty
``output_languages``). Each error is a :class:`HeyGenInputError` naming the field's path in the body.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.validation import require_http_url, require_json, require_text

VIDEO_TYPES = ("avatar", "image", "cinematic_avatar", "studio")
AUDIO_SOURCES = ("script", "audio_url", "audio_asset_id")
VIDEO_ENUMS: Mapping[str, tuple[str, ...]] = {
    "aspect_ratio": ("16:9", "9:16", "4:5", "5:4", "1:1", "auto"),
    "resolution": ("4k", "1080p", "720p"),
    "output_format": ("mp4", "webm"),
    "expressiveness": ("high", "medium", "low"),
    "fit": ("contain", "cover"),
}
MODES = ("speed", "precision")
TRANSLATION_ENUMS: Mapping[str, tuple[str, ...]] = {
    "mode": MODES,
    "fps_mode": ("vfr", "cfr", "passthrough"),
    "srt_role": ("input", "output"),
}
NUMBERS = ("start_time", "end_time")
URL_FIELDS = ("callback_url",)


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _object(field: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise HeyGenInputError(field, f"must be an object, got {type(value).__name__} {_describe(value)}")
    return value


def _enum(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise HeyGenInputError(field, f"must be one of {', '.join(allowed)}; got {_describe(value)}")


def _media(field: str, value: object, *, base64: bool = False) -> None:
    """A media input: ``{"type": "url", "url"}``, ``{"type": "asset_id", "asset_id"}`` (or base64)."""
    media = _object(field, value)
    kinds = ("url", "asset_id", "base64") if base64 else ("url", "asset_id")
    kind = media.get("type")
    _enum(f"{field}.type", kind, kinds)
    if kind is None:
        raise HeyGenInputError(f"{field}.type", f"is required: one of {', '.join(kinds)}")
    if kind == "url":
        require_http_url(f"{field}.url", media.get("url"))
    elif kind == "asset_id":
        require_text(f"{field}.asset_id", media.get("asset_id"))
    else:
        require_text(f"{field}.media_type", media.get("media_type"))
        require_text(f"{field}.data", media.get("data"))


def _optional_media(body: Mapping[str, Any], *fields: str, base64: bool = False) -> None:
    for name in fields:
        if body.get(name) is not None:
            _media(name, body[name], base64=base64)


def _common(body: object, enums: Mapping[str, tuple[str, ...]]) -> Mapping[str, Any]:
    """The checks every body gets: an object, JSON, not huge; enums, numbers and URLs."""
    # A field set to None is a field not given (templated arguments render missing values so).
    checked = {key: value for key, value in _object("body", body).items() if value is not None}
    require_json("body", checked)
    for name, allowed in enums.items():
        _enum(name, checked.get(name), allowed)
    for name in NUMBERS:
        value = checked.get(name)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise HeyGenInputError(name, f"must be a number of seconds >= 0, got {_describe(value)}")
    start, end = checked.get("start_time"), checked.get("end_time")
    if start is not None and end is not None and end <= start:
        raise HeyGenInputError("end_time", f"must be after start_time ({start}), got {end}")
    for name in URL_FIELDS:
        if checked.get(name) is not None:
            require_http_url(name, checked[name])
    return checked


def validate_video_body(body: object) -> dict[str, Any]:
    """
    Check a ``POST /v3/videos`` body.

    :param body: the body.
    :raises HeyGenInputError: naming the field.
    """
    checked = _common(body, VIDEO_ENUMS)
    kind = checked.get("type")
    if kind is None:
        raise HeyGenInputError("type", f"is required: one of {', '.join(VIDEO_TYPES)}")
    _enum("type", kind, VIDEO_TYPES)
    if kind == "avatar":
        require_text("avatar_id", checked.get("avatar_id"))
    elif kind == "image":
        _media("image", checked.get("image"), base64=True)
    elif kind == "cinematic_avatar":
        require_text("prompt", checked.get("prompt"))
        ids = checked.get("avatar_id")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.strip() for i in ids):
            raise HeyGenInputError("avatar_id", "must be a non-empty list of avatar ids for cinematic_avatar")
    else:
        scenes = checked.get("scenes")
        if not isinstance(scenes, list) or not scenes:
            raise HeyGenInputError("scenes", "must be a non-empty list of scenes for a studio video")
        for index, scene in enumerate(scenes):
            require_text(f"scenes[{index}].type", _object(f"scenes[{index}]", scene).get("type"))
    if kind in ("avatar", "image"):
        given = [name for name in AUDIO_SOURCES if checked.get(name) is not None]
        if len(given) != 1:
            shown = " and ".join(given) if given else "none"
            raise HeyGenInputError(
                given[-1] if given else "script",
                f"give exactly one of {', '.join(AUDIO_SOURCES)} (the video's speech); got {shown}",
            )
        source = given[0]
        if source == "audio_url":
            require_http_url("audio_url", checked["audio_url"])
        else:
            require_text(source, checked[source])
        if source == "script" and kind == "image":
            require_text("voice_id", checked.get("voice_id"))
        if checked.get("voice_id") is not None:
            require_text("voice_id", checked["voice_id"])
    background = checked.get("background")
    if background is not None:
        _enum("background.type", _object("background", background).get("type"), ("color", "image"))
        if background.get("url") is not None:
            require_http_url("background.url", background["url"])
    return dict(checked)


def validate_lipsync_body(body: object) -> dict[str, Any]:
    """
    Check a ``POST /v3/lipsyncs`` body.

    :param body: the body.
    :raises HeyGenInputError: naming the field.
    """
    checked = _common(body, {"mode": MODES})
    _media("video", checked.get("video"))
    _media("audio", checked.get("audio"))
    return dict(checked)


def validate_translation_body(body: object) -> dict[str, Any]:
    """
    Check a ``POST /v3/video-translations`` body.

    :param body: the body.
    :raises HeyGenInputError: naming the field.
    """
    checked = _common(body, TRANSLATION_ENUMS)
    _media("video", checked.get("video"))
    languages = checked.get("output_languages")
    if not isinstance(languages, list) or not languages:
        raise HeyGenInputError(
            "output_languages", f"must be a non-empty list of language codes, got {_describe(languages)}"
        )
    for index, language in enumerate(languages):
        require_text(f"output_languages[{index}]", language)
    if len(set(languages)) != len(languages):
        raise HeyGenInputError("output_languages", f"must not repeat a language: {_describe(languages)}")
    _optional_media(checked, "audio", "srt")
    return dict(checked)


VALIDATORS = {
    "video": validate_video_body,
    "lipsync": validate_lipsync_body,
    "video_translation": validate_translation_body,
}


def validate_body(kind: str, body: object) -> dict[str, Any]:
    """
    Check a create body of ``kind`` (``video``, ``lipsync``, ``video_translation``).

    :param kind: the job kind.
    :param body: the body.
    :raises HeyGenInputError: naming the field.
    """
    return VALIDATORS[kind](body)


def url_media(url: str | None) -> dict[str, str] | None:
    """``{"type": "url", "url": url}``, or None for no URL."""
    return None if url is None else {"type": "url", "url": url}


def build_body(base: Mapping[str, Any] | None, field: str, **fields: Any) -> dict[str, Any]:
    """
    A body from ``base`` (the operator's ``body``) and keyword fields (those not None win).

    :param base: the ``body`` argument, or None.
    :param field: the argument name of ``base``, for the error when it is not a dict.
    :param fields: fields from the operator's keyword arguments.
    """
    if base is not None and not isinstance(base, Mapping):
        raise HeyGenInputError(field, f"must be a dict, got {type(base).__name__}")
    body = dict(base or {})
    body.update({name: value for name, value in fields.items() if value is not None})
    return body
