"""
What a try of a publishing task is about to land, remembered across the tries of its task instance,
so that a retry recognises its own files instead of failing with "already exists".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_heygen.publishing.destination import published_uri
from airflow_heygen.publishing.request import PublishRequest, PublishResult
from airflow_heygen.publishing.settings import CHUNK_SIZE
from airflow_heygen.state import TaskState, fingerprint

log = logging.getLogger(__name__)


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
        self.paths = request.targets
        identity = {role: published_uri(path) for role, path in self.paths.items()}
        identity["video_url"] = request.video_url
        # The same record over task_state_store as the submissions' (airflow_heygen.state).
        self.state = TaskState(store, self.KEY, fingerprint(identity))

    def save(self, result: PublishResult, digests: Mapping[str, FileDigest]) -> None:
        """
        Remember what is about to land; a ``StagedCallback`` for ``VideoPublisher.publish``.

        :param result: the result the landing will produce.
        :param digests: each file's digest, by role.
        """
        files = {role: {"bytes": digest.size, "sha256": digest.sha256} for role, digest in digests.items()}
        self.state.write(result=result.to_dict(), files=files)

    def reclaim(self) -> dict[str, Any] | None:
        """
        The result of an earlier try of this task instance whose files are all in place; otherwise remove
        the files an earlier try landed before it died (those matching its record) and return None.
        """
        saved = self.state.read()
        if saved is None:
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
                log.info("Removing %s, landed by an earlier try that did not finish", published_uri(path))
                path.fs.rm(path.path)
        return None
