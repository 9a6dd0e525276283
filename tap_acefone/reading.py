"""Reading one window of call_records until the API has served every call it counts.

A window is first read whole: page 1, then the pages it announces, fetched ahead together
with page 1 of the next window. When the distinct calls served fall short of the API's
`count` (rows reordered between requests, calls landing while pages are read, a clamped or
ignored page size) the window is split at whole seconds where its calls are, so that each
part fits one page, where ordering cannot lose a row; parts still short are split again,
down to one second. What splitting cannot narrow (one second holding more calls than a
page, or an API that filters on the date alone) is read again until it is complete or reads
stop bringing new calls. Whatever stays short is reported, never skipped silently: the
window's audit row says so and the stream decides (`on_incomplete_window`).
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from tap_acefone.audit import WindowAudit
from tap_acefone.client import RequestNote
from tap_acefone.completeness import QueryTally
from tap_acefone.dedupe import RecentIds, last_match
from tap_acefone.errors import SmallerPagesError
from tap_acefone.pages import Page
from tap_acefone.prefetch import Prefetcher
from tap_acefone.selfchecks import SyncChecks
from tap_acefone.windows import DayWindow, Window, iso_utc

# A part that splitting cannot narrow is read again until it is complete, or until reads in
# a row bring no new call for as long as a call the API holds would have shown up by then with
# this certainty (from what one read covers), or this many reads in all.
CERTAINTY = 1e-6
MAX_PASSES = 40
# Without a count the answer cannot be shown complete; this many fruitless reads end it.
STALE_PASSES_WITHOUT_COUNT = 3

Conform = Callable[[dict[str, Any], bool], dict[str, Any] | None]
Record = dict[str, Any]


@dataclass(frozen=True)
class PageRequest:
    """One page of one query; `notes` (not part of its identity) collects what it cost."""

    query: Window
    page: int
    limit: int
    notes: list[RequestNote] = field(compare=False, default_factory=list)


@dataclass(frozen=True)
class WindowPlan:
    """A window of the run: its bookmark bounds, and the bounds it is asked for."""

    window: Window
    query: Window


@dataclass
class RunRead:
    """What one run of call_records carries from window to window.

    Every call the API serves is emitted once. At the edges this includes a call that
    started in the second before `start_date` or, from an API that filters on the end of calls
    or on whole days, earlier ones: real calls, delivered rather than guessed away. The one
    exception is `tail`: with `end_date` set, the last window is asked `lookback_minutes`
    beyond it (for an API that filters on the end of calls), and calls that started in that
    tail are left to the run that covers them. `notes` collects the requests of each window,
    including page 1 of the next window fetched ahead of its read.
    """

    tail: tuple[float, float] | None = None
    recent: RecentIds = field(default_factory=RecentIds)
    notes: dict[int, list[RequestNote]] = field(default_factory=dict)
    reads: dict[int, Iterator[int]] = field(default_factory=dict)
    date_only_logged: bool = False
    # The run's self-checks: the records' own clocks, and a pinned api_profile (selfchecks.py).
    checks: SyncChecks | None = None

    def in_tail(self, started: float | None) -> bool:
        """Whether a call started in the tail read beyond `end_date`."""
        return (
            self.tail is not None and started is not None and self.tail[0] <= started < self.tail[1]
        )

    def notes_of(self, index: int) -> list[RequestNote]:
        """The request notes of window `index`."""
        return self.notes.setdefault(index, [])

    def next_read(self, index: int) -> int:
        """A fresh read number within window `index` (0 is the window's first read)."""
        return next(self.reads.setdefault(index, itertools.count(1)))


class WindowReader:
    """Reads the windows of one run in order, through one prefetcher.

    `conform(row, clean)` turns a served row into a record (None to skip it); `page_size()`
    is the page size to ask for now (it shrinks when pages keep timing out).
    """

    def __init__(
        self,
        *,
        fetcher: Prefetcher[PageRequest],
        run: RunRead,
        conform: Conform,
        page_size: Callable[[], int],
        tz: ZoneInfo,
        logger: logging.Logger,
    ) -> None:
        self._fetcher = fetcher
        self._run = run
        self._conform = conform
        self._page_size = page_size
        self._tz = tz
        self._logger = logger
        self._checks = run.checks or SyncChecks(tz, logger=logger)
        self._answered = False  # has any page been served at the current page size?
        self._upcoming: tuple[int, Sequence[WindowPlan]] = (0, ())

    def read_window(
        self, index: int, plan: WindowPlan, upcoming: Sequence[WindowPlan] = ()
    ) -> Generator[Record, None, WindowAudit]:
        """The window's new records; returns (as the generator's value) its audit.

        `upcoming` are the windows after this one that may be fetched ahead: their page 1 is
        planned before this window's first page is read (once the run's first page has
        proven the page size), so that a run of windows that fit one page each still keeps
        `rate x latency` requests in flight (the prefetcher's depth, not this list, bounds
        how far ahead it sends).
        """
        self._upcoming = (index + 1, upcoming)
        if self._answered:
            self._plan_first_pages()
        audit = WindowAudit(plan.window, plan.query, notes=self._run.notes_of(index))
        tally = yield from self._read(index, 0, plan.query, audit)
        audit.read_whole(tally)
        if isinstance(plan.query, DayWindow) and not audit.date_only:  # a day pin not borne out
            tally = yield from self._read_day_again(index, plan.query, audit)
        if not tally.complete:
            yield from self._close_shortfall(index, tally, audit)
        self._checks.window_read(audit.window)  # judged before the bookmark can move
        return audit

    def _read_day_again(
        self, index: int, day: DayWindow, audit: WindowAudit
    ) -> Generator[Record, None, QueryTally]:
        """A day asked by its first second served no call outside it: read it safely.

        Either the day is empty or the API honours the time of day (a wrong `granularity`
        pin); the plain window's bounds are right under every API.
        """
        audit.query = day.as_window()
        tally = yield from self._read(index, self._run.next_read(index), audit.query, audit)
        audit.read_whole(tally)
        if not audit.date_only and tally.ids:
            self._checks.day_pin_contradicted(day)
        return tally

    def _plan_first_pages(self) -> None:
        """Plan the next windows' page 1; each plans its window's other pages on arrival.

        Not before the run's first answered page: until then the page size is unproven, and
        a server that refuses it would refuse every request sent ahead.
        """
        first_index, upcoming = self._upcoming
        limit = self._page_size()
        for index, plan in enumerate(upcoming, start=first_index):
            request = PageRequest(plan.query, 1, limit, self._run.notes_of(index))
            then = partial(self._plan_rest, (index, 0), request)
            self._fetcher.plan((index, 0, 1), request, then=then)

    def _plan_rest(self, key: tuple[int, int], first: PageRequest, page: Page) -> None:
        tally = QueryTally()
        tally.add(page)
        self._plan_after_first(key, tally, first)

    def _read(
        self, index: int, read: int, query: Window, audit: WindowAudit
    ) -> Generator[Record, None, QueryTally]:
        """Page through one query; returns (as the generator's value) what it served.

        Once page 1 says how many pages there are, the rest are planned (fetched ahead; their
        keys put them before the next windows' pages). Pages of a size that keeps timing out
        restart the query in smaller pages (calls already emitted are not emitted again).
        """
        key = (index, read)
        bounds = query.query_bounds(self._tz)
        while True:
            limit = self._page_size()
            tally = QueryTally()
            try:
                number, more = 1, True
                while more:
                    request = PageRequest(query, number, limit, audit.notes)
                    page = self._fetcher.take((*key, number), request)
                    if not self._answered:
                        self._answered = True
                        self._plan_first_pages()
                    more = tally.add(page)
                    yield from self._emit(page, bounds, tally, audit)
                    if number == 1:
                        self._plan_after_first(key, tally, request)
                    number += 1
            except SmallerPagesError:
                # Everything fetched ahead asked for the old size: the next windows' first
                # pages are planned again once a page of the new size has been served.
                self._fetcher.forget(())
                self._answered = False
                continue
            return tally

    def _plan_after_first(
        self, key: tuple[int, int], tally: QueryTally, first: PageRequest
    ) -> None:
        for number in range(2, tally.announced_pages() + 1):
            request = PageRequest(first.query, number, first.limit, first.notes)
            self._fetcher.plan((*key, number), request)

    def _emit(
        self, page: Page, bounds: tuple[str, str], tally: QueryTally, audit: WindowAudit
    ) -> Iterator[dict[str, Any]]:
        """The page's records this run has not emitted yet (and that are not in the tail).

        They are written only once the self-checks have judged the whole page.
        """
        run, checks = self._run, self._checks
        fresh: list[Record] = []
        for row in page.rows:
            record = self._conform(row, page.clean)
            if record is None:
                continue
            started = _epoch(record.get("started_at"))
            tally.note_instant(started)
            if not audit.date_only and outside(row, bounds):
                self._found_date_only(audit)
            checks.served(row, bounds)
            record_id = record["id"]
            if record_id in run.recent or run.in_tail(started):
                continue
            ended = _epoch(record.get("ended_at"))
            run.recent.add(record_id, last_match(started, ended, record.get("call_duration")))
            audit.emitted += 1
            audit.clock_mismatches += checks.emitted(record)
            fresh.append(record)
        checks.page_read(audit.window, date_only=audit.date_only)  # before any is written
        yield from fresh

    def _found_date_only(self, audit: WindowAudit) -> None:
        audit.date_only = True
        if not self._run.date_only_logged:
            self._run.date_only_logged = True
            self._logger.warning(
                "The API answers with calls outside the bounds asked for: it seems to filter on "
                "the date alone. Every call is still read, but windows of one day share their "
                "answer: window_hours 24 reads least."
            )

    def _close_shortfall(
        self, index: int, tally: QueryTally, audit: WindowAudit
    ) -> Generator[Record, None, None]:
        """Split short queries until their parts fit; read again what cannot be narrowed."""
        pending: deque[tuple[Window, QueryTally]] = deque([(audit.query, tally)])
        while pending:
            part, part_tally = pending.popleft()
            if audit.date_only and part != audit.query:
                # A date-only API answers every part with the same whole days: its parts
                # cannot narrow anything, so the window itself is read again instead.
                yield from self._read_whole_again(index, tally, audit)
                return
            if part_tally.complete:
                continue
            page_size = max(audit.page_size, part_tally.page_size)
            # Ordering cannot lose a row of a one-page answer, and splitting cannot narrow one
            # second or a date-only answer: read again instead.
            if part_tally.fits_one_page(page_size) or part.seconds <= 1 or audit.date_only:
                part_tally = yield from self._read_again(index, part, part_tally, audit)
                if not part_tally.complete:
                    audit.fall_short()
                continue
            most = part_tally.most_seen_per_part(page_size)
            pieces = part.split(part_tally.instants, most)
            audit.splits += 1
            self._logger.info(
                "Window %s: %d distinct calls served of %s counted; splitting %s .. %s in %d",
                audit.window.describe(self._tz),
                len(part_tally.ids),
                "no count" if part_tally.count is None else part_tally.count,
                iso_utc(part.start),
                iso_utc(part.end),
                len(pieces),
            )
            reads = [self._run.next_read(index) for _ in pieces]
            limit = self._page_size()
            for read, piece in zip(reads, pieces, strict=True):
                self._fetcher.plan((index, read, 1), PageRequest(piece, 1, limit, audit.notes))
            for read, piece in zip(reads, pieces, strict=True):
                piece_tally = yield from self._read(index, read, piece, audit)
                audit.read_part(piece_tally)
                pending.append((piece, piece_tally))
                if _answers_by_date(audit):  # no use reading the other parts: see above
                    break

    def _read_whole_again(
        self, index: int, tally: QueryTally, audit: WindowAudit
    ) -> Generator[Record, None, None]:
        """Forget the window's parts and read the window again, keeping every id served."""
        self._fetcher.forget((index,))
        tally.ids |= audit.served
        tally = yield from self._read_again(index, audit.query, tally, audit)
        if not tally.complete:
            audit.fall_short()

    def _read_again(
        self, index: int, part: Window, tally: QueryTally, audit: WindowAudit
    ) -> Generator[Record, None, QueryTally]:
        """Read a part that splitting cannot narrow again, keeping every id served."""
        stale = 0
        for _ in range(MAX_PASSES):
            if tally.complete or stale >= tally.fruitless_reads_to_stop(
                CERTAINTY, STALE_PASSES_WITHOUT_COUNT
            ):
                break
            before = len(tally.ids)
            again = yield from self._read(index, self._run.next_read(index), part, audit)
            if part == audit.query:
                audit.read_whole(again)
            else:
                audit.read_part(again)
            tally.absorb(again)
            stale = stale + 1 if len(tally.ids) == before else 0
        return tally


def _answers_by_date(audit: WindowAudit) -> bool:
    """Whether the window's reads found the API answering by date (changes as parts are read)."""
    return audit.date_only


def _epoch(instant: object) -> float | None:
    return datetime.fromisoformat(instant).timestamp() if isinstance(instant, str) else None


def outside(row: dict[str, Any], bounds: tuple[str, str]) -> bool:
    """Whether a served row's local start and end both lie outside the asked bounds.

    An API that honours the bounds never serves such a row, whichever of the two it filters
    on; one that filters on the date alone does.
    """
    low, high = bounds
    start = f"{row.get('date')} {row.get('time')}"
    end = row.get("end_stamp")
    if not _is_local_stamp(start) or not (isinstance(end, str) and _is_local_stamp(end)):
        return False
    return not low <= start <= high and not low <= end <= high


def _is_local_stamp(text: str) -> bool:
    return len(text) == len("2026-03-09 10:00:00") and text[4] == "-" and text[:4] != "0000"
