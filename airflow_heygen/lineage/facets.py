"""
OpenLineage objects from a :class:`~airflow_heygen.lineage.report.LineageReport`: datasets, the
``externalQuery`` and ``errorMessage`` run facets, and the provider's own ``heygenJob`` run facet.

This module imports OpenLineage: only :mod:`airflow_heygen.lineage.report` imports it, inside the
methods the OpenLineage listener calls.
"""

from __future__ import annotations

import traceback
from typing import Any

import attr
from airflow.providers.common.compat.openlineage.facet import (
    Dataset,
    ErrorMessageRunFacet,
    ExternalQueryRunFacet,
)
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.facet_v2 import RunFacet

from airflow_heygen import __version__
from airflow_heygen.lineage.datasets import DatasetRef
from airflow_heygen.lineage.report import LineageReport

__all__ = ["FACET_SCHEMA_URL", "PRODUCER", "HeyGenJobRunFacet", "operator_lineage"]

# Where the facet's JSON schema is published; the same file ships in the package
# (airflow_heygen/lineage/HeyGenJobRunFacet.json), whose $id this is.
SCHEMA_FILE_URL = (
    "https://raw.githubusercontent.com/airflow-heygen/airflow-heygen/main/"
    "airflow_heygen/lineage/HeyGenJobRunFacet.json"
)
FACET_SCHEMA_URL = f"{SCHEMA_FILE_URL}#/$defs/HeyGenJobRunFacet"
# What made the facet: this package at its version (OpenLineage asks for a URI naming the producer).
PRODUCER = f"https://pypi.org/project/airflow-heygen/{__version__}/"
# The source of externalQuery: the system the id belongs to.
EXTERNAL_SOURCE = "heygen"


@attr.define
class CampaignItems:
    """A campaign's items by state."""

    total: int
    completed: int | None = None
    failed: int | None = None
    in_doubt: int | None = None
    skipped: int | None = None


@attr.define
class HeyGenJobRunFacet(RunFacet):
    """
    What a task did at HeyGen: the ``heygenJob`` run facet (schema: ``HeyGenJobRunFacet.json``).

    :param kind: the job kind, or a campaign's item kind.
    :param workflow_type: a workflows execution's type.
    :param job_ids: HeyGen's ids of the task's jobs.
    :param statuses: each job's last status.
    :param output_seconds: seconds of video made.
    :param estimated_cost_usd: the estimate made before the create.
    :param cost_usd: what the jobs cost by the rate table.
    :param rate: the rate, in words.
    :param items: a campaign's counts.
    """

    kind: str
    workflow_type: str | None = None
    job_ids: list[str] | None = None
    statuses: list[str] | None = None
    output_seconds: float | None = None
    estimated_cost_usd: float | None = None
    cost_usd: float | None = None
    rate: str | None = None
    items: CampaignItems | None = None

    def __attrs_post_init__(self) -> None:
        # Our producer, not the OpenLineage client's default; the base fills _schemaURL from _get_schema.
        if not self._producer:
            self._producer = PRODUCER
        super().__attrs_post_init__()

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA_URL


def _dataset(ref: DatasetRef) -> Dataset:
    return Dataset(namespace=ref.namespace, name=ref.name)


def job_facet(fields: dict[str, Any]) -> HeyGenJobRunFacet:
    """
    The ``heygenJob`` facet of a report's fields.

    :param fields: :attr:`LineageReport.job`.
    """
    values = dict(fields)
    items = values.pop("items", None)
    return HeyGenJobRunFacet(**values, items=CampaignItems(**items) if items else None)


def error_facet(error: BaseException | str) -> ErrorMessageRunFacet:
    """
    The ``errorMessage`` facet of a task's error, with its stack trace where there is one.

    :param error: the exception the task failed with, or its message.
    """
    stack = None
    if isinstance(error, BaseException) and error.__traceback__ is not None:
        stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return ErrorMessageRunFacet(message=str(error), programmingLanguage="python", stackTrace=stack)


def operator_lineage(report: LineageReport, error: BaseException | str | None = None) -> OperatorLineage:
    """
    The OpenLineage view of a report.

    :param report: what the task read, made and did.
    :param error: the task's error, for a failure.
    """
    run_facets: dict[str, Any] = {}
    if report.external_id:
        run_facets["externalQuery"] = ExternalQueryRunFacet(
            externalQueryId=report.external_id, source=EXTERNAL_SOURCE
        )
    if report.job is not None:
        run_facets["heygenJob"] = job_facet(report.job)
    if error is not None:
        run_facets["errorMessage"] = error_facet(error)
    return OperatorLineage(
        inputs=[_dataset(ref) for ref in report.inputs],
        outputs=[_dataset(ref) for ref in report.outputs],
        run_facets=run_facets,
    )
