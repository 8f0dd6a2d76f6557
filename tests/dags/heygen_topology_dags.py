"""
DAGs of the production-topology tests (``tests/system/test_topology.py``): PostgreSQL, CeleryExecutor
with Redis, two schedulers, two triggerers, two Celery workers, S3 (moto).

Every HeyGen task uses ``heygen_default`` (the emulator, rendering stubs); source image URLs name the test,
so the emulator's request log tells the tests' submissions apart. Publishing goes to ``s3://`` through
``aws_default``, under the alias :data:`TOPOLOGY_VIDEOS`, so that only the example pipeline's videos
schedule the example manifest DAG.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, AssetAlias, Param, chain

from airflow_heygen.operators.heygen import (
    FaceswapOperator,
    HeyGenCampaignOperator,
    HeyGenPublishVideoOperator,
)

START = datetime(2026, 1, 1)
BUCKET = "heygen-videos"
FACES = "https://media.example.test/topology"
TARGET_VIDEO = "https://media.example.test/topology/target.mp4"
TOPOLOGY_VIDEOS = AssetAlias("heygen-topology-videos")
BATCH_SIZE = 100
HEYGEN_POOL = "heygen"
DEFERRED_SIZE = 20
CHAIN_LENGTH = 3
# How long the first try of HoldsAfterLanding waits, after landing, for the test to kill it.
HOLD_SECONDS = 300.0


def faces(test: str) -> str:
    """
    The prefix of one test's source image URLs.

    :param test: the test's name.
    """
    return f"{FACES}/{test}/"


def batch_destination(result: dict[str, Any]) -> dict[str, str]:
    """Where one face swap of the batch is published: ``s3://<bucket>/batch/<execution id>.mp4``."""
    return {
        "video_url": result["video_url"],
        "destination": f"s3://{BUCKET}/batch/{result['execution_id']}.mp4",
    }


with DAG("heygen_topology_batch", schedule=None, start_date=START, max_active_tasks=BATCH_SIZE) as batch:
    # 100 deferrable face swaps in the "heygen" pool (10 slots, deferred ones included), then publishing.
    swaps = FaceswapOperator.partial(
        task_id="faceswap",
        target_video_url=TARGET_VIDEO,
        deferrable=True,
        pool=HEYGEN_POOL,
        poll_interval=2,
        timeout=900,
    ).expand(source_image_url=[f"{faces('batch')}{n}.jpg" for n in range(BATCH_SIZE)])
    HeyGenPublishVideoOperator.partial(
        task_id="publish", destination_conn_id="aws_default", outlets=[TOPOLOGY_VIDEOS]
    ).expand_kwargs(swaps.output.map(batch_destination))


with DAG(
    "heygen_topology_deferred", schedule=None, start_date=START, max_active_tasks=DEFERRED_SIZE
) as deferred:
    # Twenty tasks deferred at once, when the test kills a triggerer.
    FaceswapOperator.partial(
        task_id="swap", target_video_url=TARGET_VIDEO, deferrable=True, poll_interval=1, timeout=900
    ).expand(source_image_url=[f"{faces('triggerer-kill')}{n}.jpg" for n in range(DEFERRED_SIZE)])


with DAG("heygen_topology_sync", schedule=None, start_date=START) as sync:
    # Waits in its worker (not deferrable): the test kills that Celery worker while it polls.
    FaceswapOperator(
        task_id="swap_sync",
        source_image_url=f"{faces('worker-kill')}sync.jpg",
        target_video_url=TARGET_VIDEO,
        deferrable=False,
        poll_interval=0.5,
        timeout=900,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )


with DAG("heygen_topology_chain", schedule=None, start_date=START) as chained:
    # Three face swaps one after the other: the test kills a scheduler while the first one waits.
    chain(
        *[
            FaceswapOperator(
                task_id=f"swap_{n}",
                source_image_url=f"{faces('scheduler-kill')}{n}.jpg",
                target_video_url=TARGET_VIDEO,
                deferrable=True,
                poll_interval=1,
                timeout=900,
            )
            for n in range(1, CHAIN_LENGTH + 1)
        ]
    )


PUBLISH_PARAMS = {"video_url": Param("", type="string"), "destination": Param("", type="string")}

with DAG("heygen_topology_publish", schedule=None, start_date=START, params=PUBLISH_PARAMS) as publish:
    # overwrite=False (the default): an existing key fails the task.
    HeyGenPublishVideoOperator(
        task_id="publish",
        video_url="{{ params.video_url }}",
        destination="{{ params.destination }}",
        destination_conn_id="aws_default",
        outlets=[TOPOLOGY_VIDEOS],
    )


class HoldsAfterLanding(HeyGenPublishVideoOperator):
    """On its first try, waits right after the video and its preview landed: the test kills it there."""

    def announce(self, context: Any, result: dict[str, Any]) -> None:
        """Hold the first try after landing; announce as usual on later ones."""
        if context["ti"].try_number == 1:
            self.log.info("Landed %s; holding so that the test can kill me", result["uri"])
            time.sleep(HOLD_SECONDS)
        super().announce(context, result)


