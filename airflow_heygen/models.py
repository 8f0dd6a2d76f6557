"""
The workflows API's names of the one job model, kept importable from here: an execution is a
:class:`~airflow_heygen.job.Job` of the ``workflow`` kind (:mod:`airflow_heygen.kinds`), its status a
:class:`~airflow_heygen.kinds.JobStatus` (``submitted`` reads as ``PENDING``).
"""

from __future__ import annotations

from airflow_heygen.job import Job as Execution
from airflow_heygen.kinds import (
    FALLBACK_VIDEO_URL_PATHS,
    VIDEO_URL_PATHS,
    WorkflowType,
    dig,
    find_video_url,
)
from airflow_heygen.kinds import JobStatus as ExecutionStatus

__all__ = [
    "FALLBACK_VIDEO_URL_PATHS",
    "VIDEO_URL_PATHS",
    "Execution",
    "ExecutionStatus",
    "WorkflowType",
    "dig",
    "find_video_url",
]
