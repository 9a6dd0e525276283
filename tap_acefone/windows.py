"""Time arithmetic between UTC instants and the account's local wall clock.

The Acefone API speaks naive local wall-clock time ("Y-m-d H:i:s" in the account's time zone)
both in its query bounds and in each record's `date`/`time`/`end_stamp`. Everything the tap
stores is UTC. This module is the only place that converts between the two, as pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
ONE_SECOND = timedelta(seconds=1)
# Offsets change at most a few times a year; one probe an hour finds any change inside a
# window, and bisection then pins it to the second.
_PROBE_STEP = timedelta(hours=1)
# An epoch hint further than this from both readings of an ambiguous wall clock is not a hint.
_HINT_TOLERANCE = timedelta(minutes=30)
_LOCAL_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


@dataclass(frozen=True)
class Window:
    """A closed-open UTC interval `[start, end)` read with one paged query.

    The API's bounds are inclusive and have one-second granularity, so the query for
    `[start, end)` asks for `start .. end - 1s` and adjacent windows never share a second.
    """

    start: datetime
    end: datetime

    def query_bounds(self, tz: ZoneInfo) -> tuple[str, str]:
        """Return `(from_date, to_date)` in local wall-clock time covering every instant.

        Around a backward clock change (the autumn repeated hour) local time is not
        monotonic, so the bounds are the smallest and largest local readings of any instant
        in the window rather than the readings of its two ends.
        """
        last = self.end - ONE_SECOND
        readings = [to_local(self.start, tz), to_local(last, tz)]
        for change in offset_changes(self.start, last, tz):
            readings += [to_local(change - ONE_SECOND, tz), to_local(change, tz)]
        return min(readings), max(readings)

    def describe(self, tz: ZoneInfo) -> str:
        """Human-readable bounds for logs, in UTC and in the account's time zone."""
        low, high = self.query_bounds(tz)
        return f"{iso_utc(self.start)} .. {iso_utc(self.end)} (local {low} .. {high} {tz.key})"


def iso_utc(instant: datetime) -> str:
    """Format an instant the one way the tap emits and compares them: `...+00:00`, seconds."""
    return instant.astimezone(UTC).isoformat(timespec="seconds")


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


def parse_local(
    day: object, clock: object, tz: ZoneInfo, hint: float | None = None
) -> datetime | None:
    """Turn the record's local `date` and `time` into a UTC instant, or None if unreadable.

    In the autumn repeated hour one wall-clock reading names two instants. The record's own
    epoch timestamps (the `call_id` prefix, `call_flow` times) say which one was meant; without
    such a hint the first occurrence is assumed. A reading inside the spring gap never comes
    from a real call; it is read with the offset in force before the gap.
    """
    if not isinstance(day, str) or not isinstance(clock, str):
        return None
    return _resolve(_parse_naive(f"{day} {clock}"), tz, hint)


def parse_local_stamp(stamp: object, tz: ZoneInfo, hint: float | None = None) -> datetime | None:
    """Parse a local `Y-m-d H:i:s` stamp such as `end_stamp`; None when invalid (0000-00-00)."""
    if not isinstance(stamp, str):
        return None
    return _resolve(_parse_naive(stamp), tz, hint)


def _parse_naive(text: str) -> datetime | None:
    match = _LOCAL_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _resolve(naive: datetime | None, tz: ZoneInfo, hint: float | None) -> datetime | None:
    if naive is None:
        return None
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second or hint is None:
        return first
    hinted = datetime.fromtimestamp(hint, UTC)
    best = min((first, second), key=lambda candidate: abs(candidate - hinted))
    return best if abs(best - hinted) <= _HINT_TOLERANCE else first


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
