"""Operator extra link to the video a HeyGen task produced."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class HeyGenVideoLink(BaseOperatorLink):
    """
    "HeyGen video": the URL of the video a HeyGen task produced.

    When a task instance ends, Airflow 3 calls :meth:`get_link` on the worker and stores the answer in
    XCom (key ``_link_HeyGenVideoLink``), where the API server reads it; so the link shows for
    finished tasks only, and the URL comes from the operator's ``produced_video_url``.
    """

    name = "HeyGen video"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The video URL of the finished task instance, or an empty string when it made none."""
        url = getattr(operator, "produced_video_url", None)
        return url if isinstance(url, str) else ""
