"""
Publishing a finished video: stream it from its URL into object storage, verify it, land it atomically.

Used by :class:`~airflow_heygen.operators.heygen.HeyGenPublishVideoOperator` when its task runs; it imports
``requests`` (and PyAV for previews), which parsing a DAG must not pay for.

The steps each have one class: :class:`PublishRequest` checks the arguments, :class:`VideoDownloader`
streams the bytes (redirects, retries, resuming), :class:`HashingSink` counts and hashes what it writes,
:class:`StagedFile` turns a temporary object into the destination in one step, :class:`PreviewRenderer`
makes the PNG and :class:`VideoPublisher` puts them together. :class:`PublishRecord` remembers, across
the tries of one task instance, what a try is about to land, so that a retry finds its own files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.util import find_spec
from types import TracebackType
from typing import IO, Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
from airflow.sdk import ObjectStoragePath
from fsspec.implementations.local import LocalFileSystem

from airflow_heygen.api import API_KEY_HEADER, ConnectionSettings, Retry, RetryPolicy, parse_retry_after
from airflow_heygen.exceptions import (
    HeyGenAuthError,
    HeyGenError,
    HeyGenInputError,
    HeyGenRequestError,
    HeyGenUnavailableError,
)
from airflow_heygen.validation import require_http_url, require_text

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
MAX_REDIRECTS = 10
PREVIEW_SUFFIX = ".png"
DEFAULT_TIMEOUT = 30.0
# Besides 5xx, the statuses that say "try again later"; other 4xx answers (but 416) are final.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})
# What a dropped or truncated transfer raises; ChunkedEncodingError is what requests turns urllib3's
# "IncompleteRead" (fewer bytes than Content-Length) into.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


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


def destination_uri(path: ObjectStoragePath) -> str:
    """The destination's URI as an Asset names it: no connection id, local paths as ``file://``."""
    return path.as_uri()


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
        Settings from the HeyGen connection ``heygen_conn_id``, resolved as :class:`HeyGenHook` does.

        A connection without any key is fine here: video URLs are public, so they are fetched without one.

        :param heygen_conn_id: id of the HeyGen connection.
        """
        from airflow_heygen.hooks.heygen import HeyGenHook

        try:
            return cls.from_connection(HeyGenHook(heygen_conn_id=heygen_conn_id).settings)
        except HeyGenAuthError:
            log.info("No HeyGen API key for %r; videos are fetched without one", heygen_conn_id)
            return cls()

    def key_headers(self, url: str) -> dict[str, str]:
        """The API key header if ``url`` is served from the connection's own origin, else nothing."""
        if self.api_key and self.api_origin is not None and url_origin(url) == self.api_origin:
            return {API_KEY_HEADER: self.api_key}
        return {}


class StagedFile:
    """
    A temporary object beside ``final`` that becomes ``final`` in one step, or disappears.

    The temporary name is hidden (``.<name>.<random>.part``) so that folder watchers matching the
    final name never see a partial file. On a local filesystem landing is a hard link (fails if
    ``final`` appeared meanwhile) or an atomic rename; on object stores, which have no rename, it is
    the store's move (copy then delete), whose copy appears at once and whole.

    :param final: where the content is meant to end up.
    """

    def __init__(self, final: ObjectStoragePath) -> None:
        self.final = final
        self.fs = final.fs
        self.temp_path = f"{final.parent.path.rstrip('/')}/.{final.name}.{uuid.uuid4().hex[:12]}.part"
        self.landed = False

    @property
    def is_local(self) -> bool:
        """Whether the destination is on this machine's filesystem."""
        return isinstance(self.fs, LocalFileSystem)

    def open(self) -> IO[bytes]:
        """Open the temporary object for writing, from its start."""
        if self.is_local:
            os.makedirs(os.path.dirname(self.temp_path), exist_ok=True)
        stream: IO[bytes] = self.fs.open(self.temp_path, "wb")
        return stream

    def open_for_reading(self) -> IO[bytes]:
        """Open the temporary object's content for reading, e.g. to render a preview of it."""
        stream: IO[bytes] = self.fs.open(self.temp_path, "rb")
        return stream

    def write(self, content: bytes) -> None:
        """Stage a small content in one go."""
        with self.open() as stream:
            stream.write(content)

    def land(self, overwrite: bool) -> None:
        """
        Give the staged content its final name.

        :param overwrite: replace an existing ``final``; without it an existing one is an error.
        :raises HeyGenInputError: when ``final`` exists and ``overwrite`` is off.
        """
        final_path = self.final.path
        if self.is_local:
            if overwrite:
                os.replace(self.temp_path, final_path)
            else:
                try:
                    # A hard link, unlike a rename, refuses to replace a file that appeared meanwhile.
                    os.link(self.temp_path, final_path)
                except FileExistsError:
                    raise already_exists(self.final) from None
                except OSError:
                    # Some filesystems (FAT, SMB, some FUSE mounts) have no hard links.
                    if os.path.exists(final_path):
                        raise already_exists(self.final) from None
                    os.rename(self.temp_path, final_path)
                else:
                    os.unlink(self.temp_path)
        else:
            if not overwrite and self.fs.exists(final_path):
                raise already_exists(self.final)
            self.fs.mv(self.temp_path, final_path)
        self.landed = True

    def retract(self) -> None:
        """Remove ``final`` again if this object put it there, undoing a landing whose partner failed."""
        if self.landed:
            self.fs.rm(self.final.path)
            self.landed = False

    def discard(self) -> None:
        """Remove the temporary object if it is still there; safe to call at any time."""
        try:
            if self.fs.exists(self.temp_path):
                self.fs.rm(self.temp_path)
        except OSError as err:
            log.warning("Could not remove the temporary %s: %s", self.temp_path, err)


