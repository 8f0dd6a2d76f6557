"""Turns the figures of one ``bench/run_all.py`` run into ``BENCHMARKS.md``."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._common import ratio, table

GIB = 2**30
MIB = 2**20
REAL_TIME_FPS = 25.0
SCHEDULE_KEPT = 0.95  # "keeps to its schedule": at least this share of the polls due were made ...
WORST_GAP = 1.2  # ... and 99 % of waiters never went longer than this many intervals without a poll
CONTENDER_NAMES = {
    "heygen": "HeyGenExecutionTrigger (ours)",
    "http_sensor": "HttpSensorTrigger",
    "http_event": "HttpEventTrigger",
    "floor": "bare aiohttp floor",
    "heygen_fixed": "ours, fixed 10 s polling",
}
# Frames that sit under everything (event loop, harness) and say nothing about the cost.
PLUMBING = re.compile(
    r"\((runners|base_events|events|bench_triggerer|bench_publish|threading|_common|operator|contextlib)\.py\)"
    r"|<frozen importlib|^<module>|^main |^child_main|^_child|^_waiter_factory|^run \(|_run_once|Handle\._run"
)


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def write_report(figures: dict[str, Any], output: Path) -> None:
    """
    Write the Markdown report of one run.

    :param figures: what ``bench/run_all.py`` measured.
    :param output: the file to write.
    """
    goals: list[tuple[str, str, str, str]] = []
    sections = [
        _scale(figures.get("scale"), goals),
        _polling(figures.get("polling")),
        _parse(figures.get("parse"), goals),
        _publish(figures.get("publish"), goals),
        _render(figures.get("render")),
        bulk_section(figures.get("bulk"), goals),
    ]
    parts = [_header(figures), _goals(goals), *[section for section in sections if section], _changes()]
    output.write_text("\n\n".join(parts).rstrip() + "\n", encoding="utf-8")


def _header(figures: dict[str, Any]) -> str:
    machine = figures["machine"]
    rows = [(key, value) for key, value in machine.items()]
    quick = (
        "\n\n**Quick run** (`--quick`): small sizes, for checking the harness only."
        if figures["quick"]
        else ""
    )
    return (
        "# Benchmarks\n\n"
        "Measured side by side with the nearest peer in one run of `make bench` (`bench/run_all.py`), on a\n"
        "2-core machine shared with other engineers' test runs: absolute figures drift with their load,\n"
        "so read the ratios, which compare figures taken minutes apart on the same machine. Benchmarks\n"
        "print figures; they are not tests and gate nothing. Everything talks to the local HeyGen\n"
        "emulator on 127.0.0.1 (stub rendering unless said otherwise); child processes read Python\n"
        "bytecode from a warm cache, as a deployment does."
        f"{quick}\n\n" + table(("machine", "value"), rows)
    )


def _goals(goals: list[tuple[str, str, str, str]]) -> str:
    return "## Goals\n\n" + table(("goal", "target", "this run", "verdict"), goals)


# --------------------------------------------------------------------------------------------- item 1


def _scale(scale: dict[str, Any] | None, goals: list[tuple[str, str, str, str]]) -> str:
    if not scale:
        return ""
    runs = scale["runs"]
    by_n: dict[int, dict[str, dict[str, Any]]] = {}
    for run in runs:
        by_n.setdefault(run["n"], {})[run["contender"]] = run
    text = [
        "## 1. Triggerer scale",
        "N waiters run as coroutines in one event loop, as a triggerer runs triggers, against the emulator\n"
        "in stub mode; every job finishes a set time after submission (10 intervals at N = 100 and 1,000,\n"
        "6 at N = 10,000). Waiters arrive at random moments within the first interval. Each contender runs\n"
        "in a fresh process, so CPU (user + system, whole process, all threads) and memory are its own;\n"
        "the emulator counts the polls and logs when each one arrived. The emulator keeps idle\n"
        "connections 75 s, longer than any interval used. N = 100 and 1,000 run three alternating\n"
        "rounds of all contenders; each column shows its round with the median CPU per poll (every\n"
        "round's figure is in the first row). N = 10,000 runs once.\n\n"
        "* **HttpSensorTrigger** can only wait for a non-404, not for a JSON status: it polls the status\n"
        "  URL of an id that stays unknown (404) for as long as the jobs run, so it delivers no event.\n"
        "* **HttpEventTrigger** polls the real status URL with an async response check on the JSON status\n"
        "  (`bench/peer_checks.py`; the trigger re-imports that module on every poll).\n"
        "* **floor**: one `aiohttp.ClientSession` per waiter, GET and JSON parse, nothing else.\n\n"
        "*CPU per poll* is the waiting process's CPU time divided by the polls the emulator answered, so\n"
        "per-trigger costs (connection lookup, logging, sessions) are included. *Polls made / due*: due\n"
        "is one poll at arrival and one per interval until the event (or the end of the window).\n"
        "*Longest gap* is, per waiter, the longest time without a poll; the table gives its 99th\n"
        "percentile. *Lag*: from the job's completion (emulator clock) to the event. *Event loop woken\n"
        "late*: a task sleeping 0.25 s at a time in the waiting process notes how late it wakes; it is\n"
        "late when the process waits for a CPU or one callback runs long.",
    ]
    for n in sorted(by_n):
        contenders = by_n[n]
        ours = contenders.get("heygen")
        if ours is None:
            continue
        text.append(f"### N = {n:,}, polling every {ours['interval']:g} s\n\n" + _scale_table(contenders))
    text.append(_scale_profile(scale.get("profiles") or {}, by_n))
    _scale_goals(by_n, goals)
    text.append(_scale_notes(by_n))
    return "\n\n".join(text)


def _scale_table(contenders: dict[str, dict[str, Any]]) -> str:
    ours = contenders["heygen"]
    peers = [name for name in ("http_sensor", "http_event", "floor") if name in contenders]
    header = ["figure", CONTENDER_NAMES["heygen"]]
    for name in peers:
        header += [CONTENDER_NAMES[name], f"ours ÷ {name.replace('http_', '')}"]
    rows: list[tuple[str, Callable[[dict[str, Any]], float | None], Callable[[float | None], str]]] = [
        ("client CPU per poll (ms)", lambda r: r["cpu_per_poll_ms"], lambda v: _num(v, 3)),
        ("polls answered", lambda r: r["polls"], lambda v: _num(v, 0)),
        ("polls made / due", lambda r: r["schedule_kept"], lambda v: _num(v, 3)),
        ("longest gap between polls, p99 (s)", lambda r: r["worst_gap_p99_s"], lambda v: _num(v, 1)),
        (
            "gaps over 1.2 intervals (% of all gaps)",
            lambda r: None if r.get("late_gap_share") is None else 100 * r["late_gap_share"],
            lambda v: _num(v, 2),
        ),
        ("events delivered", lambda r: r["delivered"], lambda v: _num(v, 0)),
        ("completion → event lag p50 (s)", lambda r: r["lag_p50_s"], lambda v: _num(v, 2)),
        ("completion → event lag p95 (s)", lambda r: r["lag_p95_s"], lambda v: _num(v, 2)),
        ("completion → event lag max (s)", lambda r: r["lag_max_s"], lambda v: _num(v, 2)),
        ("peak RSS growth per waiter (KiB)", lambda r: r["rss_per_waiter"] / 1024, lambda v: _num(v, 1)),
        ("peak RSS of the process (MiB)", lambda r: r["peak_rss"] / MIB, lambda v: _num(v, 0)),
        ("TCP connections opened", lambda r: r["tcp_connects"], lambda v: _num(v, 0)),
        ("Airflow connection lookups", lambda r: r["connection_lookups"], lambda v: _num(v, 0)),
        ("emulator CPU per poll (ms)", lambda r: r["server_cpu_per_poll_ms"], lambda v: _num(v, 3)),
        ("event loop woken late, p99 (ms)", lambda r: r.get("loop_lag_p99_ms"), lambda v: _num(v, 0)),
        ("event loop woken late, max (ms)", lambda r: r.get("loop_lag_max_ms"), lambda v: _num(v, 0)),
    ]
    body = []
    if len(ours.get("cpu_per_poll_runs", [])) > 1:
        line = ["client CPU per poll, every round (ms)", _rounds(ours)]
        for name in peers:
            line += [_rounds(contenders[name]), ""]
        body.append(line)
    for label, get, show in rows:
        line = [label, show(get(ours))]
        for name in peers:
            peer_value = get(contenders[name])
            line += [show(peer_value), ratio(get(ours), peer_value)]
        body.append(line)
    return table(header, body)


def _late_gaps(run: dict[str, Any]) -> str:
    if run.get("late_gap_share") is None:
        return ""
    seconds = run["late_gap_seconds"]
    if not seconds:
        text = "No gap between two of our polls exceeded 1.2 intervals"
        if run["worst_gap_p99_s"] > WORST_GAP * run["interval"]:
            text += ": the long waits were from a trigger's arrival to its first poll"
        return text + "."
    text = (
        f"{100 * run['late_gap_share']:.2f} % of the gaps between our polls exceeded 1.2 intervals; they "
        f"began within {len(seconds)} distinct seconds of the {run['run_seconds']:.0f} s run (from "
        f"{seconds[0]} s to {seconds[-1]} s)"
    )
    if len(seconds) <= 0.1 * run["run_seconds"]:
        return text + ": polls slipped together, in a few stalls, not one by one."
    return text + "."


def _rounds(run: dict[str, Any]) -> str:
    return " / ".join(f"{value:.3f}" for value in run.get("cpu_per_poll_runs", []))


def _scale_profile(profiles: dict[str, list[Any]], by_n: dict[int, dict[str, dict[str, Any]]]) -> str:
    if not profiles:
        return ""
    lines = [
        "### Where the CPU goes (py-spy, N = 1,000, 1 s polling)",
        "Sampled with `py-spy record --rate 250` in a separate run of the same size. Share of the CPU\n"
        "samples spent inside each frame (inclusive), event-loop and harness frames left out.",
    ]
    for name in ("heygen", "floor"):
        frames = [(frame, share) for frame, share in profiles.get(name, []) if not PLUMBING.search(frame)]
        lines.append(
            f"**{CONTENDER_NAMES[name]}**\n\n"
            + table(("frame", "CPU share"), [(f"`{frame}`", f"{share:.0%}") for frame, share in frames[:14]])
        )
    return "\n\n".join(lines)


def _scale_goals(by_n: dict[int, dict[str, dict[str, Any]]], goals: list[tuple[str, str, str, str]]) -> None:
    sensor_ratios, floor_ratios = [], []
    for n, contenders in sorted(by_n.items()):
        ours = contenders.get("heygen")
        if ours is None:
            continue
        if "http_sensor" in contenders:
            sensor_ratios.append((n, ours["cpu_per_poll_ms"] / contenders["http_sensor"]["cpu_per_poll_ms"]))
        if "floor" in contenders:
            floor_ratios.append((n, ours["cpu_per_poll_ms"] / contenders["floor"]["cpu_per_poll_ms"]))
    if sensor_ratios:
        goals.append(
            (
                "1. CPU per poll vs HttpSensorTrigger",
                "≤ 0.2x (5x less)",
                ", ".join(f"{value:.2f}x at N={n:,}" for n, value in sensor_ratios),
                _met(all(value <= 0.2 for _, value in sensor_ratios)),
            )
        )
    if floor_ratios:
        goals.append(
            (
                "1. CPU per poll vs the bare aiohttp floor",
                "≤ 1.2x",
                ", ".join(f"{value:.2f}x at N={n:,}" for n, value in floor_ratios),
                _met(all(value <= 1.2 for _, value in floor_ratios)),
            )
        )
    big = by_n.get(10_000, {}).get("heygen")
    if big is not None:
        kept = big["schedule_kept"] >= SCHEDULE_KEPT and big["worst_gap_p99_s"] <= WORST_GAP * big["interval"]
        goals.append(
            (
                "1. every trigger keeps its poll schedule, N = 10,000, 10 s",
                f"polls made ≥ {SCHEDULE_KEPT:.0%} of due, "
                f"p99 longest gap ≤ {WORST_GAP * big['interval']:g} s",
                f"{big['schedule_kept']:.1%} of due, p99 longest gap {big['worst_gap_p99_s']:.1f} s",
                _met(kept),
            )
        )
        goals.append(
            (
                "1. 10,000 waiting executions in one process",
                "< 1 GiB RSS",
                f"{big['peak_rss'] / MIB:,.0f} MiB peak ({big['rss_per_waiter'] / 1024:.1f} KiB per waiter)",
                _met(big["peak_rss"] < GIB),
            )
        )
    ours_runs = [contenders["heygen"] for contenders in by_n.values() if "heygen" in contenders]
    goals.append(
        (
            "1. Airflow connection resolved once per trigger lifetime",
            "≤ 1 lookup per trigger",
            ", ".join(f"{r['connection_lookups']:,} for {r['n']:,}" for r in ours_runs),
            _met(all(r["connection_lookups"] <= r["n"] for r in ours_runs)),
        )
    )
    goals.append(
        (
            "1. TCP connections, server keeping idle ones 75 s",
            "≤ 1 per trigger lifetime",
            ", ".join(f"{r['tcp_connects']:,} for {r['n']:,}" for r in ours_runs),
            _met(all(r["tcp_connects"] <= r["n"] for r in ours_runs)),
        )
    )


def _scale_notes(by_n: dict[int, dict[str, dict[str, Any]]]) -> str:
    notes = ["### Reading the figures"]
    mid = by_n.get(1000, {})
    if {"heygen", "http_sensor", "floor"} <= mid.keys():
        ours, sensor, floor = (mid[name]["cpu_per_poll_ms"] for name in ("heygen", "http_sensor", "floor"))
        note = (
            f"* **CPU per poll.** At N = 1,000 we spend {ours:.3f} ms a poll, the floor {floor:.3f} ms and "
            f"HttpSensorTrigger {sensor:.3f} ms: {ours / floor:.2f}x the floor, {ours / sensor:.2f}x the "
            "sensor."
        )
        if ours / sensor > 0.2:
            note += (
                f" The floor itself is only {sensor / floor:.1f}x cheaper than the sensor on this machine "
                "(the issue measured 0.18 against 1.1 ms, 6x, elsewhere): most of a poll is aiohttp's "
                "request machinery, which the floor, the peers and we all pay, so 5x below the sensor is "
                "out of reach here of anything polling over aiohttp, the floor included. The goal behind "
                "it, staying within about 1.2x of the floor, is the one to read."
            )
        note += (
            " The profile shows what is left on our side: the request itself "
            "(`ClientSession._request`), reading and decoding the status, and the status-change log lines "
            "(Airflow's structlog; one per status change, two or three per execution). The floor pays "
            "instead a session, a TCP connection and their teardown per waiter."
        )
        notes.append(note)
    big = by_n.get(10_000, {})
    if "heygen" in big:
        ours = big["heygen"]
        floor_kept = big.get("floor", {}).get("schedule_kept")
        cores = ours["cpu_per_poll_ms"] + (ours["server_cpu_per_poll_ms"] or 0)
        floor_gap = big.get("floor", {}).get("worst_gap_p99_s")
        notes.append(
            f"* **Schedule at N = 10,000.** We made {ours['schedule_kept']:.1%} of the polls due (the floor "
            f"{_num(floor_kept and floor_kept * 100, 1)} %); 99 % of our waiters never went more than "
            f"{ours['worst_gap_p99_s']:.1f} s without a poll at a 10 s interval (the floor "
            f"{_num(floor_gap, 1)} s). A poll is due one interval after the previous one began, so slow "
            "answers do not stretch the schedule and a late poll does not push the next ones back; what "
            "delays a poll is an event loop (ours or the emulator's) that gets no CPU. "
            f"{_late_gaps(ours)} Our loop was woken "
            f"up to {_num(ours.get('loop_lag_p99_ms'), 0)} ms late (p99), "
            f"{_num(ours.get('loop_lag_max_ms'), 0)} ms at worst. 1,000 polls a second take "
            f"{ours['cpu_per_poll_ms']:.2f} ms of CPU each in the waiting process and "
            f"{_num(ours['server_cpu_per_poll_ms'], 2)} ms in the emulator: {cores:.1f} of this "
            "machine's 2 cores, shared with other engineers' test runs (load average above); when they "
            "take a core, the emulator answers late and every contender's polls slip. A triggerer with "
            "a core of its own, polling a remote HeyGen, has about twice the headroom this run had."
        )
        if ours["worst_gap_p99_s"] > WORST_GAP * ours["interval"]:
            floor_cpu = big.get("floor", {}).get("cpu_per_poll_ms")
            versus = (
                f"{ours['cpu_per_poll_ms'] / floor_cpu:.2f}x what the floor spends at this size"
                if floor_cpu
                else "what the table above shows"
            )
            notes.append(
                f"* **Schedule: what is left and the plan.** Per poll we spend {versus} (the profile at "
                "N = 1,000 shows the per-poll path), so the late polls are not a cost we add per poll: "
                "they are mostly waits for a CPU, on this "
                "machine shared by the triggerer, the emulator and other engineers' runs. Next: (1) pin "
                "the emulator and the waiting process to separate cores (`taskset`) and record the "
                "emulator's own event-loop lag, to tell a late server from a late triggerer (the "
                "emulator completes the 10,000 jobs within a few seconds of each other, each with a "
                "disk write, which may be where the late gaps cluster); (2) trim what is left of our own "
                "CPU: the status-change log lines (about 6 % of it, Airflow's structlog) and building an "
                "`Execution` from answers that only say `running` (about 6 %); "
                "(3) with (1) in place, run N = 10,000 again before tuning further."
            )
        notes.append(
            f"* **Memory.** {ours['rss_per_waiter'] / 1024:.1f} KiB per waiting trigger: the trigger, its "
            "hook, its `AsyncHttpSession` wrapper, an asyncio task and a timer. No socket, aiohttp "
            "session or read buffer is held per trigger: all share one pool of at most 500 connections."
        )
    notes.append(
        "* **Connections.** Every HeyGen trigger of an event loop polls through one shared aiohttp session, "
        "a pool of at most 500 keep-alive connections, so N waiters open at most that many TCP "
        "connections (in a steady state about polls per second x seconds per answer), not N (the floor) "
        "or one per poll (both peers, which open a new `aiohttp.ClientSession` per poll). 500 is sized "
        "by that law for 10,000 waits at 10 s polling against a HeyGen answering within 0.5 s, and "
        "stays under the usual 1,024 open-files limit. Connections survive between polls while the "
        "server keeps idle ones longer than the pool does (50 s): the emulator keeps them 75 s. "
        "HeyGen's API could not be measured from here (only 127.0.0.1 is reachable); common fronts keep "
        "idle HTTP/1.1 connections 60 s (AWS ALB) to 75 s (nginx). Were HeyGen's shorter than a poll "
        "interval, aiohttp would reconnect after each idle gap, and a connection dropped just as it was "
        "reused is retried by the trigger's own retry loop."
    )
    notes.append(
        "* **Connection lookups.** Each trigger resolves its Airflow connection once per run, never per "
        "poll; triggers of one event loop that start within 5 s of each other share that lookup, so a "
        "burst of N arrivals (a triggerer restart) asks Airflow a handful of times, not N. The peers also "
        "look their connection up once per run."
    )
    return "\n".join(notes)


# --------------------------------------------------------------------------------------------- item 2


def _polling(polling: dict[str, Any] | None) -> str:
    if not polling:
        return ""
    runs = {run["contender"]: run for run in polling["runs"]}
    ours, fixed, peer = runs.get("heygen"), runs.get("heygen_fixed"), runs.get("http_event")
    if ours is None:
        return ""
    scale = 10  # compressed seconds to real seconds

    def lag(run: dict[str, Any] | None, key: str) -> float | None:
        return None if run is None or run.get(key) is None else run[key] * scale

    rows = []
    for label, key, is_lag in (
        ("status requests per execution, all", "all_requests_per_execution", False),
        ("status requests per execution, steady state", "warm_requests_per_execution", False),
        ("completion → event lag p50 (s, real time)", "warm_lag_p50_s", True),
        ("completion → event lag p95 (s, real time)", "warm_lag_p95_s", True),
        ("completion → event lag max (s, real time)", "warm_lag_max_s", True),
    ):
        values = [lag(run, key) if is_lag else (run or {}).get(key) for run in (ours, fixed, peer)]
        rows.append(
            [
                label,
                *(_num(value, 2) for value in values),
                ratio(values[0], values[1]),
                ratio(values[0], values[2]),
            ]
        )
    header = [
        "figure",
        "ours (learned first wait)",
        CONTENDER_NAMES["heygen_fixed"],
        "HttpEventTrigger, 10 s",
        "ours ÷ fixed",
        "ours ÷ HttpEventTrigger",
    ]
    return "\n\n".join(
        [
            "## 2. Polling efficiency",
            f"{polling['count']} jobs of 1 to 3 minutes, polled every 10 s, time-compressed 10x through the\n"
            "emulator's latency setting (jobs of 6-18 s polled every second); they arrive one after\n"
            "another "
            f"over {polling['span'] * scale / 60:.0f} minutes (real-time equivalent) and each is waited for "
            "by a new trigger. Lags are\nscaled back to real seconds. *Steady state* leaves out the first "
            "quarter of the arrivals, while\nthe triggerer has seen too few completions to learn from. The "
            "request count per job is what\nHeyGen's rate limit charges.",
            table(header, rows),
            "The learned first wait: once its triggerer has seen 8 executions of a workflow type\n"
            "complete, a trigger of that type does not poll before the 5th percentile of their durations,\n"
            "then polls every interval (a trigger that learns its type only from a first poll's answer\n"
            "polls once at once, then waits). The polls it skips would almost all have found the job\n"
            "running, so the lag stays what 10 s polling gives. The price: an execution that ends before\n"
            "19 in 20 of its kind, a failure or an unknown id included, is seen up to that much later.\n"
            "`HeyGenExecutionTrigger.learn_first_wait = False` turns it off.",
        ]
    )


# --------------------------------------------------------------------------------------------- item 3


def _parse(parse: dict[str, Any] | None, goals: list[tuple[str, str, str, str]]) -> str:
    if not parse:
        return ""
    ours, peer = parse["heygen"], parse["http"]
    rows = [
        ("CPU added over `import airflow.sdk` (s)", _num(ours["dag_cpu"], 3), _num(peer["dag_cpu"], 3)),
        ("RSS added (MiB)", _num(ours["dag_rss"] / MIB, 1), _num(peer["dag_rss"] / MIB, 1)),
        ("modules added", str(ours["new_modules"]), str(peer["new_modules"])),
        (
            "heavy modules it imports",
            ", ".join(ours["heavy_new"]) or "none",
            ", ".join(peer["heavy_new"]) or "none",
        ),
    ]
    body = [
        [label, mine, theirs, ratio(_float(mine), _float(theirs)) if index < 3 else ""]
        for index, (label, mine, theirs) in enumerate(rows)
    ]
    cpu_ok = ours["dag_cpu"] <= 0.5 * peer["dag_cpu"]
    rss_ok = ours["dag_rss"] <= 0.5 * peer["dag_rss"]
    goals.append(
        (
            "3. DAG parse: our operators add at most half of what HttpOperator adds",
            "≤ 0.5x CPU and RSS",
            f"{ours['dag_cpu'] / peer['dag_cpu']:.2f}x CPU, "
            f"{ours['dag_rss'] / max(peer['dag_rss'], 1):.2f}x RSS",
            _met(cpu_ok and rss_ok),
        )
    )
    goals.append(
        (
            "3. nothing heavy imported at parse time",
            "no requests, aiohttp, numpy, cv2, av",
            ", ".join(ours["heavy_new"]) or "none",
            _met(not set(ours["heavy_new"]) & {"requests", "aiohttp", "numpy", "cv2", "av"}),
        )
    )
    imports = "\n\n".join(
        f"**{title}**: " + ", ".join(f"`{name}` {seconds * 1000:.0f} ms" for name, seconds in rows_[:8])
        for title, rows_ in (("HeyGen DAG", ours["imports"]), ("HttpOperator DAG", peer["imports"]))
    )
    return "\n\n".join(
        [
            "## 3. DAG-parse cost",
            "The same three-task DAG (avatar video, face swap, publish) written with our operators\n"
            "(`bench/dags/bench_heygen_dag.py`) and with `HttpOperator` (`bench/dags/bench_http_dag.py`),\n"
            "each loaded the way a DAG processor does, in a fresh interpreter after `import airflow.sdk`;\n"
            "medians of alternating runs. `import airflow.sdk` itself took "
            f"{ours['sdk_cpu']:.2f} s CPU and left {ours['sdk_rss'] / MIB:.0f} MiB resident.",
            table(["figure", "our operators", "HttpOperator", "ours ÷ HttpOperator"], body),
            "Heaviest imports after `airflow.sdk` (`python -X importtime`, cumulative, modules the DAG file "
            "imports\nand theirs):\n\n" + imports,
        ]
    )


def _float(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------- item 4


def _publish(publish: dict[str, Any] | None, goals: list[tuple[str, str, str, str]]) -> str:
    if not publish:
        return ""
    if "missing" in publish:
        goals.append(("4. publishing", "RSS growth < 64 MiB; ≥ 80 % of curl", publish["missing"], "not run"))
        return f"## 4. Publishing\n\nNot measured: {publish['missing']}."
    size_mib = publish["size"] / MIB
    rows = [
        [
            "throughput (MiB/s)",
            _num(publish["ours_mib_s"], 0),
            _num(publish["curl_mib_s"], 0),
            ratio(publish["ours_mib_s"], publish["curl_mib_s"]),
        ],
        [
            "wall time (s)",
            _num(publish["ours_seconds"], 2),
            _num(publish["curl_seconds"], 2),
            ratio(publish["ours_seconds"], publish["curl_seconds"]),
        ],
        ["RSS growth while copying (MiB)", _num(publish["ours_rss_growth"] / MIB, 1), "", ""],
        [
            "sha256 alone, same machine (MiB/s)",
            _num(publish.get("sha256_mib_s"), 0),
            "",
            ratio(publish.get("sha256_mib_s"), publish["curl_mib_s"]),
        ],
        [
            "peak RSS of the process (MiB)",
            _num(publish["ours_peak_rss"] / MIB, 0),
            _num(publish["curl_peak_rss"] / MIB, 1),
            ratio(publish["ours_peak_rss"], publish["curl_peak_rss"]),
        ],
    ]
    share = publish["ours_mib_s"] / publish["curl_mib_s"]
    goals.append(
        (
            "4. publishing: memory",
            "RSS growth < 64 MiB",
            f"{publish['ours_rss_growth'] / MIB:.1f} MiB copying {size_mib:,.0f} MiB",
            _met(publish["ours_rss_growth"] < 64 * MIB),
        )
    )
    goals.append(
        (
            "4. publishing: throughput",
            "≥ 80 % of curl",
            f"{share:.0%} ({publish['ours_mib_s']:.0f} against {publish['curl_mib_s']:.0f} MiB/s)",
            _met(share >= 0.8),
        )
    )
    frames = [(frame, value) for frame, value in publish.get("profile", []) if not PLUMBING.search(frame)]
    text = [
        "## 4. Publishing",
        f"`HeyGenPublishVideoOperator.execute()` copying a {size_mib:,.0f} MiB video from the emulator "
        "(`/media/...`, served\nwith sendfile) to a `file://` destination, against `curl -sS -o` of the same "
        "URL; source and\ndestinations in `/dev/shm`, so the disk does not decide. Runs alternate (ours, "
        f"curl, ...), {publish['repeat']} each,\nmedians kept; each copy of ours is checked against the "
        "source's sha256. Our figure is the whole\n`execute()` (connection lookup and imports included); "
        "memory is sampled every 20 ms, curl's peak\nfrom `/proc/<pid>/status` (VmHWM).",
        table(["figure", "HeyGenPublishVideoOperator", "curl -o", "ours ÷ curl"], rows),
    ]
    if frames:
        text.append(
            "Where our copy's time goes (py-spy, one more run, share of samples, inclusive):\n\n"
            + table(("frame", "share"), [(f"`{frame}`", f"{value:.0%}") for frame, value in frames[:16]])
        )
    if share < 0.8:
        sha = publish.get("sha256_mib_s") or 0.0
        ceiling = sha / publish["curl_mib_s"]
        hash_seconds = publish["size"] / MIB / sha if sha else 0.0
        text.append(
            f"**Below 0.8x in this run, and why.** Every byte must be hashed (the result's sha256 and the "
            f"integrity check): sha256 alone ran at {sha:,.0f} MiB/s here, {ceiling:.2f}x curl's whole "
            f"copy, so no hashed copy can beat {ceiling:.2f}x on this machine, however well it overlaps; "
            f"0.8x needs the copy to hide all but {max(0.0, ceiling - 0.8) / ceiling:.0%} of the hashing "
            f"behind reading and writing. Ours took {publish['ours_seconds']:.2f} s against "
            f"{hash_seconds:.2f} s of hashing alone and curl's {publish['curl_seconds']:.2f} s of copying, "
            f"i.e. {publish['ours_seconds'] / (hash_seconds + publish['curl_seconds']):.0%} of the two in "
            "turn: the threads overlap only partly (in the profile the hashing thread is busy for most of "
            "the copy). Next step: one sha256 cannot be split across threads, so what is left is a faster "
            "sha256 than hashlib's on this CPU, or a goal stated against `curl | tee file | sha256sum`, "
            "which does the same work."
        )
    text.append(
        "**What changed** (`airflow_heygen/publishing/`), the copy having run at 0.46-0.49x curl before:\n\n"
        "1. **No urllib3 copy.** An unencoded body is read with `http.client`'s `readinto` straight into "
        "a reused 2 MiB buffer (`download.socket_reader`) instead of `iter_content`, whose urllib3 `read` "
        "copies every chunk once more; Content-Length and chunked framing still come from `http.client`. "
        "Compressed bodies still go through `iter_content`.\n"
        "2. **Hashing beside the copy.** `HashingSink.fill` reads and writes in the task's thread and "
        "hashes in a second one; three buffers circulate, so memory stays at 6 MiB of buffers whatever "
        "the size.\n"
        "3. **Plain file writes.** Local destinations are written with `open()`, not fsspec's "
        "`LocalFileOpener` wrapper.\n"
        "4. **No hooks import.** The HeyGen connection is read with `BaseHook.get_connection` and the "
        "hooks' shared `resolve_settings`, without importing `HeyGenHook` (aiohttp, the HTTP provider).\n"
        "5. **2 MiB blocks** rather than 1 MiB: about 5 % less CPU; 4 MiB saved little more and would "
        "double the buffers.\n\n"
        "Guarantees kept and tested: streamed, sha256-hashed, size-verified, atomic landing, no clobber, "
        "ranged resume, which resumes from the last byte received rather than the last whole chunk."
    )
    return "\n\n".join(text)


# --------------------------------------------------------------------------------------------- item 5


_RENDER_LINE = re.compile(r"^(face swap \d+x\d+|avatar \d+x\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)")


def _render(render: dict[str, Any] | None) -> str:
    if not render:
        return ""
    if "missing" in render:
        return f"## 5. Emulator rendering\n\nNot measured: {render['missing']}."
    rows: list[Sequence[str]] = []
    for line in render["stdout"].splitlines():
        match = _RENDER_LINE.match(line.strip())
        if not match:
            continue
        label, frames, seconds, fps = (
            match.group(1),
            int(match.group(2)),
            float(match.group(3)),
            float(match.group(4)),
        )
        if label.startswith("face swap"):
            rows.append((label, f"{fps:.1f} fps", f"{REAL_TIME_FPS:.0f} fps", ratio(fps, REAL_TIME_FPS)))
        else:
            per_audio = seconds / (frames / REAL_TIME_FPS)
            rows.append((label, f"{per_audio:.2f} render s per audio s", "1.00", ratio(per_audio, 1.0)))
    text = [
        "## 5. Emulator rendering",
        "From `bench/bench_emulator_render.py` (another engineer's; run as is, real CPU rendering).\n"
        "The peer is real time: a 25 fps video rendered as fast as it plays, an avatar rendered in the\n"
        "length of its audio.",
    ]
    if rows:
        text.append(table(("render", "ours", "real time", "ours ÷ real time"), rows))
    if render["returncode"] != 0:
        text.append(f"The script exited with {render['returncode']}:\n\n```\n{render['stderr_tail']}\n```")
    text.append(
        f"Its output (`{render['command']}`, {render['seconds']:.0f} s):\n\n"
        f"```\n{render['stdout'].rstrip()}\n```"
    )
    return "\n\n".join(text)


# ----------------------------------------------------------------------------------------- changes


def _changes() -> str:
    return "\n".join(
        [
            "## What changed in the provider for these figures",
            "",
            "* `HeyGenAsyncHook.session()` keeps `HttpAsyncHook.session()`'s contract (it yields the "
            "HTTP provider's `AsyncHttpSession`, built from `HttpAsyncHook` and the hook's `config()`) "
            "but binds it to one aiohttp session per event loop, shared by every HeyGen trigger on it, "
            "opened by the first "
            "and closed when the last leaves: one pool of at most 500 keep-alive connections (idle ones kept "
            "50 s), no cookie jar. `HttpAsyncHook.session()` itself opens a new aiohttp session per call, "
            "which is one TCP connection and socket per waiting trigger: the reconciliation with the "
            "requirement to build on it is to keep its types and configuration and replace only where the "
            "aiohttp session comes from.",
            "* The yielded session is a `SingleAttemptHttpSession`: its `run()` makes one attempt, without "
            "the HTTP provider's per-request tenacity loop (set to one attempt, it only cost CPU); the hook "
            "keeps retrying with its own policy, which honours `Retry-After`.",
            "* `HeyGenAsyncHook.settings()`: hooks of one event loop that resolve the same connection within "
            "5 s of each other share one lookup; a failed lookup is not shared.",
            "* `HeyGenExecutionTrigger.run()`: polls are due `poll_interval` after the previous poll began "
            "(not after it answered), and the learned first wait of item 2 "
            "(`HeyGenExecutionTrigger.learn_first_wait`).",
            "",
            "Event payloads, serialized kwargs and public signatures are unchanged.",
        ]
    )


# --------------------------------------------------------------------------------------------- item 6

BULK_NAMES = {
    "bulk": "HeyGenJobTrigger, bulk poller (ours)",
    "single": "HeyGenJobTrigger, poller off",
    "http_sensor": "HttpSensorTrigger",
    "floor": "bare aiohttp floor",
    "bulk_wide": "bulk, 0.1 s window (experiment)",
    "storm": "bulk, 20 % 503 + 10 % 429",
}


def _per_interval(run: dict[str, Any], key: str) -> float | None:
    """A per-request contender's cost of one job-interval is its cost per answered poll (one per interval
    when on schedule); ours is measured per job-interval waited."""
    if run.get("per_request"):
        return run.get(key.replace("per_job_interval", "per_answered_request"))
    return run.get(key)


def _server_net_per_interval(run: dict[str, Any], idle: dict[str, Any] | None) -> float | None:
    """
    The emulator's CPU of one job-interval of waiting (ms): its CPU in the run less its CPU in the idle
    run (the same jobs, nobody waiting), per job-interval (ours) or per answered poll (per-request ones).
    """
    if idle is None:
        return None
    net = max(0.0, run["server_cpu_seconds"] - idle["server_cpu_seconds"])
    per = run["requests_answered"] if run.get("per_request") else run["job_intervals"]
    return 1000 * net / per if per else None


def bulk_goals(bulk: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The goals of issue #12 against one run of ``bench/bench_bulk_poller.py``."""
    runs = {(run["n"], run["contender"]): run for run in bulk["runs"]}
    sizes = sorted({run["n"] for run in bulk["runs"] if run["contender"] == "bulk"})
    goals = []

    def each(name: str, peer: str, key: str, limit: float) -> None:
        shares = []
        for n in sizes:
            ours, theirs = runs.get((n, "bulk")), runs.get((n, peer))
            if ours and theirs:
                value = (_per_interval(ours, key) or 0.0) / (_per_interval(theirs, key) or 1e-9)
                shares.append((n, value))
        text = ", ".join(f"{value:.3f}x at N={n:,}" for n, value in shares)
        goals.append(
            (name, f"≤ {limit:.2f}x", text, _met(bool(shares) and all(v <= limit for _, v in shares)))
        )

    each(
        "6. client CPU per waiting job per interval vs HttpSensorTrigger",
        "http_sensor",
        "cpu_per_job_interval_ms",
        1 / 20,
    )
    each(
        "6. client CPU per waiting job per interval vs the per-request floor",
        "floor",
        "cpu_per_job_interval_ms",
        1 / 5,
    )
    server_shares = []
    for n in sizes:
        ours, theirs, idle = runs.get((n, "bulk")), runs.get((n, "single")), runs.get((n, "idle"))
        if ours and theirs and idle:
            mine, peer = _server_net_per_interval(ours, idle), _server_net_per_interval(theirs, idle)
            server_shares.append((n, (mine or 0.0) / (peer or 1e-9)))
    goals.append(
        (
            "6. emulator CPU per waiting job per interval vs the poller off (less the idle emulator's)",
            f"≤ {1 / 20:.2f}x",
            ", ".join(f"{value:.3f}x at N={n:,}" for n, value in server_shares),
            _met(bool(server_shares) and all(v <= 1 / 20 for _, v in server_shares)),
        )
    )
    status_rates = [
        (
            n,
            runs[(n, "bulk")]["bulk_requests_per_job_interval"],
            runs[(n, "bulk")]["requests_per_job_interval"],
            runs[(n, "bulk")]["ids_per_bulk_request"],
        )
        for n in sizes
    ]
    goals.append(
        (
            "6. HTTP requests per waiting job per interval",
            "≤ 0.011",
            "; ".join(
                f"N={n:,}: bulk {rate:.4f} ({ids:.0f} ids a request), all of the triggerer's "
                f"{all_:.4f} (plus one read per job in its worker, when the task resumes)"
                for n, rate, all_, ids in status_rates
            ),
            _met(all(rate <= 0.011 for _, rate, _, _ in status_rates)),
        )
    )
    big = runs.get((10_000, "bulk"))
    if big:
        goals.append(
            (
                "6. schedule at N=10,000: jobs read at least once per 1.2 intervals",
                "≥ 99 %",
                f"{big['on_schedule_share']:.1%} (p99 longest unread {big['worst_gap_p99_s']:.1f} s)",
                _met(big["on_schedule_share"] >= 0.99),
            )
        )
        goals.append(
            (
                "6. peak RSS, 10,000 waits",
                "< 300 MiB",
                f"{big['peak_rss'] / MIB:.0f} MiB",
                _met(big["peak_rss"] < 300 * MIB),
            )
        )
    lags = [(n, runs[(n, "bulk")]["lag_p99_s"], runs[(n, "bulk")]["interval"]) for n in sizes]
    goals.append(
        (
            "6. completion → event lag p99",
            "≤ 1 interval",
            ", ".join(f"{lag:.2f} s at N={n:,} ({interval:g} s interval)" for n, lag, interval in lags),
            _met(all(lag is not None and lag <= interval for _, lag, interval in lags)),
        )
    )
    storm = next((run for run in bulk["runs"] if run["contender"] == "storm"), None)
    if storm:
        ok = (
            storm["delivered"] == storm["n"]
            and storm["early"] == 0
            and storm["twice"] == 0
            and storm["failed_triggers"] == 0
            and storm["timeouts"] == 0
        )
        goals.append(
            (
                f"6. storm, {storm['n']:,} waits, 20 % 503 + 10 % 429",
                "every event, none early, none twice, no trigger fails",
                f"{storm['delivered']:,} events of {storm['n']:,}, {storm['early']} early, "
                f"{storm['twice']} twice, "
                f"{storm['failed_triggers']} failed, {storm['timeouts']} timed out",
                _met(ok),
            )
        )
    return goals


