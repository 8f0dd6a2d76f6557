"""
Fetching input media for a render: http(s) downloads, or files under the data dir. Whatever cannot
be fetched fails the job with ``download_failed``, its message naming the field, the URL (without
its query string, which may hold a signature) and the HTTP status or the network error.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from airflow_heygen.emulator.failures import FailureCode
from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.validation import local_media_path

_TIMEOUT = 30.0
_MAX_BYTES = 512 * 1024 * 1024


def shown_url(url: str) -> str:
    """
    The URL as failure messages show it: no credentials, query string or fragment.

    :param url: an http(s) URL.
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def http_error(field: str, url: str, status: int) -> MediaError:
    """
    The failure of a URL that answered an HTTP error.

    :param field: the input field.
    :param url: the URL.
    :param status: the HTTP status it answered.
    """
    return MediaError(
        f"{field} could not be fetched: HTTP {status} from {shown_url(url)}", FailureCode.DOWNLOAD_FAILED
    )


def unreachable(field: str, url: str, reason: object) -> MediaError:
    """
    The failure of a URL that could not be reached (refused, unknown host, timeout, invalid URL).

    :param field: the input field.
    :param url: the URL.
    :param reason: what went wrong.
    """
    return MediaError(f"{field} is unreachable: {reason} ({shown_url(url)})", FailureCode.DOWNLOAD_FAILED)


def is_http(location: str) -> bool:
    """
    Whether an input is downloaded (http or https) rather than read from the data dir.

    :param location: the input's URL or path.
    """
    return urlsplit(location.strip()).scheme in ("http", "https")


def local_file(location: str, field: str, data_dir: Path) -> Path:
    """
    The file of a local input (a path or ``file://`` URL inside the data dir).

    :param location: the input.
    :param field: the input field, for the error message.
    :param data_dir: the emulator data dir.
    :raises MediaError: ``download_failed`` when there is no such file there.
    """
    parts = urlsplit(location.strip())
    path = local_media_path(Path(parts.path if parts.scheme == "file" else location.strip()), data_dir)
    if path is None or not path.is_file():
        raise MediaError(f"{field}: file not found", FailureCode.DOWNLOAD_FAILED)
    return path


class MediaFetcher:
    """
    Brings input media to local files.

    :param data_dir: the emulator data dir; local paths must lie inside it.
    :param work_dir: where downloads are written.
    """

    def __init__(self, data_dir: Path, work_dir: Path) -> None:
        self._data_dir = data_dir
        self._work_dir = work_dir

    def fetch(self, url: str, field: str) -> Path:
        """
        A local file holding the media at ``url``.

        :param url: an http(s) URL, a ``file://`` URL or an absolute path under the data dir.
        :param field: the input field's name, for error messages.
        :raises MediaError: when it cannot be fetched (``download_failed``) or is too large.
        """
        if is_http(url):
            return self._download(url.strip(), field)
        return local_file(url, field, self._data_dir)

    def _download(self, url: str, field: str) -> Path:
        self._work_dir.mkdir(parents=True, exist_ok=True)
        suffix = Path(urlsplit(url).path).suffix[:8]
        target = self._work_dir / f"{field.replace('.', '_').replace('[', '_').replace(']', '')}{suffix}"
        request = urllib.request.Request(url, headers={"User-Agent": "heygen-emulator"})
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response, target.open("wb") as out:
                copied = 0
                while chunk := response.read(1 << 20):
                    copied += len(chunk)
                    if copied > _MAX_BYTES:
                        raise MediaError(f"{field}: the file is larger than {_MAX_BYTES >> 20} MiB")
                    out.write(chunk)
        except urllib.error.HTTPError as exc:
            raise http_error(field, url, exc.code) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise unreachable(field, url, getattr(exc, "reason", exc)) from exc
        return target

    def cleanup(self) -> None:
        """Remove downloaded files."""
        shutil.rmtree(self._work_dir, ignore_errors=True)
