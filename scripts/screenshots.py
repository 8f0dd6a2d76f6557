"""
Screenshots of the Airflow UI as a person sees it: the HeyGen connection form and a finished face swap
task with its "HeyGen video" link, taken with Debian's headless Chromium driven over the DevTools
protocol (on 127.0.0.1 only).

Run alone, it starts the emulator and real Airflow services, runs the example pipeline, and writes
``docs/img/airflow_connection_form.png`` and ``docs/img/airflow_task_extra_link.png``::

    .venv/bin/python scripts/screenshots.py [--out docs/img]

The real-services test calls :func:`capture` on its own finished run instead.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
CONNECTION_FORM_PNG = "airflow_connection_form.png"
TASK_EXTRA_LINK_PNG = "airflow_task_extra_link.png"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


class BrowserError(RuntimeError):
    """Chromium did not start, or the page never showed what was awaited."""


def find_chromium() -> str:
    """The path of Debian's ``chromium`` (``apt-get install chromium``)."""
    path = shutil.which("chromium")
    if path is None:
        raise BrowserError("chromium not found: apt-get install -y chromium")
    return path


class Page:
    """
    One browser tab, driven through the Chrome DevTools protocol.

    :param ws: the tab's DevTools websocket.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """
        Call a DevTools method and return its result (events arriving meanwhile are ignored).

        :param method: e.g. ``"Page.navigate"``.
        :param params: the method's parameters.
        """
        message_id = next(self._ids)
        await self.ws.send_json({"id": message_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=60)
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        """
        The value of a JavaScript expression in the page (awaited if it is a promise).

        :param expression: JavaScript.
        """
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} raised {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, timeout: float = 30.0) -> Any:
        """
        Poll a JavaScript expression until it is truthy, and return its value.

        :param expression: JavaScript.
        :param what: what is awaited, for the error message.
        :param timeout: seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                text = await self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
                raise BrowserError(f"timed out after {timeout:.0f}s waiting for {what}; page text:\n{text}")
            await asyncio.sleep(0.25)

    async def goto(self, url: str) -> None:
        """
        Open a URL.

        :param url: the address.
        """
        await self.send("Page.navigate", url=url)

    async def click_text(self, selector: str, text: str, what: str, timeout: float = 30.0) -> None:
        """
        Click, with the mouse, the first visible element matching ``selector`` whose text is ``text``.

        :param selector: CSS selector of the candidates, e.g. ``"button"``.
        :param text: their exact visible text (trimmed).
        :param what: what is clicked, for the error message.
        :param timeout: seconds to wait for it to appear.
        """
        expression = f"""(() => {{
            const el = [...document.querySelectorAll({json.dumps(selector)})]
                .find(e => e.offsetParent !== null && (e.innerText || "").trim() === {json.dumps(text)});
            if (!el) return null;
            el.scrollIntoView({{block: "center"}});
            const box = el.getBoundingClientRect();
            return [box.x + box.width / 2, box.y + box.height / 2];
        }})()"""
        x, y = await self.wait_for(expression, what, timeout)
        await self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    async def type_into(self, selector: str, text: str, what: str, timeout: float = 30.0) -> None:
        """
        Focus the element matching ``selector`` and type ``text`` into it as a user would.

        :param selector: CSS selector of an input.
        :param text: the text to type.
        :param what: what is typed into, for the error message.
        :param timeout: seconds to wait for it to appear.
        """
        expression = f"""(() => {{
            const el = document.querySelector({json.dumps(selector)});
            if (!el) return false;
            el.focus();
            return document.activeElement === el;
        }})()"""
        await self.wait_for(expression, what, timeout)
        await self.send("Input.insertText", text=text)

    async def press_enter(self) -> None:
        """Press and release the Enter key in the focused element."""
        for kind in ("keyDown", "keyUp"):
            await self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                nativeVirtualKeyCode=13,
            )

    async def png(self, selector: str | None = None) -> bytes:
        """
        A PNG of the viewport, or of the element matching ``selector`` only.

        :param selector: CSS selector of the element to cut out; None for the whole viewport.
        """
        await asyncio.sleep(0.6)  # let animations, transitions and fonts settle
        params: dict[str, Any] = {"format": "png"}
        if selector is not None:
            box = await self.wait_for(
                f"""(() => {{
                    const el = document.querySelector({json.dumps(selector)});
                    if (!el) return null;
                    const r = el.getBoundingClientRect();
                    return {{x: r.x, y: r.y, width: r.width, height: r.height, scale: 1}};
                }})()""",
                selector,
            )
            params["clip"] = box
        return base64.b64decode((await self.send("Page.captureScreenshot", **params))["data"])


