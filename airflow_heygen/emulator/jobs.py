"""The bounded job queue: executions move submitted -> processing -> completed | failed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.models import Execution, ExecutionStatus
from airflow_heygen.emulator.render.landmarks import EngineChoice
from airflow_heygen.emulator.render.video_io import atomic_path
from airflow_heygen.emulator.store import ExecutionStore
from airflow_heygen.emulator.worker import RenderOutcome, RenderTask, init_worker, run_render_task

log = logging.getLogger(__name__)

INJECTED_FAILURE = "Face swap failed: the render node crashed (injected fault)"


class RenderBackend(ABC):
    """Produces the output file of an execution."""

    @abstractmethod
    async def render(self, execution: Execution, output: Path) -> RenderOutcome:
        """
        Render one execution.

        :param execution: the execution.
        :param output: where its mp4 must appear.
        """

    @abstractmethod
    def close(self) -> None:
        """Release resources."""


class StubBackend(RenderBackend):
    """
    Completes jobs without rendering: the output is a hard link to (or a copy of) a sample video.

    :param sample: the sample video.
    :param duration: its duration in seconds.
    """

    def __init__(self, sample: Path, duration: float) -> None:
        self._sample = sample
        self._duration = duration

    async def render(self, execution: Execution, output: Path) -> RenderOutcome:
        """Link the sample to the output path."""
        with atomic_path(output) as temp:
            try:
                os.link(self._sample, temp)
            except OSError:
                temp.write_bytes(self._sample.read_bytes())
        return RenderOutcome(duration=self._duration)

    def close(self) -> None:
        """Nothing to release."""


class ProcessPoolBackend(RenderBackend):
    """
    Renders in worker processes, so the event loop never waits on the CPU.

    :param workers: number of processes.
    :param data_dir: the emulator data dir.
    :param engine: face engine choice.
    :param log_level: logging level of the workers.
    """

    def __init__(self, workers: int, data_dir: Path, engine: EngineChoice, log_level: str) -> None:
        self._workers = workers
        self._data_dir = data_dir
        self._engine = engine
        self._log_level = log_level
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self._log_level,),
        )

    async def render(self, execution: Execution, output: Path) -> RenderOutcome:
        """Run the render in a worker process; a crashed worker fails the execution and is replaced."""
        task = RenderTask(
            execution_id=execution.execution_id,
            workflow_type=execution.workflow_type,
            input=execution.input,
            data_dir=self._data_dir,
            output=output,
            engine=self._engine,
        )
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, run_render_task, task)
        except BrokenProcessPool:
            log.error("a render worker died while rendering %s; restarting the pool", execution.execution_id)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return RenderOutcome(error="internal render error (the render worker died)")

    def close(self) -> None:
        """Stop the workers without waiting for running renders (they are re-queued on restart)."""
        # shutdown() alone would let a running render finish first, and the interpreter waits for
        # it at exit; the pool exposes its processes only through this private mapping.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)


class JobRunner:
    """
    Runs executions on a fixed number of worker tasks; completion waits for the injected latency
    without holding a worker.

    :param store: the execution store.
    :param backend: what renders.
    :param media_dir: where outputs go.
    :param workers: jobs rendered at once.
    """

    def __init__(self, store: ExecutionStore, backend: RenderBackend, media_dir: Path, workers: int) -> None:
        self._store = store
        self._backend = backend
        self._media_dir = media_dir
        self._workers = workers
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._rendering = 0

    def start(self, pending: list[Execution]) -> None:
        """
        Start the worker tasks and re-queue unfinished executions.

        :param pending: executions found unfinished at start, oldest first.
        """
        for _ in range(self._workers):
            self._spawn(self._work())
        for execution in pending:
            self.enqueue(execution.execution_id)
        if pending:
            log.info("re-queued %d unfinished execution(s)", len(pending))

    def enqueue(self, execution_id: str) -> None:
        """
        Queue an execution for rendering.

        :param execution_id: its id.
        """
        self._queue.put_nowait(execution_id)

    @property
    def queued(self) -> int:
        """Executions waiting for a worker."""
        return self._queue.qsize()

    @property
    def rendering(self) -> int:
        """Executions being rendered now."""
        return self._rendering

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self) -> None:
        while True:
            execution_id = await self._queue.get()
            try:
                await self._run(execution_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s could not be run", execution_id)

    async def _run(self, execution_id: str) -> None:
        execution = self._store.get(execution_id)
        if execution is None or execution.status.is_final:
            return
        execution = execution.with_status(ExecutionStatus.PROCESSING, time.time())
        await self._store.put(execution)
        if execution.inject_failure:
            outcome = RenderOutcome(error=INJECTED_FAILURE)
        else:
            self._rendering += 1
            try:
                outcome = await self._backend.render(execution, self._media_dir / f"{execution_id}.mp4")
            finally:
                self._rendering -= 1
        self._spawn(self._finish(execution, outcome))

    async def _finish(self, execution: Execution, outcome: RenderOutcome) -> None:
        delay = execution.ready_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.time()
        if outcome.error is None:
            final = execution.with_status(
                ExecutionStatus.COMPLETED,
                now,
                output_file=f"{execution.execution_id}.mp4",
                duration=outcome.duration,
            )
            log.info(
                "%s %s completed %s",
                execution.execution_id,
                execution.workflow_type.value,
                outcome.details or "",
            )
        else:
            final = execution.with_status(ExecutionStatus.FAILED, now, error_message=outcome.error)
            log.info("%s %s failed: %s", execution.execution_id, execution.workflow_type.value, outcome.error)
        await self._store.put(final)

    async def stop(self) -> None:
        """Cancel workers and pending completions, then stop the backend."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._backend.close()
