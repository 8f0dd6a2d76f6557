"""
Operators for HeyGen API v3: avatar videos, lip-syncs, video translations and asset uploads.

Each create is sent exactly once per task instance, whatever fails in between (see
:class:`~airflow_heygen.operators.v3_base.HeyGenJobOperator` and ``docs/v3.md``). Face swap has no v3
endpoint: it stays on the workflows API (:class:`~airflow_heygen.operators.heygen.FaceswapOperator`),
with the same connection.

Importing this module stays cheap for DAG parsing: hooks and triggers are imported when a task runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_heygen.exceptions import HeyGenExecutionError, HeyGenInputError
from airflow_heygen.kinds import Job, JobStatus
from airflow_heygen.operators.v3_base import (
    CERTAIN_REFUSALS,
    HeyGenJobOperator,
    content_fingerprint,
    submission_key,
)
from airflow_heygen.state import SubmissionRecord, TaskState, task_state_store
from airflow_heygen.validation import require_text
from airflow_heygen.validation_v3 import (
    build_body,
    url_media,
    validate_lipsync_body,
    validate_translation_body,
    validate_video_body,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "HeyGenLipsyncOperator",
    "HeyGenUploadAssetOperator",
    "HeyGenVideoOperator",
    "HeyGenVideoTranslationOperator",
]

COMMON_TEMPLATE_FIELDS = ("body", "heygen_conn_id")


class HeyGenVideoOperator(HeyGenJobOperator):
    """
    Make a v3 video (``POST /v3/videos``) and wait for it.

    ``body`` is any documented body (``type`` ``avatar``, ``image``, ``cinematic_avatar``,
    ``studio``); the keyword arguments build (or complete) a ``type: "avatar"`` body. The speech is
    ``script`` (with ``voice_id``) or ``audio_url``, not both. Returns ``{"kind": "video", "id",
    "status", "video_url", "output"}`` (``output``: the final ``GET /v3/videos/{id}`` data); the id is
    pushed as XCom ``job_id`` once known.

    :param body: a ``POST /v3/videos`` body (templated).
    :param avatar_id: the avatar (templated).
    :param audio_url: http(s) URL of the speech (templated).
    :param script: text to speak (templated).
    :param voice_id: the voice of ``script`` (templated).
    :param title: the video's title (templated).
    :param kwargs: the common arguments of :class:`~airflow_heygen.operators.v3_base.HeyGenJobOperator`.
    """

    kind = "video"
    template_fields: Sequence[str] = (
        *COMMON_TEMPLATE_FIELDS,
        "avatar_id",
        "audio_url",
        "script",
        "voice_id",
        "title",
    )
    template_fields_renderers = {"body": "json"}

    def __init__(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        avatar_id: str | None = None,
        audio_url: str | None = None,
        script: str | None = None,
        voice_id: str | None = None,
        title: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.body = body
        self.avatar_id = avatar_id
        self.audio_url = audio_url
        self.script = script
        self.voice_id = voice_id
        self.title = title

    def request_body(self) -> dict[str, Any]:
        """The body: ``body`` completed by the keyword arguments (``type`` defaults to ``avatar``)."""
        body = build_body(
            self.body,
            "body",
            avatar_id=self.avatar_id,
            audio_url=self.audio_url,
            script=self.script,
            voice_id=self.voice_id,
            title=self.title,
        )
        body.setdefault("type", "avatar")
        return validate_video_body(body)


class HeyGenLipsyncOperator(HeyGenJobOperator):
    """
    Lip-sync a video to new audio (``POST /v3/lipsyncs``) and wait for it.

    Returns ``{"kind": "lipsync", "id", "status", "video_url", "output"}``.

    :param body: a ``POST /v3/lipsyncs`` body (templated).
    :param video_url: http(s) URL of the video (templated).
    :param audio_url: http(s) URL of the new audio (templated).
    :param mode: ``speed`` or ``precision`` (templated).
    :param kwargs: the common arguments of :class:`~airflow_heygen.operators.v3_base.HeyGenJobOperator`.
    """

    kind = "lipsync"
    template_fields: Sequence[str] = (*COMMON_TEMPLATE_FIELDS, "video_url", "audio_url", "mode")
    template_fields_renderers = {"body": "json"}

    def __init__(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        video_url: str | None = None,
        audio_url: str | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.body = body
        self.video_url = video_url
        self.audio_url = audio_url
        self.mode = mode

    def request_body(self) -> dict[str, Any]:
        """The body: ``body`` completed by the keyword arguments."""
        body = build_body(
            self.body,
            "body",
            video=url_media(self.video_url),
            audio=url_media(self.audio_url),
            mode=self.mode,
        )
        return validate_lipsync_body(body)


class HeyGenVideoTranslationOperator(HeyGenJobOperator):
    """
    Translate a video into one or more languages (``POST /v3/video-translations``: one job per
    language) and wait for all of them.

    Returns ``{"kind": "video_translation", "ids", "status", "video_urls": {language: url},
    "items": [<job dict per language>]}``; the ids are pushed as XCom ``job_ids`` once known. A
    failed language fails the task, naming it, with the other languages' URLs in the message.

    :param body: a ``POST /v3/video-translations`` body (templated).
    :param video_url: http(s) URL of the video (templated).
    :param output_languages: the languages, e.g. ``["es", "fr"]`` (templated).
    :param kwargs: the common arguments of :class:`~airflow_heygen.operators.v3_base.HeyGenJobOperator`.
    """

    kind = "video_translation"
    template_fields: Sequence[str] = (*COMMON_TEMPLATE_FIELDS, "video_url", "output_languages")
    template_fields_renderers = {"body": "json"}

    def __init__(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        video_url: str | None = None,
        output_languages: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.body = body
        self.video_url = video_url
        self.output_languages = output_languages

    def request_body(self) -> dict[str, Any]:
        """The body: ``body`` completed by the keyword arguments."""
        languages = self.output_languages
        if isinstance(languages, str):
            languages = [languages]
        elif isinstance(languages, tuple):
            languages = list(languages)
        body = build_body(self.body, "body", video=url_media(self.video_url), output_languages=languages)
        return validate_translation_body(body)

    def _languages(self, jobs: Sequence[Job]) -> list[str]:
        asked = self.request_body()["output_languages"]
        return [
            str(job.output.get("output_language") or (asked[i] if i < len(asked) else job.id))
            for i, job in enumerate(jobs)
        ]

    def submitted_result(self, ids: Sequence[str]) -> dict[str, Any]:
        """The result without waiting: the ids, ``pending``."""
        return {"kind": self.kind, "ids": list(ids), "status": "pending", "video_urls": {}, "items": []}

    def finish_jobs(self, jobs: Sequence[Job]) -> dict[str, Any]:
        """Every language's URL; a failed language fails the task, naming it and the others' URLs."""
        languages = self._languages(jobs)
        urls = {lang: job.video_url for lang, job in zip(languages, jobs, strict=True) if job.video_url}
        bad = [
            (lang, job)
            for lang, job in zip(languages, jobs, strict=True)
            if job.status is not JobStatus.COMPLETED
        ]
        if bad:
            reasons = "; ".join(f"{lang} ({job.id}): {job.failure or job.status.value}" for lang, job in bad)
            done = ", ".join(f"{lang}: {url}" for lang, url in urls.items()) or "none"
            raise HeyGenExecutionError(
                f"HeyGen video translation failed for {', '.join(lang for lang, _ in bad)}: {reasons}. "
                f"Completed languages: {done}",
                bad[0][1].id,
            )
        self.produced_video_url = next(iter(urls.values()), None)
        return {
            "kind": self.kind,
            "ids": [job.id for job in jobs],
            "status": JobStatus.COMPLETED.value,
            "video_urls": urls,
            "items": [job.to_result() for job in jobs],
        }


MAX_ASSET_BYTES = 32 * 1024 * 1024
# Media types HeyGen takes as assets, by file suffix.
ASSET_TYPES: Mapping[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".pdf": "application/pdf",
    ".srt": "application/x-subrip",
}


def sniff_type(head: bytes) -> str | None:
    """The media type of a file from its first bytes (None for srt, text, or unknown)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF"):
        return "application/pdf"
    return None


