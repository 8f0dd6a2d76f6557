"""Render jobs as run inside worker processes (picklable task and outcome, cached engine)."""

from __future__ import annotations

import logging

from airflow_heygen.emulator.media_fetch import MediaFetcher
from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.render.landmarks import EngineChoice, FaceEngine, load_engine
from airflow_heygen.emulator.samples import Sample, SampleLibrary
from airflow_heygen.emulator.tasks import RenderKind, RenderOutcome, RenderTask

__all__ = ["RenderOutcome", "RenderTask", "init_worker", "run_render_task"]

log = logging.getLogger(__name__)


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
    Fetch the inputs and render; bad media becomes a failure reason and code, not an exception.

    :param task: what to render.
    """
    from airflow_heygen.emulator.render.avatar import AvatarRenderer
    from airflow_heygen.emulator.render.faceswap import FaceSwapRenderer
    from airflow_heygen.emulator.v3.rendering import render_v3

    fetcher = MediaFetcher(task.data_dir, task.data_dir / "work" / task.job_id)
    try:
        engine = _engine(task.engine)
        if task.kind not in (RenderKind.FACESWAP, RenderKind.AVATAR_INFERENCE):
            return render_v3(task, fetcher, engine)
        if task.kind is RenderKind.FACESWAP:
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
        return RenderOutcome.failed(str(exc), exc.code.value)
    except Exception as exc:
        # Not the input's fault as far as anyone can tell: a new attempt may succeed.
        log.exception("render of %s crashed", task.job_id)
        return RenderOutcome.failed(f"internal render error ({type(exc).__name__})")
    finally:
        fetcher.cleanup()
