"""The pacer, on an injected clock: no limiter can catch it out at the configured rate."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_acefone.pacing import FLOOR, Pacer, request_sent


class FakeTime:
    """A clock that only moves when someone sleeps (or a test moves it)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.wall = 1_700_000_000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds

    def wall_clock(self) -> float:
        return self.wall


def pacer(rate: float, time: FakeTime) -> Pacer:
    return Pacer(rate, clock=time.clock, sleep=time.sleep, wall_clock=time.wall_clock)


def starts(pacer: Pacer, time: FakeTime, n: int, *, work: float = 0.0) -> list[float]:
    """When `n` requests start, each taking `work` seconds of the caller's own time after."""
    moments = []
    for _ in range(n):
        pacer.wait()
        moments.append(time.now)
        time.now += work
    return moments


def most_in_any_window(moments: list[float], width: float = 1.0) -> int:
    """The most starts any window [t, t + width) holds (it suffices to try t = each start)."""
    return max(sum(1 for m in moments if t <= m < t + width) for t in moments)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([1, 2, 3, 5, 10, 0.5, 1.5, 2.5]),
    work=st.floats(min_value=0, max_value=0.7),
    jitter=st.floats(min_value=0, max_value=0.009),
)
def test_no_second_ever_holds_more_starts_than_the_rate(rate, work, jitter):
    # Arrivals at the server are the starts plus a network delay that varies by up to
    # `jitter` (below the pacer's margin at these rates): a sliding window of one second
    # counted on arrival never sees more than the rate.
    time = FakeTime()
    moments = starts(pacer(rate, time), time, 40, work=work)
    arrivals = [m + (jitter if i % 2 else 0.0) for i, m in enumerate(moments)]
    assert most_in_any_window(arrivals) <= max(1, int(rate))


def test_requests_start_evenly_at_the_rate_with_a_small_margin():
    time = FakeTime()
    moments = starts(pacer(4, time), time, 9)
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert all(gap == pytest.approx(0.25 * 1.03) for gap in gaps)


def test_a_thread_that_starts_late_does_not_crowd_the_next_one():
    # Spacing counts from when requests actually started: concurrent callers share it.
    time = FakeTime()
    p = pacer(2, time)
    p.wait()
    first = time.now
    time.now += 0.9  # the next caller comes late: it may start at once ...
    p.wait()
    second = time.now
    p.wait()  # ... and the one after it waits a full interval from that late start
    assert second == first + 0.9
    assert time.now == pytest.approx(second + 0.5 * 1.03)


def test_a_request_that_leaves_late_is_counted_from_when_it_left():
    # The thread that was let go waited 0.3 s for the interpreter before its request was
    # written: the next start is spaced from the moment it left, not from when it was let go.
    time = FakeTime()
    p = pacer(2, time)
    p.wait()
    time.now += 0.3
    request_sent()
    assert p.last_start == pytest.approx(1000.3)
    p.wait()
    assert time.now == pytest.approx(1000.3 + 0.5 * 1.03)


def test_a_request_sent_at_once_keeps_its_start():
    time = FakeTime()
    p = pacer(2, time)
    p.wait()
    request_sent()
    time.now += 0.3
    request_sent()  # a later report (a request the pacer did not let go) changes nothing
    p.wait()
    assert time.now == pytest.approx(1000 + 0.5 * 1.03)


class LateSends:
    """Fake time in which each request reaches its socket `delay` seconds after it was let go.

    The sends happen while the next callers wait (as on other threads): sleeping past a
    send's moment reports it to the pacer first.
    """

    def __init__(self, rate: float) -> None:
        self.time = FakeTime()
        self.pending: list[tuple[float, float]] = []  # (when it leaves, when it was counted)
        self.arrivals: list[float] = []
        self.pacer = Pacer(rate, clock=self.time.clock, sleep=self.sleep)

    def sleep(self, seconds: float) -> None:
        until = self.time.now + seconds
        self.advance(until)
        self.time.now = until

    def advance(self, until: float) -> None:
        for leaves, counted in sorted(self.pending):
            if leaves <= until:
                self.time.now = max(self.time.now, leaves)
                self.pacer.count_from_now(counted)
                self.arrivals.append(leaves)
                self.pending.remove((leaves, counted))

    def start(self, delay: float) -> None:
        self.pacer.wait()
        counted = self.pacer.last_start
        assert counted is not None
        self.pending.append((self.time.now + delay, counted))

    def finish(self) -> list[float]:
        self.advance(float("inf"))
        return self.arrivals


@settings(max_examples=300, deadline=None)
@given(
    rate=st.sampled_from([1, 2, 3, 5, 10, 1.5, 2.5]),
    delays=st.lists(st.floats(min_value=0, max_value=0.5), min_size=5, max_size=40),
)
def test_requests_that_leave_late_never_crowd_a_second_on_arrival(rate, delays):
    # Without counting from the send, one request held back by up to 0.5 s and the next ones
    # sent at once put more than `rate` arrivals into one second.
    sends = LateSends(rate)
    for delay in delays:
        sends.start(delay)
    assert most_in_any_window(sends.finish()) <= max(1, int(rate))


def test_a_429_halves_the_rate_and_successes_win_it_back_gradually():
    time = FakeTime()
    p = pacer(4, time)
    p.throttled(None)
    assert p.current == 2
    p.throttled(None)
    assert p.current == 1
    for _ in range(10):
        p.succeeded()
    assert 1 < p.current < 4
    for _ in range(100):
        p.succeeded()
    assert p.current == 4  # never above the configured rate


def test_the_rate_never_falls_below_its_floor():
    time = FakeTime()
    p = pacer(4, time)
    for _ in range(20):
        p.throttled(None)
    assert p.current == 4 * FLOOR


def test_after_a_429_requests_start_no_faster_than_the_reduced_rate():
    time = FakeTime()
    p = pacer(4, time)
    p.throttled(None)
    moments = starts(p, time, 6)
    assert most_in_any_window(moments) <= 2


def test_retry_after_holds_every_request():
    time = FakeTime()
    p = pacer(10, time)
    p.wait()
    p.throttled(7)
    p.wait()
    assert time.now == pytest.approx(1007)


def test_an_exhausted_budget_with_a_reset_time_holds_until_the_reset():
    time = FakeTime()
    p = pacer(10, time)
    p.wait()
    reset = time.wall + 30
    p.observe(
        {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{reset:.0f}",
        }
    )
    p.wait()
    assert time.now == pytest.approx(1030)
    assert p.reported_limit == 60


def test_remaining_budget_alone_does_not_slow_the_pacer():
    # Without a reset time, "0 remaining" does not say when the window ends (a sliding window
    # at the limit reports 0 after every request), so it must not stall the run.
    time = FakeTime()
    p = pacer(2, time)
    p.wait()
    p.observe({"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0"})
    p.wait()
    assert time.now == pytest.approx(1000 + 0.5 * 1.03)


def test_a_reset_given_in_seconds_holds_that_long():
    time = FakeTime()
    p = pacer(10, time)
    p.wait()
    p.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"})
    p.wait()
    assert time.now == pytest.approx(1012)


def test_a_set_stop_event_ends_the_wait_without_starting():
    time = FakeTime()
    p = pacer(1, time)
    p.wait()
    stop = threading.Event()
    stop.set()
    assert p.wait(stop) is False
