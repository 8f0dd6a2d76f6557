"""
The output seconds a create is charged for, known before the job runs: what the job will report as
its ``duration``.

Stub renders always report the stub sample's length, so that is what they cost. Real renders are as
long as their speech (a script's synthesized length, an audio input's duration: avatar videos,
lip-syncs, avatar inference) or their video (translations, face swaps). Those durations are read
from the media once per URL (local files directly; http(s) downloads of at most 64 MiB), and a
medium whose duration cannot be read (a placeholder host, an unreadable file) costs the sample
clip's length: such a job fails to fetch it anyway.
"""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from pathlib import Path
from typing import Any

import aiohttp
import av

from airflow_heygen.emulator.media_fetch import is_http, local_file
from airflow_heygen.emulator.media_probe import is_placeholder
from airflow_heygen.emulator.models import WorkflowType
from airflow_heygen.emulator.prices import (
    Price,
    lipsync_price,
    translation_price,
    video_price,
    workflow_price,
)
from airflow_heygen.emulator.render.errors import MediaError
from airflow_heygen.emulator.tasks import RenderKind
from airflow_heygen.emulator.v3.validation import JobSpec

_MAX_BYTES = 64 * 1024 * 1024
_MAX_REMEMBERED = 1024
_TIMEOUT = aiohttp.ClientTimeout(total=15.0)


def media_seconds(source: str | Path | io.BytesIO) -> float | None:
    """
    The duration of an audio or video file by its container, or None when it cannot be read.

    :param source: a path or the file's bytes.
    """
    try:
        with av.open(source if isinstance(source, io.BytesIO) else str(source), mode="r") as container:
            if container.duration:
                return float(container.duration) / av.time_base
            streams = [s for s in container.streams if s.duration and s.time_base]
            return max((float(s.duration * s.time_base) for s in streams), default=None)  # type: ignore[operator]
    except (av.error.FFmpegError, OSError, ValueError):
        return None


class OutputSeconds:
    """
    Prices creates by their output seconds.

    :param data_dir: the emulator data dir (resolved; local inputs are files inside it).
    :param clip_seconds: the sample clip's length: every stub job's duration, and the fallback.
    :param stub: whether jobs are stub-rendered.
    """

    def __init__(self, data_dir: Path, clip_seconds: float, stub: bool) -> None:
        self._data_dir = data_dir
        self._clip_seconds = clip_seconds
        self._stub = stub
        self._known: OrderedDict[str, float | None] = OrderedDict()

    async def media(self, location: Any, field: str) -> float:
        """
        Seconds of one input medium (the fallback when unknown).

        :param location: its URL or local path.
        :param field: its field name.
        """
        if self._stub or not isinstance(location, str) or not location.strip():
            return self._clip_seconds
        location = location.strip()
        if location not in self._known:
            self._known[location] = await self._read(location, field)
            while len(self._known) > _MAX_REMEMBERED:
                self._known.popitem(last=False)
        seconds = self._known[location]
        return self._clip_seconds if seconds is None else seconds

    async def _read(self, location: str, field: str) -> float | None:
        if not is_http(location):
            try:
                path = local_file(location, field, self._data_dir)
            except MediaError:
                return None
            return await asyncio.to_thread(media_seconds, path)
        if is_placeholder(location):
            return None
        try:
            async with (
                aiohttp.ClientSession(timeout=_TIMEOUT) as session,
                session.get(location, headers={"User-Agent": "heygen-emulator"}) as response,
            ):
                if response.status >= 400:
                    return None
                data = bytearray()
                async for chunk in response.content.iter_chunked(1 << 16):
                    data += chunk
                    if len(data) > _MAX_BYTES:
                        return None
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
            return None
        return await asyncio.to_thread(media_seconds, io.BytesIO(bytes(data)))

    async def v3_price(self, spec: JobSpec) -> Price:
        """
        The price of one v3 job.

        :param spec: the job.
        """
        spec_input = spec.input
        if spec.render_kind is RenderKind.TALKING_HEAD:
            speech = spec_input.get("speech")
            if speech and not self._stub:
                seconds = float(speech["seconds"])
            else:
                seconds = await self.media(spec_input.get("audio"), str(spec_input.get("audio_field")))
            return video_price(str(spec.meta.get("source_type")), seconds)
        mode = spec.meta.get("mode")
        if spec.render_kind is RenderKind.LIPSYNC:
            # The lip-synced video is as long as its audio.
            seconds = await self.media(spec_input.get("audio"), str(spec_input.get("audio_field")))
            return lipsync_price(mode, seconds)
        seconds = await self.media(spec_input.get("video"), str(spec_input.get("video_field")))
        return translation_price(mode, seconds)

    async def workflow_price(self, workflow_type: WorkflowType, data: dict[str, Any], rate: float) -> Price:
        """
        The price of one workflows API execution.

        :param workflow_type: its workflow.
        :param data: its validated ``input``.
        :param rate: dollars per output second (``faceswap_rate_usd_per_s``).
        """
        if workflow_type is WorkflowType.FACESWAP:
            seconds = await self.media(data.get("target_video_url"), "input.target_video_url")
        elif self._stub:
            seconds = self._clip_seconds
        else:
            seconds = 0.0
            for number, item in enumerate(data.get("audio_list") or []):
                url = item.get("audio_url") if isinstance(item, dict) else None
                seconds += await self.media(url, f"input.audio_list[{number}].audio_url")
        return workflow_price(rate, seconds)
