"""The copies of HeyGen's API descriptions under ``reference/`` are intact (scripts/check_reference.py)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]


def _load_checker() -> ModuleType:
    # scripts/ is not a package: load the script itself, so the test runs exactly what CI runs.
    spec = importlib.util.spec_from_file_location("check_reference", REPO_ROOT / "scripts/check_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


def test_copies_match_their_originals_or_recorded_digests() -> None:
    # Beside a checkout with ../shared this compares with the originals; in a clone, with SOURCE.md.
    assert checker.check_reference() == []


def test_every_copy_has_a_recorded_digest() -> None:
    digests = checker.recorded_digests(REPO_ROOT / "reference/SOURCE.md")
    assert set(digests) == set(checker.COPIES)
    for name, digest in digests.items():
        assert checker._sha256(REPO_ROOT / "reference" / name) == digest


def test_a_changed_file_inside_a_copied_folder_is_named(tmp_path: Path) -> None:
    repo = _fake_repo(tmp_path)
    (repo / "reference/openlineage/facets/ErrorMessageRunFacet.json").write_bytes(b"{}")
    differences = checker.check_reference(repo, shared=tmp_path / "no-originals")
    assert [d.name for d in differences] == ["openlineage"]


def _fake_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "reference", repo / "reference")
    return repo


def test_a_drifted_copy_is_named_without_originals(tmp_path: Path) -> None:
    repo = _fake_repo(tmp_path)
    (repo / "reference/heygen-workflows-openapi.json").write_bytes(b"{}")
    differences = checker.check_reference(repo)
    assert [d.name for d in differences] == ["heygen-workflows-openapi.json"]
    assert "SOURCE.md" in differences[0].reason


def test_a_copy_differing_from_its_original_is_named(tmp_path: Path) -> None:
    repo = _fake_repo(tmp_path)
    shared = tmp_path / "shared" / "reference"
    shutil.copytree(REPO_ROOT / "reference", shared)
    (shared / "heygen-v3/operations.json").write_bytes(b'{"operations": []}')
    differences = checker.check_reference(repo)
    assert [d.name for d in differences] == ["heygen-v3/operations.json"]
    assert "differs from" in differences[0].reason


def test_a_missing_copy_is_named(tmp_path: Path) -> None:
    repo = _fake_repo(tmp_path)
    (repo / "reference/heygen-v3/operations.json").unlink()
    assert [str(d) for d in checker.check_reference(repo)] == ["reference/heygen-v3/operations.json: missing"]
