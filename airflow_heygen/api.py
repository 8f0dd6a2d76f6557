"""
What the sync and async hooks share: connection settings and the retry policy (how a HeyGen answer
is read: :mod:`airflow_heygen.answers`). Nothing here does I/O, so both hooks behave the same by
construction.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from airflow_heygen.defaults import (
    DEFAULT_CREATE_TIMEOUT,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_RETRY_MAX_DELAY,
    DEFAULT_RETRY_MIN_DELAY,
)
from airflow_heygen.exceptions import (
    HeyGenAuthError,
    HeyGenInputError,
    HeyGenUnavailableError,
)
from airflow_heygen.spend.limits import SpendSettings
from airflow_heygen.transport import Transport

DEFAULT_BASE_URL = "https://api.heygen.com"
API_KEY_ENV_VAR = "HEYGEN_API_KEY"
# Where requests go when no connection names a host: HeyGen's API unless this variable says otherwise.
# Meant for tests and the local emulator (so a key-only set-up can be exercised offline); production
# leaves it unset.
BASE_URL_ENV_VAR = "HEYGEN_API_URL"
API_KEY_HEADER = "X-Api-Key"

# Keys of the connection's extra that belong to us; everything else is left to HttpHook
# (proxies, verify, cert, ...), which would otherwise send unknown keys as request headers.
RETRY_LIMIT_EXTRA = "retry_limit"
RETRY_MIN_DELAY_EXTRA = "retry_min_delay"
RETRY_MAX_DELAY_EXTRA = "retry_max_delay"
REQUEST_TIMEOUT_EXTRA = "request_timeout"
CREATE_TIMEOUT_EXTRA = "create_timeout"
OWN_EXTRA_KEYS = frozenset(
    {
        RETRY_LIMIT_EXTRA,
        RETRY_MIN_DELAY_EXTRA,
        RETRY_MAX_DELAY_EXTRA,
        REQUEST_TIMEOUT_EXTRA,
        CREATE_TIMEOUT_EXTRA,
    }
)
REDACTED = "***"

MAX_ERROR_TEXT = 300
# HeyGen's answers are a few hundred bytes; a body beyond this is a proxy's or a broken server's and is
# not read any further (memory stays bounded whatever comes back).
MAX_RESPONSE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """
    Bounded exponential backoff with jitter for 429, 5xx, timeouts and connection errors.

    :param max_retries: retries after the first attempt; 0 disables retrying.
    :param min_delay: delay before the first retry, in seconds; it doubles with every retry.
    :param max_delay: cap on the backoff delay, in seconds.
    :param max_retry_after: cap on a server's ``Retry-After``, so a worker is never parked for hours.
    """

    max_retries: int = DEFAULT_RETRY_LIMIT
    min_delay: float = DEFAULT_RETRY_MIN_DELAY
    max_delay: float = DEFAULT_RETRY_MAX_DELAY
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER

    def next_delay(
        self, retries_done: int, reason: str, retry_after: float | None, remaining: float | None = None
    ) -> float:
        """
        Seconds to wait before the next attempt.

        :param retries_done: how many retries were made already.
        :param reason: why the last attempt failed, used in the error when the budget is spent.
        :param retry_after: the server's ``Retry-After`` in seconds, honoured when given.
        :param remaining: seconds left until the caller's own deadline, if it has one: no wait goes past
            it (the last attempt is made at the deadline), and none starts after it.
        :raises HeyGenUnavailableError: when no retry is left, or the deadline has passed.
        """
        if retries_done >= self.max_retries:
            raise HeyGenUnavailableError(
                f"HeyGen did not answer after {retries_done + 1} attempt(s): {reason}"
            )
        if remaining is not None and remaining <= 0:
            raise HeyGenUnavailableError(
                f"HeyGen did not answer before the deadline, after {retries_done + 1} attempt(s): {reason}"
            )
        backoff = min(self.max_delay, self.min_delay * 2**retries_done)
        # "Equal jitter": spreads clients that failed together without ever waiting less than half.
        delay = random.uniform(backoff / 2, backoff)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay if remaining is None else min(delay, remaining)


def _number_from_extra(extra: Mapping[str, Any], key: str, default: float, *, minimum: float) -> float:
    value = extra.get(key, default)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise HeyGenInputError(f"connection extra {key}", f"must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise HeyGenInputError(f"connection extra {key}", f"must be a number >= {minimum}, got {value!r}")
    return float(value)


# The one form HEYGEN_API_URL may take, as its errors tell it.
BASE_URL_FORM = "http(s)://host[:port], e.g. http://127.0.0.1:8765 or https://api.heygen.com"


def base_url_from_env(value: str) -> str:
    """
    The base URL that ``HEYGEN_API_URL`` holds, without its trailing slash; raise, naming the variable,
    what is wrong and the form expected, for anything but ``http(s)://host[:port]``: a URL without a
    scheme would otherwise be joined into request URLs nothing can send, and a path or a query would
    silently become part of every endpoint's URL.

    :param value: the variable's value, not empty.
    :raises HeyGenInputError: with ``field="HEYGEN_API_URL"``.
    """
    problem = _base_url_problem(value)
    if problem is not None:
        raise HeyGenInputError(BASE_URL_ENV_VAR, f"{problem}; expected {BASE_URL_FORM}")
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}"


def _base_url_problem(value: str) -> str | None:
    """What keeps ``value`` from being ``http(s)://host[:port]`` (a trailing slash is fine), if anything."""
    shown = repr(value) if len(value) <= 100 else f"{value[:97]!r}..."
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        return f"{shown} contains whitespace or control characters"
    if "://" not in value:
        # "127.0.0.1:8765" or "localhost:8765" (which urlsplit would read as the scheme "localhost").
        return f"{shown} has no scheme (did you mean 'http://{value.rstrip('/')}'?)"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading the port validates it
    except ValueError as err:
        return f"{shown} is not a valid URL ({err})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{shown} has the scheme {parts.scheme!r}, not http or https"
    if not parts.hostname:
        return f"{shown} has no host"
    if parts.username is not None or parts.password is not None:
        # The key travels in a header; credentials in the URL would reach logs and error messages.
        return f"the URL carries a user name or password before its host {parts.hostname!r}"
    if parts.path not in ("", "/"):
        return f"{shown} has a path ({parts.path!r}), but the provider adds the paths (/v1/..., /v3/...)"
    if parts.query or "?" in value:
        return f"{shown} has a query ({'?' + parts.query!r})"
    if parts.fragment or "#" in value:
        return f"{shown} has a fragment ({'#' + parts.fragment!r})"
    return None


