"""v3 query parameters: id lists of bulk reads, and cursor pagination (``limit``, ``token``)."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from airflow_heygen.emulator.v3.errors import invalid

MAX_BULK_IDS = 100
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
T = TypeVar("T")


def id_list(request: web.Request, name: str) -> list[str]:
    """
    A comma-separated id list (``?video_ids=a,b``), duplicates dropped, at most 100 ids.

    :param request: the request.
    :param name: the query parameter.
    :raises V3Error: 400 ``invalid_parameter`` naming it when it has more than 100 ids.
    """
    ids = list(dict.fromkeys(part.strip() for part in request.query.get(name, "").split(",") if part.strip()))
    if len(ids) > MAX_BULK_IDS:
        raise invalid(name, f"{name} accepts at most {MAX_BULK_IDS} ids, got {len(ids)}")
    return ids


def limit_of(request: web.Request) -> int:
    """
    The ``limit`` query parameter: 1 to 100, 10 when absent.

    :param request: the request.
    """
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise invalid("limit", "limit must be an integer") from None
    if not 1 <= value <= MAX_LIMIT:
        raise invalid("limit", f"limit must be between 1 and {MAX_LIMIT}")
    return value


def _encode(after: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def _decode(token: str) -> Any:
    try:
        padded = token + "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise invalid("token", "token is not a cursor this endpoint gave out") from None


def _bad_token() -> Exception:
    return invalid("token", "token is not a cursor this endpoint gave out")


@dataclass(frozen=True)
class Page:
    """
    One page of a list.

    :param start: position of its first item.
    :param stop: position after its last item.
    :param next_token: cursor of the next page, None on the last.
    """

    start: int
    stop: int
    next_token: str | None


def keyed_page(
    request: web.Request, items: Sequence[T], key: Callable[[T], tuple[float, str]]
) -> tuple[list[T], str | None]:
    """
    The page of ``items`` (sorted by ``key``) that ``limit`` and ``token`` select. The cursor holds
    the last item's key, so items created or deleted between pages neither repeat nor go missing.

    :param request: the request.
    :param items: every item, sorted by ``key``.
    :param key: sort key of an item, e.g. ``(-created_at, id)``.
    :return: the page and the next cursor.
    """
    limit = limit_of(request)
    token = request.query.get("token")
    start = 0
    if token:
        after = _decode(token)
        if not (isinstance(after, list) and len(after) == 2 and isinstance(after[0], int | float)):
            raise _bad_token()
        start = bisect.bisect_right([key(item) for item in items], (float(after[0]), str(after[1])))
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    return page, _encode(list(key(page[-1]))) if more and page else None


def page_bounds(request: web.Request, total: int) -> Page:
    """
    Where the page that ``limit`` and ``token`` select starts and stops.

    :param request: the request.
    :param total: number of items.
    """
    limit = limit_of(request)
    token = request.query.get("token")
    start = _decode(token) if token else 0
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise _bad_token()
    stop = min(start + limit, total)
    return Page(start, stop, _encode(stop) if stop < total else None)
