"""What to publish, checked before any I/O, and what publishing produced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.publishing.destination import resolve_destination
from airflow_heygen.publishing.preview import PREVIEW_SUFFIX, PreviewRenderer
from airflow_heygen.validation import require_http_url


@dataclass(frozen=True)
class PublishRequest:
    """
    A checked publishing request.

    :param video_url: absolute http(s) URL of the finished video.
    :param destination: where the video goes.
    :param preview: where its PNG preview goes, or None for no preview.
    :param overwrite: replace existing files at ``destination`` / ``preview``.
    """

    video_url: str
    destination: ObjectStoragePath
    preview: ObjectStoragePath | None
    overwrite: bool

    @classmethod
    def checked(
        cls,
        *,
        video_url: object,
        destination: object,
        destination_conn_id: str | None = None,
        overwrite: bool = False,
        preview: bool = False,
    ) -> PublishRequest:
        """
        Check every argument, without any I/O beyond resolving the storage's filesystem.

        :param video_url: must be an absolute http(s) URL.
        :param destination: see :func:`~airflow_heygen.publishing.destination.resolve_destination`.
        :param destination_conn_id: Airflow connection for the storage.
        :param overwrite: replace existing files.
        :param preview: also write ``<destination stem>.png``.
        :raises HeyGenInputError: naming the field and the problem.
        """
        url = require_http_url("video_url", video_url)
        path = resolve_destination(destination, destination_conn_id)
        preview_path = None
        if preview:
            if path.suffix.lower() == PREVIEW_SUFFIX:
                raise HeyGenInputError(
                    "preview",
                    f"the destination ends in {PREVIEW_SUFFIX}, which is where the preview would go",
                )
            PreviewRenderer.require_decoder()
            preview_path = path.with_suffix(PREVIEW_SUFFIX)
        return cls(video_url=url, destination=path, preview=preview_path, overwrite=bool(overwrite))

    @property
    def targets(self) -> dict[str, ObjectStoragePath]:
        """The files this request lands, by role: ``video``, and ``preview`` when one is asked for."""
        return {"video": self.destination, **({"preview": self.preview} if self.preview else {})}


@dataclass(frozen=True)
class PublishResult:
    """
    A published video.

    :param uri: the destination's URI.
    :param size: its size in bytes.
    :param sha256: hex sha256 of its content.
    :param preview_uri: the PNG preview's URI, when one was made.
    """

    uri: str
    size: int
    sha256: str
    preview_uri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"uri", "bytes", "sha256"}``, plus ``"preview_uri"`` when a preview was made."""
        result: dict[str, Any] = {"uri": self.uri, "bytes": self.size, "sha256": self.sha256}
        if self.preview_uri is not None:
            result["preview_uri"] = self.preview_uri
        return result