def bulk_table(bulk: dict[str, Any], n: int) -> str:
    """One size's table, a column per contender."""
    runs = [run for run in bulk["runs"] if run["n"] == n and run["contender"] != "idle"]
    if not runs:
        return ""
    idle = next((run for run in bulk["runs"] if run["n"] == n and run["contender"] == "idle"), None)
    rows = [
        (
            "client CPU per waiting job per interval (ms)",
            lambda r: _num(_per_interval(r, "cpu_per_job_interval_ms"), 3),
        ),
        ("client CPU per answered request (ms)", lambda r: _num(r["cpu_per_answered_request_ms"], 3)),
        ("client CPU, share of one core", lambda r: f"{r['cpu_share_of_a_core']:.0%}"),
        ("HTTP requests per job-interval waited", lambda r: _num(r["requests_per_job_interval"], 4)),
        ("bulk status requests per job-interval", lambda r: _num(r["bulk_requests_per_job_interval"], 4)),
        ("ids per bulk request (mean)", lambda r: _num(r["ids_per_bulk_request"], 1)),
        (
            "requests (kind status: count)",
            lambda r: ", ".join(f"{k}: {v:,}" for k, v in sorted(r["requests"].items())),
        ),
        ("jobs read at least once per 1.2 intervals", lambda r: f"{r['on_schedule_share']:.1%}"),
        ("longest unread, p99 (s)", lambda r: _num(r["worst_gap_p99_s"], 1)),
        (
            "completion → event lag p50 / p99 / max (s)",
            lambda r: " / ".join(_num(r[k], 2) for k in ("lag_p50_s", "lag_p99_s", "lag_max_s")),
        ),
        (
            "events / early / twice / failed",
            lambda r: f"{r['delivered']:,} / {r['early']} / {r['twice']} / {r['failed_triggers']}",
        ),
        ("peak RSS (MiB)", lambda r: _num(r["peak_rss"] / MIB, 0)),
        ("TCP connections opened", lambda r: f"{r['tcp_connects']:,}"),
        (
            "emulator CPU per waiting job per interval (ms)",
            lambda r: _num(_per_interval(r, "server_cpu_per_job_interval_ms"), 3),
        ),
        (
            "... less the idle emulator's (same jobs, nobody waiting) (ms)",
            lambda r: _num(_server_net_per_interval(r, idle), 3),
        ),
        ("waiting process's loop woken late, p99 (ms)", lambda r: _num(r["loop_lag_p99_ms"], 0)),
        ("emulator's loop woken late, p99 (ms)", lambda r: _num(r["emulator_loop_lag_p99_ms"], 0)),
        ("run (s)", lambda r: _num(r["run_seconds"], 0)),
    ]
    header = ["figure", *(BULK_NAMES.get(r["contender"], r["contender"]) for r in runs)]
    interval = runs[0]["interval"]
    return f"### N = {n:,}, polling every {interval:g} s\n\n" + table(
        header, [[label, *(cell(r) for r in runs)] for label, cell in rows]
    )


