"""A wrong setting names the setting and exits non-zero, without a traceback or a secret."""

from __future__ import annotations

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
        ({"page_size": 0}, "0 is less than the minimum of 1 in config['page_size']"),
        ({"window_hours": 0}, "minimum of 1 in config['window_hours']"),
        ({"lookback_minutes": -5}, "minimum of 0 in config['lookback_minutes']"),
        ({"requests_per_second": 0}, "minimum of 0.01 in config['requests_per_second']"),
        ({"max_tries": 0}, "minimum of 1 in config['max_tries']"),
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
        ({"operator": ">"}, "'duration' is a dependency of 'operator'"),
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
