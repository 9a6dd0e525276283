"""Client-side pacing: never ask the API faster than the account's request budget.

Acefone limits requests per account across every API (notes §2), so a tap that bursts gets
429s that cost more time than they save. The pacer spaces request starts evenly; it is
thread-safe so concurrent page fetches share one budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Spaces calls to `wait()` at least `1 / rate` seconds apart."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def wait(self) -> None:
        """Block until the caller may start its request, reserving that slot."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Push every later slot back, e.g. after the server asked us to slow down."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)
