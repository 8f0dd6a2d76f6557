"""
v3 routes of videos, lip-syncs and video translations: create, read, delete, list, bulk statuses
and batches. The three resources share their handlers; a :class:`Resource` says what differs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airflow_heygen.emulator.prices import Price
from airflow_heygen.emulator.services import SERVICES, EmulatorServices, public_base
from airflow_heygen.emulator.v3 import asset_routes
from airflow_heygen.emulator.v3.create_flow import create_jobs, idempotent_create
from airflow_heygen.emulator.v3.errors import V3Error, invalid
from airflow_heygen.emulator.v3.fields import MediaContext
from airflow_heygen.emulator.v3.models import BatchItem, JobKind, V3Batch, V3Job, new_v3_id
from airflow_heygen.emulator.v3.params import MAX_BULK_IDS, id_list, keyed_page, page_bounds
from airflow_heygen.emulator.v3.validation import (
    BatchSpec,
    JobSpec,
    parse_batch,
    parse_lipsync,
    parse_translation,
    parse_video,
)
from airflow_heygen.emulator.v3.views import VIEWS, batch_view, bulk_entry, missing_entry

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a 402 message calls a single create of each resource.
CREATE_NAMES = {
    JobKind.VIDEO: "video",
    JobKind.LIPSYNC: "lip-sync",
    JobKind.VIDEO_TRANSLATION: "video translation",
}
ItemParser = Callable[[Any, MediaContext, str], JobSpec | list[JobSpec]]


@dataclass(frozen=True)
class Resource:
    """
    One v3 job resource.

    :param kind: its jobs' kind (also its stats key).
    :param path: its collection path.
    :param id_param: the path parameter of one job.
    :param ids_query: the id list parameter of its bulk statuses.
    :param not_found: the error code of an unknown id.
    :param batch_field: the item list field of its batch body.
    :param parse: the parser of one create body.
    :param answer: the ``data`` of a create answer, from the jobs it created.
    """

    kind: JobKind
    path: str
    id_param: str
    ids_query: str
    not_found: str
    batch_field: str
    parse: ItemParser
    answer: Callable[[list[V3Job]], dict[str, Any]]


RESOURCES = (
    Resource(
        JobKind.VIDEO,
        "/v3/videos",
        "video_id",
        "video_ids",
        "video_not_found",
        "videos",
        parse_video,
        lambda jobs: {"video_id": jobs[0].job_id, "status": "waiting", "output_format": "mp4"},
    ),
    Resource(
        JobKind.LIPSYNC,
        "/v3/lipsyncs",
        "lipsync_id",
        "lipsync_ids",
        "lipsync_not_found",
        "lipsyncs",
        parse_lipsync,
        lambda jobs: {"lipsync_id": jobs[0].job_id},
    ),
    Resource(
        JobKind.VIDEO_TRANSLATION,
        "/v3/video-translations",
        "video_translation_id",
        "video_translation_ids",
        "video_translation_not_found",
        "video_translations",
        parse_translation,
        lambda jobs: {"video_translation_ids": [job.job_id for job in jobs]},
    ),
)


def _context(services: EmulatorServices) -> MediaContext:
    return MediaContext(services.config.data_dir, services.assets)


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise invalid("request body", "request body must be valid JSON") from None


def _job(services: EmulatorServices, resource: Resource, job_id: str) -> V3Job:
    job = services.jobs.get(job_id)
    if job is None or job.kind is not resource.kind:
        label = resource.kind.value.replace("_", " ")
        raise V3Error(404, resource.not_found, f"{label} {job_id} not found", resource.id_param)
    return job


def _handle(handler: Callable[[web.Request], Awaitable[dict[str, Any]]]) -> Handler:
    """Answer a handler's body as ``200`` JSON and its :class:`V3Error` as the error envelope."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return web.json_response(await handler(request))
        except V3Error as exc:
            return exc.response()

    return wrapped


def _create(resource: Resource) -> Handler:
    async def create(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]

        async def validate() -> list[JobSpec]:
            specs = resource.parse(await _json(request), _context(services), "")
            return specs if isinstance(specs, list) else [specs]

        async def commit(specs: list[JobSpec]) -> dict[str, Any]:
            return {"data": resource.answer(await create_jobs(services, specs))}

        async def price(specs: list[JobSpec]) -> list[Price]:
            return [await services.output_seconds.v3_price(spec) for spec in specs]

        return await idempotent_create(
            request, resource.kind.value, validate, commit, len, price, CREATE_NAMES[resource.kind]
        )

    return create


