"""Bound variants of GET /v1/call/records: exclusive ends, filter on end, whole-day dates."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest

from .conftest import end_key, served_ids, start_key

DAY = "2026-03-09"


def _busiest_second(rows, key) -> str:
    """A local second on DAY that holds at least one call (the most crowded one)."""
    counts = Counter(key(r) for r in rows if key(r).startswith(DAY))
    return max(counts, key=lambda k: (counts[k], k))


@pytest.mark.parametrize("to_bound", ["inclusive", "exclusive"])
def test_to_bound_decides_the_calls_on_the_last_second(start_sandbox, api, to_bound):
    sb = start_sandbox(to_bound=to_bound)
    rows = sb.truth()
    last = _busiest_second(rows, start_key)
    window = {"from_date": f"{DAY} 00:00:00", "to_date": last}
    served = served_ids(api, sb, window)
    on_last = {r.id for r in rows if start_key(r) == last}
    before = {r.id for r in rows if f"{DAY} 00:00:00" <= start_key(r) < last}
    assert on_last
    assert before
    assert len(served) == len(set(served))
    expected = before | on_last if to_bound == "inclusive" else before
    assert set(served) == expected


@pytest.mark.parametrize("from_bound", ["inclusive", "exclusive"])
def test_from_bound_decides_the_calls_on_the_first_second(start_sandbox, api, from_bound):
    sb = start_sandbox(from_bound=from_bound)
    rows = sb.truth()
    first = _busiest_second(rows, start_key)
    window = {"from_date": first, "to_date": f"{DAY} 23:59:59"}
    on_first = {r.id for r in rows if start_key(r) == first}
    after = {r.id for r in rows if first < start_key(r) <= f"{DAY} 23:59:59"}
    assert on_first
    assert after
    expected = after | on_first if from_bound == "inclusive" else after
    assert set(served_ids(api, sb, window)) == expected


def test_both_bounds_exclusive_on_one_second_is_empty(start_sandbox, api):
    sb = start_sandbox(from_bound="exclusive", to_bound="exclusive")
    second = _busiest_second(sb.truth(), start_key)
    assert served_ids(api, sb, {"from_date": second, "to_date": second}) == []


def test_filter_on_end_selects_by_true_local_end(start_sandbox, api):
    sb = start_sandbox(filter_on="end")
    rows = sb.truth()
    window = {"from_date": f"{DAY} 10:00:00", "to_date": f"{DAY} 10:59:59"}
    lo, hi = window["from_date"], window["to_date"]
    expected = {r.id for r in rows if lo <= end_key(r, sb) <= hi}
    served = served_ids(api, sb, window)
    assert set(served) == expected
    assert len(served) == len(expected)
    # The variant differs from filtering on the start in both directions.
    started_before = {r.id for r in rows if start_key(r) < lo} & expected
    ends_after = {r.id for r in rows if lo <= start_key(r) <= hi and end_key(r, sb) > hi}
    assert started_before, "a call that started before the window and ended inside it"
    assert ends_after
    assert not ends_after & set(served)


def test_filter_on_end_ignores_what_end_stamp_shows(start_sandbox, api):
    sb = start_sandbox(filter_on="end")
    odd = [r for r in sb.truth() if r.record["end_stamp"] in ("", "0000-00-00 00:00:00")]
    assert {r.record["end_stamp"] for r in odd} == {"", "0000-00-00 00:00:00"}
    for row in odd[:6]:
        end = end_key(row, sb)
        assert row.id in served_ids(api, sb, {"from_date": end, "to_date": end})


def test_filter_on_end_crosses_midnight(start_sandbox, api):
    sb = start_sandbox(filter_on="end")
    rows = sb.truth()
    crossing = [r for r in rows if r.record["date"] == "2026-03-08" and end_key(r, sb) >= DAY]
    assert crossing, "some call of the day before ends after midnight"
    window = {"from_date": f"{DAY} 00:00:00", "to_date": f"{DAY} 01:00:00"}
    assert {r.id for r in crossing} <= set(served_ids(api, sb, window))


def test_filter_on_end_with_exclusive_to_drops_the_last_second(start_sandbox, api):
    sb = start_sandbox(filter_on="end", to_bound="exclusive")
    rows = sb.truth()
    last = _busiest_second(rows, lambda r: end_key(r, sb))
    window = {"from_date": f"{DAY} 00:00:00", "to_date": last}
    expected = {r.id for r in rows if f"{DAY} 00:00:00" <= end_key(r, sb) < last}
    assert any(end_key(r, sb) == last for r in rows)
    assert set(served_ids(api, sb, window)) == expected


def test_filter_on_end_still_waits_for_hangup_and_the_cdr(start_sandbox, api):
    sb = start_sandbox(filter_on="end")
    now = sb.clock.now()
    pending = [c for c in sb.all_calls() if c.ended_at <= now < c.visible_at]
    assert pending
    call = pending[0]
    end = end_key(call, sb)
    assert call.id not in served_ids(api, sb, {"from_date": end, "to_date": end})
    sb.clock.set(call.visible_at)
    assert call.id in served_ids(api, sb, {"from_date": end, "to_date": end})


@pytest.mark.parametrize("filter_on", ["start", "end"])
def test_day_granularity_returns_whole_days(start_sandbox, api, filter_on):
    sb = start_sandbox(bound_granularity="day", filter_on=filter_on)
    rows = sb.truth()
    key = start_key if filter_on == "start" else (lambda r: end_key(r, sb))
    # The time parts ask for one hour; the server reads two whole dates.
    window = {"from_date": "2026-03-08 10:00:00", "to_date": f"{DAY} 11:00:00"}
    expected = {r.id for r in rows if "2026-03-08" <= key(r)[:10] <= DAY}
    served = served_ids(api, sb, window)
    assert set(served) == expected
    assert len(served) == len(expected) > 600
    same_day = {"from_date": f"{DAY} 23:00:00", "to_date": f"{DAY} 01:00:00"}
    assert set(served_ids(api, sb, same_day)) == {r.id for r in rows if key(r)[:10] == DAY}


def test_day_granularity_date_only_bounds(start_sandbox, api):
    sb = start_sandbox(bound_granularity="day")
    served = served_ids(api, sb, {"from_date": DAY, "to_date": DAY})
    assert set(served) == {r.id for r in sb.truth() if r.record["date"] == DAY}


@pytest.mark.parametrize(
    ("overrides", "hour_field"),
    [
        ({"to_bound": "exclusive"}, "start"),
        ({"filter_on": "end", "to_bound": "exclusive"}, "end"),
    ],
)
def test_autumn_repeated_hour_keeps_local_string_semantics(
    start_sandbox, api, overrides, hour_field
):
    sb = start_sandbox(
        timezone="Europe/London",
        calls_per_day=3000,
        days=2,
        now=datetime(2026, 10, 26, 12, 0, tzinfo=timezone.utc),
        **overrides,
    )
    rows = sb.truth()
    key = start_key if hour_field == "start" else (lambda r: end_key(r, sb))
    window = {"from_date": "2026-10-25 01:00:00", "to_date": "2026-10-25 02:00:00"}
    expected = {r.id for r in rows if "2026-10-25 01:00:00" <= key(r) < "2026-10-25 02:00:00"}
    served = served_ids(api, sb, window)
    assert set(served) == expected
    instants = {r.id: r for r in rows}
    offsets = {
        (instants[i].started_at if hour_field == "start" else instants[i].ended_at)
        .astimezone(sb.config.tz)
        .utcoffset()
        for i in served
    }
    assert len(offsets) == 2, "both occurrences of 01:xx are selected"
