"""
Personalized videos with HeyGen API v3, per customer: upload the customer's photo (an asset) ->
an avatar video speaking the customer's script or audio (v3) -> face swap of the photo into it
(workflows API: v3 has no face swap) -> translation into every language (v3, one job per
language) -> publish every language's video.

Every step is mapped over the customers (``params.customers``: a list of ``{"name", "photo",
"script"}`` or ``{"name", "photo", "audio_url"}``; ``photo`` is any object-storage path or URL:
``s3://bucket/faces/ada.jpg``, ``file:///data/ada.png``, ``https://...``). With the defaults, the
customers' photos and audio are the sample media of the connection's host (the emulator's). The
HeyGen tasks run in the ``heygen`` pool (``airflow pools set heygen 4 "HeyGen jobs"
--include-deferred``), wait in the triggerer, and retry: every v3 create carries an
``Idempotency-Key``, so a retry never pays for a second job (``docs/v3.md``).

Videos are published to ``<Variable heygen_publish_root>/v3_personalized/<run id>/<name>.<lang>.mp4``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_heygen.operators.heygen import FaceswapOperator, HeyGenPublishVideoOperator
from airflow_heygen.operators.v3 import (
    HeyGenUploadAssetOperator,
    HeyGenVideoOperator,
    HeyGenVideoTranslationOperator,
)

HEYGEN_POOL = "heygen"
HEYGEN = {
    "heygen_conn_id": "{{ params.heygen_conn_id }}",
    "pool": HEYGEN_POOL,
    "deferrable": True,
    "poll_interval": 5,
    "timeout": 1800,
}


@task
def plan_customers(params: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per customer, with a file-safe name; the samples of the connection's host by default."""
    from airflow.sdk import BaseHook

    customers: list[dict[str, Any]] = list(params["customers"])
    samples = (BaseHook.get_connection(params["heygen_conn_id"]).host or "").rstrip("/") + "/samples"
    if not customers:
        customers = [
            {"name": "ada", "photo": f"{samples}/face.jpg", "script": "Hello Ada, your order has shipped."},
            {"name": "grace", "photo": f"{samples}/face2.jpg", "audio_url": f"{samples}/speech.wav"},
        ]
    plan = []
    for number, customer in enumerate(customers, start=1):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(customer.get("name") or "")).strip("-.")
        if not name or not customer.get("photo"):
            raise ValueError(f"customers[{number}]: needs a non-empty 'name' and 'photo', got {customer!r}")
        if bool(customer.get("script")) == bool(customer.get("audio_url")):
            raise ValueError(f"customers[{number}] ({name}): give exactly one of 'script' and 'audio_url'")
        plan.append({**customer, "name": name, "languages": list(params["languages"])})
    return plan


def speech(customer: dict[str, Any]) -> dict[str, Any]:
    """The avatar video's speech: the customer's script (with the DAG's voice) or audio."""
    if customer.get("script"):
        return {"script": customer["script"], "voice_id": customer.get("voice_id") or "default"}
    return {"audio_url": customer["audio_url"]}


def swap(pair: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, str]:
    """The face swap of one customer: their uploaded photo into their avatar video."""
    asset, video = pair
    return {"source_image_url": asset["url"], "target_video_url": video["video_url"]}


def translation(pair: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """The translation of one customer's swapped video into the DAG's languages."""
    swapped, customer = pair
    return {"video_url": swapped["video_url"], "output_languages": customer["languages"]}


@task
def plan_publishing(
    translations: list[dict[str, Any]], customers: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """One publish per customer and language."""
    from airflow.sdk import Variable, get_current_context

    root = Variable.get("heygen_publish_root", default="file:///tmp/heygen-videos").rstrip("/")
    run = re.sub(r"[^A-Za-z0-9_.-]+", "-", get_current_context()["run_id"])
    return [
        {"video_url": url, "destination": f"{root}/v3_personalized/{run}/{customer['name']}.{language}.mp4"}
        for translated, customer in zip(translations, customers, strict=True)
        for language, url in translated["video_urls"].items()
    ]


with DAG(
    dag_id="heygen_v3_personalized",
    description="Photo asset -> v3 avatar video -> face swap -> v3 translations -> publish, per customer",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["heygen", "example", "v3"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    params={
        "heygen_conn_id": Param("heygen_default", type="string"),
        "avatar_id": Param("Angela-inblackskirt-20220820", type="string", description="HeyGen avatar id"),
        "customers": Param(
            [], type="array", description='[{"name", "photo", "script" or "audio_url"}] (empty: samples)'
        ),
        "languages": Param(["es", "fr"], type="array", minItems=1, description="Output languages"),
    },
) as dag:
    customers = plan_customers()
    photos = HeyGenUploadAssetOperator.partial(
        task_id="upload_photo", heygen_conn_id="{{ params.heygen_conn_id }}", pool=HEYGEN_POOL
    ).expand(source=customers.map(lambda customer: customer["photo"]))
    videos = HeyGenVideoOperator.partial(
        task_id="avatar_video", avatar_id="{{ params.avatar_id }}", title="{{ run_id }}", **HEYGEN
    ).expand_kwargs(customers.map(speech))
    swapped = FaceswapOperator.partial(task_id="faceswap", **HEYGEN).expand_kwargs(
        photos.output.zip(videos.output).map(swap)
    )
    translated = HeyGenVideoTranslationOperator.partial(task_id="translate", **HEYGEN).expand_kwargs(
        swapped.output.zip(customers).map(translation)
    )
    HeyGenPublishVideoOperator.partial(
        task_id="publish", heygen_conn_id="{{ params.heygen_conn_id }}", preview=True
    ).expand_kwargs(plan_publishing(translated.output, customers))
