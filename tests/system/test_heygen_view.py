"""
The HeyGen view under real Airflow services, looked at in headless Chromium as a person does: the
"HeyGen" tab of a finished video (it plays, streamed through the plugin), of a failed one (HeyGen's
reason), of a running campaign (its numbers are the manifest's and follow it), and the "HeyGen" page.

Screenshots go to the test's folder, and to ``$HEYGEN_VIEW_SCREENSHOTS`` too when it is set (the
README's are made with ``HEYGEN_VIEW_SCREENSHOTS=docs/img``).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_heygen.emulator.testing import EmulatorHandle, run_emulator
from tests.system.harness import AirflowServices
from tests.system.pipeline import API_KEY, RENDER_SECONDS

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]

VIEW_DAGS = Path(__file__).parent / "view_dags"
VIDEO_DAG, FAILED_DAG, CAMPAIGN_DAG = "heygen_view_video", "heygen_view_failed", "heygen_view_campaign"
CAMPAIGN_ITEMS = 12
SCREENSHOTS = {
    "video": "heygen_view_video.png",
    "failed": "heygen_view_failed.png",
    "campaign": "heygen_view_campaign.png",
    "nav": "heygen_view_nav.png",
}


@dataclass
class ViewServices:
    """
    Airflow and the emulator with the three runs the view is looked at through.

    :param services: the Airflow services, still running.
    :param emulator: the emulator.
    :param root: the published videos and the campaign's manifest.
    :param video_run: the finished video's run.
    :param failed_run: the failed video's run.
    :param campaign_run: the campaign's run (still running when the fixture hands it over).
    """

    services: AirflowServices
    emulator: EmulatorHandle
    root: Path
    video_run: str
    failed_run: str
    campaign_run: str

    @property
    def manifest(self) -> Path:
        """The campaign's manifest."""
        return self.root / "manifest.jsonl"

    def manifest_counts(self) -> Counter[str]:
        """The manifest's items by status now (empty before its first write)."""
        if not self.manifest.exists():
            return Counter()
        return Counter(json.loads(line)["status"] for line in self.manifest.read_text().splitlines())


def _without_entry_point() -> dict[str, str]:
    """
    Where the installed distribution predates the ``airflow.plugins`` entry point (an older editable
    install), providers discovered eagerly: the plugin then comes through ``get_provider_info()``.
    """
    from importlib.metadata import entry_points

    if any(ep.name == "heygen" for ep in entry_points(group="airflow.plugins")):
        return {}
    return {"AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": "False"}


def _items(path: Path, emulator: EmulatorHandle) -> Path:
    faces = [emulator.sample_url("face.jpg"), emulator.sample_url("face2.jpg")]
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["customer_id", "face_url"])
        writer.writeheader()
        writer.writerows(
            {"customer_id": f"c{n:02d}", "face_url": faces[n % 2]} for n in range(CAMPAIGN_ITEMS)
        )
    return path


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewServices]:
    """The services with a failed video, a published one, and a campaign under way."""
    tmp = tmp_path_factory.mktemp("view-services")
    root = tmp / "files"
    root.mkdir()
    with contextlib.ExitStack() as stack:
        emulator = stack.enter_context(
            run_emulator(tmp / "emulator", render="stub", api_key=API_KEY, latency=RENDER_SECONDS)
        )
        connection = {"conn_type": "heygen", "password": API_KEY, "host": emulator.base_url}
        env = {
            # A rate for face swaps, so that the campaign's estimate (and its max_cost_usd) can be held.
            "AIRFLOW_CONN_HEYGEN_DEFAULT": json.dumps(
                {**connection, "extra": {"retry_min_delay": 0.2, "rates": {"workflow.FaceswapNode": 0.05}}}
            ),
            **_without_entry_point(),
        }
        services = stack.enter_context(AirflowServices(tmp / "airflow", VIEW_DAGS, env=env))
        for dag_id in (VIDEO_DAG, FAILED_DAG, CAMPAIGN_DAG):
            services.wait_for_dag(dag_id)
        emulator.set_faults(fail_next=["no_face_detected"])
        failed_run = services.trigger(FAILED_DAG)
        assert services.wait_for_run(FAILED_DAG, failed_run).run["state"] == "failed", services.log_tails()
        emulator.set_faults(fail_next=[])
        campaign_run = services.trigger(
            CAMPAIGN_DAG,
            {
                "items": str(_items(root / "items.csv", emulator)),
                "publish_to": f"file://{root}/videos/",
                "manifest": f"file://{root}/manifest.jsonl",
            },
        )
        video_run = services.trigger(VIDEO_DAG, {"publish_to": f"file://{root}/published/video.mp4"})
        assert services.wait_for_run(VIDEO_DAG, video_run).run["state"] == "success", services.log_tails()
        yield ViewServices(services, emulator, root, video_run, failed_run, campaign_run)


def _browser_or_skip() -> None:
    if shutil.which("chromium") is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _save(png: bytes, name: str, tmp_path: Path) -> Path:
    from scripts.screenshots import save_png

    extra = os.environ.get("HEYGEN_VIEW_SCREENSHOTS")
    if extra:
        save_png(png, Path(extra) / name)
    return save_png(png, tmp_path / name)


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_the_view_is_mounted_and_refuses_anyone_not_signed_in(view: ViewServices) -> None:
    base = view.services.base_url
    params = {"dag_id": VIDEO_DAG, "run_id": view.video_run, "task_id": "video"}
    for route in ("/heygen/", "/heygen/task", "/heygen/media", "/heygen/api/campaign"):
        assert requests.get(base + route, params=params, timeout=30).status_code == 401, route
    signed_in = {"Authorization": f"Bearer {view.services.token()}"}
    assert (
        requests.get(base + "/heygen/task", params=params, headers=signed_in, timeout=30).status_code == 200
    )
    plugins = view.services.api("GET", "/api/v2/plugins")["plugins"]
    (heygen,) = [p for p in plugins if p["name"] == "heygen"]
    assert {v["destination"] for v in heygen["external_views"]} == {"task_instance", "nav"}


