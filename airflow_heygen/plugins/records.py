"""
What Airflow itself recorded about a task instance: its row, its XComs (with when each was pushed) and
its rendered template fields. The view shows nothing else; every lookup is by the task instance's key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The XComs that mark a task instance as one of HeyGen's: a job's id(s), a campaign's progress.
JOB_KEYS = ("job_id", "job_ids", "heygen_campaign")
# What the UI leaves in an external view's href for a task that is not mapped.
UNFILLED_MAP_INDEX = "{MAP_INDEX}"


@dataclass(frozen=True)
class TaskKey:
    """
    One task instance.

    :param dag_id: its DAG.
    :param run_id: its run.
    :param task_id: its task.
    :param map_index: its map index (-1 when not mapped).
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    @staticmethod
    def map_index_of(text: str | None) -> int | None:
        """
        A map index as the UI's ``{MAP_INDEX}`` gives it: a number, or -1 when absent or left unfilled
        (the UI fills it for mapped tasks only); None for anything else.
        """
        value = (text or "").strip()
        if value in ("", UNFILLED_MAP_INDEX):
            return -1
        digits = value.removeprefix("-")
        return int(value) if digits.isascii() and digits.isdigit() and len(digits) < 10 else None


@dataclass(frozen=True)
class Pushed:
    """
    One XCom of the task instance.

    :param value: its value.
    :param at: when it was pushed.
    """

    value: Any
    at: datetime | None


@dataclass(frozen=True)
class TaskRecord:
    """
    A task instance as Airflow recorded it.

    :param key: which one.
    :param state: its state (None before it was scheduled).
    :param operator: its operator's class name.
    :param try_number: its try.
    :param queued_at: when it was last queued.
    :param started_at: when its last try started.
    :param ended_at: when its last try ended.
    :param xcoms: its XComs by key.
    :param rendered: its rendered template fields.
    """

    key: TaskKey
    state: str | None
    operator: str | None
    try_number: int
    queued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    xcoms: Mapping[str, Pushed] = field(default_factory=dict)
    rendered: Mapping[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        """An XCom's value, or None."""
        pushed = self.xcoms.get(key)
        return None if pushed is None else pushed.value

    def mapping(self, key: str) -> dict[str, Any]:
        """An XCom's value when it is a dict, else an empty one."""
        value = self.value(key)
        return dict(value) if isinstance(value, Mapping) else {}

    def text(self, name: str) -> str | None:
        """A rendered template field that is a non-empty string."""
        value = self.rendered.get(name)
        return value if isinstance(value, str) and value else None


def _of(model: Any, key: TaskKey) -> tuple[Any, ...]:
    """The conditions selecting ``key``'s rows of a table keyed by task instance."""
    return (
        model.dag_id == key.dag_id,
        model.run_id == key.run_id,
        model.task_id == key.task_id,
        model.map_index == key.map_index,
    )


def _xcoms(session: Session, key: TaskKey) -> dict[str, Pushed]:
    from airflow.models.xcom import XComModel

    rows = session.scalars(select(XComModel).where(*_of(XComModel, key)))
    return {row.key: Pushed(XComModel.deserialize_value(row), row.timestamp) for row in rows}


def _rendered(session: Session, key: TaskKey) -> dict[str, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rendered

    fields = session.scalar(select(Rendered.rendered_fields).where(*_of(Rendered, key)))
    return dict(fields) if isinstance(fields, Mapping) else {}


def load_task(session: Session, key: TaskKey) -> TaskRecord | None:
    """
    The task instance ``key`` as recorded, or None when there is none.

    :param session: a metadata database session.
    :param key: the task instance.
    """
    from airflow.models.taskinstance import TaskInstance as TI

    ti = session.scalar(select(TI).where(*_of(TI, key)))
    if ti is None:
        return None
    return TaskRecord(
        key=key,
        state=None if ti.state is None else str(ti.state.value if hasattr(ti.state, "value") else ti.state),
        operator=ti.operator,
        try_number=int(ti.try_number or 0),
        queued_at=ti.queued_dttm,
        started_at=ti.start_date,
        ended_at=ti.end_date,
        xcoms=_xcoms(session, key),
        rendered=_rendered(session, key),
    )


def run_tasks(session: Session, dag_id: str, run_id: str, operator: str) -> list[TaskKey]:
    """
    The task instances of one run whose operator is ``operator`` (e.g. the run's publishing tasks).

    :param session: a metadata database session.
    :param dag_id: the DAG.
    :param run_id: the run.
    :param operator: the operator's class name.
    """
    from airflow.models.taskinstance import TaskInstance as TI

    rows = session.execute(
        select(TI.task_id, TI.map_index).where(
            TI.dag_id == dag_id, TI.run_id == run_id, TI.operator == operator
        )
    )
    return [TaskKey(dag_id, run_id, task_id, map_index) for task_id, map_index in rows]


def latest_heygen_tasks(session: Session, dag_ids: Iterable[str], limit: int) -> list[TaskKey]:
    """
    The task instances that made HeyGen jobs most recently (by when their job id or campaign progress was
    pushed), among ``dag_ids`` only.

    :param session: a metadata database session.
    :param dag_ids: the DAGs to look in (the ones the user may read).
    :param limit: how many.
    """
    from airflow.models.xcom import XComModel

    allowed = sorted(set(dag_ids))
    if not allowed:
        return []
    rows = session.execute(
        select(XComModel.dag_id, XComModel.run_id, XComModel.task_id, XComModel.map_index)
        .where(XComModel.key.in_(JOB_KEYS), XComModel.dag_id.in_(allowed))
        .order_by(XComModel.timestamp.desc())
        .limit(limit * 2)
    )
    keys: list[TaskKey] = []
    for dag_id, run_id, task_id, map_index in rows:
        key = TaskKey(dag_id, run_id, task_id, map_index)
        if key not in keys:
            keys.append(key)
    return keys[:limit]
