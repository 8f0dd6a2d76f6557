"""
A person approves a generated video before it goes out: avatar video -> face swap -> review copy ->
approval -> publish.

The face swap's result is first copied to a private review folder (with its preview image), then an
``ApprovalOperator`` asks a person: its body shows the preview (served by the HeyGen view in the Airflow
UI) and links the face swap's HeyGen tab. "Approve" publishes the video to its destination; "Reject"
skips publishing (the task shows as skipped). Nothing is deleted either way, and the answer, who gave it
and when are kept in the run (the approval task's "Required Actions", its hitlDetails in the REST API).
While it waits, the approval holds no worker, triggerer or pool slot (Airflow 3.3's ``awaiting_input``).

Answer in the UI (the run's "Required Actions") or through the REST API::

    PATCH /api/v2/dags/heygen_review_then_publish/dagRuns/{run_id}/taskInstances/review/-1/hitlDetails
    {"chosen_options": ["Approve"], "params_input": {}}

Params: as ``heygen_avatar_faceswap_publish`` (``avatar_id``, ``audio_url``, ``face_url``,
``destination``, ``heygen_conn_id``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, AssetAlias, Param

from airflow_heygen.links.view import task_instance_view
from airflow_heygen.operators.heygen import (
    AvatarInferenceOperator,
    FaceswapOperator,
    HeyGenPublishVideoOperator,
)

MEDIA = "var.value.get('heygen_media_base_url', conn.get(params.heygen_conn_id).host ~ '/samples')"
PUBLISH_ROOT = "var.value.get('heygen_publish_root', 'file:///tmp/heygen-videos')"
RUN_NAME = "run_id | replace(':', '-') | replace('+', '_')"
DEFAULT_DESTINATION = f"{PUBLISH_ROOT} ~ '/reviewed/' ~ {RUN_NAME} ~ '.mp4'"
REVIEW_COPY = f"{PUBLISH_ROOT} ~ '/review/' ~ {RUN_NAME} ~ '.mp4'"
HEYGEN_WAIT = {"deferrable": True, "poll_interval": 5, "timeout": 900}
# HeyGen keeps a finished video's URL for days, not forever: publishing downloads it again after the
# answer, so a review left open longer than this ends with the default answer, "Reject".
REVIEW_WINDOW = timedelta(days=3)
REVIEW_BODY = """\
The face swap of run `{{ run_id }}` is ready for review.

![The video's middle frame]({{ heygen_view(dag.dag_id, run_id, 'review_copy').preview }})

- Watch it in the [HeyGen view of the face swap]({{ heygen_view(dag.dag_id, run_id, 'faceswap').tab }})
  or the [review copy]({{ heygen_view(dag.dag_id, run_id, 'review_copy').tab }}).
- HeyGen execution: `{{ ti.xcom_pull(task_ids='faceswap')['execution_id'] }}`
- Approve publishes it to `{{ params.destination or DESTINATION }}`; Reject publishes nothing.
""".replace("DESTINATION", DEFAULT_DESTINATION)

with DAG(
    dag_id="heygen_review_then_publish",
    description="Avatar video -> face swap -> a person approves -> publish",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["heygen", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    user_defined_macros={"heygen_view": task_instance_view},
    params={
        "heygen_conn_id": Param("heygen_default", type="string"),
        "avatar_id": Param("Angela-inblackskirt-20220820", type="string", description="HeyGen avatar id"),
        "audio_url": Param("", type="string", description="Speech audio URL (empty: sample speech)"),
        "face_url": Param("", type="string", description="Face photo URL (empty: sample face)"),
        "destination": Param(
            "", type="string", description="Where to publish (empty: under heygen_publish_root)"
        ),
    },
):
    avatar = AvatarInferenceOperator(
        task_id="avatar_video",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        avatar_id="{{ params.avatar_id }}",
        audio_urls=f"{{{{ params.audio_url or {MEDIA} ~ '/speech.wav' }}}}",
        **HEYGEN_WAIT,
    )
    faceswap = FaceswapOperator(
        task_id="faceswap",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        source_image_url=f"{{{{ params.face_url or {MEDIA} ~ '/face.jpg' }}}}",
        target_video_url=avatar.output["video_url"],
        **HEYGEN_WAIT,
    )
    review_copy = HeyGenPublishVideoOperator(
        task_id="review_copy",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        video_url=faceswap.output["video_url"],
        destination=f"{{{{ {REVIEW_COPY} }}}}",
        preview=True,
        overwrite=True,
        # Its own alias: a review copy is not a published video, so it must not schedule the DAGs that
        # consume those (heygen_video_manifest).
        outlets=[AssetAlias("heygen_review_copies")],
    )
    review = ApprovalOperator(
        task_id="review",
        subject="Publish the face swap of {{ run_id }}?",
        body=REVIEW_BODY,
        defaults="Reject",
        response_timeout=REVIEW_WINDOW,
        retries=0,
    )
    publish = HeyGenPublishVideoOperator(
        task_id="publish",
        heygen_conn_id="{{ params.heygen_conn_id }}",
        video_url=faceswap.output["video_url"],
        destination=f"{{{{ params.destination or {DEFAULT_DESTINATION} }}}}",
        preview=True,
    )
    faceswap >> review_copy >> review >> publish
