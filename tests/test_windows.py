"""Time arithmetic between UTC and the account's wall clock (pure functions, table-driven)."""

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_acefone.windows import (
    Window,
    iso_utc,
    iter_windows,
    offset_changes,
    parse_local,
    parse_local_stamp,
    parse_setting_instant,
    utc_iso_if_plain,
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


def test_query_bounds_reach_one_second_into_both_neighbours():
    # Inclusive or exclusive, the API cannot leave out a second of [start, end): from_date is
    # the second before start, to_date the first second after the window.
    window = Window(utc(2026, 3, 1, 18, 30), utc(2026, 3, 2, 18, 30))
    assert window.query_bounds(KOLKATA) == ("2026-03-01 23:59:59", "2026-03-03 00:00:00")


@pytest.mark.parametrize("from_exclusive", [False, True])
@pytest.mark.parametrize("to_exclusive", [False, True])
def test_every_second_of_a_window_is_inside_its_bounds_whatever_their_kind(
    from_exclusive, to_exclusive
):
    window = Window(utc(2026, 3, 1, 18, 30), utc(2026, 3, 1, 18, 40))
    low, high = window.query_bounds(KOLKATA)

    def selected(second: datetime) -> bool:
        local = second.astimezone(KOLKATA).strftime("%Y-%m-%d %H:%M:%S")
        above = local > low if from_exclusive else local >= low
        below = local < high if to_exclusive else local <= high
        return above and below

    seconds = [window.start + timedelta(seconds=n) for n in range(window.seconds)]
    assert all(selected(second) for second in seconds)


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
            ("2024-10-26 23:59:59", "2024-10-27 23:00:00"),
        ),
        # Spring: 01:00-01:59 local never happens; the bounds simply jump over it.
        (
            utc(2024, 3, 31, 0, 30),
            utc(2024, 3, 31, 1, 30),
            ("2024-03-31 00:29:59", "2024-03-31 02:30:00"),
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


def test_a_split_follows_where_the_calls_are():
    window = Window(utc(2026, 3, 1), utc(2026, 3, 2))
    base = window.start.timestamp()
    calls = [base + 60 * n for n in range(10)] + [base + 3600 * 20 + n for n in range(10)]
    parts = window.split(calls, most=5)
    assert parts[0].start == window.start
    assert parts[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    for part in parts:
        held = [t for t in calls if part.start.timestamp() <= t < part.end.timestamp()]
        assert len(held) <= 5


def test_a_second_holding_more_calls_than_a_part_may_stays_one_part():
    window = Window(utc(2026, 3, 1), utc(2026, 3, 1, 0, 10))
    burst = window.start.timestamp() + 300
    parts = window.split([burst] * 50 + [burst + 100], most=10)
    assert Window(utc(2026, 3, 1, 0, 5), utc(2026, 3, 1, 0, 5, 1)) in parts
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))


@settings(max_examples=300, deadline=None)
@given(
    seconds=st.lists(st.integers(min_value=0, max_value=59), max_size=60),
    most=st.sampled_from([1, 2, 3, 4.5, 7, 10]),
)
def test_a_split_cuts_only_where_a_page_would_overflow(seconds, most):
    # Each part is read with its own requests, so a needless cut costs a request for ever:
    # parts hold at most `most` of the calls seen (a busier second stays one part of its
    # own), and two neighbouring parts that both hold calls could not be one part.
    window = Window(utc(2026, 3, 1), utc(2026, 3, 1, 0, 1))
    calls = [window.start.timestamp() + s + 0.25 for s in seconds]
    parts = window.split(calls, most)
    assert parts[0].start == window.start
    assert parts[-1].end == window.end
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    held = [[t for t in calls if p.start.timestamp() <= t < p.end.timestamp()] for p in parts]
    for part in held:
        assert len(part) <= most or len({int(t) for t in part}) == 1
    if len(calls) > most:
        for a, b in itertools.pairwise(held):
            assert not (a and b) or len(a) + len(b) > most, (held, most)


def test_a_split_with_too_few_calls_seen_halves_the_window():
    window = Window(utc(2026, 3, 1), utc(2026, 3, 1, 0, 0, 11))
    assert window.split([], most=10) == [
        Window(utc(2026, 3, 1), utc(2026, 3, 1, 0, 0, 5)),
        Window(utc(2026, 3, 1, 0, 0, 5), utc(2026, 3, 1, 0, 0, 11)),
    ]
    one_second = Window(utc(2026, 3, 1), utc(2026, 3, 1, 0, 0, 1))
    assert one_second.split([], most=10) == [one_second]


