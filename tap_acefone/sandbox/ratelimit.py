"""An account-wide token bucket, in real (monotonic) time.

The real limit is undocumented; the notes report it is account-wide and small (about the
account's CPS), so one bucket covers every /v1 request. Burst = max(1, rate).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, holding at most ``max(1, rate)``."""

    def __init__(self, rate: float, *, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self._now = now
        self._tokens = self.capacity
        self._stamp = now()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take a token: return 0.0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self._now()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


def retry_after_header(wait: float) -> str:
    """Whole seconds for ``Retry-After`` (at least 1, so clients never spin)."""
    return str(max(1, math.ceil(wait)))
