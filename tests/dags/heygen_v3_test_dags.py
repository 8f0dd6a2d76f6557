"""DAGs the v3 tests run with ``dag.test()``; Airflow 3.3 needs them at module level in this folder."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import DAG

from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.operators.v3 import (
    HeyGenLipsyncOperator,
    HeyGenUploadAssetOperator,
    HeyGenVideoOperator,
    HeyGenVideoTranslationOperator,
)
from airflow_heygen.sensors.jobs import HeyGenJobSensor

SAMPLES = "{{ conn.heygen_default.host }}/samples"
FAST = {"poll_interval": 0.05, "timeout": 60}
START = datetime(2026, 1, 1)


class WorkerDied(BaseException):
    """What a worker killed between the create and saving the id looks like to the task."""


def dying_hook(heygen_conn_id: str) -> Any:
    """A hook whose first try dies right after HeyGen accepted the create."""

    class DiesAfterCreate(HeyGenHook):
        def create_job(self, *args: Any, **kwargs: Any) -> list[str]:
            from airflow.sdk import get_current_context

            ids: list[str] = super().create_job(*args, **kwargs)
            if get_current_context()["ti"].try_number == 1:
                raise WorkerDied(f"worker killed after the create of {ids}")
            return ids

    return DiesAfterCreate(heygen_conn_id=heygen_conn_id)


class DyingVideoOperator(HeyGenVideoOperator):
    """Dies between the create and saving the id on its first try."""

    @cached_property
    def hook(self) -> Any:
        return dying_hook(self.heygen_conn_id)


class DyingLipsyncOperator(HeyGenLipsyncOperator):
    """Dies between the create and saving the id on its first try."""

    @cached_property
    def hook(self) -> Any:
        return dying_hook(self.heygen_conn_id)


def video_task(operator: type[HeyGenVideoOperator], deferrable: bool) -> HeyGenVideoOperator:
    return operator(
        task_id="video",
        avatar_id="Angela-inblackskirt-20220820",
        audio_url=f"{SAMPLES}/speech.wav",
        title="v3 test {{ run_id }}",
        deferrable=deferrable,
        retries=1,
        retry_delay=timedelta(seconds=0),
        **FAST,
    )


def lipsync_task(operator: type[HeyGenLipsyncOperator], deferrable: bool) -> HeyGenLipsyncOperator:
    return operator(
        task_id="lipsync",
        video_url=f"{SAMPLES}/target.mp4",
        audio_url=f"{SAMPLES}/speech.wav",
        mode="speed",
        deferrable=deferrable,
        retries=1,
        retry_delay=timedelta(seconds=0),
        **FAST,
    )


# heygen_v3_<kind>_<mode> and heygen_v3_<kind>_<mode>_dies, for kind in video/lipsync, mode sync/deferrable.
for _mode, _deferrable in (("sync", False), ("deferrable", True)):
    for _kind, _make, _plain, _dying in (
        ("video", video_task, HeyGenVideoOperator, DyingVideoOperator),
        ("lipsync", lipsync_task, HeyGenLipsyncOperator, DyingLipsyncOperator),
    ):
        for _suffix, _operator in (("", _plain), ("_dies", _dying)):
            with DAG(f"heygen_v3_{_kind}_{_mode}{_suffix}", schedule=None, start_date=START) as _dag:
                _make(_operator, _deferrable)  # type: ignore[arg-type]
            globals()[f"v3_{_kind}_{_mode}{_suffix}"] = _dag

for _mode, _deferrable in (("sync", False), ("deferrable", True)):
    with DAG(f"heygen_v3_translation_{_mode}", schedule=None, start_date=START) as _dag:
        HeyGenVideoTranslationOperator(
            task_id="translate",
            video_url=f"{SAMPLES}/target.mp4",
            output_languages=["es", "fr"],
            deferrable=_deferrable,
            **FAST,
        )
    globals()[f"v3_translation_{_mode}"] = _dag

with DAG(
    "heygen_v3_upload_and_sense", schedule=None, start_date=START, params={"photo": ""}
) as v3_upload_and_sense:
    HeyGenUploadAssetOperator(task_id="upload", source="{{ params.photo }}")
    _video = HeyGenVideoOperator(
        task_id="video",
        avatar_id="Angela-inblackskirt-20220820",
        audio_url=f"{SAMPLES}/speech.wav",
        wait_for_completion=False,
    )
    for _deferrable in (False, True):
        _video >> HeyGenJobSensor(
            task_id=f"wait_{'deferred' if _deferrable else 'sync'}",
            kind="video",
            job_id="{{ ti.xcom_pull(task_ids='video', key='job_id') }}",
            deferrable=_deferrable,
            **FAST,
        )


def _example_dag() -> DAG:
    """The example DAG ``dags/heygen_v3_personalized.py``, loaded from its file."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "dags" / "heygen_v3_personalized.py"
    spec = importlib.util.spec_from_file_location("heygen_v3_personalized_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (dag,) = (value for value in vars(module).values() if isinstance(value, DAG))
    return dag


v3_personalized_example = _example_dag()
