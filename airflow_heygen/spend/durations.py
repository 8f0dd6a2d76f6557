"""
How long a video or audio file plays, read from its header with bounded ranged reads (never the whole
file): MP4/MOV (``moov/mvhd``, also when ``moov`` comes after the media data), WAV (``fmt`` and
``data`` chunks) and MP3 (the Xing/Info/VBRI frame count, or the bitrate and the file's size).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

# Bytes read at the start of a file, and at most per later read.
HEAD_BYTES = 64 * 1024
READ_TIMEOUT = 10.0
# Reads of one file at most (the head, then boxes found by their offsets).
MAX_READS = 6

# A range read: (offset, length) -> the bytes there (fewer at the end of the file), with the size of the
# whole file where the server says it.
RangeReader = Callable[[int, int], tuple[bytes, int | None]]


def http_range_reader(url: str) -> RangeReader:
    """
    A :data:`RangeReader` of ``url`` over HTTP ``Range`` requests; a server that ignores ``Range`` is
    read no further than asked.

    :param url: an http(s) URL.
    """
    import requests

    def read(offset: int, length: int) -> tuple[bytes, int | None]:
        headers = {"Range": f"bytes={offset}-{offset + length - 1}"}
        with requests.get(url, headers=headers, stream=True, timeout=READ_TIMEOUT) as response:
            response.raise_for_status()
            total: int | None = None
            content_range = response.headers.get("Content-Range", "")
            if response.status_code == 206 and "/" in content_range:
                tail = content_range.rsplit("/", 1)[1]
                total = int(tail) if tail.isdigit() else None
            elif response.status_code == 200:
                length_header = response.headers.get("Content-Length", "")
                total = int(length_header) if length_header.isdigit() else None
                if offset:  # no ranges: skip to the offset, never past the read's end
                    skipped = 0
                    for chunk in response.iter_content(HEAD_BYTES):
                        skipped += len(chunk)
                        if skipped > offset:
                            return chunk[len(chunk) - (skipped - offset) :][:length], total
                    return b"", total
            data = b""
            for chunk in response.iter_content(min(length, HEAD_BYTES)):
                data += chunk
                if len(data) >= length:
                    break
            return data[:length], total

    return read


def media_seconds(read: RangeReader) -> float | None:
    """
    The duration of the file ``read`` reads, in seconds; None for a format not known or a header not
    understood.

    :param read: how to read a range of the file.
    """
    head, total = read(0, HEAD_BYTES)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _wav_seconds(head)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return _mp4_seconds(head, read)
    return _mp3_seconds(head, total)


def _wav_seconds(head: bytes) -> float | None:
    position, byte_rate = 12, None
    while position + 8 <= len(head):
        name, size = head[position : position + 4], struct.unpack("<I", head[position + 4 : position + 8])[0]
        if name == b"fmt " and position + 16 <= len(head):
            byte_rate = struct.unpack("<I", head[position + 16 : position + 20])[0]
        elif name == b"data":
            return size / byte_rate if byte_rate else None
        position += 8 + size + (size & 1)
    return None


def _mvhd_seconds(box: bytes) -> float | None:
    """The duration in an ``mvhd`` box's body (after its 8-byte header)."""
    if len(box) < 32:
        return None
    if box[0] == 1:
        timescale, duration = struct.unpack(">IQ", box[20:32])
    else:
        timescale, duration = struct.unpack(">II", box[12:20])
    return duration / timescale if timescale else None


def _mp4_seconds(head: bytes, read: RangeReader) -> float | None:
    offset, data, base, reads = 0, head, 0, 1
    while True:
        local = offset - base
        if local + 16 > len(data):  # the next box header is beyond what was read: read there
            if reads >= MAX_READS:
                return None
            data, _ = read(offset, HEAD_BYTES)
            base, local, reads = offset, 0, reads + 1
            if len(data) < 8:
                return None
        size, name = struct.unpack(">I4s", data[local : local + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[local + 8 : local + 16])[0], 16
        if name == b"moov":
            inner = data[local + header :]
            if len(inner) < 8 or inner[4:8] != b"mvhd":
                if reads >= MAX_READS:
                    return None
                inner, _ = read(offset + header, 4096)
                reads += 1
            if inner[4:8] != b"mvhd":
                return None
            return _mvhd_seconds(inner[8:])
        if size < header:
            return None  # size 0 (to the end of the file) or corrupt: no moov after it
        offset += size


# MPEG audio: bitrates (kbit/s) by (version 1?, layer 3?) and index; sample rates by version.
_BITRATES_V1_L3 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2_L3 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_seconds(head: bytes, total: int | None) -> float | None:
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        start = 10 + size
    position = head.find(b"\xff", start)
    while 0 <= position < len(head) - 4:
        b1, b2, b3 = head[position + 1], head[position + 2], head[position + 3]
        version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
        bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
        if (b1 & 0xE0) == 0xE0 and version != 1 and layer == 1 and 0 < bitrate_index < 15 and rate_index < 3:
            sample_rate = _SAMPLE_RATES[version][rate_index]
            samples = 1152 if version == 3 else 576
            mono = (b3 >> 6) == 3
            side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
            tag = head[position + 4 + side : position + 8 + side]
            if tag in (b"Xing", b"Info"):
                flags = struct.unpack(">I", head[position + 8 + side : position + 12 + side])[0]
                if flags & 1:
                    frames = struct.unpack(">I", head[position + 12 + side : position + 16 + side])[0]
                    return frames * samples / sample_rate
            vbri = head[position + 36 : position + 40]
            if vbri == b"VBRI":
                frames = struct.unpack(">I", head[position + 50 : position + 54])[0]
                return frames * samples / sample_rate
            table = _BITRATES_V1_L3 if version == 3 else _BITRATES_V2_L3
            if total is None:
                return None
            return (total - position) * 8 / (table[bitrate_index] * 1000)
        position = head.find(b"\xff", position + 1)
    return None
