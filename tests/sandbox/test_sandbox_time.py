"""The virtual clock: in-progress calls, late CDRs, records that change, new calls appearing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from tap_acefone.sandbox import Clock

from .conftest import WIDE, fetch_all


def _served(api, sb, call_id: str) -> list[dict]:
    return fetch_all(api, sb.url, {**WIDE, "call_id": call_id})


def test_clock_basics():
    clock = Clock(datetime(2026, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))))
    assert clock.now() == datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)
    assert clock.now().tzinfo == timezone.utc
    assert clock.advance(timedelta(hours=2)) == datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)
    clock.set(datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert clock.now().year == 2027
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2027, 1, 1))


def test_calls_in_progress_are_invisible_until_after_hangup(start_sandbox, api):
    sb = start_sandbox()
    now = sb.clock.now()
    ongoing = [c for c in sb.all_calls() if c.started_at <= now < c.ended_at]
    assert ongoing
    call = max(ongoing, key=lambda c: c.ended_at)
    assert _served(api, sb, call.record["call_id"]) == []
    sb.clock.set(call.ended_at)
    assert _served(api, sb, call.record["call_id"]) == []
    sb.clock.set(call.visible_at)
    assert [r["id"] for r in _served(api, sb, call.record["call_id"])] == [call.id]
    assert 5 <= (call.visible_at - call.ended_at).total_seconds() <= 90 * 60


def test_late_cdrs_arrive_minutes_after_hangup(start_sandbox, api):
    sb = start_sandbox()
    everything = list(sb.all_calls())
    late = [c for c in everything if c.visible_at - c.ended_at >= timedelta(minutes=10)]
    prompt = [c for c in everything if c.visible_at - c.ended_at <= timedelta(seconds=90)]
    assert 0.005 < len(late) / len(everything) < 0.05
    assert len(late) + len(prompt) == len(everything)
    call = late[0]
    sb.clock.set(call.visible_at - timedelta(seconds=1))
    assert call.id not in {t.id for t in sb.truth()}
    assert _served(api, sb, call.record["call_id"]) == []
    sb.clock.set(call.visible_at)
    assert [r["id"] for r in _served(api, sb, call.record["call_id"])] == [call.id]


def test_recording_url_appears_after_first_version(start_sandbox, api):
    sb = start_sandbox()
    call = next(c for c in sb.all_calls() if c.record["status"] == "answered" and c.version == 2)
    sb.clock.set(call.visible_at)
    first = _served(api, sb, call.record["call_id"])[0]
    assert first["recording_url"] is None
    row = next(t for t in sb.truth() if t.id == call.id)
    assert row.version == 1
    sb.clock.advance(timedelta(minutes=10, seconds=1))
    later = _served(api, sb, call.record["call_id"])[0]
    assert later["recording_url"].startswith("https://")
    assert "token=" in later["recording_url"]
    assert later == call.record
    assert next(t for t in sb.truth() if t.id == call.id).version == 2


def test_notes_and_status_are_added_later(start_sandbox, api):
    sb = start_sandbox()
    call = next(c for c in sb.all_calls() if c.record["custom_status"] is not None)
    assert call.version >= 2
    sb.clock.set(call.visible_at)
    first = _served(api, sb, call.record["call_id"])[0]
    assert first["custom_status"] is None
    sb.clock.advance(timedelta(minutes=70))
    later = _served(api, sb, call.record["call_id"])[0]
    assert later["custom_status"] == call.record["custom_status"]
    assert later["notes"] is not None
    assert later == call.record
    assert {k for k in first if first[k] != later[k]} <= {
        "recording_url",
        "notes",
        "custom_status",
        "dialer_call_details",
    }


def test_dialer_disposition_is_added_later(start_sandbox, api):
    sb = start_sandbox()
    call = next(
        c
        for c in sb.all_calls()
        if isinstance(c.record["dialer_call_details"], dict)
        and c.record["dialer_call_details"]["disposition_name"]
    )
    sb.clock.set(call.visible_at)
    assert (
        _served(api, sb, call.record["call_id"])[0]["dialer_call_details"]["disposition_name"]
        is None
    )
    sb.clock.advance(timedelta(minutes=70))
    assert (
        _served(api, sb, call.record["call_id"])[0]["dialer_call_details"]
        == call.record["dialer_call_details"]
    )


def test_advancing_the_clock_reveals_new_calls(start_sandbox, api):
    sb = start_sandbox()
    now = sb.clock.now()
    future = [c for c in sb.all_calls() if c.started_at > now]
    assert len(future) > 500, "future days are generated too"
    before = fetch_all(api, sb.url, WIDE)
    assert not {c.id for c in future} & {r["id"] for r in before}
    sb.clock.advance(timedelta(hours=30))
    after = fetch_all(api, sb.url, WIDE)
    assert len(after) > len(before) + 300
    assert {r["id"] for r in before} <= {r["id"] for r in after}
    assert all(c.id in {r["id"] for r in after} for c in future if c.visible_at <= sb.clock.now())


def test_history_starts_at_the_first_local_day(start_sandbox):
    sb = start_sandbox(days=2)
    dates = {t.record["date"] for t in sb.all_calls()}
    assert min(dates) == "2026-03-09"
    assert max(dates) == "2026-03-12"  # two future days past 10 March


def test_admin_clock_endpoints(start_sandbox):
    sb = start_sandbox()
    assert requests.get(f"{sb.url}/_sandbox/clock", timeout=10).json() == {
        "now": "2026-03-10T12:00:00+00:00"
    }
    r = requests.post(f"{sb.url}/_sandbox/clock", json={"advance_seconds": 7200}, timeout=10)
    assert r.json() == {"now": "2026-03-10T14:00:00+00:00"}
    assert sb.clock.now() == datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
    r = requests.post(f"{sb.url}/_sandbox/clock", json={"set": "2026-03-11T00:00:00Z"}, timeout=10)
    assert r.json() == {"now": "2026-03-11T00:00:00+00:00"}
    bad = requests.post(f"{sb.url}/_sandbox/clock", json={"set": "2026-03-11 00:00:00"}, timeout=10)
    assert bad.status_code == 400
    assert requests.post(f"{sb.url}/_sandbox/clock", json={}, timeout=10).status_code == 400


def test_seconds_per_page_moves_the_clock_with_each_records_page(start_sandbox, api):
    sb = start_sandbox(seconds_per_page=90)
    before = sb.clock.now()
    for page in (1, 2):
        assert api.get(f"{sb.url}/v1/call/records", params={**WIDE, "page": page}).ok
    assert api.get(f"{sb.url}/v1/departments").ok
    assert sb.clock.now() - before == timedelta(seconds=180)
