"""
A campaign's manifest: one JSON line per item, rewritten as the campaign goes and complete at its
end. Each write lands whole or not at all (a temporary beside it, then renamed), so a reader never
sees half a manifest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_heygen.campaigns.costs import CampaignCosts
from airflow_heygen.campaigns.items import Item
from airflow_heygen.campaigns.ledger import CampaignLedger

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

MANIFEST_FIELDS = (
    "item_id",
    "status",
    "job_id",
    "video_url",
    "published_to",
    "failure",
    "submitted_at",
    "finished_at",
    "estimated_cost_usd",
    "cost_usd",
    "rate",
)


def _time(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")


def manifest_rows(
    items: Sequence[Item], ledger: CampaignLedger, costs: CampaignCosts
) -> list[dict[str, Any]]:
    """
    One row per item, in the items' order, with :data:`MANIFEST_FIELDS`.

    :param items: the campaign's items.
    :param ledger: what is known of them.
    :param costs: their estimates.
    """
    rows = []
    for item in items:
        record = ledger.get(item.item_id)
        estimated = costs.item(item.item_id)
        if record is None:
            pending = {
                "item_id": item.item_id,
                "status": "pending",
                "estimated_cost_usd": estimated,
                "rate": costs.rate(item.item_id),
            }
            rows.append(dict.fromkeys(MANIFEST_FIELDS) | pending)
            continue
        rows.append(
            {
                "item_id": item.item_id,
                "status": record.status.shown,
                "job_id": record.job_id,
                "video_url": record.video_url,
                "published_to": record.published_to,
                "failure": record.failure,
                "submitted_at": _time(record.submitted_at),
                "finished_at": _time(record.finished_at),
                "estimated_cost_usd": estimated,
                "cost_usd": record.cost_usd,
                "rate": costs.rate(item.item_id),
            }
        )
    return rows


def write_manifest(path: ObjectStoragePath, rows: Sequence[dict[str, Any]]) -> None:
    """
    Write the manifest atomically: a hidden temporary beside it, then renamed over it.

    :param path: the manifest's path.
    :param rows: its rows.
    """
    from airflow_heygen.publishing.destination import writing_to
    from airflow_heygen.publishing.staging import StagedFile

    text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
    staged = StagedFile(path)
    with writing_to(path):
        try:
            staged.write(text.encode())
            staged.land(True)
        finally:
            staged.discard()


def failed_items(ledger: CampaignLedger) -> list[str]:
    """
    The failed and in-doubt items with their reason, for the task's error.

    :param ledger: the campaign's records.
    """
    from airflow_heygen.campaigns.ledger import ItemStatus

    lines = []
    for item_id in ledger.with_status(ItemStatus.FAILED, ItemStatus.IN_DOUBT):
        record = ledger.get(item_id)
        assert record is not None
        job = f", job {record.job_id}" if record.job_id else ""
        lines.append(f"{item_id} ({record.status.value}{job}): {record.failure}")
    return lines
