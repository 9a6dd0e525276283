"""The retry path's bookkeeping: tries, waits, Retry-After, token renewal and giving up."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import pytest
import requests

from tap_acefone.errors import (
    AbandonedError,
    FatalResponseError,
    GaveUpError,
    TokenExpiredError,
    TransientResponseError,
)
from tap_acefone.pacing import Pacer
from tap_acefone.retries import (
    RetryLog,
    RetryPolicy,
    ServerWait,
    jittered,
    paced_tries,
    parse_retry_after,
    with_retries,
)

LOGGER = logging.getLogger("test")


def failing(*errors):
    """A call that raises the given errors in turn, then returns "ok"; counts its calls."""
    queue = list(errors)
    calls = []

    def call():
        calls.append(1)
        if queue:
            raise queue.pop(0)
        return "ok"

    call.calls = calls
    return call


def retried(call, *, max_tries=3, pacer=None, on_token_expired=None, stop=None, waits=None):
    pacer = pacer or Pacer(0)
    log = RetryLog("GET /x", max_tries, pacer, LOGGER)

    def jitter(value):  # record the waits instead of sleeping them
        if waits is not None:
            waits.append(jittered(value))
        return 0.0

    tries = paced_tries(
        call,
        what="GET /x",
        pacer=pacer,
        logger=LOGGER,
        on_token_expired=on_token_expired,
        stop=stop,
    )
    return with_retries(
        tries,
        wait_gen=RetryPolicy(max_tries=max_tries).wait_times,
        max_tries=max_tries,
        jitter=jitter,
        on_backoff=log.on_backoff,
        on_giveup=log.on_giveup,
    )()


def test_transient_errors_are_retried_with_growing_waits():
    waits = []
    call = failing(TransientResponseError("a"), TransientResponseError("b"))
    assert retried(call, waits=waits) == "ok"
    assert len(call.calls) == 3
    assert 0.5 <= waits[0] <= 1.0
    assert 1.0 <= waits[1] <= 2.0


def test_retry_after_sets_the_wait_exactly():
    waits = []
    retried(failing(TransientResponseError("429", retry_after=7, throttled=True)), waits=waits)
    assert waits == [7]


def test_retry_after_is_capped():
    policy = RetryPolicy()
    gen = policy.wait_times()
    next(gen)
    assert gen.send(TransientResponseError("429", retry_after=9999)) == 120
    assert isinstance(jittered(ServerWait(5)), float)
    assert jittered(ServerWait(5)) == 5


def test_a_429_slows_the_shared_pacer():
    pacer = Pacer(4)
    retried(failing(TransientResponseError("429", throttled=True)), pacer=pacer)
    assert pacer.current < 4


def test_giving_up_names_the_call_and_the_last_failure():
    with pytest.raises(GaveUpError, match=r"GET /x failed 3 times in a row; last failure: c"):
        retried(failing(*(TransientResponseError(x) for x in "abc")))


def test_a_fatal_error_is_not_retried():
    call = failing(FatalResponseError("403"))
    with pytest.raises(FatalResponseError):
        retried(call)
    assert len(call.calls) == 1


def test_an_expired_token_is_renewed_once_and_not_counted_as_a_try():
    renewals = []
    call = failing(
        TokenExpiredError("401"), TransientResponseError("a"), TransientResponseError("b")
    )
    assert retried(call, on_token_expired=lambda exc: renewals.append(1)) == "ok"
    assert renewals == [1]
    assert len(call.calls) == 4  # 3 tries, one of them renewed and repeated


def test_a_token_refused_again_after_renewal_is_fatal():
    call = failing(TokenExpiredError("401"), TokenExpiredError("401"))
    with pytest.raises(FatalResponseError, match="GET /x"):
        retried(call, on_token_expired=lambda exc: None)


def test_an_abandoned_request_sends_nothing_more():
    stop = threading.Event()
    stop.set()
    call = failing()
    with pytest.raises(AbandonedError):
        retried(call, stop=stop)
    assert call.calls == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("-4", 0.0),
        ("soon", None),
        (None, None),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 11:59:00 GMT", 0.0),
        ("Thu, 26 Nov 2026 12:00:30", 30.0),
        (" 2.5 ", 2.5),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("-inf", None),
    ],
)
def test_parse_retry_after(header, expected):
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after(header, now=now) == expected


@pytest.mark.parametrize("header", ["nan", "NaN", "inf", "1e999"])
def test_an_unreadable_retry_after_is_retried_on_the_usual_schedule(header):
    # A Retry-After no clock can wait (NaN, infinity) is ignored like a missing one: the
    # retry waits the exponential backoff instead of crashing the run or waiting forever.
    waits = []
    failure = TransientResponseError("429", retry_after=parse_retry_after(header), throttled=True)
    assert retried(failing(failure), waits=waits) == "ok"
    assert len(waits) == 1
    assert 0.5 <= waits[0] <= 1.0


def test_a_run_ending_during_a_token_renewal_sends_nothing_more():
    # The renewal is where a fetched-ahead request may wait longest; if the run ends
    # meanwhile, the request is given up, not sent with the new token.
    stop = threading.Event()
    call = failing(TokenExpiredError("401"))
    with pytest.raises(AbandonedError):
        retried(call, stop=stop, on_token_expired=lambda exc: stop.set())
    assert len(call.calls) == 1


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (requests.exceptions.ConnectionError("reset by peer at https://x/?token=s"), "reset"),
        (requests.exceptions.ReadTimeout("read timed out"), "timed out"),
        (ConnectionResetError(104, "Connection reset by peer"), "reset"),
    ],
)
def test_network_failures_are_retried_and_described_without_their_urls(failure, said, caplog):
    waits = []
    assert retried(failing(failure), waits=waits) == "ok"
    assert len(waits) == 1
    assert 0.5 <= waits[0] <= 1.0
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("GET /x: the ")
    assert said in warning
    assert "try 2 of 3 again in" in warning
    assert "token" not in warning