def base_url_env_value() -> str | None:
    """The value of ``HEYGEN_API_URL`` without surrounding blanks, or None when it is unset or blank."""
    value = os.environ.get(BASE_URL_ENV_VAR, "").strip()
    return value or None


def default_base_url() -> str:
    """
    HeyGen's API, or the URL in ``HEYGEN_API_URL`` (tests, the emulator), checked.

    :raises HeyGenInputError: when ``HEYGEN_API_URL`` is not of the form ``http(s)://host[:port]``.
    """
    value = base_url_env_value()
    return base_url_from_env(value) if value is not None else DEFAULT_BASE_URL


def default_base_url_origin() -> str:
    """
    Where requests go without a connection's host, and why, for the log: ``http://127.0.0.1:8765
    (from HEYGEN_API_URL)`` or ``HeyGen's public API https://api.heygen.com``.

    :raises HeyGenInputError: when ``HEYGEN_API_URL`` is not of the form ``http(s)://host[:port]``.
    """
    if base_url_env_value() is not None:
        return f"{default_base_url()} (from {BASE_URL_ENV_VAR})"
    return f"HeyGen's public API {DEFAULT_BASE_URL}"


@dataclass(frozen=True)
class ConnectionSettings:
    """
    A HeyGen connection, resolved: where to send requests, with which key, how patiently.

    :param base_url: e.g. ``https://api.heygen.com``.
    :param api_key: the API key; kept out of ``repr``.
    :param retry: the retry policy from the connection's extra.
    :param request_timeout: seconds a single read or delete may take.
    :param transport: proxies and TLS settings.
    :param create_timeout: seconds a single create (any POST: v3 creates, uploads, workflow
        submissions) may take; HeyGen's creates are slow at the tail.
    :param spend: the rate table and balance floor of the connection's extra.
    """

    base_url: str
    api_key: str = field(repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    transport: Transport = field(default_factory=Transport)
    create_timeout: float = DEFAULT_CREATE_TIMEOUT
    spend: SpendSettings = field(default_factory=SpendSettings)

    def timeout_for(self, method: str) -> float:
        """
        Seconds one request of ``method`` may take: :attr:`create_timeout` for a POST (every POST of
        HeyGen's APIs creates something or uploads), :attr:`request_timeout` for reads and deletes.

        :param method: the HTTP method.
        """
        return self.create_timeout if method.upper() == "POST" else self.request_timeout

    @property
    def headers(self) -> dict[str, str]:
        """Headers every request carries."""
        return {API_KEY_HEADER: self.api_key, "Accept": "application/json"}

    def url(self, endpoint: str) -> str:
        """The absolute URL of an API endpoint (``v1/workflows/executions``) on this connection's host."""
        return f"{self.base_url}/{endpoint.lstrip('/')}"

    def scrub(self, text: str) -> str:
        """
        ``text`` with the API key replaced by ``***``: whatever a server, proxy or gateway echoes back
        (some echo request headers) must not carry the key into a log, an exception or a trigger event.

        :param text: any text that may have come from the network.
        """
        return text.replace(self.api_key, REDACTED) if self.api_key else text

    @classmethod
    def from_parts(
        cls,
        conn_id: str,
        *,
        host: str | None,
        schema: str | None,
        port: int | None,
        password: str | None,
        extra: Mapping[str, Any],
    ) -> ConnectionSettings:
        """
        Resolve settings from a connection's fields; the key falls back to ``HEYGEN_API_KEY``.

        :param conn_id: the connection id, named in errors.
        :param host: the connection's host: a full URL or a host name; empty means HeyGen's API.
        :param schema: URL scheme when ``host`` has none (default https).
        :param port: optional port.
        :param password: the API key.
        :param extra: the connection's extra (retry and transport settings).
        """
        api_key = password or os.environ.get(API_KEY_ENV_VAR, "")
        if not api_key.strip():
            raise HeyGenAuthError(
                f"No HeyGen API key: set the API Key (password) of connection {conn_id!r} "
                f"or the {API_KEY_ENV_VAR} environment variable"
            )
        if host and "://" in host:
            base_url = host.rstrip("/")
        elif host:
            base_url = f"{schema or 'https'}://{host.rstrip('/')}"
        else:
            base_url = default_base_url()
        if port:
            base_url = f"{base_url}:{port}"
        retry = RetryPolicy(
            max_retries=int(_number_from_extra(extra, RETRY_LIMIT_EXTRA, DEFAULT_RETRY_LIMIT, minimum=0)),
            min_delay=_number_from_extra(extra, RETRY_MIN_DELAY_EXTRA, DEFAULT_RETRY_MIN_DELAY, minimum=0),
            max_delay=_number_from_extra(extra, RETRY_MAX_DELAY_EXTRA, DEFAULT_RETRY_MAX_DELAY, minimum=0),
        )
        timeout = _number_from_extra(extra, REQUEST_TIMEOUT_EXTRA, DEFAULT_REQUEST_TIMEOUT, minimum=0.001)
        create_timeout = _number_from_extra(
            extra, CREATE_TIMEOUT_EXTRA, DEFAULT_CREATE_TIMEOUT, minimum=0.001
        )
        return cls(
            base_url=base_url,
            api_key=api_key.strip(),
            retry=retry,
            request_timeout=timeout,
            transport=Transport.from_extra(extra),
            create_timeout=create_timeout,
            spend=SpendSettings.from_extra(extra),
        )


@dataclass(frozen=True)
class Retry:
    """
    An attempt that may succeed if repeated.

    :param reason: what went wrong, for logs and the final error.
    :param retry_after: the server's ``Retry-After`` in seconds, if it sent one.
    """

    reason: str
    retry_after: float | None = None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
