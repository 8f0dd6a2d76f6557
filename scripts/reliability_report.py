"""
Render the counts of a reliability run as RELIABILITY.md's tables.

The reliability suite writes its counts as JSON when ``HEYGEN_RELIABILITY_REPORT`` names a file::

    export HEYGEN_RELIABILITY_REPORT=out/reliability.json
    .venv/bin/python -m pytest tests/reliability -p no:cacheprovider
    .venv/bin/python scripts/reliability_report.py out/reliability.json --write RELIABILITY.md

Without ``--write`` the tables are printed. With it, they replace what stands between the
``<!-- reliability-report:begin -->`` and ``<!-- reliability-report:end -->`` lines of that file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BEGIN = "<!-- reliability-report:begin -->"
END = "<!-- reliability-report:end -->"
SCENARIO_COLUMNS = (
    ("scenario", "Scenario"),
    ("injected", "Injected"),
    ("jobs", "Jobs"),
    ("submissions", "Submissions"),
    ("http_retries", "HTTP retries"),
    ("task_retries", "Task retries"),
    ("failures", "Failed tasks"),
    ("bytes_lost", "Bytes lost"),
    ("seconds", "Seconds"),
    ("notes", "Notes"),
)
SECRET_COLUMNS = (("where", "Where"), ("scanned", "Scanned"), ("found", "Key found"), ("notes", "Notes"))


def cell(value: Any) -> str:
    """
    One markdown table cell: pipes escaped, newlines flattened.

    :param value: the value.
    """
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """
    A markdown table.

    :param rows: one dict per row.
    :param columns: (key, heading) pairs, in order.
    """
    lines = [
        "| " + " | ".join(heading for _, heading in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(row.get(key, "")) for key, _ in columns) + " |" for row in rows]
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    """
    The tables of one run, with when it ran.

    :param report: the JSON document the suite wrote.
    """
    parts = [f"Run of {report['generated_at']}.", "", table(report["rows"], SCENARIO_COLUMNS)]
    if report.get("secrets"):
        parts += ["", "Secrets scans after the runs:", "", table(report["secrets"], SECRET_COLUMNS)]
    return "\n".join(parts)


def replace_between_markers(document: str, content: str) -> str:
    """
    ``document`` with what stands between :data:`BEGIN` and :data:`END` replaced by ``content``.

    :param document: the markdown file's text.
    :param content: the new text between the markers.
    :raises ValueError: when the markers are missing or out of order.
    """
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document needs a line {BEGIN} followed later by a line {END}")
    return f"{document[: start + len(BEGIN)]}\n{content}\n{document[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    """
    Print the tables, or write them into a markdown file.

    :param argv: command-line arguments (without the program name).
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("report", type=Path, help="the JSON file a reliability run wrote")
    parser.add_argument("--write", type=Path, metavar="MARKDOWN", help="update the tables in this file")
    args = parser.parse_args(argv)
    content = render(json.loads(args.report.read_text(encoding="utf-8")))
    if args.write is None:
        print(content)
        return 0
    try:
        updated = replace_between_markers(args.write.read_text(encoding="utf-8"), content)
    except ValueError as err:
        print(f"reliability_report: {args.write}: {err}", file=sys.stderr)
        return 1
    args.write.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