with DAG(
    "heygen_topology_publish_killed", schedule=None, start_date=START, params=PUBLISH_PARAMS
) as publish_killed:
    HoldsAfterLanding(
        task_id="publish",
        video_url="{{ params.video_url }}",
        destination="{{ params.destination }}",
        destination_conn_id="aws_default",
        preview=True,
        outlets=[TOPOLOGY_VIDEOS],
        retries=1,
        retry_delay=timedelta(seconds=1),
    )


def _rss() -> int:
    """This process's resident set size in bytes, from ``/proc/self/status``."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class MeasuresMemory(HeyGenPublishVideoOperator):
    """Publishes as usual and adds to its result how much its process's RSS grew meanwhile (sampled)."""

    def execute(self, context: Any) -> dict[str, Any]:
        """Publish while a thread samples the RSS every 20 ms."""
        from airflow.sdk import ObjectStoragePath

        # Loading the object store's libraries and client (s3fs, aiobotocore) costs the same for any
        # video: it is not the copy's memory, which is what must not grow with the video. Load them first.
        destination = ObjectStoragePath(str(self.destination), conn_id=self.destination_conn_id)
        destination.parent.exists()
        before = _rss()
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], _rss())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            result = super().execute(context)
        finally:
            done.set()
            sampler.join()
        return {**result, "rss_before": before, "rss_peak": max(peak[0], _rss()), "pid": os.getpid()}


with DAG(
    "heygen_topology_publish_large", schedule=None, start_date=START, params=PUBLISH_PARAMS
) as publish_large:
    MeasuresMemory(
        task_id="publish",
        video_url="{{ params.video_url }}",
        destination="{{ params.destination }}",
        destination_conn_id="aws_default",
        outlets=[TOPOLOGY_VIDEOS],
        execution_timeout=timedelta(minutes=5),
    )


# -- campaigns: one task drives many face swaps ------------------------------------------------------------

# Where each run's items are and where its videos and manifest go (s3:// URLs through aws_default).
CAMPAIGN_PARAMS = {"items": "", "publish_to": "", "manifest": ""}
CAMPAIGN_IN_FLIGHT = 10
# On its first try, the killed-worker campaign holds inside a resume once this many videos were published.
CAMPAIGN_HOLD_AFTER = 20
CAMPAIGN: dict[str, Any] = {
    "kind": "faceswap",
    "items": "{{ params['items'] }}",
    "item_id": "customer_id",
    "request": {"source_image_url": "{face_url}", "target_video_url": TARGET_VIDEO},
    "publish_to": "{{ params['publish_to'] }}",
    "manifest": "{{ params['manifest'] }}",
    "max_in_flight": CAMPAIGN_IN_FLIGHT,
    "max_failed": 0,
    # As the mapped batch polls: the benchmark compares the two at the same interval.
    "poll_interval": 2,
    "timeout": 3600,
    "outlets": [TOPOLOGY_VIDEOS],
    "retries": 1,
    "retry_delay": timedelta(seconds=1),
}


with DAG(
    "heygen_topology_campaign",
    schedule=None,
    start_date=START,
    params=CAMPAIGN_PARAMS,
) as topology_campaign:
    HeyGenCampaignOperator(task_id="personalize", **CAMPAIGN)


class WakesOnAllEnded(HeyGenCampaignOperator):
    """The campaign operator woken when all its jobs ended (or one ended 3 intervals ago): fewer starts."""

    resume_share = 1.0
    hold_intervals = 3.0


with DAG(
    "heygen_topology_campaign_wide", schedule=None, start_date=START, params=CAMPAIGN_PARAMS
) as topology_campaign_wide:
    # The benchmark's variant (bench/bench_campaign_topology.py --dags).
    WakesOnAllEnded(task_id="personalize", **CAMPAIGN)


class HoldsMidResume(HeyGenCampaignOperator):
    """
    On its first try, holds inside a resume right after a video landed in ``publish_to`` and before the
    ledger noted it (once :data:`CAMPAIGN_HOLD_AFTER` were noted): the test kills its worker there, where
    no create is on its way, so no item can be left in doubt.
    """

    def _runner(self, context: Any, *, starting: bool) -> Any:
        from airflow_heygen.campaigns.ledger import ItemStatus

        runner = super()._runner(context, starting=starting)
        if context["ti"].try_number != 1 or starting:
            return runner
        ledger, note = runner.ledger, runner.ledger.set

        def note_then_hold(item_id: str, record: Any) -> None:
            done = len(ledger.with_status(ItemStatus.DONE))
            if record.status is ItemStatus.DONE and done >= CAMPAIGN_HOLD_AFTER:
                self.log.info("Landed %s; holding so that the test can kill me", record.published_to)
                time.sleep(HOLD_SECONDS)
            note(item_id, record)

        ledger.set = note_then_hold  # type: ignore[method-assign]
        return runner


with DAG(
    "heygen_topology_campaign_killed", schedule=None, start_date=START, params=CAMPAIGN_PARAMS
) as topology_campaign_killed:
    HoldsMidResume(task_id="personalize", **CAMPAIGN)
