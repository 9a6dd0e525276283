"""SIGKILL the whole `meltano run tap-acefone target-postgres`, twice, then rerun.

A first run loads one day and Meltano stores its state. The next run, over one more day, is
killed (SIGKILL to its process group: meltano, the tap and the target at once) a few pages
in; its rerun is killed again later; a final rerun completes. The `call_records` table must
then equal the sandbox's ground truth exactly, no row duplicated, and the reruns must not
have touched any row that started before the stored bookmark minus the lookback.

Meltano persists state only when the target flushes all its sinks (the end of a run, or every
few minutes on long runs), so what a rerun re-reads after a kill is everything since the last
state Meltano stored, minus the lookback. After a SIGKILL, Meltano also refuses to start the
same pipeline until the dead run's heartbeat is stale (about five minutes): the reruns pass
`--force`, as an operator would.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scripts.harness import (
    STATE_ID,
    SandboxProcess,
    iso,
    meltano_env,
    run_meltano,
    start_meltano,
)
from scripts.postgres import PostgresServer
from tap_acefone.records import strip_query_token
from tests.e2e.test_meltano_postgres import (
    assert_matches_truth,
    fetch_table,
    meltano_plugins,  # noqa: F401  (fixture)
)
from tests.faults.support import recording_tokens

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("meltano_plugins")]

TOKEN = "tok_FAULTSUITE_MELTANO_5d1f0a9c3e"
LOOKBACK_MINUTES = 60
RUN_TIMEOUT_S = 300.0
PIPELINE = ["run", "tap-acefone", "target-postgres"]


def run_and_kill(args, env, log_path: Path, sandbox: SandboxProcess, after_pages: int) -> int:
    """Start `meltano ARGS` and SIGKILL its process group once the sandbox has served
    `after_pages` more pages of call records; return meltano's exit status."""
    served = _pages_served(sandbox)
    with open(log_path, "ab") as log:
        proc = start_meltano(args, env, log)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        try:
            while proc.poll() is None and _pages_served(sandbox) < served + after_pages:
                assert time.monotonic() < deadline, "meltano run never reached the kill point"
                time.sleep(0.05)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def _pages_served(sandbox: SandboxProcess) -> int:
    with urllib.request.urlopen(sandbox.url + "/_sandbox/stats", timeout=30) as response:
        return int(json.loads(response.read())["pages_served"])


def stored_bookmark(env, log_path: Path) -> str | None:
    """The call_records bookmark in Meltano's stored state (`meltano state get`)."""
    result = run_meltano(["state", "get", STATE_ID], env, log_path).check()
    text = result.log[result.log.index('{"singer_state"') :].splitlines()[0]
    bookmarks = json.loads(text)["singer_state"]["bookmarks"]
    return bookmarks.get("call_records", {}).get("replication_key_value")


def test_sigkill_of_meltano_run_twice_then_rerun_equals_ground_truth(
    postgres_server: PostgresServer, postgres_schema: str, tmp_path: Path
) -> None:
    with SandboxProcess(
        tmp_path / "sandbox",
        seed=11,
        days=3,
        calls_per_day=300,
        now="2026-03-10T12:00:00+00:00",
        extra_args=["--latency", "0.02", "--api-token", TOKEN],
    ) as sandbox:
        now = sandbox.now()
        # Ends 6 h back: settled calls, so the ground truth of the range cannot move.
        end = now - timedelta(hours=6)
        start, middle = end - timedelta(days=2), end - timedelta(days=1)
        env = meltano_env(
            sandbox_url=sandbox.url,
            start_date=iso(start),
            end_date=iso(middle),
            sqlalchemy_url=postgres_server.url,
            meltano_db=tmp_path / "meltano.db",
            target_schema=postgres_schema,
            extra={
                "TAP_ACEFONE_API_TOKEN": TOKEN,
                "TAP_ACEFONE_WINDOW_HOURS": "3",
                "TAP_ACEFONE_PAGE_SIZE": "100",
                "TAP_ACEFONE_LOOKBACK_MINUTES": str(LOOKBACK_MINUTES),
                "TAP_ACEFONE_RECORDING_URL_MODE": "strip_token",
            },
        )
        logs = tmp_path / "logs"
        logs.mkdir()

        # Day 1 completes; Meltano stores its state.
        run_meltano(PIPELINE, env, logs / "1-complete.log", timeout=RUN_TIMEOUT_S).check()
        bookmark = stored_bookmark(env, logs / "1-state.log")
        assert bookmark == iso(middle)
        _, after_first = fetch_table(postgres_server, postgres_schema)

        # Day 2: killed early, its rerun killed later, then a rerun that completes.
        env["TAP_ACEFONE_END_DATE"] = iso(end)
        killed = run_and_kill(PIPELINE, env, logs / "2-killed.log", sandbox, after_pages=2)
        assert killed == -signal.SIGKILL
        rerun = ["run", "--force", "tap-acefone", "target-postgres"]
        killed = run_and_kill(rerun, env, logs / "3-killed.log", sandbox, after_pages=5)
        assert killed == -signal.SIGKILL
        assert stored_bookmark(env, logs / "3-state.log") == bookmark, (
            "a killed run stored no state: the rerun resumes from the last complete one"
        )
        _, after_kills = fetch_table(postgres_server, postgres_schema)
        run_meltano(rerun, env, logs / "4-complete.log", timeout=RUN_TIMEOUT_S).check()
        assert stored_bookmark(env, logs / "4-state.log") == iso(end)

        # The table equals the ground truth of [start, end), recording tokens stripped.
        truth = [row for row in sandbox.truth() if start <= row.started_at < end]
        tokens = recording_tokens(truth)
        for row in truth:
            url = row.record.get("recording_url")
            if isinstance(url, str) and url:
                row.record["recording_url"] = strip_query_token(url)
        table = assert_matches_truth(postgres_server, postgres_schema, truth, "after the kills")

    # The reruns re-read nothing before the stored bookmark minus the lookback.
    floor = datetime.fromisoformat(bookmark) - timedelta(minutes=LOOKBACK_MINUTES)
    floor_naive = floor.replace(tzinfo=None)
    untouched = {i for i, row in after_first.items() if row["started_at"] < floor_naive}
    assert untouched, "day 1 has rows before the lookback; the check proves something"
    rewritten = [
        i for i in untouched if table[i]["_sdc_batched_at"] != after_first[i]["_sdc_batched_at"]
    ]
    assert not rewritten, f"{len(rewritten)} rows before bookmark - lookback were re-read"
    reread = [
        i for i, row in after_kills.items() if table[i]["_sdc_batched_at"] != row["_sdc_batched_at"]
    ]
    assert reread, "the final rerun re-read the lookback"
    assert all(table[i]["started_at"] >= floor_naive for i in reread)

    # No recording token and no API token anywhere: table, Meltano's logs and state.
    with postgres_server.connect() as conn:
        dump = "\n".join(
            row[0]
            for row in conn.execute(
                f'SELECT row_to_json(t)::text FROM "{postgres_schema}".call_records t'
            ).fetchall()
        )
    assert "token=" not in dump
    assert not [t for t in tokens if t in dump]
    for log in logs.iterdir():
        text = log.read_text(errors="replace")
        assert TOKEN not in text, f"the API token leaked into {log.name}"
        assert not [t for t in tokens if t in text], f"a recording token leaked into {log.name}"
