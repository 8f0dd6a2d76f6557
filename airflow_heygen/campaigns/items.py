"""
A campaign's items: read from a CSV or JSONL file in object storage (or given as a list of dicts),
each named by its id column, each turned into one HeyGen create request, every one checked before
anything is paid. All problems are reported together, by row number and field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.kinds import CAMPAIGN_KINDS, JobKind
from airflow_heygen.state import fingerprint

# A request's string values name an item's columns as {column}.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Published files are named <item id>.mp4: ids must be file names.
FILE_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
# How many problems an error lists before it only counts the rest.
LISTED_PROBLEMS = 25


@dataclass(frozen=True)
class CampaignKind:
    """
    What a campaign creates: a row of the kinds table and, for the workflows API, the workflow type.

    :param name: the campaign's ``kind`` argument, e.g. ``faceswap``.
    :param row: the job kind.
    :param workflow_type: the workflow type of a workflows kind, else None.
    """

    name: str
    row: JobKind
    workflow_type: str | None

    @classmethod
    def named(cls, name: object) -> CampaignKind:
        """The campaign kind ``name``; raises naming the known ones."""
        if not isinstance(name, str) or name not in CAMPAIGN_KINDS:
            raise HeyGenInputError("kind", f"must be one of {', '.join(CAMPAIGN_KINDS)}, got {name!r}")
        row, workflow_type = CAMPAIGN_KINDS[name]
        return cls(name, row, workflow_type)

    @property
    def batched(self) -> bool:
        """Whether creates go in batches (v3), rather than one execution per item (workflows)."""
        return self.row.batch_endpoint is not None


@dataclass(frozen=True)
class Item:
    """
    One item of a campaign, checked.

    :param position: its 0-based position in the items (row number - 1).
    :param item_id: its id (the id column's value).
    :param body: the create body (a workflows kind: ``{"workflow_type", "input"}``).
    """

    position: int
    item_id: str
    body: dict[str, Any]


def read_rows(items: object) -> list[dict[str, Any]]:
    """
    The rows of ``items``: a list of dicts as it is, or a ``.csv`` / ``.jsonl`` (``.ndjson``) file at an
    object-storage path (``s3://...``, ``file:///...``, an absolute path, or an ``ObjectStoragePath``).

    :param items: the operator's ``items`` after templating.
    :raises HeyGenInputError: naming ``items`` and what is wrong.
    """
    if isinstance(items, Sequence) and not isinstance(items, (str, bytes)):
        given = list(items)
        bad = [number for number, row in enumerate(given, start=1) if not isinstance(row, Mapping)]
        if bad:
            raise HeyGenInputError("items", f"every item must be a dict; rows {_numbers(bad)} are not")
        return [dict(row) for row in given]
    if items is None or items == "":
        raise HeyGenInputError("items", "is required: a CSV or JSONL path, or a list of dicts")
    from airflow.sdk import ObjectStoragePath

    path = items if isinstance(items, ObjectStoragePath) else ObjectStoragePath(str(items))
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise HeyGenInputError("items", f"must be a .csv or .jsonl file, got {str(items)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HeyGenInputError("items", f"{str(items)!r} does not exist") from None
    if suffix == ".csv":
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:
            raise HeyGenInputError("items", f"line {number} is not JSON: {err}") from None
        if not isinstance(row, Mapping):
            raise HeyGenInputError("items", f"line {number} is not a JSON object")
        rows.append(dict(row))
    return rows


def _numbers(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:LISTED_PROBLEMS])
    return shown + (f" and {len(numbers) - LISTED_PROBLEMS} more" if len(numbers) > LISTED_PROBLEMS else "")


class _MissingColumn(KeyError):
    pass


def fill(template: Any, row: Mapping[str, Any]) -> Any:
    """
    ``template`` with every ``{column}`` in its strings replaced by the row's value; a string that is
    exactly one placeholder takes the value as it is (a number stays a number).

    :param template: the request (dicts, lists, strings, other JSON values).
    :param row: the item.
    :raises KeyError: naming a column the row lacks.
    """
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            return _column(row, whole.group(1))
        return PLACEHOLDER.sub(lambda match: str(_column(row, match.group(1))), template)
    if isinstance(template, Mapping):
        return {key: fill(value, row) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, row) for value in template]
    return template


def _column(row: Mapping[str, Any], name: str) -> Any:
    if name not in row or row[name] is None or row[name] == "":
        raise _MissingColumn(name)
    return row[name]


def _checked_body(kind: CampaignKind, request: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """One item's create body, filled and checked; raises HeyGenInputError naming the field."""
    try:
        filled = fill(dict(request), row)
    except _MissingColumn as missing:
        field = next(_fields_using(request, str(missing.args[0])), "request")
        raise HeyGenInputError(field, f"the item has no value in column {missing.args[0]!r}") from None
    if kind.workflow_type is not None:
        from airflow_heygen.validation import validate_workflow

        workflow_type, workflow_input = validate_workflow(kind.workflow_type, filled)
        return {"workflow_type": workflow_type, "input": workflow_input}
    from airflow_heygen.validation_v3 import validate_body

    body = validate_body(kind.row.name, filled)
    languages = body.get("output_languages")
    if kind.row.ids_are_list and isinstance(languages, list) and len(languages) != 1:
        # One published video per item: a translation campaign translates each item to one language.
        raise HeyGenInputError("output_languages", "a campaign item translates to exactly one language")
    return body


def _fields_using(template: Any, column: str, path: str = "request") -> Any:
    """The request fields whose strings name ``column``."""
    if isinstance(template, str) and any(m.group(1) == column for m in PLACEHOLDER.finditer(template)):
        yield path
    elif isinstance(template, Mapping):
        for key, value in template.items():
            yield from _fields_using(value, column, f"{path}.{key}")
    elif isinstance(template, list):
        for index, value in enumerate(template):
            yield from _fields_using(value, column, f"{path}[{index}]")


def checked_items(
    kind: CampaignKind,
    rows: Sequence[Mapping[str, Any]],
    item_id: str,
    request: Mapping[str, Any],
    *,
    file_safe_ids: bool,
) -> list[Item]:
    """
    Every item, checked: its id present and unique (and a file name, when videos are published), its
    request filled and valid. Raises one error listing every problem by row (1-based) and field.

    :param kind: what is created.
    :param rows: the items' rows.
    :param item_id: the column naming each item.
    :param request: the create body template (a workflows kind: the ``input``).
    :param file_safe_ids: ids name published files, so they must be file names.
    :raises HeyGenInputError: naming ``items``, with every problem; nothing has been sent.
    """
    if not isinstance(request, Mapping):
        raise HeyGenInputError("request", f"must be a dict, got {type(request).__name__}")
    if not rows:
        raise HeyGenInputError("items", "there are no items")
    problems: list[str] = []
    seen: dict[str, int] = {}
    items: list[Item] = []
    for position, row in enumerate(rows):
        number = position + 1
        raw_id = row.get(item_id)
        identity = str(raw_id).strip() if raw_id is not None else ""
        if not identity:
            problems.append(f"row {number}: {item_id}: is empty or missing")
        elif identity in seen:
            problems.append(f"row {number}: {item_id}: {identity!r} repeats row {seen[identity]}")
        elif file_safe_ids and not FILE_SAFE_ID.fullmatch(identity):
            problems.append(
                f"row {number}: {item_id}: {identity!r} cannot name a file (letters, digits, _ . - only)"
            )
        else:
            seen[identity] = number
        try:
            body = _checked_body(kind, request, row)
        except HeyGenInputError as err:
            problems.append(f"row {number}: {err.field}: {err.problem}")
            continue
        items.append(Item(position, identity, body))
    if problems:
        listed = "; ".join(problems[:LISTED_PROBLEMS])
        more = f"; and {len(problems) - LISTED_PROBLEMS} more" if len(problems) > LISTED_PROBLEMS else ""
        raise HeyGenInputError("items", f"{len(problems)} problem(s), nothing was submitted: {listed}{more}")
    return items


def items_fingerprint(items: Sequence[Item]) -> str:
    """The digest of every item's id and body: a changed item list is another campaign."""
    return fingerprint([[item.item_id, item.body] for item in items])


def filled_items(
    kind: CampaignKind, rows: Sequence[Mapping[str, Any]], item_id: str, request: Any
) -> list[Item]:
    """
    Every item's body, filled but not checked: for a resume of a try whose start checked the very
    same rows (:func:`rows_fingerprint`) and found checking changed no body (:func:`same_bodies`).

    :param kind: what is created.
    :param rows: the items' rows.
    :param item_id: the column naming each item.
    :param request: the create body template.
    """
    items = []
    for position, row in enumerate(rows):
        raw_id = row.get(item_id)
        filled = fill(dict(request), row)
        body = {"workflow_type": kind.workflow_type, "input": filled} if kind.workflow_type else filled
        items.append(Item(position, str(raw_id).strip() if raw_id is not None else "", body))
    return items


def same_bodies(checked: Sequence[Item], filled: Sequence[Item]) -> bool:
    """Whether checking the items changed none of their filled bodies (so a resume may skip it)."""
    return len(checked) == len(filled) and all(
        a.item_id == b.item_id and a.body == b.body for a, b in zip(checked, filled, strict=True)
    )


def rows_fingerprint(
    kind: CampaignKind, rows: Sequence[Mapping[str, Any]], item_id: str, request: Any
) -> str:
    """The digest of what a check of the items depends on: kind, id column, request and rows."""
    return fingerprint([kind.name, item_id, request, list(rows)])
