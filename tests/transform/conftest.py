"""One real pipeline for the transform tests: sandbox -> meltano run tap, target and dbt.

``analytics_pipeline`` (package scope, so it runs once) starts the sandbox as its console
script, loads it with ``meltano run tap-acefone target-postgres dbt-postgres:build`` into
schemas of its own in the session's throwaway PostgreSQL, and keeps what dbt built and what
the sandbox knew after two runs: the first (full: every table built from nothing) and a
second one nine virtual hours later (incremental: the tap reads from Meltano's state and
fct_calls merges only what was loaded since, across a local midnight).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.dbt_env import dbt_env, model_schemas
from scripts.harness import (
    REPO_ROOT,
    SANDBOX_TOKEN,
    SandboxProcess,
    TruthRow,
    history_window,
    iso,
    meltano_env,
    run_meltano,
    venv_bin,
)
from scripts.postgres import PostgresServer, unique_schema_name
from tests.transform.expected import GRAINS, Reference, e164

# Seed 7 at 200 calls a day over three days holds every case the reconciliation must cover
# (tests/transform/test_reconciliation.py::test_the_data_holds_the_hard_cases checks it).
SEED = 7
DAYS = 3
CALLS_PER_DAY = 200
SANDBOX_NOW = "2026-03-10T12:00:00+00:00"  # 17:30 in Asia/Kolkata
ADVANCE_HOURS = 9  # to 02:30 the next local day
RUN_TIMEOUT_S = 900.0
PIPELINE = ["run", "tap-acefone", "target-postgres", "dbt-postgres:build"]
STAGING_MODELS = {"stg_acefone__call_flow_steps"}


@dataclasses.dataclass
class Snapshot:
    """What dbt built after one run, beside what the sandbox served by then."""

    label: str
    truth: list[TruthRow]
    models: dict[str, dict[tuple[Any, ...], dict[str, Any]]]
    run_log: str


@dataclasses.dataclass
class Pipeline:
    """The two runs, and where they wrote."""

    server: PostgresServer
    raw_schema: str
    marts_schema: str
    staging_schema: str
    reference: Reference
    runs: list[Snapshot]
    workdir: Path
    env: dict[str, str]

    @property
    def full(self) -> Snapshot:
        """After the first run."""
        return self.runs[0]

    @property
    def incremental(self) -> Snapshot:
        """After the second run."""
        return self.runs[1]


def _installed() -> bool:
    return all(
        (REPO_ROOT / ".meltano" / path).exists()
        for path in (
            "extractors/tap-acefone/venv/bin/tap-acefone",
            "loaders/target-postgres/venv/bin/target-postgres",
            "utilities/dbt-postgres/venv/bin/dbt",
        )
    )


def _ensure_plugins() -> None:
    """The three plugins in .meltano/ (what `make test` installs first)."""
    if _installed():
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


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def sandbox_reference(base_url: str, region: str = "IN") -> Reference:
    """Agent, department and DID names from the sandbox's reference endpoints."""
    agents: dict[str, str] = {}
    last_seen: int | None = None
    while True:
        query = "limit=100" + (f"&last_seen_id={last_seen}" if last_seen is not None else "")
        page = _get(f"{base_url}/v1/users?{query}")
        for user in page["data"]:
            agents[str(user["agent"]["id"])] = user["name"]
        if not page["has_more"]:
            break
        last_seen = page["last_seen_id"]
    departments = {str(d["id"]): d["name"] for d in _get(f"{base_url}/v1/departments")}
    aliases = {e164(n["did"], region): n["alias"] for n in _get(f"{base_url}/v1/my_number")}
    return Reference(agent_names=agents, department_names=departments, did_aliases=aliases)


def read_model(
    server: PostgresServer, schema: str, model: str
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """A built model as {grain key: other columns}; duplicate keys fail loudly."""
    grain = GRAINS[model]
    with server.connect() as conn:
        cursor = conn.execute(f'SELECT * FROM "{schema}"."{model}"')
        names = [d.name for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row.pop(column) for column in grain)
        assert key not in out, f"{model}: two rows for {key}"
        out[key] = row
    return out


def read_models(
    server: PostgresServer, marts_schema: str, staging_schema: str
) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every reconciled model of one build."""
    return {
        model: read_model(
            server, staging_schema if model in STAGING_MODELS else marts_schema, model
        )
        for model in GRAINS
    }


def _snapshot(pipeline: Pipeline, label: str, sandbox: SandboxProcess, log: str) -> Snapshot:
    models = read_models(pipeline.server, pipeline.marts_schema, pipeline.staging_schema)
    return Snapshot(label=label, truth=sandbox.truth(), models=models, run_log=log)


@pytest.fixture(scope="package")
def analytics_pipeline(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """The sandbox loaded and transformed twice; schemas dropped afterwards."""
    _ensure_plugins()
    workdir = tmp_path_factory.mktemp("analytics")
    raw = unique_schema_name("acefone_raw")
    marts, staging = model_schemas(unique_schema_name("acefone_marts"))
    try:
        with SandboxProcess(
            workdir / "sandbox",
            seed=SEED,
            days=DAYS,
            calls_per_day=CALLS_PER_DAY,
            now=SANDBOX_NOW,
        ) as sandbox:
            start_date, end_date = history_window(sandbox.now(), DAYS)
            env = meltano_env(
                sandbox_url=sandbox.url,
                start_date=start_date,
                end_date=end_date,
                sqlalchemy_url=postgres_server.url,
                meltano_db=workdir / "meltano.db",
                target_schema=raw,
            )
            env = dbt_env(
                env,
                postgres_url=postgres_server.url,
                source_schema=raw,
                target_schema=marts,
                workdir=workdir,
            )
            pipeline = Pipeline(
                server=postgres_server,
                raw_schema=raw,
                marts_schema=marts,
                staging_schema=staging,
                reference=sandbox_reference(sandbox.url),
                runs=[],
                workdir=workdir,
                env=env,
            )
            for number in (1, 2):
                if number == 2:
                    later = sandbox.advance(ADVANCE_HOURS * 3600)
                    env["TAP_ACEFONE_END_DATE"] = iso(later)
                log = workdir / f"run{number}.log"
                result = run_meltano(PIPELINE, env, log, timeout=RUN_TIMEOUT_S).check()
                label = "full run" if number == 1 else "incremental run"
                pipeline.runs.append(_snapshot(pipeline, label, sandbox, result.log))
            yield pipeline
    finally:
        with postgres_server.connect() as conn:
            for schema in (raw, marts, staging):
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
