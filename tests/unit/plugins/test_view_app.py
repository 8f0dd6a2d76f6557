"""
The HeyGen view's app against real records (``dag.test()`` runs on the emulator) and Airflow's own
auth manager and JWTs: what each tab shows, the video streamed with Range support, and who may see
what. Fixtures: ``conftest.py`` of this folder.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.support.view_auth import DENIED_DAG
from tests.unit.plugins.conftest import ViewRuns

pytestmark = pytest.mark.usefixtures("airflow_db")

CAMPAIGN_DAG = "heygen_campaign_faceswap"
FAILED_DAG = "heygen_view_failed"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def video_key(runs: ViewRuns, task_id: str = "video") -> dict[str, Any]:
    return {"dag_id": DENIED_DAG, "run_id": runs.video_run, "task_id": task_id}


def failed_key(runs: ViewRuns) -> dict[str, Any]:
    return {"dag_id": FAILED_DAG, "run_id": runs.failed_run, "task_id": "video"}


def campaign_key(runs: ViewRuns) -> dict[str, Any]:
    return {"dag_id": CAMPAIGN_DAG, "run_id": runs.campaign_run, "task_id": "personalize"}


def manifest_rows(runs: ViewRuns) -> list[dict[str, Any]]:
    return [json.loads(line) for line in runs.manifest.read_text().splitlines()]


ROUTES = ("/heygen/task", "/heygen/api/task", "/heygen/api/campaign", "/heygen/media")


# -- what the tabs show --------------------------------------------------------------------------


def test_a_job_tab_shows_kind_ids_status_timeline_cost_and_where_it_was_published(
    client: Any, tokens: dict[str, str], view_runs: ViewRuns
) -> None:
    # The UI fills {MAP_INDEX} only for mapped tasks: left as it is, it means an unmapped one.
    params = {**video_key(view_runs), "map_index": "{MAP_INDEX}"}
    answer = client.get("/heygen/api/task", params=params, headers=bearer(tokens["admin"]))

    assert answer.status_code == 200
    job = answer.json()["job"]
    assert (job["kind"], job["status"], len(job["job_ids"])) == ("video", "completed", 1)
    assert job["cost_usd"] > 0
    assert [p["uri"] for p in job["published"]] == [view_runs.published.as_uri()]
    steps = [moment["what"] for moment in job["timeline"]]
    assert steps == [
        "try 1 started",
        f"HeyGen job {job['job_ids'][0]} created",
        "HeyGen job completed",
        "task success",
    ]

    page = client.get("/heygen/task", params=params, headers=bearer(tokens["admin"])).text
    assert "<video id='video'" in page and "src='media?" in page and "role=preview" in page
    assert job["job_ids"][0] in page and view_runs.published.as_uri() in page
    assert f"${job['cost_usd']:,.2f}" in page


def test_a_failed_job_shows_heygens_reason(client: Any, tokens: dict[str, str], view_runs: ViewRuns) -> None:
    job = client.get(
        "/heygen/api/task", params=failed_key(view_runs), headers=bearer(tokens["admin"])
    ).json()["job"]

    assert (job["status"], job["failure_code"]) == ("failed", "no_face_detected")
    assert "No face detected" in job["failure"]
    assert job["timeline"][-2:][0]["what"] == "HeyGen job failed"
    page = client.get("/heygen/task", params=failed_key(view_runs), headers=bearer(tokens["admin"])).text
    assert "id='failure'" in page and "No face detected" in page and "no_face_detected" in page


def test_the_published_video_streams_whole_and_by_range(
    client: Any, tokens: dict[str, str], view_runs: ViewRuns
) -> None:
    content = view_runs.published.read_bytes()
    size = len(content)
    url, params, headers = "/heygen/media", video_key(view_runs), bearer(tokens["admin"])

    whole = client.get(url, params=params, headers=headers)
    assert (whole.status_code, whole.headers["content-type"], whole.content) == (200, "video/mp4", content)
    assert whole.headers["accept-ranges"] == "bytes"

    part = client.get(url, params=params, headers={**headers, "Range": "bytes=100-1099"})
    assert (part.status_code, part.headers["content-range"]) == (206, f"bytes 100-1099/{size}")
    assert part.content == content[100:1100]

    tail = client.get(url, params=params, headers={**headers, "Range": "bytes=-500"})
    assert (tail.status_code, tail.content) == (206, content[-500:])
    open_ended = client.get(url, params=params, headers={**headers, "Range": f"bytes={size - 10}-"})
    assert (open_ended.status_code, open_ended.content) == (206, content[-10:])

    past = client.get(url, params=params, headers={**headers, "Range": f"bytes={size}-"})
    assert (past.status_code, past.headers["content-range"]) == (416, f"bytes */{size}")

    preview = client.get(url, params={**params, "role": "preview"}, headers=headers)
    assert (preview.status_code, preview.headers["content-type"]) == (200, "image/png")
    assert preview.content == view_runs.published.with_suffix(".png").read_bytes()
    # The publishing task's own tab plays the same copy.
    mine = client.get(url, params=video_key(view_runs, "publish"), headers=headers)
    assert mine.content == content


def test_a_campaign_tab_counts_what_the_manifest_says(
    client: Any, tokens: dict[str, str], view_runs: ViewRuns
) -> None:
    rows = manifest_rows(view_runs)
    statuses = Counter(row["status"] for row in rows)
    answer = client.get(
        "/heygen/api/campaign", params=campaign_key(view_runs), headers=bearer(tokens["admin"])
    )

    progress = answer.json()["progress"]
    assert progress["total"] == len(rows) == 30
    assert {s: progress[s] for s in ("completed", "failed", "in_doubt", "running")} == {
        s: statuses.get(s, 0) for s in ("completed", "failed", "in_doubt", "running")
    }
    assert progress["waiting"] == statuses.get("pending", 0)
    assert progress["spent_usd"] == round(sum(row["cost_usd"] or 0 for row in rows), 4)
    assert progress["running_task"] is False
    assert [row["item_id"] for row in answer.json()["rows"]] == [row["item_id"] for row in rows[:25]]

    second = client.get(
        "/heygen/api/campaign",
        params={**campaign_key(view_runs), "status": "completed", "offset": 25},
        headers=bearer(tokens["admin"]),
    ).json()
    assert [row["item_id"] for row in second["rows"]] == [row["item_id"] for row in rows[25:]]
    assert second["matching"] == 30
    none_failed = client.get(
        "/heygen/api/campaign",
        params={**campaign_key(view_runs), "status": "failed"},
        headers=bearer(tokens["admin"]),
    ).json()
    assert (none_failed["rows"], none_failed["matching"]) == ([], 0)

    page = client.get("/heygen/task", params=campaign_key(view_runs), headers=bearer(tokens["admin"])).text
    assert "data-count='completed'>30<" in page and "<script>" not in page, (
        "an ended campaign stops refreshing"
    )
    item = rows[3]
    video = client.get(
        "/heygen/media",
        params={**campaign_key(view_runs), "item": item["item_id"]},
        headers=bearer(tokens["admin"]),
    )
    assert video.status_code == 200
    assert video.content == (view_runs.root / "videos" / f"{item['item_id']}.mp4").read_bytes()


def test_the_heygen_page_shows_balances_and_latest_jobs(
    client: Any, tokens: dict[str, str], view_runs: ViewRuns
) -> None:
    page = client.get("/heygen/", headers=bearer(tokens["admin"])).text

    assert "heygen_default" in page and "wallet billing" in page
    assert "/tasks/video/plugin/heygen_task'>video<" in page
    for dag_id in (DENIED_DAG, FAILED_DAG, CAMPAIGN_DAG):
        # Each job links to its task instance's HeyGen tab in the Airflow UI.
        assert f"target='_top' href='/dags/{dag_id}/runs/" in page
    jobs = client.get("/heygen/api/jobs", headers=bearer(tokens["admin"])).json()
    assert {(j["dag_id"], j["kind"]) for j in jobs} >= {
        (DENIED_DAG, "job"),
        (FAILED_DAG, "job"),
        (CAMPAIGN_DAG, "campaign"),
    }


# -- who may see what ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", [*ROUTES, "/heygen/", "/heygen/api/jobs", "/heygen/api/balances"])
def test_anonymous_requests_are_refused(client: Any, view_runs: ViewRuns, route: str) -> None:
    params = campaign_key(view_runs)
    assert client.get(route, params=params).status_code == 401
    assert client.get(route, params=params, headers=bearer("not-a-jwt")).status_code == 403
    client.cookies.set("_token", "forged")
    try:
        assert client.get(route, params=params).status_code == 403
    finally:
        client.cookies.clear()


def test_the_ui_cookie_signs_a_user_in(client: Any, tokens: dict[str, str], view_runs: ViewRuns) -> None:
    client.cookies.set("_token", tokens["viewer"])
    try:
        assert client.get("/heygen/api/task", params=campaign_key(view_runs)).status_code == 200
    finally:
        client.cookies.clear()


@pytest.mark.parametrize("route", ROUTES)
def test_a_user_without_access_to_a_dag_gets_nothing_of_it(
    client: Any, tokens: dict[str, str], view_runs: ViewRuns, route: str
) -> None:
    for task_id in ("video", "publish"):
        answer = client.get(route, params=video_key(view_runs, task_id), headers=bearer(tokens["viewer"]))
        assert answer.status_code == 403, (route, task_id)
        assert view_runs.video_run not in answer.text and "video.mp4" not in answer.text
    assert client.get(route, params=video_key(view_runs), headers=bearer(tokens["admin"])).status_code in (
        200,
        404,
    )


def test_the_heygen_page_lists_only_readable_dags_and_connections(
    client: Any, tokens: dict[str, str], view_runs: ViewRuns
) -> None:
    page = client.get("/heygen/", headers=bearer(tokens["viewer"])).text
    jobs = client.get("/heygen/api/jobs", headers=bearer(tokens["viewer"])).json()

    assert DENIED_DAG not in page and view_runs.video_run not in page
    assert DENIED_DAG not in {job["dag_id"] for job in jobs} and FAILED_DAG in {job["dag_id"] for job in jobs}
    # The simple auth manager lets op and admin read connections, not a viewer: no balance for them.
    assert "heygen_default" not in page
    assert client.get("/heygen/api/balances", headers=bearer(tokens["viewer"])).json() == []
    assert [
        b["conn_id"] for b in client.get("/heygen/api/balances", headers=bearer(tokens["op"])).json()
    ] == ["heygen_default"]


def test_a_parameter_given_twice_is_refused(client: Any, tokens: dict[str, str], view_runs: ViewRuns) -> None:
    query = f"dag_id={FAILED_DAG}&dag_id={DENIED_DAG}&run_id={view_runs.video_run}&task_id=video"
    answer = client.get(f"/heygen/media?{query}", headers=bearer(tokens["viewer"]))
    assert answer.status_code == 400


TRICKS = [
    {"item": "../../../../etc/passwd"},
    {"item": "/etc/passwd"},
    {"item": "file:///etc/passwd"},
    {"item": "http://127.0.0.1:1/x"},
    {"task_id": "../../etc/passwd"},
    {"run_id": "/etc/passwd"},
    {"dag_id": "file:///etc/passwd"},
    {"role": "../../etc/passwd"},
    {"role": "/etc/passwd"},
    {"copy": "-1"},
    {"map_index": "../1"},
    {"path": "/etc/passwd", "url": "file:///etc/passwd", "uri": "/etc/passwd"},
]


@pytest.mark.parametrize("trick", TRICKS, ids=json.dumps)
def test_path_tricks_in_parameters_read_nothing(
    client: Any, tokens: dict[str, str], view_runs: ViewRuns, trick: dict[str, str]
) -> None:
    for key in (campaign_key(view_runs), video_key(view_runs)):
        answer = client.get("/heygen/media", params={**key, **trick}, headers=bearer(tokens["admin"]))
        if "path" in trick:  # unknown parameters are ignored: the record's own file, nothing else
            assert answer.status_code in (200, 404)
            assert "root:" not in answer.text
            continue
        assert answer.status_code in (403, 404, 422), (trick, answer.status_code)
        assert "root:" not in answer.text


def test_the_api_key_appears_in_no_page_response_or_log(
    client: Any, tokens: dict[str, str], view_runs: ViewRuns, caplog: pytest.LogCaptureFixture
) -> None:
    key = view_runs.emulator.api_key
    assert key, "the emulator checks a key, so one was configured"
    seen = []
    for route in (*ROUTES, "/heygen/", "/heygen/api/jobs", "/heygen/api/balances"):
        for params in (video_key(view_runs), failed_key(view_runs), campaign_key(view_runs)):
            answer = client.get(route, params=params, headers=bearer(tokens["admin"]))
            seen.append(answer.text if "video" not in answer.headers.get("content-type", "") else "")
            seen.append(json.dumps(dict(answer.headers)))
    assert not [text for text in seen if key in text]
    assert key not in caplog.text
