"""One recorded tap run, a re-run from its state, and the sandbox's truth after each.

The tap runs as its CLI (`tap-acefone --config ... [--state ...]`) against a sandbox whose
three days of calls show every type variant the API sends (asserted in the tests). Its
stdout is kept as a file and piped unchanged into every target, so each target loads the
very same messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tap_acefone.sandbox import Sandbox, SandboxConfig
from tests.taprun import iso, parse_messages, run_tap_cli, tap_config
from tests.truth import truth_in

DAYS = 3
SANDBOX = {
    "seed": 7,
    "days": DAYS,
    "calls_per_day": 150,
    "now": datetime(2026, 3, 10, 12, tzinfo=timezone.utc),
}
# Long enough for new calls to arrive and recent ones to change (notes, recordings).
RERUN_AFTER = timedelta(hours=3)


@dataclass(frozen=True)
class Recorded:
    """The two recorded runs and what the sandbox held when each ended."""

    full: Path  # the first sync, from start_date
    rerun: Path  # the incremental run from the first one's last STATE
    truth_full: dict[str, Any]  # id -> TruthRow, calls visible at the end of run 1
    truth_rerun: dict[str, Any]  # the same at the end of run 2
    reread: frozenset[str]  # ids the re-run delivered again (the lookback)
    changed: frozenset[str]  # of those, ids whose compared fields changed in between


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    work = tmp_path_factory.mktemp("recorded")
    with Sandbox(SandboxConfig(**SANDBOX)) as sandbox:
        config = tap_config(sandbox, days=DAYS)
        first = run_tap_cli(config, work)
        assert first.returncode == 0, first.stderr[-3000:]
        full = work / "full.singer"
        full.write_text(first.stdout)
        truth_full = {row.record["id"]: row for row in truth_in(sandbox, config)}

        sandbox.clock.advance(RERUN_AFTER)
        config = {**config, "end_date": iso(sandbox.clock.now())}
        state = parse_messages(first.stdout).last_state
        second = run_tap_cli(config, work, state=state)
        assert second.returncode == 0, second.stderr[-3000:]
        rerun = work / "rerun.singer"
        rerun.write_text(second.stdout)
        truth_rerun = {row.record["id"]: row for row in truth_in(sandbox, config)}

    first_ids = set(parse_messages(first.stdout).ids)
    reread = set(parse_messages(second.stdout).ids) & first_ids
    changed = {
        i
        for i in reread
        if json.dumps(truth_full[i].record, sort_keys=True)
        != json.dumps(truth_rerun[i].record, sort_keys=True)
    }
    return Recorded(full, rerun, truth_full, truth_rerun, frozenset(reread), frozenset(changed))
