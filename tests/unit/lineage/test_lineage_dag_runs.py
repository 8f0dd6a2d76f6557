"""
OpenLineage end to end: test DAGs run with ``dag.test()`` against the emulator while the OpenLineage
provider's real listener writes every event to a file; each event of our tasks is checked against
OpenLineage's JSON schema, its facet schemas and the provider's ``heygenJob`` schema, and carries the
datasets the task read and made.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from airflow_heygen.emulator.testing import EmulatorHandle
from airflow_heygen.lineage.datasets import heygen_namespace, url_dataset
from airflow_heygen.lineage.facets import FACET_SCHEMA_URL, PRODUCER
from tests.unit.dag_runs import run_test_dag
from tests.unit.lineage.conftest import OpenLineageEvents
from tests.unit.lineage.schemas import checked_facet_names, validate_event

pytestmark = pytest.mark.usefixtures("airflow_db")


def datasets(event: dict[str, Any], side: str) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in event.get(side) or []]


def url_ref(url: str) -> tuple[str, str]:
    ref = url_dataset(url)
    assert ref is not None
    return ref.namespace, ref.name


def assert_valid(events: OpenLineageEvents, dag_id: str, task_ids: list[str]) -> None:
    """Every event of these tasks is valid; the last one's heygenJob (when present) was checked too."""
    for task_id in task_ids:
        task_events = events.of_task(dag_id, task_id)
        assert {e["eventType"] for e in task_events} >= {"START"}, task_events
        for event in task_events:
            assert validate_event(event) == [], (task_id, event["eventType"])
        final = events.final(dag_id, task_id)
        if "heygenJob" in final["run"]["facets"]:
            assert "heygenJob" in checked_facet_names(final)


def test_face_swap_then_publish_report_media_in_and_the_execution_and_file_out(
    emulator: EmulatorHandle, openlineage_events: OpenLineageEvents, tmp_path: Path
) -> None:
    destination = tmp_path / "published" / "ada.mp4"
    dag_id = "heygen_lineage_faceswap_publish"

    run = run_test_dag(dag_id, {"destination": str(destination)})

    assert run.state == "success"
    assert_valid(openlineage_events, dag_id, ["faceswap", "publish"])
    swap = openlineage_events.final(dag_id, "faceswap")
    assert swap["eventType"] == "COMPLETE"
    namespace = heygen_namespace(emulator.base_url)
    assert datasets(swap, "inputs") == [
        url_ref(emulator.sample_url("face.jpg")),
        url_ref(emulator.sample_url("target.mp4")),
    ]
    (execution,) = datasets(swap, "outputs")
    assert execution[0] == namespace and execution[1].startswith("workflows/executions/")
    execution_id = execution[1].rsplit("/", 1)[1]
    facets = swap["run"]["facets"]
    assert facets["externalQuery"]["externalQueryId"] == execution_id
    assert facets["externalQuery"]["source"] == "heygen"
    job = facets["heygenJob"]
    assert job["_schemaURL"] == FACET_SCHEMA_URL and job["_producer"] == PRODUCER
    assert job["kind"] == "workflow" and job["workflow_type"] == "FaceswapNode"
    assert job["job_ids"] == [execution_id] and job["statuses"] == ["completed"]

    publish = openlineage_events.final(dag_id, "publish")
    assert publish["eventType"] == "COMPLETE"
    (video_in,) = datasets(publish, "inputs")
    assert video_in[0].startswith("http://127.0.0.1:"), "the HeyGen video's URL, read by the publisher"
    assert datasets(publish, "outputs") == [("file", str(destination))]


