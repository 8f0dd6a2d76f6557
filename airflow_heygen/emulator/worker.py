"""Render jobs as run inside worker processes (picklable task and outcome, cached engine)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.media_fetch import MediaFetcher
from airflow_heygen.emulator.models import WorkflowType
from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.render.landmarks import EngineChoice, FaceEngine, load_engine
from airflow_heygen.emulator.samples import Sample, SampleLibrary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderTask:
    """
    One render, sent to a worker process.

    :param execution_id: the execution.
    :param workflow_type: its workflow type.
    :param input: its submitted input.
    :param data_dir: the emulator data dir.
    :param output: where the mp4 must appear.
    :param engine: the face engine choice.
    """

    execution_id: str
    workflow_type: WorkflowType
    input: dict[str, Any]
    data_dir: Path
    output: Path
    engine: EngineChoice = EngineChoice.AUTO


@dataclass(frozen=True)
class RenderOutcome:
    """
    The result of a render.

    :param error: failure reason, None on success.
    :param duration: output duration in seconds on success.
    :param details: numbers worth logging (frames, engine, seconds).
    """

    error: str | None = None
    duration: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


_engines: dict[EngineChoice, FaceEngine] = {}


def init_worker(log_level: str) -> None:
    """
    Process pool initializer: log like the server does.

    :param log_level: logging level name.
    """
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s [render %(process)d] %(name)s: %(message)s"
    )


def _engine(choice: EngineChoice) -> FaceEngine:
    if choice not in _engines:
        _engines[choice] = load_engine(choice)
        log.info("face engine %s loaded", _engines[choice].name)
    return _engines[choice]


def run_render_task(task: RenderTask) -> RenderOutcome:
    """
    Fetch the inputs and render; bad media becomes a failure reason, not an exception.

    :param task: what to render.
    """
    from airflow_heygen.emulator.render.avatar import AvatarRenderer
    from airflow_heygen.emulator.render.faceswap import FaceSwapRenderer

    fetcher = MediaFetcher(task.data_dir, task.data_dir / "work" / task.execution_id)
    try:
        engine = _engine(task.engine)
        if task.workflow_type is WorkflowType.FACESWAP:
            source = fetcher.fetch(task.input["source_image_url"], "input.source_image_url")
            target = fetcher.fetch(task.input["target_video_url"], "input.target_video_url")
            swap = FaceSwapRenderer(engine).render(source, target, task.output)
            return RenderOutcome(
                duration=round(swap.duration, 3),
                details={"frames": swap.frames, "engine": swap.engine, "seconds": swap.seconds},
            )
        audio = [
            fetcher.fetch(item["audio_url"], f"input.audio_list[{n}].audio_url")
            for n, item in enumerate(task.input["audio_list"])
        ]
        portrait = SampleLibrary(task.data_dir / "samples").path(Sample.FACE2)
        avatar = AvatarRenderer(engine).render(portrait, audio, task.output)
        return RenderOutcome(
            duration=round(avatar.duration, 3),
            details={"frames": avatar.frames, "engine": avatar.engine, "seconds": avatar.seconds},
        )
    except MediaError as exc:
        return RenderOutcome(error=str(exc))
    except Exception as exc:
        log.exception("render of %s crashed", task.execution_id)
        return RenderOutcome(error=f"internal render error ({type(exc).__name__})")
    finally:
        fetcher.cleanup()
