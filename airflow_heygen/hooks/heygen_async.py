"""The async HeyGen hook the triggers use, and the event loop's shared HTTP session under it."""

from __future__ import annotations

import asyncio
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_heygen.answers import read_response, workflows_api_gone, workflows_api_retired_error
from airflow_heygen.api import MAX_RESPONSE_BYTES, ConnectionSettings, Retry, Transport
from airflow_heygen.hooks.common import (
    amask_key,
    log_where_requests_go,
    note_deprecation,
    resolve_settings,
    tls_error,
)
from airflow_heygen.kinds import WORKFLOW
from airflow_heygen.retrying import retry_async

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_heygen.job import Job

# The pool every HeyGen trigger of one event loop (one triggerer) shares, and how long an idle
# connection is kept; why these numbers: docs/waiting.md.
SHARED_POOL_CONNECTIONS = 500
SHARED_POOL_KEEPALIVE = 50.0
# Hooks of one event loop that look up the same connection within this many seconds share the lookup.
SHARED_LOOKUP_SECONDS = 5.0

_LOOKUPS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, tuple[float, asyncio.Future[ConnectionSettings]]]
] = weakref.WeakKeyDictionary()


class _LoopSession:
    """The aiohttp session of one event loop and the number of ``session()`` blocks using it."""

    def __init__(self) -> None:
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=SHARED_POOL_CONNECTIONS, keepalive_timeout=SHARED_POOL_KEEPALIVE
            ),
            # Requests of different connections (API keys) share the session: nothing may carry over.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Proxies come from each connection's Transport, never from the triggerer's environment alone.
            trust_env=False,
        )
        self.users = 0


_LOOP_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def shared_client_session() -> AsyncIterator[aiohttp.ClientSession]:
    """
    The running event loop's aiohttp session, shared by every HeyGen hook on that loop.

    The first user opens it and the last one to leave closes it. Each request carries its own URL,
    headers, timeout, proxy and TLS context; aiohttp pools connections per (host, port, TLS context,
    proxy), so requests of connections with different transport settings never share a socket.
    """
    loop = asyncio.get_running_loop()
    shared = _LOOP_SESSIONS.get(loop)
    if shared is None:
        shared = _LOOP_SESSIONS[loop] = _LoopSession()
    shared.users += 1
    try:
        yield shared.client
    finally:
        shared.users -= 1
        if shared.users == 0:
            del _LOOP_SESSIONS[loop]
            await shared.client.close()


_SSL_CONTEXTS: dict[tuple[str | None, str | tuple[str, str] | None], ssl.SSLContext] = {}


def ssl_for(transport: Transport) -> ssl.SSLContext | bool:
    """
    The TLS context of ``transport``, built once per (CA bundle, client certificate) for the process:
    one context object per setting keeps aiohttp's pool keyed on it, and loading a CA bundle is slow.

    :param transport: the connection's transport settings.
    :return: a context, or False for ``verify=False``.
    """
    ca_bundle = transport.ca_bundle()
    if ca_bundle is None and transport.cert is None:
        return False
    key = (ca_bundle, transport.cert)
    context = _SSL_CONTEXTS.get(key)
    if context is None:
        context = ssl.create_default_context()
        if ca_bundle is None:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context.load_verify_locations(cafile=ca_bundle)
        if isinstance(transport.cert, tuple):
            context.load_cert_chain(*transport.cert)
        elif transport.cert is not None:
            context.load_cert_chain(transport.cert)
        _SSL_CONTEXTS[key] = context
    return context


@dataclass
class Answer:
    """
    One HTTP answer, read: status, ``Retry-After`` and (at most ``MAX_RESPONSE_BYTES`` of) the body.

    :param status: HTTP status.
    :param retry_after: the ``Retry-After`` header, if any.
    :param body: the body.
    :param truncated: whether the body was cut at ``MAX_RESPONSE_BYTES``.
    :param deprecation: the ``Deprecation`` header, if any.
    :param sunset: the ``Sunset`` header, if any.
    """

    status: int
    retry_after: str | None
    body: bytes
    truncated: bool
    deprecation: str | None = None
    sunset: str | None = None


