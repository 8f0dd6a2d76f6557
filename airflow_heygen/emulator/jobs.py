"""
The bounded job queue: jobs (v1 executions and v3 videos, lip-syncs, translations) move
submitted -> running -> completed | failed (v3 reads name these their own way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol, TypeVar

from airflow_heygen.emulator.concurrency import PlanSlots, SlotStart
from airflow_heygen.emulator.failures import FailureCode, injected_message
from airflow_heygen.emulator.media_probe import MediaProbe
from airflow_heygen.emulator.models import ExecutionStatus
from airflow_heygen.emulator.render.captions import write_captions
from airflow_heygen.emulator.render.landmarks import EngineChoice
from airflow_heygen.emulator.render.video_io import atomic_path
from airflow_heygen.emulator.tasks import RenderKind, RenderOutcome, RenderTask
from airflow_heygen.emulator.worker import init_worker, run_render_task

log = logging.getLogger(__name__)

J = TypeVar("J", bound="RunnableJob")


class RunnableJob(Protocol):
    """What the runner needs of a job (a v1 :class:`Execution` or a v3 job)."""

    @property
    def job_id(self) -> str:
        """The id it is queued under."""

    @property
    def status(self) -> ExecutionStatus:
        """Where it is in its lifecycle."""

    @property
    def created_at(self) -> float:
        """Unix time of its create."""

    @property
    def ready_at(self) -> float:
        """Unix time before which it does not complete."""

    @property
    def inject_failure(self) -> bool:
        """Whether fault injection makes it fail."""

    @property
    def injected_code(self) -> str | None:
        """The failure code fault injection chose (``internal_error`` when None)."""

    @property
    def render_kind(self) -> RenderKind:
        """Which renderer runs it (named by failure messages)."""

    @property
    def label(self) -> str:
        """What the logs call it."""

    def with_status(self: J, status: ExecutionStatus, now: float, **changes: Any) -> J:
        """A copy in a new status (``error_message`` and ``error_code`` among the changes when failed)."""

    def completed(self: J, now: float, output_file: str, outcome: RenderOutcome) -> J:
        """A copy that completed with its output."""

    def render_task(self, data_dir: Path, output: Path, engine: EngineChoice) -> RenderTask:
        """The render a worker runs."""


class JobStore(Protocol):
    """Where the runner finds and saves jobs of one family."""

    def get(self, record_id: str) -> Any:
        """The job with this id, or None."""

    async def put(self, item: Any) -> None:
        """Save a job."""


class RenderBackend(ABC):
    """Produces the output file of a job."""

    @abstractmethod
    async def render(self, job: RunnableJob, output: Path) -> RenderOutcome:
        """
        Render one job.

        :param job: the job.
        :param output: where its mp4 must appear.
        """

    @abstractmethod
    def close(self) -> None:
        """Release resources."""


class StubBackend(RenderBackend):
    """
    Completes jobs without rendering: the output is a hard link to (or a copy of) a sample video;
    a translation also gets captions timed to the sample. Input media are only checked to be
    fetchable (see :class:`MediaProbe`), so a job whose input HeyGen could not download still fails
    with ``download_failed``.

    :param sample: the sample video.
    :param duration: its duration in seconds.
    :param data_dir: the emulator data dir.
    """

    def __init__(self, sample: Path, duration: float, data_dir: Path) -> None:
        self._sample = sample
        self._duration = duration
        self._data_dir = data_dir
        self._probe = MediaProbe(data_dir)

    async def render(self, job: RunnableJob, output: Path) -> RenderOutcome:
        """Check the inputs can be fetched, then link the sample to the output path."""
        task = job.render_task(self._data_dir, output, EngineChoice.AUTO)
        failure = await self._probe.check(task.media_inputs())
        if failure is not None:
            return RenderOutcome.failed(str(failure), failure.code.value)
        with atomic_path(output) as temp:
            try:
                os.link(self._sample, temp)
            except OSError:
                temp.write_bytes(self._sample.read_bytes())
        if task.kind is RenderKind.TRANSLATION:
            write_captions(task.caption_path, self._duration, str(task.input["language"]))
            return RenderOutcome(duration=self._duration, caption_file=task.caption_path.name)
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

    async def render(self, job: RunnableJob, output: Path) -> RenderOutcome:
        """Run the render in a worker process; a crashed worker fails the job and is replaced."""
        task = job.render_task(self._data_dir, output, self._engine)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, run_render_task, task)
        except BrokenProcessPool:
            log.error("a render worker died while rendering %s; restarting the pool", job.job_id)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return RenderOutcome.failed("internal render error (the render worker died)")

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


def injected_outcome(job: RunnableJob) -> RenderOutcome:
    """
    The outcome of a job fault injection fails: its chosen code, a message naming the job's kind.

    :param job: the job.
    """
    code = job.injected_code or FailureCode.INTERNAL_ERROR.value
    return RenderOutcome.failed(injected_message(code, job.render_kind.value), code)


class JobRunner:
    """
    Runs jobs on a fixed number of worker tasks; completion waits for the injected latency without
    holding a worker. One queue serves every store, so v1 and v3 jobs share the render workers.
    A job reaches the queue only once it holds one of the plan's slots (:attr:`slots`), and gives
    its slot back when it is terminal.

    :param stores: the stores jobs live in (ids are unique across them).
    :param backend: what renders.
    :param media_dir: where outputs go.
    :param workers: jobs rendered at once.
    :param plan_concurrency: the plan's concurrency in force (read at each use).
    """

    def __init__(
        self,
        stores: Sequence[JobStore],
        backend: RenderBackend,
        media_dir: Path,
        workers: int,
        plan_concurrency: Callable[[], int],
    ) -> None:
        self._stores = list(stores)
        self._backend = backend
        self._media_dir = media_dir
        self._workers = workers
        # Each entry says how the job got its plan slot, which says when its latency runs.
        self._queue: asyncio.Queue[tuple[str, SlotStart]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._rendering = 0
        self.slots = PlanSlots(plan_concurrency, self._put)
        # Set by release(): every job then waiting out its latency completes at once. A new event
        # serves the jobs after it, so that they wait as usual.
        self._released = asyncio.Event()
        self._waiting = 0

    def start(self, pending: Sequence[RunnableJob]) -> None:
        """
        Start the worker tasks and re-queue unfinished jobs (those beyond the plan's slots wait).

        :param pending: jobs found unfinished at start, oldest first.
        """
        for _ in range(self._workers):
            self._spawn(self._work())
        for job in pending:
            self.slots.admit(job.job_id)
        if pending:
            log.info("re-queued %d unfinished job(s)", len(pending))

    def enqueue(self, job_id: str) -> None:
        """
        Queue a stored job whose slot :meth:`PlanSlots.reserve` took (a single create).

        :param job_id: its id.
        """
        self._put(job_id, SlotStart.AT_ONCE)

    def _put(self, job_id: str, start: SlotStart) -> None:
        self._queue.put_nowait((job_id, start))

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker."""
        return self._queue.qsize()

    @property
    def rendering(self) -> int:
        """Jobs being rendered now."""
        return self._rendering

    def release(self) -> int:
        """
        End the injected latency of every job waiting it out now, so that they complete at once, and of
        every batch item waiting for a plan slot, so that it completes as soon as it has its slot and
        has rendered; jobs submitted later wait theirs as usual. Lets a test hold renders for as long as
        it needs, then end them as soon as what it waited for has happened.

        :return: how many jobs were released.
        """
        released, self._released = self._released, asyncio.Event()
        released.set()
        return self._waiting + self.slots.release_waiting()

    def _find(self, job_id: str) -> tuple[JobStore, RunnableJob] | None:
        for store in self._stores:
            job = store.get(job_id)
            if job is not None:
                return store, job
        return None

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self) -> None:
        while True:
            execution_id, start = await self._queue.get()
            try:
                await self._run(execution_id, start)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s could not be run", execution_id)

    async def _run(self, job_id: str, start: SlotStart) -> None:
        found = self._find(job_id)
        if found is None or found[1].status.is_final:
            self.slots.release(job_id)
            return
        store, job = found
        now = time.time()
        changes: dict[str, Any] = {}
        if start is SlotStart.AFTER_WAIT:
            # Its latency is its render time: it starts now, not when the batch was created.
            changes["ready_at"] = now + max(job.ready_at - job.created_at, 0.0)
        elif start is SlotStart.RELEASED:
            changes["ready_at"] = now
        job = job.with_status(ExecutionStatus.RUNNING, now, **changes)
        await store.put(job)
        if job.inject_failure:
            outcome = injected_outcome(job)
        else:
            self._rendering += 1
            try:
                outcome = await self._backend.render(job, self._media_dir / f"{job_id}.mp4")
            except Exception as exc:
                # A bug of the backend must still end the job, as a failure a new attempt may not meet.
                log.exception("render of %s crashed", job_id)
                outcome = RenderOutcome.failed(f"internal render error ({type(exc).__name__})")
            finally:
                self._rendering -= 1
        self._spawn(self._finish(store, job, outcome))

    async def _finish(self, store: JobStore, job: RunnableJob, outcome: RenderOutcome) -> None:
        delay = job.ready_at - time.time()
        if delay > 0:
            self._waiting += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), delay)
            finally:
                self._waiting -= 1
        if store.get(job.job_id) is None:
            # Deleted (v3 DELETE) while it rendered: drop its outputs instead of bringing it back.
            for name in (f"{job.job_id}.mp4", outcome.caption_file):
                if name:
                    (self._media_dir / name).unlink(missing_ok=True)
            self.slots.release(job.job_id)
            return
        now = time.time()
        if outcome.error is None:
            final = job.completed(now, f"{job.job_id}.mp4", outcome)
            log.info("%s %s completed %s", job.job_id, job.label, outcome.details or "")
        else:
            code = outcome.code or FailureCode.INTERNAL_ERROR.value
            final = job.with_status(ExecutionStatus.FAILED, now, error_message=outcome.error, error_code=code)
            log.info("%s %s failed (%s): %s", job.job_id, job.label, code, outcome.error)
        # The slot frees in the same step as the job turns terminal in memory (put's first, synchronous
        # part): a client that reads it final can create again at once.
        self.slots.release(job.job_id)
        await store.put(final)

    async def stop(self) -> None:
        """Cancel workers and pending completions, then stop the backend."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._backend.close()
