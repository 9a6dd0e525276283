"""The same recorded tap run loads into real targets of every common family.

Each target runs from its own virtualenv (tests/targets/venvs.py, pinned requirements) and
reads the recorded messages on stdin, exactly as `meltano run` or a shell pipe would feed it.
After the full sync and again after the incremental re-run, the destination is read back
and reconciled with the sandbox's ground truth: exactly the true call ids (none missing,
none unknown, no duplicate where the target upserts on `id`), `started_at` as the true UTC
instant, and the fields whose type used to vary (and the ones that change between runs) in
their documented shape and latest version.

| target | family | upsert on id |
|---|---|---|
| target-jsonl | singer-io | no (appends; the last line of an id is its latest version) |
| target-duckdb | pipelinewise | yes |
| pipelinewise-target-postgres | pipelinewise | yes |
| meltanolabs-target-postgres | Meltano SDK (SQL) | yes |
| meltanolabs-target-csv | Meltano SDK (files) | no (appends), needs flattening_enabled |
| target-sqlite | Meltano (pre-SDK) | yes |
"""

from __future__ import annotations

import ast
import csv
import json
import sqlite3
import subprocess
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from scripts.postgres import PostgresServer
from tests.shapes import expected_value
from tests.targets.conftest import Recorded
from tests.targets.venvs import find_python, target_venv

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_S = 600
# Compared on every row: the fields whose JSON type used to vary from call to call, and the
# ones the sandbox changes after a call first appears (so the re-run's upsert shows).
COMPARED = (
    "notes",
    "dialer_call_details",
    "sip_agent_ids",
    "contact_details",
    "missed_agents",
    "recording_url",
    "custom_status",
    "call_duration",
)
Row = dict[str, Any]


@dataclass
class Destination:
    """Where one test's target writes: a scratch directory and a PostgreSQL schema."""

    path: Path
    pg: PostgresServer
    schema: str
    loads: int = 0  # how many runs were loaded so far

    def libpq(self) -> dict[str, Any]:
        url = urllib.parse.urlsplit(self.pg.dsn)
        return {
            "host": url.hostname,
            "port": url.port or 5432,
            "user": urllib.parse.unquote(url.username or ""),
            # pipelinewise refuses an empty password even where the server trusts the user
            "password": urllib.parse.unquote(url.password or "") or "unused",
            "dbname": url.path.lstrip("/"),
        }


@dataclass(frozen=True)
class Target:
    name: str  # requirements/<name>.txt
    executable: str
    config: Callable[[Destination], dict[str, Any]]
    read: Callable[[Destination, Path], list[tuple[str, Row]]]  # (id, row) in stored order
    upserts: bool
    python: str = "3.11"
    config_flag: str = "--config"
    settings: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ readers


def _instant(value: Any) -> str | None:
    """A stored timestamp as ISO UTC; a naive one is taken as the UTC it must hold."""
    if value in (None, ""):
        return None
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc).isoformat(timespec="seconds")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def read_jsonl(dest: Destination, _venv: Path) -> list[tuple[str, Row]]:
    lines = (dest.path / "call_records.jsonl").read_text().splitlines()
    return [(r["id"], r) for r in map(json.loads, lines)]


def read_postgres(dest: Destination, _venv: Path) -> list[tuple[str, Row]]:
    with dest.pg.connect() as conn:
        cur = conn.execute(f'SELECT * FROM "{dest.schema}".call_records')
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return [(r["id"], r) for r in rows]


DUCKDB_DUMP = """
import json, sys, duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
cur = conn.execute("SELECT * FROM tap_acefone.call_records")
names = [d[0] for d in cur.description]
for row in cur.fetchall():
    print(json.dumps(dict(zip(names, row)), default=str))
"""


def read_duckdb(dest: Destination, venv: Path) -> list[tuple[str, Row]]:
    """Read with the target's own duckdb (the tap's venv has none)."""
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", DUCKDB_DUMP, str(dest.path / "acefone.duckdb")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return [(r["id"], r) for r in rows]


