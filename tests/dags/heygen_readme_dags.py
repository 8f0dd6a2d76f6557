"""
The README's v3 chain, exactly as the README writes it: the code block between the markers
``readme-v3-snippet:start`` and ``readme-v3-snippet:end`` runs here at module level (where Airflow
3.3's ``dag.test()`` needs a DAG), so the README cannot drift from what works.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(
    r"<!-- readme-v3-snippet:start -->\s*```python\n(?P<code>.*?)```\s*<!-- readme-v3-snippet:end -->", re.S
)


def readme_v3_snippet() -> str:
    """The README's v3 snippet, as written there."""
    found = _BLOCK.search(README.read_text(encoding="utf-8"))
    if found is None:
        raise LookupError(f"{README} has no readme-v3-snippet block")
    return found.group("code")


exec(compile(readme_v3_snippet(), f"{README}#readme-v3-snippet", "exec"))
