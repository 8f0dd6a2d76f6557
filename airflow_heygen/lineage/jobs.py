"""
The lineage of the tasks that make or watch HeyGen jobs: the job operators (both APIs), the asset
upload and the job sensors. Mixed into their bases, so each operator supplies only its request.

Importing this module imports nothing of OpenLineage (see :mod:`airflow_heygen.lineage.report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_heygen.lineage.datasets import (
    DatasetRef,
    job_dataset,
    media_inputs,
    storage_dataset,
    url_dataset,
)
from airflow_heygen.lineage.report import LineageMixin, LineageReport, api_namespace, cost_fields

__all__ = ["JobLineageMixin", "SensorLineageMixin", "job_fields", "object_dataset", "result_ids"]

# The result keys that name a task's job(s), by API: v3, a translation's languages, workflows, assets.
ID_KEYS = ("ids", "id", "execution_id", "asset_id")


def result_ids(result: Mapping[str, Any] | None) -> list[str]:
    """
    The job ids a result names (a translation's several, one otherwise).

    :param result: an operator's or sensor's result, or None.
    """
    for key in ID_KEYS:
        value = (result or {}).get(key)
        if isinstance(value, str) and value:
            return [value]
        if isinstance(value, list) and value:
            return [str(job_id) for job_id in value]
    return []


def _seconds(output: Any) -> float | None:
    value = output.get("duration") if isinstance(output, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def job_fields(
    kind: str,
    ids: Sequence[str],
    result: Mapping[str, Any] | None,
    workflow_type: str | None = None,
    estimate: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    The ``heygenJob`` facet's fields of one task's job(s).

    :param kind: the job kind.
    :param ids: the jobs' ids.
    :param result: the task's result (None when it failed before one).
    :param workflow_type: a workflows execution's type.
    :param estimate: the estimate made before the create, for a task that failed before a result.
    """
    jobs = [item for item in (result or {}).get("items") or [] if isinstance(item, Mapping)]
    ended = jobs or ([result] if result else [])
    statuses = [str(job["status"]) for job in ended if job.get("status")]
    seconds = [_seconds(job.get("output")) for job in ended]
    fields: dict[str, Any] = {
        "kind": kind,
        "workflow_type": workflow_type or (result or {}).get("workflow_type"),
        "job_ids": list(ids) or None,
        "statuses": statuses or None,
        "output_seconds": (
            round(sum(s for s in seconds if s is not None), 3)
            if seconds and all(s is not None for s in seconds)
            else None
        ),
        **cost_fields(estimate),
        **cost_fields(result),
    }
    return fields


def object_dataset(value: Any, conn_id: str | None = None) -> DatasetRef | None:
    """
    The dataset of a file the task reads or writes: an http(s) URL, an ``ObjectStoragePath`` or its
    URL (``file://``, ``s3://``, a bare absolute path), named as the provider's Assets name it.

    :param value: the argument (after templating); anything else (a list of items) gives None.
    :param conn_id: the storage's connection.
    """
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return url_dataset(value)
    try:
        from airflow.sdk import ObjectStoragePath

        from airflow_heygen.publishing.destination import published_uri

        if isinstance(value, str) and value:
            value = ObjectStoragePath(value, conn_id=conn_id)
        return storage_dataset(published_uri(value)) if isinstance(value, ObjectStoragePath) else None
    except Exception:  # an argument that is no path: nothing to report, never a failed task
        return None


class JobLineageMixin(LineageMixin):
    """
    Lineage of a job operator: the media its request reads in, the HeyGen job(s) it made out, the job
    id as ``externalQuery`` and the ``heygenJob`` facet. A deferred task resumes in a new instance:
    ``resume`` sets the ids and the result again, the request comes from the rendered fields.
    """

    kind: str
    workflow_type: str | None
    job_ids: list[str]
    spend: dict[str, Any]
    heygen_conn_id: str

    if TYPE_CHECKING:

        def request_body(self) -> dict[str, Any]: ...

    def lineage_report(self, task_instance: Any, *, failed: bool) -> LineageReport:
        """
        The request's media in; the job(s) out (none when the task failed: it made no video).

        :param task_instance: the listener's task instance.
        :param failed: whether the task failed.
        """
        namespace = api_namespace(self)
        try:
            body: Any = self.request_body()
        except Exception:  # an invalid request failed the task: it read nothing
            body = {}
        result = self.result_for_lineage(task_instance)
        ids = list(getattr(self, "job_ids", None) or result_ids(result))
        return LineageReport(
            inputs=media_inputs(body, namespace),
            outputs=[] if failed else [job_dataset(namespace, self.kind, job_id) for job_id in ids],
            job=job_fields(self.kind, ids, result, self.workflow_type, getattr(self, "spend", None)),
            external_id=",".join(ids) or None,
        )


class SensorLineageMixin(LineageMixin):
    """Lineage of a job sensor: the job it watched in (it makes nothing), its id and ``heygenJob``."""

    kind: str
    workflow_type: str | None
    heygen_conn_id: str

    if TYPE_CHECKING:

        @property
        def waited_id(self) -> str: ...

    def lineage_report(self, task_instance: Any, *, failed: bool) -> LineageReport:
        """
        The watched job as the input.

        :param task_instance: the listener's task instance.
        :param failed: whether the sensor failed.
        """
        namespace = api_namespace(self)
        try:
            job_id = self.waited_id
            watched = job_dataset(namespace, self.kind, job_id)
        except Exception:  # no id or an unknown kind: the sensor failed before watching anything
            return LineageReport(job={"kind": str(self.kind)})
        result = self.result_for_lineage(task_instance)
        return LineageReport(
            inputs=[watched],
            job=job_fields(self.kind, [job_id], result, self.workflow_type),
            external_id=job_id,
        )
