"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_heygen import __version__
from airflow_heygen.defaults import (
    DEFAULT_CREATE_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_RETRY_MAX_DELAY,
    DEFAULT_RETRY_MIN_DELAY,
)

# The connection form, declared once: Airflow reads it from here (provider info) and, as a
# fallback, through the hook's get_ui_field_behaviour() / get_connection_form_widgets().
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "port"],
    "relabeling": {"password": "API Key", "host": "API URL"},
    "placeholders": {
        "host": "https://api.heygen.com (or a local emulator, e.g. http://127.0.0.1:8765)",
        "password": "HeyGen API key (falls back to HEYGEN_API_KEY)",
    },
}
CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "retry_limit": {
        "label": "Retry limit",
        "description": "Retries of a request after 429, 5xx, timeouts or connection errors "
        f"(default {DEFAULT_RETRY_LIMIT}).",
        "schema": {"type": ["integer", "null"], "minimum": 0},
    },
    "retry_min_delay": {
        "label": "Retry min delay (s)",
        "description": "Backoff before the first retry, doubling on each retry "
        f"(default {DEFAULT_RETRY_MIN_DELAY:g}).",
        "schema": {"type": ["number", "null"], "minimum": 0},
    },
    "retry_max_delay": {
        "label": "Retry max delay (s)",
        "description": f"Cap on the backoff between retries (default {DEFAULT_RETRY_MAX_DELAY:g}).",
        "schema": {"type": ["number", "null"], "minimum": 0},
    },
    "request_timeout": {
        "label": "Request timeout (s)",
        "description": "Seconds one read or delete request to HeyGen may take "
        f"(default {DEFAULT_REQUEST_TIMEOUT:g}).",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
    },
    "create_timeout": {
        "label": "Create timeout (s)",
        "description": "Seconds one create (POST: v3 creates, uploads, workflow submissions) may take; "
        f"HeyGen's creates take about 30 s at the 99th percentile (default {DEFAULT_CREATE_TIMEOUT:g}).",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Describe the provider: its modules, the ``heygen`` connection type and its form, extra links, the
    HeyGen view's plugin."""
    return {
        "package-name": "airflow-heygen",
        "name": "HeyGen",
        "description": "Run HeyGen video jobs from Airflow: v3 avatar videos, lip-sync, translation and "
        "assets; face swap on the workflows API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "HeyGen",
                "external-doc-url": "https://docs.heygen.com/",
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": "HeyGen",
                "python-modules": [
                    "airflow_heygen.operators.heygen",
                    "airflow_heygen.operators.v3",
                    "airflow_heygen.operators.publish",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "HeyGen",
                "python-modules": ["airflow_heygen.sensors.heygen", "airflow_heygen.sensors.jobs"],
            }
        ],
        "hooks": [
            {
                "integration-name": "HeyGen",
                "python-modules": [
                    "airflow_heygen.hooks.heygen",
                    "airflow_heygen.hooks.heygen_async",
                    "airflow_heygen.hooks.jobs",
                    "airflow_heygen.hooks.jobs_async",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "HeyGen",
                "python-modules": [
                    "airflow_heygen.triggers.heygen",
                    "airflow_heygen.triggers.jobs",
                    "airflow_heygen.triggers.bulk",
                ],
            }
        ],
        "extra-links": ["airflow_heygen.links.heygen.HeyGenVideoLink"],
        # The HeyGen view: built by the api-server only, and only with [heygen] ui_enabled (default on).
        "plugins": [
            {"name": "heygen", "plugin-class": "airflow_heygen.plugins.heygen_view.HeyGenViewPlugin"}
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_heygen.hooks.heygen.HeyGenHook",
                "hook-name": "HeyGen",
                "connection-type": "heygen",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONNECTION_FIELDS,
            }
        ],
    }