def test_v3_upload_video_and_sensors(
    emulator: EmulatorHandle, openlineage_events: OpenLineageEvents, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes((Path(emulator.data_dir) / "samples" / "face.jpg").read_bytes())
    dag_id = "heygen_v3_upload_and_sense"

    run = run_test_dag(dag_id, {"photo": str(photo)})

    assert run.state == "success"
    tasks = ["upload", "video", "wait_sync", "wait_deferred"]
    assert_valid(openlineage_events, dag_id, tasks)
    namespace = heygen_namespace(emulator.base_url)
    upload = openlineage_events.final(dag_id, "upload")
    assert datasets(upload, "inputs") == [("file", str(photo))]
    ((asset_namespace, asset_name),) = datasets(upload, "outputs")
    assert asset_namespace == namespace and asset_name.startswith("assets/")

    video = openlineage_events.final(dag_id, "video")
    assert datasets(video, "inputs") == [url_ref(emulator.sample_url("speech.wav"))]
    ((_, video_name),) = datasets(video, "outputs")
    assert video_name.startswith("videos/")
    video_id = video_name.split("/", 1)[1]
    assert video["run"]["facets"]["externalQuery"]["externalQueryId"] == video_id
    assert video["run"]["facets"]["heygenJob"]["kind"] == "video"

    for sensor in ("wait_sync", "wait_deferred"):
        sensed = openlineage_events.final(dag_id, sensor)
        assert datasets(sensed, "inputs") == [(namespace, video_name)], "the sensor reads the video"
        assert datasets(sensed, "outputs") == []
        job = sensed["run"]["facets"]["heygenJob"]
        assert job["job_ids"] == [video_id] and job["statuses"] == ["completed"]


def test_a_campaign_reports_its_files_never_its_items(
    emulator: EmulatorHandle, openlineage_events: OpenLineageEvents, tmp_path: Path
) -> None:
    items = tmp_path / "faces.csv"
    with items.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["customer_id", "face_url"])
        writer.writeheader()
        writer.writerows(
            {"customer_id": f"c{n}", "face_url": emulator.sample_url("face.jpg")} for n in range(3)
        )
    conf = {
        "items": str(items),
        "publish_to": f"file://{tmp_path}/videos",
        "manifest": f"file://{tmp_path}/manifest.jsonl",
        "max_failed": 0,
    }
    dag_id = "heygen_campaign_faceswap"

    run = run_test_dag(dag_id, conf)

    assert run.state == "success"
    assert_valid(openlineage_events, dag_id, ["personalize"])
    event = openlineage_events.final(dag_id, "personalize")
    assert datasets(event, "inputs") == [("file", str(items))]
    assert datasets(event, "outputs") == [
        ("file", f"{tmp_path}/manifest.jsonl"),
        ("file", f"{tmp_path}/videos"),
    ]
    job = event["run"]["facets"]["heygenJob"]
    assert job["kind"] == "faceswap"
    assert job["items"] == {"total": 3, "completed": 3, "failed": 0, "in_doubt": 0, "skipped": 0}
    assert "job_ids" not in job and "externalQuery" not in event["run"]["facets"]


def test_a_failed_job_reports_its_error_and_no_video(
    emulator: EmulatorHandle, openlineage_events: OpenLineageEvents
) -> None:
    emulator.set_faults(fail_next=["no_face_detected"])
    dag_id = "heygen_failed_faceswap_deferrable"

    run = run_test_dag(dag_id)

    assert run.state == "failed"
    assert_valid(openlineage_events, dag_id, ["faceswap"])
    event = openlineage_events.final(dag_id, "faceswap")
    assert event["eventType"] == "FAIL"
    facets = event["run"]["facets"]
    assert "no_face_detected" in facets["errorMessage"]["message"]
    assert facets["errorMessage"]["programmingLanguage"] == "python"
    assert "errorMessage" in checked_facet_names(event)
    assert len(datasets(event, "inputs")) == 2, "the media it read"
    assert datasets(event, "outputs") == [], "a failed job made no video"
    assert facets["externalQuery"]["externalQueryId"] == facets["heygenJob"]["job_ids"][0]


def test_a_deferred_v3_video_reports_its_costs_from_the_resumed_instance(
    emulator: EmulatorHandle, openlineage_events: OpenLineageEvents
) -> None:
    dag_id = "heygen_v3_video_deferrable"

    run = run_test_dag(dag_id)

    assert run.state == "success"
    assert_valid(openlineage_events, dag_id, ["video"])
    event = openlineage_events.final(dag_id, "video")
    assert datasets(event, "inputs") == [url_ref(emulator.sample_url("speech.wav"))]
    ((_, name),) = datasets(event, "outputs")
    job = event["run"]["facets"]["heygenJob"]
    assert job["job_ids"] == [name.split("/", 1)[1]] and job["statuses"] == ["completed"]
    assert job["output_seconds"] > 0
    assert job["cost_usd"] > 0 and job["rate"]
    (ti,) = run.get_task_instances()
    result = ti.xcom_pull(task_ids="video")
    # The task's own figures (no estimate without a cost limit: the audio's length was not read).
    assert {key: job.get(key) for key in ("estimated_cost_usd", "cost_usd", "rate")} == {
        key: result[key] for key in ("estimated_cost_usd", "cost_usd", "rate")
    }
