"""A wrong setting names the setting and exits non-zero, without a traceback or a secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.taprun import run_tap_cli

SECRET = "s3cret-token-value-123"
VALID = {
    "api_url": "http://127.0.0.1:9",
    "api_token": SECRET,
    "start_date": "2026-03-01",
}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"page_size": "abc"}, "config['page_size']"),
        ({"page_size": 0}, "page_size must be between 1 and 1000"),
        ({"window_hours": 0}, "window_hours must be between 1 and 720"),
        ({"lookback_minutes": -5}, "lookback_minutes must be between"),
        ({"requests_per_second": 0}, "requests_per_second must be between"),
        ({"max_tries": 0}, "max_tries must be between"),
        ({"request_timeout": "slow"}, "config['request_timeout']"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone 'Mars/Olympus_Mons' is not an IANA"),
        ({"start_date": "yesterday"}, "start_date 'yesterday' is not an ISO 8601"),
        ({"start_date": None}, "'start_date' is a required property"),
        ({"end_date": "2026-02-01"}, "end_date must be later than start_date"),
        ({"email": "ops@example.com", "password": "pw"}, "Set either api_token or email"),
        ({"api_token": None}, "Set api_token (a portal API token) or email + password"),
        ({"api_token": None, "email": "ops@example.com"}, "password is required with email"),
        ({"api_url": "ftp://example.com"}, "api_url must be an http(s) URL"),
        ({"call_type": "answered"}, "config['call_type']"),
        ({"direction": "sideways"}, "config['direction']"),
        ({"operator": ">"}, "operator is set but duration is not"),
        ({"agents": "agent||1"}, "config['agents']"),
    ],
)
def test_bad_settings_exit_1_naming_the_setting(tmp_path, overrides, expected):
    config = {k: v for k, v in {**VALID, **overrides}.items() if v is not None}
    result = run_tap_cli(config, tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert result.stdout == ""


def test_about_markdown_is_the_readme_settings_table():
    about = subprocess.run(
        [str(Path(sys.executable).parent / "tap-acefone"), "--about", "--format", "markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table = about[about.index("| Setting |") :].split("\n\n")[0].strip()
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert table in readme
