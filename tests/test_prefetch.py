"""Fetching ahead: never more than max_concurrency in flight, as many as that when the reader
waits, in the reader's order, and page 1 of the next window before the current one ends."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tap_acefone.pages import Page
from tap_acefone.prefetch import Prefetcher
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

    def plan(self, key, request):
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


def test_page_one_of_the_next_window_is_planned_before_the_current_window_is_read():
    api = ToyAPI(calls_per_window=25, page_size=10)
    reader = WindowReader(
        fetcher=api,  # type: ignore[arg-type]
        run=RunRead(),
        conform=lambda row, clean: dict(row, started_at=None, ended_at=None),
        page_size=lambda: 10,
        tz=ZoneInfo("UTC"),
        logger=logging.getLogger("test"),
    )
    start = datetime(2026, 3, 9, tzinfo=timezone.utc)
    windows = [Window(start + timedelta(hours=h), start + timedelta(hours=h + 1)) for h in (0, 1)]
    plans = [WindowPlan(w, w) for w in windows]
    records = list(_drain(reader.read_window(0, plans[0], plans[1])))
    assert len(records) == 25
    events = api.events
    assert events[:4] == [
        ("take", (0, 0, 1)),
        ("plan", (0, 0, 2)),
        ("plan", (0, 0, 3)),
        ("plan", (1, 0, 1)),  # ... while pages 2 and 3 of window 0 are still to come
    ]
    assert events.index(("plan", (1, 0, 1))) < events.index(("take", (0, 0, 3)))


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
