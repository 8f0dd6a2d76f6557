"""What the job runner hands to a render backend, and what it gets back (picklable, light)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.render.landmarks import EngineChoice


class RenderKind(str, enum.Enum):
    """Which renderer runs a job; each kind has its own ``input`` shape (see the worker)."""

    FACESWAP = "faceswap"  # v1 FaceswapNode: the submitted ``input``
    AVATAR_INFERENCE = "avatar_inference"  # v1 AvatarInferenceNode: the submitted ``input``
    TALKING_HEAD = "talking_head"  # v3 avatar or image video
    LIPSYNC = "lipsync"  # v3 lip-sync
    TRANSLATION = "translation"  # v3 video translation, one output language


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


@dataclass(frozen=True)
class RenderOutcome:
    """
    The result of a render.

    :param error: failure reason, None on success.
    :param duration: output duration in seconds on success.
    :param details: numbers worth logging (frames, engine, seconds).
    :param caption_file: name of the SRT file written beside the mp4, if any.
    """

    error: str | None = None
    duration: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    caption_file: str | None = None
