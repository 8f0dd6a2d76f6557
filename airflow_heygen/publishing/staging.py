"""A temporary file that becomes the destination in one step, or disappears."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from typing import IO

from airflow.sdk import ObjectStoragePath
from fsspec.implementations.local import LocalFileSystem

from airflow_heygen.publishing.destination import already_exists

log = logging.getLogger(__name__)

# Part size of uploads to object stores: s3fs buffers a whole part (50 MiB by default, plus copies),
# which would make memory grow with the part size rather than stay flat. S3's minimum part, 5 MiB,
# needs the least (and its 10,000 parts still allow objects of 50 GB). Content up to one part goes up
# in one request.
UPLOAD_PART_BYTES = 5 * 1024 * 1024


class StagedFile:
    """
    A temporary file that becomes ``final`` in one step, or disappears.

    The content is always staged on this machine's disk, so it is written, hashed and (for a preview)
    read back at local speed, and nothing is sent anywhere before it is verified.

    - A local ``final``: the temporary is hidden beside it (``.<name>.<random>.part``, so that folder
      watchers matching the final name never see a partial file); landing is a hard link (fails if
      ``final`` appeared meanwhile) or an atomic rename.
    - An object-store ``final``: the temporary is in the machine's temporary folder. Content up to
      :data:`UPLOAD_PART_BYTES` lands with one PUT of the whole object, which appears at once and
      whole. Larger content goes up in parts to a hidden temporary object beside ``final``, then the
      store's copy (which also appears at once and whole) gives it its name: an upload interrupted
      part-way can only leave the temporary object, which :meth:`discard` removes.

    :param final: where the content is meant to end up.
    """

    def __init__(self, final: ObjectStoragePath) -> None:
        self.final = final
        self.fs = final.fs
        self.is_local = isinstance(self.fs, LocalFileSystem)
        hidden = f".{final.name}.{uuid.uuid4().hex[:12]}.part"
        folder = final.parent.path.rstrip("/")
        if self.is_local:
            self.temp_path = f"{folder}/{hidden}"
        else:
            self.temp_path = os.path.join(tempfile.gettempdir(), hidden)
        # The hidden object beside an object-store ``final`` that large content goes up to first.
        self.temp_object = f"{folder}/{hidden}"
        self._temp_object_made = False
        self.landed = False
        # The local temporary is known to be gone (it became ``final``): nothing to remove at the end.
        self.temp_removed = False

    def open(self) -> IO[bytes]:
        """Open the temporary file for writing, from its start."""
        os.makedirs(os.path.dirname(self.temp_path), exist_ok=True)
        # A plain file rather than fsspec's wrapper around one: one layer less per chunk.
        return open(self.temp_path, "wb")

    def open_for_reading(self) -> IO[bytes]:
        """Open the temporary file's content for reading, e.g. to render a preview of it."""
        return open(self.temp_path, "rb")

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
        if self.is_local:
            self._land_locally(overwrite)
        else:
            if not overwrite and self.fs.exists(self.final.path):
                raise already_exists(self.final)
            self._upload()
        self.landed = True

    def _land_locally(self, overwrite: bool) -> None:
        final_path = self.final.path
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

    def _upload(self) -> None:
        final_path = self.final.path
        if os.path.getsize(self.temp_path) <= UPLOAD_PART_BYTES:
            with open(self.temp_path, "rb") as source:
                self.fs.pipe_file(final_path, source.read())
            return
        self._temp_object_made = True
        with (
            open(self.temp_path, "rb") as source,
            self.fs.open(self.temp_object, "wb", block_size=UPLOAD_PART_BYTES) as target,
        ):
            shutil.copyfileobj(source, target, UPLOAD_PART_BYTES)
        # The store's own copy of the one object, then a delete of the temporary: fsspec's ``mv`` first
        # lists both names (is either a folder?), twice the requests for the same effect.
        try:
            self.fs.cp_file(self.temp_object, final_path)
        except NotImplementedError:
            self.fs.mv(self.temp_object, final_path)
            self._temp_object_made = False
            return
        try:
            self.fs.rm_file(self.temp_object)
        except OSError as err:  # the video landed; :meth:`discard` tries once more
            log.warning("Could not remove the temporary %s: %s", self.temp_object, err)
        else:
            self._temp_object_made = False

    def retract(self) -> None:
        """Remove ``final`` again if this object put it there, undoing a landing whose partner failed."""
        if self.landed:
            self.fs.rm(self.final.path)
            self.landed = False

    def discard(self) -> None:
        """Remove the temporaries that are still there; safe to call at any time."""
        if not self.temp_removed:
            try:
                os.unlink(self.temp_path)
            except FileNotFoundError:
                pass
            except OSError as err:
                log.warning("Could not remove the temporary %s: %s", self.temp_path, err)
            self.temp_removed = True
        if self._temp_object_made:
            try:
                if self.fs.exists(self.temp_object):
                    self.fs.rm(self.temp_object)
            except OSError as err:
                log.warning("Could not remove the temporary %s: %s", self.temp_object, err)
            else:
                self._temp_object_made = False
