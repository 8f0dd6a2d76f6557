"""Hooks for HeyGen's workflows API: a sync one for workers and an async one for triggers."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import aiohttp
import requests
from airflow.providers.http.hooks.http import AsyncHttpSession, HttpAsyncHook, HttpHook, SessionConfig
from airflow.sdk.exceptions import AirflowNotFoundException
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from airflow_heygen.api import (
    API_KEY_ENV_VAR,
    EXECUTIONS_ENDPOINT,
    MAX_RESPONSE_BYTES,
    OWN_EXTRA_KEYS,
    ConnectionSettings,
    Retry,
    execution_endpoint,
    read_response,
)
from airflow_heygen.exceptions import (
    HeyGenError,
    HeyGenExecutionError,
    HeyGenRequestError,
    HeyGenUnavailableError,
)
from airflow_heygen.get_provider_info import CONNECTION_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_heygen.models import Execution, ExecutionStatus

if TYPE_CHECKING:
    from airflow.sdk import Connection


def _mask(secret: str) -> None:
    from airflow.sdk.log import mask_secret

    mask_secret(secret)


class StatusChangeLog:
    """
    Logs one line per status change of an execution, with the time since waiting began.

    :param log: where to log.
    :param execution_id: the execution being watched.
    """

    def __init__(self, log: logging.Logger | Any, execution_id: str) -> None:
        self.log = log
        self.execution_id = execution_id
        self.started = time.monotonic()
        self.last: str | None = None

    def observe(self, execution: Execution) -> None:
        """Log ``execution``'s status if it differs from the last one seen."""
        shown = execution.raw_status or execution.status.value
        if shown != self.last:
            self.last = shown
            self.log.info(
                "HeyGen execution %s is %s after %.1fs",
                self.execution_id,
                shown,
                time.monotonic() - self.started,
            )


def raise_for_outcome(execution: Execution) -> Execution:
    """
    Return a completed execution; raise a clear error for a failed or vanished one.

    :param execution: an execution in a terminal status.
    """
    if execution.status is ExecutionStatus.FAILED:
        reason = execution.error_message or "Face swap failed"
        raise HeyGenExecutionError(
            f"HeyGen execution {execution.execution_id} failed: {reason}", execution.execution_id
        )
    if execution.status is ExecutionStatus.NOT_FOUND:
        raise HeyGenExecutionError(
            f"HeyGen execution {execution.execution_id}: Workflow not found", execution.execution_id
        )
    return execution


def unavailable_while_reading(execution_id: str, err: HeyGenUnavailableError) -> HeyGenUnavailableError:
    """
    ``err``, raised while reading an execution's status, retold with that execution's id and how to
    resume: HeyGen keeps running it while the network (or HeyGen) is down.

    :param execution_id: the execution being read.
    :param err: the error that ended the retries.
    """
    return HeyGenUnavailableError(
        f"HeyGen execution {execution_id}: {err}. The execution may still finish: wait for it with "
        f"HeyGenExecutionSensor(task_id=..., execution_id={execution_id!r}) instead of submitting again"
    )


def timeout_message(execution_id: str, timeout: float) -> str:
    """The error for an execution still running at the deadline, saying how to resume waiting."""
    return (
        f"HeyGen execution {execution_id} was still running after {timeout:.0f}s. It may still finish: "
        f"wait for it with HeyGenExecutionSensor(task_id=..., execution_id={execution_id!r}) "
        "instead of submitting again"
    )


