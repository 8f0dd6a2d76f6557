"""
The sync hook's batch creates (v3): up to 100 create bodies in one ``POST <batch endpoint>`` under
one ``Idempotency-Key``, and the job ids of a batch's items (``GET <batch endpoint>/{batch_id}``,
paged). HeyGen answers a batch create with the batch's id at once and makes its jobs afterwards, so
the ids are read from the batch; a repeated key answers with the same batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_heygen.exceptions import HeyGenNoAnswerError
from airflow_heygen.kinds import JobKind, job_kind

if TYPE_CHECKING:
    from airflow_heygen.hooks.jobs import HeyGenJobsMixin

# HeyGen takes at most this many bodies in one batch create.
MAX_BATCH_ITEMS = 100
# Items a batch read returns at most per page.
BATCH_PAGE = 100


class HeyGenBatchesMixin:
    """Batch creates for :class:`~airflow_heygen.hooks.heygen.HeyGenHook` (a base of it)."""

    def create_batch(
        self: HeyGenJobsMixin | Any,
        kind: str | JobKind,
        bodies: Sequence[Mapping[str, Any]],
        idempotency_key: str,
    ) -> str:
        """
        Create up to 100 jobs of ``kind`` in one batch and return the batch's id.

        :param kind: a kind with batch creates (``video``, ``lipsync``, ``video_translation``).
        :param bodies: the create bodies, each already checked.
        :param idempotency_key: the batch's key: a lost answer, 5xx and 409 are repeated with it.
        :raises HeyGenNoAnswerError: when HeyGen's answer carries no ``batch_id``.
        """
        row = job_kind(kind)
        if row.batch_endpoint is None or row.batch_field is None:
            raise ValueError(f"HeyGen has no batch creates for {row.description}s")
        if not 0 < len(bodies) <= MAX_BATCH_ITEMS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_ITEMS} creates, not {len(bodies)}")
        body = {row.batch_field: [dict(item) for item in bodies]}
        data = self._send("POST", row.batch_endpoint, json=body, idempotency_key=idempotency_key)
        batch_id = data.get("batch_id")
        if not isinstance(batch_id, str) or not batch_id:
            raise HeyGenNoAnswerError(f"HeyGen accepted the {row.description} batch but returned no batch_id")
        self.log.info(
            "Created HeyGen %s batch %s of %d (Idempotency-Key %s)",
            row.description,
            batch_id,
            len(bodies),
            idempotency_key,
        )
        return batch_id

    def batch_job_ids(self: HeyGenJobsMixin | Any, kind: str | JobKind, batch_id: str) -> dict[int, str]:
        """
        The job id of each item of a batch, by the item's index in the create's body; items whose job
        HeyGen has not made yet are left out (read again later).

        :param kind: the batch's kind.
        :param batch_id: its id.
        """
        row = job_kind(kind)
        ids: dict[int, str] = {}
        token: str | None = None
        while True:
            query = f"?limit={BATCH_PAGE}" + (f"&token={quote(token)}" if token else "")
            data = self._send("GET", row.batch_path(batch_id) + query)
            for entry in data.get("items") or ():
                if not isinstance(entry, Mapping):
                    continue
                index, job_id = entry.get("item_index"), entry.get(row.bulk_id_field)
                if isinstance(index, int) and isinstance(job_id, str) and job_id:
                    ids[index] = job_id
            token = data.get("next_token") if data.get("has_more") else None
            if not token:
                return ids
