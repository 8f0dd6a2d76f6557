"""
The v3 asset upload: any file from object storage (or an http(s) URL) made a HeyGen asset, exactly
once per task instance.

Importing this module stays cheap for DAG parsing: hooks are imported when a task runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.idempotency import submission_key
from airflow_heygen.operators.job_base import CERTAIN_REFUSALS, HeyGenJobOperator
from airflow_heygen.state import SubmissionRecord, TaskState, content_fingerprint, task_state_store
from airflow_heygen.validation import require_text

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_heygen.lineage.report import LineageReport

__all__ = ["ASSET_TYPES", "MAX_ASSET_BYTES", "HeyGenUploadAssetOperator", "asset_type", "sniff_type"]

MAX_ASSET_BYTES = 32 * 1024 * 1024
# Media types HeyGen takes as assets, by file suffix.
ASSET_TYPES: Mapping[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".pdf": "application/pdf",
    ".srt": "application/x-subrip",
}


def sniff_type(head: bytes) -> str | None:
    """The media type of a file from its first bytes (None for srt, text, or unknown)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF"):
        return "application/pdf"
    return None


def asset_type(name: str, head: bytes) -> str:
    """
    The media type of an upload, from its content (and, for srt, its name).

    :param name: the file's name.
    :param head: its first bytes.
    :raises HeyGenInputError: for a type HeyGen does not take.
    """
    sniffed = sniff_type(head)
    if sniffed is not None:
        return sniffed
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix == ".srt":
        try:
            head.decode("utf-8")
            return ASSET_TYPES[".srt"]
        except UnicodeDecodeError:
            pass
    raise HeyGenInputError(
        "source",
        f"{name!r} is not a type HeyGen takes as an asset (png, jpeg, mp4, webm, mp3, wav, pdf, srt)",
    )


class HeyGenUploadAssetOperator(HeyGenJobOperator):
    """
    Upload a file from any object storage (``file://``, ``s3://``, ...) as a HeyGen asset
    (``POST /v3/assets``), exactly once per task instance.

    The size (at most 32 MiB) and the type (png, jpeg, mp4, webm, mp3, wav, pdf, srt) are checked
    before anything is read in full or sent. Returns ``{"asset_id", "url", "mime_type",
    "size_bytes"}``; ``url`` works wherever HeyGen takes a media URL, e.g. as
    ``FaceswapOperator(source_image_url=...)``.

    :param source: the file: an ``ObjectStoragePath`` or its URL (``file://``, ``s3://``, ...), or an
        http(s) URL (read with a bounded download) (templated).
    :param source_conn_id: Airflow connection of the storage, e.g. ``aws_default`` (templated).
    :param heygen_conn_id: id of the HeyGen connection (templated).
    :param durable: remember the upload's key across tries.
    """

    kind = "asset"
    template_fields: Sequence[str] = ("source", "source_conn_id", "heygen_conn_id")

    def __init__(self, source: Any, *, source_conn_id: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("wait_for_completion", False)
        super().__init__(**kwargs)
        self.source = source
        self.source_conn_id = source_conn_id

    def _read(self) -> tuple[str, bytes, str]:
        from airflow.sdk import ObjectStoragePath

        if isinstance(self.source, str) and self.source.startswith(("http://", "https://")):
            return self._read_http(self.source)
        if isinstance(self.source, ObjectStoragePath):
            path = self.source
        else:
            path = ObjectStoragePath(require_text("source", self.source), conn_id=self.source_conn_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise HeyGenInputError("source", f"{str(path)!r} does not exist") from None
        if size > MAX_ASSET_BYTES:
            raise HeyGenInputError(
                "source", f"{path.name!r} is {size} bytes; HeyGen takes assets of at most 32 MiB"
            )
        if size == 0:
            raise HeyGenInputError("source", f"{path.name!r} is empty")
        with path.open("rb") as handle:
            mime_type = asset_type(path.name, handle.read(4096))
        return path.name, path.read_bytes(), mime_type

    def _read_http(self, url: str) -> tuple[str, bytes, str]:
        """An http(s) source (Airflow's object storage has no http scheme), read up to the size limit."""
        import requests

        from airflow_heygen.validation import require_http_url

        name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "asset"
        with requests.get(require_http_url("source", url), stream=True, timeout=30) as response:
            if response.status_code != 200:
                raise HeyGenInputError("source", f"{url!r} answered HTTP {response.status_code}")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > MAX_ASSET_BYTES:
                raise HeyGenInputError("source", f"{name!r} is {declared} bytes; at most 32 MiB allowed")
            chunks, size = [], 0
            for chunk in response.iter_content(1024 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_ASSET_BYTES:
                    raise HeyGenInputError("source", f"{name!r} is over 32 MiB; HeyGen takes at most 32 MiB")
        content = b"".join(chunks)
        if not content:
            raise HeyGenInputError("source", f"{name!r} is empty")
        return name, content, asset_type(name, content[:4096])

    def execute(self, context: Context) -> dict[str, Any]:
        """Check and read the file, then upload it with this task instance's key."""
        name, content, mime_type = self._read()
        store = task_state_store(context, durable=self.durable)
        record = SubmissionRecord(
            TaskState(store, SubmissionRecord.KEY, content_fingerprint(content, name)), "asset upload"
        )
        # An earlier try's unanswered upload is sent again with its key: HeyGen replays its answer.
        key, fresh = submission_key(
            record, record.load(), context, resubmit_unconfirmed=True, refuse_stale=False
        )
        if fresh:
            record.mark_in_flight(idempotency_key=key)
        try:
            result = self.hook.upload_asset(name, content, mime_type, key)
        except CERTAIN_REFUSALS:
            record.clear()
            raise
        finally:
            self.close_hook()
        record.clear()
        self.log.info("Uploaded %s (%d bytes) as HeyGen asset %s", name, len(content), result["asset_id"])
        self.heygen_result = result
        return result

    def lineage_report(self, task_instance: Any, *, failed: bool) -> LineageReport:
        """
        The file read in; the asset made out (none when the upload failed).

        :param task_instance: the listener's task instance.
        :param failed: whether the task failed.
        """
        from airflow_heygen.lineage.datasets import asset_dataset
        from airflow_heygen.lineage.jobs import job_fields, object_dataset, result_ids
        from airflow_heygen.lineage.report import LineageReport, api_namespace

        namespace, source = api_namespace(self), object_dataset(self.source, self.source_conn_id)
        ids = result_ids(self.result_for_lineage(task_instance))
        return LineageReport(
            inputs=[source] if source is not None else [],
            outputs=[] if failed else [asset_dataset(namespace, asset_id) for asset_id in ids],
            job=job_fields(self.kind, ids, None),
            external_id=ids[0] if ids else None,
        )
