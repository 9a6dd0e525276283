"""Static tokens, the login flow, token renewal and refusal, against the sandbox over HTTP."""

from __future__ import annotations

from datetime import timedelta

import requests

from tap_acefone.auth import LoginAuthenticator, bearer_value
from tests.taprun import (
    LOGIN_EMAIL,
    LOGIN_PASSWORD,
    STATIC_TOKEN,
    run_tap,
    run_tap_cli,
    tap_config,
)
from tests.truth import assert_matches_truth, truth_in


def login_config(sandbox, **overrides):
    settings = {"api_token": None, "email": LOGIN_EMAIL, "password": LOGIN_PASSWORD}
    return tap_config(sandbox, days=2, **{**settings, **overrides})


def test_login_flow_delivers_everything(sandbox):
    config = login_config(sandbox)
    run = run_tap(config)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    assert sandbox.stats()["requests_by_path"]["/v1/auth/login"] == 1


def test_a_pasted_bearer_prefix_is_tolerated(sandbox):
    config = tap_config(sandbox, days=1, api_token=f"Bearer {STATIC_TOKEN} ")
    assert run_tap(config).records


def test_a_login_token_expiring_mid_run_is_renewed_once(sandbox):
    config = login_config(sandbox)
    expected = truth_in(sandbox, config)

    def expire_tokens_after_first_window(message):
        if message["type"] == "STATE" and not expire_tokens_after_first_window.done:
            expire_tokens_after_first_window.done = True
            sandbox.clock.advance(timedelta(hours=2))

    expire_tokens_after_first_window.done = False
    run = run_tap(config, on_message=expire_tokens_after_first_window)
    assert {row.record["id"] for row in expected} <= set(run.ids)
    stats = sandbox.stats()
    assert stats["requests_by_path"]["/v1/auth/login"] == 2
    assert stats["responses_by_status"]["401"] >= 1


def test_a_wrong_password_fails_once_without_retrying(sandbox, tmp_path):
    secret = "wrong-password-4242"
    result = run_tap_cli(login_config(sandbox, password=secret), tmp_path)
    assert result.returncode == 1
    assert f"Could not log in as {LOGIN_EMAIL}" in result.stderr
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout
    assert sandbox.stats()["requests_by_path"]["/v1/auth/login"] == 1


def test_refresh_replaces_the_token_before_it_expires(sandbox):
    session = requests.Session()
    moments = {"now": 0.0}

    def post(path, payload, headers):
        return session.post(sandbox.url + path, json=payload, headers=headers, timeout=10)

    auth = LoginAuthenticator(
        email=LOGIN_EMAIL,
        password=LOGIN_PASSWORD,
        post=post,
        retry=lambda func, what: func(),
        clock=lambda: moments["now"],
    )
    first = auth.current_token()
    moments["now"] = 3600 - 60  # inside the renewal margin
    second = auth.current_token()
    assert second != first

    def calls_with(token):
        headers = {"Authorization": bearer_value(token)}
        return session.get(sandbox.url + "/v1/call/records", headers=headers, timeout=10)

    assert calls_with(second).status_code == 200
    assert calls_with(first).status_code == 401
    assert sandbox.stats()["requests_by_path"]["/v1/auth/refresh"] == 1
