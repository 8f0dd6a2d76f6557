"""
Campaigns on the production topology (``tests/system/topology.py``): their items put in S3 (moto), the
emulator set up for one campaign, and what a finished campaign left behind, read from S3 and from the
emulator's own counters and request log. Used by ``tests/system/test_topology.py`` and
``bench/bench_campaign_topology.py``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.testing import EmulatorHandle
from tests.dags.heygen_topology_dags import BUCKET, faces
from tests.system.backends import MotoS3

# The topology's emulator takes 1,000 jobs at once (its failover tests hold many renders); a campaign runs
# against the pay-as-you-go plan's 10, as it would at HeyGen.
PLAN_CONCURRENCY = 10
TOPOLOGY_PLAN_CONCURRENCY = 1000
CREATE = ("POST", "/v1/workflows/executions")
STATUS_ENDPOINT = "GET /v1/workflows/executions/{execution_id}"


@dataclass(frozen=True)
class Campaign:
    """
    One campaign's items in S3 and where its videos and manifest go.

    :param name: its name; the prefix of its keys and of its items' face URLs.
    :param item_ids: its items' ids, in order.
    """

    name: str
    item_ids: tuple[str, ...]

    @property
    def prefix(self) -> str:
        """The key prefix of everything the campaign reads and writes."""
        return f"campaigns/{self.name}/"

    @property
    def videos(self) -> str:
        """The key prefix of its published videos."""
        return f"{self.prefix}videos/"

    @property
    def manifest_key(self) -> str:
        """The manifest's key."""
        return f"{self.prefix}manifest.jsonl"

    @property
    def faces(self) -> str:
        """The prefix of its items' face URLs, which tells its creates apart in the emulator's log."""
        return faces(self.name)

    def conf(self) -> dict[str, str]:
        """The run's conf: the campaign DAGs' params, as ``s3://aws_default@...`` URLs."""
        root = f"s3://aws_default@{BUCKET}/{self.prefix}"
        return {
            "items": f"{root}items.csv",
            "publish_to": f"{root}videos/",
            "manifest": f"{root}manifest.jsonl",
        }


def upload_campaign(s3: MotoS3, name: str, count: int) -> Campaign:
    """
    Put a campaign's items (CSV: ``customer_id``, ``face_url``) in S3.

    :param s3: moto.
    :param name: the campaign's name (unique per run).
    :param count: how many items.
    """
    campaign = Campaign(name, tuple(f"c{n:05d}" for n in range(count)))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["customer_id", "face_url"])
    writer.writerows([item_id, f"{campaign.faces}{item_id}.jpg"] for item_id in campaign.item_ids)
    s3.client().put_object(Bucket=BUCKET, Key=f"{campaign.prefix}items.csv", Body=text.getvalue().encode())
    return campaign


def manifest(s3: MotoS3, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's manifest rows, as in S3."""
    body = s3.client().get_object(Bucket=BUCKET, Key=campaign.manifest_key)["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def accepted_creates(emulator: EmulatorHandle, campaign: Campaign) -> dict[str, int]:
    """
    How many creates of each item the emulator accepted, by its request log (a create's body names the
    item's face URL).
    """
    counts: dict[str, int] = {}
    path = Path(emulator.data_dir) / "requests.jsonl"
    with path.open(encoding="utf-8") as log:
        for line in log:
            entry = json.loads(line)
            if (entry["method"], entry["path"]) != CREATE or entry["status"] != 200:
                continue
            face = (entry.get("body") or {}).get("input", {}).get("source_image_url", "")
            if face.startswith(campaign.faces):
                item_id = face.removeprefix(campaign.faces).removesuffix(".jpg")
                counts[item_id] = counts.get(item_id, 0) + 1
    return counts


@contextlib.contextmanager
def campaign_emulator(emulator: EmulatorHandle, render_seconds: float) -> Iterator[EmulatorHandle]:
    """
    The emulator for one campaign: nothing of earlier tests in flight, renders of ``render_seconds``, the
    plan's concurrency at :data:`PLAN_CONCURRENCY`, counters zeroed (so ``max_in_flight`` is the
    campaign's); the topology's settings again at exit.

    :param emulator: the topology's emulator.
    :param render_seconds: seconds each render takes.
    """
    before = emulator.faults()["latency"]
    deadline = time.monotonic() + 120
    # Earlier tests' renders end within the topology's latency (held ones were released).
    while emulator.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.5)
    emulator.set_faults(latency=render_seconds, plan_concurrency=PLAN_CONCURRENCY)
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        emulator.set_faults(latency=before, plan_concurrency=TOPOLOGY_PLAN_CONCURRENCY)