class HeyGenAsyncSession:
    """
    Requests of one connection through the event loop's shared aiohttp session: each is one attempt
    (the hook retries around it), with the connection's key, timeout, proxy and TLS context, and
    never follows a redirect (aiohttp would carry the ``X-Api-Key`` header along).

    :param client: the shared aiohttp session.
    :param settings: the resolved connection.
    """

    def __init__(self, client: aiohttp.ClientSession, settings: ConnectionSettings) -> None:
        self.client = client
        self.settings = settings
        self.timeout = aiohttp.ClientTimeout(total=settings.request_timeout)
        # Creates are slow at HeyGen's tail: a POST (the triggers send none today) gets create_timeout.
        self.create_timeout = aiohttp.ClientTimeout(total=settings.create_timeout)
        # Every request of a connection goes to its one origin: choose its proxy and TLS context once.
        self.proxy = settings.transport.proxy_for(settings.base_url)
        self.ssl = ssl_for(settings.transport) if settings.base_url.startswith("https:") else True

    async def request(self, method: str, endpoint: str, *, json: Mapping[str, Any] | None = None) -> Answer:
        """
        Send one request and read its answer.

        :param method: HTTP method.
        :param endpoint: path relative to the connection's base URL.
        :param json: a JSON body.
        """
        async with self.client.request(
            method,
            self.settings.url(endpoint),
            json=json,
            headers=self.settings.headers,
            timeout=self.create_timeout if method.upper() == "POST" else self.timeout,
            allow_redirects=False,
            proxy=self.proxy,
            ssl=self.ssl,
        ) as response:
            body, truncated = await read_body_async(response)
            headers = response.headers
            return Answer(
                response.status,
                headers.get("Retry-After"),
                body,
                truncated,
                deprecation=headers.get("Deprecation"),
                sunset=headers.get("Sunset"),
            )


