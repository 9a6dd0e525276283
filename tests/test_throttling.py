"""A 429 holds every request of the tap for the server's Retry-After, then slows the pace.

Observed on the pacer's own clock (the starts it counted and the 429s it was told about), so
the checks hold however busy the machine is: a start inside a hold is a real violation.
"""

from __future__ import annotations

import itertools

import pytest
import requests

from tap_acefone.errors import TransientResponseError
from tap_acefone.pacing import MARGIN
from tap_acefone.sandbox import Faults
from tap_acefone.tap import TapAcefone
from tests.taprun import run_tap, tap_config
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in


def test_retry_after_holds_every_request_not_only_the_refused_one(make_sandbox, pacer_events):
    # Up to four requests in flight at once; after the first window, the next request to
    # arrive gets a 429 with Retry-After: 1.
    sandbox = make_sandbox(calls_per_day=300, page_size_max=5, latency=0.05)
    config = tap_config(sandbox, days=1, max_concurrency=4, requests_per_second=50)
    run = run_tap(config, on_message=_throttle_once_after_first_state(sandbox))
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    holds = [(t, wait) for t, what, wait in pacer_events if what == "429"]
    assert holds == [(holds[0][0], 1.0)]
    told, wait = holds[0]
    starts = [t for t, what, _ in pacer_events if what == "start"]
    during = [t - told for t in starts if told < t < told + wait]
    assert not during, f"requests started {during} s after the 429, inside its hold"
    assert any(t >= told + wait for t in starts), "the run went on after the hold"


def test_after_a_429_the_pace_halves_then_recovers(make_sandbox, pacer_events):
    sandbox = make_sandbox(calls_per_day=400, page_size_max=5)
    config = tap_config(sandbox, days=2, window_hours=4, max_concurrency=1, requests_per_second=40)
    run = run_tap(config, on_message=_throttle_once_after_first_state(sandbox))
    assert_matches_truth(run.records, truth_in(sandbox, config))
    told = next(t for t, what, _ in pacer_events if what == "429")
    starts = [t for t, what, _ in pacer_events if what == "start" and t > told]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    interval = (1 + MARGIN) / 40
    # Right after the 429 the pace is near half the rate (each success wins back a twentieth),
    # and later back near the configured one.
    assert gaps[0] > 1.5 * interval
    rates = [rate for t, what, rate in pacer_events if what == "start" and t > told]
    assert rates[0] < 40
    assert rates[-1] == 40  # recovered, and never above the configured rate
    assert max(rates) <= 40


def _throttle_once_after_first_state(sandbox):
    done = []

    def on_message(message):
        if message["type"] == "STATE" and not done:
            done.append(True)
            sandbox.set_faults(Faults(fail_next=["429"]))

    return on_message


@pytest.mark.parametrize("reset", ["nan", "inf", "-inf", "soon"])
def test_a_429_with_an_unreadable_reset_time_falls_back_to_backoff(sandbox, reset):
    # Without Retry-After the reset header says how long to wait; one no clock can wait
    # (NaN, infinity) or no number at all must leave the wait to the exponential backoff.
    stream = TapAcefone(config=tap_config(sandbox, days=1)).streams["call_records"]
    response = requests.Response()
    response.status_code = 429
    response.headers["X-RateLimit-Reset"] = reset
    response._content = b'{"success":"false","message":"Too Many Attempts."}'
    with pytest.raises(TransientResponseError) as failure:
        stream.validate_response(response)
    assert failure.value.retry_after is None
    assert failure.value.throttled
