"""
The ``Idempotency-Key`` of a v3 create: one per task instance and request, the same in every try.

The key is a digest of the task instance (dag id, task id, run id, map index; never the try number),
the request's fingerprint and a nonce drawn when the task instance has no submission record yet.
The key is saved with the in-flight marker *before* the create is sent, so every later try (a
retry after a lost answer, a worker killed between the create and saving the id) sends the same
key and HeyGen answers with the job it already made. A changed request has another fingerprint,
hence another record and another key. A succeeded task clears its record, so clearing the task
draws a new nonce: a new key, a new video.

Without a ``task_state_store`` (``durable=False``, Airflow < 3.3) nothing is saved and the nonce is
empty: the key is then the same for every try of the task instance, so retries stay exactly-once,
but clearing a succeeded task within HeyGen's 24 hours replays the old video instead of making one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_heygen.state import Submission, SubmissionRecord

KEY_PREFIX = "airflow"
MAX_KEY_LENGTH = 255
# HeyGen replays a key's answer for this long; past it, the same key makes a new job.
KEY_WINDOW_SECONDS = 24 * 3600
# A key older than this is not trusted to replay any more (HeyGen keeps it 24 h; an hour of margin).
KEY_TRUSTED_SECONDS = KEY_WINDOW_SECONDS - 3600
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.-]+")
_READABLE_PART = 60


def new_nonce() -> str:
    """A fresh nonce for a task instance that has no submission record."""
    return secrets.token_hex(8)


def _readable(value: object) -> str:
    text = _NOT_ALLOWED.sub("-", str(value)).strip("-.") or "x"
    return text[:_READABLE_PART]


def idempotency_key(
    *, dag_id: str, task_id: str, run_id: str, map_index: int, request_fingerprint: str, nonce: str
) -> str:
    """
    The key: ``airflow:<dag>:<task>:<map index>:<digest>``, within HeyGen's charset
    ``[A-Za-z0-9_:.-]`` and 255 characters. The readable parts are for people reading logs; the
    digest (of every input, run id included) is what makes it unique.

    :param dag_id: the DAG.
    :param task_id: the task.
    :param run_id: the DAG run.
    :param map_index: the mapped task's index (-1 when not mapped).
    :param request_fingerprint: :func:`airflow_heygen.state.fingerprint` of the request body.
    :param nonce: the record's nonce (empty without a task_state_store).
    """
    material = "\x1f".join((dag_id, task_id, run_id, str(map_index), request_fingerprint, nonce))
    digest = hashlib.sha256(material.encode()).hexdigest()[:40]
    index = "m" if map_index < 0 else str(map_index)
    key = f"{KEY_PREFIX}:{_readable(dag_id)}:{_readable(task_id)}:{index}:{digest}"
    assert len(key) <= MAX_KEY_LENGTH
    return key


def key_for_task(context: Any, request_fingerprint: str, nonce: str) -> str:
    """
    :func:`idempotency_key` of the running task instance.

    :param context: the task's context (its ``ti``).
    :param request_fingerprint: the request's fingerprint.
    :param nonce: the record's nonce.
    """
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return idempotency_key(
        dag_id=str(ti.dag_id),
        task_id=str(ti.task_id),
        run_id=str(ti.run_id),
        map_index=map_index if isinstance(map_index, int) else -1,
        request_fingerprint=request_fingerprint,
        nonce=nonce,
    )


def is_valid_key(key: object) -> bool:
    """Whether ``key`` is within HeyGen's charset and length."""
    return (
        isinstance(key, str)
        and 0 < len(key) <= MAX_KEY_LENGTH
        and re.fullmatch(r"[A-Za-z0-9_:.-]+", key) is not None
    )


def submission_key(
    record: SubmissionRecord,
    earlier: Submission | None,
    context: Context,
    *,
    resubmit_unconfirmed: bool,
    refuse_stale: bool = True,
) -> tuple[str, bool]:
    """
    The ``Idempotency-Key`` to create with, and whether it is new (then the caller saves it in the
    in-flight marker before sending).

    An earlier try's unanswered create (a marker with a key but no id) is sent again with its key,
    which HeyGen answers with the job it made, while the key is younger than
    :data:`KEY_TRUSTED_SECONDS`. Older, or without a key, the task refuses to guess
    (:func:`~airflow_heygen.task_base.in_doubt_error`), unless ``resubmit_unconfirmed`` (or not
    ``refuse_stale``, for free creates such as uploads) asks for a new key, i.e. a new job.

    :param record: the task instance's record of this request.
    :param earlier: what an earlier try left (``record.load()``), if anything unconfirmed.
    :param context: the task's context.
    :param resubmit_unconfirmed: make a new job rather than refuse.
    :param refuse_stale: refuse (rather than make a new key) when the earlier key cannot replay.
    """
    from airflow_heygen.task_base import in_doubt_error

    if earlier is not None and earlier.unconfirmed:
        age = time.time() - earlier.sent_at if earlier.sent_at is not None else None
        if earlier.idempotency_key and age is not None and age < KEY_TRUSTED_SECONDS:
            return earlier.idempotency_key, False
        if refuse_stale and not resubmit_unconfirmed:
            raise in_doubt_error(record, earlier, context)
    nonce = new_nonce() if record.kept else ""
    return key_for_task(context, record.fingerprint, nonce), True
