"""How videos are fetched: the HeyGen connection's retries and timeouts, and where its key may go."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from airflow_heygen.api import API_KEY_HEADER, ConnectionSettings, RetryPolicy
from airflow_heygen.exceptions import HeyGenAuthError
from airflow_heygen.publishing.destination import url_origin

log = logging.getLogger(__name__)

# Bytes read, written and hashed at a time; PIPELINE_DEPTH (3) of them are in flight. Against 1 MiB,
# 2 MiB saves ~5% CPU (fewer thread hand-offs); 4 MiB saves little more and would double the buffers.
CHUNK_SIZE = 2 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class DownloadSettings:
    """
    How videos are fetched: retries, timeouts, and to which origin (if any) the API key may go.

    :param api_origin: (scheme, host, port) of the HeyGen connection's base URL; only URLs served from
        it get the key. HeyGen's video URLs are public CDN links, so normally no request carries it.
    :param api_key: the connection's key; kept out of ``repr``.
    :param retry: bounded backoff for connection errors, timeouts, 408, 429 and 5xx.
    :param timeout: seconds to connect, and seconds the stream may stay silent.
    :param chunk_size: bytes read and written at a time; memory use does not grow beyond a few of them.
    """

    api_origin: tuple[str, str, int] | None = None
    api_key: str | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = DEFAULT_TIMEOUT
    chunk_size: int = CHUNK_SIZE

    @classmethod
    def from_connection(cls, settings: ConnectionSettings | None) -> DownloadSettings:
        """
        Settings from a resolved HeyGen connection; defaults (and no key) without one.

        :param settings: the connection's settings, or None when it has no key.
        """
        if settings is None:
            return cls()
        return cls(
            api_origin=url_origin(settings.base_url),
            api_key=settings.api_key,
            retry=settings.retry,
            timeout=settings.request_timeout,
        )

    @classmethod
    def for_connection(cls, heygen_conn_id: str) -> DownloadSettings:
        """
        Settings from the HeyGen connection ``heygen_conn_id``, resolved as ``HeyGenHook.settings`` does.

        The connection is read with ``BaseHook.get_connection`` and the hooks' shared
        :func:`~airflow_heygen.hooks.common.resolve_settings`, not through ``HeyGenHook``, whose module
        imports aiohttp and the HTTP provider: about 0.4 s a publish would spend on imports it never
        uses. A connection without any key is fine: video URLs are public, so they are fetched without one.

        :param heygen_conn_id: id of the HeyGen connection.
        """
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        from airflow_heygen.hooks.common import mask_key, resolve_settings

        try:
            conn = BaseHook.get_connection(heygen_conn_id)
        except AirflowNotFoundException:
            log.info("No connection %r; the key may come from the environment", heygen_conn_id)
            conn = None
        try:
            settings = resolve_settings(heygen_conn_id, conn)
        except HeyGenAuthError:
            log.info("No HeyGen API key for %r; videos are fetched without one", heygen_conn_id)
            return cls()
        return cls.from_connection(mask_key(settings))

    def key_headers(self, url: str) -> dict[str, str]:
        """The API key header if ``url`` is served from the connection's own origin, else nothing."""
        if self.api_key and self.api_origin is not None and url_origin(url) == self.api_origin:
            return {API_KEY_HEADER: self.api_key}
        return {}
