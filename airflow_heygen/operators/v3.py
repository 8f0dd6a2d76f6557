"""
Operators for HeyGen API v3: avatar videos, lip-syncs, video translations and asset uploads.

Each create is sent exactly once per task instance, whatever fails in between (see
:class:`~airflow_heygen.operators.job_base.HeyGenJobOperator` and ``docs/v3.md``). Face swap has no v3
endpoint: it stays on the workflows API (:class:`~airflow_heygen.operators.heygen.FaceswapOperator`),
with the same connection.

Importing this module stays cheap for DAG parsing: hooks and triggers are imported when a task runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_heygen.failures import Failure
from airflow_heygen.job import Job
from airflow_heygen.kinds import JobStatus
from airflow_heygen.operators.job_base import (
    HeyGenJobOperator,
)
from airflow_heygen.validation_v3 import (
    build_body,
    url_media,
    validate_lipsync_body,
    validate_translation_body,
    validate_video_body,
)

if TYPE_CHECKING:
    pass

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
    :param kwargs: the common arguments of :class:`~airflow_heygen.operators.job_base.HeyGenJobOperator`.
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
    :param kwargs: the common arguments of :class:`~airflow_heygen.operators.job_base.HeyGenJobOperator`.
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
    "video_url_<language>": url for each language, "items": [<job dict per language>]}``: each key is
    its own XCom too, so ``translate.output["video_url_es"]`` feeds the next task (Airflow reads
    ``translate.output["video_urls"]["es"]`` as XCom key ``es``, which does not exist). The ids are
    pushed as XCom ``job_ids`` once known. A failed language fails the task, naming it, with the
    other languages' URLs in the message; a retry keeps the running and completed languages and
    creates only the failed ones again (a transient failure, or with ``resubmit_failed=True``).

    :param body: a ``POST /v3/video-translations`` body (templated).
    :param video_url: http(s) URL of the video (templated).
    :param output_languages: the languages, e.g. ``["es", "fr"]`` (templated).
    :param kwargs: the common arguments of :class:`~airflow_heygen.operators.job_base.HeyGenJobOperator`.
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

    def parts(self, body: Mapping[str, Any]) -> list[str]:
        """One job per output language, in the order asked (HeyGen answers the ids in that order)."""
        return [str(language) for language in body["output_languages"]]

    def body_for_parts(self, body: Mapping[str, Any], parts: Sequence[str]) -> Mapping[str, Any]:
        """The same translation for some of the languages only."""
        return {**body, "output_languages": list(parts)}

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
            raise self._failed_languages(bad, urls)
        self.produced_video_url = next(iter(urls.values()), None)
        return {
            "kind": self.kind,
            "ids": [job.id for job in jobs],
            "status": JobStatus.COMPLETED.value,
            "video_urls": urls,
            **{f"video_url_{lang}": url for lang, url in urls.items()},
            "items": [job.to_result() for job in jobs],
        }

    def _failed_languages(self, bad: Sequence[tuple[str, Job]], urls: Mapping[str, str]) -> Exception:
        """
        One error for the failed languages: retried (re-creating only them) when every failure is
        transient or ``resubmit_failed`` is on; otherwise without retries, as the least hopeful says.
        """
        failures = [(lang, job, job.failed or Failure()) for lang, job in bad]
        worst = next((f for f in failures if not f[2].kind.resubmitted_by_retry), failures[0])
        reasons = "; ".join(f"{lang} ({job.id}): {failure.describe()}" for lang, job, failure in failures)
        done = ", ".join(f"{lang}: {url}" for lang, url in urls.items()) or "none"
        summary = Failure(
            message=f"{reasons}. Completed languages: {done}",
            not_found=worst[2].not_found,
            classified=worst[2].kind,
        )
        languages = ", ".join(lang for lang, _ in bad)
        return self.failure_error(f"HeyGen video translation ({languages})", worst[1].id, summary)


from airflow_heygen.operators.v3_assets import (  # noqa: E402  re-exported: the documented import path
    HeyGenUploadAssetOperator,
)
