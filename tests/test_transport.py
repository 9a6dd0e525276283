"""The tap's connections tell the pacer when a request has actually been written (loopback)."""

from __future__ import annotations

import pytest

from tap_acefone.pacing import Pacer
from tap_acefone.tap import TapAcefone
from tests.taprun import tap_config


class StillClock:
    """A pacer clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def session_and_pacer(sandbox):
    tap = TapAcefone(config=tap_config(sandbox, days=1), setup_mapper=False)
    clock = StillClock()
    return tap.session, Pacer(2, clock=clock), clock, sandbox.url + "/v1/call/records"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_both_schemes_use_the_stamping_connections(sandbox, scheme):
    tap = TapAcefone(config=tap_config(sandbox, days=1), setup_mapper=False)
    pool = tap.session.get_adapter(f"{scheme}://api.acefone.in").poolmanager
    assert pool.pool_classes_by_scheme[scheme].ConnectionCls.__name__.startswith("Stamped")


def test_a_start_counts_from_when_the_tap_session_wrote_the_request(session_and_pacer):
    session, pacer, clock, url = session_and_pacer
    pacer.wait()
    clock.now += 0.4  # the thread was held up between the pacer and its socket
    session.get(url, timeout=10)  # the sandbox's answer (401 without a token) does not matter
    assert pacer.last_start == pytest.approx(1000.4)


def test_a_request_the_pacer_did_not_let_go_moves_no_start(session_and_pacer):
    session, pacer, clock, url = session_and_pacer
    pacer.wait()
    session.get(url, timeout=10)
    clock.now += 0.4
    session.get(url, timeout=10)  # not paced: the start already left with the first one
    assert pacer.last_start == pytest.approx(1000.0)
