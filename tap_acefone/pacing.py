"""Client-side pacing: stay under the account's request budget, whatever limiter guards it.

Acefone limits requests per account across every API (notes §2), and the kind of limiter is
undocumented: a token bucket, a sliding window or a fixed window all count differently. The
pacer keeps request *starts* at least `1 / rate` apart, plus a small margin for network jitter,
and never lets more than `rate` of them into any window of one second. Even spacing satisfies
every such limiter at once: a sliding window (no second holds more than `rate`), a fixed window
(a calendar second is one such window) and a token bucket of any burst size. Starts are
measured when they happen, not when they were scheduled, so a thread that wakes late cannot
crowd the next one; and a start counts from when the request's bytes left (`request_sent`,
called by the connection, `transport.py`), so a request that reached its socket late, behind
another thread's work on the interpreter, cannot crowd the ones after it either.

On a 429 the pacer halves its rate (multiplicative decrease) and holds every request for the
server's `Retry-After`; each success then wins back a twentieth of the configured rate
(additive increase), never more than the configured rate. When the server says how much of
its budget is left (`X-RateLimit-Remaining`, Laravel style) and when it resets
(`X-RateLimit-Reset`), an exhausted budget holds every request until the reset. Remaining
alone says nothing about when the window ends, so it is only reported.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

# Starts are spaced this fraction more than 1/rate apart: at 3 requests/s, 10 ms, which
# absorbs that much jitter between the tap and the server's limiter at a cost of 3% of the
# budget.
MARGIN = 0.03
# What one success wins back, as a fraction of the configured rate, after a 429.
RECOVERY_STEP = 1 / 20
# The rate never drops below this fraction of the configured one (four halvings).
FLOOR = 1 / 16
# A reset value above this is a Unix time; below it, seconds from now.
_EPOCH_THRESHOLD = 1e9
# Each thread's latest start that its request has not yet sent: (pacer, when it was counted).
_unsent = threading.local()


class Pacer:
    """Paces request starts for every thread of the tap (thread-safe)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.configured = float(rate)
        self.current = float(rate)
        self.reported_limit: int | None = None
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._starts: deque[float] = deque()
        self._not_before = -math.inf

    def wait(self, stop: threading.Event | None = None) -> bool:
        """Block until a request may start, and count it as started.

        Returns False, without counting a start, once `stop` is set (the caller then gives up
        the request).
        """
        while True:
            with self._lock:
                now = self._clock()
                ready = self._next_start()
                if now >= ready:
                    self._starts.append(now)
                    self._trim()
                    _unsent.start = (self, now)
                    return True
                delay = ready - now
            if stop is None:
                self._sleep(delay)
            elif stop.wait(delay):
                return False

    def _trim(self) -> None:
        while len(self._starts) > self._per_window():
            self._starts.popleft()

    def count_from_now(self, counted: float) -> None:
        """A start counted at `counted` left only now: count it from now (starts stay sorted)."""
        with self._lock:
            now = self._clock()
            if now <= counted:
                return
            starts = self._starts
            for i in range(len(starts) - 1, -1, -1):  # recent starts are at the right
                if starts[i] == counted:
                    del starts[i]
                    break
            at = len(starts)
            while at > 0 and starts[at - 1] > now:
                at -= 1
            starts.insert(at, now)
            self._trim()

    @property
    def last_start(self) -> float | None:
        """When the latest request started, on the pacer's clock (None before the first)."""
        with self._lock:
            return self._starts[-1] if self._starts else None

    def now(self) -> float:
        """The pacer's clock."""
        return self._clock()

    def _next_start(self) -> float:
        if self.current <= 0 or not self._starts:
            return self._not_before
        spaced = self._starts[-1] + (1 + MARGIN) / self.current
        ready = max(spaced, self._not_before)
        if len(self._starts) >= self._per_window():
            ready = max(ready, self._starts[-self._per_window()] + 1 + MARGIN)
        return ready

    def _per_window(self) -> int:
        """Most starts allowed in any window of one second (plus the margin)."""
        return max(1, math.floor(self.current))

    def hold(self, seconds: float) -> None:
        """Start no request for `seconds` from now (the server asked us to wait)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + max(seconds, 0.0))

    def throttled(self, retry_after: float | None) -> None:
        """A 429: halve the rate and, if the server said how long, hold for that long."""
        with self._lock:
            self.current = max(self.configured * FLOOR, self.current / 2)
        if retry_after is not None:
            self.hold(retry_after)

    def succeeded(self) -> None:
        """An answered request: win back part of the rate lost to a 429, up to the configured."""
        if self.current < self.configured:
            with self._lock:
                step = self.configured * RECOVERY_STEP
                self.current = min(self.configured, self.current + step)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read `X-RateLimit-*` headers: an exhausted budget with a reset time holds until it."""
        limit = header_number(headers.get("X-RateLimit-Limit"))
        if limit is not None:
            self.reported_limit = int(limit)
        remaining = header_number(headers.get("X-RateLimit-Remaining"))
        reset = header_number(headers.get("X-RateLimit-Reset"))
        if remaining is not None and remaining <= 0 and reset is not None:
            self.hold(self.seconds_until(reset))

    def seconds_until(self, reset: float) -> float:
        """Seconds until a reset given as a Unix time or as seconds from now."""
        if reset > _EPOCH_THRESHOLD:
            return max(reset - self._wall_clock(), 0.0)
        return max(reset, 0.0)


def request_sent() -> None:
    """The calling thread's paced request has just been written to its socket.

    Its start is counted again from now, if that is later than when the pacer let it go:
    between the two the thread may have waited for the interpreter behind another thread's
    work (decoding a 1000-row page holds it for milliseconds), and a limiter counts the
    request when it arrives. Called by the connection (`transport.StampedHTTPConnection`)
    for every request it writes; one the pacer did not let go changes nothing.
    """
    pending: tuple[Pacer, float] | None = getattr(_unsent, "start", None)
    if pending is not None:
        _unsent.start = None
        pacer, counted = pending
        pacer.count_from_now(counted)


def header_number(text: str | None) -> float | None:
    """A rate-limit header's number; None when absent, not a number, NaN or infinite.

    NaN would crash a sleep and infinity hold the run for ever.
    """
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