ZONES = [
    ZoneInfo(name)
    for name in (
        "Asia/Kolkata",
        "Europe/London",
        "America/St_Johns",
        "Australia/Lord_Howe",  # half-hour DST
        "Asia/Kathmandu",
        "Africa/Monrovia",  # a -0:44:30 offset until 1972
    )
]


def _local_offset_changes(tz: ZoneInfo, first: int = 1880, last: int = 2040) -> list[datetime]:
    """The local readings at each offset change of `tz` (a daily scan, then bisection)."""
    changes = []
    day = datetime(first, 1, 1, tzinfo=UTC)
    offset = day.astimezone(tz).utcoffset()
    while day.year < last:
        following = day + timedelta(days=1)
        if following.astimezone(tz).utcoffset() != offset:
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
                if middle.astimezone(tz).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            changes.append(high.astimezone(tz).replace(tzinfo=None))
            offset = following.astimezone(tz).utcoffset()
        day = following
    return changes


NEAR_CHANGES = [(tz, change) for tz in ZONES for change in _local_offset_changes(tz)]


@settings(max_examples=3000, derandomize=True)
@given(
    near=st.sampled_from(NEAR_CHANGES),
    seconds=st.integers(-7200, 7200),
    hint_delta=st.one_of(st.none(), st.integers(-7200, 7200)),
)
def test_parse_local_agrees_with_the_zone_database_around_every_change(near, seconds, hint_delta):
    """parse_local caches offsets per local hour; each answer must be the zone's own.

    Readings within two hours of every offset change since 1880 in zones with half-hour
    DST (Lord Howe) and historical changes in the middle of an hour.
    """
    tz, change = near
    naive = change + timedelta(seconds=seconds)
    readings = [naive.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)]
    hint = None if hint_delta is None else readings[1].timestamp() + hint_delta
    day, clock = naive.strftime("%Y-%m-%d"), naive.strftime("%H:%M:%S")
    expected = readings[0]
    if hint is not None and readings[0] != readings[1]:
        hinted = datetime.fromtimestamp(hint, UTC)
        best = min(readings, key=lambda reading: abs(reading - hinted))
        expected = best if abs(best - hinted) <= timedelta(minutes=30) else readings[0]
    assert parse_local(day, clock, tz, hint) == expected


@settings(max_examples=3000, derandomize=True)
@given(near=st.sampled_from(NEAR_CHANGES), seconds=st.integers(-7200, 7200))
def test_the_quick_path_agrees_with_the_general_one_wherever_it_answers(near, seconds):
    # Around every offset change: it answers only for hours with one offset, and then
    # exactly as parse_local_stamp (which the records' instants fall back on).
    tz, change = near
    stamp = (change + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
    quick = utc_iso_if_plain(stamp, tz)
    general = parse_local_stamp(stamp, tz)
    if quick is not None:
        assert general is not None
        assert quick == iso_utc(general)


@pytest.mark.parametrize(
    ("stamp", "tz", "expected"),
    [
        ("2026-03-12 22:21:48", KOLKATA, "2026-03-12T16:51:48+00:00"),
        ("2026-07-01 00:00:00", LONDON, "2026-06-30T23:00:00+00:00"),
        ("2026-01-01 00:00:00", LONDON, "2026-01-01T00:00:00+00:00"),
    ],
)
def test_the_quick_path_answers_plain_stamps(stamp, tz, expected):
    assert utc_iso_if_plain(stamp, tz) == expected


@pytest.mark.parametrize(
    ("stamp", "tz"),
    [
        ("2026-10-25 01:30:00", LONDON),  # the repeated hour: an epoch hint decides
        ("2026-03-29 01:30:00", LONDON),  # the skipped hour
        ("2026-03-12T22:21:48", KOLKATA),  # other spellings
        ("2026-03-12 22:21:4 ", KOLKATA),
        ("2026-W11-4 22:21:48", KOLKATA),
        ("2026-02-30 10:00:00", KOLKATA),  # no such day
        ("0000-00-00 00:00:00", KOLKATA),
        ("0001-01-01 00:00:00", KOLKATA),  # before year 1 in UTC
        ("2026-03-12 22:61:00", KOLKATA),
    ],
)
def test_the_quick_path_leaves_everything_else_to_the_general_one(stamp, tz):
    assert utc_iso_if_plain(stamp, tz) is None
