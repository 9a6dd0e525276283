"""The records' own clocks: what the data says the account's UTC offset is.

The API writes `date` and `time` on the account's wall clock, and the tap turns them into
`started_at` with the `timezone` setting; nothing in the API says which zone that is. But most
records also carry their true start as a Unix time: the epoch in `call_id` and in the
`call_flow` times (`records.start_epoch_hint`). Their difference is the account's UTC offset
as the data shows it, so a wrong `timezone` (every `started_at` shifted by hours, silently)
is visible in the data itself. The sync checks every record it emits (`ClockCheck`), the
probe reports the offset (`offset_report`).

A record is a *mismatch* when its own instant and `started_at` differ by more than
`TOLERANCE` (real epochs run up to half a minute before the start: ring time). A wrong zone
shifts most records by a whole quarter hour multiple, the grid every UTC offset in use is on;
a few odd records (a call_id minted elsewhere) are only counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from tap_acefone.records import start_epoch_hint

UTC = timezone.utc
# A record's own instant may lie this far from started_at before it counts as a mismatch.
TOLERANCE = 300.0
# Every UTC offset in use today is a whole number of quarter hours.
GRID = 900
# A mismatch within this of a quarter-hour offset looks like a wrong time zone.
ALIGNED = 120.0
# Readings pooled before the sync judges them (within a page), and the least it judges on
# before a window's bookmark.
MIN_EVIDENCE = 20
MIN_EVIDENCE_AT_WINDOW_END = 3
# Readings a zone must fit to be named (spread over the mismatches seen).
FIT_SAMPLES = 24
# Zones a message names before "and N more"; the brands' own zones come first.
NAMED_ZONES = 8
PREFERRED_ZONES = ("Asia/Kolkata", "Europe/London", "UTC")


@dataclass(frozen=True)
class ClockReading:
    """One record's own clock against the tap's reading of its wall clock.

    `instant` is the record's own Unix start; `offset` its wall clock minus that instant,
    rounded to the quarter hour (the account's UTC offset as this record shows it);
    `deviation` is `started_at` minus `instant`; `aligned` says the unrounded offset lies
    within `ALIGNED` of the quarter hour.
    """

    instant: float
    offset: int
    deviation: float
    aligned: bool

    @property
    def mismatch(self) -> bool:
        """Whether the record's own clock disagrees with `started_at`."""
        return abs(self.deviation) > TOLERANCE

    @property
    def wrong_zone(self) -> bool:
        """A mismatch by a whole UTC offset: what a wrong `timezone` produces."""
        return self.mismatch and self.aligned


def own_instant(record: Mapping[str, Any]) -> float | None:
    """`records.start_epoch_hint`, with a fast path for the common `epoch.seq` call_id."""
    call_id = record.get("call_id")
    if (
        isinstance(call_id, str)
        and len(call_id) > 11
        and call_id[10] == "."
        and call_id[:10].isdigit()
        and call_id[11:].isdigit()
    ):
        return float(call_id[:10])
    return start_epoch_hint(record)


def read_clock(record: Mapping[str, Any]) -> ClockReading | None:
    """The record's clock reading; None when it carries no own instant or no readable start."""
    instant = own_instant(record)
    started = record.get("started_at")
    day, clock = record.get("date"), record.get("time")
    if instant is None or not isinstance(started, str):
        return None
    if not isinstance(day, str) or not isinstance(clock, str):
        return None
    try:
        wall = datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=UTC).timestamp()
        started_ts = datetime.fromisoformat(started).timestamp()
    except ValueError:
        return None
    exact = wall - instant
    offset = round(exact / GRID) * GRID
    return ClockReading(instant, offset, started_ts - instant, abs(exact - offset) <= ALIGNED)


def format_offset(seconds: float) -> str:
    """`UTC+05:30`, `UTC-03:00`, `UTC+00:00`."""
    sign = "-" if seconds < 0 else "+"
    minutes = round(abs(seconds) / 60)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_offset(tz: ZoneInfo, instant: float) -> int:
    """The zone's UTC offset at a Unix time, in seconds."""
    offset = datetime.fromtimestamp(instant, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def fitting_zones(readings: Iterable[tuple[float, int]]) -> list[str]:
    """IANA zones whose UTC offset at each `(instant, offset)` is that offset, likeliest first.

    Readings on both sides of a DST change narrow the list (Europe/London keeps +00:00 in
    winter and +01:00 in summer; Africa/Abidjan only the first).
    """
    samples = list(readings)
    fits = [
        name
        for name in _canonical_zones()
        if all(zone_offset(_zone(name), instant) == offset for instant, offset in samples)
    ]
    preferred = [name for name in PREFERRED_ZONES if name in fits]
    return preferred + [name for name in fits if name not in preferred]


def describe_zones(names: Sequence[str]) -> str:
    """The first few zone names, and how many more fit."""
    if not names:
        return "no IANA time zone"
    shown = ", ".join(names[:NAMED_ZONES])
    more = len(names) - NAMED_ZONES
    return f"{shown} and {more} more" if more > 0 else shown


def spread(items: Sequence[Any], most: int) -> list[Any]:
    """At most `most` items, evenly spread over the sequence (first and last included)."""
    if len(items) <= most:
        return list(items)
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]


