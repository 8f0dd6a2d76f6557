"""
Downstream of every example: runs whenever videos are published, and writes a manifest of them.

Scheduled on the ``heygen-published-videos`` asset alias that publish tasks emit to, so it
needs no knowledge of where videos land. Each run writes ``<heygen_publish_root>/manifests/<run
id>.json`` listing the new videos with their size and sha256, atomically.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, AssetAlias, ObjectStoragePath, Variable, task

from airflow_heygen.operators.heygen import HeyGenPublishVideoOperator

PUBLISHED_VIDEOS = AssetAlias(HeyGenPublishVideoOperator.DEFAULT_ASSET_ALIAS)


@task
def write_manifest(triggering_asset_events: Any = None, run_id: str | None = None) -> str:
    """Write the manifest of the videos whose publication triggered this run; return its URI."""
    # Airflow files each event under the alias and under the asset itself: read the alias only.
    events = (triggering_asset_events or {}).get(PUBLISHED_VIDEOS, [])
    videos = [
        {"uri": event.asset.uri, **{key: event.extra.get(key) for key in ("bytes", "sha256", "preview_uri")}}
        for event in events
    ]
    root = ObjectStoragePath(Variable.get("heygen_publish_root", default="file:///tmp/heygen-videos"))
    safe_run = str(run_id).replace(":", "-").replace("+", "_")
    manifest = root / "manifests" / f"{safe_run}.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    partial = manifest.parent / f".{manifest.name}.partial"
    partial.write_text(json.dumps({"run_id": run_id, "videos": videos}, indent=2))
    partial.rename(manifest)
    return str(manifest)


with DAG(
    dag_id="heygen_video_manifest",
    description="List newly published HeyGen videos in a manifest",
    schedule=[PUBLISHED_VIDEOS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["heygen", "example"],
):
    write_manifest()
