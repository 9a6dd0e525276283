"""The probe's report holds no customer data, and the probe's command line works as documented.

Users are asked to share the report, so it must not carry anything of the account: the test
scans the markdown and the JSON the real command writes for every value the sandbox holds
(every text of every record: numbers, names, ids, URLs, times) and for every credential.
Only the API's own vocabulary (`status: answered`, `direction: inbound`, ...) may appear.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tap_acefone.probe import Probe
from tap_acefone.probe_report import to_json, to_markdown
from tap_acefone.sandbox.config import DEFAULT_API_TOKEN
from tests.taprun import LOGIN_EMAIL, LOGIN_PASSWORD, tap_config

BIN = Path(sys.executable).parent
# Keys whose values are the API's fixed vocabulary, not data about anyone.
VOCABULARY_KEYS = {
    "direction",
    "status",
    "service",
    "description",
    "reason",
    "hangup_cause",
    "call_hint",
    "type",
    "dialst",
    "hangup_by",
    "disposition",
    "disposition_name",
    "custom_status",
    "operator",
    "circle",
    "agent_ring_time",
}


def customer_values(sandbox: Any) -> set[str]:
    """Every text the sandbox's records hold, except the API's vocabulary."""
    found: set[str] = set()

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and len(value) >= 4:
            plain_word = not any(ch.isdigit() or ch in "@/:" for ch in value)
            if not (key in VOCABULARY_KEYS and plain_word):
                found.add(value)

    for row in sandbox.all_calls():
        walk(row.record, None)
    return found


def secrets_of(sandbox: Any) -> set[str]:
    host, port = sandbox.url.removeprefix("http://").split(":")
    return {
        sandbox.url,
        f"{host}:{port}",
        port,
        DEFAULT_API_TOKEN,
        LOGIN_EMAIL,
        LOGIN_PASSWORD,
        "eyJ",  # every login token (a JWT) starts so
        "Bearer",
    }


def _leaks(text: str, values: set[str]) -> list[str]:
    return sorted(value for value in values if value in text)[:10]


@pytest.mark.parametrize("auth", ["static token", "login"])
def test_the_report_holds_no_customer_data(make_sandbox, auth):
    sandbox = make_sandbox(rate_limit=50, rate_limit_headers=True, log_requests=True)
    login = {"api_token": None, "email": LOGIN_EMAIL, "password": LOGIN_PASSWORD}
    config = tap_config(sandbox, days=1, **(login if auth == "login" else {}))
    report = Probe(config).run()
    values = customer_values(sandbox)
    assert len(values) > 1000  # the scan is over real data
    # The probe did read that data: the served ids are among the values scanned.
    served = {i for entry in sandbox.request_log() for i in entry.ids}
    assert served
    assert served <= values
    for text in (to_markdown(report), to_json(report)):
        assert not _leaks(text, values)
        assert not _leaks(text, secrets_of(sandbox))


def test_the_command_writes_the_report_and_nothing_else(make_sandbox, tmp_path):
    sandbox = make_sandbox()
    output = tmp_path / "probe.json"
    done = _run_cli(sandbox, tmp_path, "acefone-probe", "--output", str(output))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("# tap-acefone probe report")
    assert "meltano config set tap-acefone api_profile" in done.stdout
    assert '"type"' not in done.stdout  # no Singer message: the probe never syncs
    report = json.loads(output.read_text())
    assert report["bounds"]["filter_on"] == "start"
    assert report["recommended"]["api_profile"] == {"filter_on": "start", "granularity": "second"}
    for text in (done.stdout, done.stderr, output.read_text()):
        assert not _leaks(text, customer_values(sandbox) | secrets_of(sandbox))


def test_the_tap_itself_runs_the_probe(make_sandbox, tmp_path):
    sandbox = make_sandbox()
    output = tmp_path / "probe.json"
    done = _run_cli(sandbox, tmp_path, "tap-acefone", "--probe", "--probe-output", str(output))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("# tap-acefone probe report")
    assert json.loads(output.read_text())["requests"] == sandbox.stats()["requests_total"]


def test_a_bad_config_is_one_line_and_exit_1(tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(
        json.dumps({"start_date": "2026-01-01", "api_token": "t"} | {"timezone": "Mars/Base"})
    )
    done = subprocess.run(
        [str(BIN / "acefone-probe"), "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "timezone 'Mars/Base' is not an IANA time zone" in done.stderr


def _run_cli(sandbox, tmp_path, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`program --config <a config for the sandbox> *args`, without TAP_ACEFONE_* variables."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(tap_config(sandbox, days=1)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ACEFONE_")}
    return subprocess.run(
        [str(BIN / program), "--config", str(config_path), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