@lru_cache(maxsize=1)
def _canonical_zones() -> tuple[str, ...]:
    """Zone names from the tz database itself (no links such as Asia/Calcutta), plus UTC."""
    try:
        text = (resources.files("tzdata.zoneinfo") / "tzdata.zi").read_text()
        names = [line.split()[1] for line in text.splitlines() if line.startswith("Z ")]
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        names = sorted(available_timezones())
    kept = sorted(n for n in names if "/" in n and not n.startswith(("Etc/", "SystemV/")))
    return ("UTC", *kept)


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass
class OffsetReport:
    """What a set of records says about the account's UTC offset (for the probe)."""

    checked: int
    offset: int | None
    share: float
    setting_offset: int | None
    matches: bool | None
    zones: list[str]


def offset_report(records: Iterable[Mapping[str, Any]], tz: ZoneInfo) -> OffsetReport:
    """The dominant UTC offset the records' own clocks show, and whether `tz` agrees."""
    readings = [reading for reading in map(read_clock, records) if reading is not None]
    if not readings:
        return OffsetReport(0, None, 0.0, None, None, [])
    offset, count = Counter(r.offset for r in readings).most_common(1)[0]
    agreeing = [r for r in readings if r.offset == offset]
    last = agreeing[-1].instant
    return OffsetReport(
        checked=len(readings),
        offset=offset,
        share=count / len(readings),
        setting_offset=zone_offset(tz, last),
        matches=sum(not r.mismatch for r in readings) * 2 > len(readings),
        zones=fitting_zones((r.instant, r.offset) for r in spread(agreeing, FIT_SAMPLES)),
    )


@dataclass
class ClockCheck:
    """The sync's check of `timezone` against the records' own clocks, over one run.

    Readings are pooled until there are enough to judge (`MIN_EVIDENCE`, or fewer once a
    window ends); a pool in which most records are off by a whole UTC offset means the
    setting is wrong. A judged pool is dropped, so each part of a long run is judged on its
    own records.
    """

    tz: ZoneInfo
    agreeing: int = 0
    odd: list[ClockReading] = field(default_factory=list)

    def note(self, record: Mapping[str, Any]) -> bool:
        """Take one emitted record's reading; return whether its clock disagrees.

        Every record is checked, so the common case is kept cheap (about a microsecond): the
        wall-clock offset is worked out only for a record that disagrees.
        """
        instant, started = own_instant(record), record.get("started_at")
        if instant is None or not isinstance(started, str):
            return False
        try:
            deviation = datetime.fromisoformat(started).timestamp() - instant
        except ValueError:
            return False
        if abs(deviation) <= TOLERANCE:
            self.agreeing += 1
            return False
        reading = read_clock(record)
        if reading is None:
            return False
        self.odd.append(reading)
        return True

    def verdict(self, *, window_end: bool) -> str | None:
        """Why `timezone` is wrong, once the pool shows it; None while it does not."""
        least = MIN_EVIDENCE_AT_WINDOW_END if window_end else MIN_EVIDENCE
        checked = self.agreeing + len(self.odd)
        if checked < least:
            return None
        odd, self.odd, self.agreeing = self.odd, [], 0
        wrong = [reading for reading in odd if reading.wrong_zone]
        if len(wrong) * 2 <= checked:
            return None
        return self._message(wrong, checked)

    def _message(self, wrong: list[ClockReading], checked: int) -> str:
        shown = Counter(r.offset for r in wrong).most_common()
        said = " and ".join(format_offset(offset) for offset, _ in shown[:2])
        configured = sorted({zone_offset(self.tz, r.instant) for r in wrong})
        zones = fitting_zones((r.instant, r.offset) for r in spread(wrong, FIT_SAMPLES))
        return (
            f"timezone is {self.tz.key} ({' and '.join(map(format_offset, configured))}), but "
            f"the records' own clocks (the Unix time in call_id and call_flow) say {said} for "
            f"{len(wrong)} of {checked} calls, which fits {describe_zones(zones)}; set "
            "timezone to the account's time zone"
        )
