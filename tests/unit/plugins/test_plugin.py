"""
The plugin as Airflow loads it: registered through ``get_provider_info()``, built by the api-server only,
empty where ``[heygen] ui_enabled`` is false, and never imported by DAG parsing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from airflow_heygen.get_provider_info import get_provider_info
from airflow_heygen.plugins.heygen_view import TASK_INSTANCE_HREF, HeyGenViewPlugin
from airflow_heygen.plugins.settings import running_on_api_server

# What Airflow's plugins manager makes of the provider's plugins, in a process named like `argv`.
LOADED = """
import json, sys
sys.argv = {argv!r}
from airflow import plugins_manager
apps, _ = plugins_manager.get_fastapi_plugins()
views, _ = plugins_manager._get_ui_plugins()
print(json.dumps({{
    "apps": [a["url_prefix"] for a in apps],
    "views": [[v["destination"], v["href"]] for v in views],
    "fastapi_imported_by_plugin": "airflow_heygen.plugins.app" in sys.modules,
}}))
"""


def loaded(argv: list[str], **env: str) -> dict[str, object]:
    # Providers discovered eagerly: the plugin comes through get_provider_info() (this venv's install
    # may predate the airflow.plugins entry point; test_the_entry_point_names_the_same_plugin covers it).
    result = subprocess.run(
        [sys.executable, "-c", LOADED.format(argv=argv)],
        capture_output=True,
        text=True,
        env={**os.environ, "AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": "False", **env},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_provider_registers_the_plugin() -> None:
    assert get_provider_info()["plugins"] == [
        {"name": "heygen", "plugin-class": "airflow_heygen.plugins.heygen_view.HeyGenViewPlugin"}
    ]


def test_the_entry_point_names_the_same_plugin() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    (declared,) = get_provider_info()["plugins"]
    entry = pyproject["project"]["entry-points"]["airflow.plugins"]["heygen"]
    assert entry.replace(":", ".") == declared["plugin-class"]


def test_the_api_server_mounts_the_app_and_shows_both_views() -> None:
    found = loaded(["airflow", "api-server"])

    assert found["apps"] == ["/heygen"]
    assert ["task_instance", TASK_INSTANCE_HREF] in found["views"]
    assert ["nav", "/heygen/"] in found["views"]


def test_other_components_and_ui_enabled_false_get_an_empty_plugin() -> None:
    for argv, env in (
        (["airflow", "scheduler"], {}),
        (["airflow", "dag-processor"], {}),
        (["airflow", "api-server"], {"AIRFLOW__HEYGEN__UI_ENABLED": "False"}),
    ):
        assert loaded(argv, **env) == {"apps": [], "views": [], "fastapi_imported_by_plugin": False}, argv


def test_this_process_is_not_the_api_server() -> None:
    assert not running_on_api_server(["pytest"])
    assert running_on_api_server(["/venv/bin/airflow", "api-server", "--port", "8080"])
    assert HeyGenViewPlugin.fastapi_apps == [] and HeyGenViewPlugin.external_views == []