def _create_batch(resource: Resource) -> Handler:
    async def create_batch(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]

        async def validate() -> BatchSpec:
            return parse_batch(await _json(request), resource.batch_field, resource.parse, _context(services))

        async def commit(spec: BatchSpec) -> dict[str, Any]:
            batch_id, items = new_v3_id(), []
            for index, specs in enumerate(spec.items):
                jobs = await create_jobs(services, specs, batch_id, index)
                items += [BatchItem(index, job.job_id) for job in jobs]
            batch = V3Batch(batch_id, resource.kind, time.time(), spec.title, spec.callback_url, items)
            await services.batches.put(batch)
            services.stats.record_batch(resource.kind.value)
            by_id = {item.job_id: services.jobs.get(item.job_id) for item in items}
            data = batch_view(batch, by_id, list(range(len(items))), None)
            del data["has_more"], data["next_token"]
            return {"data": data}

        async def price(spec: BatchSpec) -> list[Price]:
            # The whole batch is priced: one the account cannot pay whole is refused whole.
            return [await services.output_seconds.v3_price(job) for item in spec.items for job in item]

        return await idempotent_create(
            request, f"{resource.kind.value}_batch", validate, commit, price=price, what="batch"
        )

    return create_batch


def _get(resource: Resource) -> Handler:
    async def get(request: web.Request) -> dict[str, Any]:
        job = _job(request.app[SERVICES], resource, request.match_info[resource.id_param])
        return {"data": VIEWS[resource.kind](job, public_base(request))}

    return _handle(get)


def _delete(resource: Resource) -> Handler:
    async def delete(request: web.Request) -> dict[str, Any]:
        services = request.app[SERVICES]
        job = _job(services, resource, request.match_info[resource.id_param])
        await services.jobs.delete(job.job_id)
        services.runner.slots.release(job.job_id)  # deleted is terminal: its slot frees up
        for name in (job.output_file, job.caption_file):
            if name:
                (services.media_dir / name).unlink(missing_ok=True)
        data: dict[str, Any] = {"id": job.job_id}
        if resource.kind is JobKind.VIDEO:
            data["deleted"] = True
        return {"data": data}

    return _handle(delete)


def _list(resource: Resource) -> Handler:
    async def listing(request: web.Request) -> dict[str, Any]:
        services = request.app[SERVICES]
        title = request.query.get("title")
        folder = request.query.get("folder_id")
        jobs = [
            job
            for job in services.jobs
            if job.kind is resource.kind
            and (not title or title.lower() in str(job.meta.get("title") or "").lower())
            and (not folder or job.meta.get("folder_id") == folder)
        ]
        jobs.sort(key=lambda job: (-job.created_at, job.job_id))
        page, token = keyed_page(request, jobs, lambda job: (-job.created_at, job.job_id))
        view = VIEWS[resource.kind]
        base = public_base(request)
        return {"data": [view(job, base) for job in page], "has_more": token is not None, "next_token": token}

    return _handle(listing)


def _statuses(resource: Resource) -> Handler:
    async def statuses(request: web.Request) -> dict[str, Any]:
        services = request.app[SERVICES]
        ids = id_list(request, resource.ids_query)
        batch_ids = id_list(request, "batch_ids")
        if not ids and not batch_ids:
            raise invalid(resource.ids_query, f"{resource.ids_query} or batch_ids is required")
        if len(ids) + len(batch_ids) > MAX_BULK_IDS:
            raise invalid(resource.ids_query, f"at most {MAX_BULK_IDS} ids and batch ids in all")
        services.stats.record_bulk_status(resource.kind.value, len(ids) + len(batch_ids))
        entries = []
        for job_id in ids:
            job = services.jobs.get(job_id)
            found = job is not None and job.kind is resource.kind
            entries.append(bulk_entry(job) if found and job is not None else missing_entry(job_id))
        for batch_id in batch_ids:
            batch = services.batches.get(batch_id)
            if batch is None or batch.kind is not resource.kind:
                entries.append(missing_entry(None, batch_id))
                continue
            for item in batch.items:
                job = services.jobs.get(item.job_id)
                entries.append(bulk_entry(job) if job is not None else missing_entry(item.job_id, batch_id))
        return {"data": entries, "has_more": False, "next_token": None}

    return _handle(statuses)


def _get_batch(resource: Resource) -> Handler:
    async def get_batch(request: web.Request) -> dict[str, Any]:
        services = request.app[SERVICES]
        batch_id = request.match_info["batch_id"]
        batch = services.batches.get(batch_id)
        if batch is None or batch.kind is not resource.kind:
            raise V3Error(404, "batch_not_found", f"batch {batch_id} not found", "batch_id")
        page = page_bounds(request, len(batch.items))
        jobs = {item.job_id: services.jobs.get(item.job_id) for item in batch.items}
        return {"data": batch_view(batch, jobs, list(range(page.start, page.stop)), page.next_token)}

    return _handle(get_batch)


def add_v3_routes(app: web.Application) -> None:
    """
    Register every v3 route. Fixed paths (``/statuses``, ``/batches``) come before ``/{id}``.

    :param app: the application.
    """
    router = app.router
    for resource in RESOURCES:
        path = resource.path
        router.add_post(path, _create(resource))
        router.add_get(path, _list(resource))
        router.add_get(f"{path}/statuses", _statuses(resource))
        router.add_post(f"{path}/batches", _create_batch(resource))
        router.add_get(f"{path}/batches/{{batch_id}}", _get_batch(resource))
        router.add_get(f"{path}/{{{resource.id_param}}}", _get(resource))
        router.add_delete(f"{path}/{{{resource.id_param}}}", _delete(resource))
    asset_routes.add_routes(app)