class HeyGenHook(HttpHook):
    """
    Talk to HeyGen's workflows API: submit workflows and read or wait for their executions.

    Built on the HTTP provider's ``HttpHook``: proxies, TLS verification and keep-alive come from it.
    The API key is the connection's password (the "API Key" field of the form); without a
    connection of this id, it comes from ``HEYGEN_API_KEY`` and the host is ``https://api.heygen.com``.
    429, 5xx, timeouts and connection errors are retried with exponential backoff and jitter,
    honouring ``Retry-After``, as bounded by the connection's extra (``retry_limit``,
    ``retry_min_delay``, ``retry_max_delay``, ``request_timeout``).

    A submission is not retried once its request may have reached HeyGen without an answer
    (a read timeout or a dropped connection): HeyGen may have accepted it, and retrying could pay twice.

    :param heygen_conn_id: id of a connection of type ``heygen``.
    """

    conn_name_attr = "heygen_conn_id"
    default_conn_name = "heygen_default"
    conn_type = "heygen"
    hook_name = "HeyGen"

    def __init__(self, heygen_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(method="GET", http_conn_id=heygen_conn_id, **kwargs)
        self.heygen_conn_id = heygen_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """How the connection form shows a HeyGen connection (fallback for the provider info)."""
        return {key.replace("-", "_"): value for key, value in UI_FIELD_BEHAVIOUR.items()}

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form (fallback for the provider info's conn-fields)."""
        from wtforms import IntegerField, StringField
        from wtforms.validators import NumberRange, Optional

        return {
            name: IntegerField(
                field["label"], validators=[Optional(), NumberRange(min=0)], description=field["description"]
            )
            if "integer" in field["schema"]["type"]
            else StringField(field["label"], description=field["description"])
            for name, field in CONNECTION_FIELDS.items()
        }

    @cached_property
    def connection(self) -> Connection | None:
        """The Airflow connection, or None when it does not exist (the env key is used then)."""
        try:
            return self.get_connection(self.heygen_conn_id)
        except AirflowNotFoundException:
            self.log.info(
                "No connection %r; using %s and the public API", self.heygen_conn_id, API_KEY_ENV_VAR
            )
            return None

    @cached_property
    def settings(self) -> ConnectionSettings:
        """The resolved connection settings; the key is registered with the secrets masker."""
        conn = self.connection
        settings = ConnectionSettings.from_parts(
            self.heygen_conn_id,
            host=conn.host if conn else None,
            schema=conn.schema if conn else None,
            port=conn.port if conn else None,
            password=conn.password if conn else None,
            extra=conn.extra_dejson if conn else {},
        )
        _mask(settings.api_key)
        return settings

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """A ``requests`` session with the key, proxies, TLS settings and keep-alive adapters."""
        settings = self.settings
        self.base_url = settings.base_url
        self._base_url_initialized = True
        session = requests.Session()
        conn = self.connection
        if conn is not None and conn.extra:
            transport_extra = {k: v for k, v in conn.extra_dejson.items() if k not in OWN_EXTRA_KEYS}
            stripped = type(conn)(
                conn_id=conn.conn_id, conn_type=conn.conn_type, extra=json.dumps(transport_extra)
            )
            session = self._configure_session_from_extra(session, stripped, extra_options or {})
        session = self._configure_session_from_mount_adapters(session)
        session.headers.update(settings.headers)
        if headers:
            session.headers.update(headers)
        return session

    @cached_property
    def session(self) -> requests.Session:
        """One session per hook, so polls reuse the TCP connection."""
        return self.get_conn()

    def _exchange(self, request: requests.PreparedRequest, timeout: float) -> requests.Response:
        """
        Send one request through the session's transport and return the response, its body still unread.

        ``Session.send`` is bypassed on purpose: it follows redirects (carrying the X-Api-Key header to any
        host), and even when told not to it reads a redirect's whole body without any overall time limit.

        :param request: a request prepared by :attr:`session`.
        :param timeout: seconds to connect, and seconds the socket may stay silent.
        """
        session = self.session
        environment = session.merge_environment_settings(
            request.url, session.proxies, True, session.verify, session.cert
        )
        adapter = session.get_adapter(request.url or "")
        return adapter.send(
            request,
            stream=True,
            timeout=timeout,
            verify=True if environment["verify"] is None else environment["verify"],
            cert=environment["cert"],
            proxies=environment["proxies"],
        )

    def _send(
        self,
        method: str,
        endpoint: str,
        payload: Mapping[str, Any] | None,
        *,
        not_found_ok: bool,
        deadline: float | None = None,
    ) -> Mapping[str, Any]:
        settings = self.settings
        request = requests.Request(method, self.url_from_endpoint(endpoint), json=payload)
        retries = 0
        while True:
            try:
                answer_by = time.monotonic() + settings.request_timeout
                response = self._exchange(self.session.prepare_request(request), settings.request_timeout)
                body, truncated = read_body(response, answer_by)
                outcome = read_response(
                    response.status_code,
                    body,
                    response.headers.get("Retry-After"),
                    not_found_ok=not_found_ok,
                    truncated=truncated,
                )
            except (requests.ConnectionError, requests.Timeout) as err:
                if method == "POST" and not _never_connected(err):
                    raise HeyGenError(
                        f"Submitting to HeyGen at {settings.base_url} got no answer ({type(err).__name__}); "
                        "HeyGen may have accepted the workflow, so it is not retried automatically"
                    ) from None
                outcome = Retry(f"{type(err).__name__} from {settings.base_url}")
            else:
                if (
                    method == "POST"
                    and isinstance(outcome, Retry)
                    and _may_have_accepted(response.status_code)
                ):
                    raise HeyGenError(
                        f"Submitting to HeyGen at {settings.base_url}: {outcome.reason}. HeyGen may have "
                        "accepted the workflow, so it is not retried automatically"
                    )
            if not isinstance(outcome, Retry):
                return outcome
            remaining = None if deadline is None else deadline - time.time()
            delay = settings.retry.next_delay(retries, outcome.reason, outcome.retry_after, remaining)
            retries += 1
            self.log.warning(
                "HeyGen %s %s: %s; retry %d in %.1fs", method, endpoint, outcome.reason, retries, delay
            )
            time.sleep(delay)

    def submit_workflow(self, workflow_type: str, input: Mapping[str, Any]) -> str:
        """
        Submit a workflow and return its execution id.

        :param workflow_type: e.g. ``"FaceswapNode"``; callers validate the request first.
        :param input: the workflow's ``input`` object.
        """
        data = self._send(
            "POST",
            EXECUTIONS_ENDPOINT,
            {"workflow_type": workflow_type, "input": dict(input)},
            not_found_ok=False,
        )
        execution_id = data.get("execution_id")
        if not isinstance(execution_id, str) or not execution_id:
            raise HeyGenRequestError(
                f"HeyGen accepted the {workflow_type} workflow but returned no execution_id"
            )
        self.log.info("Submitted HeyGen %s workflow: execution %s", workflow_type, execution_id)
        return execution_id

    def get_execution(
        self, execution_id: str, workflow_type: str | None = None, *, deadline: float | None = None
    ) -> Execution:
        """
        Read an execution's current status; a 404 reads as ``not_found``.

        :param execution_id: the id returned by :meth:`submit_workflow`.
        :param workflow_type: the workflow type if known, to find the video URL first time.
        :param deadline: Unix time past which retries do not wait (a server's ``Retry-After`` included).
        """
        try:
            endpoint = execution_endpoint(execution_id)
            data = self._send("GET", endpoint, None, not_found_ok=True, deadline=deadline)
        except HeyGenUnavailableError as err:
            raise unavailable_while_reading(execution_id, err) from None
        return Execution.from_data(data, execution_id, workflow_type)

    def wait_for_execution(
        self,
        execution_id: str,
        poll_interval: float = 10.0,
        timeout: float = 600.0,
        workflow_type: str | None = None,
    ) -> Execution:
        """
        Poll until the execution completes; raise if it fails, vanishes or outlives ``timeout``.

        Transient HTTP errors are retried within each poll, so one 503 is not a failure, but no retry waits
        past the deadline, whatever ``Retry-After`` asks. The last poll happens at the deadline itself.

        :param execution_id: the execution to wait for.
        :param poll_interval: seconds between polls.
        :param timeout: seconds to wait at most.
        :param workflow_type: the workflow type if known.
        """
        deadline = time.monotonic() + timeout
        wall_deadline = time.time() + timeout
        progress = StatusChangeLog(self.log, execution_id)
        while True:
            execution = self.get_execution(execution_id, workflow_type, deadline=wall_deadline)
            progress.observe(execution)
            if execution.status.is_terminal:
                return raise_for_outcome(execution)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HeyGenExecutionError(timeout_message(execution_id, timeout), execution_id)
            time.sleep(min(poll_interval, remaining))

    def test_connection(self) -> tuple[bool, str]:
        """Check the URL and key by asking for an execution that does not exist."""
        try:
            execution = self.get_execution("airflow-connection-test")
        except HeyGenError as err:
            return False, str(err)
        except Exception as err:
            return False, f"{type(err).__name__}: {err}"
        return (
            True,
            f"Connected to HeyGen at {self.settings.base_url} (test execution: {execution.status.value})",
        )


def read_body(response: requests.Response, deadline: float) -> tuple[bytes, bool]:
    """
    Read a streamed response's body by ``deadline``, and at most ``MAX_RESPONSE_BYTES`` of it.

    ``requests``' timeout bounds each wait for the socket, not the whole answer: a body trickling in a
    byte at a time would otherwise hold a worker for as long as the server likes.

    :param response: a response whose body was not read yet (``stream=True``).
    :param deadline: ``time.monotonic()`` by which the body must have arrived.
    :return: the body, cut at ``MAX_RESPONSE_BYTES``, and whether it was cut.
    :raises requests.Timeout: when the body is still arriving at the deadline, or the socket goes silent.
    :raises requests.ConnectionError: when the connection breaks in the middle of the body.
    """
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        while size <= MAX_RESPONSE_BYTES:
            if time.monotonic() > deadline:
                raise requests.Timeout("the answer was still arriving when the request timeout ran out")
            chunk = response.raw.read1(64 * 1024, decode_content=True)
            if not chunk:
                complete = True
                break
            chunks.append(chunk)
            size += len(chunk)
    except ReadTimeoutError as err:
        raise requests.Timeout(str(err)) from None
    except Urllib3Error as err:
        raise requests.ConnectionError(str(err)) from None
    finally:
        if complete:
            response.raw.release_conn()  # read to its end: the keep-alive connection serves the next poll
        else:
            response.close()
    return b"".join(chunks)[:MAX_RESPONSE_BYTES], size > MAX_RESPONSE_BYTES


def _may_have_accepted(status: int) -> bool:
    """
    Whether a submission may have been taken although its answer (``status``) is one to repeat: only a 429
    and a 5xx other than 504 say for sure that it was not. A 2xx was a yes whose details got lost, a 504 is
    a gateway that gave up waiting for HeyGen, and a status outside HTTP's ranges says nothing.

    :param status: the HTTP status of a submission's answer that :func:`read_response` wants repeated.
    """
    return not (status == 429 or (500 <= status < 600 and status != 504))


def _never_connected(err: requests.RequestException) -> bool:
    """
    Whether the request certainly never reached the server (refused, unresolvable, connect timeout).

    urllib3's ``NewConnectionError`` and ``NameResolutionError`` are ``ConnectTimeoutError`` subclasses.
    """
    reason = getattr(err.args[0], "reason", None) if err.args else None
    return isinstance(reason, ConnectTimeoutError)


# The connection pool that every HeyGen trigger of one event loop (one triggerer) shares. It carries at
# most (connections / seconds per answer) polls a second: 500 keep 10,000 waits polled every 10 s (1,000
# polls a second) on time while HeyGen answers within half a second, and stay under the common 1,024
# open-files limit; a steady state holds far fewer (polls a second x seconds per answer). An idle
# connection is kept 50 s, which covers poll intervals up to that and stays under the 60-75 s after
# which common load balancers and servers drop idle connections.
SHARED_POOL_CONNECTIONS = 500
SHARED_POOL_KEEPALIVE = 50.0


# Hooks of one event loop that look up the same connection within this many seconds of each other
# share the lookup: a connection changed in Airflow still applies to triggers started moments later.
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
        )
        self.users = 0


_LOOP_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def shared_client_session() -> AsyncIterator[aiohttp.ClientSession]:
    """
    The running event loop's aiohttp session, shared by every HeyGen hook on that loop.

    The first user opens it and the last one to leave closes it, so a triggerer waiting for thousands
    of executions holds one pool of at most ``SHARED_POOL_CONNECTIONS`` keep-alive connections rather
    than a session, a TCP connection and a file descriptor per trigger. Each request carries its own
    URL, headers and timeout, so hooks of different HeyGen connections share it safely.
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


class SingleAttemptHttpSession(AsyncHttpSession):
    """
    The HTTP provider's ``AsyncHttpSession`` with a ``run()`` that makes exactly one attempt.

    :class:`HeyGenAsyncHook` retries around single attempts with its own policy (which honours
    ``Retry-After``), so the provider's per-request tenacity loop, set to one attempt, would only cost
    CPU on every poll. SRV lookups and requests-only extra options do not apply: the hook's
    :meth:`HeyGenAsyncHook.config` sets neither.
    """

    async def run(
        self,
        endpoint: str | None = None,
        data: dict[str, Any] | str | None = None,
        json: dict[str, Any] | str | None = None,
        headers: dict[str, Any] | None = None,
        extra_options: dict[str, Any] | None = None,
    ) -> aiohttp.ClientResponse:
        """
        Send one request, as ``AsyncHttpSession.run()`` does with ``retry_limit=1``.

        :param endpoint: path relative to the base URL.
        :param data: query parameters of a GET, or the body of a POST, PUT, PATCH or DELETE.
        :param json: a JSON body.
        :param headers: headers added to the session's.
        :param extra_options: more keyword arguments of the aiohttp request; ``check_response=False``
            returns 4xx and 5xx responses instead of raising.
        """
        options = {**(self.extra_options or {}), **(extra_options or {})}
        check_response = options.pop("check_response", True)
        url = self.base_url
        if endpoint:
            url = (
                f"{url}/{endpoint}"
                if not url.endswith("/") and not endpoint.startswith("/")
                else url + endpoint
            )
        response: aiohttp.ClientResponse = await self._request(
            url,
            params=data if self.method == "GET" else None,
            data=data if self.method in ("POST", "PUT", "PATCH", "DELETE") else None,
            json=json,
            headers={**(self.headers or {}), **(headers or {})},
            auth=self.auth,
            **options,
        )
        if check_response:
            response.raise_for_status()
        return response


class HeyGenAsyncHook(HttpAsyncHook):
    """
    Async HeyGen client for triggers, on the HTTP provider's ``HttpAsyncHook``.

    The connection is resolved once per hook (a trigger makes one per run). :meth:`session` keeps
    ``HttpAsyncHook.session()``'s contract, an ``AsyncHttpSession`` built from :meth:`config`, but binds
    it to the event loop's shared aiohttp session (:func:`shared_client_session`) instead of opening one
    per call: every HeyGen trigger of a triggerer polls through one keep-alive connection pool, so a
    waiting execution costs no TCP connection, socket or session of its own. Retries follow the same
    policy as :class:`HeyGenHook`, including 429 with ``Retry-After`` (which ``HttpAsyncHook`` skips).

    :param heygen_conn_id: id of a connection of type ``heygen``.
    """

    conn_name_attr = "heygen_conn_id"
    default_conn_name = "heygen_default"
    conn_type = "heygen"
    hook_name = "HeyGen"

    def __init__(self, heygen_conn_id: str = default_conn_name) -> None:
        # Our own retry loop runs around single attempts, so the base hook must not retry.
        super().__init__(method="GET", http_conn_id=heygen_conn_id, retry_limit=1)
        self.heygen_conn_id = heygen_conn_id
        self._settings: ConnectionSettings | None = None

    async def settings(self) -> ConnectionSettings:
        """
        The connection settings, resolved once per hook without blocking the event loop.

        Hooks of one event loop that need the same connection within ``SHARED_LOOKUP_SECONDS`` of each
        other share one lookup, so thousands of triggers started together (a triggerer restart) ask
        Airflow once; a failed lookup is not shared.
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
        return ConnectionSettings.from_parts(
            self.heygen_conn_id,
            host=conn.host if conn else None,
            schema=conn.schema if conn else None,
            port=conn.port if conn else None,
            password=conn.password if conn else None,
            extra=extra,
        )

    async def config(self) -> SessionConfig:
        """Session configuration for ``HttpAsyncHook.session()``: our base URL and headers."""
        if self._config is None:
            settings = await self.settings()
            self._config = SessionConfig(
                base_url=settings.base_url,
                headers=settings.headers,
                # aiohttp would carry the X-Api-Key header along a redirect: never follow one.
                extra_options={
                    "timeout": aiohttp.ClientTimeout(total=settings.request_timeout),
                    "allow_redirects": False,
                },
            )
        return self._config

    @asynccontextmanager
    async def session(self, method: str | None = None) -> AsyncIterator[AsyncHttpSession]:
        """
        ``HttpAsyncHook.session()``, bound to the event loop's shared aiohttp session.

        :param method: HTTP method of the session's requests; the hook's (GET) by default.
        """
        config = await self.config()
        async with shared_client_session() as client:
            request = self._get_request_func(session=client, method=method)
            yield SingleAttemptHttpSession(hook=self, request=request, config=config, method=method)

    async def get_execution(
        self,
        http: AsyncHttpSession,
        execution_id: str,
        workflow_type: str | None = None,
        *,
        deadline: float | None = None,
    ) -> Execution:
        """
        Read an execution's status through an open session; a 404 reads as ``not_found``.

        :param http: a session from :meth:`session`.
        :param execution_id: the execution to read.
        :param workflow_type: the workflow type if known.
        :param deadline: Unix time past which retries do not wait (a server's ``Retry-After`` included).
        """
        settings = await self.settings()
        endpoint = execution_endpoint(execution_id)
        retries = 0
        while True:
            try:
                response = await http.run(endpoint=endpoint, extra_options={"check_response": False})
                async with response:
                    body, truncated = await read_body_async(response)
                outcome = read_response(
                    response.status,
                    body,
                    response.headers.get("Retry-After"),
                    not_found_ok=True,
                    truncated=truncated,
                )
            except (aiohttp.ClientError, asyncio.TimeoutError) as err:
                outcome = Retry(f"{type(err).__name__} from {settings.base_url}")
            if not isinstance(outcome, Retry):
                return Execution.from_data(outcome, execution_id, workflow_type)
            remaining = None if deadline is None else deadline - time.time()
            try:
                delay = settings.retry.next_delay(retries, outcome.reason, outcome.retry_after, remaining)
            except HeyGenUnavailableError as err:
                raise unavailable_while_reading(execution_id, err) from None
            retries += 1
            self.log.warning("HeyGen GET %s: %s; retry %d in %.1fs", endpoint, outcome.reason, retries, delay)
            await asyncio.sleep(delay)


async def read_body_async(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """
    Read at most ``MAX_RESPONSE_BYTES`` of a response's body (the session's total timeout bounds the time).

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
