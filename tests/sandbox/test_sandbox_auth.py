"""Authentication: static tokens, header forms, login, refresh, expiry and revocation."""

from __future__ import annotations

from datetime import timedelta

import requests

from .conftest import TOKEN

BLACKLISTED = {"success": False, "message": "Deleted or blacklisted token provided"}


def _records(sb, headers):
    return requests.get(
        f"{sb.url}/v1/call/records", headers=headers, params={"limit": 1}, timeout=10
    )


def _login(sb, **body):
    return requests.post(f"{sb.url}/v1/auth/login", json=body, timeout=10)


def test_static_token_with_bearer_and_raw_header(shared):
    for header in (f"Bearer {TOKEN}", f"bearer {TOKEN}", TOKEN):
        r = _records(shared, {"Authorization": header})
        assert r.status_code == 200, header
        assert set(r.json()) == {"count", "limit", "size", "page", "results"}


def test_missing_or_unknown_token_is_401_blacklisted(shared):
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": ""},
        {"Authorization": "Bearer "},
    ):
        r = _records(shared, headers)
        assert r.status_code == 401
        assert r.json() == BLACKLISTED


def test_every_data_endpoint_requires_auth(shared):
    for path in ("/v1/call/records", "/v1/users", "/v1/departments", "/v1/ivrs", "/v1/my_number"):
        assert requests.get(shared.url + path, timeout=10).status_code == 401, path
        assert (
            requests.get(
                shared.url + path, headers={"Authorization": TOKEN}, timeout=10
            ).status_code
            == 200
        )


def test_login_success_shape_and_token_works(start_sandbox):
    sb = start_sandbox(token_lifetime=900)
    r = _login(sb, email="ops@example.com", password="sandbox-password")
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    token = body["access_token"]
    assert len(token) > 40
    assert _records(sb, {"Authorization": f"Bearer {token}"}).status_code == 200
    # Tokens are unguessable: two logins never return the same token.
    assert (
        _login(sb, email="ops@example.com", password="sandbox-password").json()["access_token"]
        != token
    )


def test_login_accepts_login_id_and_form_body(start_sandbox):
    sb = start_sandbox()
    assert _login(sb, login_id="ops@example.com", password="sandbox-password").status_code == 200
    r = requests.post(
        f"{sb.url}/v1/auth/login",
        data={"email": "ops@example.com", "password": "sandbox-password"},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.json()["success"] is True


def test_wrong_password_counts_failures(start_sandbox):
    sb = start_sandbox()
    for expected in (1, 2, 3):
        r = _login(sb, email="ops@example.com", password="wrong")
        assert r.status_code == 401
        assert r.json() == {
            "success": False,
            "message": "The username or password is incorrect.",
            "login_failed_count": expected,
        }
    assert _login(sb, email="ops@example.com", password="sandbox-password").status_code == 200
    assert _login(sb, email="ops@example.com", password="wrong").json()["login_failed_count"] == 1
    assert _login(sb, email="nobody@example.com", password="sandbox-password").status_code == 401
    assert _login(sb).status_code == 401


def test_custom_logins_and_tokens(start_sandbox):
    sb = start_sandbox(logins={"a@b.c": "pw"}, api_tokens=("t1", "t2"))
    assert _login(sb, email="a@b.c", password="pw").status_code == 200
    assert _login(sb, email="ops@example.com", password="sandbox-password").status_code == 401
    assert _records(sb, {"Authorization": "Bearer t2"}).status_code == 200
    assert _records(sb, {"Authorization": f"Bearer {TOKEN}"}).status_code == 401


def test_refresh_issues_new_token_and_kills_old(start_sandbox):
    sb = start_sandbox()
    old = _login(sb, email="ops@example.com", password="sandbox-password").json()["access_token"]
    r = requests.post(f"{sb.url}/v1/auth/refresh", headers={"Authorization": old}, timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    new = body["access_token"]
    assert new != old
    assert _records(sb, {"Authorization": f"Bearer {new}"}).status_code == 200
    assert _records(sb, {"Authorization": f"Bearer {old}"}).json() == BLACKLISTED
    again = requests.post(
        f"{sb.url}/v1/auth/refresh", headers={"Authorization": f"Bearer {old}"}, timeout=10
    )
    assert again.status_code == 401


def test_login_token_expires_with_the_virtual_clock(start_sandbox):
    sb = start_sandbox(token_lifetime=3600)
    token = _login(sb, email="ops@example.com", password="sandbox-password").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    sb.clock.advance(timedelta(seconds=3599))
    assert _records(sb, headers).status_code == 200
    sb.clock.advance(timedelta(seconds=1))
    r = _records(sb, headers)
    assert r.status_code == 401
    assert r.json() == {"success": False, "message": "Token has expired"}
    refresh = requests.post(f"{sb.url}/v1/auth/refresh", headers=headers, timeout=10)
    assert refresh.status_code == 401
    # Static tokens do not expire.
    assert _records(sb, {"Authorization": TOKEN}).status_code == 200


def test_revoked_tokens_are_blacklisted(start_sandbox):
    sb = start_sandbox(api_tokens=("keep", "drop", "drop-by-http"))
    sb.revoke_token("drop")
    assert _records(sb, {"Authorization": "Bearer drop"}).json() == BLACKLISTED
    r = requests.post(f"{sb.url}/_sandbox/revoke", json={"token": "drop-by-http"}, timeout=10)
    assert r.status_code == 200
    assert _records(sb, {"Authorization": "Bearer drop-by-http"}).status_code == 401
    assert _records(sb, {"Authorization": "Bearer keep"}).status_code == 200
    login = _login(sb, email="ops@example.com", password="sandbox-password").json()["access_token"]
    sb.revoke_token(login)
    assert _records(sb, {"Authorization": login}).json() == BLACKLISTED
