"""Campaign DAGs the tests run with ``dag.test()``; Airflow 3.3 needs them at module level in this folder."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import DAG

from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.operators.heygen import HeyGenCampaignOperator

SAMPLES = "{{ conn.heygen_default.host }}/samples"
START = datetime(2026, 1, 1)
# Where the test puts the items and wants the videos: its params (dag.test's run_conf).
PARAMS = {"items": "", "publish_to": "", "manifest": "", "max_failed": 0}
COMMON = {
    "items": "{{ params['items'] }}",
    "item_id": "customer_id",
    "publish_to": "{{ params['publish_to'] }}",
    "manifest": "{{ params['manifest'] }}",
    "poll_interval": 0.2,
    "timeout": 600,
    "retries": 1,
    "retry_delay": timedelta(seconds=0),
}

with DAG("heygen_campaign_faceswap", schedule=None, start_date=START, params=PARAMS) as campaign_faceswap:
    HeyGenCampaignOperator(
        task_id="personalize",
        kind="faceswap",
        request={"source_image_url": "{face_url}", "target_video_url": f"{SAMPLES}/target.mp4"},
        max_in_flight=10,
        **COMMON,
    )

with DAG("heygen_campaign_video", schedule=None, start_date=START, params=PARAMS) as campaign_video:
    HeyGenCampaignOperator(
        task_id="personalize",
        kind="video",
        request={
            "type": "avatar",
            "avatar_id": "Angela-inblackskirt-20220820",
            "audio_url": f"{SAMPLES}/speech.wav",
            "title": "For {name}",
        },
        **COMMON,
    )


class WorkerDied(BaseException):
    """What a worker killed right after HeyGen answered a create looks like to the task."""


class DyingCampaignOperator(HeyGenCampaignOperator):
    """Dies on its first try right after HeyGen answered its ``die_after``-th create."""

    def __init__(self, *, die_after: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.die_after = die_after

    @cached_property
    def hook(self) -> Any:
        die_after = self.die_after

        class DiesAfterCreates(HeyGenHook):
            creates = 0

            def _after_create(self) -> None:
                from airflow.sdk import get_current_context

                DiesAfterCreates.creates += 1
                first_try = get_current_context()["ti"].try_number == 1
                if first_try and DiesAfterCreates.creates == die_after:
                    raise WorkerDied(f"worker killed after create {die_after}")

            def create_job(self, *args: Any, **kwargs: Any) -> list[str]:
                ids: list[str] = super().create_job(*args, **kwargs)
                self._after_create()
                return ids

            def create_batch(self, *args: Any, **kwargs: Any) -> str:
                batch_id: str = super().create_batch(*args, **kwargs)
                self._after_create()
                return batch_id

        return DiesAfterCreates(heygen_conn_id=self.heygen_conn_id)


FACESWAP = {
    "kind": "faceswap",
    "request": {"source_image_url": "{face_url}", "target_video_url": f"{SAMPLES}/target.mp4"},
    "max_in_flight": 10,
}
with DAG("heygen_campaign_faceswap_tolerant", schedule=None, start_date=START, params=PARAMS) as tolerant:
    HeyGenCampaignOperator(task_id="personalize", max_failed=5, **FACESWAP, **COMMON)

with DAG("heygen_campaign_faceswap_dies", schedule=None, start_date=START, params=PARAMS) as faceswap_dies:
    DyingCampaignOperator(task_id="personalize", die_after=7, max_failed=5, **FACESWAP, **COMMON)

with DAG("heygen_campaign_video_dies", schedule=None, start_date=START, params=PARAMS) as video_dies:
    DyingCampaignOperator(
        task_id="personalize",
        die_after=2,
        kind="video",
        request={
            "type": "avatar",
            "avatar_id": "Angela-inblackskirt-20220820",
            "audio_url": f"{SAMPLES}/speech.wav",
        },
        **COMMON,
    )
