"""A window's pages are fetched ahead concurrently, up to max_concurrency, and still every call
arrives exactly once."""

from __future__ import annotations

import pytest

from tests.taprun import run_tap, tap_config
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_slow_api_gets_max_concurrency_requests_in_flight(make_sandbox, concurrency):
    # 0.2 s per page: the tap always waits for the next page, so it fetches as far ahead
    # as it may.
    sandbox = make_sandbox(calls_per_day=150, page_size_max=8, latency=0.2)
    config = tap_config(sandbox, days=1, max_concurrency=concurrency)
    run = run_tap(config)
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))
    stats = sandbox.stats()
    assert stats["pages_served"] > 3 * concurrency
    assert stats["max_in_flight"] == concurrency