def already_exists(path: ObjectStoragePath) -> HeyGenInputError:
    """The error for a destination that exists while ``overwrite`` is off."""
    return HeyGenInputError(
        "destination", f"{destination_uri(path)} already exists; set overwrite=True to replace it"
    )


class HashingSink:
    """
    Writes a download into a :class:`StagedFile`, counting the bytes and hashing them with sha256.

    :param staged: where the bytes go.
    """

    def __init__(self, staged: StagedFile) -> None:
        self.staged = staged
        self.size = 0
        self._hash = hashlib.sha256()
        self._stream = staged.open()

    @property
    def sha256(self) -> str:
        """Hex sha256 of everything written since the last restart."""
        return self._hash.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        self._stream.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def restart(self) -> None:
        """Throw away what was written, for a download that has to start over."""
        self._stream.close()
        self._stream = self.staged.open()
        self._hash = hashlib.sha256()
        self.size = 0

    def close(self) -> None:
        """Flush and close; for object stores this is when the upload completes."""
        self._stream.close()

    def __enter__(self) -> HashingSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class IncompleteDownload(Exception):
    """A transfer that ended early or did not line up; retried like a dropped connection."""


@dataclass
class TransferState:
    """
    What one download learnt across its attempts, so that a retry can resume instead of starting over.

    :param total: the full size, from Content-Length or Content-Range; None when the server did not say.
    :param validator: the strong ETag or Last-Modified, sent as If-Range so a changed file is not spliced.
    :param resumable: whether the server announced ``Accept-Ranges: bytes``.
    """

    total: int | None = None
    validator: str | None = None
    resumable: bool = False


