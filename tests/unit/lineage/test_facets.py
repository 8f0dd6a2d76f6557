"""
The facets each operator builds, called as the listener calls them, checked against OpenLineage's
schemas and ours, and the facet schema itself. (No OpenLineage at parse time: tests/unit/operators.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from airflow_heygen.lineage.facets import FACET_SCHEMA_URL, PRODUCER, HeyGenJobRunFacet, operator_lineage
from airflow_heygen.lineage.report import LineageReport, task_error
from airflow_heygen.operators.campaign import HeyGenCampaignOperator
from airflow_heygen.operators.heygen import FaceswapOperator
from airflow_heygen.operators.publish import HeyGenPublishVideoOperator
from airflow_heygen.operators.v3 import HeyGenVideoTranslationOperator
from airflow_heygen.sensors.jobs import HeyGenJobSensor
from tests.unit.lineage.schemas import OUR_SCHEMA, SPEC_URL, _errors, facet_ids


def as_json(facet: Any) -> dict[str, Any]:
    from openlineage.client.serde import Serde

    return json.loads(Serde.to_json(facet))


def checked(facet: Any, name: str) -> dict[str, Any]:
    """A facet as the listener serializes it, valid against its schema of the copy."""
    data = as_json(facet)
    assert _errors(data, f"{facet_ids()[name]}#/$defs/{name}") == []
    return data


class FakeTI:
    """The listener's task instance, as far as the facets read it."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error

    def get_template_context(self) -> dict[str, Any]:
        return {"exception": self.error}


@pytest.fixture(autouse=True)
def heygen_host(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "heygen", "host": "https://api.heygen.com", "password": "k"}
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", json.dumps(conn))


def test_the_facet_schema_is_a_valid_2020_12_schema_extending_run_facet() -> None:
    schema = json.loads(OUR_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    definition = schema["$defs"]["HeyGenJobRunFacet"]
    assert definition["allOf"][0] == {"$ref": f"{SPEC_URL}#/$defs/RunFacet"}
    assert f"{schema['$id']}#/$defs/HeyGenJobRunFacet" == FACET_SCHEMA_URL


def test_the_facet_needs_producer_and_schema_url_and_refuses_unknown_fields() -> None:
    facet = checked(HeyGenJobRunFacet(kind="video", job_ids=["v1"], cost_usd=1.5), "HeyGenJobRunFacet")
    assert facet["_producer"] == PRODUCER and facet["_schemaURL"] == FACET_SCHEMA_URL
    bad = {**facet, "output_seconds": -1}
    assert _errors(bad, FACET_SCHEMA_URL) != []
    assert _errors({k: v for k, v in facet.items() if k != "_producer"}, FACET_SCHEMA_URL) != []


def test_a_translation_reports_every_language_and_the_summed_seconds_and_costs() -> None:
    task = HeyGenVideoTranslationOperator(
        task_id="t", video_url="https://cdn.example.com/v.mp4", output_languages=["es", "fr"]
    )
    task.job_ids = ["t1", "t2"]
    task.heygen_result = {
        "kind": "video_translation",
        "ids": ["t1", "t2"],
        "status": "completed",
        "items": [
            {"id": "t1", "status": "completed", "output": {"duration": 10.0}},
            {"id": "t2", "status": "completed", "output": {"duration": 12.5}},
        ],
        "estimated_cost_usd": 1.0,
        "cost_usd": 1.125,
        "rate": "$0.05/s",
    }

    lineage = task.get_openlineage_facets_on_complete(FakeTI())

    assert [(d.namespace, d.name) for d in lineage.inputs] == [("https://cdn.example.com", "/v.mp4")]
    assert [d.name for d in lineage.outputs] == ["video-translations/t1", "video-translations/t2"]
    assert {d.namespace for d in lineage.outputs} == {"heygen://api.heygen.com"}
    job = checked(lineage.run_facets["heygenJob"], "HeyGenJobRunFacet")
    assert job["statuses"] == ["completed", "completed"] and job["output_seconds"] == 22.5
    assert (job["estimated_cost_usd"], job["cost_usd"], job["rate"]) == (1.0, 1.125, "$0.05/s")
    assert checked(lineage.run_facets["externalQuery"], "ExternalQueryRunFacet")["externalQueryId"] == "t1,t2"


def test_a_failed_job_reports_its_inputs_the_error_and_no_output() -> None:
    task = FaceswapOperator(
        task_id="f",
        source_image_url="https://c.example.com/f.jpg",
        target_video_url="https://c.example.com/t.mp4",
    )
    task.job_ids = ["e1"]
    try:
        raise RuntimeError("no_face_detected")
    except RuntimeError as err:
        error = err

    lineage = task.get_openlineage_facets_on_failure(FakeTI(error))

    assert len(lineage.inputs) == 2 and lineage.outputs == []
    message = checked(lineage.run_facets["errorMessage"], "ErrorMessageRunFacet")
    assert message["message"] == "no_face_detected" and "RuntimeError" in message["stackTrace"]
    assert lineage.run_facets["heygenJob"].job_ids == ["e1"]


def test_an_invalid_request_reports_no_input_rather_than_failing() -> None:
    task = FaceswapOperator(task_id="f", source_image_url="not a url", target_video_url="x")
    lineage = task.get_openlineage_facets_on_failure(FakeTI(ValueError("bad")))
    assert lineage.inputs == [] and lineage.outputs == []
    assert "externalQuery" not in lineage.run_facets


def test_a_sensor_reads_the_job_it_watched() -> None:
    sensor = HeyGenJobSensor(task_id="s", kind="lipsync", job_id="l1")
    sensor.heygen_result = {"kind": "lipsync", "id": "l1", "status": "completed", "output": {"duration": 3}}
    lineage = sensor.get_openlineage_facets_on_complete(FakeTI())
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("heygen://api.heygen.com", "lipsyncs/l1")]
    assert lineage.outputs == []
    assert checked(lineage.run_facets["heygenJob"], "HeyGenJobRunFacet")["output_seconds"] == 3


