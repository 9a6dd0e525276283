"""Fetching pages ahead of the reader, across window boundaries, in the reader's order.

The API is slow per page and the account's request budget, not the tap's CPU, sets the pace,
so requests the reader will need are sent before it asks: the rest of a window's pages once
page 1 says how many there are, and page 1 of the next window while the current one's last
pages are still in flight, so the API never idles at a window boundary. The reader announces
requests with `plan` under a key that orders them as it will read them (window, read, page);
the smallest planned key is sent first, so parts of a window that is being split overtake the
next window's page 1. Pages come back only through `take`, in the reader's order, so records
still leave window by window.

Only as far ahead as the reader needs: one request at first, twice as many each time the
reader has to wait (up to twice `concurrency` sent and not yet read, `concurrency` in flight).
A fast API is not flooded with requests whose answers would only wait in memory.

The workers are daemon threads: `ThreadPoolExecutor` joins its workers when the interpreter
exits, so one request sleeping in a retry backoff (up to two minutes for a `Retry-After`)
would hold a failed run open that long. Daemon workers end with the process; requests
abandoned during a run stop at their next try (`retries.paced_tries` checks the stop event).
"""

from __future__ import annotations

import heapq
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Generic, TypeVar

from tap_acefone.pages import Page

Key = tuple[int, ...]
R = TypeVar("R")

# How long the reader's thread may hold the GIL while a fetch thread waits for it (Python's
# default is 5 ms). A paced request is counted as started when the pacer lets it go; each time
# its thread then waits for the GIL behind the reader's record work, it reaches the server
# later, and every late start delays all the ones after it. Measured (131 requests at
# rate = limit = 10/s, 0.5 s latency, sliding window, two runs each): 15.97 and 15.88 s at
# 5 ms, 15.57 and 15.27 s at 1 ms; no measurable CPU cost.
SWITCH_INTERVAL = 0.001


@contextmanager
def responsive_threads(interval: float = SWITCH_INTERVAL) -> Iterator[None]:
    """Run the block with a shorter GIL switch interval (restored afterwards)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, interval))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class Prefetcher(Generic[R]):
    """Sends planned requests ahead of the reader; hands back their pages in order."""

    def __init__(self, fetch: Callable[[R], Page], *, concurrency: int) -> None:
        self._fetch = fetch
        self._workers = _DaemonWorkers(concurrency, name="acefone-page")
        self._most = 2 * concurrency
        self._depth = 1
        self._lock = threading.Lock()
        self._planned: list[tuple[Key, int, R]] = []
        self._sent: dict[Key, tuple[R, Future[Page]]] = {}
        self._then: dict[Key, Callable[[Page], None]] = {}
        self._order = 0

    def plan(self, key: Key, request: R, *, then: Callable[[Page], None] | None = None) -> None:
        """Announce that the reader will `take(key, request)`; it may be sent at once.

        `then(page)` runs on the fetching thread as soon as the page arrives, before the reader
        takes it: a window's first page can plan the window's other pages while the reader
        is still busy with an earlier window.
        """
        with self._lock:
            if key in self._sent or any(k == key for k, _, _ in self._planned):
                return
            self._order += 1
            if then is not None:
                self._then[key] = then
            heapq.heappush(self._planned, (key, self._order, request))
            self._top_up()

    def take(self, key: Key, request: R) -> Page:
        """The page of `request`, sending it now if it was not sent yet; may raise its error."""
        with self._lock:
            sent = self._sent.pop(key, None)
            if sent is None or sent[0] != request:
                # Not sent ahead: the reader is about to wait. Fetch further ahead (the slots
                # may be held by the next windows' first pages, which must not pin the depth).
                self._unplan(key)
                future = self._workers.submit(self._fetch, request)
                self._deeper()
            else:
                future = sent[1]
                if not future.done():  # the reader caught up: fetch further ahead
                    self._deeper()
            self._top_up()
        return future.result()

    def forget(self, prefix: Key) -> None:
        """Drop every request planned or sent under keys starting with `prefix`."""
        with self._lock:
            self._planned = [item for item in self._planned if item[0][: len(prefix)] != prefix]
            heapq.heapify(self._planned)
            for key in [k for k in self._then if k[: len(prefix)] == prefix]:
                del self._then[key]
            for key in [k for k in self._sent if k[: len(prefix)] == prefix]:
                self._sent.pop(key)[1].cancel()

    def close(self) -> None:
        """Stop the workers; requests still queued are cancelled."""
        with self._lock:
            self._planned.clear()
            self._then.clear()
            for _, future in self._sent.values():
                future.cancel()
            self._sent.clear()
        self._workers.shutdown()

    def _deeper(self) -> None:
        self._depth = min(2 * self._depth, self._most)

    def _unplan(self, key: Key) -> None:
        self._then.pop(key, None)
        remaining = [item for item in self._planned if item[0] != key]
        if len(remaining) != len(self._planned):
            self._planned = remaining
            heapq.heapify(self._planned)

    def _top_up(self) -> None:
        while self._planned and len(self._sent) < self._depth:
            key, _, request = heapq.heappop(self._planned)
            then = self._then.pop(key, None)
            fetch = self._fetch if then is None else _followed(self._fetch, then)
            self._sent[key] = (request, self._workers.submit(fetch, request))


def _followed(fetch: Callable[[R], Page], then: Callable[[Page], None]) -> Callable[[R], Page]:
    def fetch_then(request: R) -> Page:
        page = fetch(request)
        then(page)
        return page

    return fetch_then


class _DaemonWorkers:
    """A fixed number of daemon threads running submitted calls in order."""

    def __init__(self, size: int, *, name: str) -> None:
        self._size = max(1, size)
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[Future[Page], Callable[..., Page], object] | None]
        self._jobs = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, func: Callable[..., Page], argument: object) -> Future[Page]:
        future: Future[Page] = Future()
        self._jobs.put((future, func, argument))
        if len(self._threads) < self._size:
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return future

    def shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, func, argument = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(func(argument))
            except BaseException as exc:  # handed to the reader by take()
                future.set_exception(exc)
