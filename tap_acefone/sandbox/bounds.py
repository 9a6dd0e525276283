"""How ``from_date`` / ``to_date`` select calls: the undocumented bound semantics as knobs.

The vendor page says only "Format: Y-m-d H:i:s". Whether each bound is inclusive, whether
the window selects on the call's start or its end, and whether the time part counts at all
are open questions (API notes §8), so each is a setting. The key is always the account's
local wall-clock string ``"Y-m-d H:i:s"``, compared as a string: around a DST change the
autumn's repeated hour selects both occurrences, as a PHP backend comparing strings would.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

DAY_START = " 00:00:00"
DAY_END = " 23:59:59"


@dataclass(frozen=True)
class Bounds:
    """The server's reading of the window (defaults: inclusive, on start, to the second)."""

    from_bound: str = "inclusive"
    to_bound: str = "inclusive"
    filter_on: str = "start"
    granularity: str = "second"

    @property
    def on_end(self) -> bool:
        """Whether the window selects on the call's local end instead of its start."""
        return self.filter_on == "end"

    def window(self, from_local: str, to_local: str) -> Window:
        """The key range for a request's (normalised) bounds."""
        if self.granularity == "day":  # the time part is ignored; whole days, inclusive
            return Window(from_local[:10] + DAY_START, to_local[:10] + DAY_END, True, True)
        return Window(
            from_local, to_local, self.from_bound == "inclusive", self.to_bound == "inclusive"
        )


@dataclass(frozen=True)
class Window:
    """Keys ``lo``..``hi`` (local strings), each end inclusive or not."""

    lo: str
    hi: str
    lo_inclusive: bool
    hi_inclusive: bool

    def first_day(self) -> int:
        """Ordinal of the local date of ``lo``."""
        return date.fromisoformat(self.lo[:10]).toordinal()

    def last_day(self) -> int:
        """Ordinal of the local date of ``hi``."""
        return date.fromisoformat(self.hi[:10]).toordinal()

    def slice(self, keys: Sequence[str]) -> tuple[int, int]:
        """Index range of the keys inside the window, for keys sorted ascending."""
        lo = bisect_left(keys, self.lo) if self.lo_inclusive else bisect_right(keys, self.lo)
        hi = bisect_right(keys, self.hi) if self.hi_inclusive else bisect_left(keys, self.hi)
        return lo, hi

    def contains(self) -> Callable[[str], bool]:
        """A fast membership test for unsorted keys."""
        lo, hi = self.lo, self.hi
        if self.lo_inclusive and self.hi_inclusive:
            return lambda key: lo <= key <= hi
        if self.lo_inclusive:
            return lambda key: lo <= key < hi
        if self.hi_inclusive:
            return lambda key: lo < key <= hi
        return lambda key: lo < key < hi
