"""Whether the API served every call of a query, judged from what it served alone.

Nothing about the API's paging can be trusted (notes §3.3): the page size asked for may be
clamped or ignored, rows may come in a different order on every request (so page 2 of one
ordering and page 3 of another miss some rows and repeat others), a page past the end may
repeat the last one, and `count` may be text, absent or never met. A query is known complete
only when the distinct ids served reach the API's `count`, or, without a count, when every
row served was distinct and the last page came back short. Anything else is a shortfall that
the stream closes by splitting the window (parts that fit one page cannot be reordered
across pages) or, where splitting cannot narrow the answer, by reading it again.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from tap_acefone.pages import Page

# Parts of a split window aim at this share of a page, leaving room for calls not yet seen.
FILL = 0.8


@dataclass
class QueryTally:
    """What the API served for one query: ids, rows, counts and how the paging ended."""

    count: int | None = None
    ids: set[str] = field(default_factory=set)
    rows: int = 0
    repeated_rows: int = 0
    pages: int = 0
    page_size: int = 0
    ended: bool = False
    last_ids: frozenset[str] = frozenset()
    instants: array[float] = field(default_factory=lambda: array("d"))

    def add(self, page: Page) -> bool:
        """Count one page; return whether the reader should ask for the next one.

        A page bringing the same ids as the one before it is the server answering past the
        end with its last page again (or ignoring `page`): it ends the paging and is not
        counted as repeated rows.
        """
        ids = page.ids
        if self.pages and ids and ids == self.last_ids:
            self.ended = True
            return False
        self.pages += 1
        self.count = page.count if page.count is not None else self.count
        self.page_size = max(self.page_size, page.size)
        new = ids - self.ids
        self.repeated_rows += len(ids) - len(new)
        self.rows += page.size
        self.ids |= new
        self.last_ids = ids
        if page.size == 0 or page.size < self.page_size or not new:
            self.ended = True
            return False
        return self.count is None or self.rows < self.count

    def note_instant(self, epoch: float | None) -> None:
        """Remember when a served call started, to cut the window where the calls are."""
        if epoch is not None:
            self.instants.append(epoch)

    def announced_pages(self) -> int:
        """How many pages page 1 implies: the count over the rows it actually carried."""
        if self.count is None or self.page_size == 0:
            return 1
        return max(1, math.ceil(self.count / self.page_size))

    @property
    def complete(self) -> bool:
        """Every matching call was served, as far as the API's own answers can tell."""
        if self.count is not None:
            return len(self.ids) >= self.count
        return self.ended and self.repeated_rows == 0

    @property
    def shortfall(self) -> int | None:
        """Calls counted but not served (None when the API gave no count)."""
        return None if self.count is None else max(0, self.count - len(self.ids))

    def fits_one_page(self, page_size: int) -> bool:
        """Whether the whole answer fits one page, where ordering cannot lose a row."""
        return self.count is not None and self.count <= page_size

    def fruitless_reads_to_stop(self, certainty: float, without_count: int) -> int:
        """Reads in a row bringing no new call after which a call still missing is not there.

        One read of a reordered answer serves each call with a chance set by how much of the
        count its pages cover; a call the API really holds shows up within this many reads
        with probability `1 - certainty`. A one-page answer needs one read; without a count,
        nothing can be shown, and `without_count` reads end it.
        """
        if self.count is None or self.page_size == 0:
            return without_count
        if self.count <= self.page_size:
            return 1
        pages = math.ceil(self.count / self.page_size)
        miss = (1 - self.page_size / self.count) ** pages
        return max(1, math.ceil(math.log(certainty) / math.log(miss)))

    def most_seen_per_part(self, page_size: int) -> float:
        """How many of the calls seen a part may hold so that all of its calls fit one page.

        Calls not seen yet are assumed to lie where the seen ones do, in proportion.
        """
        seen = max(len(self.ids), 1)
        expected = max(self.count or seen, seen)
        return max(1.0, page_size * FILL * seen / expected)

    def absorb(self, other: QueryTally) -> None:
        """Take in what another read of the same query served (a second pass)."""
        self.count = other.count if other.count is not None else self.count
        self.ids |= other.ids
        self.page_size = max(self.page_size, other.page_size)
        self.pages += other.pages
        self.ended = other.ended
        self.repeated_rows = other.repeated_rows
        self.instants.extend(other.instants)
