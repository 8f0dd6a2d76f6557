"""
Checks of workflow inputs, run before anything is sent to HeyGen.

Every error names the field and what is wrong with its value, and never echoes a huge value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.models import WorkflowType

# Whitespace (as str.isspace() has it) or a control character: one regex search instead of a Python-level
# loop over every character, since a campaign checks two URLs of each of thousands of items.
_BAD_URL_CHARACTER = re.compile(r"[\s\x00-\x1f]")

MAX_URL_LENGTH = 2048
MAX_INPUT_BYTES = 256 * 1024


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


# What a missing value (None, or empty) is told, whatever type the field wants.
REQUIRED = "is required"


def _missing(value: object) -> bool:
    """
    Whether ``value`` was left out: None, or an empty (or blank) string or collection. A missing field
    is told so, rather than as a value of the wrong type ("must be a string, got NoneType None").
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (Mapping, Sequence)) and not isinstance(value, bytes) and not value


def require_text(field: str, value: object) -> str:
    """
    Return ``value`` if it is a non-blank string, else raise naming ``field``.

    :param field: the argument or input path, for the error.
    :param value: the value given.
    :raises HeyGenInputError: ``<field>: is required`` when it is missing (None or blank), else a
        message naming the type given.
    """
    if _missing(value):
        raise HeyGenInputError(field, REQUIRED)
    if not isinstance(value, str):
        raise HeyGenInputError(field, f"must be a string, got {type(value).__name__} {_describe(value)}")
    return value


def require_http_url(field: str, value: object) -> str:
    """Return ``value`` if it is an absolute http(s) URL, else raise naming ``field``."""
    url = require_text(field, value)
    if len(url) > MAX_URL_LENGTH:
        raise HeyGenInputError(
            field, f"is {len(url)} characters long; URLs may have at most {MAX_URL_LENGTH}"
        )
    if _BAD_URL_CHARACTER.search(url):
        raise HeyGenInputError(field, f"must not contain whitespace or control characters: {_describe(url)}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError as err:
        raise HeyGenInputError(field, f"is not a valid URL ({err}): {_describe(url)}") from None
    if parts.scheme not in ("http", "https"):
        shown = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise HeyGenInputError(field, f"must be an absolute http(s) URL, got {shown} in {_describe(url)}")
    if not parts.hostname:
        raise HeyGenInputError(field, f"must be an absolute http(s) URL with a host, got {_describe(url)}")
    return url


def require_positive_number(field: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number above zero, else raise naming ``field``."""
    if _missing(value):
        raise HeyGenInputError(field, REQUIRED)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise HeyGenInputError(field, f"must be a number, got {type(value).__name__} {_describe(value)}")
    if not math.isfinite(value) or value <= 0:
        raise HeyGenInputError(field, f"must be a finite number above zero, got {value!r}")
    return float(value)


def optional_amount(field: str, value: object) -> float | None:
    """
    ``value`` as a non-negative number, or None when it is None.

    :param field: the argument's name, for the error.
    :param value: the value.
    :raises HeyGenInputError: for anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise HeyGenInputError(field, f"must be a number >= 0 or None, got {_describe(value)}")
    return float(value)


def require_json(field: str, value: object) -> str:
    """
    ``value`` as JSON, which is what HeyGen receives; raise naming ``field`` if it is not
    JSON-serialisable (NaN included) or larger than ``MAX_INPUT_BYTES``.

    :param field: the argument's name, for the error.
    :param value: a request's body or input.
    """
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise HeyGenInputError(field, f"must be JSON-serialisable: {err}") from None
    if len(encoded) > MAX_INPUT_BYTES:
        raise HeyGenInputError(field, f"is {len(encoded)} bytes as JSON; at most {MAX_INPUT_BYTES} allowed")
    return encoded


def _check_urls_in(prefix: str, value: object) -> None:
    """Every string under a key ending in ``_url`` must be an absolute http(s) URL."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{prefix}.{key}"
            if isinstance(key, str) and key.endswith("_url"):
                require_http_url(path, item)
            else:
                _check_urls_in(path, item)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for index, item in enumerate(value):
            _check_urls_in(f"{prefix}[{index}]", item)


def _require_keys(workflow_input: Mapping[str, Any], *paths: str) -> None:
    for path in paths:
        value: Any = workflow_input
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        require_text(f"input.{path}", value)


def _check_avatar_inference(workflow_input: Mapping[str, Any]) -> None:
    _require_keys(workflow_input, "avatar.avatar_id")
    audio_list = workflow_input.get("audio_list")
    if _missing(audio_list):
        raise HeyGenInputError("input.audio_list", REQUIRED)
    if not isinstance(audio_list, list):
        raise HeyGenInputError("input.audio_list", "must be a non-empty list of {'audio_url': ...} objects")
    for index, item in enumerate(audio_list):
        if not isinstance(item, Mapping):
            raise HeyGenInputError(f"input.audio_list[{index}]", f"must be an object, got {_describe(item)}")
        require_http_url(f"input.audio_list[{index}].audio_url", item.get("audio_url"))


def _within_one_edit(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by at most one insertion, deletion, substitution or swap of neighbours."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
    if len(a) < len(b):
        return a[start:] == b[start + 1 :]
    swapped = a[start + 1 : start + 2] + a[start : start + 1] == b[start : start + 2]
    return a[start + 1 :] == b[start + 1 :] or (swapped and a[start + 2 :] == b[start + 2 :])


def require_known_workflow_type(name: str) -> str:
    """
    Return ``name``, unless it is a near miss of a known workflow type (another case, or one typo away,
    e.g. ``"FaceSwapNode"`` or ``"FaceswapNod"``): HeyGen would refuse it only after a round trip, or
    run nothing useful, so it is refused here with the type meant. A name far from every known type
    passes: HeyGen may know workflow types this provider does not.

    :param name: the workflow type given.
    :raises HeyGenInputError: naming the known type it nearly is.
    """
    known = [member.value for member in WorkflowType]
    if name in known:
        return name
    near = [value for value in known if _within_one_edit(name.lower(), value.lower())]
    if near:
        raise HeyGenInputError(
            "workflow_type",
            f"unknown workflow type {name!r}; did you mean {near[0]!r}? Known types: {', '.join(known)}",
        )
    return name


def validate_workflow(workflow_type: object, workflow_input: object) -> tuple[str, dict[str, Any]]:
    """
    Check a workflow request and return it as ``(workflow_type, input)``.

    Known workflow types have their required fields checked; for every type, each value under a
    key ending in ``_url`` must be an absolute http(s) URL and the input must be JSON-serialisable.

    :param workflow_type: e.g. ``"FaceswapNode"``.
    :param workflow_input: the ``input`` object of the request.
    :raises HeyGenInputError: naming the field and the problem.
    """
    name = require_known_workflow_type(require_text("workflow_type", workflow_type))
    if workflow_input is None:
        raise HeyGenInputError("input", REQUIRED)
    if not isinstance(workflow_input, Mapping):
        raise HeyGenInputError("input", f"must be a dict, got {type(workflow_input).__name__}")
    require_json("input", workflow_input)
    if name == WorkflowType.FACESWAP.value:
        _require_keys(workflow_input, "source_image_url", "target_video_url")
    elif name == WorkflowType.AVATAR_INFERENCE.value:
        _check_avatar_inference(workflow_input)
    _check_urls_in("input", workflow_input)
    return name, dict(workflow_input)
