"""Validation of ``POST /v1/workflows/executions`` bodies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_heygen.emulator.models import WorkflowType

# HeyGen's CreateWorkflowExecutionRequest has additionalProperties false: any other top-level field
# is refused, so a misspelt field (``workflow_id``, ``inputs``) fails loudly instead of being ignored.
TOP_LEVEL_FIELDS = ("workflow_type", "input")


class InvalidParameter(Exception):
    """
    A request field is missing or invalid; the message names the field.

    :param message: what is wrong.
    :param param: the field at fault (answered as the error's ``param``), if one is.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Submission:
    """
    A validated submission.

    :param workflow_type: which workflow to run.
    :param input: the ``input`` object as submitted.
    """

    workflow_type: WorkflowType
    input: dict[str, Any]


def parse_submission(payload: Any, data_dir: Path) -> Submission:
    """
    Validate a submission body.

    :param payload: the decoded JSON body.
    :param data_dir: the emulator data dir (the only place local file inputs may come from).
    :raises InvalidParameter: naming the first missing or invalid field (message and ``param``).
    """
    if not isinstance(payload, dict):
        raise InvalidParameter("request body must be a JSON object")
    _check_top_level(payload)
    kind = payload.get("workflow_type")
    if kind is None or kind == "":
        raise InvalidParameter("workflow_type is required", "workflow_type")
    try:
        workflow_type = WorkflowType(kind)
    except ValueError:
        allowed = ", ".join(t.value for t in WorkflowType)
        raise InvalidParameter(f"workflow_type must be one of {allowed}", "workflow_type") from None
    data = payload.get("input")
    if data is None:
        raise InvalidParameter("input is required", "input")
    if not isinstance(data, dict):
        raise InvalidParameter("input must be an object", "input")
    if workflow_type is WorkflowType.FACESWAP:
        for name in ("source_image_url", "target_video_url"):
            check_media_url(data.get(name), f"input.{name}", data_dir)
    else:
        avatar = data.get("avatar")
        if not isinstance(avatar, dict) or not _text(avatar.get("avatar_id")):
            raise InvalidParameter("input.avatar.avatar_id is required", "input.avatar.avatar_id")
        audio_list = data.get("audio_list")
        if not isinstance(audio_list, list) or not audio_list:
            raise InvalidParameter("input.audio_list is required", "input.audio_list")
        for number, item in enumerate(audio_list):
            check_media_url(
                item.get("audio_url") if isinstance(item, dict) else None,
                f"input.audio_list[{number}].audio_url",
                data_dir,
            )
    return Submission(workflow_type=workflow_type, input=data)


def _check_top_level(payload: dict[str, Any]) -> None:
    unknown = sorted(str(name) for name in payload if name not in TOP_LEVEL_FIELDS)
    if unknown:
        allowed = " and ".join(TOP_LEVEL_FIELDS)
        raise InvalidParameter(
            f"'{unknown[0]}' is not a field of the request body: it takes only {allowed}", unknown[0]
        )


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check_media_url(value: Any, field: str, data_dir: Path) -> None:
    """
    Accept an http(s) URL, or a file path (plain or ``file://``) inside the data dir.

    :param value: the submitted value.
    :param field: the field's name for error messages.
    :param data_dir: the emulator data dir.
    :raises InvalidParameter: when missing, of another scheme, or a file outside the data dir.
    """
    if not _text(value):
        raise InvalidParameter(f"{field} is required", field)
    parts = urlsplit(value.strip())
    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise InvalidParameter(f"{field} must be a valid http(s) URL", field)
        return
    if parts.scheme in ("file", ""):
        path = Path(parts.path if parts.scheme == "file" else value.strip())
        if path.is_absolute() and local_media_path(path, data_dir) is not None:
            return
        raise InvalidParameter(f"{field}: local files are only accepted under the emulator data dir", field)
    raise InvalidParameter(f"{field} must be an http(s) URL", field)


def local_media_path(path: Path, data_dir: Path) -> Path | None:
    """
    The resolved path when it lies inside the data dir, else None.

    :param path: an absolute path.
    :param data_dir: the emulator data dir.
    """
    resolved = path.resolve()
    return resolved if resolved.is_relative_to(data_dir.resolve()) else None
