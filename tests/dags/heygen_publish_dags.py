"""DAGs of the publishing tests (``dag.test()``): a publisher, a mapped one, an asset-scheduled consumer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, AssetAlias, Param, task

from airflow_heygen.operators.heygen import HeyGenPublishVideoOperator

START = datetime(2026, 1, 1)
PUBLISHED_VIDEOS = AssetAlias(HeyGenPublishVideoOperator.DEFAULT_ASSET_ALIAS)
PARAMS = {
    "video_url": Param("", type="string"),
    "folder": Param("", type="string"),
    "name": Param("video", type="string"),
}

with DAG("heygen_publish", schedule=None, start_date=START, params=PARAMS) as publish:
    HeyGenPublishVideoOperator(
        task_id="publish",
        video_url="{{ params.video_url }}",
        destination="{{ params.folder }}/{{ params.name }}.mp4",
        preview=True,
    )

with DAG("heygen_publish_mapped", schedule=None, start_date=START, params=PARAMS) as publish_mapped:
    HeyGenPublishVideoOperator.partial(task_id="publish", video_url="{{ params.video_url }}").expand(
        destination=[f"{{{{ params.folder }}}}/{name}-{{{{ ti.map_index }}}}.mp4" for name in ("ada", "bob")]
    )

with DAG("heygen_publish_consumer", schedule=PUBLISHED_VIDEOS, start_date=START) as consumer:

    @task(inlets=[PUBLISHED_VIDEOS])
    def latest_video(*, inlet_events: Any) -> dict[str, Any]:
        """The newest published video, as a downstream DAG sees it."""
        event = inlet_events[PUBLISHED_VIDEOS][-1]
        return {"uri": event.asset.uri, **event.extra}

    latest_video()
