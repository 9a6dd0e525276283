"""Each call once per run: the ids already emitted, kept while a later query could serve them.

Queries overlap on purpose (each reaches one second into its neighbours, parts of a split
window are read after the whole, a date-only API answers whole days), so the same call comes
back. Keeping every id of a long backfill would grow without bound; a call can only come back
from a query whose local bounds reach its start or end, so its id is forgotten once every
later query starts after both, with a margin for a clock change (`margin`).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

# The largest backward clock change any zone has made (double summer time), rounded up.
CLOCK_CHANGE_MARGIN = timedelta(hours=3)


class RecentIds:
    """Ids emitted this run, each with the last instant at which a query could match it."""

    def __init__(self) -> None:
        self._last_match: dict[str, float] = {}

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._last_match

    def __len__(self) -> int:
        return len(self._last_match)

    def add(self, record_id: str, last_match: float | None) -> None:
        """Remember an emitted id; `None` (no usable instant) keeps it for the whole run."""
        self._last_match[record_id] = math.inf if last_match is None else last_match

    def forget_before(self, instant: datetime, margin: timedelta = CLOCK_CHANGE_MARGIN) -> None:
        """Forget the ids no query starting at `instant` or later can serve again."""
        horizon = (instant - margin).timestamp()
        self._last_match = {key: at for key, at in self._last_match.items() if at >= horizon}


def last_match(started: float | None, ended: float | None, duration: object) -> float | None:
    """The latest instant a query can match a call on: its end, else start plus duration."""
    if ended is not None:
        return max(ended, started) if started is not None else ended
    if started is not None and isinstance(duration, int) and duration >= 0:
        return started + duration
    return None
