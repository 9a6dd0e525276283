"""End to end: `meltano run tap-acefone target-postgres` into a real PostgreSQL.

The sandbox runs as its console script (`acefone-sandbox`) on a free port; Meltano runs as a
subprocess with its own system database (so its state is this test's alone) and a schema of
its own in the session's throwaway PostgreSQL. The loaded table is reconciled with the
sandbox's ground truth after every run: same ids, no duplicates, the latest version of every
changed field, and true UTC instants.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.harness import (
    REPO_ROOT,
    STATE_ID,
    SandboxProcess,
    TruthRow,
    history_window,
    iso,
    meltano_env,
    run_meltano,
    venv_bin,
)
from scripts.postgres import PostgresServer
from tests.shapes import expected_value
from tests.truth import DERIVED_FACTS

pytestmark = pytest.mark.e2e

DAYS = 3
CALLS_PER_DAY = 300
SANDBOX_NOW = "2026-03-10T12:00:00+00:00"
RUN_TIMEOUT_S = 900.0
# Fields that change after a CDR first appears, or matter most to analysts.
COMPARED_FIELDS = (
    "status",
    "answered_seconds",
    "call_duration",
    "recording_url",
    "notes",
    "custom_status",
    "agent_name",
    "direction",
    "client_number",
    "did_number",
)
EXPECTED_TYPES = {
    "id": "text",
    "started_at": "timestamp without time zone",
    "ended_at": "timestamp without time zone",
    "call_duration": "bigint",
    "answered_seconds": "bigint",
    "call_flow": "jsonb",
    "notes": "jsonb",
    "charges": "numeric",
    "has_recording": "boolean",
    "ring_seconds": "bigint",
}

# Every call that names an agent or a department finds it in the reference tables.
JOIN_CHECKS = {
    "users": (
        "SELECT count(*), count(u.id) FROM {s}.call_records c "
        "LEFT JOIN {s}.users u ON u.agent_id = c.answered_agent_id "
        "WHERE c.answered_agent_id IS NOT NULL"
    ),
    "departments": (
        "SELECT count(*), count(d.id) FROM {s}.call_records c "
        "LEFT JOIN {s}.departments d ON d.id = c.department_id "
        "WHERE c.department_id IS NOT NULL"
    ),
    "my_numbers": (
        "SELECT count(*), count(n.id) FROM {s}.call_records c "
        "LEFT JOIN {s}.my_numbers n ON n.did_e164 = c.did_number_e164 "
        "WHERE c.did_number_e164 IS NOT NULL"
    ),
}


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="session")
def meltano_plugins() -> None:
    """Both plugins installed in .meltano/ (what `make test` does first)."""
    installed = [
        REPO_ROOT / ".meltano/extractors/tap-acefone/venv/bin/tap-acefone",
        REPO_ROOT / ".meltano/loaders/target-postgres/venv/bin/target-postgres",
    ]
    if all(path.exists() for path in installed):
        return
    result = subprocess.run(
        [venv_bin("meltano"), "install"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"meltano install failed:\n{result.stdout}\n{result.stderr}"


def _empty(value: Any) -> bool:
    return value is None or value in ("", [], {})


def _norm(value: Any) -> Any:
    """Compare API values and loaded values modulo representation (\"12\" == 12, \"\" == None)."""
    if _empty(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        stripped = value.strip()
        try:
            number = float(stripped)
        except ValueError:
            return stripped
        return str(int(number)) if number.is_integer() else stripped
    return value


def _naive_utc(instant: datetime) -> datetime:
    return instant.astimezone(timezone.utc).replace(tzinfo=None)


def fetch_table(pg: PostgresServer, schema: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """(ids in table order, id -> row) of schema.call_records."""
    with pg.connect() as conn:
        cur = conn.execute(f'SELECT * FROM "{schema}".call_records')
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return [r["id"] for r in rows], {r["id"]: r for r in rows}


def assert_matches_truth(
    pg: PostgresServer, schema: str, truth: list[TruthRow], label: str
) -> dict[str, dict[str, Any]]:
    """The table holds exactly the sandbox's visible CDRs, each in its latest version."""
    ids, table = fetch_table(pg, schema)
    expected = {row.id: row for row in truth}
    assert len(ids) == len(set(ids)), f"{label}: duplicate ids in the table"
    missing = sorted(set(expected) - set(table))
    unexpected = sorted(set(table) - set(expected))
    summary = (
        f"{label}: {len(missing)} CDRs missing (e.g. {missing[:5]}), "
        f"{len(unexpected)} unexpected rows (e.g. {unexpected[:5]}); "
        f"table {len(table)}, truth {len(expected)}"
    )
    assert not missing, summary
    assert not unexpected, summary
    problems: list[str] = []
    for cdr_id, want in expected.items():
        got = table[cdr_id]
        if got["started_at"] != _naive_utc(want.started_at):
            problems.append(
                f"{cdr_id} started_at {got['started_at']} != {iso(want.started_at)} (UTC)"
            )
        facts = want.facts
        want_end = facts.get("ended_at")
        want_end = None if want_end is None else _naive_utc(datetime.fromisoformat(want_end))
        if got.get("ended_at") != want_end:
            problems.append(f"{cdr_id} ended_at {got.get('ended_at')} != {want_end} (UTC)")
        for column, fact in DERIVED_FACTS.items():
            if column != "ended_at" and got.get(column) != facts.get(fact):
                problems.append(f"{cdr_id} {column}: {got.get(column)!r} != {facts.get(fact)!r}")
        for field in COMPARED_FIELDS:
            if field not in want.record or field not in got:
                continue
            if _norm(got[field]) != _norm(expected_value(field, want.record[field])):
                problems.append(
                    f"{cdr_id} {field}: table {got[field]!r} != truth {want.record[field]!r}"
                    f" (version {want.version})"
                )
    assert not problems, f"{label}: {len(problems)} mismatches, e.g.\n" + "\n".join(problems[:15])
    return table


def assert_audit_proves_the_run(
    pg: PostgresServer, schema: str, table: dict[str, dict[str, Any]], before: dict | None
) -> None:
    """sync_windows, in SQL: every window complete, and the newest run emitted what it loaded."""
    quoted = f'"{schema}"'
    with pg.connect() as conn:
        short = conn.execute(
            f"SELECT count(*) FROM {quoted}.sync_windows "
            "WHERE NOT complete OR distinct_served < api_count"
        ).fetchone()[0]
        newest, emitted, windows = conn.execute(
            f"SELECT run_id, sum(records_emitted), count(*) FROM {quoted}.sync_windows "
            "GROUP BY run_id ORDER BY min(run_started_at) DESC LIMIT 1"
        ).fetchone()
        gaps = conn.execute(
            f"SELECT count(*) FROM (SELECT window_end, lead(window_start) OVER "
            f"(ORDER BY window_start) AS next FROM {quoted}.sync_windows WHERE run_id = %s) w "
            "WHERE next IS NOT NULL AND next <> window_end",
            (newest,),
        ).fetchone()[0]
    assert short == 0, f"{short} windows the API did not complete"
    assert windows > 0
    assert gaps == 0, "the newest run's windows do not tile its range"
    loaded = sum(
        1
        for key, row in table.items()
        if before is None
        or key not in before
        or row["_sdc_batched_at"] != before[key]["_sdc_batched_at"]
    )
    assert emitted == loaded, f"the audit says {emitted} records emitted, the run loaded {loaded}"


def truth_versions(truth: list[TruthRow]) -> dict[str, tuple[Any, ...]]:
    return {
        row.id: (row.version, *(repr(row.record.get(f)) for f in COMPARED_FIELDS)) for row in truth
    }


# ------------------------------------------------------------------------------- tests


def test_incremental_runs_match_sandbox_truth(
    meltano_plugins: None,
    postgres_server: PostgresServer,
    postgres_schema: str,
    tmp_path: Path,
) -> None:
    with SandboxProcess(
        tmp_path / "sandbox", seed=11, days=DAYS, calls_per_day=CALLS_PER_DAY, now=SANDBOX_NOW
    ) as sandbox:
        now = sandbox.now()
        start_date, end_date = history_window(now, DAYS)
        env = meltano_env(
            sandbox_url=sandbox.url,
            start_date=start_date,
            end_date=end_date,
            sqlalchemy_url=postgres_server.url,
            meltano_db=tmp_path / "meltano.db",
            target_schema=postgres_schema,
        )
        pipeline = ["run", "tap-acefone", "target-postgres"]

        # Run 1: the whole history.
        run_meltano(pipeline, env, tmp_path / "run1.log", timeout=RUN_TIMEOUT_S).check()
        truth1 = sandbox.truth()
        assert len(truth1) > DAYS * CALLS_PER_DAY // 2, "sandbox served too little history"
        assert min(r.started_at for r in truth1) >= datetime.fromisoformat(start_date)
        table1 = assert_matches_truth(postgres_server, postgres_schema, truth1, "run 1")
        assert_audit_proves_the_run(postgres_server, postgres_schema, table1, None)
        state = run_meltano(["state", "get", STATE_ID], env, tmp_path / "state1.log")
        assert state.returncode == 0, state.tail()
        assert "call_records" in state.log, state.tail()

        # Run 2: three hours later, late CDRs arrive and recent ones change.
        # Run 3: a day later, across a local midnight.
        previous, previous_table = truth_versions(truth1), table1
        for label, advance_s in (("run 2", 3 * 3600), ("run 3", 24 * 3600)):
            later = sandbox.advance(advance_s)
            env["TAP_ACEFONE_END_DATE"] = iso(later)
            log = tmp_path / f"{label.replace(' ', '')}.log"
            run_meltano(pipeline, env, log, timeout=RUN_TIMEOUT_S).check()
            truth = sandbox.truth()
            current = truth_versions(truth)
            arrived = set(current) - set(previous)
            changed = {i for i in set(current) & set(previous) if current[i] != previous[i]}
            assert arrived, f"{label}: the sandbox served no new CDRs; the test proves nothing"
            table = assert_matches_truth(postgres_server, postgres_schema, truth, label)
            if label == "run 2":
                assert changed, f"{label}: no CDR changed in the sandbox; the test proves little"
            # The incremental run must not have re-read the whole history.
            reread = sum(
                1
                for i, row in table.items()
                if i in previous_table
                and row["_sdc_batched_at"] != previous_table[i]["_sdc_batched_at"]
            )
            assert reread < len(previous_table), f"{label}: re-read every row ({reread})"
            assert_audit_proves_the_run(postgres_server, postgres_schema, table, previous_table)
            previous, previous_table = current, table

    # Column types an analyst can use directly.
    with postgres_server.connect() as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'call_records'",
                (postgres_schema,),
            ).fetchall()
        )
        pkey = conn.execute(
            "SELECT a.attname FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary",
            (f'"{postgres_schema}".call_records',),
        ).fetchall()
    for column, expected_type in EXPECTED_TYPES.items():
        assert types.get(column) == expected_type, (column, types.get(column))
    assert [r[0] for r in pkey] == ["id"]
    assert "_sdc_batched_at" in types  # add_record_metadata
    assert_calls_join_reference_tables(postgres_server, postgres_schema)


def assert_calls_join_reference_tables(pg: PostgresServer, schema: str) -> None:
    """All five streams landed, and calls join to users, departments and numbers in SQL."""
    quoted = f'"{schema}"'
    with pg.connect() as conn:
        for table in ("users", "departments", "ivrs", "my_numbers"):
            (rows,) = conn.execute(f"SELECT count(*) FROM {quoted}.{table}").fetchone()
            assert rows > 0, f"{table} is empty"
        for table, query in JOIN_CHECKS.items():
            calls, joined = conn.execute(query.format(s=quoted)).fetchone()
            assert calls > 0, f"no call carries a key into {table}"
            assert joined == calls, f"{calls - joined} of {calls} calls do not join {table}"


def test_meltano_config_lists_every_setting_with_description(
    meltano_plugins: None, tmp_path: Path
) -> None:
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-acefone"]
    declared = [s["name"] for s in tap["settings"]]
    assert len(declared) >= 25
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_ACEFONE_", "TARGET_POSTGRES_", "MELTANO_"))
    }
    env["MELTANO_DATABASE_URI"] = f"sqlite:///{tmp_path / 'meltano.db'}"
    result = run_meltano(["config", "list", "tap-acefone", "--all"], env, tmp_path / "cfg.log")
    result.check()
    lines = result.log.splitlines()
    described = {}
    for i, line in enumerate(lines[:-1]):
        name = line.split(" ", 1)[0]
        if "[env: TAP_ACEFONE_" in line and lines[i + 1].startswith("\t"):
            described[name] = lines[i + 1].strip()
    for name in declared:
        assert name in described, f"{name} not listed with a description:\n{result.tail(80)}"
        label, _, description = described[name].partition(": ")
        assert label, (name, described[name])
        assert description.endswith("."), (name, described[name])
