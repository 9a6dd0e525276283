"""Login tokens over their whole life, against the sandbox's own token clock and answers.

The authenticator's clock is the sandbox's, so "expired" means what the API says it means:
a token used past its lifetime gets the sandbox's 401, whatever the tap believed.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
import requests

from tap_acefone.auth import DEFAULT_LIFETIME_SECONDS, RENEW_MARGIN_SECONDS, LoginAuthenticator
from tap_acefone.errors import FatalResponseError, TransientResponseError
from tap_acefone.sandbox import Faults
from tests.taprun import LOGIN_EMAIL, LOGIN_PASSWORD, run_tap, tap_config
from tests.truth import assert_matches_truth, truth_in


class Client:
    """A LoginAuthenticator talking HTTP to the sandbox, on the sandbox's clock.

    `rewrite` edits the JSON of each real login/refresh answer before the authenticator
    reads it: the shapes another API build might send, on top of a real token.
    """

    def __init__(self, sandbox, rewrite=None, password=LOGIN_PASSWORD):
        self.sandbox = sandbox
        self.session = requests.Session()
        self.rewrite = rewrite
        start = sandbox.clock.timestamp()
        self.auth = LoginAuthenticator(
            email=LOGIN_EMAIL,
            password=password,
            post=self._post,
            retry=lambda func, what: func(),
            clock=lambda: sandbox.clock.timestamp() - start,
        )

    def _post(self, path, payload, headers):
        response = self.session.post(
            self.sandbox.url + path, json=payload, headers=headers, timeout=10
        )
        if self.rewrite is not None and response.status_code == 200:
            body = self.rewrite(response.json())
            response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return response

    def get(self, token):
        """A call-records request with `token`; its HTTP status."""
        headers = {"Authorization": f"Bearer {token}"}
        url = self.sandbox.url + "/v1/call/records"
        return self.session.get(url, headers=headers, timeout=10).status_code

    def advance(self, seconds):
        self.sandbox.clock.advance(timedelta(seconds=seconds))


def login_config(sandbox, **overrides):
    settings = {"api_token": None, "email": LOGIN_EMAIL, "password": LOGIN_PASSWORD}
    return tap_config(sandbox, days=1, **{**settings, **overrides})


@pytest.mark.parametrize("lifetime", [120, 600, 3600, 7200])
def test_a_token_serves_until_the_margin_then_is_refreshed_before_it_expires(
    make_sandbox, lifetime
):
    """Every request carries a token the API accepts, one login for the whole time, and no
    token is thrown away before `RENEW_MARGIN_SECONDS` of its end (half its life, if short)."""
    sandbox = make_sandbox(token_lifetime=lifetime)
    client = Client(sandbox)
    step = min(lifetime / 10, 60)
    changes, token, elapsed = [0.0], client.auth.current_token(), 0.0
    while elapsed < 2.5 * lifetime:
        client.advance(step)
        elapsed += step
        current = client.auth.current_token()
        assert client.get(current) == 200, f"token refused {elapsed} s in"
        if current != token:
            changes.append(elapsed)
            token = current
    stats = sandbox.stats()["requests_by_path"]
    assert stats["/v1/auth/login"] == 1
    assert stats["/v1/auth/refresh"] == len(changes) - 1 >= 2
    kept = max(lifetime - RENEW_MARGIN_SECONDS, lifetime / 2)
    ages = [b - a for a, b in itertools.pairwise(changes)]
    assert all(kept <= age < kept + step + 1e-6 for age in ages), (kept, ages)
    assert client.auth.granted_seconds == lifetime


@pytest.mark.parametrize(
    ("expires_in", "lifetime", "granted"),
    [
        (900, 900, 900),
        ("900", 900, 900),
        (None, DEFAULT_LIFETIME_SECONDS, None),
        (0, DEFAULT_LIFETIME_SECONDS, DEFAULT_LIFETIME_SECONDS),
        (-5, DEFAULT_LIFETIME_SECONDS, DEFAULT_LIFETIME_SECONDS),
        ("soon", DEFAULT_LIFETIME_SECONDS, DEFAULT_LIFETIME_SECONDS),
    ],
)
def test_the_lifetime_the_login_answer_states_decides_the_renewal(
    make_sandbox, expires_in, lifetime, granted
):
    """`expires_in` as a number or numeric text is trusted; missing or unusable, an hour."""
    sandbox = make_sandbox(token_lifetime=7200)

    def stated(body):
        body.pop("expires_in")
        return body if expires_in is None else {**body, "expires_in": expires_in}

    client = Client(sandbox, rewrite=stated)
    first = client.auth.current_token()
    renew_at = max(lifetime - RENEW_MARGIN_SECONDS, lifetime / 2)
    client.advance(renew_at - 1)
    assert client.auth.current_token() == first
    client.advance(1)
    assert client.auth.current_token() != first
    assert sandbox.stats()["requests_by_path"]["/v1/auth/refresh"] == 1
    assert client.auth.granted_seconds == granted


@pytest.mark.parametrize(
    "answer",
    [
        {"success": True, "token_type": "bearer", "expires_in": 3600},
        {"success": True, "access_token": "", "expires_in": 3600},
        {"success": True, "access_token": 12345, "expires_in": 3600},
        {"success": True, "access_token": None},
    ],
)
def test_a_login_answer_without_a_usable_token_is_a_clear_failure(sandbox, answer):
    client = Client(sandbox, rewrite=lambda body: answer)
    refused = rf"Could not log in as {LOGIN_EMAIL} \(HTTP 200\)"
    with pytest.raises(FatalResponseError, match=refused):
        client.auth.current_token()


def test_a_refused_password_names_the_apis_message_and_is_not_retried(sandbox):
    client = Client(sandbox, password="not-the-password")
    with pytest.raises(FatalResponseError) as failure:
        client.auth.current_token()
    assert str(failure.value).startswith(f"Could not log in as {LOGIN_EMAIL} (HTTP 401: ")
    assert "not-the-password" not in str(failure.value)
    assert not isinstance(failure.value, TransientResponseError)


def test_a_refresh_the_api_refuses_falls_back_to_a_login(sandbox):
    client = Client(sandbox)
    first = client.auth.current_token()
    sandbox.revoke_token(first)
    client.advance(3600 - RENEW_MARGIN_SECONDS)
    second = client.auth.current_token()
    assert second != first
    assert client.get(second) == 200
    stats = sandbox.stats()["requests_by_path"]
    assert (stats["/v1/auth/refresh"], stats["/v1/auth/login"]) == (1, 2)


def test_renew_reports_whether_the_refresh_worked(sandbox):
    client = Client(sandbox)
    assert client.auth.renew() is True  # logs in first, then refreshes
    sandbox.revoke_token(client.auth.current_token())
    assert client.auth.renew() is False  # refused: logged in again instead
    assert client.get(client.auth.current_token()) == 200
    stats = sandbox.stats()["requests_by_path"]
    assert (stats["/v1/auth/refresh"], stats["/v1/auth/login"]) == (2, 2)


@pytest.mark.parametrize(("fault", "server_wait"), [("429", 1.0), ("success_false", None)])
def test_a_rate_limited_login_slows_the_pacer_and_waits_what_the_server_asked(
    sandbox, pacer_events, fault, server_wait, caplog
):
    """A login refused for throttling is a 429 like any other: the pacer slows down, holds
    every request for the server's `Retry-After` (the sandbox sends 1 s), then logs in."""
    sandbox.set_faults(Faults(apply_to_login=True, fail_next=[fault]))
    config = login_config(sandbox)
    run = run_tap(config)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    status = "429" if fault == "429" else "200"
    said = f"POST /v1/auth/login: could not log in: HTTP {status}; try 2 of 8 again in "
    assert warning.startswith(said)
    if server_wait is not None:
        assert warning == f"{said}{server_wait:.1f} s"
    assert_matches_truth(run.records, truth_in(sandbox, config))
    assert sandbox.stats()["requests_by_path"]["/v1/auth/login"] == 2
    holds = [(t, wait) for t, what, wait in pacer_events if what == "429"]
    assert [wait for _, wait in holds] == [server_wait]
    told = holds[0][0]
    later = [t for t, what, _ in pacer_events if what == "start" and t > told]
    assert later, "the login was not tried again"
    assert later[0] >= told + (server_wait or 0.0)


def test_an_unusable_login_lifetime_is_never_infinite(make_sandbox):
    """`expires_in: 1e999` (infinity to a JSON parser) must not keep a token forever."""
    sandbox = make_sandbox(token_lifetime=7200)

    def infinite(body):
        text = json.dumps({**body, "expires_in": 0})
        return text.replace('"expires_in": 0', '"expires_in": 1e999')

    client = Client(sandbox, rewrite=lambda body: infinite(body).encode())
    first = client.auth.current_token()
    client.advance(7200)
    assert client.auth.current_token() != first
