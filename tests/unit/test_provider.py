"""Airflow knows the provider: entry point, connection type and form, extra link."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from airflow_heygen.get_provider_info import get_provider_info
from airflow_heygen.hooks.heygen import HeyGenHook


def airflow_cli(*args: str) -> list[dict[str, str]]:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args, "-o", "json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Airflow may log a warning to stdout before the JSON (3.3.0 does, about other providers' info).
    start = next(i for i, line in enumerate(result.stdout.splitlines()) if line.startswith(("[", "{")))
    return json.loads("\n".join(result.stdout.splitlines()[start:]))


@pytest.mark.integration
def test_airflow_lists_the_provider_its_hook_and_link() -> None:
    providers = {p["package_name"]: p for p in airflow_cli("providers", "list")}
    assert providers["airflow-heygen"]["version"] == get_provider_info()["versions"][0]

    hooks = {h["connection_type"]: h for h in airflow_cli("providers", "hooks")}
    assert hooks["heygen"]["class"] == "airflow_heygen.hooks.heygen.HeyGenHook"
    assert hooks["heygen"]["hook_name"] == "HeyGen"

    links = [entry["extra_link_class_name"] for entry in airflow_cli("providers", "links")]
    assert "airflow_heygen.links.heygen.HeyGenVideoLink" in links


def test_connection_form_both_ways_airflow_reads_it() -> None:
    (connection_type,) = get_provider_info()["connection-types"]
    declared = connection_type["ui-field-behaviour"]
    fallback = HeyGenHook.get_ui_field_behaviour()

    assert declared["relabeling"]["password"] == fallback["relabeling"]["password"] == "API Key"
    assert declared["hidden-fields"] == fallback["hidden_fields"]
    assert set(connection_type["conn-fields"]) == set(HeyGenHook.get_connection_form_widgets())
    assert connection_type["connection-type"] == HeyGenHook.conn_type == "heygen"
