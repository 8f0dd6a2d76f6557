"""DAGs of the spend tests (``dag.test()``): creates over a cap, for every way of waiting and a campaign."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_heygen.operators.heygen import HeyGenCampaignOperator, HeyGenVideoOperator

SAMPLES = "{{ conn.heygen_default.host }}/samples"
START = datetime(2026, 1, 1)
VIDEO = {"avatar_id": "Angela-inblackskirt-20220820", "audio_url": f"{SAMPLES}/speech.wav"}

# The sample speech lasts 3 s: an avatar video of it is estimated at 3 x $0.0667 = $0.20.
for _mode, _deferrable in (("sync", False), ("deferrable", True)):
    for _cap_name, _cap in (("over_cap", 0.1), ("under_cap", 0.5)):
        with DAG(f"heygen_spend_video_{_mode}_{_cap_name}", schedule=None, start_date=START) as _dag:
            HeyGenVideoOperator(
                task_id="video",
                max_cost_usd=_cap,
                deferrable=_deferrable,
                poll_interval=0.05,
                timeout=60,
                **VIDEO,
            )
        globals()[f"spend_video_{_mode}_{_cap_name}"] = _dag

with DAG(
    "heygen_spend_campaign", schedule=None, start_date=START, params={"items": "", "cap": 1.0}
) as spend_campaign:
    HeyGenCampaignOperator(
        task_id="personalize",
        kind="video",
        items="{{ params['items'] }}",
        item_id="customer_id",
        request={
            "type": "avatar",
            "avatar_id": "Angela-inblackskirt-20220820",
            "audio_url": f"{SAMPLES}/speech.wav",
        },
        manifest="",
        max_cost_usd=1.0,
        poll_interval=0.2,
        timeout=300,
    )
