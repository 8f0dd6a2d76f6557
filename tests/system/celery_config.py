"""
The topology's Celery configuration (``[celery] celery_config_options``): Airflow's defaults, plus Celery's
``imports``, the modules every task process of the provider imports.

A Celery worker forks each task's process from its pool process, which is forked from the worker's main
process; Celery imports ``imports`` in the main process before it starts the pool, so every task process
inherits them instead of importing them again. Airflow preloads a few such modules itself
(``on_celery_import_modules``), not the DAG parsing a task process does nor a provider's. Profiled in the
topology's batch (py-spy over a worker and its task processes): imports were 66 % of a Celery worker's CPU,
28 % Airflow's DAG bag and serialization, 18 % the HeyGen hook with ``requests`` and ``aiohttp``, 14 % the
trigger. README's "Running in production" recommends the same to users.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

PRELOADED = (
    # What the task runner imports to parse the DAG file, in every task process.
    "airflow.dag_processing.dagbag",
    "airflow.serialization.serialized_objects",
    # The provider's task-side modules: operators, hooks (requests, aiohttp), triggers, publishing (S3).
    "airflow_heygen.operators.heygen",
    "airflow_heygen.operators.v3",
    "airflow_heygen.hooks.heygen",
    "airflow_heygen.hooks.jobs",
    "airflow_heygen.triggers.heygen",
    "airflow_heygen.triggers.jobs",
    "airflow_heygen.publishing.publisher",
    "airflow.providers.amazon.aws.fs.s3",
    "s3fs",
)

CELERY_CONFIG: dict[str, Any] = {**DEFAULT_CELERY_CONFIG, "imports": PRELOADED}
