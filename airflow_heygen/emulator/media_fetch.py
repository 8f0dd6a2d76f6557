"""Fetching input media for a render: http(s) downloads, or files under the data dir."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.validation import local_media_path

_TIMEOUT = 30.0
_MAX_BYTES = 512 * 1024 * 1024


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
        :raises MediaError: when it cannot be fetched.
        """
        parts = urlsplit(url.strip())
        if parts.scheme in ("http", "https"):
            return self._download(url.strip(), field)
        path = local_media_path(Path(parts.path if parts.scheme == "file" else url.strip()), self._data_dir)
        if path is None or not path.is_file():
            raise MediaError(f"{field}: file not found")
        return path

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
            raise MediaError(f"{field} could not be fetched: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise MediaError(f"{field} is unreachable: {reason}") from exc
        return target

    def cleanup(self) -> None:
        """Remove downloaded files."""
        shutil.rmtree(self._work_dir, ignore_errors=True)
