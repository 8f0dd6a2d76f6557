"""Lifecycle of the emulator process: prepare the data dir, serve, stop cleanly on a signal."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import av
from aiohttp import web

from airflow_heygen.emulator.app import EmulatorServices, create_app
from airflow_heygen.emulator.billing import Account
from airflow_heygen.emulator.config import EmulatorConfig, RenderMode
from airflow_heygen.emulator.faults import FaultInjector
from airflow_heygen.emulator.jobs import JobRunner, ProcessPoolBackend, RenderBackend, StubBackend
from airflow_heygen.emulator.output_seconds import OutputSeconds
from airflow_heygen.emulator.render.landmarks import resolve_engine_name
from airflow_heygen.emulator.request_log import RequestLog
from airflow_heygen.emulator.samples import Sample, SampleLibrary
from airflow_heygen.emulator.stats import StatsRecorder
from airflow_heygen.emulator.store import ExecutionStore, RecordStore
from airflow_heygen.emulator.v3.assets import AssetStore
from airflow_heygen.emulator.v3.idempotency import IdempotencyBook
from airflow_heygen.emulator.v3.models import V3Batch, V3Job

log = logging.getLogger(__name__)

READY_MESSAGE = "HeyGen emulator listening on {url}"


def _video_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        return round(float(container.duration or 0) / av.time_base, 3)


class EmulatorServer:
    """
    One running emulator.

    :param config: how to run.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._runner: web.AppRunner | None = None
        self._jobs: JobRunner | None = None
        self._store: ExecutionStore | None = None
        self._v3_stores: list[RecordStore[Any] | IdempotencyBook] = []
        self._request_log: RequestLog | None = None
        self.base_url = ""

    async def start(self) -> str:
        """
        Prepare the data dir, re-queue unfinished executions and v3 jobs, and start listening.

        :return: the base URL.
        """
        config = self._config
        data_dir = config.data_dir
        media_dir = data_dir / "media"
        media_dir.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers(media_dir)
        samples = SampleLibrary(data_dir / "samples")
        await asyncio.to_thread(samples.ensure)
        self._store = ExecutionStore(data_dir / "executions")
        pending: list[Any] = [e for e in self._store.load() if not e.status.is_final]
        v3_dir = data_dir / "v3"
        jobs: RecordStore[V3Job] = RecordStore(v3_dir / "jobs", V3Job.from_record)
        batches: RecordStore[V3Batch] = RecordStore(v3_dir / "batches", V3Batch.from_record)
        # Absolute, so asset paths handed to render workers are accepted as files under the data dir.
        assets = AssetStore(v3_dir / "assets", (data_dir / "uploads").resolve())
        idempotency = IdempotencyBook(v3_dir / "idempotency")
        batches.load_records()
        assets.load_records()
        replayable = idempotency.load()
        unfinished = sorted(
            (job for job in jobs.load_records() if not job.status.is_final), key=lambda j: j.created_at
        )
        pending = sorted([*pending, *unfinished], key=lambda job: job.created_at)
        self._v3_stores = [jobs, batches, assets, idempotency]
        backend: RenderBackend
        target = samples.path(Sample.TARGET)
        clip_seconds = _video_duration(target)
        if config.render is RenderMode.STUB:
            backend = StubBackend(target, clip_seconds, data_dir.resolve())
            engine_name = "stub"
        else:
            backend = ProcessPoolBackend(
                config.workers, data_dir.resolve(), config.face_engine, config.log_level
            )
            engine_name = resolve_engine_name(config.face_engine)
        faults = FaultInjector(config.faults, config.seed)
        self._jobs = JobRunner(
            [self._store, jobs], backend, media_dir, config.workers, lambda: faults.settings.plan_concurrency
        )
        self._jobs.start(pending)
        if config.request_log is not None:
            self._request_log = RequestLog(config.request_log)
        services = EmulatorServices(
            config=config,
            store=self._store,
            runner=self._jobs,
            faults=faults,
            stats=StatsRecorder(),
            samples=samples,
            media_dir=media_dir,
            engine_name=engine_name,
            jobs=jobs,
            batches=batches,
            assets=assets,
            idempotency=idempotency,
            billing=Account(config.billing),
            output_seconds=OutputSeconds(data_dir.resolve(), clip_seconds, config.render is RenderMode.STUB),
            request_log=self._request_log,
        )
        self._runner = web.AppRunner(
            create_app(services),
            keepalive_timeout=config.keepalive_timeout,
            access_log=None,
            handle_signals=False,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, config.host, config.port, backlog=1024, reuse_address=True)
        await site.start()
        port = self._bound_port(site)
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.base_url = f"http://{host}:{port}"
        log.info(
            "render=%s engine=%s workers=%d data_dir=%s faults=%s idempotency_keys=%d",
            config.render.value,
            engine_name,
            config.workers,
            data_dir,
            services.faults.to_json(),
            replayable,
        )
        return self.base_url

    def _remove_leftovers(self, media_dir: Path) -> None:
        """Drop partial outputs and downloads of renders a previous run was stopped in."""
        for partial in media_dir.glob(".*.tmp.*"):
            partial.unlink(missing_ok=True)
        for upload in (self._config.data_dir / "uploads").glob(".*.upload.*"):
            upload.unlink(missing_ok=True)
        shutil.rmtree(self._config.data_dir / "work", ignore_errors=True)

    @staticmethod
    def _bound_port(site: web.TCPSite) -> int:
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        for sock in sockets:
            return int(sock.getsockname()[1])
        raise RuntimeError("the server has no listening socket")

    async def stop(self) -> None:
        """Stop listening, cancel jobs (unfinished ones are re-queued at the next start), flush state."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._jobs is not None:
            await self._jobs.stop()
        if self._store is not None:
            self._store.close()
        for store in self._v3_stores:
            store.close()
        if self._request_log is not None:
            self._request_log.close()


async def serve(config: EmulatorConfig) -> None:
    """
    Run until SIGTERM or SIGINT; print the ready line once listening.

    :param config: how to run.
    """
    server = EmulatorServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        url = await server.start()
        print(READY_MESSAGE.format(url=url), flush=True)
        await stop.wait()
        log.info("stopping")
    finally:
        await server.stop()


def run(config: EmulatorConfig) -> int:
    """
    Serve in a fresh event loop.

    :param config: how to run.
    :return: the process exit code.
    """
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        print(f"heygen-emulator: cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
