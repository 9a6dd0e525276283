"""The request log: what each /v1 request asked and what the server served, in order."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import FrozenInstanceError

import pytest
import requests

from tap_acefone.sandbox import Faults, ManualTime, RequestLogEntry

from .conftest import AUTH, WIDE

WINDOW = {"from_date": "2026-03-09 00:00:00", "to_date": "2026-03-09 23:59:59"}


def test_entries_record_requests_and_served_pages(start_sandbox, api):
    clock = ManualTime(start=50.0)
    sb = start_sandbox(realtime=clock, log_requests=True, count_offset=4, page_size_max=60)
    served = []
    for page in (1, 2):
        clock.advance(0.5)
        body = api.get(
            f"{sb.url}/v1/call/records",
            params={**WINDOW, "limit": 100, "page": page, "tags[]": "vip"},  # ignored by the API
            timeout=10,
        ).json()
        served.append(body)
    clock.advance(0.5)
    api.get(f"{sb.url}/v1/departments", timeout=10)
    requests.get(f"{sb.url}/v1/call/records", headers={"Authorization": "bad"}, timeout=10)
    requests.get(f"{sb.url}/v1/nowhere", timeout=10)
    log = sb.request_log()
    assert [e.seq for e in log] == [1, 2, 3, 4, 5]
    assert [(e.method, e.path, e.status) for e in log] == [
        ("GET", "/v1/call/records", 200),
        ("GET", "/v1/call/records", 200),
        ("GET", "/v1/departments", 200),
        ("GET", "/v1/call/records", 401),
        ("GET", "/v1/nowhere", 403),
    ]
    assert [e.arrived_at for e in log[:3]] == [50.5, 51.0, 51.5]
    first = log[0]
    assert first.params == {
        "from_date": [WINDOW["from_date"]],
        "to_date": [WINDOW["to_date"]],
        "limit": ["100"],
        "page": ["1"],
        "tags": ["vip"],
    }
    for entry, body in zip(log[:2], served, strict=True):
        assert len(body["results"]) == 60
        assert entry.ids == tuple(r["id"] for r in body["results"])
        assert entry.count == body["count"] == entry.true_count + 4
        assert entry.size == body["size"]
        assert entry.page == body["page"]
        assert entry.limit == body["limit"] == 60
        assert (entry.from_local, entry.to_local) == (WINDOW["from_date"], WINDOW["to_date"])
    assert not set(log[0].ids) & set(log[1].ids)
    for entry in log[2:]:
        assert entry.ids == ()
        assert entry.count is entry.true_count is entry.limit is entry.from_local is None
    with pytest.raises(FrozenInstanceError):
        first.status = 500  # type: ignore[misc]


def test_defaults_filled_in_and_count_omitted(start_sandbox, api):
    sb = start_sandbox(log_requests=True, omit_count=True)
    body = api.get(f"{sb.url}/v1/call/records", timeout=10).json()
    (entry,) = sb.request_log()
    assert entry.count is None
    assert entry.true_count > len(body["results"]) == entry.size == 20
    assert entry.from_local == "2026-03-10 00:00:00"
    assert entry.to_local == "2026-03-10 17:30:00"  # 12:00 UTC in Kolkata
    assert entry.params == {}


def test_resets_and_faults_are_logged(start_sandbox, api):
    sb = start_sandbox(log_requests=True, faults=Faults(fail_next=["reset", "429", "502"]))
    for _ in range(3):
        with contextlib.suppress(requests.ConnectionError):
            api.get(f"{sb.url}/v1/call/records", params=WIDE, timeout=10)
    assert [e.status for e in sb.request_log()] == [0, 429, 502]
    assert all(e.ids == () for e in sb.request_log())


def test_admin_endpoint_streams_the_log_and_reset_clears_it(start_sandbox, api):
    sb = start_sandbox(log_requests=True)
    api.get(f"{sb.url}/v1/call/records", params={**WIDE, "limit": 5}, timeout=10)
    api.get(f"{sb.url}/v1/ivrs", timeout=10)
    r = requests.get(f"{sb.url}/_sandbox/requests", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines == [e.to_json() for e in sb.request_log()]
    assert len(lines) == 2
    assert len(lines[0]["ids"]) == 5
    assert requests.post(f"{sb.url}/_sandbox/stats/reset", timeout=10).ok
    assert sb.request_log() == []
    api.get(f"{sb.url}/v1/ivrs", timeout=10)
    assert [e.seq for e in sb.request_log()] == [1]
    sb.reset_stats()
    assert requests.get(f"{sb.url}/_sandbox/requests", timeout=10).text == ""


def test_log_is_off_by_default(start_sandbox):
    sb = start_sandbox()
    with pytest.raises(RuntimeError, match="log_requests"):
        sb.request_log()
    r = requests.get(f"{sb.url}/_sandbox/requests", timeout=10)
    assert r.status_code == 400
    assert "--log-requests" in r.json()["error"]


def test_concurrent_requests_each_get_one_entry(start_sandbox):
    sb = start_sandbox(log_requests=True)
    barrier = threading.Barrier(8)

    def call(page: int) -> None:
        with requests.Session() as s:
            s.headers.update(AUTH)
            barrier.wait()
            for _ in range(5):
                s.get(f"{sb.url}/v1/call/records", params={**WIDE, "page": page}, timeout=30)

    threads = [threading.Thread(target=call, args=(p,)) for p in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = sb.request_log()
    assert [e.seq for e in log] == list(range(1, 41))
    assert all(isinstance(e, RequestLogEntry) and e.status == 200 for e in log)
    assert sorted(e.page for e in log) == sorted(p for p in range(1, 9) for _ in range(5))
    assert sum(e.size for e in log) == sb.stats()["records_served"]
