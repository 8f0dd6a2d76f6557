"""The one classification of HeyGen's failures, and the error each class makes a task raise."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_heygen.exceptions import HeyGenExecutionError, HeyGenFailedForGoodError
from airflow_heygen.failures import Failure, FailureClass, classify, failed_job_error
from airflow_heygen.job import job_from_bulk_entry, job_from_single
from airflow_heygen.models import Execution


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("download_failed", "input.source_image_url could not be fetched: HTTP 404", FailureClass.PERMANENT),
        ("no_face_detected", None, FailureClass.PERMANENT),
        ("multiple_faces_detected", None, FailureClass.PERMANENT),
        ("internal_error", "No face detected", FailureClass.TRANSIENT),  # the code decides
        ("workflow_timeout", "Workflow execution timed out after 300s", FailureClass.TRANSIENT),
        ("mystery_code", "the render node crashed", FailureClass.UNKNOWN),  # an unknown code is unknown
        (None, "No face detected in the source image", FailureClass.PERMANENT),
        (None, "more than one face found in the source image (2)", FailureClass.PERMANENT),
        (None, "could not download the image: timed out", FailureClass.PERMANENT),  # permanent wins
        (None, "Face swap failed: the render node crashed", FailureClass.TRANSIENT),
        (None, "something odd", FailureClass.UNKNOWN),
        (None, None, FailureClass.UNKNOWN),
    ],
)
def test_classify(code: str | None, message: str | None, expected: FailureClass) -> None:
    assert classify(code, message) is expected


def test_permanent_and_unknown_failures_are_not_retried() -> None:
    for failure in (Failure("no_face_detected", "No face"), Failure("odd_code", "odd")):
        error = failed_job_error("HeyGen video v1", "v1", failure, resubmit_failed=False)
        assert isinstance(error, HeyGenFailedForGoodError) and isinstance(error, AirflowFailException)
        assert "resubmit_failed=True" in str(error) and "v1" in str(error)


def test_transient_failures_and_resubmit_failed_are_retried() -> None:
    transient = failed_job_error(
        "HeyGen video v1", "v1", Failure("internal_error", "x"), resubmit_failed=False
    )
    forced = failed_job_error("HeyGen video v1", "v1", Failure("no_face_detected", "x"), resubmit_failed=True)
    for error in (transient, forced):
        assert isinstance(error, HeyGenExecutionError) and not isinstance(error, AirflowFailException)
    assert "a retry of this task submits a new job" in str(transient)
    assert "resubmit_failed=True: a retry of this task submits (and pays for) a new job" in str(forced)


def test_a_sensor_never_retries_a_failed_job() -> None:
    error = failed_job_error(
        "HeyGen video v1", "v1", Failure("internal_error", "x"), resubmit_failed=False, can_resubmit=False
    )
    assert isinstance(error, AirflowFailException)


def test_codes_are_read_from_every_shape() -> None:
    single = job_from_single(
        "video", {"status": "failed", "failure_code": "no_face_detected", "failure_message": "m"}, "v"
    )
    bulk = job_from_bulk_entry(
        "video", {"video_id": "v", "status": "failed", "error": {"code": "download_failed", "message": "m"}}
    )
    execution = job_from_single(
        "workflow", {"status": "failed", "error": {"code": "workflow_timeout", "message": "m"}}, "e"
    )
    assert single.failed == Failure("no_face_detected", "m")
    assert bulk.failed == Failure("download_failed", "m")
    assert execution.failed == Failure("workflow_timeout", "m")
    assert Execution.from_result(execution.to_result()).failed == execution.failed, "a trigger event keeps it"
