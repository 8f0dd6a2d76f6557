"""
The HeyGen view as a person sees it in the Airflow UI: a task instance's "HeyGen" tab (our page in the
UI's iframe) and the "HeyGen" navigation page, opened in headless Chromium with the helpers of
:mod:`scripts.screenshots`; what their DOM shows, and screenshots of them.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_heygen.plugins.pages import ui_task_url
from airflow_heygen.plugins.records import TaskKey
from scripts.screenshots import Page

# The UI shows a task instance's external view at <task instance>/plugin/<url_route>, in an iframe.
FRAME = "document.querySelector('iframe')"


def tab_url(base_url: str, dag_id: str, run_id: str, task_id: str) -> str:
    """
    The address of a task instance's "HeyGen" tab in the Airflow UI.

    :param base_url: the Airflow API server.
    :param dag_id: the DAG.
    :param run_id: the run.
    :param task_id: the task.
    """
    return base_url + ui_task_url(TaskKey(dag_id, run_id, task_id))


def framed(expression: str) -> str:
    """
    JavaScript giving ``expression``'s value in the document of the UI's iframe (``doc`` names it), or
    null before it has loaded; the iframe is served by the same origin, so the page may read it.

    :param expression: JavaScript using ``doc``.
    """
    return f"""(() => {{
        const frame = {FRAME};
        const doc = frame && frame.contentDocument;
        if (!doc || doc.readyState !== "complete" || !doc.querySelector("h1")) return null;
        return ({expression});
    }})()"""


async def wait_in_frame(page: Page, expression: str, what: str, timeout: float = 60.0) -> Any:
    """
    Wait until ``expression`` is truthy in the iframe's document, and return its value.

    :param page: the tab.
    :param expression: JavaScript using ``doc``.
    :param what: what is awaited, for the error message.
    :param timeout: seconds.
    """
    return await page.wait_for(framed(expression), what, timeout)


async def open_tab(page: Page, base_url: str, dag_id: str, run_id: str, task_id: str) -> str:
    """
    Open a task instance's "HeyGen" tab and wait for its page in the iframe; return the iframe's address.

    :param page: a signed-in tab.
    :param base_url: the Airflow API server.
    :param dag_id: the DAG.
    :param run_id: the run.
    :param task_id: the task.
    """
    await page.goto(tab_url(base_url, dag_id, run_id, task_id))
    await wait_in_frame(page, "doc.querySelector('h1').innerText", "the HeyGen tab's page")
    return str(await page.evaluate(f"{FRAME}.src"))


async def video_duration(page: Page, selector: str = "video") -> float:
    """
    Wait until the iframe's ``<video>`` has loaded its metadata, and return its duration in seconds.

    :param page: the tab, showing a HeyGen tab.
    :param selector: the video element.
    """
    found = f"doc.querySelector({json.dumps(selector)})"
    return float(
        await wait_in_frame(
            page,
            f"{found} && {found}.readyState >= 1 && {found}.duration > 0 && {found}.duration",
            "the video's metadata",
        )
    )


async def counts(page: Page) -> dict[str, int]:
    """The campaign's numbers as the iframe's page shows them (``data-count`` elements)."""
    shown = await wait_in_frame(
        page,
        "Object.fromEntries([...doc.querySelectorAll('[data-count]')]"
        ".map(e => [e.dataset.count, Number(e.innerText)]))",
        "the campaign's counts",
    )
    return {str(k): int(v) for k, v in dict(shown).items()}


async def frame_text(page: Page, selector: str) -> str:
    """The text of an element of the iframe's page ('' when there is none)."""
    text = await wait_in_frame(
        page, f"(doc.querySelector({json.dumps(selector)}) || {{innerText: ' '}}).innerText", selector
    )
    return str(text).strip()
