"""Checks of single JSON fields for v3 bodies; each failure names the field in ``param``."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.v3.assets import AssetStore
from airflow_heygen.emulator.v3.errors import V3Error, invalid
from airflow_heygen.emulator.validation import InvalidParameter, check_media_url

_INLINE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True)
class MediaContext:
    """
    Where media inputs may come from.

    :param data_dir: the emulator data dir (local paths must lie inside it; inline data is
        written to ``<data dir>/inline``).
    :param assets: uploaded assets, for ``{"type": "asset_id"}`` inputs.
    """

    data_dir: Path
    assets: AssetStore


class Body:
    """
    Typed access to the fields of one JSON object, with ``param`` names under a prefix.

    :param value: the decoded JSON value (must be an object).
    :param prefix: prefix of every ``param``, e.g. ``videos[2].`` inside a batch.
    :raises V3Error: when ``value`` is not an object.
    """

    def __init__(self, value: Any, prefix: str = "") -> None:
        if not isinstance(value, dict):
            where = prefix.rstrip(".") or "request body"
            raise invalid(where, f"{where} must be a JSON object")
        self.values: dict[str, Any] = value
        self.prefix = prefix

    def param(self, name: str) -> str:
        """
        The full ``param`` name of a field.

        :param name: the field's name in this object.
        """
        return f"{self.prefix}{name}"

    def has(self, name: str) -> bool:
        """
        Whether the field is present and not null.

        :param name: the field.
        """
        return self.values.get(name) is not None

    def text(self, name: str, required: bool = False) -> str | None:
        """
        A string field; required ones must not be blank.

        :param name: the field.
        :param required: whether it must be present.
        """
        value = self.values.get(name)
        if value is None:
            if required:
                raise invalid(self.param(name), f"{self.param(name)} is required")
            return None
        if not isinstance(value, str):
            raise invalid(self.param(name), f"{self.param(name)} must be a string")
        if required and not value.strip():
            raise invalid(self.param(name), f"{self.param(name)} must not be empty")
        return value

    def choice(self, name: str, allowed: Collection[str]) -> str | None:
        """
        An optional string field from a fixed set.

        :param name: the field.
        :param allowed: its values.
        """
        value = self.text(name)
        if value is not None and value not in allowed:
            raise invalid(self.param(name), f"{self.param(name)} must be one of {', '.join(allowed)}")
        return value

    def flag(self, name: str) -> bool | None:
        """
        An optional boolean field.

        :param name: the field.
        """
        value = self.values.get(name)
        if value is not None and not isinstance(value, bool):
            raise invalid(self.param(name), f"{self.param(name)} must be a boolean")
        return value

    def number(self, name: str, low: float | None = None, high: float | None = None) -> float | None:
        """
        An optional number field within bounds.

        :param name: the field.
        :param low: smallest value allowed.
        :param high: largest value allowed.
        """
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(self.param(name), f"{self.param(name)} must be a number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise invalid(self.param(name), f"{self.param(name)} must be between {low} and {high}")
        return float(value)

    def integer(self, name: str, low: int = 0) -> int | None:
        """
        An optional integer field.

        :param name: the field.
        :param low: smallest value allowed.
        """
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise invalid(self.param(name), f"{self.param(name)} must be an integer of at least {low}")
        return value

    def child(self, name: str, required: bool = False) -> Body | None:
        """
        A nested object field.

        :param name: the field.
        :param required: whether it must be present.
        """
        value = self.values.get(name)
        if value is None:
            if required:
                raise invalid(self.param(name), f"{self.param(name)} is required")
            return None
        return Body(value, f"{self.param(name)}.")

    def media(self, name: str, context: MediaContext, required: bool, base64_ok: bool = False) -> str | None:
        """
        A media input ``{"type": "url", "url"}``, ``{"type": "asset_id", "asset_id"}`` or (images)
        ``{"type": "base64", "media_type", "data"}``, resolved to a URL or a local path.

        :param name: the field.
        :param context: where media may come from.
        :param required: whether it must be present.
        :param base64_ok: whether inline base64 data is accepted.
        :raises V3Error: 400 on a malformed input, 404 ``asset_not_available`` on an unknown asset.
        """
        body = self.child(name, required)
        if body is None:
            return None
        kinds = ("url", "asset_id", "base64") if base64_ok else ("url", "asset_id")
        kind = body.text("type", required=True)
        if kind not in kinds:
            raise invalid(body.param("type"), f"{body.param('type')} must be one of {', '.join(kinds)}")
        if kind == "url":
            return body.media_url("url", context)
        if kind == "asset_id":
            return body.asset_path("asset_id", context)
        return _inline(body, context.data_dir)

    def media_url(self, name: str, context: MediaContext) -> str:
        """
        A required URL field: http(s), or a local path inside the data dir.

        :param name: the field.
        :param context: where media may come from.
        """
        url = str(self.text(name, required=True)).strip()
        try:
            check_media_url(url, self.param(name), context.data_dir)
        except InvalidParameter as exc:
            raise invalid(self.param(name), str(exc)) from None
        return url

    def asset_path(self, name: str, context: MediaContext) -> str:
        """
        A required asset id field, resolved to the asset's file.

        :param name: the field.
        :param context: where media may come from.
        :raises V3Error: 404 ``asset_not_available`` when there is no such asset.
        """
        asset_id = str(self.text(name, required=True))
        path = context.assets.path_of(asset_id)
        if path is None:
            raise V3Error(404, "asset_not_available", f"asset {asset_id} not found", self.param(name))
        return str(path)


def _inline(body: Body, data_dir: Path) -> str:
    """Write base64 image data under ``<data dir>/inline`` (named by its digest) and return the path."""
    media_type = str(body.text("media_type", required=True)).lower()
    if media_type not in _INLINE_TYPES:
        raise invalid(body.param("media_type"), f"{body.param('media_type')} must be an image type")
    try:
        data = base64.b64decode(str(body.text("data", required=True)), validate=True)
    except (binascii.Error, ValueError):
        raise invalid(body.param("data"), f"{body.param('data')} is not valid base64") from None
    folder = data_dir / "inline"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.{_INLINE_TYPES[media_type]}"
    if not path.exists():
        path.write_bytes(data)
    return str(path.resolve())


def seed_of(*parts: str) -> int:
    """
    A stable 31-bit seed from text (the same script, voice or language sounds the same).

    :param parts: the text.
    """
    return int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest()[:4], "big") & 0x7FFFFFFF
