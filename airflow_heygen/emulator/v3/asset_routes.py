"""v3 routes of assets (multipart upload, read, delete, bulk statuses) and of the account."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from airflow_heygen.emulator.services import SERVICES, public_base
from airflow_heygen.emulator.v3.assets import ALLOWED_TYPES, MAX_ASSET_BYTES, Asset, AssetType, sniff
from airflow_heygen.emulator.v3.create_flow import idempotent_create
from airflow_heygen.emulator.v3.errors import V3Error, invalid
from airflow_heygen.emulator.v3.models import new_v3_id
from airflow_heygen.emulator.v3.params import MAX_BULK_IDS, id_list

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Upload:
    """
    A received, acceptable file, still under its temporary name.

    :param asset_id: the id it gets.
    :param temp: where it was written.
    :param name: the uploaded file name.
    :param asset_type: what it is.
    :param size: its size in bytes.
    """

    asset_id: str
    temp: Path
    name: str
    asset_type: AssetType
    size: int


async def _receive(request: web.Request) -> Upload:
    """Stream the multipart field ``file`` to a temporary file, capped at 32 MiB, and sniff it."""
    services = request.app[SERVICES]
    if request.content_type != "multipart/form-data":
        raise invalid("file", "send the file as the multipart/form-data field 'file'")
    reader = await request.multipart()
    asset_id = new_v3_id()
    temp = services.assets.temp_upload(asset_id)
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue
        size, head = 0, b""
        try:
            with temp.open("wb") as out:
                while chunk := await part.read_chunk(_CHUNK):
                    size += len(chunk)
                    if size > MAX_ASSET_BYTES:
                        continue  # read the rest anyway, so the client gets the answer, not a reset
                    if len(head) < 16:
                        head = (head + chunk)[:16]
                    out.write(chunk)
            if size > MAX_ASSET_BYTES:
                raise invalid("file", f"file is larger than {MAX_ASSET_BYTES >> 20} MB")
            name = part.filename or "upload"
            kind = sniff(head, name)
            if size == 0:
                raise invalid("file", "file is empty")
            if kind is None:
                raise invalid("file", f"unsupported file type; accepted: {ALLOWED_TYPES}")
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return Upload(asset_id, temp, name, kind, size)
    raise invalid("file", "file is required")


async def create_asset(request: web.Request) -> web.StreamResponse:
    """``POST /v3/assets``."""
    services = request.app[SERVICES]

    async def commit(upload: Upload) -> dict[str, Any]:
        asset = Asset(upload.asset_id, upload.name, upload.asset_type, upload.size, time.time())
        os.replace(upload.temp, services.assets.files / asset.file_name)
        await services.assets.put(asset)
        services.stats.record_created("asset")
        return {
            "data": {
                "asset_id": asset.asset_id,
                "url": asset.url(public_base(request)),
                "mime_type": asset.asset_type.mime_type,
                "size_bytes": asset.size_bytes,
            }
        }

    upload: list[Upload] = []

    async def validate() -> Upload:
        upload.append(await _receive(request))
        return upload[-1]

    try:
        return await idempotent_create(request, "asset", validate, commit)
    finally:
        for item in upload:
            item.temp.unlink(missing_ok=True)  # left over only when no asset was made of it


def _asset(request: web.Request) -> Asset:
    asset_id = request.match_info["asset_id"]
    asset = request.app[SERVICES].assets.get(asset_id)
    if asset is None:
        raise V3Error(404, "asset_not_available", f"asset {asset_id} not found", "asset_id")
    return asset


async def get_asset(request: web.Request) -> web.StreamResponse:
    """``GET /v3/assets/{asset_id}``."""
    try:
        return web.json_response({"data": _asset(request).to_api(public_base(request))})
    except V3Error as exc:
        return exc.response()


async def delete_asset(request: web.Request) -> web.StreamResponse:
    """``DELETE /v3/assets/{asset_id}``: the record and the file go."""
    try:
        asset = _asset(request)
    except V3Error as exc:
        return exc.response()
    await request.app[SERVICES].assets.remove(asset)
    return web.json_response({"data": {"id": asset.asset_id}})


async def asset_statuses(request: web.Request) -> web.StreamResponse:
    """``GET /v3/assets/statuses?asset_ids=a,b``: uploads are ``completed`` once answered."""
    services = request.app[SERVICES]
    try:
        ids = id_list(request, "asset_ids")
        batch_ids = id_list(request, "batch_ids")
        if not ids and not batch_ids:
            raise invalid("asset_ids", "asset_ids or batch_ids is required")
        if len(ids) + len(batch_ids) > MAX_BULK_IDS:
            raise invalid("asset_ids", f"at most {MAX_BULK_IDS} ids and batch ids in all")
    except V3Error as exc:
        return exc.response()
    services.stats.record_bulk_status("asset", len(ids) + len(batch_ids))
    entries: list[dict[str, Any]] = []
    for asset_id in ids:
        status = "completed" if services.assets.get(asset_id) is not None else "not_found"
        entries.append(
            {"video_id": asset_id, "asset_id": asset_id, "status": status, "error": None, "batch_id": None}
        )
    # Direct-upload batches are not emulated: every batch id is unknown.
    entries += [{"video_id": None, "status": "not_found", "error": None, "batch_id": b} for b in batch_ids]
    return web.json_response({"data": entries, "has_more": False, "next_token": None})


async def users_me(request: web.Request) -> web.StreamResponse:
    """``GET /v3/users/me``: a side-effect-free connection test; the account in its billing shape."""
    return web.json_response({"data": request.app[SERVICES].billing.users_me()})


def add_routes(app: web.Application) -> None:
    """
    Register the asset and account routes.

    :param app: the application.
    """
    router = app.router
    router.add_post("/v3/assets", create_asset)
    router.add_get("/v3/assets/statuses", asset_statuses)
    router.add_get("/v3/assets/{asset_id}", get_asset)
    router.add_delete("/v3/assets/{asset_id}", delete_asset)
    router.add_get("/v3/users/me", users_me)
