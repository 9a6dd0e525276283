"""Local wall-clock fields in the account time zone, DST included, and the true instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .conftest import fetch_all

LONDON = ZoneInfo("Europe/London")


def _local(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _assert_consistent(rows, tz: ZoneInfo) -> None:
    """Every record's local fields and embedded epochs agree with the true UTC instants."""
    for row in rows:
        rec = row.record
        assert f"{rec['date']} {rec['time']}" == _local(row.started_at, tz)
        if rec["end_stamp"] not in ("", "0000-00-00 00:00:00"):
            assert rec["end_stamp"] == _local(row.ended_at, tz)
        init = rec["call_flow"][0]
        assert init["type"] == "init"
        assert init["value"] == rec["call_id"]
        assert isinstance(init["time"], str)
        offset = int(init["time"]) - int(row.started_at.timestamp())
        assert 0 <= offset < 60
        assert init["readableTime"] == datetime.fromtimestamp(int(init["time"]), tz).strftime(
            "%d-%m-%Y %H:%M:%S"
        )
        assert 0 <= int(rec["id"][:8], 16) - int(row.ended_at.timestamp()) <= 3
        assert row.ended_at - row.started_at == timedelta(seconds=rec["call_duration"])


def test_kolkata_fields_are_utc_plus_0530(shared):
    rows = shared.truth()
    _assert_consistent(rows, ZoneInfo("Asia/Kolkata"))
    row = rows[0]
    naive = datetime.strptime(f"{row.record['date']} {row.record['time']}", "%Y-%m-%d %H:%M:%S")
    assert naive - row.started_at.replace(tzinfo=None) == timedelta(hours=5, minutes=30)


def test_london_autumn_repeated_hour_holds_both_occurrences(start_sandbox, api):
    sb = start_sandbox(
        timezone="Europe/London",
        calls_per_day=3000,
        days=2,
        now=datetime(2026, 10, 26, 12, 0, tzinfo=timezone.utc),
    )
    rows = sb.truth()
    _assert_consistent(rows, LONDON)
    repeated = [
        r for r in rows if r.record["date"] == "2026-10-25" and r.record["time"].startswith("01:")
    ]
    offsets = {r.started_at.astimezone(LONDON).utcoffset() for r in repeated}
    assert offsets == {timedelta(hours=1), timedelta(0)}, (
        "both the BST and the GMT 01:xx must have calls"
    )
    served = fetch_all(
        api, sb.url, {"from_date": "2026-10-25 01:00:00", "to_date": "2026-10-25 01:59:59"}
    )
    assert {r["id"] for r in served} == {r.id for r in repeated}
    # The init entry's epoch tells the two occurrences apart.
    by_id = {r.id: r for r in repeated}
    for rec in served:
        epoch = int(rec["call_flow"][0]["time"])
        assert abs(epoch - by_id[rec["id"]].started_at.timestamp()) < 60
    # The 25-hour day has more calls than one hour's worth would explain.
    assert len({r.started_at.hour for r in repeated}) == 2


def test_london_spring_gap_has_no_local_times(start_sandbox, api):
    sb = start_sandbox(
        timezone="Europe/London",
        calls_per_day=3000,
        days=2,
        now=datetime(2026, 3, 30, 12, 0, tzinfo=timezone.utc),
    )
    rows = sb.truth()
    _assert_consistent(rows, LONDON)
    sunday = [r.record["time"] for r in rows if r.record["date"] == "2026-03-29"]
    assert sunday
    assert not [t for t in sunday if t.startswith("01:")]
    assert [t for t in sunday if t.startswith(("00:", "02:"))]
    gap = fetch_all(
        api, sb.url, {"from_date": "2026-03-29 01:00:00", "to_date": "2026-03-29 01:59:59"}
    )
    assert gap == []
    # Summer time applies after the jump: 14:00 local is 13:00 UTC.
    afternoon = [
        r for r in rows if r.record["date"] == "2026-03-29" and r.record["time"].startswith("14:")
    ]
    assert afternoon
    assert all(r.started_at.hour == 13 for r in afternoon)


def test_default_window_uses_the_local_day(start_sandbox, api):
    # 23:30 UTC on 9 March is already 10 March in Kolkata (05:00).
    sb = start_sandbox(now=datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc))
    rows = fetch_all(api, sb.url, {})
    assert rows
    assert {r["date"] for r in rows} == {"2026-03-10"}
    assert max(f"{r['date']} {r['time']}" for r in rows) <= "2026-03-10 05:00:00"
