"""Exact under every API behaviour the vendor does not document: no guess may cost a call.

The sandbox plays each plausible answer to the open questions of acefone-api-notes.md (bound
semantics, ordering, envelope shapes, page size), the strictest included; the tap must
deliver every call, exactly, under each of them and under random combinations of them, and
keep its incremental guarantees: resuming after a crash, the lookback catching late and
changed calls, the audit trail matching what the API really served.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_acefone.errors import IncompleteWindowError
from tap_acefone.sandbox import Faults
from tests.taprun import iso, run_tap, tap_config
from tests.truth import (
    assert_exactly_once,
    assert_matches_truth,
    latest_by_id,
    truth_in,
    truth_outside,
)

# Small pages, so that every window is read over several of them.
SMALL_PAGES = {"page_size_max": 20}

# Each undocumented behaviour on its own; the strictest plausible answer included.
VARIANTS: dict[str, dict[str, Any]] = {
    "to_date exclusive": {"to_bound": "exclusive"},
    "from_date exclusive": {"from_bound": "exclusive"},
    "both bounds exclusive": {"from_bound": "exclusive", "to_bound": "exclusive"},
    "filters on the end of calls": {"filter_on": "end"},
    "filters on the date only": {"bound_granularity": "day"},
    "oldest first": {"order": "oldest"},
    "shuffled, stable": {"order": "shuffled"},
    "same-second ties reordered per request": {"unstable_ties": True},
    "sorted by day, a day reordered per request": {"sort_key": "day", "unstable_ties": True},
    "a fresh order on every request": {"order": "shuffled", "unstable_ties": True},
    "numbers as text": {"number_style": "string"},
    "numbers as floats": {"number_style": "float"},
    "no count": {"omit_count": True},
    "no count, a fresh order on every request": {
        "omit_count": True,
        "order": "shuffled",
        "unstable_ties": True,
    },
    "limit not echoed": {"omit_limit": True},
    "a page past the end repeats the last": {"past_end": "repeat_last"},
    "limit ignored": {"ignore_limit": True},
    "a second holding more calls than a page, reordered": {
        "burst_calls": 45,
        "unstable_ties": True,
    },
    "date only and a day reordered per request": {
        "bound_granularity": "day",
        "sort_key": "day",
        "unstable_ties": True,
    },
}


def _sync(make_sandbox, knobs: dict[str, Any], *, days: int = 3, **settings_: Any):
    sandbox = make_sandbox(**{**SMALL_PAGES, **knobs})
    config = tap_config(sandbox, days=days, **settings_)
    return sandbox, config, run_tap(config)


def assert_exact(sandbox, config, records) -> None:
    assert_exactly_once(records)
    assert_matches_truth(records, truth_in(sandbox, config), truth_outside(sandbox, config))


@pytest.mark.parametrize("knobs", VARIANTS.values(), ids=VARIANTS.keys())
def test_a_multi_day_sync_is_exact_under_each_variant(make_sandbox, knobs):
    sandbox, config, run = _sync(make_sandbox, knobs, window_hours=6)
    assert_exact(sandbox, config, run.records)
    audit = run.records_of("sync_windows")
    assert audit
    assert all(row["complete"] for row in audit)
    if knobs.get("number_style"):  # numbers as text or floats are still numbers
        assert all(row["api_count"] is not None for row in audit)


@pytest.mark.parametrize("knobs", VARIANTS.values(), ids=VARIANTS.keys())
def test_incremental_runs_stay_exact_under_each_variant(make_sandbox, knobs):
    # A crash in the middle of a window, a rerun from the last STATE, then two hours later
    # (calls landing late, recordings and notes added) a run from the stored bookmark.
    sandbox = make_sandbox(**{**SMALL_PAGES, **knobs})
    config = tap_config(sandbox, days=2, window_hours=8, lookback_minutes=120)
    seen = Counter()

    def crash_mid_window(message):
        seen[message["type"]] += 1
        if message["type"] == "RECORD" and seen["STATE"] >= 2 and seen["RECORD"] % 37 == 0:
            raise CrashError

    with pytest.raises(CrashError) as crashed:
        run_tap(config, on_message=crash_mid_window)
    first = crashed.value.tap_run
    resumed = run_tap(config, state=first.last_state)
    edges = truth_outside(sandbox, config)
    assert_matches_truth(first.records + resumed.records, truth_in(sandbox, config), edges)

    sandbox.clock.advance(timedelta(hours=2))
    later = dict(config, end_date=iso(sandbox.clock.now()))
    second = run_tap(later, state=resumed.last_state)
    delivered = first.records + resumed.records + second.records
    assert_matches_truth(delivered, truth_in(sandbox, later), truth_outside(sandbox, later))


@pytest.mark.parametrize(
    "knobs",
    [
        {"to_bound": "exclusive"},
        {"filter_on": "end"},
        {"sort_key": "day", "unstable_ties": True},
    ],
    ids=["to_date exclusive", "filters on end", "a day reordered per request"],
)
def test_the_bookmark_never_passes_a_call_not_yet_emitted(make_sandbox, knobs):
    sandbox, config, run = _sync(make_sandbox, knobs, window_hours=4)
    truth = truth_in(sandbox, config)
    emitted: set[str] = set()
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] == "call_records":
            emitted.add(message["record"]["id"])
        bookmark = (
            message.get("value", {}).get("bookmarks", {}).get("call_records", {})
            if message["type"] == "STATE"
            else {}
        ).get("replication_key_value")
        if bookmark is None:
            continue
        # In the key the API filters on: a call it selects by its end is served by the
        # window holding its end.
        key = "ended_at" if knobs.get("filter_on") == "end" else "started_at"
        behind = {r.id for r in truth if _iso(getattr(r, key) or r.started_at) < bookmark}
        assert behind <= emitted, sorted(behind - emitted)[:5]


def _iso(instant) -> str:
    return iso(instant)


class CrashError(Exception):
    """Stands for the process dying at an exact point of the run."""


@settings(
    max_examples=int(os.environ.get("VARIANT_EXAMPLES", "25")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=list(HealthCheck),
)
@given(
    bounds=st.sampled_from(
        [
            {},
            {"to_bound": "exclusive"},
            {"from_bound": "exclusive"},
            {"from_bound": "exclusive", "to_bound": "exclusive"},
            {"bound_granularity": "day"},
        ]
    ),
    key=st.sampled_from([{}, {"filter_on": "end"}]),
    order=st.sampled_from(
        [
            {},
            {"order": "oldest"},
            {"order": "shuffled"},
            {"unstable_ties": True},
            {"sort_key": "day", "unstable_ties": True},
            {"order": "shuffled", "unstable_ties": True},
        ]
    ),
    envelope=st.sampled_from(
        [{}, {"number_style": "string"}, {"number_style": "float"}, {"omit_limit": True}]
    ),
    paging=st.sampled_from([{}, {"past_end": "repeat_last"}, {"ignore_limit": True}]),
    page_size=st.sampled_from([7, 20, 100]),
    window_hours=st.sampled_from([1, 5, 24]),
    variant_seed=st.integers(0, 1000),
)
def test_random_combinations_of_variants_stay_exact(  # noqa: PLR0917 - one per strategy
    make_sandbox, bounds, key, order, envelope, paging, page_size, window_hours, variant_seed
):
    knobs = {**bounds, **key, **order, **envelope, **paging, "variant_seed": variant_seed}
    sandbox = make_sandbox(days=2, calls_per_day=120, page_size_max=page_size, **knobs)
    config = tap_config(sandbox, days=2, window_hours=window_hours)
    run = run_tap(config)
    assert_exact(sandbox, config, run.records)


def test_a_count_the_api_never_meets_fails_loudly_before_the_bookmark_passes(make_sandbox):
    sandbox = make_sandbox(**SMALL_PAGES, count_offset=1)
    config = tap_config(sandbox, days=2, window_hours=24)
    with pytest.raises(IncompleteWindowError, match=r"did not serve 1 of the \d+ calls") as err:
        run_tap(config)
    run = err.value.tap_run
    assert run.bookmark is None  # the first window is short: the bookmark never moved
    audit = run.records_of("sync_windows")
    assert audit[-1]["complete"] is False
    assert audit[-1]["shortfall"] == 1
    # Every call it did serve was delivered.
    first_window_end = audit[-1]["window_end"]
    expected = {r.id for r in truth_in(sandbox, config) if iso(r.started_at) < first_window_end}
    assert expected <= set(run.ids)


def test_with_on_incomplete_window_continue_a_short_window_is_logged_and_passed(
    make_sandbox, caplog
):
    sandbox = make_sandbox(**SMALL_PAGES, count_offset=1)
    config = tap_config(sandbox, days=2, window_hours=24, on_incomplete_window="continue")
    caplog.set_level("WARNING")
    run = run_tap(config)
    assert_exact(sandbox, config, run.records)
    assert run.bookmark == config["end_date"]
    audit = run.records_of("sync_windows")
    assert all(row["complete"] is False and row["shortfall"] == 1 for row in audit)
    assert any(
        "continuing (on_incomplete_window is continue)" in r.getMessage() for r in caplog.records
    )


def test_without_a_count_a_reordered_second_larger_than_a_page_is_said_out_loud(make_sandbox):
    # Parts that fit one page are complete whatever the order, count or not; but one second
    # holding more calls than a page, reordered on every request and without a count, cannot
    # be shown complete: the tap says so rather than guess.
    sandbox = make_sandbox(**SMALL_PAGES, omit_count=True, unstable_ties=True, burst_calls=45)
    config = tap_config(sandbox, days=1, window_hours=24)
    with pytest.raises(IncompleteWindowError, match="sends no count"):
        run_tap(config)


def test_a_window_split_into_parts_logs_each_split_and_costs_boundedly(make_sandbox, caplog):
    sandbox = make_sandbox(**SMALL_PAGES, sort_key="day", unstable_ties=True, log_requests=True)
    config = tap_config(sandbox, days=2, window_hours=24)
    caplog.set_level("INFO")
    run = run_tap(config)
    assert_exact(sandbox, config, run.records)
    splits = [r for r in caplog.records if "splitting" in r.getMessage()]
    audit = run.records_of("sync_windows")
    assert sum(row["splits"] for row in audit) == len(splits) > 0
    served = sum(row["distinct_served"] for row in audit)
    pages_floor = sum(-(-row["distinct_served"] // 20) for row in audit)
    # Parts sized to fit one page: a few times the fewest pages, not a pass per call.
    assert sum(row["requests"] for row in audit) <= 6 * pages_floor + 4 * len(audit)
    assert served >= len(truth_in(sandbox, config))


def test_every_request_of_a_split_window_asks_for_the_tap_s_page_size(make_sandbox):
    # The parts of a split window are fetched ahead. A part asked without the page size
    # gets the API's default page instead, and the read that follows asks again: every
    # such request is wasted budget.
    sandbox = make_sandbox(**SMALL_PAGES, sort_key="day", unstable_ties=True, log_requests=True)
    config = tap_config(sandbox, days=2, window_hours=24, page_size=50)
    run = run_tap(config)
    assert_exact(sandbox, config, run.records)
    assert sum(row["splits"] for row in run.records_of("sync_windows")) > 0
    asked = Counter(
        tuple(entry.params.get("limit", []))
        for entry in sandbox.request_log()
        if entry.path == "/v1/call/records"
    )
    assert set(asked) == {("50",)}, asked


def test_a_full_last_page_answered_again_past_the_end_ends_the_read(make_sandbox):
    # Without a count, a page past the end that repeats the last one is the only sign of
    # the end when the last page is full: the window is complete after those two requests.
    sandbox = make_sandbox(
        omit_count=True, past_end="repeat_last", page_size_max=1000, log_requests=True
    )
    config = tap_config(sandbox, days=1, window_hours=24)
    expected = truth_in(sandbox, config)
    run = run_tap({**config, "page_size": len(expected)})
    assert_matches_truth(run.records, expected)
    sizes = [e.size for e in sandbox.request_log() if e.path == "/v1/call/records"]
    assert sizes == [len(expected)] * 2
    assert [row["splits"] for row in run.records_of("sync_windows")] == [0]


def test_with_a_count_the_read_stops_at_the_last_page(make_sandbox):
    # Pages of exactly `count / pages` rows: the last one is full, so only the count says
    # it is the last, and a request past it would be wasted.
    sandbox = make_sandbox(calls_per_day=200, page_size_max=1000, log_requests=True)
    config = tap_config(sandbox, days=1, window_hours=24)
    run_tap({**config, "page_size": 1000})
    (count,) = [e.count for e in sandbox.request_log() if e.path == "/v1/call/records"]
    divisors = [d for d in range(2, count // 2 + 1) if count % d == 0 and count // d <= 20]
    assert divisors, f"the window's count {count} must split into equal pages for this test"
    sandbox.reset_stats()
    run = run_tap({**config, "page_size": divisors[0]})
    assert_matches_truth(run.records, truth_in(sandbox, config))
    sizes = [e.size for e in sandbox.request_log() if e.path == "/v1/call/records"]
    assert sizes == [divisors[0]] * (count // divisors[0])


def test_the_audit_rows_match_the_sandbox_request_log(make_sandbox):
    sandbox = make_sandbox(**SMALL_PAGES, unstable_ties=True, burst_calls=30, log_requests=True)
    sandbox.set_faults(Faults(fail_next=["429", "5xx"]))
    config = tap_config(sandbox, days=2, window_hours=12)
    run = run_tap(config)
    assert_exact(sandbox, config, run.records)
    log = [e for e in sandbox.request_log() if e.path == "/v1/call/records"]
    audit = run.records_of("sync_windows")
    assert sum(row["requests"] for row in audit) == len(log)
    for row in audit:
        mine = [
            e
            for e in log
            if row["local_from"] <= _param(e, "from_date")
            and _param(e, "to_date") <= row["local_to"]
        ]
        served = {i for e in mine if e.status == 200 for i in e.ids}
        assert row["distinct_served"] == len(served), row
        assert row["requests"] == len(mine), row
        whole = [
            e
            for e in mine
            if e.status == 200
            and _param(e, "from_date") == row["local_from"]
            and _param(e, "to_date") == row["local_to"]
        ]
        assert row["api_count"] == whole[-1].count
        assert row["complete"] == (row["distinct_served"] >= row["api_count"])
    emitted = Counter(r["id"] for r in run.records)
    assert sum(row["records_emitted"] for row in audit) == sum(emitted.values())


def _param(entry, name: str) -> str:
    return entry.params[name][0]


def test_latest_values_win_when_calls_change_between_runs(make_sandbox):
    sandbox, config, run = _sync(make_sandbox, {"sort_key": "day", "unstable_ties": True})
    sandbox.clock.advance(timedelta(hours=1))
    later = dict(config, end_date=iso(sandbox.clock.now()))
    again = run_tap(later, state=run.last_state)
    delivered = latest_by_id(run.records + again.records)
    truth = {row.id: row for row in truth_in(sandbox, later)}
    changed = [rid for rid, row in truth.items() if row.version > 1 and rid in delivered]
    assert changed
    assert_matches_truth(
        run.records + again.records, list(truth.values()), truth_outside(sandbox, later)
    )


BOUND_KINDS = {
    "inclusive": {},
    "to_date exclusive": {"to_bound": "exclusive"},
    "from_date exclusive": {"from_bound": "exclusive"},
    "both exclusive": {"from_bound": "exclusive", "to_bound": "exclusive"},
    "both exclusive, on the end": {
        "from_bound": "exclusive",
        "to_bound": "exclusive",
        "filter_on": "end",
    },
}


@pytest.mark.parametrize("knobs", BOUND_KINDS.values(), ids=BOUND_KINDS.keys())
def test_calls_on_the_very_second_of_a_window_boundary_are_never_lost(make_sandbox, knobs):
    # A burst of calls all starting in one second S (or, filtered on the end, the second the
    # most calls end in); windows cut exactly at S, and a run whose whole range is S alone.
    sandbox = make_sandbox(**knobs, burst_calls=6)
    key = "ended_at" if knobs.get("filter_on") == "end" else "started_at"
    seconds = Counter(getattr(row, key) for row in sandbox.truth())
    burst_second, size = seconds.most_common(1)[0]
    assert size >= (6 if key == "started_at" else 1)  # calls seldom end in the same second
    hour = timedelta(hours=1)
    around = tap_config(sandbox, days=1, window_hours=1, lookback_minutes=0)
    around.update(start_date=iso(burst_second - hour), end_date=iso(burst_second + hour))
    only = dict(
        around, start_date=iso(burst_second), end_date=iso(burst_second + timedelta(seconds=1))
    )
    for config in (around, only):
        run = run_tap(config)
        on_the_second = {row.id for row in sandbox.truth() if getattr(row, key) == burst_second}
        assert on_the_second <= set(run.ids), config


@pytest.mark.parametrize("style", ["int", "string", "float"])
def test_the_users_cursor_is_read_whatever_its_number_type(make_sandbox, style):
    sandbox = make_sandbox(users_number_style=style, page_size_max=3)
    run = run_tap(tap_config(sandbox, days=1))
    users = run.records_of("users")
    assert sorted(str(u["id"]) for u in users) == sorted(
        str(a.user_id) for a in sandbox.team.agents
    )


def test_a_date_only_answer_found_only_after_a_split_is_read_whole_not_part_by_part(
    make_sandbox, caplog
):
    # A window that is exactly one local day of a one-day account: a date-only API answers it
    # with exactly that day, so nothing shows it ignores the time until the window is split
    # (rows reordered per request make it short). Then every part would get the whole day
    # again: the tap reads the window again instead of each part.
    sandbox = make_sandbox(
        days=1, page_size_max=20, bound_granularity="day", sort_key="day", unstable_ties=True
    )
    now = sandbox.clock.now()
    midnight = now.astimezone(sandbox.config.tz).replace(hour=0, minute=0, second=0)
    config = tap_config(sandbox, days=1, window_hours=24)
    config["start_date"] = iso(midnight)
    caplog.set_level("INFO")
    run = run_tap(config)
    assert_exact(sandbox, config, run.records)
    (row,) = run.records_of("sync_windows")
    assert row["splits"] == 1
    assert row["date_only"] is True
    assert row["passes"] > 1
    fewest = -(-row["distinct_served"] // 20)
    assert row["requests"] <= 25 * fewest  # a few passes of the whole day, not one per part
