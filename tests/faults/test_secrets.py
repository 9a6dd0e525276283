"""Secrets never leave the tap: not in logs, STATE, records, error lines or exceptions.

Every CLI run of the fault suite already goes through `support.assert_no_secrets` (the static
token, the spare token, the password and every login token the sandbox issued, whole and by
JWT segment, searched in all of stdout and stderr). This module adds what those runs do not
cover: fatal faults at DEBUG log level (the login storm of test_fault_storms.py runs at DEBUG
too), the exceptions an embedding program would see, and `recording_url_mode`, whose URLs
carry an access token of their own.
"""

from __future__ import annotations

import traceback

import pytest

from tap_acefone.errors import AcefoneError
from tap_acefone.sandbox import Faults
from tests.faults.support import (
    STATIC_TOKEN,
    assert_fails_cleanly,
    assert_no_recording_tokens,
    fault_config,
    find_leaks,
    recording_tokens,
    run_cli,
    secret_sandbox,
)
from tests.taprun import run_tap
from tests.truth import truth_in

DEBUG = {"TAP_ACEFONE_LOGLEVEL": "DEBUG"}


def test_a_revoked_token_at_debug_level_prints_no_secret(make_sandbox, tmp_path):
    sandbox = secret_sandbox(make_sandbox, days=2, latency=0.02)
    config = fault_config(sandbox, hours=12, window_hours=3)

    def revoke(message, control):
        if message["type"] == "STATE":
            sandbox.revoke_token(STATIC_TOKEN)

    run = run_cli(config, tmp_path, on_message=revoke, env=DEBUG)
    assert "| DEBUG" in run.stderr
    assert_fails_cleanly(run, sandbox, "refused api_token")


def test_a_refused_password_at_debug_level_prints_no_secret(secret_sb, tmp_path):
    run = run_cli(
        fault_config(secret_sb, login=True, password="pw_FAULTSUITE_WRONG_51aa"),
        tmp_path,
        env=DEBUG,
    )
    assert_fails_cleanly(run, secret_sb, "Could not log in")
    assert "pw_FAULTSUITE_WRONG_51aa" not in run.stdout + run.stderr


def _exception_text(exc: BaseException) -> str:
    """Everything a caller could print of an exception: message, repr, traceback, causes."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    seen = exc
    while (seen := seen.__cause__ or seen.__context__) is not None:
        parts += [str(seen), repr(seen)]
    return "\n".join(parts)


@pytest.mark.parametrize(
    "case", ["revoked static token", "wrong password", "login storm", "403", "persistent 5xx"]
)
def test_exceptions_raised_to_an_embedding_program_hold_no_secret(make_sandbox, case):
    sandbox = secret_sandbox(make_sandbox, days=2)
    login = case in ("wrong password", "login storm")
    config = fault_config(sandbox, hours=6, login=login, max_tries=2)
    on_message = None
    if case == "revoked static token":

        def on_message(message):
            if message["type"] == "STATE":
                sandbox.revoke_token(STATIC_TOKEN)

    elif case == "wrong password":
        config["password"] = "pw_FAULTSUITE_WRONG_c0ffee"
    elif case == "login storm":
        sandbox.set_faults(Faults(rate_5xx=1.0, apply_to_login=True))
    elif case == "403":
        config["api_url"] = sandbox.url + "/nope"
    else:
        sandbox.set_faults(Faults(rate_5xx=1.0))

    with pytest.raises(AcefoneError) as raised:
        run_tap(config, on_message=on_message)
    text = _exception_text(raised.value)
    assert not find_leaks({"exception": text}, sandbox), text
    assert "pw_FAULTSUITE_WRONG_c0ffee" not in text


@pytest.mark.parametrize("mode", ["strip_token", "drop"])
def test_recording_url_modes_leave_no_recording_token_in_the_output(secret_sb, tmp_path, mode):
    config = fault_config(secret_sb, hours=12, window_hours=6, recording_url_mode=mode)
    run = run_cli(config, tmp_path)
    assert run.returncode == 0, run.describe()
    truth = truth_in(secret_sb, config)
    assert_no_recording_tokens(run.stdout + run.stderr, recording_tokens(truth))
    urls = [r["recording_url"] for r in run.records]
    if mode == "drop":
        assert set(urls) == {None}
    else:
        expected = sum(1 for row in truth if row.record.get("recording_url"))
        assert sum(1 for url in urls if url) == expected, "stripped URLs are kept"
        assert all(url.startswith("https://") and "callId=" in url for url in urls if url)
        assert all(r["has_recording"] == bool(r["recording_url"]) for r in run.records)


def test_keep_mode_is_the_control_the_tokens_are_there(secret_sb, tmp_path):
    config = fault_config(secret_sb, hours=12, window_hours=6)
    run = run_cli(config, tmp_path)
    tokens = recording_tokens(truth_in(secret_sb, config))
    assert tokens
    assert all(token in run.stdout for token in tokens)