def asset_type(name: str, head: bytes) -> str:
    """
    The media type of an upload, from its content (and, for srt, its name).

    :param name: the file's name.
    :param head: its first bytes.
    :raises HeyGenInputError: for a type HeyGen does not take.
    """
    sniffed = sniff_type(head)
    if sniffed is not None:
        return sniffed
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix == ".srt":
        try:
            head.decode("utf-8")
            return ASSET_TYPES[".srt"]
        except UnicodeDecodeError:
            pass
    raise HeyGenInputError(
        "source",
        f"{name!r} is not a type HeyGen takes as an asset (png, jpeg, mp4, webm, mp3, wav, pdf, srt)",
    )


class HeyGenUploadAssetOperator(HeyGenJobOperator):
    """
    Upload a file from any object storage (``file://``, ``s3://``, ...) as a HeyGen asset
    (``POST /v3/assets``), exactly once per task instance.

    The size (at most 32 MiB) and the type (png, jpeg, mp4, webm, mp3, wav, pdf, srt) are checked
    before anything is read in full or sent. Returns ``{"asset_id", "url", "mime_type",
    "size_bytes"}``; ``url`` works wherever HeyGen takes a media URL, e.g. as
    ``FaceswapOperator(source_image_url=...)``.

    :param source: the file: an ``ObjectStoragePath`` or its URL (``file://``, ``s3://``, ...), or an
        http(s) URL (read with a bounded download) (templated).
    :param source_conn_id: Airflow connection of the storage, e.g. ``aws_default`` (templated).
    :param heygen_conn_id: id of the HeyGen connection (templated).
    :param durable: remember the upload's key across tries.
    """

    kind = "asset"
    template_fields: Sequence[str] = ("source", "source_conn_id", "heygen_conn_id")

    def __init__(self, source: Any, *, source_conn_id: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("wait_for_completion", False)
        super().__init__(**kwargs)
        self.source = source
        self.source_conn_id = source_conn_id

    def _read(self) -> tuple[str, bytes, str]:
        from airflow.sdk import ObjectStoragePath

        if isinstance(self.source, str) and self.source.startswith(("http://", "https://")):
            return self._read_http(self.source)
        if isinstance(self.source, ObjectStoragePath):
            path = self.source
        else:
            path = ObjectStoragePath(require_text("source", self.source), conn_id=self.source_conn_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise HeyGenInputError("source", f"{str(path)!r} does not exist") from None
        if size > MAX_ASSET_BYTES:
            raise HeyGenInputError(
                "source", f"{path.name!r} is {size} bytes; HeyGen takes assets of at most 32 MiB"
            )
        if size == 0:
            raise HeyGenInputError("source", f"{path.name!r} is empty")
        with path.open("rb") as handle:
            mime_type = asset_type(path.name, handle.read(4096))
        return path.name, path.read_bytes(), mime_type

    def _read_http(self, url: str) -> tuple[str, bytes, str]:
        """An http(s) source (Airflow's object storage has no http scheme), read up to the size limit."""
        import requests

        from airflow_heygen.validation import require_http_url

        name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "asset"
        with requests.get(require_http_url("source", url), stream=True, timeout=30) as response:
            if response.status_code != 200:
                raise HeyGenInputError("source", f"{url!r} answered HTTP {response.status_code}")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > MAX_ASSET_BYTES:
                raise HeyGenInputError("source", f"{name!r} is {declared} bytes; at most 32 MiB allowed")
            chunks, size = [], 0
            for chunk in response.iter_content(1024 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_ASSET_BYTES:
                    raise HeyGenInputError("source", f"{name!r} is over 32 MiB; HeyGen takes at most 32 MiB")
        content = b"".join(chunks)
        if not content:
            raise HeyGenInputError("source", f"{name!r} is empty")
        return name, content, asset_type(name, content[:4096])

    def execute(self, context: Context) -> dict[str, Any]:
        """Check and read the file, then upload it with this task instance's key."""
        name, content, mime_type = self._read()
        store = task_state_store(context, durable=self.durable)
        record = SubmissionRecord(
            TaskState(store, SubmissionRecord.KEY, content_fingerprint(content, name)), "asset upload"
        )
        # An earlier try's unanswered upload is sent again with its key: HeyGen replays its answer.
        key, fresh = submission_key(
            record, record.load(), context, resubmit_unconfirmed=True, refuse_stale=False
        )
        if fresh:
            record.mark_in_flight(idempotency_key=key)
        try:
            result = self.jobs.upload_asset(name, content, mime_type, key)
        except CERTAIN_REFUSALS:
            record.clear()
            raise
        finally:
            self.close_hook()
        record.clear()
        self.log.info("Uploaded %s (%d bytes) as HeyGen asset %s", name, len(content), result["asset_id"])
        return result
