"""Large pages that are slow or time out at the gateway, and latency that grows with the page."""

from __future__ import annotations

import pytest

from tap_acefone.sandbox import Faults, ManualTime

from .conftest import WIDE


def _get(api, sb, **params):
    return api.get(f"{sb.url}/v1/call/records", params={**WIDE, **params}, timeout=30)


def test_slow_page_timeout_waits_slow_seconds_above_the_threshold(start_sandbox, api):
    clock = ManualTime()
    sb = start_sandbox(
        realtime=clock, slow_page_above=50, faults=Faults(slow_seconds=7.0), page_size_max=500
    )
    assert _get(api, sb, limit=50).status_code == 200
    assert clock.waited == 0.0
    r = _get(api, sb, limit=51)
    assert r.status_code == 200
    assert r.json()["size"] == 51
    assert clock.waited == 7.0
    assert api.get(f"{sb.url}/v1/departments", timeout=10).ok
    assert clock.waited == 7.0, "only records pages are slow"
    assert sb.stats()["faults_injected"] == {"slow_page": 1}


def test_slow_page_threshold_applies_after_clamping(start_sandbox, api):
    clock = ManualTime()
    sb = start_sandbox(realtime=clock, slow_page_above=50, page_size_max=40)
    assert _get(api, sb, limit=1000).json()["limit"] == 40
    assert clock.waited == 0.0
    ignoring = start_sandbox(
        realtime=clock, slow_page_above=50, ignore_limit=True, default_limit=100
    )
    assert _get(api, ignoring, limit=10).json()["limit"] == 100
    assert clock.waited == 5.0  # Faults().slow_seconds


def test_slow_page_504_is_the_gateway_page(start_sandbox, api):
    sb = start_sandbox(slow_page_above=20, slow_page_fault="504")
    assert _get(api, sb, limit=20).status_code == 200
    r = _get(api, sb, limit=100)
    assert r.status_code == 504
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text.startswith("<html><head><title>504 Gateway Timeout</title>")
    r = _get(api, sb)  # no limit: default_limit 20
    assert r.status_code == 200
    stats = sb.stats()
    assert stats["responses_by_status"] == {"200": 2, "504": 1}
    assert stats["pages_served"] == 2


@pytest.mark.parametrize("limit", [1, 37, 100])
def test_latency_grows_with_the_page(start_sandbox, api, limit):
    clock = ManualTime()
    sb = start_sandbox(realtime=clock, latency_per_record=0.01, latency=0.5)
    assert _get(api, sb, limit=limit).json()["size"] == limit
    assert clock.waited == pytest.approx(0.5 + 0.01 * limit)
    empty = {"from_date": "2000-01-01 00:00:00", "to_date": "2000-01-01 00:00:01"}
    _get(api, sb, **empty)
    assert clock.waited == pytest.approx(1.0 + 0.01 * limit)
