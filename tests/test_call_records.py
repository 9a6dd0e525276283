"""call_records delivers every call exactly once, whatever the server's paging and order."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.taprun import iso, run_tap, tap_config
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in


def test_multi_day_sync_reconciles_with_ground_truth(sandbox):
    config = tap_config(sandbox, days=3)
    run = run_tap(config)
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    assert len(run.records) > 300


@pytest.mark.parametrize("order", ["newest", "oldest", "shuffled"])
def test_any_result_order_with_a_server_that_clamps_page_size(make_sandbox, order):
    sandbox = make_sandbox(order=order, page_size_max=17)
    config = tap_config(sandbox, days=3, page_size=100)
    run = run_tap(config)
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    assert sandbox.stats()["pages_served"] >= len(run.records) / 17


def test_small_and_large_windows_deliver_the_same_calls(sandbox):
    hourly = run_tap(tap_config(sandbox, days=2, window_hours=1))
    daily = run_tap(tap_config(sandbox, days=2, window_hours=24))
    assert_exactly_once(hourly.records)
    assert sorted(hourly.ids) == sorted(daily.ids)


def test_a_call_starting_exactly_on_a_boundary_lands_in_exactly_one_run(sandbox):
    truth = sorted(truth_in(sandbox, tap_config(sandbox, 3)), key=lambda row: row.started_at)
    edge = truth[len(truth) // 2]
    first = run_tap(tap_config(sandbox, days=3, end_date=iso(edge.started_at)))
    second = run_tap(tap_config(sandbox, days=3, start_date=iso(edge.started_at)))
    assert edge.record["id"] in second.ids
    assert edge.record["id"] not in first.ids
    assert not set(first.ids) & set(second.ids)
    assert_matches_truth(first.records + second.records, truth_in(sandbox, tap_config(sandbox, 3)))


def test_started_at_is_utc_across_the_autumn_clock_change(make_sandbox):
    # Europe/London falls back at 01:00 UTC on 2025-10-26: 01:00-01:59 local happens twice.
    sandbox = make_sandbox(
        timezone="Europe/London",
        now=datetime.fromisoformat("2025-10-27T06:00:00+00:00"),
        calls_per_day=2000,
    )
    config = tap_config(sandbox, days=3, timezone="Europe/London", window_hours=1)
    run = run_tap(config)
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    repeated = [
        r
        for r in run.records
        if r["date"] == "2025-10-26" and r["time"] < "02:00:00" and r["time"] >= "01:00:00"
    ]
    offsets = {r["started_at"][11:13] for r in repeated}
    assert offsets == {"00", "01"}, "calls from both occurrences of the repeated hour"


def test_started_at_is_utc_across_the_spring_clock_change(make_sandbox):
    sandbox = make_sandbox(
        timezone="Europe/London", now=datetime.fromisoformat("2026-03-30T06:00:00+00:00")
    )
    config = tap_config(sandbox, days=3, timezone="Europe/London")
    run = run_tap(config)
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))


def test_filters_reach_the_api(sandbox):
    config = tap_config(sandbox, days=3, call_type="m", direction="inbound")
    run = run_tap(config)
    truth = [
        row
        for row in truth_in(sandbox, config)
        if row.record["status"] == "missed" and row.record["direction"] == "inbound"
    ]
    assert truth
    assert_matches_truth(run.records, truth)


def test_one_info_line_per_window(sandbox, caplog):
    caplog.set_level("INFO")
    run_tap(tap_config(sandbox, days=3, window_hours=24))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Window ")]
    assert len(lines) == 3
    assert all(" pages, " in line and " records emitted, " in line for line in lines)


def test_nothing_is_read_past_end_date(sandbox):
    end = sandbox.clock.now() - timedelta(hours=6)
    run = run_tap(tap_config(sandbox, days=3, end_date=iso(end)))
    assert run.records
    assert max(r["started_at"] for r in run.records) < iso(end)
    assert run.bookmark == iso(end)


def test_calls_landing_while_a_window_is_paged_are_caught_by_splitting(make_sandbox, caplog):
    # Newest first, as the real API seems to sort: a CDR that lands mid-read goes to page 1,
    # which was already read, and pushes a row past the last page; the window's count grows,
    # it served fewer distinct calls than it counted, and it is split into parts that fit.
    sandbox = make_sandbox(calls_per_day=600, page_size_max=10, seconds_per_page=60)
    config = tap_config(sandbox, days=1, max_concurrency=1)
    visible_at_start = {row.id for row in truth_in(sandbox, config)}
    caplog.set_level("INFO")
    run = run_tap(config)
    assert_exactly_once(run.records)
    delivered = set(run.ids)
    assert visible_at_start <= delivered
    assert delivered <= {row.id for row in truth_in(sandbox, config)}
    assert delivered - visible_at_start, "calls that landed during the read were delivered"
    assert any("splitting" in r.getMessage() for r in caplog.records)
