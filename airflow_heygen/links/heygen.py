"""Operator extra link to the video a HeyGen task produced."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey


class HeyGenVideoLink(BaseOperatorLink):
    """
    "HeyGen video": the URL of the video a HeyGen task produced.

    The task stores the URL in XCom (key ``_link_HeyGenVideoLink``) when its execution completes; the
    API server reads it from there, so the link shows for finished tasks only.
    """

    name = "HeyGen video"

    @classmethod
    def persist(cls, context: Context, video_url: str | None) -> None:
        """
        Store the video URL for this task instance's link.

        :param context: the running task's context.
        :param video_url: the finished video's URL; nothing is stored when there is none.
        """
        if video_url:
            context["ti"].xcom_push(key=cls().xcom_key, value=video_url)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The stored video URL of the task instance, or an empty string before it finished."""
        from airflow.sdk.bases.xcom import BaseXCom

        # The SDK's TaskInstanceKey is a NamedTuple; get_value's protocol wants settable fields.
        value: Any = BaseXCom.get_value(ti_key=ti_key, key=self.xcom_key)  # type: ignore[arg-type]
        return value if isinstance(value, str) else ""
