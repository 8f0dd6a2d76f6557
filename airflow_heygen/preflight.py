"""
The optional pre-flight check of a job's input URLs (``check_inputs=True``): before a job is paid
for, each http(s) URL in its request gets one bounded HEAD (or, where a server does not do HEAD, a
one-byte ranged GET). A 4xx means HeyGen could not fetch it either: the task fails without retries,
naming the field. Anything else (2xx, 3xx, 5xx, no answer) lets the job go ahead: HeyGen's network is
not this worker's, and a flaky media server is HeyGen's to retry.

No API key is sent: input media live on other hosts than HeyGen's API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from airflow_heygen.exceptions import HeyGenInputError

# Seconds one check may take (connect, and each wait for the socket).
CHECK_TIMEOUT = 10.0
# Keys whose URLs HeyGen calls back rather than fetches: never checked.
NOT_FETCHED = frozenset({"callback_url"})


def input_urls(request: Any, root: str) -> Iterator[tuple[str, str]]:
    """
    Every http(s) URL inside ``request`` with the path of the field that holds it.

    :param request: a workflow's ``input`` or a v3 create body.
    :param root: the name of ``request`` in the paths, e.g. ``input``.
    """
    if isinstance(request, str):
        if request.startswith(("http://", "https://")):
            yield root, request
    elif isinstance(request, Mapping):
        for key, value in request.items():
            if key not in NOT_FETCHED:
                yield from input_urls(value, f"{root}.{key}")
    elif isinstance(request, (list, tuple)):
        for index, value in enumerate(request):
            yield from input_urls(value, f"{root}[{index}]")


def url_status(url: str) -> int | None:
    """
    The HTTP status ``url`` answers a HEAD with (a one-byte GET where HEAD is not allowed), or None
    when it does not answer within :data:`CHECK_TIMEOUT`.

    :param url: an http(s) URL.
    """
    import requests

    try:
        with requests.head(url, timeout=CHECK_TIMEOUT, allow_redirects=True) as response:
            status = response.status_code
        if status in (405, 501):
            headers = {"Range": "bytes=0-0"}
            with requests.get(url, timeout=CHECK_TIMEOUT, headers=headers, stream=True) as response:
                status = response.status_code
    except requests.RequestException:
        return None
    return status


def check_input_urls(request: Any, root: str, *, log: Any) -> None:
    """
    Check every input URL of ``request``; raise for the first that answers 4xx.

    :param request: a workflow's ``input`` or a v3 create body.
    :param root: its name in messages, e.g. ``input``.
    :param log: where to note the URLs that could not be checked.
    :raises HeyGenInputError: naming the field, the URL and its status.
    """
    for path, url in input_urls(request, root):
        status = url_status(url)
        if status is None:
            log.warning("check_inputs: %s (%s) did not answer; submitting anyway", path, url)
        elif 400 <= status < 500:
            raise HeyGenInputError(
                path,
                f"{url} answered HTTP {status}, so HeyGen could not fetch it either; nothing was submitted",
            )
        else:
            log.info("check_inputs: %s answered HTTP %d", path, status)
