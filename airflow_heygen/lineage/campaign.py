"""The lineage of a campaign task: its items file, its manifest, its folder, its counts and costs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_heygen.lineage.jobs import object_dataset
from airflow_heygen.lineage.report import LineageReport, cost_fields

__all__ = ["campaign_report"]

COUNT_KEYS = ("total", "completed", "failed", "in_doubt", "skipped")


def campaign_report(operator: Any, result: Mapping[str, Any] | None) -> LineageReport:
    """
    A campaign's report: the items file (not items passed as a list) in; the manifest and the
    ``publish_to`` folder out; ``heygenJob`` with the item counts and the total costs (the summary's).

    :param operator: the :class:`~airflow_heygen.operators.campaign.HeyGenCampaignOperator`, rendered.
    :param result: its summary, or None when it failed.
    """
    conn_id = operator.destination_conn_id
    items = object_dataset(operator.items) if isinstance(operator.items, str) else None
    outputs = [object_dataset(value, conn_id) for value in (operator.manifest, operator.publish_to) if value]
    job: dict[str, Any] = {"kind": operator.kind, **cost_fields(result)}
    if result and isinstance(result.get("total"), int):
        job["items"] = {key: result[key] for key in COUNT_KEYS if isinstance(result.get(key), int)}
    return LineageReport(
        inputs=[items] if items is not None else [],
        outputs=[ref for ref in outputs if ref is not None],
        job=job,
    )
