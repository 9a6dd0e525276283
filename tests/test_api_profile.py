"""`api_profile`: what the probe found, pinned, reads fewer requests and stays exact.

The probe's recommended value is pasted as is; under the matching sandbox variant the sync
then costs fewer requests and still delivers every call exactly. A pin the API contradicts
is caught wherever the answers can show it: `filter_on: start` against an API that filters on
the end stops the run; `granularity: day` against an API that honours the time of day reads
each day again with safe bounds (nothing lost) and says so.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_acefone.errors import ApiProfileMismatchError
from tap_acefone.probe import Probe
from tap_acefone.tap import TapAcefone
from tap_acefone.windows import iter_local_days
from tests.taprun import iso, run_tap, tap_config
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in, truth_outside

SMALL_PAGES = {"page_size_max": 20, "days": 6}
# A long lookback: the tail read beyond end_date is what filter_on saves.
SYNC = {"window_hours": 6, "lookback_minutes": 720}


def backfill_config(sandbox, **settings):
    """Three days ending a day before the sandbox's now: the tail beyond end_date holds calls."""
    end = sandbox.clock.now() - timedelta(days=1)
    config = tap_config(sandbox, days=3, **SYNC, **settings)
    return {**config, "start_date": iso(end - timedelta(days=3)), "end_date": iso(end)}


def _requests_of(sandbox, config) -> tuple[int, list[dict]]:
    sandbox.reset_stats()
    run = run_tap(config)
    assert_exactly_once(run.records)
    # Edges: a date-only API answers whole days, also the calls after end_date on its day.
    later = [row for row in sandbox.truth() if iso(row.started_at) >= config["end_date"]]
    edges = truth_outside(sandbox, config) + later
    assert_matches_truth(run.records, truth_in(sandbox, config), edges)
    assert all(row["complete"] for row in run.records_of("sync_windows"))
    return sandbox.stats()["requests_total"], run.records_of("sync_windows")


@pytest.mark.parametrize(
    ("knobs", "saves"),
    [
        ({}, True),
        ({"to_bound": "exclusive"}, True),
        ({"bound_granularity": "day"}, True),
        ({"bound_granularity": "day", "sort_key": "day", "unstable_ties": True}, True),
        ({"filter_on": "end"}, False),
    ],
    ids=["inclusive", "to_date exclusive", "date only", "date only, reordered", "filters on end"],
)
def test_the_probes_profile_reads_fewer_requests_and_stays_exact(make_sandbox, knobs, saves):
    sandbox = make_sandbox(**SMALL_PAGES, **knobs)
    profile = Probe(tap_config(sandbox, days=1)).run()["recommended"]["api_profile"]
    assert profile
    config = backfill_config(sandbox)
    default, _ = _requests_of(sandbox, config)
    pinned, audit = _requests_of(sandbox, {**config, "api_profile": profile})
    if saves:
        assert pinned < default, (pinned, default)
    else:
        assert pinned == default
    if profile.get("granularity") == "day":
        assert all(row["date_only"] for row in audit)
        # Each day asked by its first second (the last window keeps its tail's bounds).
        assert all(row["local_from"] == row["local_to"] for row in audit[:-1])
        assert len({row["local_from"][:10] for row in audit[:-1]}) == len(audit) - 1


def test_a_filter_on_start_pin_the_api_contradicts_stops_the_run(make_sandbox):
    sandbox = make_sandbox(**SMALL_PAGES, filter_on="end")
    config = backfill_config(sandbox, api_profile={"filter_on": "start"})
    with pytest.raises(ApiProfileMismatchError) as failed:
        run_tap(config)
    message = str(failed.value)
    assert "api_profile pins filter_on start" in message
    assert "filters on the end of calls" in message
    run = failed.value.tap_run  # type: ignore[attr-defined]
    # Stopped before the run's end: its last window (the tail it would skip) is never done.
    assert all(bookmark < config["end_date"] for bookmark in run.bookmarks)


@pytest.mark.parametrize(
    "knobs",
    [{}, {"from_bound": "exclusive", "to_bound": "exclusive"}, {"filter_on": "end"}],
    ids=["inclusive", "both exclusive", "filters on end"],
)
def test_a_day_pin_on_an_api_that_honours_the_time_loses_nothing(make_sandbox, knobs, caplog):
    sandbox = make_sandbox(**SMALL_PAGES, **knobs)
    config = backfill_config(sandbox, api_profile={"granularity": "day"})
    with caplog.at_level(logging.WARNING):
        _, audit = _requests_of(sandbox, config)
    assert any(row["passes"] == 2 for row in audit)  # the day read again, safely
    warnings = [r.getMessage() for r in caplog.records if "pins granularity day" in r.getMessage()]
    assert len(warnings) == 1  # said once per run


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ({"filter_on": "middle"}, "filter_on"),
        ({"granularity": "hour"}, "granularity"),
        ({"filter": "start"}, "filter"),
    ],
)
def test_a_profile_the_tap_cannot_read_is_refused(make_sandbox, value, why):
    sandbox = make_sandbox()
    config = tap_config(sandbox, days=1, api_profile=value)
    with pytest.raises(ConfigValidationError) as refused:
        TapAcefone(config=config, validate_config=True, setup_mapper=False)
    assert any("api_profile" in error or why in error for error in refused.value.errors)


@pytest.mark.parametrize(
    ("first", "last", "hours"),
    [("2025-10-25", "2025-10-28", [24, 25, 24]), ("2026-03-28", "2026-03-31", [24, 23, 24])],
    ids=["autumn change", "spring change"],
)
def test_day_windows_follow_local_days_across_dst(first, last, hours):
    tz = ZoneInfo("Europe/London")
    start = datetime.fromisoformat(first).replace(tzinfo=tz)
    end = datetime.fromisoformat(last).replace(tzinfo=tz)
    days = list(iter_local_days(start, end, tz))
    assert [round((d.end - d.start).total_seconds() / 3600) for d in days] == hours
    assert all(a.end == b.start for a, b in itertools.pairwise(days))
    assert (days[0].start, days[-1].end) == (start, end)
    # Each day is asked by its own first second, as the account's wall clock reads it.
    second_day = (datetime.fromisoformat(first) + timedelta(days=1)).date().isoformat()
    assert days[1].query_bounds(tz) == (f"{second_day} 00:00:00",) * 2
    assert days[1].as_window().query_bounds(tz)[0].endswith("23:59:59")
