"""Bad media ends the execution ``failed`` with a clear message and its failure code, as HeyGen does."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from airflow_heygen.emulator.render.faceswap import read_image
from airflow_heygen.emulator.render.video_io import Mp4Writer
from airflow_heygen.emulator.testing import EmulatorHandle
from tests.emulator.conftest import avatar_body, faceswap_body, submit_ok, wait_final
from tests.emulator.v3_contract import V3Client, lipsync_body, url_media, wait_v3

pytestmark = pytest.mark.slow


def _no_face_image(folder: Path) -> str:
    gradient = np.tile(np.linspace(40, 220, 320, dtype=np.uint8), (240, 1))
    path = folder / "no_face.jpg"
    cv2.imwrite(str(path), cv2.merge([gradient, gradient[::-1], gradient]))
    return str(path)


def _two_faces_image(samples: Path, folder: Path) -> str:
    first = cv2.resize(read_image(samples / "face.jpg", "face")[40:300, 120:360], (240, 260))
    second = cv2.resize(read_image(samples / "face2.jpg", "face2")[100:380, 120:400], (240, 260))
    path = folder / "two_faces.jpg"
    cv2.imwrite(str(path), np.hstack([first, second]))
    return str(path)


def _garbage(folder: Path, name: str) -> str:
    path = folder / name
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return str(path)


def _faceless_video(folder: Path) -> str:
    path = folder / "faceless.mp4"
    writer = Mp4Writer(path, 160, 120, Fraction(10))
    for index in range(10):
        frame = np.full((120, 160, 3), 30 + 10 * index, np.uint8)
        cv2.circle(frame, (40 + 8 * index, 60), 12, (0, 200, 255), -1)
        writer.write_frame(frame)
    writer.close()
    return str(path)


Case = Callable[[EmulatorHandle, Path], dict[str, Any]]

# Each case: the body, how its failure message starts, and its failure code.
CASES: dict[str, tuple[Case, str, str]] = {
    "no face in source": (
        lambda e, d: faceswap_body(e, source=_no_face_image(d)),
        "no face found in the source image",
        "no_face_detected",
    ),
    "two faces in source": (
        lambda e, d: faceswap_body(e, source=_two_faces_image(e.data_dir / "samples", d)),
        "more than one face found in the source image",
        "multiple_faces_detected",
    ),
    "undecodable source": (
        lambda e, d: faceswap_body(e, source=_garbage(d, "broken.jpg")),
        "source image could not be decoded",
        "invalid_media",
    ),
    "unreachable URL": (
        lambda e, d: faceswap_body(e, source="http://127.0.0.1:9/face.jpg"),
        "input.source_image_url is unreachable",
        "download_failed",
    ),
    "missing URL": (
        lambda e, d: faceswap_body(e, target=e.url("/samples/missing.mp4")),
        "input.target_video_url could not be fetched: HTTP 404 from http://",
        "download_failed",
    ),
    "undecodable target": (
        lambda e, d: faceswap_body(e, target=_garbage(d, "broken.mp4")),
        "target video could not be decoded",
        "invalid_media",
    ),
    "no face in any target frame": (
        lambda e, d: faceswap_body(e, target=_faceless_video(d)),
        "no face found in any frame of the target video",
        "no_face_detected",
    ),
    "undecodable audio": (
        lambda e, d: avatar_body(e, audio=_garbage(d, "broken.wav")),
        "audio_list[0] could not be decoded",
        "invalid_media",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_media_fails_the_execution(real_emulator: EmulatorHandle, case: str) -> None:
    make_body, message, code = CASES[case]
    folder = real_emulator.data_dir / "inputs"
    folder.mkdir(exist_ok=True)
    data = wait_final(
        real_emulator,
        submit_ok(
            real_emulator,
            make_body(real_emulator, real_emulator.data_dir if case == "two faces in source" else folder),
        ),
        timeout=120,
    )
    assert data["status"] == "failed"
    assert data["error"]["message"].startswith(message), data["error"]
    assert data["error"]["code"] == code, data["error"]
    assert data["output"] is None
    assert not (real_emulator.data_dir / "media" / f"{data['execution_id']}.mp4").exists()


def test_v3_input_that_cannot_be_downloaded(real_emulator: EmulatorHandle) -> None:
    client = V3Client(real_emulator)
    body = lipsync_body(real_emulator, audio=url_media(real_emulator.url("/samples/missing.wav")))
    lipsync = wait_v3(client, "lipsyncs", client.ok("POST", "/v3/lipsyncs", body)["lipsync_id"], timeout=120)
    assert (lipsync["status"], lipsync["failure_code"]) == ("failed", "download_failed")
    assert lipsync["failure_message"].startswith("audio could not be fetched: HTTP 404 from http://")
