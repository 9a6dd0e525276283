"""Time arithmetic between UTC and the account's wall clock (pure functions, table-driven)."""

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tap_acefone.windows import (
    Window,
    iter_windows,
    offset_changes,
    parse_local,
    parse_local_stamp,
    parse_setting_instant,
)

UTC = timezone.utc
KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_windows_partition_the_range_without_gap_or_overlap():
    start, end = utc(2026, 3, 1, 5, 17, 3), utc(2026, 3, 4, 1, 0, 0)
    windows = list(iter_windows(start, end, 24))
    assert windows[0].start == start
    assert windows[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert all(w.end - w.start <= timedelta(hours=24) for w in windows)
    assert len(windows) == 3  # 2 days 19 h 43 min


def test_empty_range_has_no_window():
    assert list(iter_windows(utc(2026, 3, 1), utc(2026, 3, 1), 24)) == []


def test_query_bounds_are_local_and_stop_one_second_before_the_next_window():
    window = Window(utc(2026, 3, 1, 18, 30), utc(2026, 3, 2, 18, 30))
    assert window.query_bounds(KOLKATA) == ("2026-03-02 00:00:00", "2026-03-02 23:59:59")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Autumn: 01:00-01:59 local happens twice; a window on either side of the change
        # must ask for the whole repeated hour.
        (
            utc(2024, 10, 27, 0, 30),
            utc(2024, 10, 27, 1, 30),
            ("2024-10-27 01:00:00", "2024-10-27 01:59:59"),
        ),
        (
            utc(2024, 10, 26, 23, 0),
            utc(2024, 10, 27, 23, 0),
            ("2024-10-27 00:00:00", "2024-10-27 22:59:59"),
        ),
        # Spring: 01:00-01:59 local never happens; the bounds simply jump over it.
        (
            utc(2024, 3, 31, 0, 30),
            utc(2024, 3, 31, 1, 30),
            ("2024-03-31 00:30:00", "2024-03-31 02:29:59"),
        ),
    ],
)
def test_query_bounds_cover_every_instant_across_dst(start, end, expected):
    assert Window(start, end).query_bounds(LONDON) == expected


def test_offset_changes_finds_the_exact_second():
    assert offset_changes(utc(2024, 10, 26, 12), utc(2024, 10, 27, 12), LONDON) == [
        utc(2024, 10, 27, 1, 0, 0)
    ]
    assert offset_changes(utc(2024, 10, 26, 12), utc(2024, 10, 27, 12), KOLKATA) == []


@pytest.mark.parametrize(
    ("day", "clock", "tz", "hint", "expected"),
    [
        ("2024-05-02", "19:19:59", KOLKATA, None, utc(2024, 5, 2, 13, 49, 59)),
        ("2024-07-01", "09:00:00", LONDON, None, utc(2024, 7, 1, 8, 0, 0)),
        ("2024-12-01", "09:00:00", LONDON, None, utc(2024, 12, 1, 9, 0, 0)),
        # Repeated hour: the hint picks the occurrence; without one, the first.
        ("2024-10-27", "01:30:00", LONDON, None, utc(2024, 10, 27, 0, 30)),
        (
            "2024-10-27",
            "01:30:00",
            LONDON,
            utc(2024, 10, 27, 0, 30, 4).timestamp(),
            utc(2024, 10, 27, 0, 30),
        ),
        (
            "2024-10-27",
            "01:30:00",
            LONDON,
            utc(2024, 10, 27, 1, 30, 2).timestamp(),
            utc(2024, 10, 27, 1, 30),
        ),
        # A hint far from both readings is ignored.
        ("2024-10-27", "01:30:00", LONDON, utc(2024, 10, 20).timestamp(), utc(2024, 10, 27, 0, 30)),
        ("2024-05-02", "7:05", KOLKATA, None, utc(2024, 5, 2, 1, 35)),
        ("2024-02-30", "10:00:00", KOLKATA, None, None),
        ("", "", KOLKATA, None, None),
        (None, "10:00:00", KOLKATA, None, None),
        (20240502, "10:00:00", KOLKATA, None, None),
    ],
)
def test_parse_local(day, clock, tz, hint, expected):
    assert parse_local(day, clock, tz, hint) == expected


@pytest.mark.parametrize("stamp", ["0000-00-00 00:00:00", "", None, "garbage", 1714657857])
def test_invalid_end_stamps_are_none(stamp):
    assert parse_local_stamp(stamp, KOLKATA) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", utc(2026, 2, 28, 18, 30)),
        ("2026-03-01T06:00:00", utc(2026, 3, 1, 0, 30)),
        ("2026-03-01T06:00:00Z", utc(2026, 3, 1, 6)),
        ("2026-03-01T06:00:00+01:00", utc(2026, 3, 1, 5)),
    ],
)
def test_setting_instants_without_offset_are_account_local(text, expected):
    assert parse_setting_instant(text, KOLKATA) == expected


def test_setting_instant_rejects_non_iso():
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_setting_instant("01/03/2026", KOLKATA)
