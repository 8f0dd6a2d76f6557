"""
Templated arguments that come from another task's XCom: when one renders to nothing, the error says
which XCom of which task it was, instead of a type error about ``None`` far from its cause.

Importing this module is cheap: Airflow's XCom classes are imported when a task renders its fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_heygen.exceptions import HeyGenInputError

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

# Said when a HeyGen task's XCom is missing: how its results are reachable without Python.
XCOM_KEYS_HINT = (
    "HeyGen tasks push each key of their result as its own XCom (e.g. task.output['video_url']; a "
    "translation pushes 'video_url_<language>', e.g. translate.output['video_url_es']), and Airflow "
    "reads task.output['a']['b'] as XCom key 'b' of that task, not as key 'b' inside XCom 'a'"
)


def xcom_origins(task: Any) -> dict[str, tuple[str, str, bool]]:
    """
    The template fields of ``task`` that hold a plain XCom reference, with where it points:
    ``field -> (upstream task id, XCom key, whether the upstream task is a HeyGen task)``.

    :param task: an operator before its fields are rendered.
    """
    from airflow.sdk.definitions.xcom_arg import PlainXComArg

    origins: dict[str, tuple[str, str, bool]] = {}
    for name in task.template_fields:
        value = getattr(task, name, None)
        if isinstance(value, PlainXComArg):
            upstream = value.operator
            is_heygen = type(upstream).__module__.startswith("airflow_heygen.")
            origins[name] = (upstream.task_id, value.key, is_heygen)
    return origins


def check_xcom_values(task: Any, origins: Mapping[str, tuple[str, str, bool]]) -> None:
    """
    Raise for a field that was pulled from XCom and rendered to None (no such XCom).

    :param task: the operator, its fields rendered.
    :param origins: what :func:`xcom_origins` found before rendering.
    :raises HeyGenInputError: naming the field, the task and the key it came from.
    """
    for name, (task_id, key, is_heygen) in origins.items():
        if getattr(task, name, None) is None:
            hint = f". {XCOM_KEYS_HINT}" if is_heygen else ""
            raise HeyGenInputError(
                name,
                f"is required, but it comes from XCom {key!r} of task {task_id!r}, which is missing{hint}",
            )


class XComOriginsMixin:
    """
    Renders template fields like every operator, then refuses an XCom-fed field that came out None,
    naming the XCom (:func:`check_xcom_values`).
    """

    template_fields: Any

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render as Airflow does; raise for an XCom-fed field that rendered to None."""
        origins = xcom_origins(self)
        super().render_template_fields(context, jinja_env)  # type: ignore[misc]
        check_xcom_values(self, origins)
