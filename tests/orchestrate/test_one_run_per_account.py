"""One account never runs twice at once, so two launches cannot corrupt its state.

What prevents it, in order: Dagster's run queue (orchestrate/dagster.yaml admits one run per
`meltano/extractor` tag value, so a second launch of the same account waits until the first
has ended), and behind it Meltano's own guard (a `meltano run` started outside Dagster while
the account's pipeline runs is refused: "already running"). The first run is held for a
while by one slow API answer, so both guards are seen at work while it is in progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from scripts.harness import iso
from tests.orchestrate.orchestra import Account, Orchestra
from tests.orchestrate.test_many_accounts import assert_reconciles

pytestmark = pytest.mark.e2e

HOLD_SECONDS = 20


def wait_for_meltano_job(orchestra: Orchestra, account: Account, timeout: float = 300) -> None:
    """Until Meltano has recorded the account's pipeline as running."""
    deadline = time.monotonic() + timeout
    while not any(job["state"] == "RUNNING" for job in orchestra.meltano_jobs(account)):
        assert time.monotonic() < deadline, f"no running Meltano job:\n{orchestra.daemon_log()}"
        time.sleep(0.5)


def test_the_same_job_launched_twice_runs_once_after_the_other(
    make_orchestra: Callable[[list[Account]], Orchestra],
) -> None:
    account = Account("acme", seed=41, timezone="Asia/Kolkata", now="2026-03-10T12:00:00+00:00")
    orchestra = make_orchestra([account])
    # The first API answer of the first run takes HOLD_SECONDS: the run stays in progress.
    account.admin("POST", "/_sandbox/faults", {"fail_next": ["slow"], "slow_seconds": HOLD_SECONDS})

    first, second = orchestra.launch([account, account])
    wait_for_meltano_job(orchestra, account)
    assert orchestra.status(first) == "STARTED"
    assert orchestra.status(second) == "QUEUED", "the second run was let in beside the first"
    outside = orchestra.meltano(["run", account.meltano_job], "outside-dagster")
    assert outside.returncode != 0
    assert f"Another '{account.state_id}' pipeline is already running" in outside.log

    records = orchestra.wait([first, second])
    assert {r.dagster_run.status.value for r in records.values()} == {"SUCCESS"}, orchestra.explain(
        [first, second]
    )
    # The second run was let out of the queue only after the first had ended.
    assert orchestra.event_time(second, "RUN_STARTING") >= orchestra.event_time(
        first, "RUN_SUCCESS"
    )
    assert records[second].start_time >= records[first].end_time
    # Meltano saw two complete runs of the pipeline, one after the other, and no third.
    jobs = orchestra.meltano_jobs(account)
    assert [job["state"] for job in jobs] == ["SUCCESS", "SUCCESS"], jobs
    assert jobs[0]["ended_at"] <= jobs[1]["started_at"], jobs
    # And the state and the table are what one account's runs make: nothing lost or doubled.
    assert account.sandbox is not None
    assert orchestra.bookmark(account) == iso(account.sandbox.now())
    assert_reconciles(orchestra, account, "after two launches")