def bulk_section(bulk: dict[str, Any] | None, goals: list[tuple[str, str, str, str]]) -> str:
    """Section 6 of ``BENCHMARKS.md``; its goals are appended to ``goals``."""
    if not bulk:
        return ""
    goals.extend(bulk_goals(bulk))
    sizes = sorted({run["n"] for run in bulk["runs"] if run["contender"] != "storm"})
    calm = {"runs": [run for run in bulk["runs"] if run["contender"] != "storm"]}
    parts = ["## 6. The bulk poller (HeyGenJobTrigger, v3 videos)", *(bulk_table(calm, n) for n in sizes)]
    storm = [run for run in bulk["runs"] if run["contender"] == "storm"]
    if storm:
        parts.append(bulk_table({"runs": storm}, storm[0]["n"]).replace("###", "### Storm:", 1))
    parts.append(bulk_notes(bulk))
    if bulk.get("lateness"):
        parts.append(lateness_table(bulk["lateness"]))
    return "\n\n".join(part for part in parts if part)


def _reads_per_job_interval(run: dict[str, Any]) -> float:
    """How many times each job was read per interval it waited (ids in bulk requests per job-interval)."""
    ids = (run.get("ids_per_bulk_request") or 0.0) * run.get("bulk_requests", 0)
    return ids / run["job_intervals"] if run.get("job_intervals") else 0.0


