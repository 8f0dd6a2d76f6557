"""
The sync hook's jobs: create, read, wait for and delete jobs of every kind in
:mod:`airflow_heygen.kinds` (a workflows execution is the ``workflow`` kind), upload assets, read the
account.

:class:`HeyGenJobsMixin` is one of ``HeyGenHook``'s bases; it sends through the hook's transport
(``_exchange``, the same session, proxies, TLS, key masking and retry policy). A v3 create carries an
``Idempotency-Key``, so it *is* repeated after a lost answer, a read timeout, a 5xx or 409
``request_in_progress`` (wait, then the same key again): HeyGen answers a repeated key with the job it
already made. A workflows submission has no key: once it may have been taken, it is never repeated.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests

from airflow_heygen.api import Retry, parse_retry_after
from airflow_heygen.exceptions import HeyGenExecutionError, HeyGenNoAnswerError, HeyGenUnavailableError
from airflow_heygen.failures import failed_job_error
from airflow_heygen.hooks.common import StatusChangeLog
from airflow_heygen.job import Job, ids_from_create, job_from_single
from airflow_heygen.kinds import WORKFLOW, JobKind, JobStatus, job_kind
from airflow_heygen.retrying import retry_sync
from airflow_heygen.spend.account import Account

if TYPE_CHECKING:
    from airflow_heygen.api import ConnectionSettings

IDEMPOTENCY_HEADER = "Idempotency-Key"
ACCOUNT_ENDPOINT = "v3/users/me"
ASSETS_ENDPOINT = "v3/assets"
# How long to wait before repeating a create that HeyGen is still processing (409 request_in_progress)
# when it sends no Retry-After.
IN_PROGRESS_WAIT = 1.0


def error_code(body: bytes) -> str | None:
    """The ``error.code`` of a v3 error answer, if the body is one."""
    import json

    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    error = document.get("error") if isinstance(document, Mapping) else None
    code = error.get("code") if isinstance(error, Mapping) else None
    return code if isinstance(code, str) else None


def in_progress(status: int, body: bytes, retry_after: str | None) -> Retry | None:
    """
    :class:`Retry` for a 409 ``request_in_progress`` (a create with this key is still being
    processed: wait, then send the same key again), else None.

    :param status: HTTP status.
    :param body: the answer's body.
    :param retry_after: its ``Retry-After`` header.
    """
    if status != 409 or error_code(body) != "request_in_progress":
        return None
    return Retry("HTTP 409 request_in_progress", parse_retry_after(retry_after) or IN_PROGRESS_WAIT)


def job_failed_message(job: Job) -> str:
    """The error of a job that failed or vanished, naming it."""
    kind = job_kind(job.kind)
    if job.status is JobStatus.NOT_FOUND:
        return f"HeyGen {kind.description} {job.id} not found"
    return f"HeyGen {kind.description} {job.id} failed: {job.failure or 'no reason given'}"


def timeout_message(job_id: str, timeout: float, kind: str = WORKFLOW.name) -> str:
    """:func:`job_timeout_message` (a workflows execution's, unless ``kind`` says otherwise)."""
    return job_timeout_message(job_id, kind, timeout)


def job_timeout_message(job_id: str, kind: str, timeout: float) -> str:
    """The error of a job still running at the deadline, saying how to resume waiting."""
    row = job_kind(kind)
    return (
        f"HeyGen {row.description} {job_id} was still running after {timeout:.0f}s. It may still "
        f"finish: wait for it with {row.resume_with(job_id)} instead of submitting again"
    )


def unavailable_while_reading_job(
    row: JobKind, job_id: str, err: HeyGenUnavailableError
) -> HeyGenUnavailableError:
    """
    ``err``, raised while reading a job's status (in a worker or the triggerer), retold with that
    job and how to resume: HeyGen keeps running it while the network (or HeyGen) is down.

    :param row: the job's kind.
    :param job_id: its id.
    :param err: the error that ended the retries.
    """
    return HeyGenUnavailableError(
        f"HeyGen {row.description} {job_id}: {err}. It may still finish: wait for it with "
        f"{row.resume_with(job_id)} instead of submitting again"
    )


def raise_for_job(job: Job) -> Job:
    """
    Return a completed job; raise for a failed or vanished one: without retries for a failure no
    retry changes (:func:`~airflow_heygen.failures.failed_job_error`).
    """
    failure = job.failed
    if failure is not None:
        what = f"HeyGen {job_kind(job.kind).description} {job.id}"
        raise failed_job_error(what, job.id, failure, resubmit_failed=False)
    return job


def account_text(account: Mapping[str, Any]) -> str:
    """
    What is left on a HeyGen account, in a few words: wallet balance, usage-based credits or a
    subscription's credits, whichever the account has.

    :param account: the ``data`` of ``GET /v3/users/me``.
    """
    return Account.from_data(account).text()


class HeyGenJobsMixin:
    """
    HeyGen's jobs for :class:`~airflow_heygen.hooks.heygen.HeyGenHook` (a base of it).

    Every method takes a job kind (``"video"``, ``"lipsync"``, ``"video_translation"``, ``"asset"``,
    ``"workflow"``) and reads where to go from :mod:`airflow_heygen.kinds`.
    """

    if TYPE_CHECKING:

        @property
        def settings(self) -> ConnectionSettings: ...

        @property
        def session(self) -> requests.Session: ...

        log: Any

        def _exchange(self, request: requests.PreparedRequest, timeout: float) -> requests.Response: ...

        def _attempt(
            self, request: requests.Request, endpoint: str, *, not_found_ok: bool, repeatable: bool
        ) -> Mapping[str, Any] | Retry: ...

        def url_from_endpoint(self, endpoint: str | None) -> str: ...

    def _send(
        self,
        method: str,
        endpoint: str,
        *,
        json: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        not_found_ok: bool = False,
        deadline: float | None = None,
    ) -> Mapping[str, Any]:
        """
        Send a request (repeating it under the connection's retry policy) and return its ``data``.

        :param method: HTTP method.
        :param endpoint: path relative to the connection's URL.
        :param json: a JSON body.
        :param files: a multipart body (``requests``' ``files``).
        :param idempotency_key: the create's ``Idempotency-Key``, which makes a POST repeatable.
        :param not_found_ok: whether a 404 reads as ``{"status": "not_found"}``.
        :param deadline: Unix time past which no retry waits.
        """
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}
        request = requests.Request(
            method, self.url_from_endpoint(endpoint), json=json, files=files, headers=headers
        )
        repeatable = method != "POST" or idempotency_key is not None
        # Each attempt prepares the request afresh (a multipart body included).
        return retry_sync(
            lambda: self._attempt(request, endpoint, not_found_ok=not_found_ok, repeatable=repeatable),
            self.settings.retry,
            what=f"{method} {endpoint}",
            log=self.log,
            deadline=deadline,
        )

    def create_job(
        self, kind: str | JobKind, body: Mapping[str, Any], idempotency_key: str | None
    ) -> list[str]:
        """
        Create a job (a translation creates one per output language) and return its id(s).

        :param kind: the kind (a v3 kind takes ``idempotency_key``).
        :param body: the create's body, already checked.
        :param idempotency_key: the key; with it, lost answers, 5xx and 409 are repeated safely.
        :raises HeyGenNoAnswerError: when HeyGen's answer carries no id.
        """
        row = job_kind(kind)
        key = idempotency_key if row.idempotent_creates else None
        data = self._send("POST", row.create_endpoint, json=body, idempotency_key=key)
        ids = ids_from_create(row, data)
        if not ids:
            raise HeyGenNoAnswerError(f"HeyGen accepted the {row.description} but returned no {row.id_field}")
        keyed = f" (Idempotency-Key {key})" if key else ""
        self.log.info("Created HeyGen %s %s%s", row.description, ", ".join(ids), keyed)
        return ids

    def submit_workflow(self, workflow_type: str, input: Mapping[str, Any]) -> str:
        """
        Submit a workflow (a ``workflow`` job: no key, never repeated once it may have been taken).

        :param workflow_type: e.g. ``"FaceswapNode"``; callers validate the request first.
        :param input: the workflow's ``input`` object.
        :raises HeyGenApiRetiredError: when the host has no workflows API (404 or 410 to the submit).
        """
        return self.create_job(WORKFLOW, {"workflow_type": workflow_type, "input": dict(input)}, None)[0]

    def get_execution(
        self, execution_id: str, workflow_type: str | None = None, *, deadline: float | None = None
    ) -> Job:
        """:meth:`get_job` of a workflows execution, its type filled in where HeyGen's read lacks it."""
        return self.get_job(WORKFLOW, execution_id, deadline=deadline).typed(workflow_type)

    def wait_for_execution(
        self,
        execution_id: str,
        poll_interval: float = 10.0,
        timeout: float = 600.0,
        workflow_type: str | None = None,
    ) -> Job:
        """:meth:`wait_for_job` of a workflows execution."""
        return self.wait_for_job(WORKFLOW, execution_id, poll_interval, timeout).typed(workflow_type)

    def get_job(self, kind: str | JobKind, job_id: str, *, deadline: float | None = None) -> Job:
        """
        Read one job's status; a 404 reads as ``not_found``.

        :param kind: the job's kind.
        :param job_id: its id.
        :param deadline: Unix time past which retries do not wait.
        """
        row = job_kind(kind)
        try:
            data = self._send("GET", row.status_path(job_id), not_found_ok=True, deadline=deadline)
        except HeyGenUnavailableError as err:
            raise unavailable_while_reading_job(row, job_id, err) from None
        return job_from_single(row, data, job_id)

    def detailed(self, job: Job) -> Job:
        """
        A completed job as its own read returns it (video URL, details): a bulk status answer, which
        the triggerer's waits read, carries only the status, so the task reads its job once here, in
        the worker, instead of the triggerer once per job (``docs/waiting.md``). Any other job is
        returned as it is.

        :param job: the job a trigger's event reported.
        """
        row = job_kind(job.kind)
        if job.status is not JobStatus.COMPLETED or job.video_url or row.bulk_endpoint is None:
            return job
        detailed = self.get_job(row, job.id)
        # The trigger logged this completion without the URL (its bulk read had none): log it here, once.
        if detailed.status is JobStatus.COMPLETED and detailed.video_url:
            StatusChangeLog(self.log, job.id, row.description).completed(detailed.video_url)
        return detailed

    def wait_for_job(
        self, kind: str | JobKind, job_id: str, poll_interval: float = 10.0, timeout: float = 600.0
    ) -> Job:
        """
        Poll until the job completes; raise if it fails, vanishes or outlives ``timeout``.

        :param kind: the job's kind.
        :param job_id: its id.
        :param poll_interval: seconds between polls.
        :param timeout: seconds to wait at most; the last poll is at the deadline.
        """
        row = job_kind(kind)
        deadline = time.monotonic() + timeout
        wall_deadline = time.time() + timeout
        progress = StatusChangeLog(self.log, job_id, row.description)
        while True:
            job = self.get_job(row, job_id, deadline=wall_deadline)
            progress.observe(job)
            if job.status.is_terminal:
                raise_for_job(job)
                progress.completed(job.video_url)
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HeyGenExecutionError(job_timeout_message(job_id, row.name, timeout), job_id)
            time.sleep(min(poll_interval, remaining))

    def wait_for_jobs(
        self, kind: str | JobKind, ids: Sequence[str], poll_interval: float, timeout: float
    ) -> list[Job]:
        """
        Poll every job until each has ended (failed ones included, returned for the caller to judge);
        fail at the timeout naming a job still running.

        :param kind: the jobs' kind.
        :param ids: their ids.
        :param poll_interval: seconds between rounds of reads.
        :param timeout: seconds to wait at most.
        """
        row = job_kind(kind)
        deadline = time.monotonic() + timeout
        wall_deadline = time.time() + timeout
        done: dict[str, Job] = {}
        while True:
            for job_id in ids:
                if job_id not in done:
                    job = self.get_job(row, job_id, deadline=wall_deadline)
                    if job.status.is_terminal:
                        done[job_id] = job
            if len(done) == len(ids):
                return [done[job_id] for job_id in ids]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                running = next(job_id for job_id in ids if job_id not in done)
                raise HeyGenExecutionError(job_timeout_message(running, row.name, timeout), running)
            time.sleep(min(poll_interval, remaining))

    def delete_job(self, kind: str | JobKind, job_id: str) -> None:
        """
        Delete a job (HeyGen stops it, and its output goes); an unknown id is not an error.

        :param kind: the job's kind.
        :param job_id: its id.
        """
        row = job_kind(kind)
        self._send("DELETE", row.delete_path(job_id), not_found_ok=True)
        self.log.info("Deleted HeyGen %s %s", row.description, job_id)

    def upload_asset(
        self, filename: str, content: bytes, mime_type: str, idempotency_key: str | None
    ) -> dict[str, Any]:
        """
        Upload a file as a HeyGen asset (``POST /v3/assets``, multipart field ``file``).

        :param filename: the file's name.
        :param content: its bytes (at most 32 MB; callers check).
        :param mime_type: its media type.
        :param idempotency_key: the upload's key.
        :return: ``{"asset_id", "url", "mime_type", "size_bytes"}``.
        """
        data = self._send(
            "POST",
            ASSETS_ENDPOINT,
            files={"file": (filename, content, mime_type)},
            idempotency_key=idempotency_key,
        )
        if not ids_from_create("asset", data):
            raise HeyGenNoAnswerError("HeyGen accepted the asset but returned no asset_id")
        self.log.info(
            "Uploaded %s as HeyGen asset %s (Idempotency-Key %s)", filename, data["asset_id"], idempotency_key
        )
        return {name: data.get(name) for name in ("asset_id", "url", "mime_type", "size_bytes")}

    def get_account(self) -> Account:
        """The account (``GET /v3/users/me``): profile, billing type, remaining balance or credits."""
        return Account.from_data(self._send("GET", ACCOUNT_ENDPOINT))

    def account_summary(self) -> str:
        """One line for ``test_connection``: who the key belongs to and what is left on the account."""
        return f"Connected to HeyGen at {self.settings.base_url} as {self.get_account().text()}"
