"""
What a task instance remembers across its tries, in Airflow 3.3's ``task_state_store``.

One :class:`TaskState` is one key of the store holding a JSON record that belongs to one request: it
carries the request's fingerprint, so a try whose request changed (other inputs) never reads what a
try of the old request wrote. :class:`SubmissionRecord` builds on it for paid HeyGen jobs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


def fingerprint(request: Any) -> str:
    """
    A short digest of a JSON-serialisable request, independent of key order.

    :param request: the request (body, inputs) the record belongs to.
    """
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class TaskState:
    """
    One key of ``task_state_store`` holding a record of one request.

    :param store: the task's ``task_state_store``, or None (Airflow < 3.3, or durability off): then it
        remembers nothing and :attr:`kept` is False.
    :param key: the store's key.
    :param request_fingerprint: the request the record belongs to.
    """

    def __init__(self, store: Any | None, key: str, request_fingerprint: str) -> None:
        self.store = store
        self.key = key
        self.fingerprint = request_fingerprint

    @property
    def kept(self) -> bool:
        """Whether anything written here survives into the next try."""
        return self.store is not None

    def read(self) -> dict[str, Any] | None:
        """The record an earlier try wrote for this same request, if any."""
        if self.store is None:
            return None
        saved = self.store.get(self.key)
        if isinstance(saved, Mapping) and saved.get("fingerprint") == self.fingerprint:
            return dict(saved)
        return None

    def write(self, **fields: Any) -> None:
        """Replace the record with ``fields`` (plus the fingerprint), in one write."""
        if self.store is not None:
            self.store.set(self.key, {**fields, "fingerprint": self.fingerprint})

    def clear(self) -> None:
        """Forget the record."""
        if self.store is not None:
            self.store.delete(self.key)


def task_state_store(context: Context, *, durable: bool) -> Any | None:
    """
    The task's ``task_state_store`` when ``durable`` is on and Airflow has one (3.3+), else None,
    with a warning when durability was asked for but cannot be had.

    :param context: the task's context.
    :param durable: whether the operator was asked to remember across tries.
    """
    store = context.get("task_state_store") if durable else None
    if durable and store is None:
        log.warning(
            "task_state_store is unavailable (it needs Airflow 3.3): this task cannot remember its HeyGen "
            "job across tries; a submission without an answer fails the task instead of being retried"
        )
    return store


@dataclass(frozen=True)
class Submission:
    """
    What an earlier try left of its submission.

    :param job_id: HeyGen's id, once the answer arrived; None while the submission is in flight or
        its answer was lost.
    :param sent_at: Unix time the submission was sent.
    :param idempotency_key: the ``Idempotency-Key`` it carried (v3 creates), if any.
    :param kept: the jobs of the request's parts (a translation's languages) that an earlier try kept
        while it created the others again: part -> job id.
    """

    job_id: str | None
    sent_at: float | None
    idempotency_key: str | None = None
    kept: Mapping[str, str] = field(default_factory=dict)

    @property
    def unconfirmed(self) -> bool:
        """
        Whether HeyGen may have a job of this submission whose id nobody knows: a create was sent
        (or a record says nothing else) and its answer never saved.
        """
        return self.job_id is None and (self.sent_at is not None or not self.kept)


class SubmissionRecord:
    """
    The HeyGen job a task instance submitted, remembered across its tries.

    Before a submission is sent, an in-flight marker is written (:meth:`mark_in_flight`); HeyGen's
    answer replaces it with the job's id (:meth:`save`). A new try that finds the id reattaches to
    the job instead of paying for another; one that finds only the marker knows that a job may exist
    at HeyGen that it cannot see. A submission that certainly did not create a job (refused,
    never sent) removes the marker (:meth:`clear`), as does the task's success.

    :param state: the store key the record lives in.
    :param description: the request in a few words, for messages (``FaceswapNode workflow``).
    """

    KEY = "heygen_execution"

    def __init__(self, state: TaskState, description: str) -> None:
        self.state = state
        self.description = description

    @classmethod
    def for_task(
        cls, context: Context, *, durable: bool, request: Mapping[str, Any], description: str
    ) -> SubmissionRecord:
        """
        The record of the running task instance for ``request``; an inert one without a store.

        :param context: the task's context.
        :param durable: whether to remember across tries.
        :param request: the request as it will be sent; its fingerprint scopes the record.
        :param description: the request in a few words, for messages.
        """
        store = task_state_store(context, durable=durable)
        return cls(TaskState(store, cls.KEY, fingerprint(request)), description)

    @property
    def kept(self) -> bool:
        """Whether the record survives into the next try."""
        return self.state.kept

    @property
    def fingerprint(self) -> str:
        """The request's fingerprint."""
        return self.state.fingerprint

    def load(self) -> Submission | None:
        """What an earlier try of this same request left, if anything."""
        saved = self.state.read()
        if saved is None:
            return None
        job_id = saved.get("execution_id")
        sent_at = saved.get("sent_at")
        key = saved.get("idempotency_key")
        kept = saved.get("kept")
        return Submission(
            job_id=job_id if isinstance(job_id, str) and job_id else None,
            sent_at=float(sent_at) if isinstance(sent_at, (int, float)) else None,
            idempotency_key=key if isinstance(key, str) else None,
            kept={str(k): str(v) for k, v in kept.items()} if isinstance(kept, Mapping) else {},
        )

    def mark_in_flight(
        self, idempotency_key: str | None = None, kept: Mapping[str, str] | None = None
    ) -> None:
        """
        Note, before sending, that a submission of this request is on its way.

        :param idempotency_key: the key it carries, if any.
        :param kept: the jobs of the parts that are not part of this submission (they run already).
        """
        fields: dict[str, Any] = {"sent_at": time.time(), "request": self.description}
        if idempotency_key is not None:
            fields["idempotency_key"] = idempotency_key
        if kept:
            fields["kept"] = dict(kept)
        self.state.write(**fields)

    def keep_only(self, kept: Mapping[str, str]) -> None:
        """
        Forget a submission that certainly made no job, keeping the jobs of the other parts (or
        forget everything when there are none).

        :param kept: part -> job id of the parts whose jobs stay.
        """
        if kept:
            self.state.write(kept=dict(kept), request=self.description)
        else:
            self.clear()

    def save(self, job_id: str, idempotency_key: str | None = None) -> None:
        """Replace the in-flight marker with HeyGen's id of the job."""
        fields: dict[str, Any] = {"execution_id": job_id, "request": self.description}
        if idempotency_key is not None:
            fields["idempotency_key"] = idempotency_key
        self.state.write(**fields)

    def clear(self) -> None:
        """Forget the job: the task succeeded, or the submission certainly made none."""
        self.state.clear()


def content_fingerprint(content: bytes, name: str) -> str:
    """The fingerprint of an upload: its bytes and name."""
    return fingerprint({"sha256": hashlib.sha256(content).hexdigest(), "name": name})
