"""The ``acefone-sandbox`` command: help, flag errors, serving, signals, export."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from tap_acefone.sandbox import Faults, Sandbox, SandboxConfig
from tap_acefone.sandbox.cli import build_parser, config_from_args

MODULE = [sys.executable, "-m", "tap_acefone.sandbox"]
SCRIPT = Path(sys.executable).parent / "acefone-sandbox"
FLAGS = [
    "--host",
    "--port",
    "--port-file",
    "--seed",
    "--days",
    "--calls-per-day",
    "--timezone",
    "--now",
    "--latency",
    "--rate-limit",
    "--no-retry-after",
    "--token-lifetime",
    "--page-size-max",
    "--default-limit",
    "--order",
    "--api-token",
    "--login",
    "--fault-429",
    "--fault-5xx",
    "--fault-truncated",
    "--fault-invalid-json",
    "--fault-success-false",
    "--fault-reset",
    "--fault-slow",
    "--slow-seconds",
    "--fault-seed",
    "--fault-login",
    "--export",
    "--future-days",
    "--from-bound",
    "--to-bound",
    "--filter-on",
    "--bound-granularity",
    "--sort-key",
    "--unstable-ties",
    "--variant-seed",
    "--number-style",
    "--omit-count",
    "--users-number-style",
    "--omit-limit",
    "--past-end",
    "--ignore-limit",
    "--count-offset",
    "--burst-calls",
    "--rate-limit-kind",
    "--rate-limit-period",
    "--arrival-jitter",
    "--rate-limit-headers",
    "--slow-page-above",
    "--slow-page-fault",
    "--latency-per-record",
    "--log-requests",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else MODULE
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_documents_every_knob():
    result = _run("--help")
    assert result.returncode == 0
    for flag in FLAGS:
        assert flag in result.stdout, flag


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--days", "x"], "--days"),
        (["--days", "0"], "--days"),
        (["--port", "70000"], "--port"),
        (["--timezone", "Mars/Base"], "--timezone"),
        (["--now", "2026-03-10T12:00:00"], "--now"),
        (["--fault-429", "2"], "--fault-429"),
        (["--fault-429", "0.7", "--fault-5xx", "0.7"], "--fault-5xx"),
        (["--login", "nopassword"], "--login"),
        (["--rate-limit", "0"], "--rate-limit"),
        (["--order", "random"], "--order"),
        (["--latency", "-1"], "--latency"),
        (["--to-bound", "open"], "--to-bound"),
        (["--bound-granularity", "day", "--to-bound", "exclusive"], "--to-bound"),
        (["--bound-granularity", "day", "--from-bound", "exclusive"], "--from-bound"),
        (["--number-style", "hex"], "--number-style"),
        (["--users-number-style", "str"], "--users-number-style"),
        (["--burst-calls", "-1"], "--burst-calls"),
        (["--count-offset", "x"], "--count-offset"),
        (["--rate-limit-kind", "sliding_window"], "--rate-limit"),
        (["--rate-limit", "0.4", "--rate-limit-kind", "fixed_window"], "--rate-limit-period"),
        (["--rate-limit", "2", "--rate-limit-period", "minute"], "--rate-limit-period"),
        (["--rate-limit-headers"], "--rate-limit-headers"),
        (["--arrival-jitter", "-0.1"], "--arrival-jitter"),
        (["--slow-page-above", "-5"], "--slow-page-above"),
        (["--slow-page-fault", "503"], "--slow-page-fault"),
        (["--latency-per-record", "nan"], "--latency-per-record"),
        (["--variant-seed", "1.5"], "--variant-seed"),
    ],
)
def test_bad_flag_values_exit_2_with_one_line(args, flag):
    result = _run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert flag in lines[0]
    assert lines[0].startswith("acefone-sandbox: error:")


def test_bare_defaults():
    config = config_from_args(build_parser().parse_args([]))
    assert config.seed == 1
    assert config.days == 7
    assert config.calls_per_day == 500
    assert config.timezone == "Asia/Kolkata"
    assert config.port == 8417
    assert config.api_tokens == ("sandbox-static-token",)
    assert config.logins == {"ops@example.com": "sandbox-password"}
    assert config.faults == Faults()
    assert config == SandboxConfig(port=8417, now=config.now), "every variant is off"


def test_variant_flags_map_onto_the_config():
    args = build_parser().parse_args(
        [
            "--from-bound", "exclusive", "--to-bound", "exclusive", "--filter-on", "end",
            "--sort-key", "day", "--unstable-ties", "--variant-seed", "4",
            "--number-style", "string", "--omit-count", "--omit-limit",
            "--users-number-style", "float",
            "--past-end", "repeat_last", "--ignore-limit", "--count-offset", "-2",
            "--burst-calls", "300", "--rate-limit", "3", "--rate-limit-kind", "fixed_window",
            "--rate-limit-period", "minute", "--arrival-jitter", "0.05",
            "--rate-limit-headers", "--slow-page-above", "200", "--slow-page-fault", "504",
            "--latency-per-record", "0.002", "--log-requests",
        ]
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.from_bound, config.to_bound, config.filter_on) == ("exclusive",) * 2 + ("end",)
    assert config.bound_granularity == "second"
    assert (config.sort_key, config.unstable_ties, config.variant_seed) == ("day", True, 4)
    assert (config.number_style, config.omit_count, config.omit_limit) == ("string", True, True)
    assert (config.past_end, config.ignore_limit, config.count_offset) == ("repeat_last", True, -2)
    assert config.users_number_style == "float"
    assert config.burst_calls == 300
    assert (config.rate_limit_kind, config.rate_limit_period) == ("fixed_window", "minute")
    assert config.rate_limit_window == (180, 60)
    assert (config.arrival_jitter, config.rate_limit_headers) == (0.05, True)
    assert (config.slow_page_above, config.slow_page_fault) == (200, "504")
    assert (config.latency_per_record, config.log_requests) == (0.002, True)
    day = config_from_args(build_parser().parse_args(["--bound-granularity", "day"]))
    assert day.bound_granularity == "day"


def test_flags_map_onto_the_config():
    args = build_parser().parse_args(
        [
            "--api-token",
            "a",
            "--api-token",
            "b",
            "--login",
            "x@y.z:p:w",
            "--no-retry-after",
            "--fault-5xx",
            "0.2",
            "--fault-seed",
            "9",
            "--fault-login",
            "--order",
            "oldest",
            "--rate-limit",
            "2.5",
        ]
    )
    config = config_from_args(args)
    assert config.api_tokens == ("a", "b")
    assert config.logins == {"x@y.z": "p:w"}
    assert config.retry_after is False
    assert config.faults == Faults(seed=9, rate_5xx=0.2, apply_to_login=True)
    assert config.order == "oldest"
    assert config.rate_limit == 2.5


def test_serves_until_sigterm(tmp_path):
    port_file = tmp_path / "url"
    proc = subprocess.Popen(
        [
            *MODULE,
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--days",
            "2",
            "--calls-per-day",
            "200",
            "--now",
            "2026-03-10T12:00:00Z",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(
            r"acefone-sandbox listening on (http://127\.0\.0\.1:\d+) "
            r"\(timezone Asia/Kolkata, (\d+) calls over 2 days\)\n",
            line,
        )
        assert match, line
        url = match.group(1)
        assert port_file.read_text().strip() == url
        r = requests.get(
            f"{url}/v1/call/records",
            headers={"Authorization": "Bearer sandbox-static-token"},
            timeout=10,
        )
        assert r.status_code == 200
        body = r.json()
        assert list(body) == ["count", "limit", "size", "page", "results"]
        assert body["limit"] == 20
        assert body["page"] == 1
        assert body["count"] > 0
        assert requests.get(f"{url}/v1/unknown", timeout=10).status_code == 403
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_sigint_also_exits_cleanly(tmp_path):
    proc = subprocess.Popen(
        [*MODULE, "--port", "0", "--days", "1", "--calls-per-day", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("acefone-sandbox listening on http://")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_export_writes_the_ground_truth_and_exits(tmp_path):
    out = tmp_path / "truth.jsonl"
    result = _run(
        "--export",
        str(out),
        "--days",
        "2",
        "--calls-per-day",
        "150",
        "--now",
        "2026-03-10T12:00:00+00:00",
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert result.stdout.strip() == f"acefone-sandbox wrote {len(lines)} records to {out}"
    expected = tmp_path / "expected.jsonl"
    config = SandboxConfig(
        days=2, calls_per_day=150, now=datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
    )
    Sandbox(config).export_jsonl(expected)
    assert out.read_bytes() == expected.read_bytes()
    assert json.loads(lines[0])["record"]["id"] == json.loads(lines[0])["id"]
