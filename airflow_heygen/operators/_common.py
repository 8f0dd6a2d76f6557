"""
The bases of the HeyGen operators: what every one takes (the connection) and returns (a dict whose
keys are XComs of their own), and the arguments of the ones that submit a paid job and wait for it.

Importing this module stays cheap for DAG parsing: it imports no hook, trigger or publishing code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseOperator

from airflow_heygen.exceptions import HeyGenInputError
from airflow_heygen.links.heygen import HeyGenVideoLink
from airflow_heygen.task_base import DEFAULT_CONN_ID, HeyGenTaskMixin, checked_waiting
from airflow_heygen.templating import XComOriginsMixin
from airflow_heygen.validation import optional_amount

__all__ = ["DEFAULT_CONN_ID", "HeyGenOperator", "HeyGenSubmitOperator"]


class HeyGenOperator(XComOriginsMixin, BaseOperator):
    """
    Base of every HeyGen operator: the HeyGen connection, and a dict result. An argument fed by an
    XCom that does not exist fails naming that XCom and its task.

    :param heygen_conn_id: id of the HeyGen connection.
    """

    ui_color = "#7559ff"
    ui_fgcolor = "#ffffff"

    def __init__(self, *, heygen_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        # Each key of the result becomes its own XCom too, so task.output["video_url"] works.
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.heygen_conn_id = heygen_conn_id


class HeyGenSubmitOperator(HeyGenTaskMixin, HeyGenOperator):
    """
    Base of the operators that submit a paid HeyGen job (a workflow execution or a v3 job) once per
    task instance and wait for it, in a worker or in the triggerer; each subclass documents what the
    arguments mean for its API.

    :param heygen_conn_id: id of the HeyGen connection.
    :param wait_for_completion: wait for the job; if False, return right after the submission.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for the job before failing (it keeps running at HeyGen).
    :param durable: remember the submission across tries in ``task_state_store`` (Airflow 3.3+).
    :param resubmit_unconfirmed: submit again where an earlier try's submission cannot be confirmed.
    :param resubmit_failed: let a task retry pay for a new job after one that failed for good (bad or
        unreachable media, no face, invalid input, or a reason not known to be transient). Off by
        default: such a failure fails the task without retries; transient ones are resubmitted anyway.
    :param check_inputs: before paying, check with a bounded HEAD (or one-byte GET) that every input
        URL answers; a 4xx fails the task without retries, naming the field.
    :param max_cost_usd: refuse, before anything is created, a create whose estimate exceeds this
        (US dollars; the estimate reads the input media's duration); None: no cap.
    :param expected_seconds: the output's expected length in seconds, for the estimate (instead of the
        media's duration or the script's length).
    """

    operator_extra_links = (HeyGenVideoLink(),)

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float = 10.0,
        timeout: float = 600.0,
        durable: bool = True,
        resubmit_unconfirmed: bool = False,
        resubmit_failed: bool = False,
        check_inputs: bool = False,
        max_cost_usd: float | None = None,
        expected_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:
            self.max_cost_usd = optional_amount("max_cost_usd", max_cost_usd)
            self.expected_seconds = optional_amount("expected_seconds", expected_seconds)
        except HeyGenInputError as err:
            raise err.for_task(self.task_id) from None
        self.wait_for_completion = wait_for_completion
        waiting = checked_waiting(deferrable, poll_interval, timeout, self.task_id)
        self.deferrable, self.poll_interval, self.timeout = waiting
        self.durable = durable
        self.resubmit_unconfirmed = resubmit_unconfirmed
        self.resubmit_failed = resubmit_failed
        self.check_inputs = check_inputs

    def estimate_and_check(self, kind: str, body: Mapping[str, Any], count: int = 1) -> dict[str, Any]:
        """
        Estimate what creating ``count`` jobs of ``body`` costs, log it, and refuse (before anything is
        sent) a create over ``max_cost_usd`` or below the connection's ``min_balance_usd``. Media are
        read for their duration only where a limit needs the figure.

        :param kind: the job kind.
        :param body: the checked body of one job.
        :param count: how many such jobs the create makes (a translation's languages).
        :return: the estimate's fields for the result (``estimated_cost_usd``, ``estimate_basis``, ``rate``).
        """
        from airflow_heygen.spend.estimate import estimate, seconds_over_http
        from airflow_heygen.spend.limits import check_spend

        spend = self.hook.settings.spend
        limited = self.max_cost_usd is not None or spend.min_balance_usd is not None
        guess = estimate(
            kind, body, spend.rates, seconds_over_http if limited else lambda _: None, self.expected_seconds
        )
        one = guess.cost_usd
        cost = None if one is None else one * count
        basis = guess.basis if count == 1 else f"{count} x ({guess.basis})"
        self.log.info("Estimated HeyGen cost: %s", "unknown" if cost is None else f"${cost:.2f} = {basis}")
        check_spend(
            f"this {kind} create",
            cost,
            basis,
            max_cost_usd=self.max_cost_usd,
            min_balance_usd=spend.min_balance_usd,
            account=self.hook.get_account,
        )
        fields = guess.to_dict()
        fields["estimated_cost_usd"] = None if cost is None else round(cost, 4)
        fields["estimate_basis"] = basis
        return fields

    def _pushed(self, context: Any, key: str) -> Any:
        """An XCom this task instance pushed before deferring."""
        ti = context["ti"]
        return ti.xcom_pull(task_ids=self.task_id, key=key, map_indexes=getattr(ti, "map_index", None))

    def check_input_urls(self, request: Any, root: str) -> None:
        """
        With ``check_inputs``, check every http(s) URL in ``request`` before anything is paid.

        :param request: the checked request (a workflow's ``input`` or a v3 body).
        :param root: its name in messages, e.g. ``input``.
        """
        if self.check_inputs:
            from airflow_heygen.preflight import check_input_urls

            check_input_urls(request, root, log=self.log)
