"""
Settings shared by the example DAGs (not a DAG itself; listed in .airflowignore).

Every example reads its connection id, its media and where to publish from DAG params and
Airflow Variables, with defaults that work against the local emulator:

- param ``heygen_conn_id`` (default ``heygen_default``);
- media URLs: a param when given, else ``<Variable heygen_media_base_url>/<sample>``, else the
  connection's own host + ``/samples/<sample>`` (the emulator's built-in sample media);
- Variable ``heygen_publish_root``: where videos are published (default ``file:///tmp/heygen-videos``).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import AssetAlias, Param

log = logging.getLogger(__name__)

DEFAULT_AVATAR_ID = "Angela-inblackskirt-20220820"
CONN_ID = "{{ params.heygen_conn_id }}"
PUBLISH_ROOT = "var.value.get('heygen_publish_root', 'file:///tmp/heygen-videos')"
# A run id made safe for file and object names (manual run ids contain ':' and '+').
RUN_NAME = "run_id | replace(':', '-') | replace('+', '_')"
MEDIA_BASE = "var.value.get('heygen_media_base_url', conn.get(params.heygen_conn_id).host ~ '/samples')"
# Every video the examples publish is announced through this alias, so a downstream DAG can be
# scheduled on "any newly published HeyGen video" without knowing its path in advance.
PUBLISHED_VIDEOS = AssetAlias("heygen-published-videos")

COMMON_PARAMS: dict[str, Param] = {
    "heygen_conn_id": Param("heygen_default", type="string", description="HeyGen connection id"),
}


def media_url(param: str, sample: str) -> str:
    """A template: the DAG param ``param`` if set, else the ``sample`` from the media base URL."""
    return f"{{{{ params.{param} or ({MEDIA_BASE} ~ '/{sample}') }}}}"


def publish_destination(path: str) -> str:
    """
    A template: the DAG param ``destination`` if set, else ``<heygen_publish_root>/<path>``.

    :param path: a Jinja expression for the path under the publish root, e.g. ``"'faceswap/' ~ run_id"``.
    """
    return f"{{{{ params.destination or ({PUBLISH_ROOT} ~ '/' ~ {path}) }}}}"


def alert_on_failure(context: dict[str, Any]) -> None:
    """
    The alert hook point of the examples: called when a task fails for good.

    Swap in your own alerting here (e.g. ``SlackNotifier`` or ``SmtpNotifier`` from their providers);
    the message names the task, the try and the error, which for HeyGen tasks names the execution id.
    """
    ti = context["ti"]
    log.error(
        "ALERT: %s.%s failed on try %s: %s", ti.dag_id, ti.task_id, ti.try_number, context.get("exception")
    )
