"""Real elapsed time, injectable: what the limiter, arrival jitter and slow answers run on.

The virtual :class:`~.clock.Clock` decides *data* (which CDRs exist and are visible). Real
time decides *pace*: rate limits, latency, slow pages. Both are injected, so tests can drive
pace with :class:`ManualTime` (waits advance it instantly, no test ever sleeps) while the
default :class:`SystemTime` reads ``time.monotonic`` and sleeps for real (waking early when
the sandbox stops).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class RealTime(Protocol):
    """The three things the server needs from real time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (intervals, limiter windows)."""
        ...

    def time(self) -> float:
        """Unix epoch seconds (calendar-aligned windows, ``X-RateLimit-Reset``)."""
        ...

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass before answering (latency, jitter, slow pages)."""
        ...

    def lag_since(self, received_wall: float) -> float:
        """Seconds since the kernel received a request (its ``SO_TIMESTAMPNS`` time)."""
        ...


class SystemTime:
    """The machine's clocks; ``wait`` returns early once ``stop`` is set (sandbox shutdown)."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._stop = stop or threading.Event()

    def bind(self, stop: threading.Event) -> None:
        """Wake waits on this event from now on (the sandbox's stop event)."""
        self._stop = stop

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def wait(self, seconds: float) -> None:
        """Sleep, interruptibly."""
        if seconds > 0:
            self._stop.wait(seconds)

    def lag_since(self, received_wall: float) -> float:
        """``time.time()`` minus the kernel's receive time (never negative)."""
        return max(0.0, time.time() - received_wall)


class ManualTime:
    """A hand-driven clock for tests: ``wait`` and ``advance`` move it, nothing sleeps.

    ``monotonic()`` starts at ``start``; ``time()`` is ``epoch + (monotonic() - start)``, so
    the two never drift apart. ``waited`` sums every ``wait`` (what the server "slept").
    Meant for sequential requests: concurrent waits each advance the one shared reading.
    """

    def __init__(self, start: float = 1000.0, epoch: float = 1_773_144_000.0) -> None:
        self._lock = threading.Lock()
        self._start = float(start)
        self._now = float(start)
        self._epoch = float(epoch)
        self.waited = 0.0

    def monotonic(self) -> float:
        """The current reading."""
        with self._lock:
            return self._now

    def time(self) -> float:
        """Epoch seconds matching the current reading."""
        with self._lock:
            return self._epoch + (self._now - self._start)

    def wait(self, seconds: float) -> None:
        """Advance by ``seconds`` at once and remember it in ``waited``."""
        if seconds > 0:
            with self._lock:
                self._now += seconds
                self.waited += seconds

    def lag_since(self, received_wall: float) -> float:
        """Nothing: hand-driven time has no real lag (the kernel's clock is not this one)."""
        return 0.0

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds``; return the new reading."""
        if seconds < 0:
            raise ValueError("real time only moves forward")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, reading: float) -> float:
        """Jump forward to the monotonic ``reading``."""
        with self._lock:
            if reading < self._now:
                raise ValueError("real time only moves forward")
            self._now = float(reading)
            return self._now