def _same(shown: dict[str, int], manifest: Counter[str]) -> bool:
    """Whether the page's numbers are the manifest's counts of each status."""
    statuses = ("completed", "failed", "in_doubt", "running", "pending", "skipped")
    return all(shown[status] == manifest.get(status, 0) for status in statuses)


def test_a_running_campaign_shows_the_manifests_numbers_and_follows_it(
    view: ViewServices, tmp_path: Path
) -> None:
    _browser_or_skip()
    from scripts.screenshots import log_in, open_page
    from scripts.view_pages import counts, framed, open_tab, video_duration

    services = view.services

    async def look() -> tuple[dict[str, int], Counter[str], bytes, dict[str, int], Counter[str], float]:
        async with open_page() as page:
            await log_in(page, services.base_url, services.token())
            while True:  # the numbers of one page load against the manifest, unchanged around it
                before = view.manifest_counts()
                await open_tab(page, services.base_url, CAMPAIGN_DAG, view.campaign_run, "personalize")
                shown = await counts(page)
                if view.manifest_counts() == before:
                    break
            png = await page.png()
            # No reload from here on: the page's script re-reads the progress while the campaign runs.
            deadline = time.monotonic() + 300
            later = await counts(page)
            while later["completed"] <= shown["completed"]:
                assert time.monotonic() < deadline, (later, view.manifest_counts(), services.log_tails())
                await asyncio.sleep(1)
                later = await counts(page)
            # ... and its numbers are the manifest's again within a few of its refreshes.
            for _ in range(30):
                later, now = await counts(page), view.manifest_counts()
                if _same(later, now):
                    break
                await asyncio.sleep(1)
            # The first published item's video, through the plugin: its row's player loads it.
            await page.evaluate(
                framed("(v => (v.preload = 'metadata', v.load(), true))(doc.querySelector('#items video'))")
            )
            return shown, before, png, later, now, await video_duration(page, "#items video")

    shown, manifest, png, later, manifest_later, item_seconds = _run(look())

    assert shown["total"] == later["total"] == CAMPAIGN_ITEMS
    assert _same(shown, manifest) or (not manifest and shown["pending"] == CAMPAIGN_ITEMS)
    assert shown["completed"] < CAMPAIGN_ITEMS, "the page was seen while the campaign ran"
    assert later["completed"] > shown["completed"], "the page followed the campaign without a reload"
    assert _same(later, manifest_later)
    assert item_seconds > 0
    _save(png, SCREENSHOTS["campaign"], tmp_path)


def test_a_finished_video_plays_in_its_heygen_tab_streamed_through_the_plugin(
    view: ViewServices, tmp_path: Path
) -> None:
    _browser_or_skip()
    from scripts.screenshots import log_in, open_page
    from scripts.view_pages import frame_text, open_tab, video_duration

    services = view.services

    async def look() -> tuple[str, float, str, bytes]:
        async with open_page() as page:
            await log_in(page, services.base_url, services.token())
            src = await open_tab(page, services.base_url, VIDEO_DAG, view.video_run, "video")
            duration = await video_duration(page)
            published = await frame_text(page, "#published")
            return src, duration, published, await page.png()

    src, duration, published, png = _run(look())

    assert "/heygen/task?dag_id=heygen_view_video&run_id=" in src and "task_id=video" in src
    assert duration > 0
    assert (view.root / "published" / "video.mp4").as_uri() in published
    _save(png, SCREENSHOTS["video"], tmp_path)


def test_a_failed_job_shows_heygens_reason_in_its_heygen_tab(view: ViewServices, tmp_path: Path) -> None:
    _browser_or_skip()
    from scripts.screenshots import log_in, open_page
    from scripts.view_pages import frame_text, open_tab

    services = view.services

    async def look() -> tuple[str, str, bytes]:
        async with open_page() as page:
            await log_in(page, services.base_url, services.token())
            await open_tab(page, services.base_url, FAILED_DAG, view.failed_run, "video")
            return await frame_text(page, "#failure"), await frame_text(page, "#status"), await page.png()

    failure, status, png = _run(look())

    assert "No face detected" in failure and "no_face_detected" in failure
    assert status == "failed"
    _save(png, SCREENSHOTS["failed"], tmp_path)


def test_the_heygen_page_shows_the_balance_and_the_latest_jobs(view: ViewServices, tmp_path: Path) -> None:
    _browser_or_skip()
    from scripts.screenshots import log_in, open_page

    services = view.services

    async def look() -> tuple[str, bytes]:
        async with open_page() as page:
            await log_in(page, services.base_url, services.token())
            await page.goto(f"{services.base_url}/plugin/heygen")
            from scripts.view_pages import frame_text

            return await frame_text(page, "body"), await page.png()

    text, png = _run(look())

    assert "heygen_default" in text and "wallet billing" in text
    for dag_id in (VIDEO_DAG, FAILED_DAG, CAMPAIGN_DAG):
        assert dag_id in text
    assert API_KEY not in text
    _save(png, SCREENSHOTS["nav"], tmp_path)
