"""Bookmarks, resumption and the lookback re-read."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.taprun import iso, run_tap, tap_config
from tests.truth import (
    COMPARED_FIELDS,
    assert_exactly_once,
    assert_matches_truth,
    latest_by_id,
    truth_in,
)


class CrashError(Exception):
    """Stands for the process dying at an exact point of the run."""


def test_a_state_message_follows_each_completed_window(sandbox):
    run = run_tap(tap_config(sandbox, days=3, window_hours=24))
    bookmarks = [
        s["bookmarks"]["call_records"]["replication_key_value"]
        for s in run.states
        if "replication_key_value" in s["bookmarks"].get("call_records", {})
    ]
    start = datetime.fromisoformat(tap_config(sandbox, days=3)["start_date"])
    expected = [iso(start + timedelta(days=n)) for n in (1, 2, 3)]
    assert bookmarks[: len(expected)] == expected
    assert run.bookmark == expected[-1]
    # The SDK's own shape, as any Singer tool reading the state expects it: which key the
    # bookmark is on, its value, and no progress markers left once the run has finished.
    final = {"replication_key": "started_at", "replication_key_value": expected[-1]}
    assert run.last_state["bookmarks"]["call_records"] == final


@pytest.mark.parametrize("crash_after", [1, 150, 330])
def test_resume_after_a_crash_loses_nothing_and_rereads_one_window(sandbox, crash_after):
    config = tap_config(sandbox, days=3, window_hours=12, lookback_minutes=60)
    seen = {"records": 0}

    def crash(message):
        if message["type"] == "RECORD":
            seen["records"] += 1
            if seen["records"] == crash_after:
                raise CrashError

    with pytest.raises(CrashError) as crashed:
        run_tap(config, on_message=crash)
    first = crashed.value.tap_run
    resumed = run_tap(config, state=first.last_state)

    assert_matches_truth(first.records + resumed.records, truth_in(sandbox, config))
    assert_exactly_once(resumed.records)
    bookmark = first.bookmark
    if bookmark is not None:
        # The lookback, and the one second every query reaches into its neighbour.
        floor = datetime.fromisoformat(bookmark) - timedelta(minutes=60, seconds=1)
        assert min(r["started_at"] for r in resumed.records) >= iso(floor)
        reread = [r for r in resumed.records if r["id"] in set(first.ids)]
        window = timedelta(hours=12) + timedelta(minutes=60)
        assert all(
            datetime.fromisoformat(r["started_at"]) < datetime.fromisoformat(bookmark) + window
            for r in reread
        )


def test_lookback_catches_late_and_changed_records(make_sandbox):
    sandbox = make_sandbox(calls_per_day=800)
    config = tap_config(sandbox, days=2, lookback_minutes=360)
    first = run_tap(config)
    sandbox.clock.advance(timedelta(hours=3))
    config_2 = {**config, "end_date": iso(sandbox.clock.now())}
    second = run_tap(config_2, state=first.last_state)
    assert_matches_truth(first.records + second.records, truth_in(sandbox, config_2))

    before = latest_by_id(first.records)
    changed = [
        r
        for r in second.records
        if r["id"] in before and any(r[k] != before[r["id"]][k] for k in COMPARED_FIELDS)
    ]
    late = set(second.ids) - set(first.ids)
    started_before_first_end = [
        r for r in second.records if r["id"] in late and r["started_at"] < config["end_date"]
    ]
    assert changed, "some calls changed after the first run"
    assert started_before_first_end, "some calls of the first run's range arrived late"
    assert min(r["started_at"] for r in second.records) >= iso(
        datetime.fromisoformat(first.bookmark) - timedelta(minutes=360, seconds=1)
    )


def test_without_lookback_late_records_are_missed(sandbox):
    """The control for the test above: the lookback is what catches late records."""
    config = tap_config(sandbox, days=2, lookback_minutes=0)
    first = run_tap(config)
    sandbox.clock.advance(timedelta(hours=3))
    config_2 = {**config, "end_date": iso(sandbox.clock.now())}
    second = run_tap(config_2, state=first.last_state)
    delivered = set(first.ids) | set(second.ids)
    truth_ids = {row.record["id"] for row in truth_in(sandbox, config_2)}
    assert truth_ids - delivered


def test_start_date_bounds_a_stored_bookmark_minus_lookback(sandbox):
    config = tap_config(sandbox, days=1, lookback_minutes=10080)
    first = run_tap(config)
    second = run_tap(config, state=first.last_state)
    assert min(r["started_at"] for r in second.records) >= config["start_date"]


@pytest.mark.parametrize("lookback", [0, 120])
def test_a_rerun_whose_bookmark_reached_the_end_reads_at_most_the_lookback(sandbox, lookback):
    # Was a ValueError (zip over an empty window list) with lookback 0.
    config = tap_config(sandbox, days=1, lookback_minutes=lookback)
    first = run_tap(config)
    assert first.bookmark == config["end_date"]
    again = run_tap(config, state=first.last_state)
    assert again.bookmark == config["end_date"]
    floor = datetime.fromisoformat(config["end_date"]) - timedelta(minutes=lookback, seconds=1)
    assert all(r["started_at"] >= iso(floor) for r in again.records)
    if lookback == 0:
        assert again.records_of("sync_windows") == []
