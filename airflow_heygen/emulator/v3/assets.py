"""Uploaded assets: what a file is (sniffed from its bytes), its record, and where it is kept."""

from __future__ import annotations

import enum
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.store import RecordStore

MAX_ASSET_BYTES = 32 * 1024 * 1024
OWNER = "emulator"
SPACE_ID = "emulator-space"


class AssetType(enum.Enum):
    """
    The accepted file types: (MIME type, file extension, coarse type shown by reads).
    """

    PNG = ("image/png", "png", "image")
    JPEG = ("image/jpeg", "jpg", "image")
    MP4 = ("video/mp4", "mp4", "video")
    WEBM = ("video/webm", "webm", "video")
    MP3 = ("audio/mpeg", "mp3", "audio")
    WAV = ("audio/wav", "wav", "audio")
    PDF = ("application/pdf", "pdf", "document")
    SRT = ("application/x-subrip", "srt", "subtitle")

    @property
    def mime_type(self) -> str:
        """The MIME type."""
        return self.value[0]

    @property
    def extension(self) -> str:
        """The file extension (without the dot)."""
        return self.value[1]

    @property
    def category(self) -> str:
        """``image``, ``video``, ``audio``, ``document`` or ``subtitle``."""
        return self.value[2]


ALLOWED_TYPES = "png, jpeg, mp4, webm, mp3, wav, pdf, srt"


def sniff(head: bytes, filename: str) -> AssetType | None:
    """
    The type of a file from its first bytes (SRT, being text, also from its name).

    :param head: at least the first 16 bytes (fewer for a tiny file).
    :param filename: the uploaded file's name.
    :return: None when it is none of the accepted types.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return AssetType.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return AssetType.JPEG
    if head[4:8] == b"ftyp":
        return AssetType.MP4
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return AssetType.WEBM
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return AssetType.MP3
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return AssetType.WAV
    if head.startswith(b"%PDF-"):
        return AssetType.PDF
    if filename.lower().endswith(".srt") and b"\0" not in head:
        return AssetType.SRT
    return None


@dataclass(frozen=True)
class Asset:
    """
    One uploaded file.

    :param asset_id: 32 hex digits.
    :param name: the uploaded file name.
    :param asset_type: what it is.
    :param size_bytes: its size.
    :param uploaded_at: Unix time of the upload.
    """

    asset_id: str
    name: str
    asset_type: AssetType
    size_bytes: int
    uploaded_at: float

    @property
    def record_id(self) -> str:
        """The id its JSON file is named after."""
        return self.asset_id

    @property
    def file_name(self) -> str:
        """Its file under ``<data dir>/uploads`` (served at ``/uploads/<file_name>``)."""
        return f"{self.asset_id}.{self.asset_type.extension}"

    def url(self, public_base: str) -> str:
        """
        Where it is served.

        :param public_base: scheme and host, without a trailing slash.
        """
        return f"{public_base}/uploads/{self.file_name}"

    def to_api(self, public_base: str) -> dict[str, Any]:
        """
        The ``data`` of ``GET /v3/assets/{asset_id}``.

        :param public_base: scheme and host of the URL.
        """
        return {
            "id": self.asset_id,
            "name": self.name,
            "type": self.asset_type.category,
            "owner": OWNER,
            "space_id": SPACE_ID,
            "uploaded_at": int(self.uploaded_at),
            "url": self.url(public_base),
            "folder_id": None,
        }

    def to_record(self) -> dict[str, Any]:
        """The JSON record stored on disk."""
        record = asdict(self)
        record["asset_type"] = self.asset_type.name
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Asset:
        """
        Rebuild from a stored record.

        :param record: what :meth:`to_record` returned.
        """
        values = dict(record)
        values["asset_type"] = AssetType[values["asset_type"]]
        return cls(**values)


class AssetStore(RecordStore[Asset]):
    """
    Asset records (``<data dir>/v3/assets``) and their files (``<data dir>/uploads``).

    :param folder: where the records live.
    :param files: where the uploaded files live.
    """

    def __init__(self, folder: Path, files: Path) -> None:
        super().__init__(folder, Asset.from_record)
        self.files = files

    def path_of(self, asset_id: str) -> Path | None:
        """
        The file of an asset, or None when there is no such asset.

        :param asset_id: the id.
        """
        asset = self.get(asset_id)
        return self.files / asset.file_name if asset is not None else None

    async def remove(self, asset: Asset) -> None:
        """
        Delete an asset's record and file.

        :param asset: the asset.
        """
        await self.delete(asset.asset_id)
        (self.files / asset.file_name).unlink(missing_ok=True)

    def temp_upload(self, asset_id: str) -> Path:
        """
        Where an upload is written before it is known to be acceptable.

        :param asset_id: the id it will get.
        """
        self.files.mkdir(parents=True, exist_ok=True)
        return self.files / f".{asset_id}.upload.{os.getpid()}"
