"""Fetching ahead: never more than max_concurrency in flight, as many as that when the reader
waits, in the reader's order, and page 1 of the next window before the current one ends."""

from __future__ import annotations

import logging
import sys
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tap_acefone.pages import Page
from tap_acefone.prefetch import Prefetcher, responsive_threads
from tap_acefone.reading import PageRequest, RunRead, WindowPlan, WindowReader
from tap_acefone.windows import Window
from tests.taprun import run_tap, tap_config
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in

GUARD = 20  # seconds before a condition that should hold at once fails the test


class GatedFetch:
    """A fetch that holds every request until the test releases it, counting those in flight."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.started: list[int] = []
        self.released: set[int] = set()
        self.in_flight = 0
        self.most_in_flight = 0

    def __call__(self, request: int) -> Page:
        with self.cond:
            self.started.append(request)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.cond.notify_all()
            assert self.cond.wait_for(lambda: request in self.released, GUARD)
            self.in_flight -= 1
        return Page([{"id": str(request)}])

    def waiting(self) -> list[int]:
        return [r for r in self.started if r not in self.released]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_in_flight_reaches_but_never_exceeds_max_concurrency(concurrency):
    fetch = GatedFetch()
    prefetcher = Prefetcher(fetch, concurrency=concurrency)
    pages: list[Page] = []
    total = 12
    for number in range(2, total + 1):
        prefetcher.plan((number,), number)

    def read() -> None:
        for number in range(1, total + 1):
            pages.append(prefetcher.take((number,), number))

    reader = threading.Thread(target=read)
    reader.start()
    for number in range(1, total + 1):
        with fetch.cond:
            # The reader waits for `number`. One request ahead at first, twice as many each
            # time it had to wait: after two waits every worker is busy.
            ramp = 2 if number <= 2 else concurrency
            expected = min(concurrency, total - number + 1, ramp)
            assert fetch.cond.wait_for(lambda e=expected: len(fetch.waiting()) >= e, GUARD)
            fetch.released.add(number)
            fetch.cond.notify_all()
    reader.join(GUARD)
    prefetcher.close()
    assert [p.rows[0]["id"] for p in pages] == [str(n) for n in range(1, total + 1)]
    assert fetch.most_in_flight == concurrency
    assert sorted(fetch.started) == list(range(1, total + 1))  # each request sent once


def test_the_next_windows_first_page_does_not_hold_back_the_current_window():
    # The reader plans the next window's page 1 before it reads the current window, so that
    # request is sent first and holds a worker. The current window's pages must still be
    # fetched ahead on the other workers, not one at a time behind it.
    fetch = GatedFetch()
    prefetcher = Prefetcher(fetch, concurrency=3)
    prefetcher.plan((1, 0, 1), 1001)
    total = 10

    def read() -> None:
        prefetcher.take((0, 0, 1), 1)
        for number in range(2, total + 1):
            prefetcher.plan((0, 0, number), number)
        for number in range(2, total + 1):
            prefetcher.take((0, 0, number), number)

    def current_in_flight() -> int:
        return sum(1 for r in fetch.waiting() if r < 1000)

    reader = threading.Thread(target=read)
    reader.start()
    for number in range(1, total + 1):
        with fetch.cond:
            expected = 1 if number == 1 else min(2, total - number + 1)
            assert fetch.cond.wait_for(lambda e=expected: current_in_flight() >= e, GUARD), (
                f"waiting for page {number}: {current_in_flight()} of the window's pages in flight"
            )
            fetch.released.add(number)
            fetch.cond.notify_all()
    reader.join(GUARD)
    with fetch.cond:
        fetch.released.add(1001)
        fetch.cond.notify_all()
    prefetcher.close()
    assert not reader.is_alive()
    assert sorted(r for r in fetch.started if r < 1000) == list(range(1, total + 1))


def test_requests_go_out_in_the_readers_order_whatever_order_they_were_planned_in():
    fetch = GatedFetch()
    order = [(0, 0, 2), (0, 0, 3), (0, 2, 1), (1, 0, 1)]
    requests = {(0, 0, 2): 2, (0, 0, 3): 3, (0, 2, 1): 21, (1, 0, 1): 101}
    fetch.released.update(requests.values())
    prefetcher = Prefetcher(fetch, concurrency=1)
    prefetcher.plan((1, 0, 1), 101)  # the next window's page 1, planned first
    prefetcher.plan((0, 0, 3), 3)
    prefetcher.plan((0, 2, 1), 21)  # a part of the current window being split
    prefetcher.plan((0, 0, 2), 2)
    taken = [prefetcher.take(key, requests[key]).rows[0]["id"] for key in order]
    prefetcher.close()
    assert taken == ["2", "3", "21", "101"]
    # One worker: the first planned request went out at once, the rest in the reader's order.
    assert fetch.started == [101, 2, 3, 21]


class ToyAPI:
    """Pages of a window from a fixed list of calls, and every plan/take the reader makes."""

    def __init__(self, calls_per_window: int, page_size: int) -> None:
        self.calls = calls_per_window
        self.page_size = page_size
        self.events: list[tuple[str, tuple[int, ...]]] = []

    def plan(self, key, request, then=None):
        self.events.append(("plan", key))

    def take(self, key, request: PageRequest) -> Page:
        self.events.append(("take", key))
        first = (request.page - 1) * self.page_size
        rows = [
            {
                "id": f"{request.query.start.timestamp():.0f}-{n}",
                "date": "2026-03-09",
                "time": "10:00:00",
                "end_stamp": "2026-03-09 10:01:00",
            }
            for n in range(first, min(first + self.page_size, self.calls))
        ]
        return Page(rows, {"count": self.calls}, clean=True)

    def forget(self, prefix):
        """Nothing planned to forget."""


def _toy_reader(api: ToyAPI, page_size: int) -> WindowReader:
    return WindowReader(
        fetcher=api,  # type: ignore[arg-type]
        run=RunRead(),
        conform=lambda row, clean: dict(row, started_at=None, ended_at=None),
        page_size=lambda: page_size,
        tz=ZoneInfo("UTC"),
        logger=logging.getLogger("test"),
    )


def _hourly_plans(hours: int) -> list[WindowPlan]:
    start = datetime(2026, 3, 9, tzinfo=timezone.utc)
    windows = [
        Window(start + timedelta(hours=h), start + timedelta(hours=h + 1)) for h in range(hours)
    ]
    return [WindowPlan(w, w) for w in windows]


def test_page_one_of_the_next_windows_is_planned_once_the_first_page_is_answered():
    api = ToyAPI(calls_per_window=25, page_size=10)
    plans = _hourly_plans(3)
    records = list(_drain(_toy_reader(api, 10).read_window(0, plans[0], plans[1:])))
    assert len(records) == 25
    assert api.events[:5] == [
        ("take", (0, 0, 1)),  # the run's first page: it proves the page size is served
        ("plan", (1, 0, 1)),  # ... then the next windows' page 1
        ("plan", (2, 0, 1)),
        ("plan", (0, 0, 2)),  # ... and this window's other pages, once page 1 counts them
        ("plan", (0, 0, 3)),
    ]


def test_windows_of_one_page_each_are_all_planned_ahead_of_the_reader():
    # A backfill of small windows: each window is one page, so unless the next windows are
    # planned before the current page is read, only one request is ever in flight.
    api = ToyAPI(calls_per_window=5, page_size=10)
    plans = _hourly_plans(5)
    reader = _toy_reader(api, 10)
    for index, plan in enumerate(plans):
        list(_drain(reader.read_window(index, plan, plans[index + 1 : index + 3])))
    takes = [key for what, key in api.events if what == "take"]
    assert takes == [(i, 0, 1) for i in range(5)]
    events = api.events
    assert events.index(("plan", (1, 0, 1))) == events.index(("take", (0, 0, 1))) + 1
    for index in range(2, 5):  # two windows ahead of the one being read
        assert events.index(("plan", (index, 0, 1))) < events.index(("take", (index - 1, 0, 1)))


def test_a_window_first_page_plans_its_other_pages_when_it_arrives():
    # Page 1 of a later window, fetched ahead, plans that window's other pages as soon as it
    # is answered, before the reader gets there: multi-page windows pipeline too.
    fetch = GatedFetch()
    prefetcher = Prefetcher(fetch, concurrency=2)
    planned: list[int] = []

    def rest(page: Page) -> None:
        planned.append(int(page.rows[0]["id"]))
        prefetcher.plan((1, 0, 2), 102)

    fetch.released.add(1)
    prefetcher.take((0, 0, 1), 1)  # the reader waited for it: the depth grows to two
    prefetcher.plan((1, 0, 1), 101, then=rest)
    with fetch.cond:
        fetch.released.update({101, 102})
        fetch.cond.notify_all()
        assert fetch.cond.wait_for(lambda: 102 in fetch.started, GUARD)
    assert planned == [101]  # planned on arrival: the reader has taken nothing yet
    assert prefetcher.take((1, 0, 1), 101).rows[0]["id"] == "101"
    assert prefetcher.take((1, 0, 2), 102).rows[0]["id"] == "102"
    prefetcher.close()
    assert fetch.started == [1, 101, 102]


def _drain(generator):
    result = yield from generator
    return result


@pytest.mark.parametrize("concurrency", [1, 3])
def test_fetching_ahead_still_delivers_every_call_exactly_once(make_sandbox, concurrency):
    sandbox = make_sandbox(calls_per_day=150, page_size_max=8, latency=0.05)
    config = tap_config(sandbox, days=1, max_concurrency=concurrency, window_hours=6)
    run = run_tap(config)
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    assert sandbox.stats()["max_in_flight"] <= concurrency


def test_fetch_threads_wait_at_most_a_millisecond_for_the_gil_during_a_sync():
    before = sys.getswitchinterval()
    with responsive_threads():
        assert sys.getswitchinterval() <= 0.001
    assert sys.getswitchinterval() == before
