"""
A campaign task instance read from its records: its progress XCom (``heygen_campaign``, pushed at every
step) names the manifest, which is read from object storage; the manifest's rows give the progress,
the spend and the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_heygen.plugins.jobs import CAMPAIGN_KEY, ENDED_STATES, RESULT_KEY
from airflow_heygen.plugins.records import TaskRecord

# The manifest's statuses, in the order the progress bar shows them ("pending" is shown as waiting).
STATUSES = ("completed", "failed", "in_doubt", "running", "pending", "skipped")


@dataclass(frozen=True)
class CampaignView:
    """
    One campaign: its bounds, the manifest's rows and what they add up to.

    :param kind: the items' job kind.
    :param total: how many items.
    :param manifest: the manifest's URI, or None when the campaign writes none.
    :param conn_id: the storage's connection for the manifest and the published videos.
    :param max_cost_usd: the campaign's cap, if any.
    :param estimated_cost_usd: the campaign's estimate.
    :param rows: the manifest's rows (empty without a manifest or before its first write).
    :param running: the task instance is still going, so the page refreshes.
    :param manifest_error: why the manifest could not be read, if it could not.
    """

    kind: str | None
    total: int
    manifest: str | None
    conn_id: str | None
    max_cost_usd: float | None
    estimated_cost_usd: float | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    running: bool = False
    manifest_error: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Items by manifest status (every status of :data:`STATUSES`, zero included)."""
        counted = dict.fromkeys(STATUSES, 0)
        for row in self.rows:
            status = str(row.get("status"))
            counted[status] = counted.get(status, 0) + 1
        if not self.rows:
            counted["pending"] = self.total
        return counted

    @property
    def spent_usd(self) -> float:
        """What the finished items cost so far (the manifest's ``cost_usd``)."""
        costs = (row.get("cost_usd") for row in self.rows)
        return round(sum(c for c in costs if isinstance(c, (int, float)) and not isinstance(c, bool)), 4)

    def page(self, status: str | None, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """
        The rows with ``status`` (all for None), ``limit`` of them from ``offset``, and how many match.

        :param status: a manifest status, ``waiting`` for ``pending``, or None.
        :param offset: rows to skip.
        :param limit: rows to return.
        """
        wanted = "pending" if status == "waiting" else status
        rows = [row for row in self.rows if wanted is None or row.get("status") == wanted]
        return rows[offset : offset + limit], len(rows)

    def row(self, item_id: str) -> dict[str, Any] | None:
        """The manifest's row of ``item_id`` (compared exactly), or None."""
        return next((row for row in self.rows if row.get("item_id") == item_id), None)

    def progress(self) -> dict[str, Any]:
        """The JSON answer's progress: counts, total, spend and cap, whether it still runs."""
        counts = self.counts
        return {
            "total": self.total,
            "completed": counts["completed"],
            "failed": counts["failed"],
            "in_doubt": counts["in_doubt"],
            "running": counts["running"],
            "waiting": counts["pending"],
            "skipped": counts["skipped"],
            "spent_usd": self.spent_usd,
            "max_cost_usd": self.max_cost_usd,
            "estimated_cost_usd": self.estimated_cost_usd,
            "running_task": self.running,
            "manifest_error": self.manifest_error,
        }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parse_manifest(text: str) -> list[dict[str, Any]]:
    """
    The rows of a JSONL manifest; lines that are not JSON objects are left out.

    :param text: the manifest's content.
    """
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def read_manifest(uri: str, conn_id: str | None) -> list[dict[str, Any]]:
    """
    Read the manifest the campaign's own record names.

    :param uri: the manifest's URI from the campaign's XCom.
    :param conn_id: the storage's connection.
    """
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(uri, conn_id=conn_id)
    return parse_manifest(path.read_text())


def campaign_view(record: TaskRecord, read: Any = read_manifest) -> CampaignView:
    """
    The campaign of a task instance, its manifest read with ``read``.

    :param record: the campaign task instance.
    :param read: reads a manifest's rows from its URI and connection.
    """
    progress: Mapping[str, Any] = record.mapping(CAMPAIGN_KEY)
    result = record.mapping(RESULT_KEY)
    manifest = progress.get("manifest") or result.get("manifest")
    conn_id = progress.get("destination_conn_id")
    rows: list[dict[str, Any]] = []
    error = None
    if isinstance(manifest, str) and manifest:
        try:
            rows = read(manifest, conn_id if isinstance(conn_id, str) else None)
        except FileNotFoundError:
            error = "the manifest is not written yet"
        except Exception as err:
            error = f"the manifest could not be read ({type(err).__name__})"
    total = progress.get("total", result.get("total"))
    return CampaignView(
        kind=str(progress.get("kind") or "") or None,
        total=int(total) if isinstance(total, int) else len(rows),
        manifest=manifest if isinstance(manifest, str) else None,
        conn_id=conn_id if isinstance(conn_id, str) else None,
        max_cost_usd=_number(progress.get("max_cost_usd")),
        estimated_cost_usd=_number(progress.get("estimated_cost_usd")),
        rows=rows,
        running=record.state not in ENDED_STATES,
        manifest_error=error,
    )