class HeyGenAsyncHook(BaseHook):
    """
    Async HeyGen client for triggers: the same connection, key fallback, transport settings and retry
    policy as :class:`~airflow_heygen.hooks.heygen.HeyGenHook`.

    The connection is resolved once per hook (a trigger makes one per run), and hooks of one event
    loop resolving the same connection together share the lookup. :meth:`session` hands out the
    event loop's shared aiohttp session (one keep-alive pool per triggerer; see ``docs/waiting.md``).

    :param heygen_conn_id: id of a connection of type ``heygen``.
    """

    conn_name_attr = "heygen_conn_id"
    default_conn_name = "heygen_default"
    conn_type = "heygen"
    hook_name = "HeyGen"

    def __init__(self, heygen_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.heygen_conn_id = heygen_conn_id
        self._settings: ConnectionSettings | None = None

    async def settings(self) -> ConnectionSettings:
        """
        The connection settings, resolved once per hook without blocking the event loop; the key is
        registered with the secrets masker. A failed lookup is not shared.
        """
        if self._settings is None:
            lookups = _LOOKUPS.setdefault(asyncio.get_running_loop(), {})
            started, lookup = lookups.get(self.heygen_conn_id, (0.0, None))
            now = time.monotonic()
            if (
                lookup is None
                or now - started > SHARED_LOOKUP_SECONDS
                or (lookup.done() and (lookup.cancelled() or lookup.exception() is not None))
            ):
                lookup = asyncio.ensure_future(self._look_up_settings())
                lookups[self.heygen_conn_id] = (now, lookup)
            self._settings = await asyncio.shield(lookup)
        return self._settings

    async def _look_up_settings(self) -> ConnectionSettings:
        from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

        try:
            conn: Connection | None = await get_async_connection(self.heygen_conn_id, hook=self)
        except AirflowNotFoundException:
            conn = None
        extra = await get_async_extra_dejson(conn) if conn is not None and conn.extra else {}
        settings = await amask_key(resolve_settings(self.heygen_conn_id, conn, extra))
        # Once per lookup, and a trigger run looks up at most once (hooks of one loop share lookups).
        log_where_requests_go(self.log, self.heygen_conn_id, conn, settings)
        return settings

    @asynccontextmanager
    async def session(self) -> AsyncIterator[HeyGenAsyncSession]:
        """A :class:`HeyGenAsyncSession` of this connection on the event loop's shared session."""
        settings = await self.settings()
        async with shared_client_session() as client:
            yield HeyGenAsyncSession(client, settings)

    async def _attempt(
        self,
        http: HeyGenAsyncSession,
        method: str,
        endpoint: str,
        not_found_ok: bool,
        *,
        list_data: bool = False,
    ) -> Mapping[str, Any] | Retry:
        """
        One try of a request: its ``data`` (a list with ``list_data``), or :class:`Retry`.

        :raises HeyGenApiRetiredError: when HeyGen's workflows API is not served at the host (a 410).
        """
        settings = http.settings
        try:
            answer = await http.request(method, endpoint)
        except aiohttp.ClientSSLError as err:
            raise tls_error(settings, err) from None
        except (TimeoutError, aiohttp.ClientError) as err:
            return Retry(f"{type(err).__name__} from {settings.base_url}")
        note_deprecation(self.log, settings, method, endpoint, answer.deprecation, answer.sunset)
        if workflows_api_gone(method, endpoint, answer.status):
            raise workflows_api_retired_error(
                settings.base_url, method, answer.status, answer.body, settings.api_key
            )
        return read_response(
            answer.status,
            answer.body,
            answer.retry_after,
            not_found_ok=not_found_ok,
            truncated=answer.truncated,
            secret=settings.api_key,
            list_data=list_data,
        )

    async def request(
        self, http: HeyGenAsyncSession, method: str, endpoint: str, *, deadline: float | None = None
    ) -> Mapping[str, Any]:
        """
        Send ``method endpoint`` through an open session and return the answer's ``data``; a 404
        reads as not found, and 429, 5xx and network errors are retried under the connection's
        policy, never past ``deadline``: the one way the triggers read (and delete) jobs.

        :param http: a session from :meth:`session`.
        :param method: the HTTP method, e.g. ``"GET"``.
        :param endpoint: the path below the API's base URL.
        :param deadline: Unix time past which retries do not wait (a server's ``Retry-After`` included).
        :raises HeyGenUnavailableError: when the retries ran out.
        """
        return await retry_async(
            lambda: self._attempt(http, method, endpoint, True),
            http.settings.retry,
            what=f"{method} {endpoint}",
            log=self.log,
            deadline=deadline,
        )

    async def get_execution(
        self,
        http: HeyGenAsyncSession,
        execution_id: str,
        workflow_type: str | None = None,
        *,
        deadline: float | None = None,
    ) -> Job:
        """
        :func:`~airflow_heygen.hooks.jobs_async.get_job_async` of a workflows execution.

        :param http: a session from :meth:`session`.
        :param execution_id: the execution to read.
        :param workflow_type: the workflow type if known.
        :param deadline: Unix time past which retries do not wait (a server's ``Retry-After`` included).
        """
        from airflow_heygen.hooks.jobs_async import get_job_async

        job = await get_job_async(self, http, WORKFLOW, execution_id, deadline=deadline)
        return job.typed(workflow_type)


async def read_body_async(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """
    Read at most ``MAX_RESPONSE_BYTES`` of a response's body (the request's total timeout bounds the time).

    :param response: an aiohttp response.
    :return: the body, cut at ``MAX_RESPONSE_BYTES``, and whether it was cut.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES], size > MAX_RESPONSE_BYTES
