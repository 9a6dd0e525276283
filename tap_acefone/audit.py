"""The audit trail: one `sync_windows` row per window, so completeness is provable in SQL.

Each row says what the API counted for a window, what it actually served, what the tap
emitted and what the read cost (passes, splits, pages, requests, seconds). A user proves a
backfill complete with `select * from sync_windows where not complete` returning nothing, and
sees what each run cost without reading logs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tap_acefone.client import RequestNote
from tap_acefone.completeness import QueryTally
from tap_acefone.windows import Window, iso_utc


@dataclass
class WindowAudit:
    """What reading one window took; becomes its `sync_windows` row."""

    window: Window
    query: Window
    started: float = field(default_factory=time.monotonic)
    api_count: int | None = None
    served: set[str] = field(default_factory=set)
    emitted: int = 0
    repeated_rows: int = 0
    passes: int = 0
    splits: int = 0
    parts: int = 0
    pages: int = 0
    page_size: int = 0
    notes: list[RequestNote] = field(default_factory=list)
    complete: bool = True
    date_only: bool = False
    clock_mismatches: int = 0

    def read_whole(self, tally: QueryTally) -> None:
        """Count a read of the whole window (its count is the window's count)."""
        self.passes += 1
        self.api_count = tally.count if tally.count is not None else self.api_count
        self._absorb(tally)

    def read_part(self, tally: QueryTally) -> None:
        """Count a read of a part of the window."""
        self.parts += 1
        self._absorb(tally)

    def _absorb(self, tally: QueryTally) -> None:
        self.served |= tally.ids
        self.pages += tally.pages
        self.repeated_rows += tally.repeated_rows
        self.page_size = max(self.page_size, tally.page_size)

    def fall_short(self) -> None:
        """A part of the window could not be completed."""
        self.complete = False

    @property
    def shortfall(self) -> int | None:
        """Calls the window's count holds that were never served (None without a count)."""
        if self.api_count is None:
            return None if not self.complete else 0
        return max(0, self.api_count - len(self.served))

    @property
    def requests(self) -> int:
        """HTTP requests sent for the window, retries included."""
        return sum(note.tries for note in self.notes)

    @property
    def seconds(self) -> float:
        """Seconds since the window's read began."""
        return time.monotonic() - self.started

    def row(self, *, run_id: str, run_started: datetime, tz: ZoneInfo) -> dict[str, Any]:
        """The window's `sync_windows` record."""
        local_from, local_to = self.query.query_bounds(tz)
        return {
            "run_id": run_id,
            "run_started_at": iso_utc(run_started),
            "window_start": iso_utc(self.window.start),
            "window_end": iso_utc(self.window.end),
            "timezone": tz.key,
            "local_from": local_from,
            "local_to": local_to,
            "api_count": self.api_count,
            "distinct_served": len(self.served),
            "records_emitted": self.emitted,
            "repeated_rows": self.repeated_rows,
            "passes": self.passes,
            "splits": self.splits,
            "parts": self.parts,
            "pages": self.pages,
            "requests": self.requests,
            "page_size": self.page_size,
            "seconds": round(self.seconds, 3),
            "complete": self.complete,
            "shortfall": self.shortfall,
            "date_only": self.date_only,
            "clock_mismatches": self.clock_mismatches,
        }

    def describe(self) -> str:
        """The log line's numbers."""
        count = "no count" if self.api_count is None else f"count {self.api_count}"
        clocks = (
            f", {self.clock_mismatches} records whose own clock disagrees with started_at"
            if self.clock_mismatches
            else ""
        )
        return (
            f"{self.pages} pages, {self.requests} requests, {count}, "
            f"{len(self.served)} distinct served, {self.emitted} records emitted, "
            f"{self.passes} passes, {self.splits} splits, {self.seconds:.1f} s{clocks}"
        )
