"""What the orchestrator retries: anything but the tap's own failure (see meltano_runner).

A warehouse that refuses connections fails the loader: the op is tried again, with the
configured backoff, then the run fails with the loader's error. (A refused token, which
a retry cannot fix, is shown failing once in test_many_accounts.py.)
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tests.orchestrate.orchestra import Account, Orchestra

pytestmark = pytest.mark.e2e


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_loader_failure_is_retried_then_fails_with_the_loaders_error(
    make_orchestra: Callable[[list[Account]], Orchestra],
) -> None:
    account = Account("acme", seed=43, timezone="Asia/Kolkata", now="2026-03-10T12:00:00+00:00")
    orchestra = make_orchestra([account])
    unreachable = f"postgresql+psycopg://nobody:nothing@127.0.0.1:{closed_port()}/warehouse"
    (run_id,) = orchestra.launch([account], env={"TARGET_POSTGRES_SQLALCHEMY_URL": unreachable})
    orchestra.wait([run_id])

    assert orchestra.status(run_id) == "FAILURE"
    assert orchestra.attempts(run_id) == 3, orchestra.event_types(run_id)  # 1 + 2 retries
    failure = orchestra.failure(run_id)
    assert "meltano run acefone-acme failed (failed, exit code" in failure, failure
    assert "target-postgres: (psycopg.OperationalError) connection failed" in failure, failure
    assert "not retried" not in failure
    assert "nothing@" not in failure, "the warehouse password reached the failure message"
    jobs = orchestra.meltano_jobs(account)
    assert [job["state"] for job in jobs] == ["FAIL", "FAIL", "FAIL"], jobs
    assert orchestra.bookmark(account) is None, "a run that loaded nothing stored a state"
