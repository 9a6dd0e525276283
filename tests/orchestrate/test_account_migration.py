"""The README's migration of a single-account table to `account_id`, run as written.

A single-account load (`tap-acefone`, no label), then the README's SQL and `meltano state
move`, then the account plugin's next incremental run: every table keyed on
`(account_id, id)`, every row labelled, the table equal to the sandbox's truth, and the run
resumed from the moved state instead of starting over.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.harness import (
    REPO_ROOT,
    STATE_ID,
    SandboxProcess,
    history_window,
    iso,
    meltano_env,
    run_meltano,
)
from scripts.postgres import PostgresServer

pytestmark = pytest.mark.e2e

TABLES = ("call_records", "users", "departments", "ivrs", "my_numbers")
ACCOUNT_STATE_ID = "dev:tap-acefone--acme-to-target-postgres"


def readme_migration_sql(schema: str) -> str:
    """The SQL block after `<!-- migration-sql -->` in the README, for `schema`."""
    text = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"<!-- migration-sql -->\s*```sql\n(.*?)```", text, re.DOTALL)
    assert match, "README.md has no migration SQL block"
    return match.group(1).replace("tap_acefone", schema)


def readme_state_move() -> list[str]:
    """The README's `meltano state move` command, as arguments."""
    text = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"^meltano (state move .*)$", text, re.MULTILINE)
    assert match, "README.md has no `meltano state move` command"
    args = match.group(1).split()
    assert args[-2:] == [STATE_ID, ACCOUNT_STATE_ID], args
    return args


def primary_key(pg: PostgresServer, schema: str, table: str) -> list[str]:
    with pg.connect() as conn:
        found = conn.execute(
            "SELECT a.attname FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.n",
            (f'"{schema}".{table}',),
        ).fetchall()
    return [row[0] for row in found]


def batched_at(pg: PostgresServer, schema: str) -> dict[str, object]:
    with pg.connect() as conn:
        return dict(conn.execute(f'SELECT id, _sdc_batched_at FROM "{schema}".call_records'))


def test_the_readme_migration_moves_a_single_account_table_to_account_id(
    meltano_plugins: None, postgres_server: PostgresServer, postgres_schema: str, tmp_path: Path
) -> None:
    with SandboxProcess(
        tmp_path / "sandbox", seed=51, days=2, calls_per_day=120, now="2026-03-10T12:00:00+00:00"
    ) as sandbox:
        start_date, end_date = history_window(sandbox.now(), 2)
        env = meltano_env(
            sandbox_url=sandbox.url,
            start_date=start_date,
            end_date=end_date,
            sqlalchemy_url=postgres_server.url,
            meltano_db=tmp_path / "meltano.db",
            target_schema=postgres_schema,
        )
        # Before: one account, no label, tables keyed on id.
        single = ["run", "tap-acefone", "target-postgres"]
        run_meltano(single, env, tmp_path / "single.log", timeout=900).check()
        assert primary_key(postgres_server, postgres_schema, "users") == ["id"]
        before = batched_at(postgres_server, postgres_schema)
        assert before

        # The migration, as the README writes it.
        with postgres_server.connect() as conn:
            conn.execute(readme_migration_sql(postgres_schema))
        move = readme_state_move()
        run_meltano(move, env, tmp_path / "move.log").check()

        # After: the account plugin's next run, three hours later, from the moved state.
        later = sandbox.advance(3 * 3600)
        env.update(
            {
                "TAP_ACEFONE__ACME_API_URL": sandbox.url,
                "TAP_ACEFONE__ACME_API_TOKEN": env["TAP_ACEFONE_API_TOKEN"],
                "TAP_ACEFONE__ACME_START_DATE": start_date,
                "TAP_ACEFONE__ACME_END_DATE": iso(later),
            }
        )
        run_meltano(["run", "acefone-acme"], env, tmp_path / "acme.log", timeout=900).check()
        truth = {row.id for row in sandbox.truth()}

    for table in TABLES:
        assert primary_key(postgres_server, postgres_schema, table) == ["account_id", "id"], table
        with postgres_server.connect() as conn:
            labels = conn.execute(
                f'SELECT account_id, count(*) FROM "{postgres_schema}".{table} GROUP BY 1'
            ).fetchall()
        assert [label for label, _ in labels] == ["acme"], (table, labels)
    after = batched_at(postgres_server, postgres_schema)
    assert set(after) == truth, "the table no longer equals the sandbox's calls"
    assert set(after) > set(before), "no new calls: the run proves little"
    reread = sum(1 for cdr_id, stamp in after.items() if before.get(cdr_id) not in (None, stamp))
    assert reread < len(before), "the account plugin started over instead of resuming"
