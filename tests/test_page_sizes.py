"""Pages as large as the server allows: a page size it clamps costs nothing, one it refuses or
cannot serve in time is asked for smaller, and no call is lost either way."""

from __future__ import annotations

import pytest

from tap_acefone.sandbox import Faults
from tests.taprun import run_tap, tap_config
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in


def _exact(sandbox, config, run) -> None:
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth_in(sandbox, config))


def test_a_page_size_the_server_clamps_costs_no_extra_request(make_sandbox):
    sandbox = make_sandbox(page_size_max=40, log_requests=True)
    config = tap_config(sandbox, days=2, page_size=1000, window_hours=24)
    run = run_tap(config)
    _exact(sandbox, config, run)
    log = [e for e in sandbox.request_log() if e.path == "/v1/call/records"]
    # One request per page of 40 (read from the rows, never from the size asked for).
    fewest = sum(-(-row["distinct_served"] // 40) for row in run.records_of("sync_windows"))
    assert len(log) == fewest


@pytest.mark.parametrize("fault", ["504", "timeout"])
def test_pages_that_keep_failing_when_large_are_asked_for_in_halves(make_sandbox, caplog, fault):
    # Pages of more than 50 rows answer 504 (or take longer than request_timeout).
    sandbox = make_sandbox(page_size_max=100, slow_page_above=50, slow_page_fault=fault)
    sandbox.set_faults(Faults(slow_seconds=3))
    config = tap_config(sandbox, days=2, page_size=100, request_timeout=1, window_hours=24)
    caplog.set_level("WARNING")
    run = run_tap(config)
    _exact(sandbox, config, run)
    assert all(row["page_size"] <= 50 for row in run.records_of("sync_windows"))
    warnings = [
        r.getMessage() for r in caplog.records if "asking for 50 at a time" in r.getMessage()
    ]
    assert len(warnings) == 1


def test_a_page_size_the_server_refuses_is_replaced_by_the_one_it_names(make_sandbox, caplog):
    sandbox = make_sandbox(page_size_max=40, limit_over_max="refuse", log_requests=True)
    config = tap_config(sandbox, days=2, page_size=1000, window_hours=24)
    caplog.set_level("WARNING")
    run = run_tap(config)
    _exact(sandbox, config, run)
    refused = [e for e in sandbox.request_log() if e.status == 422]
    assert len(refused) == 1  # once: the size it named is used from then on
    assert any("asking for 40 at a time" in r.getMessage() for r in caplog.records)
