"""
Why a job failed, as HeyGen reports it: a machine-readable code beside the message.

The workflows API shows it as ``data.error = {"code", "message"}``, v3 single reads as
``failure_code``/``failure_message`` and v3 bulk entries as ``error = {"code", "message"}``. A client
tells from the code whether a new attempt can help (``internal_error``) or not (the input is at fault).
"""

from __future__ import annotations

import enum
import re

# Codes a test may force (fail_code, fail_next): snake_case words, like HeyGen's.
CODE_PATTERN = re.compile(r"^[a-z_]+$")


class FailureCode(str, enum.Enum):
    """The failure codes the emulator produces on its own."""

    DOWNLOAD_FAILED = "download_failed"  # an input URL answered 4xx/5xx or could not be reached
    INVALID_MEDIA = "invalid_media"  # fetched, but not a decodable image, video or audio
    NO_FACE_DETECTED = "no_face_detected"
    MULTIPLE_FACES_DETECTED = "multiple_faces_detected"
    INTERNAL_ERROR = "internal_error"  # a crashed render, an injected fault, an unexpected exception


# What the logs and failure messages call each kind of render (keyed by RenderKind value).
KIND_LABELS = {
    "faceswap": "Face swap",
    "avatar_inference": "Avatar video",
    "talking_head": "Video",
    "lipsync": "Lip-sync",
    "translation": "Video translation",
}

# The message of a failure forced by fault injection, per code; ``{kind}`` is the job's kind label.
_INJECTED_MESSAGES = {
    FailureCode.DOWNLOAD_FAILED.value: (
        "{kind} failed: an input file could not be downloaded (injected fault)"
    ),
    FailureCode.INVALID_MEDIA.value: (
        "{kind} failed: an input file is not a decodable image, video or audio (injected fault)"
    ),
    FailureCode.NO_FACE_DETECTED.value: "No face detected in the source image",
    FailureCode.MULTIPLE_FACES_DETECTED.value: (
        "Multiple faces detected in the source image; use a photo with exactly one face"
    ),
    FailureCode.INTERNAL_ERROR.value: "{kind} failed: the render node crashed (injected fault)",
}


def kind_label(render_kind: str) -> str:
    """
    The human name of a kind of render, e.g. ``Video translation``.

    :param render_kind: a ``RenderKind`` value.
    """
    return KIND_LABELS.get(render_kind, "Render")


def injected_message(code: str, render_kind: str) -> str:
    """
    The message of a failure forced by fault injection (``fail_rate`` with ``fail_code``, or
    ``fail_next``).

    :param code: the failure code.
    :param render_kind: the job's ``RenderKind`` value (named by the message).
    """
    template = _INJECTED_MESSAGES.get(code, "{kind} failed: {code} (injected fault)")
    return template.format(kind=kind_label(render_kind), code=code)


def check_code(value: object, name: str) -> str:
    """
    A failure code given to fault injection.

    :param value: the JSON value.
    :param name: the setting's name for the error message.
    :raises ValueError: unless it is a non-empty string of ``[a-z_]``.
    """
    if not isinstance(value, str) or not CODE_PATTERN.match(value):
        raise ValueError(f"{name} must be a failure code made of a-z and _, e.g. internal_error")
    return value