class VideoDownloader:
    """
    Streams a video from an http(s) URL into a :class:`HashingSink`.

    Redirects are followed by hand (at most ``MAX_REDIRECTS``) so that every hop is checked: a hop to
    another scheme is refused, and the API key is only sent to hops on the connection's own origin
    (``requests`` would carry a custom header such as ``X-Api-Key`` to any host). Connection errors,
    truncated bodies, 408, 429 and 5xx are retried with the connection's backoff; an interrupted
    transfer resumes with a ``Range`` request when the server supports it, else starts over.

    :param settings: retries, timeouts and the key's origin.
    """

    def __init__(self, settings: DownloadSettings) -> None:
        self.settings = settings
        self.session = requests.Session()

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> VideoDownloader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def download(self, url: str, sink: HashingSink) -> None:
        """
        Fetch ``url`` into ``sink``; on return, ``sink`` holds exactly the announced number of bytes.

        :param url: an absolute http(s) URL, already checked.
        :param sink: where the bytes go.
        :raises HeyGenInputError: when a redirect leads to a non-http(s) URL.
        :raises HeyGenRequestError: on a final HTTP error (e.g. 404, 403) or too many redirects.
        :raises HeyGenUnavailableError: when transient failures outlast the retry budget.
        """
        state = TransferState()
        retries = 0
        while True:
            try:
                outcome = self._attempt(url, sink, state)
                if outcome is None:
                    return
            except TRANSIENT_ERRORS as err:
                outcome = Retry(f"the connection failed or closed early ({type(err).__name__})")
            except IncompleteDownload as err:
                outcome = Retry(str(err))
            policy = self.settings.retry
            if retries >= policy.max_retries:
                raise HeyGenUnavailableError(
                    f"Could not download video_url {shown_url(url)} after {retries + 1} attempt(s): "
                    f"{outcome.reason}"
                )
            delay = policy.next_delay(retries, outcome.reason, outcome.retry_after)
            retries += 1
            log.warning(
                "Downloading %s: %s after %d bytes; retry %d in %.1fs",
                shown_url(url),
                outcome.reason,
                sink.size,
                retries,
                delay,
            )
            time.sleep(delay)

    def _attempt(self, url: str, sink: HashingSink, state: TransferState) -> Retry | None:
        """One attempt: None when the video is complete, a :class:`Retry` for a retryable answer."""
        if sink.size and not (state.resumable and state.total is not None):
            sink.restart()
        start = sink.size
        with self._get(url, start, state.validator) as response:
            status = response.status_code
            if status >= 500 or status in RETRYABLE_CLIENT_STATUSES:
                return Retry(f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After")))
            if status == 416:
                sink.restart()
                raise IncompleteDownload("HTTP 416: the server could not serve the rest of the video")
            if not 200 <= status < 300:
                raise HeyGenRequestError(f"video_url {shown_url(url)} answered HTTP {status}")
            if start and status == 206:
                if content_range_start(response) != (start, state.total):
                    sink.restart()
                    raise IncompleteDownload("the server answered a range other than the one asked for")
                log.info("Resuming %s at byte %d", shown_url(url), start)
            else:
                if start:
                    log.info("%s ignored the range request; starting over", shown_url(url))
                    sink.restart()
                state.total = expected_length(response)
                state.validator = range_validator(response)
                state.resumable = response.headers.get("Accept-Ranges", "").lower() == "bytes"
            for chunk in response.iter_content(self.settings.chunk_size):
                sink.write(chunk)
        if state.total is not None and sink.size != state.total:
            raise IncompleteDownload(f"received {sink.size} bytes of the {state.total} announced")
        return None

    def _get(self, url: str, start: int, validator: str | None) -> requests.Response:
        """GET ``url`` (from byte ``start``), following http(s) redirects; the first other response."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Accept-Encoding": "identity", **self.settings.key_headers(current)}
            if start:
                headers["Range"] = f"bytes={start}-"
                if validator:
                    headers["If-Range"] = validator
            response = self.session.get(
                current,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(self.settings.timeout, self.settings.timeout),
            )
            if response.is_redirect:
                target = urljoin(current, response.headers["Location"])
                response.close()
                try:
                    require_http_url("video_url", target)
                except HeyGenInputError:
                    raise HeyGenInputError(
                        "video_url",
                        f"{shown_url(url)} redirected to {shown_url(target)!r}; "
                        "only http(s) redirects are followed",
                    ) from None
                current = target
                continue
            return response
        raise HeyGenRequestError(f"video_url {shown_url(url)} redirected more than {MAX_REDIRECTS} times")


def expected_length(response: requests.Response) -> int | None:
    """The body's size from Content-Length, or None when absent or when the body arrives compressed."""
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def range_validator(response: requests.Response) -> str | None:
    """What to send as If-Range: a strong ETag, else Last-Modified, else None."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def content_range_start(response: requests.Response) -> tuple[int, int] | None:
    """(first byte, full size) of a 206 answer's ``Content-Range: bytes a-b/size``; None if unreadable."""
    value = response.headers.get("Content-Range", "")
    unit, _, rest = value.partition(" ")
    span, _, total = rest.partition("/")
    first = span.partition("-")[0]
    if unit.lower() != "bytes" or not first.isdigit() or not total.isdigit():
        return None
    return int(first), int(total)


class PreviewRenderer:
    """Renders one frame of a video, from the middle, as PNG bytes; PyAV is imported only here."""

    @staticmethod
    def require_decoder() -> None:
        """
        Fail early, before any download, when PyAV is not installed.

        :raises HeyGenInputError: naming ``preview``.
        """
        if find_spec("av") is None:
            raise HeyGenInputError(
                "preview", "needs PyAV to decode the video: pip install 'airflow-heygen[emulator]' (or 'av')"
            )

    def render(self, video: IO[bytes]) -> bytes:
        """
        The PNG of the frame shown halfway through ``video``.

        :param video: the video's content, readable and seekable.
        :raises HeyGenError: when the content has no decodable video frame.
        """
        import av

        try:
            with av.open(video, mode="r") as container:
                if not container.streams.video:
                    raise HeyGenError("preview: the published file has no video stream")
                stream = container.streams.video[0]
                frame = self._middle_frame(container, stream)
                return self._encode_png(av, frame)
        except (av.error.FFmpegError, UnicodeDecodeError) as err:
            raise HeyGenError(f"preview: could not decode the published video ({err})") from None

    @staticmethod
    def _middle_frame(container: Any, stream: Any) -> Any:
        """The first frame at or after half the duration, or the last frame of a shorter video."""
        halfway = 0.0
        if container.duration:
            halfway = container.duration / 1_000_000 / 2
            container.seek(int(halfway / stream.time_base), stream=stream, backward=True, any_frame=False)
        last = None
        for frame in container.decode(stream):
            last = frame
            if frame.time is None or frame.time >= halfway:
                break
        if last is None:
            raise HeyGenError("preview: the published video has no frame")
        return last

    @staticmethod
    def _encode_png(av: Any, frame: Any) -> bytes:
        encoder = av.CodecContext.create("png", "w")
        encoder.width, encoder.height, encoder.pix_fmt = frame.width, frame.height, "rgb24"
        packets = [*encoder.encode(frame.reformat(format="rgb24")), *encoder.encode(None)]
        return b"".join(bytes(packet) for packet in packets)


@dataclass(frozen=True)
class PublishRequest:
    """
    A checked publishing request.

    :param video_url: absolute http(s) URL of the finished video.
    :param destination: where the video goes.
    :param preview: where its PNG preview goes, or None for no preview.
    :param overwrite: replace existing files at ``destination`` / ``preview``.
    """

    video_url: str
    destination: ObjectStoragePath
    preview: ObjectStoragePath | None
    overwrite: bool

    @classmethod
    def checked(
        cls,
        *,
        video_url: object,
        destination: object,
        destination_conn_id: str | None = None,
        overwrite: bool = False,
        preview: bool = False,
    ) -> PublishRequest:
        """
        Check every argument, without any I/O beyond resolving the storage's filesystem.

        :param video_url: must be an absolute http(s) URL.
        :param destination: see :func:`resolve_destination`.
        :param destination_conn_id: Airflow connection for the storage.
        :param overwrite: replace existing files.
        :param preview: also write ``<destination stem>.png``.
        :raises HeyGenInputError: naming the field and the problem.
        """
        url = require_http_url("video_url", video_url)
        path = resolve_destination(destination, destination_conn_id)
        preview_path = None
        if preview:
            if path.suffix.lower() == PREVIEW_SUFFIX:
                raise HeyGenInputError(
                    "preview",
                    f"the destination ends in {PREVIEW_SUFFIX}, which is where the preview would go",
                )
            PreviewRenderer.require_decoder()
            preview_path = path.with_suffix(PREVIEW_SUFFIX)
        return cls(video_url=url, destination=path, preview=preview_path, overwrite=bool(overwrite))


@dataclass(frozen=True)
class PublishResult:
    """
    A published video.

    :param uri: the destination's URI.
    :param size: its size in bytes.
    :param sha256: hex sha256 of its content.
    :param preview_uri: the PNG preview's URI, when one was made.
    """

    uri: str
    size: int
    sha256: str
    preview_uri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"uri", "bytes", "sha256"}``, plus ``"preview_uri"`` when a preview was made."""
        result: dict[str, Any] = {"uri": self.uri, "bytes": self.size, "sha256": self.sha256}
        if self.preview_uri is not None:
            result["preview_uri"] = self.preview_uri
        return result


@dataclass(frozen=True)
class FileDigest:
    """
    The size and sha256 of one file's content.

    :param size: bytes.
    :param sha256: hex digest.
    """

    size: int
    sha256: str

    @classmethod
    def of_bytes(cls, content: bytes) -> FileDigest:
        """
        The digest of ``content``.

        :param content: the bytes.
        """
        return cls(len(content), hashlib.sha256(content).hexdigest())

    def matches(self, path: ObjectStoragePath) -> bool:
        """
        Whether ``path`` exists with exactly this content (its size is compared first, then its hash).

        :param path: the file to check.
        """
        fs, name = path.fs, path.path
        if not fs.exists(name) or fs.size(name) != self.size:
            return False
        digest = hashlib.sha256()
        with fs.open(name, "rb") as stream:
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
        return digest.hexdigest() == self.sha256


# Called with what is about to land (the result and each file's digest, by role) before anything lands.
StagedCallback = Callable[["PublishResult", Mapping[str, FileDigest]], None]


class VideoPublisher:
    """
    Downloads a video into a staged object beside its destination, renders the preview from it, then
    lands both; on any failure nothing new is left at the destination and no temporary remains.

    :param downloader: fetches the video.
    :param renderer: makes previews.
    """

    def __init__(self, downloader: VideoDownloader, renderer: PreviewRenderer | None = None) -> None:
        self.downloader = downloader
        self.renderer = renderer or PreviewRenderer()

    def publish(self, request: PublishRequest, on_staged: StagedCallback | None = None) -> PublishResult:
        """
        Publish ``request.video_url`` to ``request.destination``.

        :param request: a checked request.
        :param on_staged: called once everything is downloaded, verified and staged, right before the
            files land, with the result and the digests of the files by role (``video``, ``preview``).
        :raises HeyGenInputError: when a destination exists and ``overwrite`` is off (before downloading).
        """
        targets = [request.destination, *([request.preview] if request.preview else [])]
        if not request.overwrite:
            for target in targets:
                if target.fs.exists(target.path):
                    raise already_exists(target)
        log.info("Publishing %s to %s", shown_url(request.video_url), destination_uri(request.destination))
        video = StagedFile(request.destination)
        preview = StagedFile(request.preview) if request.preview else None
        try:
            with HashingSink(video) as sink:
                self.downloader.download(request.video_url, sink)
            result = PublishResult(
                uri=destination_uri(request.destination),
                size=sink.size,
                sha256=sink.sha256,
                preview_uri=destination_uri(request.preview) if request.preview else None,
            )
            digests = {"video": FileDigest(sink.size, sink.sha256)}
            if preview is not None:
                with video.open_for_reading() as content:
                    png = self.renderer.render(content)
                preview.write(png)
                digests["preview"] = FileDigest.of_bytes(png)
            if on_staged is not None:
                on_staged(result, digests)
            if preview is not None:
                preview.land(request.overwrite)
            try:
                video.land(request.overwrite)
            except BaseException:
                if preview is not None:
                    preview.retract()
                raise
        finally:
            video.discard()
            if preview is not None:
                preview.discard()
        log.info("Published %d bytes (sha256 %s) to %s", result.size, result.sha256, result.uri)
        return result


class PublishRecord:
    """
    Remembers, in ``task_state_store``, what a try of a publishing task instance is about to land, so
    that a later try of the same task instance recognises its own files.

    A try that died after landing (or in the middle of it) would otherwise fail its retry with "already
    exists". The record is written before anything lands; a retry that finds every file in place with the
    recorded size and sha256 returns the recorded result without downloading again, and one that finds
    only some removes those (they are its own, byte for byte) and publishes afresh. Files that differ
    from the record are never touched. The record is keyed by the request (video URL, destination and
    preview), so a task whose arguments changed starts from scratch, and it stays after success, so
    clearing a task that published the same video to the same place succeeds without copying it again.

    :param store: the task's ``task_state_store`` (Airflow 3.3+), or None to remember nothing.
    :param request: the checked request of this try.
    """

    KEY = "heygen_published"

    def __init__(self, store: Any | None, request: PublishRequest) -> None:
        self.store = store
        self.paths = {
            "video": request.destination,
            **({"preview": request.preview} if request.preview else {}),
        }
        identity = {role: destination_uri(path) for role, path in self.paths.items()}
        identity["video_url"] = request.video_url
        self.fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]

    def save(self, result: PublishResult, digests: Mapping[str, FileDigest]) -> None:
        """
        Remember what is about to land; a :data:`StagedCallback` for :meth:`VideoPublisher.publish`.

        :param result: the result the landing will produce.
        :param digests: each file's digest, by role.
        """
        if self.store is None:
            return
        files = {role: {"bytes": digest.size, "sha256": digest.sha256} for role, digest in digests.items()}
        self.store.set(
            self.KEY, {"fingerprint": self.fingerprint, "result": result.to_dict(), "files": files}
        )

    def reclaim(self) -> dict[str, Any] | None:
        """
        The result of an earlier try of this task instance whose files are all in place; otherwise remove
        the files an earlier try landed before it died (those matching its record) and return None.
        """
        saved = self.store.get(self.KEY) if self.store is not None else None
        if not isinstance(saved, Mapping) or saved.get("fingerprint") != self.fingerprint:
            return None
        files, result = saved.get("files"), saved.get("result")
        if not isinstance(files, Mapping) or not isinstance(result, Mapping) or set(files) != set(self.paths):
            return None
        try:
            digests = {
                role: FileDigest(int(item["bytes"]), str(item["sha256"])) for role, item in files.items()
            }
        except (KeyError, TypeError, ValueError):
            return None
        ours = {role: digests[role].matches(path) for role, path in self.paths.items()}
        if all(ours.values()):
            log.info("An earlier try of this task already published %s; not copying it again", result["uri"])
            return dict(result)
        for role, path in self.paths.items():
            if ours[role]:
                log.info("Removing %s, landed by an earlier try that did not finish", destination_uri(path))
                path.fs.rm(path.path)
        return None
