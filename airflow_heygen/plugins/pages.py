"""
The HeyGen view's pages: plain server-rendered HTML (every value escaped), a little CSS, and for a
running campaign a few lines of JavaScript re-reading its progress from the JSON endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from airflow_heygen.links.view import TaskInstanceView
from airflow_heygen.plugins.balances import Balance
from airflow_heygen.plugins.campaign import CampaignView
from airflow_heygen.plugins.facts import TaskFacts
from airflow_heygen.plugins.jobs import JobView, Moment, TaskKind
from airflow_heygen.plugins.records import TaskKey
from airflow_heygen.plugins.settings import PAGE_SIZE, REFRESH_MS

STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;color:#1a1a2e;background:#fff}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:20px 0 8px}
table{border-collapse:collapse}td,th{padding:4px 10px;text-align:left;border-bottom:1px solid #e4e4ef;
vertical-align:top}th{color:#555;font-weight:600}
.status{display:inline-block;padding:1px 8px;border-radius:10px;background:#e4e4ef}
.status.completed,.status.success{background:#c8f0d0}.status.failed{background:#f8c8c8}
.status.running,.status.deferred{background:#d0e0ff}.status.in_doubt{background:#ffe0a0}
.failure{background:#fff0f0;border-left:4px solid #d33;padding:8px 12px;margin:8px 0;white-space:pre-wrap}
.bar{display:flex;width:100%;max-width:720px;height:18px;border-radius:4px;overflow:hidden;
background:#eee}.bar span{display:block;height:100%}
.completed-bg{background:#3bb273}.failed-bg{background:#d33}.in_doubt-bg{background:#f0a020}
.running-bg{background:#4a78e0}.pending-bg{background:#ccc}.skipped-bg{background:#999}
.muted{color:#777}video{background:#000;border-radius:4px}nav a{margin-right:10px}
"""
JOB_STATUS_ROWS = ("completed", "failed", "in_doubt", "running", "pending", "skipped")
SHOWN = {"pending": "waiting", "in_doubt": "in doubt"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def key_query(key: TaskKey, **extra: Any) -> str:
    """The query string naming ``key`` (and ``extra``), for the view's own links."""
    return _view(key).query(**extra)


def ui_task_url(key: TaskKey, root: str = "") -> str:
    """
    The task instance's "HeyGen" tab in the Airflow UI (the page is shown there, in an iframe).

    :param key: the task instance.
    :param root: the api-server's base path.
    """
    return _view(key, root).tab


def _view(key: TaskKey, root: str = "") -> TaskInstanceView:
    return TaskInstanceView(key.dag_id, key.run_id, key.task_id, key.map_index, root)


def document(title: str, body: str, script: str = "") -> str:
    """A whole page."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}{script}</body></html>"
    )


def _timeline(moments: Sequence[Moment]) -> str:
    rows = "".join(
        f"<tr><td>{_e(m.at.isoformat(timespec='seconds'))}</td><td>{_e(m.what)}</td></tr>" for m in moments
    )
    return f"<h2>Timeline</h2><table id='timeline'>{rows}</table>" if rows else ""


def _video(src: str, poster: str | None, element_id: str = "video") -> str:
    poster_attr = f" poster='{_e(poster)}'" if poster else ""
    return (
        f"<video id='{element_id}' controls preload='metadata' width='640' src='{_e(src)}'{poster_attr}>"
        "</video>"
    )


def _job(key: TaskKey, job: JobView) -> str:
    facts = [
        ("Kind", _e(job.kind or "unknown")),
        ("Job id(s)", _e(", ".join(job.job_ids) or "none yet")),
        ("Status", f"<span class='status {_e(job.status)}' id='status'>{_e(job.status)}</span>"),
        ("Estimated cost", f"<span id='estimated-cost'>{_e(_usd(job.estimated_cost_usd))}</span>"),
        ("Actual cost", f"<span id='cost'>{_e(_usd(job.cost_usd))}</span>"),
    ]
    rows = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in facts)
    html = f"<table id='job'>{rows}</table>"
    if job.failure:
        code = f" [{_e(job.failure_code)}]" if job.failure_code else ""
        html += f"<div class='failure' id='failure'><b>Failed{code}:</b> {_e(job.failure)}</div>"
        if job.task_error:
            html += f"<p class='muted' id='task-error'>{_e(job.task_error)}</p>"
    html += _timeline(job.timeline)
    html += "<h2>Video</h2>"
    if job.published:
        copy = job.published[0]
        poster = f"media?{key_query(key, role='preview')}" if copy.preview_uri else job.thumbnail_url
        html += _video(f"media?{key_query(key)}", poster)
        html += "<p>Playing the published copy, streamed from object storage.</p>"
    elif job.heygen_video_url:
        for number, (language, url) in enumerate(job.videos.items()):
            html += f"<h3>{_e(language)}</h3>" if language else ""
            html += _video(url, job.thumbnail_url, "video" if number == 0 else f"video-{number}")
        html += "<p>Playing HeyGen's URL (valid for a limited time; no published copy found).</p>"
    elif job.url_expired:
        html += "<p class='muted'>HeyGen's URL has expired and no copy was published.</p>"
    else:
        html += "<p class='muted'>No video yet.</p>"
    if job.published:
        items = "".join(
            f"<li>{_e(p.uri)} <span class='muted'>(task {_e(p.task_id)})</span></li>" for p in job.published
        )
        html += f"<h2>Published to</h2><ul id='published'>{items}</ul>"
    return html


def progress_html(campaign: CampaignView) -> str:
    """The progress bar and the counts of a campaign (also re-rendered by the page's script)."""
    counts = campaign.counts
    total = max(campaign.total, 1)
    segments = "".join(
        f"<span class='{status}-bg' data-bar='{status}' "
        f"style='width:{100 * counts[status] / total:.2f}%'></span>"
        for status in JOB_STATUS_ROWS
    )
    numbers = " · ".join(
        f"{_e(SHOWN.get(status, status))} <b data-count='{status}'>{counts[status]}</b>"
        for status in JOB_STATUS_ROWS
    )
    cap = _usd(campaign.max_cost_usd) if campaign.max_cost_usd is not None else "no cap"
    return (
        f"<div class='bar' id='bar'>{segments}</div>"
        f"<p id='counts'>{numbers} of <b data-count='total'>{campaign.total}</b></p>"
        f"<p>Spent so far <b id='spent'>{_e(_usd(campaign.spent_usd))}</b> of "
        f"<span id='cap'>{_e(cap)}</span> <span class='muted'>(estimate "
        f"{_e(_usd(campaign.estimated_cost_usd))})</span></p>"
    )


def item_row(key: TaskKey, row: Mapping[str, Any]) -> str:
    """One manifest row of the campaign's table."""
    item = str(row.get("item_id"))
    src: str | None = None
    if row.get("published_to"):
        src = f"media?{key_query(key, item=item)}"
    elif isinstance(row.get("video_url"), str):
        src = str(row["video_url"])
    video = f"<video controls preload='none' width='200' src='{_e(src)}'></video>" if src else ""
    status = str(row.get("status"))
    cost = row.get("cost_usd")
    return (
        f"<tr data-item='{_e(item)}'><td>{_e(item)}</td>"
        f"<td><span class='status {_e(status)}'>{_e(SHOWN.get(status, status))}</span></td>"
        f"<td>{_e(row.get('job_id'))}</td><td>{_e(row.get('failure'))}</td>"
        f"<td>{_e(_usd(cost) if isinstance(cost, (int, float)) else '')}</td><td>{video}</td></tr>"
    )


def _campaign(key: TaskKey, campaign: CampaignView, status: str | None, offset: int) -> str:
    html = f"<p>Campaign of <b>{_e(campaign.total)}</b> {_e(campaign.kind or '')} items</p>"
    html += f"<div id='progress'>{progress_html(campaign)}</div>"
    if campaign.manifest_error:
        html += f"<p class='muted'>Manifest: {_e(campaign.manifest_error)}</p>"
    filters = ["all", *(SHOWN.get(s, s) for s in JOB_STATUS_ROWS)]
    links = " ".join(
        f"<a href='task?{_e(key_query(key, status=None if name == 'all' else name.replace(' ', '_')))}'"
        f"{' class=current' if (status or 'all') == name.replace(' ', '_') else ''}>{_e(name)}</a>"
        for name in filters
    )
    rows, matching = campaign.page(status, offset, PAGE_SIZE)
    body = "".join(item_row(key, row) for row in rows)
    pager = []
    if offset > 0:
        earlier = key_query(key, status=status, offset=max(0, offset - PAGE_SIZE))
        pager.append(f"<a href='task?{_e(earlier)}'>previous</a>")
    if offset + PAGE_SIZE < matching:
        pager.append(
            f"<a href='task?{_e(key_query(key, status=status, offset=offset + PAGE_SIZE))}'>next</a>"
        )
    shown = f"{offset + 1}-{offset + len(rows)} of {matching}" if rows else "none"
    return (
        html
        + f"<h2>Manifest</h2><nav id='filters'>Show: {links}</nav>"
        + f"<p class='muted' id='page'>{_e(shown)}</p>"
        + "<table id='items'><thead><tr><th>Item</th><th>Status</th><th>Job</th><th>Failure</th>"
        + f"<th>Cost</th><th>Video</th></tr></thead><tbody>{body}</tbody></table>"
        + f"<p>{' '.join(pager)}</p>"
    )


def _refresh_script(key: TaskKey, status: str | None, offset: int) -> str:
    url = f"api/campaign?{key_query(key, status=status, offset=offset)}"
    return f"""<script>
(function () {{
  const url = {url!r};
  let shown = null;
  async function refresh() {{
    const answer = await fetch(url, {{credentials: "same-origin"}});
    if (!answer.ok) return;
    const data = await answer.json();
    document.getElementById("progress").innerHTML = data.progress_html;
    // The rows are replaced only when they changed, and never under a video someone is watching.
    const rows = document.querySelector("#items tbody");
    const watching = [...rows.querySelectorAll("video")].some(video => !video.paused);
    if (!watching && data.rows_html !== shown) {{
      rows.innerHTML = data.rows_html;
      shown = data.rows_html;
    }}
    if (data.progress.running_task) setTimeout(refresh, {REFRESH_MS});
  }}
  setTimeout(refresh, {REFRESH_MS});
}})();
</script>"""


def task_page(facts: TaskFacts, status: str | None = None, offset: int = 0) -> str:
    """
    The "HeyGen" tab of one task instance.

    :param facts: the task instance.
    :param status: the campaign table's filter.
    :param offset: the campaign table's first row.
    """
    key = facts.key
    where = f"{key.dag_id} / {key.run_id} / {key.task_id}" + (
        f" [{key.map_index}]" if key.map_index >= 0 else ""
    )
    body = f"<h1>HeyGen · {_e(where)}</h1>"
    script = ""
    if facts.record is None:
        body += "<p class='muted'>Airflow has no such task instance.</p>"
    elif facts.kind is TaskKind.JOB and facts.job is not None:
        body += _job(key, facts.job)
    elif facts.kind is TaskKind.CAMPAIGN and facts.campaign is not None:
        body += _campaign(key, facts.campaign, status, offset)
        if facts.campaign.running:
            script = _refresh_script(key, status, offset)
    elif facts.kind is TaskKind.PUBLISH and facts.published is not None:
        copy = facts.published
        poster = f"media?{key_query(key, role='preview')}" if copy.preview_uri else None
        body += (
            _video(f"media?{key_query(key)}", poster)
            + f"<p>Published to <b id='published'>{_e(copy.uri)}</b></p>"
        )
    else:
        state = facts.record.state or "not started"
        body += f"<p class='muted'>No HeyGen job recorded for this task instance (it is {_e(state)}).</p>"
    return document("HeyGen", body, script)


def nav_page(balances: Sequence[Balance], jobs: Sequence[TaskFacts], root: str = "") -> str:
    """
    The "HeyGen" page: each readable connection's balance and the latest jobs of the readable DAGs,
    each linking to its task instance's "HeyGen" tab in the Airflow UI.

    :param balances: the balances of the connections the user may read.
    :param jobs: the latest HeyGen task instances of the DAGs the user may read.
    :param root: the api-server's base path.
    """
    rows = "".join(
        f"<tr><td>{_e(b.conn_id)}</td><td>{_e(b.summary or 'unavailable: ' + (b.error or 'unknown'))}</td>"
        f"<td>{_e(_usd(b.remaining_usd) if b.remaining_usd is not None else '')}</td></tr>"
        for b in balances
    )
    body = "<h1>HeyGen</h1><h2>Accounts</h2>"
    body += (
        f"<table id='balances'><tr><th>Connection</th><th>Account</th><th>Left (USD)</th></tr>{rows}</table>"
        if rows
        else "<p class='muted'>No HeyGen connection you may read.</p>"
    )
    lines = []
    for facts in jobs:
        key, record = facts.key, facts.record
        if facts.job is not None:
            what, status = facts.job.kind or "job", facts.job.status
            cost = facts.job.cost_usd
        elif facts.campaign is not None:
            what, status, cost = (
                "campaign",
                (record.state if record else None) or "none",
                facts.campaign.spent_usd,
            )
        else:
            continue
        when = record.started_at.isoformat(timespec="seconds") if record and record.started_at else ""
        lines.append(
            f"<tr><td>{_e(when)}</td><td>{_e(key.dag_id)}</td><td>{_e(key.run_id)}</td>"
            f"<td><a target='_top' href='{_e(ui_task_url(key, root))}'>{_e(key.task_id)}</a></td>"
            f"<td>{_e(what)}</td>"
            f"<td><span class='status {_e(status)}'>{_e(status)}</span></td><td>{_e(_usd(cost))}</td></tr>"
        )
    body += "<h2>Latest jobs</h2>"
    body += (
        "<table id='jobs'><tr><th>Started</th><th>DAG</th><th>Run</th><th>Task</th><th>Kind</th>"
        f"<th>Status</th><th>Cost</th></tr>{''.join(lines)}</table>"
        if lines
        else "<p class='muted'>No HeyGen jobs in the DAGs you may read.</p>"
    )
    return document("HeyGen", body)
