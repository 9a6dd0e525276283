"""When to ask for the next page of a `{count, limit, size, page, results}` envelope.

The server may clamp the page size we asked for, and its ordering is unknown, so the only
trustworthy signals are the rows actually returned and the total `count`.
"""

from __future__ import annotations

import requests
from singer_sdk.pagination import PageNumberPaginator

from tap_acefone.client import response_body


class EnvelopePaginator(PageNumberPaginator):
    """Page numbers from 1 until the rows seen reach `count` or a page comes back empty."""

    def __init__(self) -> None:
        super().__init__(start_value=1)
        self.rows_seen = 0
        self.total: int | None = None

    def has_more(self, response: requests.Response) -> bool:
        """Decide from this page alone, never from the page size we requested."""
        body = response_body(response)
        size = len(body.get("results") or [])
        self.rows_seen += size
        self.total = _as_int(body.get("count"))
        if size == 0:
            return False
        if self.total is not None:
            return self.rows_seen < self.total
        echoed_limit = _as_int(body.get("limit"))
        return echoed_limit is None or size >= echoed_limit


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
