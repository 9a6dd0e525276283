"""Limiter kinds, Laravel's headers, 429 causes, arrival counts and jitter, on a manual clock.

Every test drives real time by hand (``ManualTime``): a request "arrives" at the reading the
test set, the server's waits advance it, and nothing sleeps.
"""

from __future__ import annotations

import pytest
import requests

from tap_acefone.sandbox import Faults, ManualTime

from .conftest import AUTH

EPOCH = 1_773_144_000  # ManualTime's epoch at reading 1000.0: a whole minute


@pytest.fixture
def clock() -> ManualTime:
    return ManualTime(start=1000.0, epoch=float(EPOCH))


def _at(sb, clock: ManualTime, reading: float, path: str = "/v1/departments"):
    clock.set(reading)
    if path.startswith("/v1/auth/"):
        body = {"email": "ops@example.com", "password": "sandbox-password"}
        return requests.post(sb.url + path, json=body, timeout=10)
    return requests.get(sb.url + path, headers=AUTH, timeout=10)


def _statuses(sb, clock, readings, path="/v1/departments"):
    return [_at(sb, clock, t, path).status_code for t in readings]


def test_sliding_window_refuses_the_extra_arrival_in_any_second(start_sandbox, clock):
    sb = start_sandbox(realtime=clock, rate_limit=3, rate_limit_kind="sliding_window")
    readings = [1000.25, 1000.5, 1000.75, 1001.125, 1001.25, 1001.375, 1002.25]
    assert _statuses(sb, clock, readings) == [200, 200, 200, 429, 200, 429, 200]
    stats = sb.stats()
    assert stats["rate_limited_by_cause"] == {"limiter": 2, "fault": 0}
    # (1000.375, 1001.375] saw five arrivals, the two refused ones included.
    assert stats["max_arrivals_in_any_second"] == 5


def test_fixed_window_resets_at_the_calendar_second(start_sandbox, clock):
    sb = start_sandbox(realtime=clock, rate_limit=3, rate_limit_kind="fixed_window")
    # The same arrivals the sliding window refuses twice pass here: 1001.125 opens a new second.
    readings = [1000.25, 1000.5, 1000.75, 1001.125, 1001.25, 1001.375, 1001.875, 1002.0]
    assert _statuses(sb, clock, readings) == [200, 200, 200, 200, 200, 200, 429, 200]


def test_token_bucket_refills_continuously(start_sandbox, clock):
    sb = start_sandbox(realtime=clock, rate_limit=2)
    assert sb.config.rate_limit_kind == "token_bucket"
    readings = [1000.0, 1000.0, 1000.0, 1000.5, 1000.5, 1001.5, 1001.5, 1001.5]
    assert _statuses(sb, clock, readings) == [200, 200, 429, 200, 429, 200, 200, 429]


@pytest.mark.parametrize(
    "case",
    [("fixed_window", 1040.0, "20", 1060.0), ("sliding_window", 1065.0, "5", 1070.0)],
    ids=["fixed", "sliding"],
)
def test_minute_period(start_sandbox, clock, case):
    kind, refused_at, retry_after, open_at = case
    sb = start_sandbox(
        realtime=clock, rate_limit=0.05, rate_limit_kind=kind, rate_limit_period="minute"
    )
    assert sb.config.rate_limit_window == (3, 60)
    assert _statuses(sb, clock, [1010.0, 1020.0, 1030.0]) == [200, 200, 200]
    refused = _at(sb, clock, refused_at)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == retry_after
    assert _at(sb, clock, open_at - 0.5).status_code == 429
    assert _at(sb, clock, open_at).status_code == 200


def test_laravel_headers(start_sandbox, clock):
    sb = start_sandbox(
        realtime=clock, rate_limit=3, rate_limit_kind="sliding_window", rate_limit_headers=True
    )
    seen = []
    for reading in (1000.25, 1000.5, 1000.75):
        r = _at(sb, clock, reading)
        assert r.status_code == 200
        assert "Retry-After" not in r.headers
        assert "X-RateLimit-Reset" not in r.headers
        seen.append((r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]))
    assert seen == [("3", "2"), ("3", "1"), ("3", "0")]
    r = _at(sb, clock, 1001.125)  # the window frees up at 1001.25
    assert r.status_code == 429
    assert r.json() == {"success": "false", "message": "Too Many Attempts."}
    rate_headers = [(k, v) for k, v in r.headers.items() if k.startswith(("X-Rate", "Retry"))]
    assert rate_headers == [
        ("X-RateLimit-Limit", "3"),
        ("X-RateLimit-Remaining", "0"),
        ("Retry-After", "1"),
        ("X-RateLimit-Reset", str(EPOCH + 2)),  # ceil(epoch of 1001.25)
    ]
    # Every /v1 route carries them: login, records, and a 401.
    assert _at(sb, clock, 1002.0, "/v1/auth/login").headers["X-RateLimit-Remaining"] == "2"
    assert _at(sb, clock, 1002.0, "/v1/call/records").headers["X-RateLimit-Remaining"] == "1"
    clock.set(1002.0)
    denied = requests.get(f"{sb.url}/v1/users", headers={"Authorization": "nope"}, timeout=10)
    assert denied.status_code == 401
    assert denied.headers["X-RateLimit-Remaining"] == "0"


