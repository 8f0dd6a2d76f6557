"""Command line and environment configuration of the emulator."""

from __future__ import annotations

import argparse
import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_heygen.emulator.billing import BILLING_FIELDS, BillingSettings, BillingType
from airflow_heygen.emulator.failures import FailureCode, check_code
from airflow_heygen.emulator.latency import LatencyRange
from airflow_heygen.emulator.render.landmarks import EngineChoice
from airflow_heygen.emulator.setting_changes import current_values

ENV_PREFIX = "HEYGEN_EMULATOR_"
# HeyGen's pay-as-you-go plan renders 10 jobs at once (enterprise plans 20 or more).
DEFAULT_PLAN_CONCURRENCY = 10


class RenderMode(str, enum.Enum):
    """``real`` renders on the CPU; ``stub`` completes jobs with a copy of the sample video."""

    REAL = "real"
    STUB = "stub"


def _fraction(value: object, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number between 0 and 1")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number between 0 and 1") from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1")
    return number


@dataclass(frozen=True)
class FaultSettings:
    """
    Fault injection rates; each API request, each valid create and each job draws from seeded
    generators.

    :param latency: minimum job duration.
    :param rate_limit_rate: fraction of /v1 and /v3 requests answered 429 with ``Retry-After``.
    :param error_rate: fraction of /v1 and /v3 requests answered 503.
    :param fail_rate: fraction of accepted jobs that end ``failed``.
    :param fail_code: the failure code of the jobs ``fail_rate`` fails (``internal_error`` by default).
    :param retry_after: seconds sent in ``Retry-After``.
    :param insufficient_credit_rate: fraction of valid creates (v1 submissions and v3 POST creates)
        answered 402 ``insufficient_credit`` without creating anything.
    :param lost_reply_rate: fraction of accepted creates whose job is created, then the connection
        is closed without an answer (a reply lost on the way back).
    :param create_delay: seconds every create waits before it is processed (a slow create, still
        in flight, so a duplicate can meet it).
    :param retire_workflows: None (the workflows API is served), or 404 or 410: every /v1/workflows
        request is answered with that status and creates nothing, as HeyGen would once it retired the
        /v1 APIs (announced from 2026-11-01; whether the workflows API survived is not public).
    :param plan_concurrency: jobs the plan renders at once (HeyGen's pay-as-you-go plan: 10), across
        both APIs; a single create beyond it is answered 429 ``rate_limit_exceeded`` with
        ``Retry-After: retry_after``, batch items beyond it wait for a slot (see
        :mod:`airflow_heygen.emulator.concurrency`).
    """

    latency: LatencyRange = field(default_factory=LatencyRange)
    rate_limit_rate: float = 0.0
    error_rate: float = 0.0
    fail_rate: float = 0.0
    fail_code: str = FailureCode.INTERNAL_ERROR.value
    retry_after: int = 1
    insufficient_credit_rate: float = 0.0
    lost_reply_rate: float = 0.0
    create_delay: float = 0.0
    retire_workflows: int | None = None
    plan_concurrency: int = DEFAULT_PLAN_CONCURRENCY

    def __post_init__(self) -> None:
        for name in _FRACTIONS:
            _fraction(getattr(self, name), name)
        if self.rate_limit_rate + self.error_rate > 1.0:
            raise ValueError("rate_limit_rate + error_rate must not exceed 1")
        if self.retry_after < 0:
            raise ValueError("retry_after must be a non-negative integer")
        if self.create_delay < 0:
            raise ValueError("create_delay must be a non-negative number of seconds")
        check_code(self.fail_code, "fail_code")
        _retirement_status(self.retire_workflows)
        _plan_concurrency(self.plan_concurrency)

    def updated(self, changes: Mapping[str, Any]) -> FaultSettings:
        """
        A copy with some fields changed from JSON values.

        :param changes: any of the fields (``latency``, ``rate_limit_rate``, ``error_rate``,
            ``fail_rate``, ``fail_code``, ``retry_after``, ``insufficient_credit_rate``, ``lost_reply_rate``,
            ``create_delay``, ``retire_workflows``, ``plan_concurrency``).
        :raises ValueError: on an unknown field or an invalid value.
        """
        values = current_values(self, FAULT_FIELDS, changes, "fault")
        for name, value in changes.items():
            if name == "latency":
                values[name] = LatencyRange.parse(value)
            elif name == "retry_after":
                if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
                    raise ValueError("retry_after must be a non-negative integer")
                values[name] = int(value)
            elif name == "create_delay":
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError("create_delay must be a non-negative number of seconds")
                values[name] = float(value)
            elif name == "fail_code":
                values[name] = check_code(value, name)
            elif name == "retire_workflows":
                values[name] = _retirement_status(value)
            elif name == "plan_concurrency":
                values[name] = _plan_concurrency(value)
            else:
                values[name] = _fraction(value, name)
        return FaultSettings(**values)

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON values."""
        values: dict[str, Any] = {name: getattr(self, name) for name in FAULT_FIELDS}
        values["latency"] = self.latency.to_json()
        return values


FAULT_FIELDS = (
    "latency",
    "rate_limit_rate",
    "error_rate",
    "fail_rate",
    "fail_code",
    "retry_after",
    "insufficient_credit_rate",
    "lost_reply_rate",
    "create_delay",
    "retire_workflows",
    "plan_concurrency",
)
# The answers a retired workflows API may give: the route is gone (404) or said to be gone (410).
RETIREMENT_STATUSES = (404, 410)
_FRACTIONS = ("rate_limit_rate", "error_rate", "fail_rate", "insufficient_credit_rate", "lost_reply_rate")


def _retirement_status(value: object) -> int | None:
    """
    ``retire_workflows`` checked: None (served), or 404 or 410 (also as text, from the environment).

    :param value: the setting as given.
    :raises ValueError: for anything else.
    """
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value in RETIREMENT_STATUSES:
        return value
    raise ValueError(f"retire_workflows must be 404, 410 or null, got {value!r}")


def _plan_concurrency(value: object) -> int:
    """
    ``plan_concurrency`` checked: a positive integer (also as text, from the environment).

    :param value: the setting as given.
    :raises ValueError: for anything else.
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError(f"plan_concurrency must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class EmulatorConfig:
    """
    Everything the emulator is started with.

    :param host: interface to listen on.
    :param port: TCP port; 0 picks a free one.
    :param api_key: the only accepted ``X-Api-Key``; None accepts any non-empty key.
    :param data_dir: where executions, outputs and samples persist.
    :param public_url: base of output URLs; None derives it from each request's Host header.
    :param render: real rendering or stub outputs.
    :param face_engine: which face engine renders.
    :param workers: concurrent render jobs.
    :param faults: initial fault injection settings.
    :param billing: the account's billing shape, starting balance and face swap rate.
    :param seed: seed of the fault generators; None picks one at random.
    :param request_log: JSON-lines file receiving each /v1 and /v3 request (method, path, body; no
        headers).
    :param keepalive_timeout: seconds an idle client connection is kept open.
    :param log_level: logging level name.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    api_key: str | None = None
    data_dir: Path = Path(".emulator-data")
    public_url: str | None = None
    render: RenderMode = RenderMode.REAL
    face_engine: EngineChoice = EngineChoice.AUTO
    workers: int = 2
    faults: FaultSettings = field(default_factory=FaultSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)
    seed: int | None = None
    request_log: Path | None = None
    keepalive_timeout: float = 75.0
    log_level: str = "INFO"


def build_parser() -> argparse.ArgumentParser:
    """The ``heygen-emulator`` argument parser; every flag also reads ``HEYGEN_EMULATOR_<FLAG>``."""
    parser = argparse.ArgumentParser(
        prog="heygen-emulator",
        description="Local HeyGen API emulator (workflows API and API v3) that really renders face swaps, "
        "avatars, lip-syncs and translations.",
        epilog=f"Every flag can also be set with an environment variable {ENV_PREFIX}<FLAG>, "
        f"e.g. {ENV_PREFIX}FAIL_RATE=0.1; flags win.",
    )
    add = parser.add_argument
    add("--host", help="interface to listen on (default 127.0.0.1)")
    add("--port", type=int, help="TCP port, 0 for a free one (default 8765)")
    add("--api-key", help="the only accepted X-Api-Key (default: any non-empty key)")
    add(
        "--data-dir",
        type=Path,
        help="where executions, outputs and samples persist (default ./.emulator-data)",
    )
    add("--public-url", help="base URL of output links (default: from the request's Host header)")
    add(
        "--render",
        choices=[m.value for m in RenderMode],
        help="real CPU rendering or stub outputs (default real)",
    )
    add("--face-engine", choices=[c.value for c in EngineChoice], help="face engine (default auto)")
    add("--workers", type=int, help="concurrent render jobs (default 2)")
    add("--latency", help="minimum seconds per job, e.g. 2 or 1-3 (default 0)")
    add("--rate-limit-rate", type=float, help="fraction of /v1 and /v3 requests answered 429 (default 0)")
    add("--retry-after", type=int, help="Retry-After seconds of a 429 (default 1)")
    add("--error-rate", type=float, help="fraction of /v1 and /v3 requests answered 503 (default 0)")
    add("--fail-rate", type=float, help="fraction of jobs that end failed (default 0)")
    add("--fail-code", help="failure code of the jobs --fail-rate fails (default internal_error)")
    add(
        "--insufficient-credit-rate",
        type=float,
        help="fraction of valid creates answered 402 insufficient_credit (default 0)",
    )
    add(
        "--lost-reply-rate",
        type=float,
        help="fraction of accepted creates whose connection is closed without an answer (default 0)",
    )
    add("--create-delay", type=float, help="seconds each create waits before it is processed (default 0)")
    add(
        "--retire-workflows",
        type=int,
        choices=list(RETIREMENT_STATUSES),
        help="answer every /v1/workflows request with this status (404 or 410), as if HeyGen retired "
        "the workflows API (default: served)",
    )
    add(
        "--plan-concurrency",
        type=int,
        help=f"jobs rendered at once across both APIs; single creates beyond it are answered 429, "
        f"batch items beyond it wait (default {DEFAULT_PLAN_CONCURRENCY})",
    )
    add(
        "--billing",
        choices=[t.value for t in BillingType],
        help="billing shape GET /v3/users/me shows and creates draw down (default wallet)",
    )
    add("--balance-usd", type=float, help="starting balance, cap or credits of the account (default 1000)")
    add("--faceswap-rate-usd-per-s", type=float, help="price per output second of workflows (default 0.05)")
    add("--seed", type=int, help="seed making fault injection deterministic")
    add("--request-log", type=Path, help="JSON-lines file of /v1 and /v3 requests (method, path, body)")
    add("--keepalive-timeout", type=float, help="seconds to keep idle connections (default 75)")
    add("--log-level", help="logging level (default INFO)")
    return parser


def load_config(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> EmulatorConfig:
    """
    Build the configuration from flags, then environment variables, then defaults.

    :param argv: command line arguments (without the program name); ``sys.argv[1:]`` when None.
    :param environ: environment; ``os.environ`` when None.
    :raises SystemExit: on invalid flags (argparse prints the error).
    """
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    env = os.environ if environ is None else environ
    parse_types = {action.dest: action.type for action in parser._actions if action.dest != "help"}

    def pick(name: str) -> Any:
        if args.get(name) is not None:
            return args[name]
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            return None
        kind = parse_types.get(name)
        try:
            return kind(raw) if callable(kind) else raw
        except ValueError:
            parser.error(f"{ENV_PREFIX}{name.upper()}: invalid value {raw!r}")

    defaults = EmulatorConfig()
    try:
        faults = FaultSettings().updated(
            {name: value for name in FAULT_FIELDS if (value := pick(name)) is not None}
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        billing = BillingSettings().updated(
            {name: value for name in BILLING_FIELDS if (value := pick(name)) is not None}
        )
    except ValueError as exc:
        parser.error(str(exc))
    workers = pick("workers")
    if workers is not None and workers < 1:
        parser.error("--workers must be at least 1")
    render = pick("render")
    engine = pick("face_engine")
    try:
        render_mode = RenderMode(render) if render else defaults.render
        engine_choice = EngineChoice(engine) if engine else defaults.face_engine
    except ValueError as exc:
        parser.error(str(exc))
    public_url = pick("public_url")
    return EmulatorConfig(
        host=pick("host") or defaults.host,
        port=defaults.port if pick("port") is None else pick("port"),
        api_key=pick("api_key") or None,
        data_dir=Path(pick("data_dir") or defaults.data_dir),
        public_url=public_url.rstrip("/") if public_url else None,
        render=render_mode,
        face_engine=engine_choice,
        workers=workers or defaults.workers,
        faults=faults,
        billing=billing,
        seed=pick("seed"),
        request_log=Path(pick("request_log")) if pick("request_log") else None,
        keepalive_timeout=defaults.keepalive_timeout
        if pick("keepalive_timeout") is None
        else pick("keepalive_timeout"),
        log_level=(pick("log_level") or defaults.log_level).upper(),
    )