def read_csv(dest: Destination, _venv: Path) -> list[tuple[str, Row]]:
    """Every run's file, in load order: target-csv writes a new file per run."""
    rows: list[Row] = []
    for n in range(1, dest.loads + 1):
        with (dest.path / f"load{n}" / "call_records.csv").open(newline="", encoding="utf-8") as f:
            rows.extend(csv.DictReader(f))
    return [(r["id"], r) for r in rows]


def read_sqlite(dest: Destination, _venv: Path) -> list[tuple[str, Row]]:
    conn = sqlite3.connect(dest.path / "acefone.db")
    try:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM call_records")]
    finally:
        conn.close()
    return [(r["id"], r) for r in rows]


def _python_literal(value: Any) -> Any:
    """target-sqlite stores objects and lists as their Python repr (str(dict)), not JSON."""
    return ast.literal_eval(value) if isinstance(value, str) else value


# One normalisation per target family: how the stored value of a field reads back as JSON.
Decoder = Callable[[str, Any], Any]


def _as_stored(_name: str, value: Any) -> Any:
    return value


def _json_text(name: str, value: Any) -> Any:
    if name == "call_duration":
        return None if value in (None, "") else int(value)
    if name in ("recording_url", "custom_status"):
        return value
    return None if value in (None, "") else _json(value)


def _sqlite(name: str, value: Any) -> Any:
    if name in (
        "sip_agent_ids",
        "missed_agents",
        "notes",
        "dialer_call_details",
        "contact_details",
    ):
        return _python_literal(value)
    return value


TARGETS = [
    Target(
        name="target-jsonl",
        executable="target-jsonl",
        config_flag="-c",
        config=lambda d: {"destination_path": str(d.path), "do_timestamp_file": False},
        read=read_jsonl,
        upserts=False,
    ),
    Target(
        name="target-duckdb",
        executable="target-duckdb",
        config_flag="-c",
        config=lambda d: {
            "path": str(d.path / "acefone.duckdb"),
            "default_target_schema": "tap_acefone",
        },
        read=read_duckdb,
        upserts=True,
    ),
    Target(
        name="pipelinewise-target-postgres",
        executable="target-postgres",
        config_flag="-c",
        config=lambda d: {**d.libpq(), "default_target_schema": d.schema},
        read=read_postgres,
        upserts=True,
    ),
    Target(
        name="meltanolabs-target-postgres",
        executable="target-postgres",
        # meltano.yml's settings; record validation on, to prove every record conforms
        config=lambda d: {
            "sqlalchemy_url": d.pg.url,
            "default_target_schema": d.schema,
            "use_copy": True,
            "validate_records": True,
        },
        read=read_postgres,
        upserts=True,
    ),
    Target(
        name="meltanolabs-target-csv",
        executable="target-csv",
        config=lambda d: {
            "output_path": str(d.path / f"load{d.loads}"),  # it overwrites a file it finds
            "file_naming_scheme": "{stream_name}.csv",
            # without flattening, objects and lists land as Python reprs, not JSON
            "flattening_enabled": True,
            "flattening_max_depth": 1,
        },
        read=read_csv,
        upserts=False,
    ),
    Target(
        name="target-sqlite",
        executable="target-sqlite",
        python="3.9",  # SQLAlchemy 1.2 (pinned by target-sqlite 0.2.0) fails on 3.10+
        config=lambda d: {"database": str(d.path / "acefone")},
        read=read_sqlite,
        upserts=True,
    ),
]
DECODERS: dict[str, Decoder] = {
    "target-jsonl": _as_stored,
    "target-duckdb": _json_text,
    "pipelinewise-target-postgres": _as_stored,
    "meltanolabs-target-postgres": _as_stored,
    "meltanolabs-target-csv": _json_text,
    "target-sqlite": _sqlite,
}


# ------------------------------------------------------------------------------- checks


def load(target: Target, venv: Path, dest: Destination, messages: Path, label: str) -> None:
    dest.loads += 1
    config = dest.path / f"{target.name}-{dest.loads}.json"
    config.write_text(json.dumps(target.config(dest)))
    with messages.open("rb") as stdin:
        result = subprocess.run(
            [str(venv / "bin" / target.executable), target.config_flag, str(config)],
            stdin=stdin,
            capture_output=True,
            timeout=LOAD_TIMEOUT_S,
            check=False,
            cwd=dest.path,
        )
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, (
        f"{target.name} {label}: exit {result.returncode}\n{stderr[-4000:]}"
    )


