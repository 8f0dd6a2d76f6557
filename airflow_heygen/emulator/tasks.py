"""What the job runner hands to a render backend, and what it gets back (picklable, light)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.failures import FailureCode
from airflow_heygen.emulator.render.landmarks import EngineChoice


class RenderKind(str, enum.Enum):
    """Which renderer runs a job; each kind has its own ``input`` shape (see the worker)."""

    FACESWAP = "faceswap"  # v1 FaceswapNode: the submitted ``input``
    AVATAR_INFERENCE = "avatar_inference"  # v1 AvatarInferenceNode: the submitted ``input``
    TALKING_HEAD = "talking_head"  # v3 avatar or image video
    LIPSYNC = "lipsync"  # v3 lip-sync
    TRANSLATION = "translation"  # v3 video translation, one output language


@dataclass(frozen=True)
class MediaInput:
    """
    One input medium of a render.

    :param field: the request field it came from, e.g. ``input.source_image_url`` or ``video.url``.
    :param location: an http(s) URL, a ``file://`` URL or a path under the data dir.
    """

    field: str
    location: str


@dataclass(frozen=True)
class RenderTask:
    """
    One render, sent to a worker process.

    :param job_id: the execution or v3 job.
    :param kind: which renderer runs.
    :param input: the renderer's input (media URLs or paths and options).
    :param data_dir: the emulator data dir.
    :param output: where the mp4 must appear.
    :param engine: the face engine choice.
    """

    job_id: str
    kind: RenderKind
    input: dict[str, Any]
    data_dir: Path
    output: Path
    engine: EngineChoice = EngineChoice.AUTO

    @property
    def caption_path(self) -> Path:
        """Where a translation's SRT caption file goes: beside the mp4."""
        return self.output.with_suffix(".srt")

    def media_inputs(self) -> list[MediaInput]:
        """The input media this render fetches, named as its failure messages name them."""
        spec = self.input
        if self.kind is RenderKind.FACESWAP:
            names = ("source_image_url", "target_video_url")
            return [MediaInput(f"input.{name}", str(spec[name])) for name in names]
        if self.kind is RenderKind.AVATAR_INFERENCE:
            return [
                MediaInput(f"input.audio_list[{n}].audio_url", str(item["audio_url"]))
                for n, item in enumerate(spec["audio_list"])
            ]
        inputs = []
        if spec.get("portrait"):  # a v3 image video's image (an avatar video uses a sample)
            inputs.append(MediaInput("image", str(spec["portrait"])))
        if spec.get("video"):
            inputs.append(MediaInput(str(spec["video_field"]), str(spec["video"])))
        if spec.get("audio"):
            inputs.append(MediaInput(str(spec["audio_field"]), str(spec["audio"])))
        return inputs


@dataclass(frozen=True)
class RenderOutcome:
    """
    The result of a render.

    :param error: failure reason, None on success.
    :param code: the failure code beside ``error`` (a
        :class:`~airflow_heygen.emulator.failures.FailureCode` value), set by whatever detected the
        problem; None on success.
    :param duration: output duration in seconds on success.
    :param details: numbers worth logging (frames, engine, seconds).
    :param caption_file: name of the SRT file written beside the mp4, if any.
    """

    error: str | None = None
    code: str | None = None
    duration: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    caption_file: str | None = None

    @classmethod
    def failed(cls, error: str, code: str = FailureCode.INTERNAL_ERROR.value) -> RenderOutcome:
        """
        The outcome of a failed render.

        :param error: the failure reason.
        :param code: its failure code; ``internal_error`` (a new attempt may succeed) by default.
        """
        return cls(error=error, code=code)