def bulk_notes(bulk: dict[str, Any]) -> str:
    """What item 6's figures say, goal by goal, from the figures themselves."""
    runs = {(run["n"], run["contender"]): run for run in bulk["runs"]}
    sizes = sorted({run["n"] for run in bulk["runs"] if run["contender"] == "bulk"})
    notes = ["### Reading the figures"]
    for n in sizes:
        ours, off = runs[(n, "bulk")], runs.get((n, "single"))
        sensor, floor, idle = runs.get((n, "http_sensor")), runs.get((n, "floor")), runs.get((n, "idle"))
        interval = ours["interval"]
        reads = _reads_per_job_interval(ours)
        ids = ours.get("ids_per_bulk_request") or 0.0
        text = (
            f"* **N = {n:,}, {interval:g} s: requests.** {ours['bulk_requests']:,} bulk requests of "
            f"{ids:.0f} ids on average, {ours['bulk_requests_per_job_interval']:.4f} per waiting job per "
            f"interval. Each job was read {reads:.2f} times per interval it waited: its first read at once, "
            "one per interval, and the read that finds it ended, over waits of a few intervals (the jobs "
            "here end 2-9 intervals after they start), so even requests of 100 ids would make "
            f"{reads / 100:.4f}: the 0.011 goal assumes about one read per interval, i.e. waits of tens of "
            "intervals."
        )
        if off:
            text += f" With the poller off: {off['requests_per_job_interval']:.2f} per job-interval."
        notes.append(text)
        cpu = _per_interval(ours, "cpu_per_job_interval_ms") or 0.0
        peers = [
            (name, _per_interval(run, "cpu_per_job_interval_ms"))
            for name, run in (("HttpSensorTrigger", sensor), ("the floor", floor), ("the poller off", off))
            if run
        ]
        notes.append(
            f"* **N = {n:,}: client CPU.** {cpu:.3f} ms per waiting job per interval; "
            + ", ".join(f"{name} {value:.3f} ms ({cpu / value:.3f}x)" for name, value in peers if value)
            + ". Bulk requests leave the costs that come per wait, not per request: each trigger's "
            "wake-up and sleep, its read's future and deadline timer, its status-change log line, and the "
            "JSON of the bulk answers (a few microseconds per id). Next step toward 1/20 of the sensor: "
            "let the poller keep the schedule (one timer per batch, the triggers awaiting their job's "
            "change) instead of a sleep and a read per trigger per interval."
        )
        if idle and off:
            mine = _server_net_per_interval(ours, idle) or 0.0
            theirs = _server_net_per_interval(off, idle) or 0.0
            notes.append(
                f"* **N = {n:,}: emulator CPU.** The idle emulator (same jobs, nobody waiting) used "
                f"{idle['server_cpu_seconds']:.1f} CPU s completing and storing them; less that, the "
                f"bulk run cost it {mine:.3f} ms per job-interval against {theirs:.3f} ms per poll with "
                f"the poller off ({mine / theirs if theirs else 0.0:.3f}x). Per id, a bulk answer still "
                "looks the job up, writes its JSON entry and logs the request; that is the emulator's "
                "cost (HeyGen's is unknown to us), and the next step would be there, not in the provider."
            )
        notes.append(
            f"* **N = {n:,}: schedule and lag.** {ours['on_schedule_share']:.1%} of jobs read at least once "
            f"per 1.2 intervals (longest unread p99 {ours['worst_gap_p99_s']:.2f} s), completion to event "
            f"p99 {ours['lag_p99_s']:.2f} s at a {interval:g} s interval; the waiting process's loop woke "
            f"up to {ours['loop_lag_p99_ms']:.0f} ms late (p99), the emulator's "
            f"{ours['emulator_loop_lag_p99_ms']:.0f} ms. A job is read again one interval after the request "
            "that last read it went out, so the lag is at most an interval plus the answer's way back."
        )
    storm = next((run for run in bulk["runs"] if run["contender"] == "storm"), None)
    if storm:
        notes.append(
            f"* **Storm.** {storm['delivered']:,} events of {storm['n']:,}, {storm['early']} early, "
            f"{storm['twice']} twice, {storm['failed_triggers']} failed, {storm['timeouts']} timed out; "
            f"requests: {', '.join(f'{k}: {v:,}' for k, v in sorted(storm['requests'].items()))}."
        )
    notes.append(
        "\n**Changed for these figures** (`airflow_heygen/triggers/bulk.py`, `triggers/jobs.py`): a "
        "trigger asks for each read after its first a quarter of its interval early (`READ_PATIENCE`) "
        "and lets it wait until due; the poller sends when its first gathered read is due, topped up with "
        "the reads due next to 100 ids, and the trigger's next read is due one interval after the "
        "request went out (`Job.read_at`). Before, a read waited a fixed 0.1 s after the first of its "
        "batch: requests carried 57 ids when on schedule at N = 10,000 (0.0224 per job-interval), and a "
        "read could come 0.1 s later than one interval. The idle contender is new: the emulator goal "
        "compared totals that included the emulator's own work of completing the jobs."
    )
    return "\n".join(notes)