def test_reset_header_without_retry_after(start_sandbox, clock):
    sb = start_sandbox(
        realtime=clock,
        rate_limit=1,
        rate_limit_kind="fixed_window",
        rate_limit_headers=True,
        retry_after=False,
    )
    assert _at(sb, clock, 1000.5).status_code == 200
    r = _at(sb, clock, 1000.75)
    assert r.status_code == 429
    assert "Retry-After" not in r.headers
    assert r.headers["X-RateLimit-Reset"] == str(EPOCH + 1)


def test_no_rate_limit_headers_unless_asked(start_sandbox, clock):
    sb = start_sandbox(realtime=clock, rate_limit=1)
    ok, limited = _at(sb, clock, 1000.0), _at(sb, clock, 1000.0)
    assert (ok.status_code, limited.status_code) == (200, 429)
    for r in (ok, limited):
        assert not [k for k in r.headers if k.lower().startswith("x-ratelimit")]
    assert limited.headers["Retry-After"] == "1"


def test_login_and_refresh_count_against_the_account_limit(start_sandbox, clock):
    sb = start_sandbox(realtime=clock, rate_limit=2, rate_limit_kind="sliding_window")
    assert _at(sb, clock, 1000.0, "/v1/auth/login").status_code == 200
    assert _at(sb, clock, 1000.0, "/v1/auth/refresh").status_code == 401  # no token: counted
    assert _at(sb, clock, 1000.0, "/v1/call/records").status_code == 429
    assert _at(sb, clock, 1000.0, "/v1/auth/login").status_code == 429


def test_429_causes_are_counted_apart(start_sandbox, clock):
    sb = start_sandbox(
        realtime=clock,
        rate_limit=1,
        rate_limit_kind="sliding_window",
        faults=Faults(fail_next=["429"]),
    )
    assert _statuses(sb, clock, [1000.0, 1000.5, 1001.0, 1001.0]) == [429, 429, 200, 429]
    stats = sb.stats()
    assert stats["rate_limited_by_cause"] == {"limiter": 2, "fault": 1}
    assert stats["rate_limited_429"] == 3
    assert stats["faults_injected"] == {"429": 1}
    sb.reset_stats()
    assert sb.stats()["rate_limited_by_cause"] == {"limiter": 0, "fault": 0}


def test_max_arrivals_in_any_second(start_sandbox, clock):
    sb = start_sandbox(realtime=clock)
    _statuses(sb, clock, [1000.0, 1001.0, 1002.0, 1003.0])
    assert sb.stats()["max_arrivals_in_any_second"] == 1, "arrivals 1 s apart never share one"
    _statuses(sb, clock, [1003.5, 1003.75, 1003.875, 1004.75])
    assert sb.stats()["max_arrivals_in_any_second"] == 4
    requests.get(f"{sb.url}/_sandbox/stats", timeout=10)  # admin requests are not arrivals
    sb.reset_stats()
    assert sb.stats()["max_arrivals_in_any_second"] == 0
    _statuses(sb, clock, [1010.0, 1010.5])
    assert sb.stats()["max_arrivals_in_any_second"] == 2


def _paced(start_sandbox, clock, *, jitter: float, seed: int = 0, n: int = 24):
    """Requests sent exactly 1/4 s apart to a 4-per-second sliding window."""
    sb = start_sandbox(
        realtime=clock,
        rate_limit=4,
        rate_limit_kind="sliding_window",
        arrival_jitter=jitter,
        variant_seed=seed,
        log_requests=True,
    )
    sends = [1000.0 + k * 0.25 for k in range(n)]
    statuses = _statuses(sb, clock, sends)
    delays = [e.arrived_at - send for e, send in zip(sb.request_log(), sends, strict=True)]
    return statuses, delays, sb.stats()


def test_exact_pacing_passes_a_sliding_window_without_jitter(start_sandbox, clock):
    statuses, delays, stats = _paced(start_sandbox, clock, jitter=0.0)
    assert set(statuses) == {200}
    assert delays == [0.0] * len(delays)
    assert stats["max_arrivals_in_any_second"] == 4


def test_arrival_jitter_is_seeded_and_catches_exact_pacing(start_sandbox):
    statuses, delays, stats = _paced(start_sandbox, ManualTime(), jitter=0.2, seed=5)
    assert all(0.0 <= d <= 0.2 for d in delays)
    assert len(set(delays)) == len(delays)
    assert 429 in statuses
    assert stats["rate_limited_by_cause"]["limiter"] == statuses.count(429)
    assert stats["max_arrivals_in_any_second"] == 5
    again = _paced(start_sandbox, ManualTime(), jitter=0.2, seed=5)
    assert again[0] == statuses
    assert again[1] == pytest.approx(delays)
    other = _paced(start_sandbox, ManualTime(), jitter=0.2, seed=6)
    assert other[1] != pytest.approx(delays)
