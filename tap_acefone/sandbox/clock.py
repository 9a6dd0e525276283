"""A virtual clock shared by the data generator, token expiry and the HTTP server.

The sandbox never reads the wall clock for *data* decisions: which CDRs exist, which are
visible and which version is served all follow this clock, so tests can move time forward
deterministically instead of sleeping. (Rate limiting and latency use real time, because
they model real elapsed seconds between HTTP requests.)
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from typing_extensions import override


def as_utc(dt: datetime) -> datetime:
    """Return ``dt`` converted to UTC, refusing naive datetimes.

    A naive datetime is ambiguous (local? UTC?), and guessing is exactly the kind of bug the
    sandbox exists to expose, so it is rejected.
    """
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {dt.isoformat()}")
    return dt.astimezone(timezone.utc)


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 instant; a trailing ``Z`` is accepted, naive values are refused."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(value))


class Clock:
    """Thread-safe virtual clock holding a timezone-aware UTC instant."""

    def __init__(self, now: datetime) -> None:
        self._lock = threading.Lock()
        self._now = as_utc(now)

    def now(self) -> datetime:
        """The current virtual instant (UTC)."""
        with self._lock:
            return self._now

    def timestamp(self) -> float:
        """The current virtual instant as a POSIX timestamp (used in hot paths)."""
        return self.now().timestamp()

    def set(self, dt: datetime) -> datetime:
        """Jump to ``dt`` (any aware datetime; moving backwards is allowed for tests)."""
        new = as_utc(dt)
        with self._lock:
            self._now = new
            return new

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock by ``delta`` and return the new instant."""
        with self._lock:
            self._now = self._now + delta
            return self._now

    @override
    def __repr__(self) -> str:
        return f"Clock({self.now().isoformat()})"
