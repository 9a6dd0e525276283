"""The timezone self-check: every sync compares each record's own clock with its started_at.

A wrong `timezone` shifts every `started_at` by hours and nothing else notices; the records'
own Unix times (call_id, call_flow) do. A sync with the wrong setting fails before a bookmark
moves, naming the offset the data shows and the zones that fit it; a right one never trips,
across DST changes; a few odd records are only counted in `sync_windows.clock_mismatches`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tap_acefone.audit import WindowAudit
from tap_acefone.clocks import MIN_EVIDENCE, fitting_zones, format_offset, read_clock
from tap_acefone.errors import TimezoneMismatchError
from tap_acefone.selfchecks import SyncChecks
from tap_acefone.tap import TapAcefone
from tap_acefone.windows import Window
from tests.taprun import run_tap, run_tap_cli, tap_config
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in, truth_outside

LONDON, KOLKATA = "Europe/London", "Asia/Kolkata"
# Sandboxes whose days span the UK's clock changes (the change is on the Sunday).
AUTUMN_CHANGE = datetime(2025, 10, 27, 12, 0, tzinfo=timezone.utc)
SPRING_CHANGE = datetime(2026, 3, 30, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("account", "setting", "seen", "fits"),
    [
        (LONDON, KOLKATA, "UTC+00:00", LONDON),
        (KOLKATA, LONDON, "UTC+05:30", KOLKATA),
    ],
    ids=["Kolkata set for a London account", "London set for a Kolkata account"],
)
def test_a_wrong_timezone_fails_before_any_bookmark_moves(
    make_sandbox, account, setting, seen, fits
):
    sandbox = make_sandbox(timezone=account, days=4)
    # A first run with the right setting leaves a bookmark; the wrong one must not move it.
    first = run_tap(tap_config(sandbox, days=3, timezone=account))
    before = first.last_state
    sandbox.clock.advance(timedelta(hours=6))
    config = tap_config(sandbox, days=3, timezone=setting)
    with pytest.raises(TimezoneMismatchError) as failed:
        run_tap(config, state=before)
    message = str(failed.value)
    assert f"timezone is {setting}" in message
    assert f"say {seen} " in message
    assert re.search(rf"which fits [^;]*\b{re.escape(fits)}\b", message), message
    assert "set timezone" in message
    run = failed.value.tap_run  # type: ignore[attr-defined]
    # Every STATE the failed run wrote (if any) still holds the bookmark it was given.
    given = before["bookmarks"]["call_records"]["replication_key_value"]
    assert run.bookmarks <= {given}
    # The page that showed it was not written: no misdated record reached the target.
    assert not run.records


def test_a_wrong_timezone_is_one_line_and_a_non_zero_exit_on_the_command_line(
    make_sandbox, tmp_path
):
    sandbox = make_sandbox(timezone=LONDON)
    done = run_tap_cli(tap_config(sandbox, days=2, timezone=KOLKATA), tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "records' own clocks" in line]
    assert len(errors) == 1, done.stderr[-2000:]
    assert "UTC+00:00" in errors[0]
    assert "Europe/London" in errors[0]
    assert '"bookmarks"' not in done.stdout


@pytest.mark.parametrize(
    ("account", "now"),
    [
        (LONDON, AUTUMN_CHANGE),
        (LONDON, SPRING_CHANGE),
        (KOLKATA, AUTUMN_CHANGE),
    ],
    ids=["London over the autumn change", "London over the spring change", "Kolkata"],
)
def test_the_right_timezone_never_trips_the_check(make_sandbox, account, now):
    sandbox = make_sandbox(timezone=account, now=now, days=4, calls_per_day=400)
    config = tap_config(sandbox, days=4, timezone=account, window_hours=6)
    run = run_tap(config)
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config), truth_outside(sandbox, config))
    audit = run.records_of("sync_windows")
    assert audit
    assert all(row["clock_mismatches"] == 0 for row in audit)
    # Every record was checked: each carries its own instant.
    assert all(read_clock(record) is not None for record in run.records)


def _records(sandbox, tz: str) -> list[dict]:
    tap = TapAcefone(config=tap_config(sandbox, days=1, timezone=tz), setup_mapper=False)
    stream = tap.streams["call_records"]
    return [stream.conform(dict(row.record)) for row in sandbox.truth()]


def _shift_call_id(record: dict, hours: int) -> dict:
    epoch = read_clock(record).instant
    return {**record, "call_id": f"{int(epoch) - hours * 3600}.1", "call_flow": []}


def test_a_few_odd_records_are_only_counted(make_sandbox):
    sandbox = make_sandbox(timezone=LONDON)
    records = _records(sandbox, LONDON)[: 3 * MIN_EVIDENCE]
    odd = {5, 17, 40}
    checks = SyncChecks(ZoneInfo(LONDON))
    window = Window(datetime(2026, 3, 9, tzinfo=timezone.utc), SANDBOX_END)
    audit = WindowAudit(window, window)
    for number, record in enumerate(records):
        served = _shift_call_id(record, 7) if number in odd else record
        audit.clock_mismatches += checks.emitted(served)
        if number % 10 == 9:
            checks.page_read(window, date_only=False)
    checks.window_read(window)
    assert audit.clock_mismatches == len(odd)
    assert audit.row(run_id="r", run_started=SANDBOX_END, tz=ZoneInfo(LONDON))[
        "clock_mismatches"
    ] == len(odd)


def test_odd_records_that_are_not_a_whole_offset_never_fail_a_window(make_sandbox):
    # A call_id epoch minted at another moment (minutes off, not a UTC offset) is odd data,
    # not a wrong setting, even where it is most of a page.
    sandbox = make_sandbox(timezone=LONDON)
    records = _records(sandbox, LONDON)[:MIN_EVIDENCE]
    checks = SyncChecks(ZoneInfo(LONDON))
    window = Window(datetime(2026, 3, 9, tzinfo=timezone.utc), SANDBOX_END)
    for record in records:
        epoch = read_clock(record).instant
        skewed = {**record, "call_id": f"{int(epoch) - 437}.1", "call_flow": []}
        assert checks.emitted(skewed)
    checks.page_read(window, date_only=False)
    checks.window_read(window)


def test_the_zones_named_fit_the_offset_on_both_sides_of_a_dst_change():
    winter = datetime(2026, 1, 15, 12, tzinfo=timezone.utc).timestamp()
    summer = datetime(2026, 7, 15, 12, tzinfo=timezone.utc).timestamp()
    both = fitting_zones([(winter, 0), (summer, 3600)])
    assert both[0] == LONDON
    assert "UTC" not in both
    assert "Africa/Abidjan" not in both  # +00:00 all year
    winter_only = fitting_zones([(winter, 0)])
    assert {LONDON, "UTC", "Africa/Abidjan"} <= set(winter_only)
    assert fitting_zones([(winter, 19800)])[0] == KOLKATA
    assert "Asia/Calcutta" not in fitting_zones([(winter, 19800)])  # links are not repeated
    assert format_offset(19800) == "UTC+05:30"
    assert format_offset(-12600) == "UTC-03:30"


def test_the_check_can_be_switched_off_by_the_api_profile(make_sandbox):
    sandbox = make_sandbox(timezone=LONDON)
    config = tap_config(
        sandbox, days=2, timezone=KOLKATA, api_profile={"check_record_clocks": False}
    )
    run = run_tap(config)
    assert run.records
    assert run.bookmarks


SANDBOX_END = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
