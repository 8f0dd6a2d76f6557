"""
Addresses in the Airflow UI of the HeyGen view (the provider's UI plugin) for one task instance: the
"HeyGen" tab and the preview image it serves. Pure string work, importable at DAG-parse time; the plugin
itself (FastAPI) is loaded by the api-server only.

Addresses are relative to Airflow's ``[api] base_url`` (a path, e.g. ``/`` or ``/airflow``): a reviewer's
browser resolves them against the Airflow page it is on, so an approval's body works behind a proxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# Where the plugin's FastAPI app is mounted, under the api-server's root.
PLUGIN_PREFIX = "/heygen"
# The external view's url_route: the "HeyGen" tab of a task instance in the UI.
TAB_ROUTE = "heygen"


def _segment(value: str) -> str:
    # Run ids hold ':' and '+'; a path segment must not carry '/' either.
    return quote(value, safe="")


@dataclass(frozen=True)
class TaskInstanceView:
    """
    The HeyGen view of one task instance.

    :param dag_id: its DAG.
    :param run_id: its DAG run.
    :param task_id: its task.
    :param map_index: its map index (-1 when not mapped).
    :param base_url: Airflow's ``[api] base_url``; only its path is used.
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    base_url: str = "/"

    @property
    def _root(self) -> str:
        return urlsplit(self.base_url).path.rstrip("/")

    @property
    def _key(self) -> str:
        return "/".join(
            (_segment(self.dag_id), _segment(self.run_id), _segment(self.task_id), str(self.map_index))
        )

    @property
    def tab(self) -> str:
        """The "HeyGen" tab of the task instance in Airflow's UI."""
        mapped = f"/mapped/{self.map_index}" if self.map_index >= 0 else ""
        return (
            f"{self._root}/dags/{_segment(self.dag_id)}/runs/{_segment(self.run_id)}"
            f"/tasks/{_segment(self.task_id)}{mapped}/plugin/{TAB_ROUTE}"
        )

    @property
    def page(self) -> str:
        """The plugin's page for the task instance (what the tab embeds)."""
        return f"{self._root}{PLUGIN_PREFIX}/ti/{self._key}"

    @property
    def preview(self) -> str:
        """The preview image of the task instance's video, served by the plugin."""
        return f"{self._root}{PLUGIN_PREFIX}/ti/{self._key}/preview"

    @property
    def video(self) -> str:
        """The task instance's video, streamed by the plugin (HTTP ranges)."""
        return f"{self._root}{PLUGIN_PREFIX}/ti/{self._key}/video"


def task_instance_view(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskInstanceView:
    """
    The HeyGen view of a task instance, under this Airflow's ``[api] base_url`` (for templates).

    :param dag_id: its DAG.
    :param run_id: its DAG run.
    :param task_id: its task.
    :param map_index: its map index.
    """
    from airflow.configuration import conf

    base_url = conf.get("api", "base_url", fallback="/") or "/"
    return TaskInstanceView(dag_id, run_id, task_id, int(map_index), base_url)
