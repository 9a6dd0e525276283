"""`api_profile`: what the probe found about an account's API, pinned so the tap can read less.

The defaults are exact under every API behaviour the vendor leaves open, and each safeguard
costs requests an account may not need. A user who ran the probe (`acefone-probe`) can pin
what it found; each pinned value switches off exactly one safeguard, and the sync keeps
checking the API against the pin wherever the answers can show a contradiction:

- `filter_on: start`: the API selects calls by their start, so the run's last window is not
  asked `lookback_minutes` beyond `end_date` (the tail that an API filtering on the end of
  calls needs). Checked on every page: an API that filters on the end serves calls that
  started before the asked `from_date` and ended inside it, and the run then fails before the
  window's bookmark. Not detectable: a run in which no call straddles a window's start (a
  quiet account); the calls at risk are those that started before `end_date` and ended after
  it, which a later run's lookback still reads.
- `granularity: day`: the API ignores the time of day, so windows follow the account's local
  days and each day is asked once, by its first second, instead of overlapping bounds that
  reach two or three whole days. Checked on every day at no cost: the answer must hold calls
  outside that one second; when it holds none, the day is read again with the bounds that
  are right under every API (nothing is lost), and a warning says the pin is wrong.
- `check_record_clocks: false`: only if the probe showed that this account's `call_id` epochs
  are not the calls' UTC start; turns off the `timezone` self-check.

`filter_on: end` and `granularity: second` are the defaults' assumptions already: pinning
them switches nothing off. The one-second overlap of window bounds stays whatever is pinned:
it costs the calls of two seconds per window (a fraction of one request) and a wrong pin of
the bounds could not be detected from any answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tap_acefone.windows import Window, iter_local_days, iter_windows

FILTER_ON = ("start", "end")
GRANULARITIES = ("second", "day")


@dataclass(frozen=True)
class ApiProfile:
    """The pinned facts (None: not pinned, the safe default applies)."""

    filter_on: str | None = None
    granularity: str | None = None
    check_record_clocks: bool = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ApiProfile:
        """The profile of a validated config (the settings schema checks keys and values)."""
        pinned = config.get("api_profile") or {}
        return cls(
            filter_on=pinned.get("filter_on"),
            granularity=pinned.get("granularity"),
            check_record_clocks=pinned.get("check_record_clocks", True) is not False,
        )

    @property
    def reads_tail(self) -> bool:
        """Whether the last window is asked `lookback_minutes` beyond the run's end."""
        return self.filter_on != "start"

    @property
    def day_windows(self) -> bool:
        """Whether windows follow local days, each asked once by its first second."""
        return self.granularity == "day"

    def windows(self, start: datetime, end: datetime, hours: int, tz: ZoneInfo) -> Iterator[Window]:
        """The run's windows: `window_hours` long, or local days when the API is date-only."""
        if self.day_windows:
            return iter(iter_local_days(start, end, tz))
        return iter_windows(start, end, hours)

    def as_setting(self) -> dict[str, Any]:
        """The pinned keys, as the `api_profile` setting holds them."""
        value: dict[str, Any] = {}
        if self.filter_on is not None:
            value["filter_on"] = self.filter_on
        if self.granularity is not None:
            value["granularity"] = self.granularity
        if not self.check_record_clocks:
            value["check_record_clocks"] = False
        return value
