"""Where a video may be published: checking a destination, and the URI its Asset is named by."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

from airflow.sdk import ObjectStoragePath

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.validation import require_text

# Protocols under which fsspec / universal-pathlib name the local filesystem.
LOCAL_PROTOCOLS = frozenset({"", "file", "local"})


def shown_url(url: str) -> str:
    """``url`` without user info, query and fragment, for logs and errors: signed CDN URLs carry tokens."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def url_origin(url: str) -> tuple[str, str, int]:
    """The (scheme, host, port) an http(s) URL is served from, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def published_uri(path: ObjectStoragePath) -> str:
    """
    The URI an Asset names a published file by: ``file:///abs/path`` or ``<protocol>://bucket/key``.

    Built from the protocol and the path rather than ``path.as_uri()``, whose form depends on the
    installed universal-pathlib (``memory:///bucket/key`` on some versions, ``memory://bucket/key`` on
    others): an Asset's URI must not change when a worker's packages do. The connection id is never
    part of it.

    :param path: a destination accepted by :func:`resolve_destination`.
    """
    if path.protocol in LOCAL_PROTOCOLS:
        return f"file://{path.path}"
    return f"{path.protocol}://{path.path.lstrip('/')}"


def resolve_destination(value: object, conn_id: str | None = None) -> ObjectStoragePath:
    """
    Check a publishing destination and return it as an ``ObjectStoragePath``.

    A bare absolute path means a local file (``file://``). ``..`` segments are refused, whatever the
    scheme, so that a templated destination cannot escape the folder it was meant for.

    :param value: a URL such as ``file:///data/v.mp4`` or ``s3://bucket/v.mp4``, an absolute path, or an
        ``ObjectStoragePath``.
    :param conn_id: Airflow connection for the storage (e.g. ``aws_default``); overrides one in the URL.
    :raises HeyGenInputError: naming ``destination`` and the problem.
    """
    if isinstance(value, ObjectStoragePath):
        conn_id = conn_id or value.conn_id
        value = str(value)
    text = require_text("destination", value)
    if text != text.strip() or any(ord(ch) < 32 for ch in text):
        raise HeyGenInputError(
            "destination", f"must not have surrounding whitespace or control characters: {text!r}"
        )
    if "?" in text or "#" in text:
        raise HeyGenInputError("destination", f"must not contain '?' or '#': {text!r}")
    if "://" not in text:
        if not text.startswith("/"):
            raise HeyGenInputError(
                "destination",
                "must be an absolute path or a URL such as file:///videos/v.mp4 or s3://bucket/v.mp4, "
                f"got {text!r}",
            )
        text = f"file://{text}"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        raise HeyGenInputError("destination", f"cannot write to an http(s) URL: {shown_url(text)!r}")
    if scheme == "file" and parts.netloc:
        raise HeyGenInputError(
            "destination", f"a file URL takes no host: write file:///absolute/path, got {text!r}"
        )
    segments = [parts.netloc.rpartition("@")[2], *parts.path.split("/")]
    if any(unquote(segment) == ".." for segment in segments):
        raise HeyGenInputError(
            "destination", f"must not contain '..' segments, which would escape its folder: {text!r}"
        )
    if parts.path.endswith("/") or unquote(parts.path.rsplit("/", 1)[-1]) in ("", "."):
        raise HeyGenInputError("destination", f"must name a file, not a folder: {text!r}")
    try:
        path = ObjectStoragePath(text, conn_id=conn_id)
        path.fs  # noqa: B018 - resolving the filesystem is the check
    except (ValueError, ImportError) as err:
        raise HeyGenInputError(
            "destination",
            f"no filesystem for {scheme}:// ({err}); install the Airflow provider that handles it "
            "(e.g. apache-airflow-providers-amazon for s3://)",
        ) from None
    return path


# Errors of a write that no retry changes: no permission, a read-only filesystem, a file where a folder
# must be (or the reverse), a bucket that does not exist.
UNWRITABLE_ERRORS = (PermissionError, NotADirectoryError, IsADirectoryError, FileNotFoundError)
UNWRITABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR})


@contextmanager
def writing_to(path: ObjectStoragePath) -> Iterator[None]:
    """
    Retell an error that says ``path``'s folder cannot be written as a :class:`HeyGenInputError` on
    ``destination``, naming the destination (not the hidden temporary the error was about): no retry
    can fix it, so the task fails at once. Other errors (a full disk, the network) pass unchanged.

    :param path: the destination being published to.
    """
    try:
        yield
    except OSError as err:
        if not isinstance(err, UNWRITABLE_ERRORS) and err.errno not in UNWRITABLE_ERRNOS:
            raise
        reason = err.strerror or str(err) or type(err).__name__
        raise HeyGenInputError(
            "destination", f"{published_uri(path)} cannot be written ({type(err).__name__}: {reason})"
        ) from None


def already_exists(path: ObjectStoragePath) -> HeyGenInputError:
    """The error for a destination that exists while ``overwrite`` is off."""
    return HeyGenInputError(
        "destination", f"{published_uri(path)} already exists; set overwrite=True to replace it"
    )
