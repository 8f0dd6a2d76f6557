"""
The Airflow plugin of the HeyGen view: a FastAPI app under ``/heygen``, a "HeyGen" tab on every task
instance and a "HeyGen" page in the navigation.

Only the api-server builds the app (:func:`~airflow_heygen.plugins.settings.running_on_api_server`),
and only while ``[heygen] ui_enabled`` is true; every other process that loads plugins (scheduler,
workers, DAG processor) gets an empty plugin and never imports FastAPI from here.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_heygen.plugins.settings import (
    NAV_ROUTE,
    TASK_ROUTE,
    URL_PREFIX,
    base_path,
    running_on_api_server,
    ui_enabled,
)

TASK_INSTANCE_HREF = (
    f"{URL_PREFIX}/task?dag_id={{DAG_ID}}&run_id={{RUN_ID}}&task_id={{TASK_ID}}&map_index={{MAP_INDEX}}"
)


def heygen_apps() -> list[dict[str, Any]]:
    """The plugin's FastAPI app, mounted at :data:`URL_PREFIX`."""
    from airflow_heygen.plugins.app import create_app

    return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "HeyGen"}]


def heygen_views() -> list[dict[str, Any]]:
    """The task instance tab and the navigation page, with the api-server's base path."""
    root = base_path()
    return [
        {
            "name": "HeyGen",
            "href": root + TASK_INSTANCE_HREF,
            "destination": "task_instance",
            "url_route": TASK_ROUTE,
        },
        {
            "name": "HeyGen",
            "href": f"{root}{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": NAV_ROUTE,
        },
    ]


class HeyGenViewPlugin(AirflowPlugin):
    """
    The HeyGen view: each task instance's HeyGen jobs (status, timeline, failure, cost, the video
    itself), a campaign's progress and manifest, and a page of account balances and latest jobs.
    Every route needs a signed-in user allowed by Airflow's auth manager to read the DAG concerned.

    Empty outside the api-server and where ``[heygen] ui_enabled = False``.
    """

    name = "heygen"
    if ui_enabled() and running_on_api_server():
        fastapi_apps = heygen_apps()
        external_views = heygen_views()
