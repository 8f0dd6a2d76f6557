"""
The HeyGen view's FastAPI app, mounted by the api-server at ``/heygen``: the pages, their JSON, and the
published videos streamed from object storage. Every route checks its user with Airflow's auth manager
(:mod:`airflow_heygen.plugins.auth`); media is found from the task instance's own records only.
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response

from airflow_heygen.plugins.auth import ReadableTaskDep, may_read_connection, readable_dag_ids
from airflow_heygen.plugins.balances import Balance, BalanceCache, heygen_conn_ids
from airflow_heygen.plugins.facts import TaskFacts, media_file, task_facts
from airflow_heygen.plugins.jobs import TaskKind
from airflow_heygen.plugins.media import stream_file
from airflow_heygen.plugins.pages import item_row, nav_page, progress_html, task_page
from airflow_heygen.plugins.records import latest_heygen_tasks
from airflow_heygen.plugins.settings import LATEST_JOBS, PAGE_SIZE, base_path

# The campaign table's filter, ?status=...
StatusFilter = Annotated[
    str | None,
    Query(alias="status", pattern="^(completed|failed|in_doubt|running|waiting|pending|skipped)$"),
]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
NO_STORE = {"Cache-Control": "no-store"}


def _campaign_answer(facts: TaskFacts, status_filter: str | None, offset: int) -> dict[str, Any]:
    campaign = facts.campaign
    if campaign is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not a campaign task instance")
    rows, matching = campaign.page(status_filter, offset, PAGE_SIZE)
    return {
        "progress": campaign.progress(),
        "progress_html": progress_html(campaign),
        "rows": rows,
        "rows_html": "".join(item_row(facts.key, row) for row in rows),
        "matching": matching,
        "offset": offset,
    }


def _latest(session: Any, user: Any) -> list[TaskFacts]:
    return [
        task_facts(session, key) for key in latest_heygen_tasks(session, readable_dag_ids(user), LATEST_JOBS)
    ]


def create_app(balances: BalanceCache | None = None) -> FastAPI:
    """
    The view's app.

    :param balances: the account balances' cache (one per app; read at most once a minute each).
    """
    cache = balances or BalanceCache()
    app = FastAPI(title="HeyGen view", docs_url=None, redoc_url=None, openapi_url=None)

    def balances_for(user: Any) -> list[Balance]:
        """The balances of the HeyGen connections ``user`` may read."""
        return [cache.get(conn_id) for conn_id in heygen_conn_ids() if may_read_connection(user, conn_id)]

    @app.get("/", response_class=HTMLResponse)
    def home(user: GetUserDep, session: SessionDep) -> HTMLResponse:
        """Account balances of the readable connections and the latest jobs of the readable DAGs."""
        return HTMLResponse(
            nav_page(balances_for(user), _latest(session, user), base_path()), headers=NO_STORE
        )

    @app.get("/api/jobs")
    def jobs(user: GetUserDep, session: SessionDep) -> JSONResponse:
        """The latest HeyGen task instances of the DAGs the user may read."""
        answer = []
        for facts in _latest(session, user):
            item: dict[str, Any] = {
                "dag_id": facts.key.dag_id,
                "run_id": facts.key.run_id,
                "task_id": facts.key.task_id,
                "map_index": facts.key.map_index,
                "kind": facts.kind.value,
            }
            if facts.job is not None:
                item["job"] = facts.job.to_dict()
            if facts.campaign is not None:
                item["campaign"] = facts.campaign.progress()
            answer.append(item)
        return JSONResponse(answer, headers=NO_STORE)

    @app.get("/api/balances")
    def balances_json(user: GetUserDep) -> JSONResponse:
        """The balances of the HeyGen connections the user may read."""
        shown = balances_for(user)
        return JSONResponse(
            [
                {
                    "conn_id": b.conn_id,
                    "summary": b.summary,
                    "remaining_usd": b.remaining_usd,
                    "error": b.error,
                }
                for b in shown
            ],
            headers=NO_STORE,
        )

    @app.get("/task", response_class=HTMLResponse)
    def task(
        key: ReadableTaskDep, session: SessionDep, shown: StatusFilter = None, offset: Offset = 0
    ) -> HTMLResponse:
        """The "HeyGen" tab of a task instance."""
        return HTMLResponse(task_page(task_facts(session, key), shown, offset), headers=NO_STORE)

    @app.get("/api/task")
    def task_json(key: ReadableTaskDep, session: SessionDep) -> JSONResponse:
        """A task instance's job(s) or campaign progress."""
        facts = task_facts(session, key)
        answer: dict[str, Any] = {
            "kind": facts.kind.value,
            "state": facts.record.state if facts.record else None,
        }
        if facts.job is not None:
            answer["job"] = facts.job.to_dict()
        if facts.campaign is not None:
            answer["campaign"] = facts.campaign.progress()
        if facts.published is not None:
            answer["published"] = {"uri": facts.published.uri, "bytes": facts.published.size}
        return JSONResponse(answer, headers=NO_STORE)

    @app.get("/api/campaign")
    def campaign_json(
        key: ReadableTaskDep, session: SessionDep, shown: StatusFilter = None, offset: Offset = 0
    ) -> JSONResponse:
        """A campaign's progress and one page of its manifest (filtered by status)."""
        return JSONResponse(_campaign_answer(task_facts(session, key), shown, offset), headers=NO_STORE)

    @app.get("/media")
    def media(
        request: Request,
        key: ReadableTaskDep,
        session: SessionDep,
        role: Annotated[str, Query(pattern="^(video|preview)$")] = "video",
        item: Annotated[str | None, Query(max_length=250)] = None,
        copy: Annotated[int, Query(ge=0, le=100)] = 0,
    ) -> Response:
        """A published video (or its preview) of the task instance, streamed with Range support."""
        facts = task_facts(session, key)
        if facts.kind is TaskKind.NONE:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No HeyGen video recorded")
        path = media_file(facts, preview=role == "preview", item=item, copy=copy)
        if path is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No published file recorded")
        try:
            return stream_file(path, request.headers.get("range"))
        except FileNotFoundError:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "The published file is gone") from None

    return app
