"""Whether the HeyGen view is on, where it is mounted, and the few numbers it works by."""

from __future__ import annotations

import sys
from datetime import timedelta

# Where the FastAPI app is mounted, the UI routes of its tab and page, the api-server's base path: spelled
# once, in links.view, which DAGs import too (an approval's body links the view).
from airflow_heygen.links.view import NAV_ROUTE, TASK_ROUTE, base_path
from airflow_heygen.links.view import PLUGIN_PREFIX as URL_PREFIX

__all__ = [
    "BALANCE_TTL_SECONDS",
    "HEYGEN_URL_VALID",
    "LATEST_JOBS",
    "NAV_ROUTE",
    "PAGE_SIZE",
    "REFRESH_MS",
    "TASK_ROUTE",
    "URL_PREFIX",
    "base_path",
    "running_on_api_server",
    "ui_enabled",
]
# HeyGen's video URLs are signed and expire: they are shown while younger than this, then not at all.
HEYGEN_URL_VALID = timedelta(days=7)
# An account's balance is read from HeyGen at most once per this many seconds per connection.
BALANCE_TTL_SECONDS = 60.0
# Rows of a campaign's manifest per page, and jobs on the nav page.
PAGE_SIZE = 25
LATEST_JOBS = 50
# The browser re-reads a running campaign's progress this often (milliseconds).
REFRESH_MS = 3000


def ui_enabled() -> bool:
    """``[heygen] ui_enabled`` (``AIRFLOW__HEYGEN__UI_ENABLED``): the view is on unless it says false."""
    from airflow.configuration import conf

    return conf.getboolean("heygen", "ui_enabled", fallback=True)


def running_on_api_server(argv: list[str] | None = None) -> bool:
    """
    Whether this process is ``airflow api-server``: the one that serves plugins' apps and views. The
    scheduler, workers and DAG processor load plugins too and must not build the app.

    :param argv: the command line; ``sys.argv`` by default.
    """
    args = sys.argv if argv is None else argv
    return len(args) > 1 and args[1] == "api-server"
