"""Many accounts through Dagster: in parallel, each from its own state, failing alone.

The project's own meltano.yml accounts (acme, globex, umbrella-uk) each get a sandbox with
its own seed, clock, time zone (umbrella-uk: Europe/London) and credentials (globex logs in
with email + password; the parent plugin holds a token no sandbox accepts, so an account
that inherited it would fail). The shipped orchestrate/ definitions and dagster.yaml run them
under a real `dagster-daemon`, into one PostgreSQL schema, with Meltano's system database in
PostgreSQL too. Every account's rows are reconciled with its own sandbox's ground truth.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from scripts.harness import REPO_ROOT, iso
from tests.e2e.test_meltano_postgres import COMPARED_FIELDS, _naive_utc, _norm
from tests.orchestrate.orchestra import Account, Orchestra
from tests.shapes import expected_value

pytestmark = pytest.mark.e2e

TABLES = ("call_records", "users", "departments", "ivrs", "my_numbers")
# Reference ground truth: the endpoint as the account's own token reads it.
REFERENCE = {
    "users": ("/v1/users?limit=100", "data"),
    "departments": ("/v1/departments", None),
    "ivrs": ("/v1/ivrs", "ivrs"),
    "my_numbers": ("/v1/my_number", None),
}


def three_accounts() -> list[Account]:
    return [
        Account("acme", seed=31, timezone="Asia/Kolkata", now="2026-03-10T12:00:00+00:00"),
        Account(
            "globex", seed=32, timezone="Asia/Kolkata", now="2026-03-09T18:30:00+00:00", login=True
        ),
        Account("umbrella-uk", seed=33, timezone="Europe/London", now="2026-03-10T06:00:00+00:00"),
    ]


@pytest.fixture
def orchestra(make_orchestra: Callable[[list[Account]], Orchestra]) -> Orchestra:
    return make_orchestra(three_accounts())


def run_all(orchestra: Orchestra, accounts: list[Account]) -> dict[str, Account]:
    """One run per account, submitted together, waited for; run id -> account."""
    runs = orchestra.launch(accounts)
    orchestra.wait(list(runs))
    return runs


def rows(orchestra: Orchestra, table: str, account: Account) -> dict[str, dict[str, Any]]:
    with orchestra.pg.connect() as conn:
        cur = conn.execute(
            f'SELECT * FROM "{orchestra.target_schema}".{table} WHERE account_id = %s',
            (account.name,),
        )
        names = [d.name for d in cur.description]
        found = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    by_id = {str(r["id"]): r for r in found}
    assert len(by_id) == len(found), f"{account.name}: duplicate {table} ids"
    return by_id


def assert_reconciles(orchestra: Orchestra, account: Account, label: str) -> dict[str, Any]:
    """The account's rows in every table equal its own sandbox's ground truth."""
    assert account.sandbox is not None
    truth = {row.id: row for row in account.sandbox.truth()}
    table = rows(orchestra, "call_records", account)
    where = f"{label}, {account.name}"
    missing, extra = sorted(set(truth) - set(table)), sorted(set(table) - set(truth))
    assert not missing, f"{where}: {len(missing)} of {len(truth)} calls missing: {missing[:5]}"
    assert not extra, f"{where}: {len(extra)} rows the sandbox never served: {extra[:5]}"
    problems = []
    for cdr_id, want in truth.items():
        got = table[cdr_id]
        if got["started_at"] != _naive_utc(want.started_at):
            problems.append(f"{cdr_id} started_at {got['started_at']} != {want.started_at}")
        for name in COMPARED_FIELDS:
            wanted = expected_value(name, want.record.get(name))
            if name in want.record and _norm(got[name]) != _norm(wanted):
                problems.append(f"{cdr_id} {name}: {got[name]!r} != {want.record[name]!r}")
    assert not problems, f"{where}: {len(problems)} mismatches:\n" + "\n".join(problems[:10])
    for name, (path, key) in REFERENCE.items():
        body = account.get(path)
        served = body if key is None else body[key]
        assert not (isinstance(body, dict) and body.get("has_more")), f"{where}: {name} paged"
        assert served, f"{where}: the sandbox serves no {name}"
        assert set(rows(orchestra, name, account)) == {str(r["id"]) for r in served}, where
    return table


def assert_one_table_per_stream_keyed_by_account(orchestra: Orchestra) -> None:
    with orchestra.pg.connect() as conn:
        for table in TABLES:
            key = conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
                (f'"{orchestra.target_schema}".{table}',),
            ).fetchall()
            assert sorted(k[0] for k in key) == ["account_id", "id"], (table, key)
            labels = conn.execute(
                f'SELECT DISTINCT account_id FROM "{orchestra.target_schema}".{table}'
            ).fetchall()
            assert {label[0] for label in labels} <= set(orchestra.accounts), (table, labels)


def test_three_accounts_run_at_once_resume_from_their_own_state_and_fail_alone(
    orchestra: Orchestra,
) -> None:
    accounts = list(orchestra.accounts.values())
    for account in accounts:
        shutil.rmtree(REPO_ROOT / ".meltano" / "run" / account.plugin, ignore_errors=True)
    tables = first_round(orchestra, accounts)
    tables = incremental_round(orchestra, accounts, tables)
    failing_round(orchestra, accounts, tables, broken=orchestra.accounts["umbrella-uk"])


def first_round(orchestra: Orchestra, accounts: list[Account]) -> dict[str, dict[str, Any]]:
    """Three first syncs at the same time, into one schema."""
    runs = run_all(orchestra, accounts)
    records = orchestra.records(list(runs))
    statuses = {r.dagster_run.status.value for r in records.values()}
    assert statuses == {"SUCCESS"}, orchestra.explain(list(runs))
    # All three were running together: each started before any of them ended.
    first_end = min(r.end_time for r in records.values())
    spans = {runs[i].name: (r.start_time, r.end_time) for i, r in records.items()}
    assert all(start < first_end for start, _ in spans.values()), f"not at once: {spans}"
    for run_id, account in runs.items():
        tags = records[run_id].dagster_run.tags
        assert tags["meltano/extractor"] == account.plugin
        assert tags["acefone/account"] == account.name
    tables = {a.name: assert_reconciles(orchestra, a, "round 1") for a in accounts}
    assert_one_table_per_stream_keyed_by_account(orchestra)
    # Reference ids are small integers: the same ids exist in several accounts.
    users = [set(rows(orchestra, "users", a)) for a in accounts]
    shared = set().union(*(a & b for a, b in itertools.combinations(users, 2)))
    assert shared, "no user id in two accounts: the test proves little"
    for account in accounts:
        assert account.sandbox is not None
        assert orchestra.bookmark(account) == iso(account.sandbox.now()), account.name
        # Its own plugin directory, with its own catalog and state file (parallel runs of
        # one plugin would share them: meltano/meltano#8763).
        run_dir = REPO_ROOT / ".meltano" / "run" / account.plugin
        assert (run_dir / "tap.properties.json").is_file(), run_dir
    return tables


def incremental_round(
    orchestra: Orchestra, accounts: list[Account], tables: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Each clock moves on by a different amount; each run resumes from its own state."""
    advances = {"acme": 3 * 3600, "globex": 26 * 3600, "umbrella-uk": 5 * 3600}
    for account in accounts:
        assert account.sandbox is not None
        account.sandbox.advance(advances[account.name])
    runs = run_all(orchestra, accounts)
    statuses = {orchestra.status(run_id) for run_id in runs}
    assert statuses == {"SUCCESS"}, orchestra.explain(list(runs))
    after_round: dict[str, dict[str, Any]] = {}
    for account in accounts:
        assert account.sandbox is not None
        before = tables[account.name]
        after = assert_reconciles(orchestra, account, "round 2")
        assert set(after) > set(before), f"{account.name}: no new calls; the round proves little"
        reread = sum(
            1
            for cdr_id, row in after.items()
            if cdr_id in before and row["_sdc_batched_at"] != before[cdr_id]["_sdc_batched_at"]
        )
        assert reread < len(before), f"{account.name}: re-read all {len(before)} calls"
        assert orchestra.bookmark(account) == iso(account.sandbox.now()), account.name
        after_round[account.name] = after
    return after_round


