"""Account-wide rate limiters in real time: three plausible kinds, since the real one is unknown.

The notes report the limit is account-wide and small (about the account's CPS) and that the
429 body is Laravel's "Too Many Attempts.", but not which algorithm counts. So:

- ``TokenBucket``: ``rate`` tokens a second, burst ``max(1, rate)`` (the most forgiving);
- ``SlidingWindow``: at most N accepted requests in any window of ``period`` seconds,
  measured on arrival, i.e. an arrival is refused when N others were accepted in the
  ``period`` seconds before it (the strictest: a client pacing exactly 1/N apart is
  caught by a few milliseconds of network jitter);
- ``FixedWindow``: at most N per calendar period aligned to the real clock's whole second
  or minute (Laravel-like counting; a burst of 2N straddling a boundary passes).

Refused requests are not counted, as in Laravel's ThrottleRequests (it checks
``tooManyAttempts`` before ``hit``). Every limiter is fed the arrival time by the caller
(one reading of the injected clock), so tests drive them with a manual clock.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer for one arrival (the numbers the ``X-RateLimit-*`` headers show)."""

    allowed: bool
    wait: float  # seconds until a request would be accepted (0.0 when allowed)
    limit: int  # X-RateLimit-Limit
    remaining: int  # X-RateLimit-Remaining, after counting this request


class Limiter(Protocol):
    """What the server asks a limiter."""

    def take(self, now: float) -> Verdict:
        """Count an arrival at monotonic ``now`` if it is allowed."""
        ...


class TokenBucket:
    """``rate`` tokens per second, holding at most ``max(1, rate)``."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self._tokens = self.capacity
        self._stamp: float | None = None
        self._lock = threading.Lock()

    def take(self, now: float) -> Verdict:
        """Take a token if one is there; else say how long until one is."""
        with self._lock:
            if self._stamp is not None:
                elapsed = max(0.0, now - self._stamp)
                self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._stamp = now
            limit = int(self.capacity)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return Verdict(True, 0.0, limit, int(self._tokens))
            return Verdict(False, (1.0 - self._tokens) / self.rate, limit, 0)


class SlidingWindow:
    """At most ``n`` accepted arrivals in any ``period`` seconds: ``(now - period, now]``."""

    def __init__(self, n: int, period: float) -> None:
        self.n = n
        self.period = float(period)
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self, now: float) -> Verdict:
        """Accept unless ``n`` arrivals were accepted in the last ``period`` seconds."""
        with self._lock:
            accepted = self._accepted
            while accepted and accepted[0] <= now - self.period:
                accepted.popleft()
            if len(accepted) < self.n:
                accepted.append(now)
                return Verdict(True, 0.0, self.n, self.n - len(accepted))
            return Verdict(False, accepted[0] + self.period - now, self.n, 0)


class FixedWindow:
    """At most ``n`` arrivals per calendar window ``[k * period, (k + 1) * period)``.

    Windows are aligned on the epoch clock: ``epoch_offset`` turns a monotonic reading into
    epoch seconds (captured once, so a wall-clock step cannot stretch a window).
    """

    def __init__(self, n: int, period: float, *, epoch_offset: float) -> None:
        self.n = n
        self.period = float(period)
        self.epoch_offset = epoch_offset
        self._window: int | None = None
        self._count = 0
        self._lock = threading.Lock()

    def take(self, now: float) -> Verdict:
        """Accept unless this calendar window already holds ``n`` arrivals."""
        epoch = now + self.epoch_offset
        window = math.floor(epoch / self.period)
        with self._lock:
            if window != self._window:
                self._window, self._count = window, 0
            if self._count < self.n:
                self._count += 1
                return Verdict(True, 0.0, self.n, self.n - self._count)
            return Verdict(False, (window + 1) * self.period - epoch, self.n, 0)


def build_limiter(kind: str, rate: float, *, n: int, period: float, epoch_offset: float) -> Limiter:
    """The limiter ``kind`` names (``rate`` for the bucket, ``n``/``period`` for windows)."""
    if kind == "token_bucket":
        return TokenBucket(rate)
    if kind == "sliding_window":
        return SlidingWindow(n, period)
    if kind == "fixed_window":
        return FixedWindow(n, period, epoch_offset=epoch_offset)
    raise ValueError(f"unknown rate limiter kind {kind!r}")


def retry_after_header(wait: float) -> str:
    """Whole seconds for ``Retry-After`` (at least 1, so clients never spin)."""
    return str(max(1, math.ceil(wait)))


def reset_header(epoch_now: float, wait: float) -> str:
    """``X-RateLimit-Reset``: the first whole epoch second at which a retry is accepted.

    Laravel sends ``now + Retry-After`` in whole seconds, which can fall a fraction of a
    second early; rounding up keeps a client that waits until it from being refused again.
    """
    return str(math.ceil(epoch_now + wait))
