"""The retry loop's bookkeeping: tries, waits, Retry-After and token renewal."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from tap_acefone.errors import (
    FatalResponseError,
    GaveUpError,
    TokenExpiredError,
    TransientResponseError,
)
from tap_acefone.pacing import Pacer
from tap_acefone.retries import RetryPolicy, call_with_retries, parse_retry_after

LOGGER = logging.getLogger("test")


def failing(*errors):
    """A call that raises the given errors in turn, then returns "ok"."""
    queue = list(errors)

    def call():
        if queue:
            raise queue.pop(0)
        return "ok"

    return call


def run(call, sleeps, **kwargs):
    return call_with_retries(
        call,
        what="GET /x",
        policy=RetryPolicy(max_tries=kwargs.pop("max_tries", 3)),
        pacer=Pacer(0),
        logger=LOGGER,
        sleep=sleeps.append,
        **kwargs,
    )


def test_transient_errors_are_retried_with_growing_waits():
    sleeps = []
    assert run(failing(TransientResponseError("a"), TransientResponseError("b")), sleeps) == "ok"
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0
    assert 1.0 <= sleeps[1] <= 2.0


def test_retry_after_sets_the_wait():
    sleeps = []
    run(failing(TransientResponseError("429", retry_after=7)), sleeps)
    assert sleeps == [7]


def test_giving_up_names_the_call_and_the_last_failure():
    with pytest.raises(GaveUpError, match=r"GET /x failed 3 times in a row; last failure: c"):
        run(failing(*(TransientResponseError(x) for x in "abc")), [])


def test_an_expired_token_is_renewed_once_and_not_counted_as_a_try():
    renewals = []
    call = failing(
        TokenExpiredError("401"), TransientResponseError("a"), TransientResponseError("b")
    )
    assert run(call, [], on_token_expired=lambda: renewals.append(1)) == "ok"
    assert renewals == [1]


def test_a_token_refused_again_after_renewal_is_fatal():
    call = failing(TokenExpiredError("401"), TokenExpiredError("401"))
    with pytest.raises(FatalResponseError, match="GET /x"):
        run(call, [], on_token_expired=lambda: None)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("-4", 0.0),
        ("soon", None),
        (None, None),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
    ],
)
def test_parse_retry_after(header, expected):
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after(header, now=now) == expected


def test_pacer_spaces_requests():
    moments = {"now": 0.0}
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        moments["now"] += seconds

    pacer = Pacer(4, clock=lambda: moments["now"], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert moments["now"] == pytest.approx(1.0)
    pacer.hold(10)
    pacer.wait()
    assert moments["now"] == pytest.approx(11.0)
