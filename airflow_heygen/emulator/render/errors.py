"""Errors raised by the renderers."""

from __future__ import annotations

from airflow_heygen.emulator.failures import FailureCode


class MediaError(Exception):
    """
    Input media that cannot be rendered; the message is shown to API clients as the failure reason.

    :param message: the failure reason.
    :param code: the failure code clients see beside it (``invalid_media`` unless the detector knows
        better: ``download_failed``, ``no_face_detected``, ``multiple_faces_detected``).
    """

    def __init__(self, message: str, code: FailureCode = FailureCode.INVALID_MEDIA) -> None:
        super().__init__(message)
        self.code = code
