"""A HeyGen argument fed by a missing XCom says which XCom of which task; parse-time errors name the task."""

from __future__ import annotations

from datetime import datetime

import pytest
from airflow.sdk import DAG

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.operators.heygen import HeyGenPublishVideoOperator, HeyGenVideoTranslationOperator
from airflow_heygen.operators.v3 import HeyGenVideoOperator
from airflow_heygen.templating import check_xcom_values, xcom_origins


def test_a_missing_xcom_is_named_with_the_way_to_reach_a_language() -> None:
    with DAG("xcom_origins", schedule=None, start_date=datetime(2026, 1, 1)):
        translate = HeyGenVideoTranslationOperator(
            task_id="translate", video_url="https://media.example.test/v.mp4", output_languages=["es"]
        )
        # What Airflow makes of translate.output["video_urls"]["es"]: XCom key "es".
        publish = HeyGenPublishVideoOperator(
            task_id="publish", video_url=translate.output["video_urls"]["es"], destination="/tmp/v.mp4"
        )

    origins = xcom_origins(publish)
    assert origins == {"video_url": ("translate", "es", True)}
    publish.video_url = None  # what rendering a missing XCom gives
    with pytest.raises(HeyGenInputError) as raised:
        check_xcom_values(publish, origins)
    message = str(raised.value)
    assert message.startswith("video_url: is required, but it comes from XCom 'es' of task 'translate'")
    assert "translate.output['video_url_es']" in message


def test_parse_time_errors_name_the_task() -> None:
    with pytest.raises(HeyGenInputError, match=r"^task 'welcome_video': poll_interval: "):
        HeyGenVideoOperator(
            task_id="welcome_video", avatar_id="a", script="hi", voice_id="v", poll_interval=0
        )
