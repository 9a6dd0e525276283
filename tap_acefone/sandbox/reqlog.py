"""The request log: every /v1 request as the server saw it, for checking a client's audit.

Off by default (``log_requests``). A client that records what it asked and what it got
(the tap's audit stream) can be reconciled entry by entry against this log: the bounds it
sent, the count the server reported (and the true one), the ids served, in order.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RequestLogEntry:
    """One /v1 request.

    ``seq`` numbers entries from 1 in the order their answers were completed (since the
    last ``reset_stats``). ``params`` is the query string as parsed (``key[]`` folded into
    ``key``). ``status`` is 0 for a connection reset without an answer. ``arrived_at`` is the
    real monotonic reading at which the rate limiter saw the request (after arrival jitter,
    before latency; requests that never reach it, such as unknown paths, carry the reading
    when they were answered). The call-records fields are set on 200 answers of
    ``GET /v1/call/records`` only: ``count`` as reported (with ``count_offset``; ``None`` when
    ``omit_count``), ``true_count`` the real size of the matching set, ``size`` and ``page``
    as sent, ``limit`` the effective page size (after clamping or ``ignore_limit``), ``ids``
    served in order, ``from_local``/``to_local`` the window as the server read it (missing
    dates filled in with their defaults). A ``truncated_json`` fault keeps them: the server
    served those rows, cut short.
    """

    seq: int
    method: str
    path: str
    params: dict[str, list[str]]
    status: int
    arrived_at: float
    count: int | None = None
    true_count: int | None = None
    size: int | None = None
    page: int | None = None
    limit: int | None = None
    ids: tuple[str, ...] = ()
    from_local: str | None = None
    to_local: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-friendly dict (``ids`` as a list)."""
        data = asdict(self)
        data["ids"] = list(self.ids)
        return data


@dataclass(frozen=True)
class PageFacts:
    """What a served records page adds to its log entry."""

    count: int | None
    true_count: int
    size: int
    page: int
    limit: int
    ids: tuple[str, ...]
    from_local: str
    to_local: str


class RequestLog:
    """Thread-safe append-only list, cleared with the stats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RequestLogEntry] = []

    def add(
        self,
        *,
        method: str,
        path: str,
        params: dict[str, list[str]],
        status: int,
        arrived_at: float,
        page: PageFacts | None,
    ) -> None:
        """Append one entry, numbering it."""
        extra = asdict(page) if page is not None else {}
        with self._lock:
            self._entries.append(
                RequestLogEntry(
                    seq=len(self._entries) + 1,
                    method=method,
                    path=path,
                    params=params,
                    status=status,
                    arrived_at=arrived_at,
                    **extra,
                )
            )

    def entries(self) -> list[RequestLogEntry]:
        """A copy of every entry so far, in ``seq`` order."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every entry; numbering restarts at 1."""
        with self._lock:
            self._entries.clear()

    def jsonl(self) -> bytes:
        """Every entry as JSON lines."""
        return b"".join(
            json.dumps(e.to_json(), separators=(",", ":")).encode() + b"\n" for e in self.entries()
        )
