"""Putting the steps together: download into a staged file, render the preview, land both or neither."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from airflow_heygen.publishing.destination import already_exists, published_uri, shown_url, writing_to
from airflow_heygen.publishing.download import VideoDownloader
from airflow_heygen.publishing.preview import PreviewRenderer
from airflow_heygen.publishing.record import FileDigest
from airflow_heygen.publishing.request import PublishRequest, PublishResult
from airflow_heygen.publishing.sink import HashingSink
from airflow_heygen.publishing.staging import StagedFile

log = logging.getLogger(__name__)

# Called with what is about to land (the result and each file's digest, by role) before anything lands.
StagedCallback = Callable[[PublishResult, Mapping[str, FileDigest]], None]


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
        if not request.overwrite:
            for target in request.targets.values():
                if target.fs.exists(target.path):
                    raise already_exists(target)
        log.info("Publishing %s to %s", shown_url(request.video_url), published_uri(request.destination))
        with writing_to(request.destination):
            return self._publish(request, on_staged)

    def _publish(self, request: PublishRequest, on_staged: StagedCallback | None) -> PublishResult:
        video = StagedFile(request.destination)
        preview = StagedFile(request.preview) if request.preview else None
        try:
            with HashingSink(video, self.downloader.settings.chunk_size) as sink:
                self.downloader.download(request.video_url, sink)
            result = PublishResult(
                uri=published_uri(request.destination),
                size=sink.size,
                sha256=sink.sha256,
                preview_uri=published_uri(request.preview) if request.preview else None,
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
