"""What every sync checks about the API while it reads, so that no wrong guess stays silent.

Two checks run on the answers the sync reads anyway, at no cost in requests:

- the `timezone` setting against the records' own clocks (`clocks.ClockCheck`): a consistent
  mismatch fails the run before the page's records are written, so no misdated `started_at`
  reaches the target and no bookmark moves; a few odd records are only counted (the
  `clock_mismatches` column of `sync_windows`);
- a pinned `api_profile` against what the API serves (`profile.ApiProfile`): a call the pin
  says the API would never serve for the asked bounds fails the run before the window's
  bookmark.

`WindowReader` calls `served` for every row, `emitted` for every record it is about to write,
then `page_read` before writing a page's records and `window_read` before the window's
bookmark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from tap_acefone.clocks import ClockCheck
from tap_acefone.errors import ApiProfileMismatchError, TimezoneMismatchError
from tap_acefone.profile import ApiProfile
from tap_acefone.windows import Window, iso_utc


@dataclass
class PageEvidence:
    """What the rows of one page say about how the API read the bounds."""

    started_before_ended_inside: int = 0
    wholly_outside: int = 0


@dataclass
class SyncChecks:
    """The checks of one run (one per `RunRead`)."""

    tz: ZoneInfo
    profile: ApiProfile = field(default_factory=ApiProfile)
    logger: logging.Logger | None = None
    clocks: ClockCheck = field(init=False)
    page: PageEvidence = field(default_factory=PageEvidence)
    day_pin_warned: bool = False

    def __post_init__(self) -> None:
        self.clocks = ClockCheck(self.tz)

    def served(self, row: dict[str, Any], bounds: tuple[str, str]) -> None:
        """Look at one served row against the bounds its query asked."""
        if self.profile.filter_on != "start":
            return
        start, end = local_start(row), row.get("end_stamp")
        if start is None or not (isinstance(end, str) and is_local_stamp(end)):
            return
        low, high = bounds
        start_inside, end_inside = low <= start <= high, low <= end <= high
        if start < low and end_inside:
            self.page.started_before_ended_inside += 1
        elif not start_inside and not end_inside:
            self.page.wholly_outside += 1

    def emitted(self, record: dict[str, Any]) -> bool:
        """Read a record about to be written; return whether its own clock disagrees."""
        return self.profile.check_record_clocks and self.clocks.note(record)

    def page_read(self, window: Window, *, date_only: bool) -> None:
        """Judge the page just read, before any of its records is written."""
        evidence, self.page = self.page, PageEvidence()
        if evidence.started_before_ended_inside and not (date_only or evidence.wholly_outside):
            raise ApiProfileMismatchError(
                f"Window {_span(window)}: api_profile pins filter_on start, but the API served "
                f"{evidence.started_before_ended_inside} call(s) that started before the asked "
                "from_date and ended inside the bounds: it filters on the end of calls. Remove "
                "filter_on from api_profile (or set it to end). The bookmark stays before this "
                "window."
            )
        self._judge_clocks(window, window_end=False)

    def window_read(self, window: Window) -> None:
        """Judge what is left of the window, before its bookmark is written."""
        self._judge_clocks(window, window_end=True)

    def day_pin_contradicted(self, window: Window) -> None:
        """A day asked by its first second came back as that second only: warn once."""
        if self.day_pin_warned or self.logger is None:
            return
        self.day_pin_warned = True
        self.logger.warning(
            "Window %s: api_profile pins granularity day, but the API answered the first "
            "second of the day with that second only: it honours the time of day. Each day is "
            "read a second time with safe bounds, so nothing is lost; remove granularity from "
            "api_profile to stop paying for it.",
            _span(window),
        )

    def _judge_clocks(self, window: Window, *, window_end: bool) -> None:
        # With check_record_clocks false nothing is noted, so nothing is ever judged wrong.
        why = self.clocks.verdict(window_end=window_end)
        if why is not None:
            raise TimezoneMismatchError(
                f"Window {_span(window)}: {why}. The records judged were not written, and the "
                "bookmark stays before this window."
            )


def local_start(row: Mapping[str, Any]) -> str | None:
    """The row's local start as the API's `Y-m-d H:i:s` text, if it has a readable one."""
    text = f"{row.get('date')} {row.get('time')}"
    return text if is_local_stamp(text) else None


def is_local_stamp(text: str) -> bool:
    """Whether text is a real `Y-m-d H:i:s` wall-clock reading (not `0000-00-00 ...`)."""
    return len(text) == len("2026-03-09 10:00:00") and text[4] == "-" and text[:4] != "0000"


def _span(window: Window) -> str:
    return f"{iso_utc(window.start)} .. {iso_utc(window.end)}"
