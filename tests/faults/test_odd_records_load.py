"""Records of odd shapes load into PostgreSQL through `meltano run`, with record validation
off in target-postgres (as shipped in meltano.yml): the tap's own conformance is all there is.

A tiny API serves the regression records of test_record_shapes.py (unpaired surrogates, NUL,
year 1 and 9999, huge numbers, NaN, a broken recording URL, raw fields named like derived
ones, 100k-character text); the reference endpoints answer 403 and are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.harness import meltano_env, run_meltano
from scripts.postgres import PostgresServer
from tests.e2e.test_meltano_postgres import (
    fetch_table,
    meltano_plugins,  # noqa: F401  (fixture)
)
from tests.faults.support import STATIC_TOKEN, serving
from tests.faults.test_record_shapes import REGRESSIONS, _OddAPI

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("meltano_plugins")]


def test_odd_records_load_into_postgres(
    postgres_server: PostgresServer, postgres_schema: str, tmp_path: Path
) -> None:
    _OddAPI.records = REGRESSIONS
    with serving(_OddAPI) as server:
        env = meltano_env(
            sandbox_url=f"http://127.0.0.1:{server.server_address[1]}",
            start_date="2026-03-09T00:00:00+00:00",
            end_date="2026-03-10T00:00:00+00:00",
            sqlalchemy_url=postgres_server.url,
            meltano_db=tmp_path / "meltano.db",
            target_schema=postgres_schema,
            extra={
                "TAP_ACEFONE_API_TOKEN": STATIC_TOKEN,
                "TAP_ACEFONE_WINDOW_HOURS": "24",
                "TAP_ACEFONE_MAX_TRIES": "2",
                "TAP_ACEFONE_RECORDING_URL_MODE": "strip_token",
            },
        )
        result = run_meltano(
            ["run", "tap-acefone", "target-postgres"], env, tmp_path / "run.log", timeout=300
        )
    result.check()
    _, table = fetch_table(postgres_server, postgres_schema)
    assert set(table) == {str(record["id"]) for record in REGRESSIONS}
    assert table["nul"]["agent_name"] == "a\ufffdb"
    assert table["lone-surrogates"]["notes"] == {"message": "\ufffd"}
    assert "SECRET" not in (table["bad-url"]["recording_url"] or "")
    assert table["year-1"]["started_at"] is None  # before year 1 in UTC: unrepresentable
    assert table["huge"]["call_duration"] is None
    assert table["derived-names"]["extra_fields"] == {
        "started_at": "x",
        "ended_at": {},
        "extra_fields": [1],
    }
    assert len(table["long"]["agent_name"]) == 100_000