def test_the_publisher_reads_the_url_and_writes_the_file_and_preview_only_on_success(tmp_path: Any) -> None:
    task = HeyGenPublishVideoOperator(
        task_id="p", video_url="https://cdn.heygen.ai/v/abc.mp4?token=x", destination="s3://b/v/ada.mp4"
    )
    task.heygen_result = {"uri": "s3://b/v/ada.mp4", "preview_uri": "s3://b/v/ada.png", "bytes": 1}
    done = task.get_openlineage_facets_on_complete(FakeTI())
    assert [(d.namespace, d.name) for d in done.inputs] == [("https://cdn.heygen.ai", "/v/abc.mp4")]
    assert [(d.namespace, d.name) for d in done.outputs] == [("s3://b", "v/ada.mp4"), ("s3://b", "v/ada.png")]
    failed = task.get_openlineage_facets_on_failure(FakeTI(OSError("denied")))
    assert failed.outputs == [], "a failed publish leaves nothing at the destination"


def test_a_campaign_given_items_as_a_list_reports_no_input_and_its_counts(tmp_path: Any) -> None:
    task = HeyGenCampaignOperator(
        task_id="c",
        kind="video",
        items=[{"id": "a"}],
        request={"type": "avatar"},
        manifest="s3://bucket/runs/manifest.jsonl",
        publish_to=str(tmp_path / "videos"),
    )
    task.heygen_result = {
        "total": 2,
        "completed": 1,
        "failed": 1,
        "in_doubt": 0,
        "skipped": 0,
        "cost_usd": 2.0,
    }

    lineage = task.get_openlineage_facets_on_complete(FakeTI())

    assert lineage.inputs == []
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("s3://bucket", "runs/manifest.jsonl"),
        ("file", str(tmp_path / "videos")),
    ]
    job = checked(lineage.run_facets["heygenJob"], "HeyGenJobRunFacet")
    assert job["items"]["failed"] == 1 and job["cost_usd"] == 2.0


def test_task_error_of_a_task_instance_without_a_context() -> None:
    assert task_error(object()) is None
    assert (
        operator_lineage(LineageReport(), "plain message").run_facets["errorMessage"].message
        == "plain message"
    )


def test_heygen_objects_are_named_by_the_api_the_task_talked_to() -> None:
    sensor = HeyGenJobSensor(task_id="s", kind="video", job_id="v1")
    sensor.heygen_api_url = "http://127.0.0.1:8765"  # what closing its hook records
    (watched,) = sensor.get_openlineage_facets_on_complete(FakeTI()).inputs
    assert (watched.namespace, watched.name) == ("heygen://127.0.0.1:8765", "videos/v1")
