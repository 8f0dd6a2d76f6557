"""
Addresses of the HeyGen view (the provider's UI plugin) for one task instance: its "HeyGen" tab in the
Airflow UI, the plugin's page of it, and the video and preview image the plugin streams. The one place
these are spelled; pure string work, importable at DAG-parse time (an approval's body links them), while
the plugin itself (FastAPI) is loaded by the api-server only.

Addresses are paths under Airflow's ``[api] base_url``: a reviewer's browser resolves them against the
Airflow page it is on, so they work behind a proxy too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

# Where the plugin's FastAPI app is mounted, under the api-server's root.
PLUGIN_PREFIX = "/heygen"
# The UI routes (``<...>/plugin/<route>``) of the task instance tab and of the navigation page.
TASK_ROUTE = "heygen_task"
NAV_ROUTE = "heygen"


def base_path(base_url: str | None = None) -> str:
    """
    The path the api-server is served under, without its trailing slash (``""`` at the root).

    :param base_url: ``[api] base_url``; read from Airflow's configuration when None.
    """
    if base_url is None:
        from airflow.configuration import conf

        base_url = conf.get("api", "base_url", fallback="/") or "/"
    path = urlsplit(base_url).path if "://" in base_url else base_url
    return path.rstrip("/")


@dataclass(frozen=True)
class TaskInstanceView:
    """
    The HeyGen view of one task instance.

    :param dag_id: its DAG.
    :param run_id: its DAG run.
    :param task_id: its task.
    :param map_index: its map index (-1 when not mapped).
    :param root: the api-server's base path (:func:`base_path`).
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    root: str = ""

    def query(self, **extra: Any) -> str:
        """The query string naming the task instance (and ``extra``, None values left out)."""
        params: dict[str, Any] = {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
        }
        params.update({name: value for name, value in extra.items() if value is not None})
        return urlencode(params)

    @property
    def tab(self) -> str:
        """The task instance's "HeyGen" tab in Airflow's UI (which shows :attr:`page`)."""
        mapped = f"/mapped/{self.map_index}" if self.map_index >= 0 else ""
        return (
            f"{self.root}/dags/{quote(self.dag_id, safe='')}/runs/{quote(self.run_id, safe='')}"
            f"/tasks/{quote(self.task_id, safe='')}{mapped}/plugin/{TASK_ROUTE}"
        )

    @property
    def page(self) -> str:
        """The plugin's page of the task instance."""
        return f"{self.root}{PLUGIN_PREFIX}/task?{self.query()}"

    @property
    def video(self) -> str:
        """The task instance's published video, streamed by the plugin (HTTP ranges)."""
        return f"{self.root}{PLUGIN_PREFIX}/media?{self.query()}"

    @property
    def preview(self) -> str:
        """The preview image of the task instance's published video, served by the plugin."""
        return f"{self.root}{PLUGIN_PREFIX}/media?{self.query(role='preview')}"


def task_instance_view(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskInstanceView:
    """
    The HeyGen view of a task instance under this Airflow's ``[api] base_url`` (e.g. as a DAG's
    ``user_defined_macros`` entry, for an approval's body).

    :param dag_id: its DAG.
    :param run_id: its DAG run.
    :param task_id: its task.
    :param map_index: its map index.
    """
    return TaskInstanceView(dag_id, run_id, task_id, int(map_index), base_path())
