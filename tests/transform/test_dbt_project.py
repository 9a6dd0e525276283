"""The dbt project beyond one account's numbers: many accounts, missing streams, freshness
and documentation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.dbt_env import model_schemas
from scripts.harness import REPO_ROOT, run_meltano
from scripts.postgres import PostgresServer, unique_schema_name
from tests.transform.compare import assert_model_matches
from tests.transform.conftest import Pipeline, read_models
from tests.transform.expected import GRAINS, Settings, expected_marts

pytestmark = pytest.mark.e2e

ACCOUNTS = ("acme", "globex")
# Every model variable away from its default, set as Meltano settings (DBT_POSTGRES_<NAME>).
# New York changed to daylight saving time on 2026-03-08, inside the sandbox's days.
OTHER_SETTINGS = {
    "account_timezone": "America/New_York",
    "service_level_seconds": "30",
    "repeat_call_window_hours": "48",
    "call_back_target_hours": "2",
}
MODELS_DIR = REPO_ROOT / "transform" / "models"


def _columns(conn: Any, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    ).fetchall()
    return [row[0] for row in rows]


def _copy_as_accounts(
    server: PostgresServer, source: str, target: str, tables: tuple[str, ...]
) -> None:
    """``tables`` of ``source`` into ``target``, once per account, with an account_id column.

    Every id repeats in each account, as reference ids (users.id ...) do across real accounts:
    any key or join without the account would double rows or mix the accounts up.
    """
    with server.connect() as conn:
        conn.execute(f'CREATE SCHEMA "{target}"')
        for table in tables:
            columns = ", ".join(
                f'"{c}"' for c in _columns(conn, source, table) if c != "account_id"
            )
            selects = " UNION ALL ".join(
                f'SELECT \'{account}\'::text AS account_id, {columns} FROM "{source}"."{table}"'
                for account in ACCOUNTS
            )
            conn.execute(f'CREATE TABLE "{target}"."{table}" AS {selects}')


def _invoke(pipeline: Pipeline, command: str, env: dict[str, str], log: Path) -> Any:
    return run_meltano(["invoke", f"dbt-postgres:{command}"], env, log, timeout=600)


def _expected_for_accounts(pipeline: Pipeline, **variables: Any) -> dict[str, dict[Any, Any]]:
    expected: dict[str, dict[Any, Any]] = {model: {} for model in GRAINS}
    for account in ACCOUNTS:
        settings = Settings(account_id=account, **variables)
        marts = expected_marts(pipeline.incremental.truth, pipeline.reference, settings)
        for model, rows in marts.items():
            expected[model].update(rows)
    return expected


def test_accounts_sharing_one_schema_stay_apart_and_a_missing_stream_builds_empty(
    analytics_pipeline: Pipeline,
) -> None:
    """Two accounts with the same ids in one schema (the tap's account_id setting) and no
    ivrs table (a reference stream the token may not read): every model keeps the accounts
    apart and equals each account's own ground truth; stg_acefone__ivrs is empty. Then every
    variable changes through Meltano's settings and the next build (fct_calls incremental,
    nothing new loaded) equals the ground truth under the new variables.
    """
    server = analytics_pipeline.server
    raw = unique_schema_name("acefone_accounts_raw")
    marts, staging = model_schemas(unique_schema_name("acefone_accounts"))
    env = dict(analytics_pipeline.env)
    env.update({"DBT_POSTGRES_SOURCE_SCHEMA": raw, "DBT_POSTGRES_SCHEMA": marts})
    try:
        _copy_as_accounts(
            server,
            analytics_pipeline.raw_schema,
            raw,
            ("call_records", "users", "departments", "my_numbers"),
        )
        log = analytics_pipeline.workdir / "accounts-build.log"
        _invoke(analytics_pipeline, "build", env, log).check()
        built = read_models(server, marts, staging)
        with server.connect() as conn:
            (ivrs,) = conn.execute(f'SELECT count(*) FROM "{staging}".stg_acefone__ivrs').fetchone()
        assert ivrs == 0
        expected = _expected_for_accounts(analytics_pipeline)
        for model in GRAINS:
            assert_model_matches("two accounts", model, expected[model], built[model])

        env.update({f"DBT_POSTGRES_{k.upper()}": v for k, v in OTHER_SETTINGS.items()})
        # No lookback: only the change of time zone may make fct_calls rebuild its rows.
        env["ACEFONE_INCREMENTAL_LOOKBACK_HOURS"] = "0"
        _invoke(analytics_pipeline, "build", env, log).check()
        built = read_models(server, marts, staging)
        expected = _expected_for_accounts(
            analytics_pipeline,
            timezone=OTHER_SETTINGS["account_timezone"],
            service_level_seconds=int(OTHER_SETTINGS["service_level_seconds"]),
            repeat_call_window_hours=int(OTHER_SETTINGS["repeat_call_window_hours"]),
            call_back_target_hours=int(OTHER_SETTINGS["call_back_target_hours"]),
        )
        for model in GRAINS:
            assert_model_matches("other variables", model, expected[model], built[model])
    finally:
        with server.connect() as conn:
            for schema in (raw, marts, staging):
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_source_freshness_passes_after_a_load_and_fails_on_stale_calls(
    analytics_pipeline: Pipeline,
) -> None:
    server = analytics_pipeline.server
    log = analytics_pipeline.workdir / "freshness.log"
    fresh = _invoke(analytics_pipeline, "freshness", analytics_pipeline.env, log)
    assert fresh.returncode == 0, fresh.tail()
    assert "PASS freshness of acefone.call_records" in fresh.log, fresh.tail()

    stale = unique_schema_name("acefone_stale")
    env = dict(analytics_pipeline.env)
    env["DBT_POSTGRES_SOURCE_SCHEMA"] = stale
    try:
        with server.connect() as conn:
            conn.execute(f'CREATE SCHEMA "{stale}"')
            conn.execute(
                f'CREATE TABLE "{stale}".call_records AS SELECT * FROM '
                f'"{analytics_pipeline.raw_schema}".call_records'
            )
            conn.execute(
                f'UPDATE "{stale}".call_records SET _sdc_batched_at = '
                "_sdc_batched_at - interval '3 days'"
            )
        result = _invoke(analytics_pipeline, "freshness", env, log)
        assert result.returncode != 0, "three-day-old calls passed the freshness check"
        assert "ERROR STALE freshness of acefone.call_records" in result.log, result.tail()
    finally:
        with server.connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{stale}" CASCADE')


def _documented_models() -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for path in MODELS_DIR.rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            models[model["name"]] = model
    return models


def test_every_model_and_column_is_documented(analytics_pipeline: Pipeline) -> None:
    documented = _documented_models()
    sql_models = {path.stem for path in MODELS_DIR.rglob("*.sql")}
    assert sql_models == set(documented), "models without docs, or docs without a model"
    schemas = (analytics_pipeline.marts_schema, analytics_pipeline.staging_schema)
    with analytics_pipeline.server.connect() as conn:
        for name, model in documented.items():
            assert (model.get("description") or "").strip(), f"{name} has no description"
            built = next((cols for schema in schemas if (cols := _columns(conn, schema, name))), [])
            assert built, f"{name} was not built"
            docs = {c["name"]: (c.get("description") or "").strip() for c in model["columns"]}
            undocumented = [c for c in built if not docs.get(c)]
            stale = sorted(set(docs) - set(built))
            assert not undocumented, f"{name}: columns without a description: {undocumented}"
            assert not stale, f"{name}: documented columns it does not have: {stale}"