def failing_round(
    orchestra: Orchestra,
    accounts: list[Account],
    tables: dict[str, dict[str, Any]],
    broken: Account,
) -> None:
    """One account's token is revoked: its run fails loudly, once, and alone."""
    broken.admin("POST", "/_sandbox/revoke", {"token": broken.token})
    bookmark_before = orchestra.bookmark(broken)
    for account in accounts:
        assert account.sandbox is not None
        account.sandbox.advance(2 * 3600)
    runs = run_all(orchestra, accounts)
    by_account = {account.name: run_id for run_id, account in runs.items()}
    failed = by_account[broken.name]
    assert orchestra.status(failed) == "FAILURE"
    failure = orchestra.failure(failed)
    assert f"{broken.plugin}: The API refused api_token (HTTP 401)" in failure, failure
    assert "(extractor failed, exit code 1)" in failure, failure
    assert "not retried" in failure, failure
    assert orchestra.attempts(failed) == 1, "a refused token was retried"
    assert broken.token not in failure
    assert orchestra.bookmark(broken) == bookmark_before, "a failed run moved the bookmark"
    assert rows(orchestra, "call_records", broken) == tables[broken.name]
    for account in accounts:
        if account is not broken:
            status = orchestra.status(by_account[account.name])
            assert status == "SUCCESS", orchestra.explain(list(runs))
            assert_reconciles(orchestra, account, "round 3")
    assert_one_table_per_stream_keyed_by_account(orchestra)
