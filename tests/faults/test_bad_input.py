"""Bad input: every setting with a wrong value, and corrupt, odd or foreign state files.

Each wrong setting is refused before any request with exactly one message that names the
setting, and without echoing a secret. The whole matrix is checked in-process (fast); a
representative of every kind of check also runs through the CLI, where it must exit 1 with
that one error line and no traceback. (tests/test_settings.py holds the first cases.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_acefone.tap import TapAcefone
from tests.faults.support import (
    PASSWORD,
    STATIC_TOKEN,
    assert_fails_cleanly,
    assert_reconciles,
    fault_config,
    find_leaks,
    run_cli,
)
from tests.taprun import iso

VALID = {"api_url": "http://127.0.0.1:9", "api_token": STATIC_TOKEN, "start_date": "2026-03-01"}
LOGIN = {"api_token": None, "email": "ops@example.com", "password": PASSWORD}

# (overrides, text the one error message must contain)
BAD_SETTINGS = {
    "api_url not text": ({"api_url": 443}, "config['api_url']"),
    "api_url not a URL": ({"api_url": "api.acefone.in"}, "api_url must be an http(s) URL"),
    "api_url empty": ({"api_url": ""}, "api_url must be an http(s) URL"),
    "api_url with a query": ({"api_url": "https://x.in/?a=1"}, "api_url must be an http(s) URL"),
    "api_token a number": ({"api_token": 98765432101234}, "config['api_token'] must be text"),
    "api_token a list": ({"api_token": [STATIC_TOKEN]}, "config['api_token'] must be text"),
    "token and password": ({"password": PASSWORD}, "Set either api_token or email + password"),
    "token and email": ({"email": "ops@example.com"}, "Set either api_token or email + password"),
    "neither": ({"api_token": None}, "Set api_token (a portal API token) or email + password"),
    "blank token only": ({"api_token": "  "}, "Set api_token (a portal API token) or email"),
    "email not text": ({**LOGIN, "email": 42}, "config['email']"),
    "email without password": ({**LOGIN, "password": None}, "password is required with email"),
    "password without email": ({**LOGIN, "email": None}, "email is required with password"),
    "password a number": ({**LOGIN, "password": 123456789}, "config['password'] must be text"),
    "start_date missing": ({"start_date": None}, "'start_date' is a required property"),
    "start_date a number": ({"start_date": 20260301}, "config['start_date']"),
    "start_date not a date": ({"start_date": "2026-13-01"}, "start_date '2026-13-01' is not an"),
    "start_date blank": ({"start_date": " "}, "start_date is empty"),
    "end_date not a date": ({"end_date": "soon"}, "end_date 'soon' is not an ISO 8601"),
    "end_date = start_date": ({"end_date": "2026-03-01"}, "end_date must be later than start"),
    "end_date a number": ({"end_date": 5}, "config['end_date']"),
    "timezone abbreviation": ({"timezone": "IST"}, "timezone 'IST' is not an IANA time zone"),
    "timezone empty": ({"timezone": ""}, "timezone '' is not an IANA time zone"),
    "timezone a path": ({"timezone": "../../etc/passwd"}, "is not an IANA time zone"),
    "timezone a number": ({"timezone": 5.5}, "config['timezone']"),
    "page_size too big": (
        {"page_size": 1001},
        "1001 is greater than the maximum of 1000 in config['page_size']",
    ),
    "page_size a fraction": ({"page_size": 2.5}, "config['page_size']"),
    "page_size a boolean": ({"page_size": True}, "config['page_size']"),
    "window_hours too big": ({"window_hours": 721}, "maximum of 720 in config['window_hours']"),
    "window_hours text": ({"window_hours": "x"}, "config['window_hours']"),
    "lookback too big": (
        {"lookback_minutes": 10081},
        "maximum of 10080 in config['lookback_minutes']",
    ),
    "lookback a fraction": ({"lookback_minutes": 1.5}, "config['lookback_minutes']"),
    "rate too high": (
        {"requests_per_second": 1001},
        "maximum of 1000 in config['requests_per_second']",
    ),
    "rate negative": (
        {"requests_per_second": -1},
        "minimum of 0.01 in config['requests_per_second']",
    ),
    "rate text": ({"requests_per_second": "fast"}, "config['requests_per_second']"),
    "rate text too low": ({"requests_per_second": "0"}, "minimum of 0.01 in config['requests_"),
    "rate text too high": ({"requests_per_second": "1e4"}, "maximum of 1000 in config['request"),
    "timeout zero": (
        {"request_timeout": 0},
        "0 is less than the minimum of 1 in config['request_timeout']",
    ),
    "timeout too long": ({"request_timeout": 3601}, "maximum of 3600 in config['request_timeout']"),
    "max_tries too many": ({"max_tries": 51}, "maximum of 50 in config['max_tries']"),
    "max_tries text": ({"max_tries": "x"}, "config['max_tries']"),
    "concurrency zero": ({"max_concurrency": 0}, "minimum of 1 in config['max_concurrency']"),
    "concurrency too high": ({"max_concurrency": 17}, "maximum of 16 in config['max_concurrency']"),
    "concurrency text": ({"max_concurrency": "four"}, "config['max_concurrency']"),
    "recording_url_mode unknown": ({"recording_url_mode": "hide"}, "config['recording_url_mode']"),
    "recording_url_mode a number": ({"recording_url_mode": 1}, "config['recording_url_mode']"),
    "default_region unknown": ({"default_region": "ZZ"}, "default_region 'ZZ' is not a phone"),
    "default_region a number": ({"default_region": 91}, "config['default_region']"),
    "call_type a number": ({"call_type": 1}, "config['call_type']"),
    "direction unknown": ({"direction": "both"}, "config['direction']"),
    "agents of numbers": ({"agents": [1]}, "config['agents']"),
    "department text": ({"department": "5"}, "config['department']"),
    "ivr text": ({"ivr": "main"}, "config['ivr']"),
    "callerid a number": ({"callerid": 9876543210}, "config['callerid']"),
    "destination a number": ({"destination": 1}, "config['destination']"),
    "did_number a number": ({"did_number": 1}, "config['did_number']"),
    "duration text": ({"duration": "ten"}, "config['duration']"),
    "duration negative": ({"duration": -1, "operator": ">"}, "minimum of 0 in config['duration']"),
    "duration too long": (
        {"duration": 604801, "operator": ">"},
        "maximum of 604800 in config['duration']",
    ),
    "operator unknown": ({"duration": 5, "operator": "="}, "config['operator']"),
    "operator without duration": ({"operator": ">"}, "'duration' is a dependency of 'operator'"),
    "services a number": ({"services": 5}, "config['services']"),
    "broadcast text": ({"broadcast": "yes"}, "config['broadcast']"),
}


def config_with(overrides):
    return {k: v for k, v in {**VALID, **overrides}.items() if v is not None}


def validation_errors(config) -> list[str]:
    try:
        TapAcefone(config=config, validate_config=True, setup_mapper=False)
    except ConfigValidationError as exc:
        return list(exc.errors)
    return []


@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_every_bad_setting_is_refused_with_one_message_naming_it(case):
    overrides, expected = BAD_SETTINGS[case]
    errors = validation_errors(config_with(overrides))
    assert errors, "accepted"
    assert expected in errors[0], errors
    # A value can break two rules of one setting (a number for an enum: type and enum);
    # every message still names that setting.
    assert all(errors[0].split("config[")[-1][:20] in error for error in errors), errors
    text = "\n".join(errors)
    assert not find_leaks({"errors": text}, None), text
    assert "98765432101234" not in text
    assert "123456789" not in text


def test_the_valid_base_config_is_accepted():
    assert validation_errors(VALID) == []
    assert validation_errors(config_with(LOGIN)) == []


# One CLI run per kind of check: JSON-schema type, range, enum, time zone, auth, dates and a
# secret of the wrong type (its value must not be printed).
CLI_CASES = [
    "page_size a fraction",
    "concurrency too high",
    "recording_url_mode unknown",
    "timezone abbreviation",
    "neither",
    "email without password",
    "end_date = start_date",
    "start_date blank",
    "api_token a number",
]


@pytest.mark.parametrize("case", CLI_CASES)
def test_a_bad_setting_exits_1_with_one_line(tmp_path, case):
    overrides, expected = BAD_SETTINGS[case]
    run = run_cli(config_with(overrides), tmp_path, timeout=60)
    assert_fails_cleanly(run, None, expected)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "98765432101234" not in run.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON (line 1 column 2)"),
        ("[1, 2]", "is not a JSON object"),
    ],
    ids=["not-json", "a-list"],
)
def test_an_unreadable_config_file_exits_1_with_one_line(tmp_path, content, expected):
    run = run_cli(content, tmp_path, timeout=60)
    assert_fails_cleanly(run, None, "Could not read the --config file(s)", expected)
    assert run.returncode == 1


# --------------------------------------------------------------------------- state files

BAD_STATES = {
    "not JSON": ('{"bookmarks": {"call_records": ', "is not valid JSON (line 1 column"),
    "a JSON list": ("[1, 2]", "does not hold a JSON object"),
    "bookmarks not an object": ('{"bookmarks": "call_records"}', "'bookmarks' is not a JSON obj"),
    "stream entry not an object": ('{"bookmarks": {"call_records": 7}}', "are not a JSON object"),
    "progress markers not an object": (
        '{"bookmarks": {"users": {"progress_markers": "x"}}}',
        "bookmarks for 'users' hold an entry that is not a JSON object",
    ),
    "partitions not a list": (
        '{"bookmarks": {"call_records": {"partitions": {}}}}',
        "'partitions' that is not a list",
    ),
    "bookmark not a timestamp": (
        '{"bookmarks": {"call_records": {"replication_key_value": "yesterday"}}}',
        "bookmark for call_records ('yesterday') is not an ISO 8601 timestamp",
    ),
    "bookmark a number": (
        '{"bookmarks": {"call_records": {"replication_key_value": 1773100000}}}',
        "bookmark for call_records ('1773100000') is not an ISO 8601 timestamp",
    ),
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_a_corrupt_state_exits_1_with_one_line_naming_the_state(secret_sb, tmp_path, case):
    text, expected = BAD_STATES[case]
    run = run_cli(fault_config(secret_sb), tmp_path, state=text, timeout=60)
    line = assert_fails_cleanly(run, secret_sb, expected)
    assert "state" in line
    assert not run.records
    assert secret_sb.stats()["requests_total"] == 0, "refused before any request"


@pytest.mark.parametrize(
    ("state", "warning"),
    [
        ({"bookmarks": {"some_other_stream": {"replication_key_value": "x"}}}, "no bookmark"),
        (
            {"singer_state": {"bookmarks": {"call_records": {"replication_key_value": "x"}}}},
            "meltano state get",
        ),
        ("", None),
        ({}, None),
    ],
    ids=["other-streams-only", "meltano-wrapped", "empty-file", "empty-object"],
)
def test_a_foreign_or_empty_state_reads_from_start_date(secret_sb, tmp_path, state, warning):
    config = fault_config(secret_sb, hours=12, window_hours=6)
    run = run_cli(config, tmp_path, state=state)
    assert_reconciles(run, secret_sb, config)
    # From start_date on (the first query reaches one second before it, as every query does).
    first_second = datetime.fromisoformat(config["start_date"]) - timedelta(seconds=1)
    assert min(r["started_at"] for r in run.records) >= iso(first_second)
    if warning:
        warnings = [line for line in run.stderr.splitlines() if "| WARNING" in line]
        assert any(warning in line and "reading from start_date" in line for line in warnings)
