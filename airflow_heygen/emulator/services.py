"""What the request handlers share: stores, the job runner, faults, stats, samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from airflow_heygen.emulator.billing import Account
from airflow_heygen.emulator.config import EmulatorConfig
from airflow_heygen.emulator.faults import FaultInjector
from airflow_heygen.emulator.jobs import JobRunner
from airflow_heygen.emulator.output_seconds import OutputSeconds
from airflow_heygen.emulator.request_log import RequestLog
from airflow_heygen.emulator.samples import SampleLibrary
from airflow_heygen.emulator.stats import StatsRecorder
from airflow_heygen.emulator.store import ExecutionStore, RecordStore
from airflow_heygen.emulator.v3.assets import AssetStore
from airflow_heygen.emulator.v3.idempotency import IdempotencyBook
from airflow_heygen.emulator.v3.models import V3Batch, V3Job


@dataclass
class EmulatorServices:
    """
    Everything the request handlers use.

    :param config: the start configuration.
    :param store: v1 workflow executions.
    :param runner: the job queue (v1 and v3 jobs).
    :param faults: fault injection.
    :param stats: counters.
    :param samples: built-in sample media.
    :param media_dir: folder of outputs.
    :param engine_name: the face engine that renders (or ``stub``).
    :param jobs: v3 videos, lip-syncs and video translations.
    :param batches: v3 batches.
    :param assets: v3 uploaded assets.
    :param idempotency: remembered answers of v3 creates.
    :param billing: the account's money.
    :param output_seconds: prices creates by their output seconds.
    :param request_log: optional JSON-lines request log.
    """

    config: EmulatorConfig
    store: ExecutionStore
    runner: JobRunner
    faults: FaultInjector
    stats: StatsRecorder
    samples: SampleLibrary
    media_dir: Path
    engine_name: str
    jobs: RecordStore[V3Job]
    batches: RecordStore[V3Batch]
    assets: AssetStore
    idempotency: IdempotencyBook
    billing: Account
    output_seconds: OutputSeconds
    request_log: RequestLog | None = None


SERVICES = web.AppKey("services", EmulatorServices)


def public_base(request: web.Request) -> str:
    """
    Scheme and host of the URLs in answers: ``--public-url``, else from the request's Host header.

    :param request: the request being answered.
    """
    configured = request.app[SERVICES].config.public_url
    return configured if configured else f"http://{request.host}"
