"""Which pages of a `{count, limit, size, page, results}` envelope to read, and reading them.

The server may clamp the page size we asked for, and its ordering is unknown, so the only
trustworthy signals are the rows actually returned and the total `count`. Page 1 says how
many pages the window has; the rest are fetched ahead, a few at a time, while earlier pages
are emitted, because the API is slow per page and the account's request budget, not the
tap's CPU, sets the pace. Responses are always consumed in page order.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import requests
from singer_sdk.pagination import BaseAPIPaginator, PageNumberPaginator

from tap_acefone.client import response_body

FetchPage = Callable[[int], requests.Response]


class EnvelopePaginator(PageNumberPaginator):
    """Page numbers from 1 until the rows seen reach `count` or a page comes back empty."""

    def __init__(self) -> None:
        super().__init__(start_value=1)
        self.rows_seen = 0
        self.total: int | None = None
        self._ids: set[str] = set()

    def has_more(self, response: requests.Response) -> bool:
        """Decide from this page alone, never from the page size we requested.

        A page that brings no id not seen before ends the window: the server is repeating
        itself (it ignores `page`), and asking on would never end. A shortfall against
        `count` is caught by the stream's re-read of the window.
        """
        body = response_body(response)
        rows = body.get("results") or []
        size = len(rows)
        self.rows_seen += size
        self.total = _as_int(body.get("count"))
        if size == 0:
            return False
        ids = {str(row.get("id")) for row in rows if isinstance(row, dict)}
        if ids <= self._ids:
            return False
        self._ids |= ids
        if self.total is not None:
            return self.rows_seen < self.total
        echoed_limit = _as_int(body.get("limit"))
        return echoed_limit is None or size >= echoed_limit


def last_page_announced(first_page: requests.Response) -> int:
    """The page count page 1 implies: its `count` over the rows it actually carried."""
    body = response_body(first_page)
    size = len(body.get("results") or [])
    total = _as_int(body.get("count"))
    if size == 0 or total is None:
        return 1
    return max(1, math.ceil(total / size))


def read_pages(
    fetch: FetchPage,
    paginator: EnvelopePaginator,
    *,
    concurrency: int,
    stop: threading.Event,
) -> Iterator[requests.Response]:
    """Yield a window's pages in order, fetching up to `concurrency` ahead of the consumer.

    Only as far ahead as the consumer needs: one page at first, twice as many each time it
    has to wait for one (up to `2 * concurrency` queued, `concurrency` in flight). A slow API
    gets every request the budget allows; a fast one is not flooded with requests whose
    answers would only wait in memory, and fewer threads compete with the consumer.
    Pages beyond what page 1 announced are read one by one until the paginator is done
    (the window grew while it was read). Setting `stop` (or closing the iterator) abandons
    pages still queued.
    """
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="acefone-page")
    pending: deque[Future[requests.Response]] = deque()
    most = 2 * concurrency
    depth = 1
    try:
        first = fetch(1)
        yield first
        paginator.advance(first)
        queued = iter(range(2, last_page_announced(first) + 1))
        _top_up(pool, pending, queued, fetch, limit=depth)
        while not paginator.finished:
            if pending:
                if not pending[0].done():  # the consumer caught up: fetch further ahead
                    depth = min(2 * depth, most)
                    _top_up(pool, pending, queued, fetch, limit=depth)
                response = pending.popleft().result()
            else:
                response = fetch(paginator.current_value)
            yield response
            paginator.advance(response)
            _top_up(pool, pending, queued, fetch, limit=depth)
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def _top_up(
    pool: ThreadPoolExecutor,
    pending: deque[Future[requests.Response]],
    queued: Iterator[int],
    fetch: FetchPage,
    *,
    limit: int,
) -> None:
    """Keep at most `limit` fetched-but-unread pages, so memory stays bounded."""
    while len(pending) < limit:
        page = next(queued, None)
        if page is None:
            return
        pending.append(pool.submit(fetch, page))


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class LastSeenIdPaginator(BaseAPIPaginator[Any]):
    """`/v1/users` cursor: ask again with `last_seen_id` while the API says `has_more`."""

    def __init__(self) -> None:
        super().__init__(None)

    def has_more(self, response: requests.Response) -> bool:
        """The API's own flag, read leniently (bool, 0/1 or "true"/"false")."""
        flag = response_body(response).get("has_more")
        return str(flag).strip().lower() in {"true", "1"}

    def get_next(self, response: requests.Response) -> Any:
        """The top-level `last_seen_id`, else the id of the page's last row."""
        body = response_body(response)
        rows = body.get("data") or []
        fallback = rows[-1].get("id") if rows and isinstance(rows[-1], dict) else None
        return body.get("last_seen_id") or fallback
