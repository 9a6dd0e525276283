"""Request counters for tests and benchmarks (API requests only, never /_sandbox/)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Stats:
    """Thread-safe counters; :meth:`snapshot` returns a JSON-friendly dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter (the in-flight gauge keeps counting live requests)."""
        with self._lock:
            self._total = 0
            self._paths: Counter[str] = Counter()
            self._statuses: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._pages = 0
            self._records = 0
            self._429 = 0
            self._429_causes = {"limiter": 0, "fault": 0}
            self._arrivals: deque[float] = deque()
            self._max_arrivals = 0
            self._max_in_flight = getattr(self, "_in_flight", 0)
            self._in_flight = getattr(self, "_in_flight", 0)

    @contextmanager
    def in_flight(self, path: str) -> Iterator[None]:
        """Count a request and track concurrency while it is being answered."""
        with self._lock:
            self._total += 1
            self._paths[path] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def status(self, code: int) -> None:
        """Record a response status."""
        with self._lock:
            self._statuses[str(code)] += 1
            if code == 429:
                self._429 += 1

    def arrival(self, at: float) -> None:
        """An arrival at the limiter (monotonic ``at``, non-decreasing across calls)."""
        with self._lock:
            arrivals = self._arrivals
            while arrivals and arrivals[0] <= at - 1.0:
                arrivals.popleft()
            arrivals.append(at)
            self._max_arrivals = max(self._max_arrivals, len(arrivals))

    def rate_limited(self, cause: str) -> None:
        """Who sent a 429: the ``limiter`` or an injected ``fault``."""
        with self._lock:
            self._429_causes[cause] += 1

    def fault(self, kind: str) -> None:
        """Record an injected fault."""
        with self._lock:
            self._faults[kind] += 1

    def page(self, records: int) -> None:
        """Record a served page of call records."""
        with self._lock:
            self._pages += 1
            self._records += records

    def snapshot(self) -> dict[str, Any]:
        """All counters as plain JSON types."""
        with self._lock:
            return {
                "requests_total": self._total,
                "requests_by_path": dict(self._paths),
                "responses_by_status": dict(self._statuses),
                "rate_limited_429": self._429,
                "rate_limited_by_cause": dict(self._429_causes),
                "max_arrivals_in_any_second": self._max_arrivals,
                "pages_served": self._pages,
                "records_served": self._records,
                "faults_injected": dict(self._faults),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
            }
