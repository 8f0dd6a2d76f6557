"""Hooks for HeyGen's APIs: a sync one for workers (here) and an async one for triggers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.exceptions import AirflowNotFoundException
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from airflow_heygen.answers import read_response, workflows_api_gone, workflows_api_retired_error
from airflow_heygen.api import MAX_RESPONSE_BYTES, ConnectionSettings, Retry
from airflow_heygen.exceptions import HeyGenError, HeyGenInputError, HeyGenNoAnswerError
from airflow_heygen.get_provider_info import CONNECTION_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_heygen.hooks.batches import HeyGenBatchesMixin
from airflow_heygen.hooks.common import (
    StatusChangeLog,
    log_where_requests_go,
    mask_key,
    note_deprecation,
    resolve_settings,
    tls_error,
)
from airflow_heygen.hooks.heygen_async import HeyGenAsyncHook, shared_client_session
from airflow_heygen.hooks.jobs import HeyGenJobsMixin, in_progress, raise_for_job, timeout_message

# Earlier releases' names of the one job model's error helpers.
raise_for_outcome = raise_for_job

if TYPE_CHECKING:
    from airflow.sdk import Connection

__all__ = [
    "HeyGenAsyncHook",
    "HeyGenHook",
    "StatusChangeLog",
    "raise_for_outcome",
    "shared_client_session",
    "timeout_message",
]


class HeyGenHook(HeyGenJobsMixin, HeyGenBatchesMixin, HttpHook):
    """
    Talk to HeyGen: create, read, wait for and delete jobs of every kind (v3 jobs and workflows
    executions alike, :mod:`airflow_heygen.kinds`), upload assets, read the account.

    Built on the HTTP provider's ``HttpHook`` (its connection lookup and TCP keep-alive adapter). The
    API key is the connection's password (the "API Key" field of the form); without a connection of
    this id, it comes from ``HEYGEN_API_KEY`` and the host is ``https://api.heygen.com``. The extra's
    ``proxies``, ``verify``, ``cert`` and ``trust_env`` apply as in ``requests``, and identically in
    :class:`HeyGenAsyncHook`. 429, 5xx, timeouts and connection errors are retried with the connection's
    backoff (``retry_limit``, ``retry_min_delay``, ``retry_max_delay``), honouring ``Retry-After``; a
    create (POST) may take ``create_timeout`` seconds, a read or delete ``request_timeout``.

    A submission is never repeated once it may have reached HeyGen without an answer (a read timeout,
    a dropped connection, a 2xx that could not be read, a 504): :class:`HeyGenNoAnswerError`.

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
            return None

    @cached_property
    def settings(self) -> ConnectionSettings:
        """
        The resolved connection settings; the key is registered with the secrets masker, and where
        requests go (and why) is logged, once per hook.
        """
        settings = mask_key(resolve_settings(self.heygen_conn_id, self.connection))
        log_where_requests_go(self.log, self.heygen_conn_id, self.connection, settings)
        return settings

    def url_from_endpoint(self, endpoint: str | None) -> str:
        """The endpoint's URL on the resolved connection's host (with or without a connection)."""
        return self.settings.url(endpoint or "")

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """A ``requests`` session with the key, the extra's proxies and TLS settings, and keep-alive."""
        settings = self.settings
        self.base_url = settings.base_url
        transport = settings.transport
        session = requests.Session()
        session.proxies.update(dict(transport.proxies))
        session.verify = transport.verify
        session.cert = transport.cert
        session.trust_env = transport.trust_env
        adapter = self.adapter or self.keep_alive_adapter
        if adapter is not None:
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        session.headers.update(settings.headers)
        if headers:
            session.headers.update(headers)
        return session

    @cached_property
    def session(self) -> requests.Session:
        """One session per hook, so polls reuse the TCP connection; :meth:`close` ends it."""
        return self.get_conn()

    def close(self) -> None:
        """Close the session (and its pooled connections), if one was opened."""
        session = self.__dict__.pop("session", None)
        if session is not None:
            session.close()

    def _exchange(self, request: requests.PreparedRequest, timeout: float) -> requests.Response:
        """
        Send one request through the session's transport and return the response, its body still unread.

        ``Session.send`` is bypassed on purpose: it follows redirects (carrying the X-Api-Key header to any
        host), and even when told not to it reads a redirect's whole body without any overall time limit.
        Proxies and TLS settings are merged with the environment's exactly as ``Session.send`` would.

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

    def _attempt(
        self, request: requests.Request, endpoint: str, *, not_found_ok: bool, repeatable: bool
    ) -> Mapping[str, Any] | Retry:
        """
        One try of a request (v3 or workflows): its ``data``, or :class:`Retry`.

        :param request: the request.
        :param endpoint: its path below the base URL, for the log and to tell a retired API.
        :param not_found_ok: whether a 404 reads as ``{"status": "not_found"}``.
        :param repeatable: whether sending it again is safe (reads, deletes, creates with a key); a
            create without a key that may have been accepted raises :class:`HeyGenNoAnswerError`.
        :raises HeyGenApiRetiredError: when HeyGen's workflows API is not served at the host.
        """
        settings = self.settings
        method = request.method or "GET"
        # Creates are slow at HeyGen's tail (about 30 s at p99): create_timeout; reads request_timeout.
        timeout = settings.timeout_for(method)
        try:
            answer_by = time.monotonic() + timeout
            response = self._exchange(self.session.prepare_request(request), timeout)
            body, truncated = read_body(response, answer_by)
        except requests.exceptions.SSLError as err:
            raise tls_error(settings, err) from None
        except (requests.ConnectionError, requests.Timeout) as err:
            if not repeatable and not _never_connected(err):
                raise HeyGenNoAnswerError(
                    f"Submitting to HeyGen at {settings.base_url} got no answer ({type(err).__name__}); "
                    "HeyGen may have accepted it, so it is not repeated automatically"
                ) from None
            return Retry(f"{type(err).__name__} from {settings.base_url}")
        note_deprecation(
            self.log,
            settings,
            method,
            endpoint,
            response.headers.get("Deprecation"),
            response.headers.get("Sunset"),
        )
        if workflows_api_gone(method, endpoint, response.status_code):
            raise workflows_api_retired_error(
                settings.base_url, method, response.status_code, body, settings.api_key
            )
        retry_after = response.headers.get("Retry-After")
        waiting = in_progress(response.status_code, body, retry_after)
        if waiting is not None:
            return waiting
        outcome = read_response(
            response.status_code,
            body,
            retry_after,
            not_found_ok=not_found_ok,
            truncated=truncated,
            secret=settings.api_key,
        )
        if not repeatable and isinstance(outcome, Retry) and _may_have_accepted(response.status_code):
            raise HeyGenNoAnswerError(
                f"Submitting to HeyGen at {settings.base_url}: {outcome.reason}. HeyGen may have "
                "accepted it, so it is not repeated automatically"
            )
        return outcome

    def test_connection(self) -> tuple[bool, str]:
        """Check the URL and key with ``GET /v3/users/me`` (free, no side effect); report the balance."""
        try:
            return True, self.account_summary()
        except (HeyGenError, HeyGenInputError) as err:
            # HeyGenInputError: a malformed HEYGEN_API_URL; its message says what is wrong.
            return False, str(err)
        except Exception as err:
            return False, self.settings.scrub(f"{type(err).__name__}: {err}")
        finally:
            self.close()


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
