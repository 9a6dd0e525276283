"""The API's bad days: every fault either heals through retries or fails the run in one line.

Each case ends in one of two outcomes only: the sync completes and its records reconcile
exactly with the sandbox's ground truth, or the tap exits non-zero with one error line that
names what failed. The subprocess timeout in `run_cli` bounds every case: a hang or an
endless retry loop fails the test. Every run is also searched for the suite's secrets.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tap_acefone.sandbox import Faults
from tests.faults.support import (
    SPARE_TOKEN,
    STATIC_TOKEN,
    assert_fails_cleanly,
    assert_reconciles,
    assert_rerun_bounds,
    fault_config,
    login_tokens,
    run_cli,
    secret_sandbox,
)
from tests.truth import truth_in


def _first_bookmark(message) -> bool:
    """A STATE message carrying a call_records bookmark: the first window is complete."""
    return message["type"] == "STATE" and bool(
        message["value"].get("bookmarks", {}).get("call_records", {}).get("replication_key_value")
    )


# The per-request fault draw is seeded (request n gets draw n), so each storm below is the
# same on every run. The seeds are picked so that about 3 of the first 12 requests fail, the
# first one included, and no two in a row (the mixed storm: 6 of the first 20, at most two in
# a row): enough to prove recovery while keeping backoff, and the test, short. Long runs of
# failures are the persistent-storm tests' job.
MIXED = dict.fromkeys(
    (
        "rate_429",
        "rate_5xx",
        "rate_truncated_json",
        "rate_invalid_json",
        "rate_success_false",
        "rate_reset",
        "rate_slow",
    ),
    0.06,
)

# name -> (sandbox knobs, Faults, tap overrides)
STORMS = {
    "429 with Retry-After": ({}, Faults(seed=72, rate_429=0.3), {}),
    "429 without Retry-After": ({"retry_after": False}, Faults(seed=89, rate_429=0.3), {}),
    "account rate limit, Retry-After": ({"rate_limit": 4}, Faults(), {}),
    "account rate limit, no Retry-After": ({"rate_limit": 4, "retry_after": False}, Faults(), {}),
    "5xx HTML gateway pages": ({}, Faults(seed=100, rate_5xx=0.3), {}),
    "truncated JSON": ({}, Faults(seed=72, rate_truncated_json=0.3), {}),
    "HTML page with HTTP 200": ({}, Faults(seed=89, rate_invalid_json=0.3), {}),
    "success false with HTTP 200": ({}, Faults(seed=100, rate_success_false=0.3), {}),
    "connection resets": ({}, Faults(seed=72, rate_reset=0.3), {}),
    "slower than request_timeout": (
        {},
        Faults(seed=37, rate_slow=0.25, slow_seconds=3),
        {"request_timeout": 1},
    ),
    # All seven kinds within the first 20 requests, six requests hit.
    "all kinds mixed": ({}, Faults(seed=39, slow_seconds=3, **MIXED), {"request_timeout": 1}),
}


@pytest.mark.parametrize("name", list(STORMS))
def test_a_storm_is_ridden_out_and_nothing_is_lost(make_sandbox, tmp_path, name):
    knobs, faults, overrides = STORMS[name]
    sandbox = secret_sandbox(make_sandbox, days=2, **knobs)
    sandbox.set_faults(faults)
    config = fault_config(sandbox, hours=12, window_hours=3, **overrides)
    run = run_cli(config, tmp_path)
    assert_reconciles(run, sandbox, config)
    stats = sandbox.stats()
    hits = stats["rate_limited_429"] + sum(stats["faults_injected"].values())
    assert hits >= 2, f"the storm hit {hits} requests; the test proves little: {stats}"
    assert "again in" in run.stderr  # the retries were logged


def test_a_login_through_a_storm_on_every_endpoint(make_sandbox, tmp_path):
    """Logged at DEBUG level, so the secret scan also covers the most verbose logs."""
    sandbox = secret_sandbox(make_sandbox, days=2)
    sandbox.set_faults(Faults(seed=39, apply_to_login=True, **{**MIXED, "rate_slow": 0}))
    config = fault_config(sandbox, hours=12, window_hours=3, login=True)
    run = run_cli(config, tmp_path, env={"TAP_ACEFONE_LOGLEVEL": "DEBUG"})
    assert "| DEBUG" in run.stderr
    assert_reconciles(run, sandbox, config)  # includes the secret scan
    assert login_tokens(sandbox), "the run logged in"
    assert "POST /v1/auth/login: could not log in" in run.stderr  # the login was faulted


# kind -> (Faults that never let a request through, tap overrides, the reason in the line)
PERSISTENT = {
    "429 with Retry-After": (Faults(rate_429=1.0), {}, "HTTP 429 rate limited"),
    "5xx": (Faults(rate_5xx=1.0), {}, "HTML error page"),
    "truncated JSON": (Faults(rate_truncated_json=1.0), {}, "body that is not JSON"),
    "HTML page with HTTP 200": (Faults(rate_invalid_json=1.0), {}, "body that is not JSON"),
    "success false with HTTP 200": (Faults(rate_success_false=1.0), {}, "success=false"),
    "connection resets": (Faults(rate_reset=1.0), {}, "connection failed or was reset"),
    "slower than request_timeout": (
        Faults(rate_slow=1.0, slow_seconds=3),
        {"request_timeout": 1},
        "timed out",
    ),
}


@pytest.mark.parametrize("kind", list(PERSISTENT))
def test_a_storm_that_outlasts_max_tries_fails_in_one_line_and_the_rerun_resumes(
    make_sandbox, tmp_path, kind
):
    """The storm starts after the first completed window and never ends: the run stops
    after max_tries with one line naming the request and the failure; once the API
    recovers, a rerun from the last STATE delivers the rest."""
    faults, overrides, reason = PERSISTENT[kind]
    sandbox = secret_sandbox(make_sandbox, days=2, latency=0.03)
    config = fault_config(sandbox, hours=12, window_hours=3, max_tries=2, **overrides)

    def storm_after_first_window(message, control):
        if _first_bookmark(message):
            sandbox.set_faults(faults)

    failed = run_cli(config, tmp_path / "storm", on_message=storm_after_first_window)
    line = assert_fails_cleanly(failed, sandbox, "failed 2 times in a row", reason)
    assert line.startswith("GET /v1/"), line
    assert failed.bookmark, "the storm began after the first window"

    sandbox.set_faults(Faults())
    resumed = run_cli(config, tmp_path / "rerun", state=failed.last_state)
    assert_reconciles(resumed, sandbox, config, earlier=failed.records)
    assert_rerun_bounds(failed.ids, resumed.records, failed.bookmark, config)


def test_a_login_storm_that_outlasts_max_tries_fails_in_one_line(make_sandbox, tmp_path):
    sandbox = secret_sandbox(make_sandbox, days=2)
    sandbox.set_faults(Faults(rate_429=1.0, apply_to_login=True))
    config = fault_config(sandbox, hours=12, login=True, max_tries=3)
    run = run_cli(config, tmp_path)
    assert_fails_cleanly(run, sandbox, "POST /v1/auth/login failed 3 times in a row", "429")
    assert sandbox.stats()["requests_by_path"]["/v1/auth/login"] == 3


def test_403_on_the_endpoint_fails_in_one_line(secret_sb, tmp_path):
    config = fault_config(secret_sb, api_url=secret_sb.url + "/wrong")
    run = run_cli(config, tmp_path)
    assert_fails_cleanly(run, secret_sb, "HTTP 403", "Access Control")
    assert not run.records


def test_a_wrong_static_token_fails_in_one_line(secret_sb, tmp_path):
    wrong = "tok_FAULTSUITE_WRONG_71c2e9"
    run = run_cli(fault_config(secret_sb, api_token=wrong), tmp_path)
    assert_fails_cleanly(run, secret_sb, "refused api_token (HTTP 401)", "API Connect")
    assert wrong not in run.stdout + run.stderr


def test_a_wrong_password_fails_in_one_line_without_retrying(secret_sb, tmp_path):
    wrong = "pw_FAULTSUITE_WRONG_0d8e1f"
    run = run_cli(fault_config(secret_sb, login=True, password=wrong), tmp_path)
    assert_fails_cleanly(run, secret_sb, "Could not log in as")
    assert wrong not in run.stdout + run.stderr
    assert secret_sb.stats()["requests_by_path"]["/v1/auth/login"] == 1


def test_a_static_token_revoked_mid_run_fails_in_one_line_and_a_new_token_resumes(
    make_sandbox, tmp_path
):
    sandbox = secret_sandbox(make_sandbox, days=2, latency=0.03)
    config = fault_config(sandbox, hours=12, window_hours=3)

    def revoke_after_first_window(message, control):
        if _first_bookmark(message):
            sandbox.revoke_token(STATIC_TOKEN)

    failed = run_cli(config, tmp_path / "revoked", on_message=revoke_after_first_window)
    assert_fails_cleanly(failed, sandbox, "refused api_token (HTTP 401)", "API Connect")
    assert failed.records
    assert failed.bookmark

    config_2 = {**config, "api_token": SPARE_TOKEN}
    resumed = run_cli(config_2, tmp_path / "new-token", state=failed.last_state)
    assert_reconciles(resumed, sandbox, config, earlier=failed.records)
    assert_rerun_bounds(failed.ids, resumed.records, failed.bookmark, config)


def test_a_login_token_expiring_mid_run_is_renewed_and_nothing_is_lost(make_sandbox, tmp_path):
    sandbox = secret_sandbox(make_sandbox, days=2, latency=0.03, token_lifetime=600)
    config = fault_config(sandbox, hours=12, window_hours=3, login=True)
    versions_before = {r.record["id"]: r.version for r in truth_in(sandbox, config)}

    expired = []

    def expire_after_first_window(message, control):
        if _first_bookmark(message) and not expired:
            expired.append(True)
            sandbox.clock.advance(timedelta(seconds=601))

    run = run_cli(config, tmp_path, on_message=expire_after_first_window)
    # The clock moved, but not the truth of the (settled) range: reconciliation stays exact.
    assert {r.record["id"]: r.version for r in truth_in(sandbox, config)} == versions_before
    assert_reconciles(run, sandbox, config)
    stats = sandbox.stats()
    assert stats["responses_by_status"].get("401", 0) >= 1, "a request met the expired token"
    assert stats["requests_by_path"]["/v1/auth/login"] == 2


def test_a_login_token_revoked_mid_run_is_replaced_by_a_new_login(make_sandbox, tmp_path):
    sandbox = secret_sandbox(make_sandbox, days=2, latency=0.03)
    config = fault_config(sandbox, hours=12, window_hours=3, login=True)

    revoked = []

    def revoke_login_token(message, control):
        if _first_bookmark(message) and not revoked:
            revoked.append(True)
            for token in login_tokens(sandbox):
                sandbox.revoke_token(token)

    run = run_cli(config, tmp_path, on_message=revoke_login_token)
    assert_reconciles(run, sandbox, config)
    assert sandbox.stats()["requests_by_path"]["/v1/auth/login"] == 2
