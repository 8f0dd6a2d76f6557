"""Validation of v3 create bodies (fields, required members and enums as in HeyGen's schemas)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_heygen.emulator.tasks import RenderKind
from airflow_heygen.emulator.v3.errors import invalid
from airflow_heygen.emulator.v3.fields import Body, MediaContext, seed_of
from airflow_heygen.emulator.v3.models import JobKind

MAX_BATCH_ITEMS = 100
VIDEO_TYPES = ("avatar", "image", "cinematic_avatar", "studio")
RENDERED_VIDEO_TYPES = ("avatar", "image")
ASPECT_RATIOS = ("16:9", "9:16", "4:5", "5:4", "1:1", "auto")
RESOLUTIONS = ("4k", "1080p", "720p")
ENGINES = ("avatar_iii", "avatar_iv", "avatar_v")
MODES = ("speed", "precision")
_SECONDS_PER_WORD = 0.4  # synthesized speech: about 150 words a minute


@dataclass(frozen=True)
class JobSpec:
    """
    One job a valid create asks for.

    :param kind: the resource.
    :param render_kind: the renderer.
    :param input: the renderer's input.
    :param meta: what reads show back.
    """

    kind: JobKind
    render_kind: RenderKind
    input: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


def _common_meta(body: Body) -> dict[str, Any]:
    body.text("callback_url")
    return {"title": body.text("title"), "callback_id": body.text("callback_id")}


def _speech(body: Body, voice_required: bool) -> dict[str, Any]:
    script = str(body.text("script", required=True))
    voice = body.text("voice_id", required=voice_required) or "default"
    speed = 1.0
    settings = body.child("voice_settings")
    if settings is not None:
        speed = settings.number("speed", 0.5, 1.5) or 1.0
        settings.number("pitch", -50, 50)
        settings.number("volume", 0, 1)
        settings.text("locale")
    seconds = (len(script.split()) * _SECONDS_PER_WORD + 0.5) / speed
    return {"seconds": round(min(max(seconds, 1.0), 600.0), 3), "seed": seed_of(voice, script)}


def parse_video(value: Any, context: MediaContext, prefix: str = "") -> JobSpec:
    """
    A ``POST /v3/videos`` body (``avatar`` and ``image`` render; the other types are refused).

    :param value: the decoded body.
    :param context: where media may come from.
    :param prefix: ``param`` prefix inside a batch.
    :raises V3Error: naming the first invalid field.
    """
    body = Body(value, prefix)
    kind = body.text("type", required=True)
    if kind not in VIDEO_TYPES:
        raise invalid(body.param("type"), f"{body.param('type')} must be one of {', '.join(VIDEO_TYPES)}")
    if kind not in RENDERED_VIDEO_TYPES:
        raise invalid(
            body.param("type"), f"type {kind!r} is not supported by the emulator; use avatar or image"
        )
    meta = _common_meta(body)
    body.choice("aspect_ratio", ASPECT_RATIOS)
    body.choice("resolution", RESOLUTIONS)
    body.choice("expressiveness", ("high", "medium", "low"))
    body.choice("fit", ("contain", "cover"))
    body.text("motion_prompt")
    body.flag("remove_background")
    if body.choice("output_format", ("mp4", "webm")) == "webm":
        raise invalid(body.param("output_format"), "webm output needs an avatar trained with matting")
    background = body.child("background")
    if background is not None:
        background.text("type", required=True)
        if background.choice("type", ("color", "image")) == "color":
            background.text("value", required=True)
    caption = body.child("caption")
    if caption is not None:
        caption.choice("file_format", ("srt",))
        caption.choice("style", ("default",))
    portrait: str | None = None
    if kind == "avatar":
        meta["avatar_id"] = body.text("avatar_id", required=True)
        engine = body.child("engine")
        if engine is not None:
            engine.text("type", required=True)
            engine.choice("type", ENGINES)
    else:
        portrait = body.media("image", context, required=True, base64_ok=True)
    sources = [name for name in ("script", "audio_url", "audio_asset_id") if body.has(name)]
    if not sources:
        raise invalid(body.param("script"), "one of script, audio_url or audio_asset_id is required")
    if len(sources) > 1:
        raise invalid(body.param(sources[1]), f"{sources[0]} and {sources[1]} are mutually exclusive")
    render_input: dict[str, Any] = {"portrait": portrait, "audio": None, "audio_field": None, "speech": None}
    if sources[0] == "script":
        render_input["speech"] = _speech(body, voice_required=kind == "image")
    elif sources[0] == "audio_url":
        render_input["audio"] = body.media_url("audio_url", context)
        render_input["audio_field"] = body.param("audio_url")
    else:
        render_input["audio"] = body.asset_path("audio_asset_id", context)
        render_input["audio_field"] = body.param("audio_asset_id")
    meta["source_type"] = kind
    return JobSpec(JobKind.VIDEO, RenderKind.TALKING_HEAD, render_input, meta)


def _dub_options(body: Body) -> str | None:
    """Check the options lip-syncs and translations share; return ``mode`` (it sets the price)."""
    mode = body.choice("mode", MODES)
    for name in (
        "disable_music_track",
        "enable_caption",
        "enable_dynamic_duration",
        "enable_speech_enhancement",
        "enable_watermark",
        "keep_the_same_format",
    ):
        body.flag(name)
    start = body.number("start_time", 0)
    end = body.number("end_time", 0)
    if start is not None and end is not None and end <= start:
        raise invalid(body.param("end_time"), f"{body.param('end_time')} must be after start_time")
    return mode


def parse_lipsync(value: Any, context: MediaContext, prefix: str = "") -> JobSpec:
    """
    A ``POST /v3/lipsyncs`` body.

    :param value: the decoded body.
    :param context: where media may come from.
    :param prefix: ``param`` prefix inside a batch.
    :raises V3Error: naming the first invalid field.
    """
    body = Body(value, prefix)
    video = body.media("video", context, required=True)
    audio = body.media("audio", context, required=True)
    meta = _common_meta(body)
    meta["folder_id"] = body.text("folder_id")
    meta["mode"] = _dub_options(body)
    body.text("fps_mode")
    render_input = {"video": video, "video_field": body.param("video"), "audio": audio}
    render_input["audio_field"] = body.param("audio")
    return JobSpec(JobKind.LIPSYNC, RenderKind.LIPSYNC, render_input, meta)


def parse_translation(value: Any, context: MediaContext, prefix: str = "") -> list[JobSpec]:
    """
    A ``POST /v3/video-translations`` body: one job per output language.

    :param value: the decoded body.
    :param context: where media may come from.
    :param prefix: ``param`` prefix inside a batch.
    :raises V3Error: naming the first invalid field.
    """
    body = Body(value, prefix)
    video = body.media("video", context, required=True)
    languages = body.values.get("output_languages")
    param = body.param("output_languages")
    if languages is None:
        raise invalid(param, f"{param} is required")
    if not isinstance(languages, list) or not languages:
        raise invalid(param, f"{param} must be a non-empty array of language codes")
    for number, language in enumerate(languages):
        if not isinstance(language, str) or not language.strip():
            raise invalid(f"{param}[{number}]", f"{param}[{number}] must be a language code")
    if len(set(languages)) != len(languages):
        raise invalid(param, f"{param} must not repeat a language")
    audio = body.media("audio", context, required=False)
    body.media("srt", context, required=False)
    meta = _common_meta(body)
    meta["folder_id"] = body.text("folder_id")
    meta["input_language"] = body.text("input_language")
    audio_only = bool(body.flag("translate_audio_only"))
    meta["translate_audio_only"] = audio_only
    meta["mode"] = _dub_options(body)
    body.choice("fps_mode", ("vfr", "cfr", "passthrough"))
    body.choice("srt_role", ("input", "output"))
    body.integer("speaker_num", low=1)
    for name in ("brand_glossary_id", "brand_voice_id"):
        body.text(name)
    body.child("stock_voice_config")
    lipsync = body.values.get("mode") == "precision" and not audio_only
    specs = []
    for language in languages:
        render_input = {
            "video": video,
            "video_field": body.param("video"),
            "audio": audio,
            "audio_field": body.param("audio"),
            "language": language,
            "seed": seed_of("translation", language),
            "lipsync": lipsync,
        }
        specs.append(
            JobSpec(
                JobKind.VIDEO_TRANSLATION,
                RenderKind.TRANSLATION,
                render_input,
                {**meta, "output_language": language},
            )
        )
    return specs


@dataclass(frozen=True)
class BatchSpec:
    """
    A valid batch create.

    :param title: its title.
    :param callback_url: its callback URL.
    :param items: the jobs of each item, in item order.
    """

    title: str | None
    callback_url: str | None
    items: list[list[JobSpec]]


def parse_batch(
    value: Any,
    items_field: str,
    parse_item: Callable[[Any, MediaContext, str], JobSpec | list[JobSpec]],
    context: MediaContext,
) -> BatchSpec:
    """
    A batch body ``{"<items_field>": [<= 100 create bodies], "title", "callback_url"}``.

    :param value: the decoded body.
    :param items_field: ``videos``, ``lipsyncs`` or ``video_translations``.
    :param parse_item: the parser of one item.
    :param context: where media may come from.
    :raises V3Error: naming the first invalid field (``videos[3].avatar_id``).
    """
    body = Body(value)
    title, callback_url = body.text("title"), body.text("callback_url")
    items = body.values.get(items_field)
    if items is None:
        raise invalid(items_field, f"{items_field} is required")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH_ITEMS:
        raise invalid(items_field, f"{items_field} must be an array of 1 to {MAX_BATCH_ITEMS} items")
    parsed = []
    for number, item in enumerate(items):
        specs = parse_item(item, context, f"{items_field}[{number}].")
        parsed.append(specs if isinstance(specs, list) else [specs])
    return BatchSpec(title, callback_url, parsed)
