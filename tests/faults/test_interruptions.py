"""SIGKILL at random points of a multi-window sync, then a rerun from the last STATE.

What a target received before the kill (every complete line on stdout) plus what the rerun
delivers, upserted by id, must equal the ground truth exactly; the rerun must start no
earlier than bookmark - lookback_minutes and re-read, of what was already delivered, only
the lookback and the window that was in progress.
"""

from __future__ import annotations

import random
import signal

import pytest

from tests.faults.support import (
    assert_reconciles,
    assert_rerun_bounds,
    fault_config,
    run_cli,
    secret_sandbox,
)
from tests.truth import truth_in

WINDOW_HOURS = 3
LOOKBACK_MINUTES = 60


@pytest.fixture
def busy_sandbox(make_sandbox):
    """Two days of 300 calls/day, 20 ms per request: a sync of many windows and pages."""
    return secret_sandbox(make_sandbox, days=2, calls_per_day=300, latency=0.02)


def interrupted_config(sandbox):
    return fault_config(
        sandbox,
        hours=36,
        window_hours=WINDOW_HOURS,
        lookback_minutes=LOOKBACK_MINUTES,
        page_size=20,
    )


def kill_after_records(count):
    """A callback that SIGKILLs the tap once `count` call records have reached stdout."""
    seen = {"records": 0}

    def on_message(message, control):
        if message["type"] == "RECORD" and message["stream"] == "call_records":
            seen["records"] += 1
            if seen["records"] >= count:
                control.kill()

    return on_message


def kill_on_schema(message, control):
    """Kill as soon as the stream starts: no window has completed yet."""
    if message["type"] == "SCHEMA" and message["stream"] == "call_records":
        control.kill()


def assert_killed_mid_run(run):
    assert run.killed, run.describe()
    assert run.returncode == -signal.SIGKILL, run.describe()


@pytest.mark.parametrize(
    ("seed", "unbuffered"),
    [(1, False), (2, False), (3, False), (4, True)],
    ids=["seed1", "seed2", "seed3", "seed4-unbuffered"],
)
def test_sigkill_at_a_random_point_then_rerun_reconciles_exactly(
    busy_sandbox, tmp_path, seed, unbuffered
):
    """Block-buffered stdout (production) delivers records in bursts, and a kill can cut a
    line in half; with PYTHONUNBUFFERED (as Meltano's harness runs it) each line arrives at
    once, so the kill lands mid-window."""
    config = interrupted_config(busy_sandbox)
    total = len(truth_in(busy_sandbox, config))
    kill_at = random.Random(seed).randint(1, total * 7 // 10)
    env = {"PYTHONUNBUFFERED": "1"} if unbuffered else None

    killed = run_cli(config, tmp_path / "killed", on_message=kill_after_records(kill_at), env=env)
    assert_killed_mid_run(killed)
    assert killed.bookmark, "the kill landed after at least one completed window"

    rerun = run_cli(config, tmp_path / "rerun", state=killed.last_state)
    assert_reconciles(rerun, busy_sandbox, config, earlier=killed.records)
    assert_rerun_bounds(killed.ids, rerun.records, killed.bookmark, config)
    assert len(rerun.records) < total, "the rerun resumed instead of starting over"


def test_sigkill_before_the_first_window_completes_starts_over(busy_sandbox, tmp_path):
    config = interrupted_config(busy_sandbox)
    killed = run_cli(config, tmp_path / "killed", on_message=kill_on_schema)
    assert_killed_mid_run(killed)
    assert killed.bookmark is None
    rerun = run_cli(config, tmp_path / "rerun", state=killed.last_state)
    assert_reconciles(rerun, busy_sandbox, config, earlier=killed.records)


def test_two_kills_in_a_row_then_a_clean_rerun(busy_sandbox, tmp_path):
    config = interrupted_config(busy_sandbox)
    total = len(truth_in(busy_sandbox, config))
    first = run_cli(config, tmp_path / "first", on_message=kill_after_records(total // 5))
    assert_killed_mid_run(first)
    second = run_cli(
        config,
        tmp_path / "second",
        state=first.last_state,
        on_message=kill_after_records(total // 4),
    )
    assert_killed_mid_run(second)
    assert second.bookmark, "the second run completed a window"
    assert second.bookmark > first.bookmark, "the second run made progress"
    assert_rerun_bounds(first.ids, second.records, first.bookmark, config)

    final = run_cli(config, tmp_path / "final", state=second.last_state)
    assert_reconciles(final, busy_sandbox, config, earlier=first.records + second.records)
    assert_rerun_bounds(second.ids, final.records, second.bookmark, config)
