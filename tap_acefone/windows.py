"""Time arithmetic between UTC instants and the account's local wall clock.

The Acefone API speaks naive local wall-clock time ("Y-m-d H:i:s" in the account's time zone)
both in its query bounds and in each record's `date`/`time`/`end_stamp`. Everything the tap
stores is UTC. This module is the only place that converts between the two, as pure functions.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from typing_extensions import override

UTC = timezone.utc
# An epoch hint for an ambiguous reading, or a function computing it on demand.
Hint = float | Callable[[], float | None] | None
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
ONE_SECOND = timedelta(seconds=1)
# Offsets change at most a few times a year; one probe an hour finds any change inside a
# window, and bisection then pins it to the second.
_PROBE_STEP = timedelta(hours=1)
# An epoch hint further than this from both readings of an ambiguous wall clock is not a hint.
_HINT_TOLERANCE = timedelta(minutes=30)
_CANONICAL_LENGTH = len("2026-03-09 10:00:00")
_LAST_SECOND_OF_HOUR = timedelta(minutes=59, seconds=59)
_CANONICAL_HOUR = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}")
_HOUR_PARTS = re.compile("[- ]")
_LOCAL_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


@dataclass(frozen=True)
class Window:
    """A closed-open UTC interval `[start, end)` whose calls one paged query must return.

    Whether the API's `from_date`/`to_date` are inclusive or exclusive is undocumented, so
    each query asks from one second before `start` through `end` (the next window's first
    second): under every one of the four combinations, every second of `[start, end)` lies
    inside the bounds, and with inclusive bounds only the two shared seconds are read twice
    (the ids already emitted are dropped).
    """

    start: datetime
    end: datetime

    def query_bounds(self, tz: ZoneInfo) -> tuple[str, str]:
        """Return `(from_date, to_date)`: local readings covering `[start - 1 s, end]`.

        Around a backward clock change (the autumn repeated hour) local time is not
        monotonic, so the bounds are the smallest and largest local readings of any instant
        in that range rather than the readings of its two ends.
        """
        first, last = self.start - ONE_SECOND, self.end
        readings = [to_local(first, tz), to_local(last, tz)]
        for change in offset_changes(first, last, tz):
            readings += [to_local(change - ONE_SECOND, tz), to_local(change, tz)]
        return min(readings), max(readings)

    @property
    def seconds(self) -> int:
        """Whole seconds in the window: a window of one second cannot be split."""
        return int((self.end - self.start).total_seconds())

    def split(self, instants: Sequence[float], most: float) -> list[Window]:
        """Cut the window at whole seconds into parts holding at most `most` of `instants`.

        `instants` are the Unix start times of the calls seen in the window: parts follow
        where the calls are, so each part is likely to fit one page. A second holding more
        than `most` calls stays one part of its own. When the calls seen give no cut (too few
        of them), the window is halved. Never fewer than two parts unless the window is one
        second long.
        """
        low, high = self.start.timestamp(), self.end.timestamp()
        per_second = Counter(math.floor(t) for t in instants if low <= t < high)
        cuts: list[float] = []
        in_part = 0
        for second in sorted(per_second):
            calls = per_second[second]
            if in_part + calls > most and second > (cuts[-1] if cuts else low):
                cuts.append(second)
                in_part = 0
            in_part += calls
            if in_part >= most and second + 1 < high:
                cuts.append(second + 1)
                in_part = 0
        if not cuts and self.seconds > 1:
            cuts = [low + self.seconds // 2]
        bounds = [self.start, *(datetime.fromtimestamp(cut, UTC) for cut in cuts), self.end]
        return [Window(a, b) for a, b in itertools.pairwise(bounds)]

    def describe(self, tz: ZoneInfo) -> str:
        """Human-readable bounds for logs, in UTC and in the account's time zone."""
        low, high = self.query_bounds(tz)
        return f"{iso_utc(self.start)} .. {iso_utc(self.end)} (local {low} .. {high} {tz.key})"


