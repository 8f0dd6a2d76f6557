"""DownloadSettings.for_connection reads the HeyGen connection as HeyGenHook does, without importing it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_heygen.hooks.heygen import HeyGenHook
from airflow_heygen.publishing import DownloadSettings
from tests.conftest import TEST_KEY, heygen_connection_uri


@pytest.mark.parametrize(
    "connection",
    [
        heygen_connection_uri("http://127.0.0.1:8080"),
        heygen_connection_uri("https://media.example.com", retry_limit=7, request_timeout=4.5),
        json.dumps({"conn_type": "heygen", "host": "api.example.com", "port": 8443, "password": "k-12345"}),
    ],
)
def test_settings_match_what_the_hook_resolves(connection: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HEYGEN_DEFAULT", connection)

    ours = DownloadSettings.for_connection("heygen_default")

    assert ours == DownloadSettings.from_connection(HeyGenHook(heygen_conn_id="heygen_default").settings)
    assert ours.api_key is not None
    assert ours.api_key not in repr(ours)


def test_without_a_connection_the_environment_key_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_HEYGEN_DEFAULT", raising=False)
    monkeypatch.setenv("HEYGEN_API_KEY", TEST_KEY)

    settings = DownloadSettings.for_connection("heygen_default")

    assert (settings.api_key, settings.api_origin) == (TEST_KEY, ("https", "api.heygen.com", 443))


def test_without_any_key_videos_are_fetched_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_HEYGEN_DEFAULT", raising=False)
    monkeypatch.delenv("HEYGEN_API_KEY", raising=False)

    assert DownloadSettings.for_connection("heygen_default") == DownloadSettings()


def test_publishing_imports_neither_the_hook_nor_aiohttp_and_operators_import_no_publishing() -> None:
    code = (
        "import sys, os; os.environ['AIRFLOW_CONN_HEYGEN_DEFAULT'] = sys.argv[1]\n"
        "import airflow_heygen.operators.publish as publish\n"
        "import airflow_heygen.operators.heygen as heygen\n"
        "assert heygen.HeyGenPublishVideoOperator is publish.HeyGenPublishVideoOperator\n"
        "assert heygen.DEFAULT_CONN_ID == publish.DEFAULT_CONN_ID\n"
        "parse = sorted({'requests', 'av', 'airflow_heygen.publishing'} & set(sys.modules))\n"
        "from airflow_heygen.publishing import DownloadSettings\n"
        "DownloadSettings.for_connection('heygen_default')\n"
        "run = sorted({'aiohttp', 'airflow_heygen.hooks.heygen', 'av'} & set(sys.modules))\n"
        "print(parse, run)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, heygen_connection_uri("http://127.0.0.1:1")],
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip().splitlines()[-1] == "[] []"