LATENESS_ROWS = (
    ("worst_gap_p99_s (emulator log)", "longest gap between polls, p99, emulator's log (s)", 1),
    ("worst_gap_p99_s (client call starts)", "longest gap between poll starts, p99, trigger's clock (s)", 1),
    ("late_gaps", "gaps over 1.2 intervals", 0),
    ("late_gaps_sent_late", "... of which the trigger began the poll late", 0),
    ("late_gaps_sent_late_after_slow_answer", "... ... because the previous answer took over an interval", 0),
    ("late_gaps_sent_on_time_answered_late", "... of which begun on time, answered late", 0),
    ("transit_p99_s", "poll begun → emulator answered it, p99 (s)", 2),
    ("answer_p99_s", "poll begun → answer back, p99 (s)", 2),
    ("answer_max_s", "poll begun → answer back, max (s)", 2),
    ("client_loop_lag_p99_ms", "waiting process's loop woken late, p99 (ms)", 0),
    ("emulator_loop_lag_p99_ms", "emulator's loop woken late, p99 (ms)", 0),
    ("emulator_loop_lag_max_ms", "emulator's loop woken late, max (ms)", 0),
    ("client_cpu_seconds", "waiting process CPU (s)", 1),
    ("server_cpu_seconds", "emulator CPU (s)", 1),
)


def lateness_table(rounds: list[dict[str, Any]]) -> str:
    """Item 1's N = 10,000 HeyGenExecutionTrigger run, free and pinned, late gaps split."""
    header = ["figure", *("pinned to a core each" if r["pinned"] else "sharing both cores" for r in rounds)]
    rows = [[label, *(_num(r.get(key), digits) for r in rounds)] for key, label, digits in LATENESS_ROWS]
    title = "### Where HeyGenExecutionTrigger's late polls come from (N = 10,000, 10 s)"
    return title + "\n\n" + table(header, rows)
