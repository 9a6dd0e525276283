"""At rate = limit, a full sync draws no 429 from any kind of limiter and loses nothing.

The sandbox runs in its own process, so its limiter stamps arrivals on a clock the tap's
threads cannot delay, as a real server's would; its latency comes after the limiter (a
throttle middleware answers before the slow work). The tap runs at its defaults but for the
rate: pages fetched ahead across windows, page size asked 1000 and clamped by the server.
That the fetch-ahead crosses windows is proven without a clock in tests/test_prefetch.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from scripts.harness import SandboxProcess, iso
from tests.taprun import STATIC_TOKEN, run_tap
from tests.truth import assert_exactly_once, assert_matches_truth

RATE = 5
DAYS = 2


@pytest.mark.parametrize("kind", ["token_bucket", "sliding_window", "fixed_window"])
def test_a_sync_at_the_accounts_limit_draws_no_429_and_reconciles(tmp_path, kind):
    args = ["--rate-limit", str(RATE), "--rate-limit-kind", kind]
    args += ["--latency", "0.5", "--page-size-max", "20"]
    with SandboxProcess(
        tmp_path, seed=11, days=DAYS, calls_per_day=400, now="2026-03-12T18:29:59Z", extra_args=args
    ) as sandbox:
        end = sandbox.now()
        config = {
            "api_url": sandbox.url,
            "api_token": STATIC_TOKEN,
            "start_date": iso(end - timedelta(days=DAYS)),
            "end_date": iso(end),
            "window_hours": 12,  # four windows: the pipelining across them is exercised
            "requests_per_second": RATE,
            "request_timeout": 30,
        }
        run = run_tap(config)
        stats = sandbox.stats()
        truth = [
            row
            for row in sandbox.truth()
            if config["start_date"] <= iso(row.started_at) < config["end_date"]
        ]
    assert stats["rate_limited_by_cause"]["limiter"] == 0, stats
    assert_exactly_once(run.records)
    assert_matches_truth(run.records, truth)
