"""A temporary object beside a destination that becomes the destination in one step, or disappears."""

from __future__ import annotations

import logging
import os
import uuid
from typing import IO

from airflow.sdk import ObjectStoragePath
from fsspec.implementations.local import LocalFileSystem

from airflow_heygen.publishing.destination import already_exists

log = logging.getLogger(__name__)

# Part size of uploads to object stores: s3fs buffers a whole part (50 MiB by default, plus copies),
# which would make memory grow with the part size rather than stay flat. S3's minimum part, 5 MiB,
# needs the least (and its 10,000 parts still allow objects of 50 GB).
UPLOAD_PART_BYTES = 5 * 1024 * 1024


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
        # The temporary is known to be gone (it became ``final``): nothing to ask the store at the end.
        self.temp_removed = False

    @property
    def is_local(self) -> bool:
        """Whether the destination is on this machine's filesystem."""
        return isinstance(self.fs, LocalFileSystem)

    def open(self) -> IO[bytes]:
        """Open the temporary object for writing, from its start."""
        if self.is_local:
            os.makedirs(os.path.dirname(self.temp_path), exist_ok=True)
            # A plain file rather than fsspec's wrapper around one: one layer less per chunk.
            return open(self.temp_path, "wb")
        stream: IO[bytes] = self.fs.open(self.temp_path, "wb", block_size=UPLOAD_PART_BYTES)
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
            self.temp_removed = True
        else:
            if not overwrite and self.fs.exists(final_path):
                raise already_exists(self.final)
            self._move_object(final_path)
        self.landed = True

    def _move_object(self, final_path: str) -> None:
        # The store's own copy of the one object, then a delete of the temporary: fsspec's ``mv`` first
        # lists both names (is either a folder?), and the store would then be asked again whether the
        # temporary is gone: twice the requests for the same effect.
        try:
            self.fs.cp_file(self.temp_path, final_path)
        except NotImplementedError:
            self.fs.mv(self.temp_path, final_path)
            self.temp_removed = True
            return
        try:
            self.fs.rm_file(self.temp_path)
        except OSError as err:  # the video landed; :meth:`discard` tries once more
            log.warning("Could not remove the temporary %s: %s", self.temp_path, err)
        else:
            self.temp_removed = True

    def retract(self) -> None:
        """Remove ``final`` again if this object put it there, undoing a landing whose partner failed."""
        if self.landed:
            self.fs.rm(self.final.path)
            self.landed = False

    def discard(self) -> None:
        """Remove the temporary object if it is still there; safe to call at any time."""
        if self.temp_removed:
            return
        try:
            if self.fs.exists(self.temp_path):
                self.fs.rm(self.temp_path)
        except OSError as err:
            log.warning("Could not remove the temporary %s: %s", self.temp_path, err)
