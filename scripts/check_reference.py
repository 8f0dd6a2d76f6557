"""
Check the copies of HeyGen's API descriptions under ``reference/`` (see ``reference/SOURCE.md``).

    python scripts/check_reference.py

When ``../shared/reference`` exists beside the repository, each copy must equal its original there,
byte for byte; in every case each copy must match the sha256 recorded in ``reference/SOURCE.md``
(so refreshing a copy without updating its digest is caught too). Prints one line per file; exits
non-zero naming the files that differ.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The copies, relative to reference/ here and to shared/reference beside the repository.
# A folder is one copy: its digest covers every file's relative path and bytes.
COPIES = ("heygen-v3/operations.json", "heygen-workflows-openapi.json", "openlineage")
_DIGEST_LINE = re.compile(r"`([^`]+)`: sha256 `([0-9a-f]{64})`")


@dataclass(frozen=True)
class Difference:
    """
    A copy that is not what it should be.

    :param name: its path under ``reference/``.
    :param reason: what differs.
    """

    name: str
    reason: str

    def __str__(self) -> str:
        return f"reference/{self.name}: {self.reason}"


def recorded_digests(source_md: Path) -> dict[str, str]:
    """
    The sha256 of each copy as recorded in ``SOURCE.md``.

    :param source_md: the ``SOURCE.md`` file.
    :return: hex digests by path under ``reference/`` (empty when the file is missing).
    """
    if not source_md.is_file():
        return {}
    return dict(_DIGEST_LINE.findall(source_md.read_text(encoding="utf-8")))


def _files(path: Path) -> dict[str, bytes]:
    """The bytes of a file, or of every file under a folder, by path relative to ``path``."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {
        str(file.relative_to(path)): file.read_bytes()
        for file in sorted(path.rglob("*"))
        if file.is_file() and "__pycache__" not in file.parts
    }


def _sha256(path: Path) -> str:
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for name, content in _files(path).items():
        digest.update(f"{name}\0{hashlib.sha256(content).hexdigest()}\n".encode())
    return digest.hexdigest()


def check_reference(repo_root: Path = REPO_ROOT, shared: Path | None = None) -> list[Difference]:
    """
    Compare the copies with their originals (when present) and with the recorded digests.

    :param repo_root: the repository holding ``reference/``.
    :param shared: the originals' folder; ``<repo_root>/../shared/reference`` when None. Only
        compared when it exists.
    :return: the differences, empty when every copy is right.
    """
    reference = repo_root / "reference"
    originals = shared if shared is not None else repo_root.parent / "shared" / "reference"
    digests = recorded_digests(reference / "SOURCE.md")
    differences = []
    for name in COPIES:
        copy = reference / name
        if not copy.exists():
            differences.append(Difference(name, "missing"))
            continue
        original = originals / name
        if originals.is_dir():
            if not original.exists():
                differences.append(Difference(name, f"no original at {original}"))
            elif _files(copy) != _files(original):
                differences.append(Difference(name, f"differs from {original}"))
        expected = digests.get(name)
        if expected is None:
            differences.append(Difference(name, "no sha256 recorded in reference/SOURCE.md"))
        elif _sha256(copy) != expected:
            differences.append(
                Difference(name, f"sha256 {_sha256(copy)} is not the {expected} recorded in SOURCE.md")
            )
    return differences


def main() -> int:
    """Run the check; 0 when every copy is right, 1 otherwise."""
    differences = check_reference()
    shared = REPO_ROOT.parent / "shared" / "reference"
    against = f"{shared} and SOURCE.md" if shared.is_dir() else "the digests of SOURCE.md"
    failed = {difference.name for difference in differences}
    for name in COPIES:
        if name not in failed:
            print(f"ok   reference/{name} (checked against {against})")
    for difference in differences:
        print(f"FAIL {difference}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