def save_png(data: bytes, path: Path) -> Path:
    """
    Write PNG bytes to ``path``, creating its folder.

    :param data: the PNG.
    :param path: where to write it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def side_by_side(left: bytes, right: bytes, path: Path, gap: int = 24) -> Path:
    """
    Put two PNGs next to each other, top-aligned, on a light background, and save the result.

    :param left: the left PNG.
    :param right: the right PNG.
    :param path: where to write the result.
    :param gap: pixels around and between the two.
    """
    from PIL import Image

    first, second = Image.open(io.BytesIO(left)), Image.open(io.BytesIO(right))
    width = first.width + second.width + 3 * gap
    height = max(first.height, second.height) + 2 * gap
    canvas = Image.new("RGB", (width, height), (228, 231, 236))
    canvas.paste(first, (gap, gap))
    canvas.paste(second, (2 * gap + first.width, gap))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return save_png(buffer.getvalue(), path)


@contextlib.asynccontextmanager
async def open_page(width: int = 1440, height: int = 1150, timeout: float = 30.0) -> AsyncIterator[Page]:
    """
    Start headless Chromium in a fresh profile and yield its tab; kill Chromium afterwards.

    :param width: viewport width in CSS pixels.
    :param height: viewport height in CSS pixels.
    :param timeout: seconds Chromium may take to open its DevTools port.
    """
    profile = Path(tempfile.mkdtemp(prefix="airflow-heygen-chromium-"))
    command = [
        find_chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ]
    browser = subprocess.Popen(
        [*command, "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if browser.poll() is not None or time.monotonic() > deadline:
                raise BrowserError(f"chromium did not open its DevTools port (exit code {browser.poll()})")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            async with http.ws_connect(page_url, max_msg_size=0) as ws:
                page = Page(ws)
                await page.send(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=height,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                yield page
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGKILL)  # its renderer and helper processes too
        browser.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


async def log_in(page: Page, base_url: str, token: str) -> None:
    """
    Sign the browser in as the token's user: the UI and its API read the JWT from the ``_token`` cookie.

    :param page: the tab.
    :param base_url: the Airflow API server, e.g. ``http://127.0.0.1:8080``.
    :param token: a JWT from ``POST /auth/token``.
    """
    await page.send("Network.setCookie", name="_token", value=token, url=base_url, httpOnly=True)


async def connection_form(page: Page, base_url: str, out: Path) -> Path:
    """
    Screenshot the "Add Connection" form with the HeyGen type selected: its standard fields (API URL,
    API Key) and its extra fields, side by side (the form shows one of the two sections at a time).

    :param page: a signed-in tab.
    :param base_url: the Airflow API server.
    :param out: the PNG to write.
    """
    await page.goto(f"{base_url}/connections")
    await page.click_text("button", "Add Connection", "the Add Connection button")
    await page.type_into("[role=dialog] input[name=connection_id]", "heygen_default", "the connection id")
    await page.type_into("[role=dialog] input[role=combobox]", "HeyGen", "the connection type select")
    await page.wait_for(
        "[...document.querySelectorAll('[role=option]')].some(o => o.innerText.trim() === 'HeyGen')",
        "the HeyGen option",
    )
    await page.press_enter()
    await page.wait_for("document.querySelector('[role=dialog]').innerText.includes('API Key')", "API Key")
    standard = await page.png("[role=dialog]")
    await page.click_text("[role=dialog] button", "Extra Fields", "the Extra Fields section")
    await page.wait_for("document.querySelector('[role=dialog]').innerText.includes('Retry limit')", "extras")
    extra = await page.png("[role=dialog]")
    return side_by_side(standard, extra, out)


async def task_extra_link(
    page: Page, base_url: str, dag_id: str, run_id: str, task_id: str, out: Path
) -> tuple[Path, str]:
    """
    Screenshot a finished task instance's details, whose "Extra Links" show its "HeyGen video" button.

    :param page: a signed-in tab.
    :param base_url: the Airflow API server.
    :param dag_id: the DAG.
    :param run_id: the run.
    :param task_id: the task.
    :param out: the PNG to write.
    :return: the PNG and the address the "HeyGen video" button links to.
    """
    path = f"/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id)}/details"
    await page.goto(base_url + path)
    href = await page.wait_for(
        "[...document.querySelectorAll('a')].filter(a => a.innerText.trim() === 'HeyGen video')"
        ".map(a => a.href)[0] || null",
        "the HeyGen video link",
    )
    return save_png(await page.png(), out), str(href)


@dataclass(frozen=True)
class Screenshots:
    """
    What :func:`capture` took.

    :param connection_form: the PNG of the HeyGen connection form.
    :param task_extra_link: the PNG of the finished task with its extra link.
    :param video_link: where the task's "HeyGen video" button points, as the page has it.
    """

    connection_form: Path
    task_extra_link: Path
    video_link: str


async def _capture(
    base_url: str, token: str, dag_id: str, run_id: str, task_id: str, out_dir: Path
) -> Screenshots:
    async with open_page() as page:
        await log_in(page, base_url, token)
        task_png, href = await task_extra_link(
            page, base_url, dag_id, run_id, task_id, out_dir / TASK_EXTRA_LINK_PNG
        )
        form_png = await connection_form(page, base_url, out_dir / CONNECTION_FORM_PNG)
    return Screenshots(form_png, task_png, href)


def capture(base_url: str, token: str, dag_id: str, run_id: str, task_id: str, out_dir: Path) -> Screenshots:
    """
    Take both screenshots of a running Airflow.

    :param base_url: the Airflow API server, e.g. ``http://127.0.0.1:8080``.
    :param token: a JWT of a user who may read connections and task instances.
    :param dag_id: the DAG of the finished run.
    :param run_id: the finished run.
    :param task_id: the finished HeyGen task to show.
    :param out_dir: where to write ``airflow_connection_form.png`` and ``airflow_task_extra_link.png``.
    """
    return asyncio.run(_capture(base_url, token, dag_id, run_id, task_id, out_dir))


def main(argv: list[str] | None = None) -> None:
    """
    Start the emulator and Airflow, run the example pipeline, and take the screenshots.

    :param argv: command line arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder of the PNGs")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.system.pipeline import run_pipeline

    with (
        tempfile.TemporaryDirectory(prefix="airflow-heygen-screenshots-") as tmp,
        run_pipeline(Path(tmp)) as run,
    ):
        shots = capture(
            run.services.base_url, run.services.token(), run.dag_id, run.run_id, "faceswap", args.out
        )
    print(f"{shots.connection_form}\n{shots.task_extra_link}\n(HeyGen video -> {shots.video_link})")


if __name__ == "__main__":
    main()
