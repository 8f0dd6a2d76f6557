"""How requests reach HeyGen: proxies and TLS settings from a connection's extra, for both hooks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_heygen.exceptions import HeyGenInputError


@dataclass(frozen=True)
class Transport:
    """
    How requests reach HeyGen: the HTTP provider's transport extras, read once for both hooks.

    :param proxies: ``requests``-style proxies by scheme (``{"https": "http://proxy:3128"}``), plus an
        optional ``no_proxy`` entry.
    :param verify: verify TLS certificates (True), don't (False), or the path of a CA bundle.
    :param cert: a client certificate: a PEM path, or ``(cert path, key path)``.
    :param trust_env: also honour ``HTTP(S)_PROXY``/``NO_PROXY`` and ``REQUESTS_CA_BUNDLE`` from the
        environment, as ``requests`` does.
    """

    proxies: tuple[tuple[str, str], ...] = ()
    verify: bool | str = True
    cert: str | tuple[str, str] | None = None
    trust_env: bool = True

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> Transport:
        """
        Read (and check) the transport keys of a connection's extra.

        :param extra: the connection's extra.
        :raises HeyGenInputError: naming the key whose value cannot work.
        """
        proxies = extra.get("proxies") or {}
        if not isinstance(proxies, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in proxies.items()
        ):
            raise HeyGenInputError(
                "connection extra proxies", f"must map schemes to proxy URLs, got {proxies!r}"
            )
        verify = extra.get("verify", True)
        if isinstance(verify, str) and verify.strip().lower() in ("true", "false"):
            verify = verify.strip().lower() == "true"
        if not isinstance(verify, (bool, str)) or verify == "":
            raise HeyGenInputError(
                "connection extra verify", f"must be true, false or a CA bundle path, got {verify!r}"
            )
        cert = extra.get("cert")
        if isinstance(cert, list):
            cert = tuple(cert)
        if cert is not None and not (
            isinstance(cert, str)
            or (isinstance(cert, tuple) and len(cert) == 2 and all(isinstance(p, str) for p in cert))
        ):
            raise HeyGenInputError(
                "connection extra cert", f"must be a PEM path or [cert path, key path], got {cert!r}"
            )
        trust_env = extra.get("trust_env", True)
        if isinstance(trust_env, str):
            trust_env = trust_env.strip().lower() not in ("false", "0", "no")
        return cls(
            proxies=tuple(sorted(proxies.items())), verify=verify, cert=cert, trust_env=bool(trust_env)
        )

    def proxy_for(self, url: str) -> str | None:
        """
        The proxy a request to ``url`` goes through, chosen exactly as ``requests`` chooses it: the
        extra's proxies first, then (with ``trust_env``) the environment's unless ``NO_PROXY`` covers
        the host.

        :param url: the request's URL.
        """
        from requests.utils import get_environ_proxies, select_proxy

        proxies = dict(self.proxies)
        if self.trust_env:
            for scheme, proxy in get_environ_proxies(url, no_proxy=proxies.get("no_proxy")).items():
                proxies.setdefault(scheme, proxy)
        return select_proxy(url, proxies)

    def ca_bundle(self) -> str | None:
        """
        The CA bundle that verifies servers, as ``requests`` picks it; None when not verifying.

        A path in ``verify`` wins; with ``verify=True`` the environment's ``REQUESTS_CA_BUNDLE`` or
        ``CURL_CA_BUNDLE`` (with ``trust_env``), else certifi's bundle, the one ``requests`` ships with.
        """
        if self.verify is False:
            return None
        if isinstance(self.verify, str):
            return self.verify
        if self.trust_env:
            from_env = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if from_env:
                return from_env
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        return str(DEFAULT_CA_BUNDLE_PATH)
