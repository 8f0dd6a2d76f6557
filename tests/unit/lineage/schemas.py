"""
Offline validation of OpenLineage events: OpenLineage's JSON schema and facet schemas (the copy in
``reference/openlineage`` in this repository, Draft 2020-12) and the provider's ``heygenJob`` schema, in one
``referencing`` registry so that the ``$ref`` s between them resolve without a network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import airflow_heygen.lineage

REFERENCE = Path(__file__).resolve().parents[3] / "reference" / "openlineage"
SPEC_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
OUR_SCHEMA = Path(airflow_heygen.lineage.__file__).parent / "HeyGenJobRunFacet.json"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@cache
def registry() -> Registry:
    """Every schema by its ``$id``."""
    paths = [REFERENCE / "OpenLineage.json", *sorted((REFERENCE / "facets").glob("*.json")), OUR_SCHEMA]
    resources = [Resource.from_contents(_load(path)) for path in paths]
    return Registry().with_resources((resource.id(), resource) for resource in resources)  # type: ignore[misc]


@cache
def facet_ids() -> dict[str, str]:
    """The reference facet schemas' ``$id`` by facet name (``ErrorMessageRunFacet``)."""
    ids = {path.stem: _load(path)["$id"] for path in (REFERENCE / "facets").glob("*.json")}
    ids["HeyGenJobRunFacet"] = _load(OUR_SCHEMA)["$id"]
    return ids


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=registry())


def _errors(instance: Any, ref: str) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(ref).iter_errors(instance)
    ]


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, facet name, facet) of every facet of an event: run, job, input and output datasets."""
    for where, facets in (("run", event["run"].get("facets")), ("job", event["job"].get("facets"))):
        for name, facet in (facets or {}).items():
            yield where, name, facet
    for side in ("inputs", "outputs"):
        for dataset in event.get(side) or []:
            for key in ("facets", "inputFacets", "outputFacets"):
                for name, facet in (dataset.get(key) or {}).items():
                    yield f"{side}:{dataset['name']}", name, facet


def validate_event(event: dict[str, Any]) -> list[str]:
    """
    The schema errors of one event: against ``RunEvent`` of the spec, then each facet whose schema is
    OpenLineage's (or ours) against it, named by its ``_schemaURL``. Facets of other producers (the
    Airflow provider's own) have schemas not in the copy: they are left to the spec's ``RunFacet``.
    """
    problems = [f"event {p}" for p in _errors(event, f"{SPEC_URL}#/$defs/RunEvent")]
    for where, name, facet in _facets(event):
        url = facet.get("_schemaURL", "")
        facet_name = url.rsplit("#/$defs/", 1)[-1] if "#/$defs/" in url else ""
        schema_id = facet_ids().get(facet_name)
        if schema_id is None:
            continue
        problems += [f"{where} {name}: {p}" for p in _errors(facet, f"{schema_id}#/$defs/{facet_name}")]
    return problems


def checked_facet_names(event: dict[str, Any]) -> set[str]:
    """The facets of an event that :func:`validate_event` checked against a schema of the copy."""
    names = set()
    for _, name, facet in _facets(event):
        url = facet.get("_schemaURL", "")
        if url.rsplit("#/$defs/", 1)[-1] in facet_ids():
            names.add(name)
    return names
