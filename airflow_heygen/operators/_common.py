"""
The bases of the HeyGen operators: what every one takes (the connection) and returns (a dict whose
keys are XComs of their own), and the arguments of the ones that submit a paid job and wait for it.

Importing this module stays cheap for DAG parsing: it imports no hook, trigger or publishing code.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from airflow_heygen.links.heygen import HeyGenVideoLink
from airflow_heygen.task_base import DEFAULT_CONN_ID, HeyGenTaskMixin, checked_waiting
from airflow_heygen.templating import XComOriginsMixin

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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        waiting = checked_waiting(deferrable, poll_interval, timeout, self.task_id)
        self.deferrable, self.poll_interval, self.timeout = waiting
        self.durable = durable
        self.resubmit_unconfirmed = resubmit_unconfirmed
        self.resubmit_failed = resubmit_failed
        self.check_inputs = check_inputs

    def check_input_urls(self, request: Any, root: str) -> None:
        """
        With ``check_inputs``, check every http(s) URL in ``request`` before anything is paid.

        :param request: the checked request (a workflow's ``input`` or a v3 body).
        :param root: its name in messages, e.g. ``input``.
        """
        if self.check_inputs:
            from airflow_heygen.preflight import check_input_urls

            check_input_urls(request, root, log=self.log)
