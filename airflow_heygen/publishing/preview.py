"""The PNG preview of a published video: one frame from its middle. PyAV is imported only here."""

from __future__ import annotations

from importlib.util import find_spec
from typing import IO, Any

from airflow_heygen.exceptions import HeyGenError, HeyGenInputError

PREVIEW_SUFFIX = ".png"


class PreviewRenderer:
    """Renders one frame of a video, from the middle, as PNG bytes."""

    @staticmethod
    def require_decoder() -> None:
        """
        Fail early, before any download, when PyAV is not installed.

        :raises HeyGenInputError: naming ``preview``.
        """
        if find_spec("av") is None:
            raise HeyGenInputError(
                "preview", "needs PyAV to decode the video: pip install 'airflow-heygen[preview]' (or 'av')"
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
