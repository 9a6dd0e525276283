"""HTTP plumbing: API Gateway 403s, keep-alive, Content-Length, lifecycle, scale."""

from __future__ import annotations

import http.client
import time
from datetime import datetime, timezone

import pytest
import requests

from tap_acefone.sandbox import Sandbox, SandboxConfig

from .conftest import AUTH, make_config

GATEWAY_403 = {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/call-report"),
        ("GET", "/v1/call/records/"),
        ("POST", "/v1/call/records"),
        ("DELETE", "/v1/users"),
        ("GET", "/"),
        ("PUT", "/v2/broadcasts"),
        ("GET", "/v1/auth/login"),
    ],
)
def test_unknown_routes_get_the_gateway_403(shared, method, path):
    r = requests.request(method, shared.url + path, headers=AUTH, timeout=10)
    assert r.status_code == 403
    assert r.json() == GATEWAY_403


def test_keep_alive_and_content_length(shared):
    conn = http.client.HTTPConnection(shared.url.removeprefix("http://"), timeout=10)
    try:
        for path in ("/v1/call/records?limit=5", "/v1/nope", "/v1/users", "/v1/departments"):
            conn.request("GET", path, headers=AUTH)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.version == 11
            assert int(resp.getheader("Content-Length")) == len(body)
            assert resp.getheader("Connection") != "close"
        first_socket = conn.sock
        conn.request("GET", "/v1/ivrs", headers=AUTH)
        conn.getresponse().read()
        assert conn.sock is first_socket, "the connection was not kept alive"
        conn.request("HEAD", "/v1/departments", headers=AUTH)
        head = conn.getresponse()
        assert head.read() == b""
        assert int(head.getheader("Content-Length")) > 0
    finally:
        conn.close()


def test_admin_unknown_path_is_404(shared):
    assert requests.get(f"{shared.url}/_sandbox/nope", timeout=10).status_code == 404
    info = requests.get(f"{shared.url}/_sandbox/info", timeout=10).json()
    assert info["timezone"] == "Asia/Kolkata"
    assert info["first_day"] == "2026-03-08"


def test_stop_frees_the_port_and_closes_idle_connections():
    sb = Sandbox(make_config()).start()
    url = sb.url
    with requests.Session() as s:
        s.headers.update(AUTH)
        assert (
            s.get(f"{url}/v1/users", timeout=10).status_code == 200
        )  # leaves an idle keep-alive connection
        started = time.monotonic()
        sb.stop()
        assert time.monotonic() - started < 3
        with pytest.raises(requests.ConnectionError):
            s.get(f"{url}/v1/users", timeout=2)
    with pytest.raises(RuntimeError):
        _ = sb.url
    sb.stop()  # idempotent


def test_config_validation():
    with pytest.raises(ValueError, match="timezone"):
        SandboxConfig(timezone="Nowhere/Land")
    with pytest.raises(ValueError, match="timezone-aware"):
        SandboxConfig(now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="order"):
        SandboxConfig(order="random")
    with pytest.raises(ValueError, match="days"):
        SandboxConfig(days=0)
    with pytest.raises(ValueError, match="rate_limit"):
        SandboxConfig(rate_limit=0)


def test_a_million_calls_are_generated_lazily():
    start = time.perf_counter()
    sb = Sandbox(
        SandboxConfig(
            days=10, calls_per_day=100_000, now=datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
        )
    )
    assert sb.store.total_calls() > 1_000_000
    assert len(sb.store._days) == 0, "nothing is generated up front"
    assert time.perf_counter() - start < 2
    with sb, requests.Session() as s:
        s.headers.update(AUTH)
        params = {
            "from_date": "2026-03-09 11:00:00",
            "to_date": "2026-03-09 11:59:59",
            "limit": 100,
        }
        first = s.get(f"{sb.url}/v1/call/records", params=params, timeout=60).json()
        assert first["count"] > 5000
        assert first["size"] == 100
        second = s.get(f"{sb.url}/v1/call/records", params={**params, "page": 2}, timeout=60).json()
        assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert len(sb.store._days) == 1
