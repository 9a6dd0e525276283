"""Every class of API failure is retried to completion or reported in one clear line."""

from __future__ import annotations

import pytest

from tap_acefone.errors import FatalResponseError
from tap_acefone.sandbox import Faults
from tests.taprun import STATIC_TOKEN, run_tap, run_tap_cli, tap_config
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in


@pytest.mark.parametrize(
    "kind", ["429", "502", "503", "truncated_json", "invalid_json", "success_false", "reset"]
)
def test_transient_faults_are_retried_and_nothing_is_lost(sandbox, kind, caplog):
    sandbox.set_faults(Faults(fail_next=[kind, kind]))
    config = tap_config(sandbox, days=2)
    run = run_tap(config)
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    retries = [r for r in caplog.records if "again in" in r.getMessage()]
    assert len(retries) == 2


def test_retry_after_is_honoured(sandbox, caplog):
    sandbox.set_faults(Faults(fail_next=["429"]))
    run_tap(tap_config(sandbox, days=1))
    (retry,) = [r.getMessage() for r in caplog.records if "again in" in r.getMessage()]
    assert "HTTP 429" in retry
    assert "again in 1.0 s" in retry


def test_a_response_slower_than_the_timeout_is_retried(sandbox, caplog):
    sandbox.set_faults(Faults(fail_next=["slow"], slow_seconds=3))
    config = tap_config(sandbox, days=1, request_timeout=1)
    run = run_tap(config)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    assert any("timed out" in r.getMessage() for r in caplog.records)


def test_a_fault_that_persists_fails_the_run_with_one_line(sandbox, tmp_path):
    sandbox.set_faults(Faults(rate_5xx=1.0))
    result = run_tap_cli(tap_config(sandbox, days=1, max_tries=3), tmp_path)
    assert result.returncode == 1
    assert "GET /v1/call/records failed 3 times in a row" in result.stderr
    assert "HTML error page" in result.stderr
    assert "Traceback" not in result.stderr


def test_403_is_fatal_with_a_hint(sandbox, tmp_path):
    result = run_tap_cli(tap_config(sandbox, days=1, api_url=sandbox.url + "/wrong"), tmp_path)
    assert result.returncode == 1
    assert "HTTP 403" in result.stderr
    assert "Access Control" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_rejected_static_token_is_fatal_and_says_how_to_fix_it(sandbox, tmp_path):
    secret = "not-a-real-token-0123456789"
    result = run_tap_cli(tap_config(sandbox, days=1, api_token=secret), tmp_path)
    assert result.returncode == 1
    assert "API Connect" in result.stderr
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout


def test_a_static_token_revoked_mid_run_stops_the_run(sandbox):
    def revoke_after_first_window(message):
        if message["type"] == "STATE":
            sandbox.revoke_token(STATIC_TOKEN)

    with pytest.raises(FatalResponseError, match="API Connect") as failed:
        run_tap(tap_config(sandbox, days=3), on_message=revoke_after_first_window)
    assert failed.value.tap_run.records
