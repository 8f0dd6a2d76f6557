"""
OpenLineage dataset identities (namespace, name) of what HeyGen tasks read and make, as plain values:
this module imports nothing of OpenLineage, so it is cheap and testable without it.

Naming follows OpenLineage's rules: an http(s) resource is ``https://host[:port]`` + its path (the
query is dropped: signed URLs carry credentials and change on every signing); an object is
``s3://bucket`` + key (any ``<protocol>://bucket`` alike); a local file is named as Airflow's own
``file`` asset converter names it, so the publisher's Asset and its lineage agree. HeyGen's own
objects live in ``heygen://<api host>``: ``videos/<id>``, ``workflows/executions/<id>``,
``assets/<id>``, named like their API paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_heygen.kinds import job_kind

__all__ = [
    "DatasetRef",
    "asset_dataset",
    "heygen_namespace",
    "job_dataset",
    "media_inputs",
    "storage_dataset",
    "url_dataset",
]

HEYGEN_SCHEME = "heygen"
DEFAULT_PORTS = {"http": 80, "https": 443}
# URLs in a request that are not media the job reads: HeyGen calls them, it does not fetch them.
NOT_MEDIA_KEYS = frozenset({"callback_url", "webhook_url"})


@dataclass(frozen=True)
class DatasetRef:
    """
    One dataset's identity.

    :param namespace: e.g. ``https://cdn.example.com`` or ``heygen://api.heygen.com``.
    :param name: e.g. ``/faces/ada.jpg`` or ``videos/abc123``.
    """

    namespace: str
    name: str


def _netloc(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    return shown if port is None or port == DEFAULT_PORTS.get(scheme) else f"{shown}:{port}"


def url_dataset(url: str) -> DatasetRef | None:
    """
    The dataset of an http(s) URL: ``scheme://host[:port]`` and the path; None for anything else.

    :param url: an absolute URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return DatasetRef(f"{scheme}://{_netloc(scheme, parts.hostname, port)}", parts.path or "/")


def heygen_namespace(base_url: str) -> str:
    """
    ``heygen://<api host>`` of a connection's base URL (its port kept, its credentials never).

    :param base_url: e.g. ``https://api.heygen.com`` or ``http://127.0.0.1:8765``.
    """
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower() or "https"
    host = parts.hostname or base_url
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{HEYGEN_SCHEME}://{_netloc(scheme, host, port)}"


def job_dataset(namespace: str, kind: str, job_id: str) -> DatasetRef:
    """
    A HeyGen job's dataset, named by its API path without the version: ``videos/<id>``,
    ``workflows/executions/<id>``, ``video-translations/<id>``, ``assets/<id>``.

    :param namespace: :func:`heygen_namespace`.
    :param kind: the job kind, e.g. ``video``.
    :param job_id: its id.
    """
    path = job_kind(kind).status_path(job_id)
    return DatasetRef(namespace, path.split("/", 1)[1] if "/" in path else path)


def asset_dataset(namespace: str, asset_id: str) -> DatasetRef:
    """
    A HeyGen asset's dataset: ``assets/<asset_id>``.

    :param namespace: :func:`heygen_namespace`.
    :param asset_id: the asset.
    """
    return job_dataset(namespace, "asset", asset_id)


def storage_dataset(uri: str) -> DatasetRef | None:
    """
    The dataset of an object-storage URI as the provider's Assets name them: ``s3://bucket/key`` is
    ``s3://bucket`` + ``key``; ``file:///abs/path`` is ``file`` + ``/abs/path`` (``file://host`` with a
    host), as Airflow's ``file`` asset converter has it; http(s) as :func:`url_dataset`.

    :param uri: e.g. a publisher's result ``uri``.
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in DEFAULT_PORTS:
        return url_dataset(uri)
    if scheme in ("", "file", "local"):
        path = parts.path if scheme else uri
        if not path.startswith("/"):
            return None
        return DatasetRef(f"file://{parts.netloc}" if parts.netloc else "file", path)
    if not parts.netloc:
        return None
    return DatasetRef(f"{scheme}://{parts.netloc}", parts.path.lstrip("/") or "/")


def _media(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """("url", url) and ("asset", id) of every medium in a request, in order."""
    if isinstance(value, Mapping):
        if value.get("type") == "asset_id" and isinstance(value.get("asset_id"), str):
            yield "asset", value["asset_id"]
        for child_key, child in value.items():
            if child_key == "asset_id" and value.get("type") == "asset_id":
                continue
            yield from _media(child, str(child_key))
    elif isinstance(value, (list, tuple)):
        for child in value:
            yield from _media(child, key)
    elif isinstance(value, str) and key not in NOT_MEDIA_KEYS:
        if key.endswith("asset_id"):
            yield "asset", value
        elif value.startswith(("http://", "https://")):
            yield "url", value


def media_inputs(request: Any, namespace: str) -> list[DatasetRef]:
    """
    The media a request makes HeyGen read: every http(s) URL in it and every asset it names
    (``{"type": "asset_id", "asset_id"}`` or a ``*_asset_id`` field), each once, in order.

    :param request: a create body or a workflow's ``input``.
    :param namespace: :func:`heygen_namespace`, for the assets.
    """
    found: list[DatasetRef] = []
    for what, value in _media(request):
        ref = asset_dataset(namespace, value) if what == "asset" else url_dataset(value)
        if ref is not None and ref not in found:
            found.append(ref)
    return found