def iso_utc(instant: datetime) -> str:
    """Format an instant the one way the tap emits and compares them: `...+00:00`, seconds."""
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    if instant.microsecond == 0:  # the common case; isoformat() alone is faster
        return instant.isoformat()
    return instant.isoformat(timespec="seconds")


def to_local(instant: datetime, tz: ZoneInfo) -> str:
    """Render a UTC instant as the API's local wall-clock string."""
    return instant.astimezone(tz).strftime(LOCAL_FORMAT)


def offset_changes(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """Return the instants in `(start, end]` at which the zone's UTC offset changes."""
    changes: list[datetime] = []
    probe = start
    while probe < end:
        nxt = min(probe + _PROBE_STEP, end)
        if probe.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            changes.append(_bisect_change(probe, nxt, tz))
        probe = nxt
    return changes


def _bisect_change(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """Find the first second at which the offset differs from the offset at `before`."""
    offset = before.astimezone(tz).utcoffset()
    while after - before > ONE_SECOND:
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).utcoffset() == offset:
            before = middle
        else:
            after = middle
    return after


def iter_windows(start: datetime, end: datetime, hours: int) -> Iterator[Window]:
    """Slice `[start, end)` into consecutive windows of at most `hours` hours."""
    start = start.astimezone(UTC).replace(microsecond=0)
    end = end.astimezone(UTC).replace(microsecond=0)
    size = timedelta(hours=hours)
    while start < end:
        stop = min(start + size, end)
        yield Window(start, stop)
        start = stop


def parse_local(day: object, clock: object, tz: ZoneInfo, hint: Hint = None) -> datetime | None:
    """Turn the record's local `date` and `time` into a UTC instant, or None if unreadable.

    In the autumn repeated hour one wall-clock reading names two instants. The record's own
    epoch timestamps (the `call_id` prefix, `call_flow` times) say which one was meant; without
    such a hint the first occurrence is assumed. A reading inside the spring gap never comes
    from a real call; it is read with the offset in force before the gap. `hint` may be a
    function: it is called only for such a reading, so most records never pay for it.
    """
    if not isinstance(day, str) or not isinstance(clock, str):
        return None
    return _resolve(_parse_naive(f"{day} {clock}"), tz, hint)


def parse_local_stamp(stamp: object, tz: ZoneInfo, hint: Hint = None) -> datetime | None:
    """Parse a local `Y-m-d H:i:s` stamp such as `end_stamp`; None when invalid (0000-00-00)."""
    if not isinstance(stamp, str):
        return None
    return _resolve(_parse_naive(stamp), tz, hint)


def utc_iso_if_plain(text: str, tz: ZoneInfo) -> str | None:
    """`iso_utc` of a local `Y-m-d H:i:s` stamp in an hour with one offset; None otherwise.

    Nearly every stamp the API sends is such a one, and this path (one cached offset per
    local hour, C-level parsing and formatting) costs a fifth of the general one's function
    calls. None means only "not the plain case": the caller then takes `parse_local` or
    `parse_local_stamp`, which decide everything else (ambiguous and skipped hours,
    variant spellings, unreadable text) and agree with this path wherever it answers
    (tests/test_windows.py).
    """
    if len(text) != _CANONICAL_LENGTH or text[13] != ":" or text[16] != ":":
        return None
    offset = _plain_hour_offset(tz, text[:13])
    if offset is None:
        return None
    try:
        return (datetime.fromisoformat(text) - offset).isoformat() + "+00:00"
    except (ValueError, OverflowError):  # no such minute or second; beyond year 1 or 9999
        return None


@lru_cache(maxsize=8192)
def _plain_hour_offset(tz: ZoneInfo, hour_text: str) -> timedelta | None:
    """The one UTC offset of a local hour written `Y-m-d H`; None if it has two or is unreal."""
    if not _CANONICAL_HOUR.fullmatch(hour_text):
        return None
    year, month, day, hour = (int(part) for part in _HOUR_PARTS.split(hour_text))
    try:
        offsets = _hour_offsets(tz, year, month, day, hour)
    except ValueError:  # no such day or hour
        return None
    if offsets is None or offsets[0] != offsets[1]:
        return None
    return offsets[0]


def _parse_naive(text: str) -> datetime | None:
    match = _LOCAL_RE.match(text)
    if not match:
        return None
    if len(text) == _CANONICAL_LENGTH:  # "Y-m-d H:i:s" exactly, as the API writes it
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # read it field by field below
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:  # no such day or hour (2026-02-30, 24:00:00)
        return None


def _resolve(naive: datetime | None, tz: ZoneInfo, hint: Hint) -> datetime | None:
    if naive is None:
        return None
    offsets = _hour_offsets(tz, naive.year, naive.month, naive.day, naive.hour)
    if offsets is None:  # an offset change inside this hour: ask the zone for this second
        offsets = _offsets_at(tz, naive)
    first = (naive - offsets[0]).replace(tzinfo=UTC)
    if offsets[0] == offsets[1]:
        return first
    epoch = hint() if callable(hint) else hint
    if epoch is None:
        return first
    second = (naive - offsets[1]).replace(tzinfo=UTC)
    hinted = datetime.fromtimestamp(epoch, UTC)
    best = min((first, second), key=lambda candidate: abs(candidate - hinted))
    return best if abs(best - hinted) <= _HINT_TOLERANCE else first


@lru_cache(maxsize=8192)
def _hour_offsets(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int
) -> tuple[timedelta, timedelta] | None:
    """The UTC offsets of both readings (fold 0 and 1) of a local hour, if the same all hour.

    Calls cluster in few hours, so this turns two zone lookups per timestamp into one cache
    hit. An hour in which an offset changes (a few historical ones change mid-hour) is not
    cached: its timestamps are resolved one by one.
    """
    start = datetime(year, month, day, hour)
    at_start = _offsets_at(tz, start)
    at_end = _offsets_at(tz, start + _LAST_SECOND_OF_HOUR)
    return at_start if at_start == at_end else None


def _offsets_at(tz: ZoneInfo, naive: datetime) -> tuple[timedelta, timedelta]:
    first = naive.replace(tzinfo=tz, fold=0).utcoffset()
    second = naive.replace(tzinfo=tz, fold=1).utcoffset()
    return first or timedelta(0), second or timedelta(0)


def parse_setting_instant(value: str, tz: ZoneInfo) -> datetime:
    """Read `start_date`/`end_date`: ISO 8601, a bare date or naive time meaning account-local.

    Raises ValueError with the offending text when the value is not ISO 8601.
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(text), time())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class DayWindow(Window):
    """A local day (or the part of it a run covers), asked by its first second alone.

    An API that filters on the date alone answers `from_date` = `to_date` = any second of a
    day with the whole day, so a day costs one query instead of the two or three days the
    overlapping bounds of a plain window reach. Asked of an API that honours the time of day,
    the same query serves that one second only; the reader notices (no call outside the
    bounds) and reads the day again as a plain `Window` (`as_window`), so nothing is lost.
    """

    @override
    def query_bounds(self, tz: ZoneInfo) -> tuple[str, str]:
        """Return `(from_date, to_date)`: the local reading of the first second, twice."""
        first = to_local(self.start, tz)
        return first, first

    def as_window(self) -> Window:
        """The same span with the bounds that are right under every API."""
        return Window(self.start, self.end)


def iter_local_days(start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[DayWindow]:
    """Slice `[start, end)` at the account's local midnights (days of 23 or 25 hours too)."""
    start = start.astimezone(UTC).replace(microsecond=0)
    end = end.astimezone(UTC).replace(microsecond=0)
    while start < end:
        local_day = start.astimezone(tz).date()
        midnight = datetime.combine(local_day + timedelta(days=1), time(), tz).astimezone(UTC)
        stop = min(midnight, end)
        yield DayWindow(start, stop)
        start = stop
