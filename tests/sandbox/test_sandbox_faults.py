"""Fault injection: every mode, its determinism, where it applies, and the rate limit."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from tap_acefone.sandbox import Faults

from .conftest import AUTH, TOKEN, WIDE

THROTTLED = {"success": "false", "message": "Too Many Attempts."}


def _get(sb, path="/v1/call/records", **kwargs):
    kwargs.setdefault("timeout", 10)
    return requests.get(sb.url + path, headers=AUTH, params={**WIDE, "limit": 50}, **kwargs)


def test_fail_next_429_then_recovers(start_sandbox):
    sb = start_sandbox(faults=Faults(fail_next=["429", "429", "429"]))
    for _ in range(3):
        r = _get(sb)
        assert r.status_code == 429
        assert r.json() == THROTTLED
        assert r.headers["Retry-After"].isdigit()
        assert int(r.headers["Retry-After"]) >= 1
    assert _get(sb).status_code == 200
    stats = sb.stats()
    assert stats["rate_limited_429"] == 3
    assert stats["faults_injected"] == {"429": 3}
    assert stats["responses_by_status"] == {"429": 3, "200": 1}


def test_429_without_retry_after(start_sandbox):
    sb = start_sandbox(retry_after=False, faults=Faults(fail_next=["429"]))
    r = _get(sb)
    assert r.status_code == 429
    assert "Retry-After" not in r.headers


def test_gateway_errors_are_html_pages(start_sandbox):
    sb = start_sandbox(faults=Faults(fail_next=["502", "503", "504"]))
    for code, phrase in (
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
    ):
        r = _get(sb)
        assert r.status_code == code
        assert r.headers["Content-Type"].startswith("text/html")
        assert r.text.startswith(f"<html><head><title>{code} {phrase}</title>")
        with pytest.raises(requests.JSONDecodeError):
            r.json()
    sb.set_faults(Faults(fail_next=["5xx"]))
    assert _get(sb).status_code in (502, 503, 504)


def test_truncated_json_is_a_prefix_with_matching_length(start_sandbox):
    sb = start_sandbox(faults=Faults(fail_next=["truncated_json"]))
    cut = _get(sb)
    full = _get(sb)
    assert cut.status_code == full.status_code == 200
    assert int(cut.headers["Content-Length"]) == len(cut.content)
    assert 0 < len(cut.content) < len(full.content)
    assert full.content.startswith(cut.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    assert full.json()["size"] == 50


def test_invalid_json_is_a_200_html_page(start_sandbox):
    sb = start_sandbox(faults=Faults(fail_next=["invalid_json"]))
    r = _get(sb)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.JSONDecodeError):
        r.json()


def test_success_false_is_a_200_throttle_body(start_sandbox):
    sb = start_sandbox(faults=Faults(fail_next=["success_false"]))
    r = _get(sb)
    assert r.status_code == 200
    assert r.json() == THROTTLED


def test_reset_drops_the_connection(start_sandbox):
    sb = start_sandbox()
    with requests.Session() as s:
        s.headers.update(AUTH)
        assert (
            s.get(f"{sb.url}/v1/users", timeout=10).status_code == 200
        )  # warm a keep-alive connection
        sb.set_faults(Faults(fail_next=["reset"]))
        with pytest.raises(requests.ConnectionError):
            s.get(f"{sb.url}/v1/call/records", timeout=10)
        assert s.get(f"{sb.url}/v1/call/records", timeout=10).status_code == 200
    assert sb.stats()["faults_injected"] == {"reset": 1}


def test_slow_answers_trip_client_timeouts(start_sandbox):
    sb = start_sandbox(faults=Faults(fail_next=["slow"], slow_seconds=3.0))
    with pytest.raises(requests.ReadTimeout):
        _get(sb, timeout=0.3)
    assert _get(sb, timeout=5).status_code == 200
    assert sb.stats()["faults_injected"] == {"slow": 1}


def _signature(sb, n: int) -> list[tuple[int, str]]:
    out = []
    with requests.Session() as s:
        s.headers.update(AUTH)
        for _ in range(n):
            try:
                r = s.get(f"{sb.url}/v1/departments", timeout=10)
            except requests.ConnectionError:
                out.append((0, "reset"))
                continue
            try:
                kind = "json:" + str(r.json())[:20]
            except ValueError:
                kind = "text:" + r.text[:20]
            out.append((r.status_code, kind))
    return out


def test_random_faults_are_deterministic_per_seed(start_sandbox):
    faults = {
        "rate_429": 0.15,
        "rate_5xx": 0.15,
        "rate_truncated_json": 0.1,
        "rate_invalid_json": 0.1,
        "rate_success_false": 0.1,
        "rate_reset": 0.05,
    }
    a = _signature(start_sandbox(faults=Faults(seed=11, **faults)), 60)
    b = _signature(start_sandbox(faults=Faults(seed=11, **faults)), 60)
    c = _signature(start_sandbox(faults=Faults(seed=12, **faults)), 60)
    assert a == b
    assert a != c
    statuses = {status for status, _ in a}
    assert {0, 200, 429} <= statuses
    assert statuses & {502, 503, 504}
    kinds = {kind.split(":")[0] for _, kind in a}
    assert kinds == {"json", "text", "reset"}


def test_set_faults_restarts_the_sequence(start_sandbox):
    sb = start_sandbox()
    faults = Faults(seed=3, rate_429=0.5)
    sb.set_faults(faults)
    first = _signature(sb, 20)
    sb.set_faults(faults)
    assert _signature(sb, 20) == first
    assert {s for s, _ in first} == {200, 429}


def test_faults_skip_login_unless_asked(start_sandbox):
    sb = start_sandbox(faults=Faults(fail_next=["429"]))
    body = {"email": "ops@example.com", "password": "sandbox-password"}
    assert requests.post(f"{sb.url}/v1/auth/login", json=body, timeout=10).status_code == 200
    assert _get(sb).status_code == 429  # the queued fault waited for a data request
    sb.set_faults(Faults(fail_next=["429"], apply_to_login=True))
    assert requests.post(f"{sb.url}/v1/auth/login", json=body, timeout=10).status_code == 429


def test_admin_endpoints_are_never_faulted(start_sandbox):
    sb = start_sandbox(faults=Faults(rate_5xx=1.0))
    assert _get(sb, "/v1/users").status_code in (502, 503, 504)
    for _ in range(5):
        assert requests.get(f"{sb.url}/_sandbox/clock", timeout=10).status_code == 200
    assert requests.get(f"{sb.url}/_sandbox/stats", timeout=10).json()["requests_total"] == 1


def test_admin_faults_endpoint(start_sandbox):
    sb = start_sandbox()
    r = requests.post(
        f"{sb.url}/_sandbox/faults", json={"fail_next": ["success_false"]}, timeout=10
    )
    assert r.status_code == 200
    assert _get(sb).json() == THROTTLED
    assert (
        requests.post(f"{sb.url}/_sandbox/faults", json={"rate_bogus": 1}, timeout=10).status_code
        == 400
    )
    assert (
        requests.post(f"{sb.url}/_sandbox/faults", json={"rate_429": 2}, timeout=10).status_code
        == 400
    )
    assert (
        requests.post(
            f"{sb.url}/_sandbox/faults", json={"fail_next": ["nope"]}, timeout=10
        ).status_code
        == 400
    )
    assert requests.get(f"{sb.url}/_sandbox/faults", timeout=10).json()["fail_next"] == []


def test_faults_validate_their_rates():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(rate_429=1.5)
    with pytest.raises(ValueError, match="sum"):
        Faults(rate_429=0.6, rate_5xx=0.6)
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults(fail_next=["boom"])


def test_account_rate_limit(start_sandbox):
    sb = start_sandbox(rate_limit=1.0)
    with requests.Session() as s:
        s.headers["Authorization"] = TOKEN
        responses = [s.get(f"{sb.url}/v1/departments", timeout=10) for _ in range(6)]
    assert responses[0].status_code == 200
    limited = [r for r in responses if r.status_code == 429]
    assert len(limited) >= 3
    assert all(r.json() == THROTTLED and r.headers["Retry-After"] == "1" for r in limited)
    assert sb.stats()["rate_limited_429"] == len(limited)


def test_stats_count_requests_pages_and_concurrency(start_sandbox):
    sb = start_sandbox(latency=0.3)
    barrier = threading.Barrier(4)

    def call() -> None:
        barrier.wait()
        _get(sb)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    requests.get(f"{sb.url}/v1/nowhere", timeout=10)
    stats = sb.stats()
    assert stats["requests_total"] == 5
    assert stats["requests_by_path"] == {"/v1/call/records": 4, "/v1/nowhere": 1}
    assert stats["responses_by_status"] == {"200": 4, "403": 1}
    assert stats["pages_served"] == 4
    assert stats["records_served"] == 200
    assert stats["max_in_flight"] >= 2
    assert stats["in_flight"] == 0
    sb.reset_stats()
    assert sb.stats()["requests_total"] == 0
    assert requests.post(f"{sb.url}/_sandbox/stats/reset", timeout=10).json()["requests_total"] == 0