def reconcile(target: Target, stored: list[tuple[str, Row]], truth: dict[str, Any], label: str):
    ids = [record_id for record_id, _ in stored]
    if target.upserts:
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        assert not duplicates, f"{target.name} {label}: {len(duplicates)} ids stored twice"
    latest = dict(stored)  # file order: the last line of an id is what an upsert keeps
    missing, unknown = sorted(set(truth) - set(latest)), sorted(set(latest) - set(truth))
    assert not missing, f"{target.name} {label}: {len(missing)} calls missing, e.g. {missing[:3]}"
    assert not unknown, f"{target.name} {label}: {len(unknown)} unknown ids, e.g. {unknown[:3]}"
    decode = DECODERS[target.name]
    problems = []
    for record_id, row in truth.items():
        got = latest[record_id]
        want_start = row.started_at.astimezone(timezone.utc).isoformat(timespec="seconds")
        if _instant(got["started_at"]) != want_start:
            problems.append(f"{record_id} started_at {got['started_at']!r} != {want_start}")
        for name in COMPARED:
            want = _blank_as_null(expected_value(name, row.record.get(name)))
            stored_value = got.get(name, _flattened(got, name))
            if _blank_as_null(decode(name, stored_value)) != want:
                problems.append(
                    f"{record_id} {name}: stored {stored_value!r:.120} != {want!r:.120}"
                )
    assert not problems, f"{target.name} {label}: {len(problems)} mismatches:\n" + "\n".join(
        problems[:10]
    )


def _flattened(row: Row, name: str) -> Any:
    """A flattened object read back from its `name__key` columns (None if all empty)."""
    parts = {k.split("__", 1)[1]: v for k, v in row.items() if k.startswith(f"{name}__")}
    return parts or None


def _blank_as_null(value: Any) -> Any:
    """pipelinewise targets store "" as NULL, flattening leaves empty columns: same fact."""
    return None if value in ("", None) else value


@pytest.fixture
def destination(tmp_path: Path, postgres_server: PostgresServer, postgres_schema: str):
    return Destination(tmp_path, postgres_server, postgres_schema)


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_a_full_sync_and_an_incremental_rerun_load_exactly_the_truth(
    target: Target, recorded: Recorded, destination: Destination
) -> None:
    if find_python(target.python) is None:
        pytest.skip(f"{target.name} needs Python {target.python}, not found on this machine")
    assert recorded.changed, "no call changed between the runs: the upsert would prove nothing"
    venv = target_venv(target.name, target.python)
    load(target, venv, destination, recorded.full, "full sync")
    reconcile(target, target.read(destination, venv), recorded.truth_full, "full sync")
    load(target, venv, destination, recorded.rerun, "re-run")
    reconcile(target, target.read(destination, venv), recorded.truth_rerun, "re-run")


def test_the_recorded_runs_show_every_type_variant(recorded: Recorded) -> None:
    """The run piped into the targets holds every shape the API sends for these fields."""
    kinds: dict[str, set[str]] = {}
    for row in recorded.truth_rerun.values():
        for name in (
            "notes",
            "contact_details",
            "dialer_call_details",
            "agent_hangup_data",
            "sip_agent_ids",
            "missed_agents",
            "circle",
            "charges",
        ):
            kinds.setdefault(name, set()).add(type(row.record.get(name)).__name__)
    assert kinds["notes"] >= {"dict", "str", "NoneType"}
    assert kinds["contact_details"] >= {"dict", "str", "NoneType"}
    assert kinds["dialer_call_details"] >= {"dict", "str", "NoneType"}
    assert kinds["agent_hangup_data"] >= {"dict", "str", "NoneType"}
    assert kinds["sip_agent_ids"] >= {"list", "str", "NoneType"}
    assert kinds["missed_agents"] >= {"list", "dict"}
    assert kinds["circle"] >= {"dict", "NoneType"}
    assert kinds["charges"] >= {"int", "float"}
