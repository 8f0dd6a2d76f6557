"""
Who may see what: every route needs a signed-in Airflow user (the UI's ``_token`` cookie or an
``Authorization: Bearer`` JWT, read by Airflow's own :func:`get_user`), and Airflow's auth manager's
permission to read the DAG of the task instance (its task instances and XComs), or the connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from airflow.api_fastapi.auth.managers.models.resource_details import (
    ConnectionDetails,
    DagAccessEntity,
    DagDetails,
)
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, HTTPException, Query, Request, status

from airflow_heygen.plugins.records import TaskKey

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

# What a page of one task instance shows comes from these two of its DAG's entities.
TASK_ENTITIES = (DagAccessEntity.TASK_INSTANCE, DagAccessEntity.XCOM)
KEY_PARAMS = ("dag_id", "run_id", "task_id", "map_index")


def _auth_manager():  # type: ignore[no-untyped-def]
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


def may_read_dag(user: BaseUser, dag_id: str) -> bool:
    """
    Whether ``user`` may read ``dag_id``'s task instances and their XComs.

    :param user: the signed-in user.
    :param dag_id: the DAG.
    """
    from airflow.models.dag import DagModel

    details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    manager = _auth_manager()
    return all(
        manager.is_authorized_dag(method="GET", access_entity=entity, details=details, user=user)
        for entity in TASK_ENTITIES
    )


def readable_dag_ids(user: BaseUser) -> set[str]:
    """
    The DAGs whose task instances and XComs ``user`` may read.

    :param user: the signed-in user.
    """
    dag_ids = _auth_manager().get_authorized_dag_ids(user=user, method="GET")
    return {dag_id for dag_id in dag_ids if may_read_dag(user, dag_id)}


def may_read_connection(user: BaseUser, conn_id: str) -> bool:
    """
    Whether ``user`` may read the connection ``conn_id`` (its account's balance is shown).

    :param user: the signed-in user.
    :param conn_id: the connection.
    """
    return _auth_manager().is_authorized_connection(
        method="GET", details=ConnectionDetails(conn_id=conn_id), user=user
    )


def readable_task(
    request: Request,
    user: GetUserDep,
    dag_id: Annotated[str, Query(min_length=1, max_length=250)],
    run_id: Annotated[str, Query(min_length=1, max_length=250)],
    task_id: Annotated[str, Query(min_length=1, max_length=250)],
    map_index: Annotated[str | None, Query(max_length=12)] = None,
) -> TaskKey:
    """
    The task instance a request names, once its user may read its DAG; ``403`` otherwise. A parameter
    given twice is refused (``400``), so that the one checked is the one read; a ``map_index`` that is
    not a number (nor the UI's unfilled ``{MAP_INDEX}``) is refused (``422``).

    :param request: the request.
    :param user: the signed-in user (Airflow's ``get_user``: Bearer JWT or the ``_token`` cookie).
    :param dag_id: the DAG.
    :param run_id: the run.
    :param task_id: the task.
    :param map_index: the map index.
    """
    for name in KEY_PARAMS:
        if len(request.query_params.getlist(name)) > 1:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name} given more than once")
    index = TaskKey.map_index_of(map_index)
    if index is None:
        raise HTTPException(422, "map_index must be a number")
    if not may_read_dag(user, dag_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return TaskKey(dag_id, run_id, task_id, index)


ReadableTaskDep = Annotated[TaskKey, Depends(readable_task)]
