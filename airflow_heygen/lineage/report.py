"""
What a HeyGen task reports to OpenLineage, as plain values (:class:`LineageReport`), and the mixin
that turns it into the listener's ``OperatorLineage``. Operators only say what they know by
overriding :meth:`LineageMixin.lineage_report`.

Importing this module imports nothing of OpenLineage: :mod:`airflow_heygen.lineage.facets` is
imported inside the two methods, which the listener calls only when the provider is installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_heygen.lineage.datasets import DatasetRef, heygen_namespace

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

__all__ = ["LineageMixin", "LineageReport", "api_namespace", "cost_fields", "task_error"]

# The result keys that are the heygenJob facet's cost fields (the results carry them under these names).
COST_KEYS = ("estimated_cost_usd", "cost_usd", "rate")


@dataclass
class LineageReport:
    """
    What one task read and made, and what it did at HeyGen.

    :param inputs: the datasets read (media, an items file, a video to publish).
    :param outputs: the datasets made (a HeyGen video, a published file, a manifest).
    :param job: the ``heygenJob`` facet's fields (``kind`` at least); None: no facet.
    :param external_id: HeyGen's id of the job, for the ``externalQuery`` facet; None: no facet.
    """

    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    job: dict[str, Any] | None = None
    external_id: str | None = None


def task_error(task_instance: Any) -> BaseException | None:
    """
    The error a task instance failed with: the task runner puts it in the context (``exception``)
    before it calls the listener, which passes the method only the task instance.

    :param task_instance: the listener's task instance.
    """
    get_context = getattr(task_instance, "get_template_context", None)
    if not callable(get_context):
        return None
    try:
        error = get_context().get("exception")
    except Exception:  # a task instance without a context must not cost the event
        return None
    return error if isinstance(error, BaseException) else None


def api_namespace(operator: Any) -> str:
    """
    ``heygen://<api host>`` of the HeyGen API the task talked to: the one its hook recorded on closing,
    or its still-open hook's. Never resolved again here: the listener calls this in a process forked
    from the task, where a connection lookup would go over the task's supervisor channel. A task that
    never reached HeyGen is named by the default host.

    :param operator: a HeyGen task.
    """
    from airflow_heygen.api import default_base_url

    base_url = getattr(operator, "heygen_api_url", None)
    hook = getattr(operator, "__dict__", {}).get("hook")
    settings = getattr(hook, "__dict__", {}).get("settings")
    if base_url is None and settings is not None:
        base_url = settings.base_url
    return heygen_namespace(base_url or default_base_url())


def cost_fields(result: Mapping[str, Any] | None) -> dict[str, Any]:
    """
    The cost fields of a result (``estimated_cost_usd``, ``cost_usd``, ``rate``) that are set.

    :param result: an operator's result, or None.
    """
    return {key: result[key] for key in COST_KEYS if result and result.get(key) is not None}


class LineageMixin:
    """
    ``get_openlineage_facets_on_complete`` / ``_on_failure`` from :meth:`lineage_report`.

    :attr:`heygen_result` is the task's result, kept by ``execute`` (or ``resume``, in the new operator
    instance a deferred task resumes in) for the report.
    """

    heygen_result: dict[str, Any] | None = None

    def lineage_report(self, task_instance: Any, *, failed: bool) -> LineageReport:
        """
        What this task read and made.

        :param task_instance: the listener's task instance.
        :param failed: whether the task failed (then nothing it would have made is claimed).
        """
        raise NotImplementedError

    def result_for_lineage(self, task_instance: Any) -> Mapping[str, Any] | None:
        """
        This task's result, as ``execute`` (or ``resume``) kept it; None when it failed before one.

        Never read back from XCom: the listener calls this in a process forked from the task, where a
        request over the task's supervisor channel would share (and may corrupt or hang on) its socket.

        :param task_instance: the listener's task instance.
        """
        return self.heygen_result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """
        OpenLineage's view of the finished task: inputs, outputs, ``externalQuery``, ``heygenJob``.

        :param task_instance: the listener's task instance.
        """
        from airflow_heygen.lineage.facets import operator_lineage

        return operator_lineage(self.lineage_report(task_instance, failed=False))

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        """
        OpenLineage's view of the failed task: its inputs, the job(s) it made, ``errorMessage``.

        :param task_instance: the listener's task instance.
        """
        from airflow_heygen.lineage.facets import operator_lineage

        return operator_lineage(self.lineage_report(task_instance, failed=True), task_error(task_instance))
