"""The throwaway PostgreSQL (scripts/postgres.py) and its pytest fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from scripts.postgres import (
    PostgresServer,
    fresh_schema,
    schema_exists,
    start_postgres,
    to_libpq_dsn,
    to_sqlalchemy_url,
    unique_schema_name,
)


def test_server_accepts_sqlalchemy_and_psycopg(postgres_url, pg_conn):
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar() == 1
    finally:
        engine.dispose()
    # UTC session time zone: target-postgres' INSERT path converts offsets through it.
    assert pg_conn.execute("show timezone").fetchone()[0] == "UTC"
    # UTF-8, or text with non-ASCII characters could not be loaded.
    assert pg_conn.execute("show server_encoding").fetchone()[0] == "UTF8"


def test_postgres_schema_is_usable_and_unique(postgres_schema, pg_conn):
    assert postgres_schema.startswith("t_")
    assert len(postgres_schema) <= 63
    assert not schema_exists(pg_conn, postgres_schema)
    pg_conn.execute(f'CREATE SCHEMA "{postgres_schema}"')
    pg_conn.execute(f'CREATE TABLE "{postgres_schema}".t (id text primary key)')
    pg_conn.execute(f"INSERT INTO \"{postgres_schema}\".t VALUES ('a')")
    assert pg_conn.execute(f'SELECT count(*) FROM "{postgres_schema}".t').fetchone()[0] == 1


def test_fresh_schema_is_dropped_afterwards(postgres_server: PostgresServer, pg_conn):
    with fresh_schema(postgres_server, "Some Test[param-1]") as name:
        assert name.startswith("t_some_test_param_1_")
        pg_conn.execute(f'CREATE SCHEMA "{name}"')
        pg_conn.execute(f'CREATE TABLE "{name}".t (x int)')
        assert schema_exists(pg_conn, name)
    assert not schema_exists(pg_conn, name)


def test_unique_schema_name_truncates_long_hints():
    names = {unique_schema_name("x" * 200) for _ in range(50)}
    assert len(names) == 50
    assert all(len(n) <= 63 for n in names)


def test_url_conversions():
    assert to_sqlalchemy_url("postgres://u:p@h:1/d") == "postgresql+psycopg://u:p@h:1/d"
    assert to_sqlalchemy_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg://u@h/d"
    assert to_libpq_dsn("postgresql+psycopg://u@h:5/d") == "postgresql://u@h:5/d"


ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _postmaster_and_datadir(server: PostgresServer) -> tuple[int, Path]:
    """The postmaster's pid (parent of our backend) and the cluster's data directory."""
    with server.connect() as conn:
        backend = conn.execute("select pg_backend_pid()").fetchone()[0]
        datadir = Path(conn.execute("show data_directory").fetchone()[0])
        # Read while the connection is open: its backend process ends with it.
        stat = Path(f"/proc/{backend}/stat").read_text()
    postmaster = int(stat.rsplit(")", 1)[1].split()[1])
    return postmaster, datadir


def _wait_until_gone(pid: int, datadir: Path, timeout: float = 60) -> None:
    """Poll until the postmaster has exited and its data directory is gone (or time out)."""
    deadline = time.monotonic() + timeout
    while (_alive(pid) or datadir.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the postmaster outlived stop()"
    assert not datadir.exists(), f"{datadir} outlived stop()"


def _refuses_connections(url: str) -> bool:
    try:
        psycopg.connect(to_libpq_dsn(url), connect_timeout=5).close()
    except psycopg.OperationalError:
        return True
    return False


def test_stop_leaves_nothing_behind():
    server = start_postgres()
    if server.backend == "external":
        server.stop()
        pytest.skip("DATABASE_URL: the server is not ours to stop")
    try:
        postmaster, datadir = _postmaster_and_datadir(server)
        assert _alive(postmaster)
        assert datadir.is_dir()
    finally:
        server.stop()
    server.stop()  # idempotent
    assert server.holder_pid is not None
    assert not _alive(server.holder_pid)
    _wait_until_gone(postmaster, datadir)
    assert _refuses_connections(server.url)


# A caller that starts a server, reports it, and waits to be killed.
_CALLER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from scripts.postgres import start_postgres
server = start_postgres()
print(json.dumps({"url": server.url, "holder": server.holder_pid}), flush=True)
time.sleep(600)
"""


def test_a_killed_caller_leaves_nothing_behind():
    """SIGKILL of the process that started the server: no atexit, no finally; still cleaned."""
    if os.environ.get("DATABASE_URL") and not os.environ.get("TAP_ACEFONE_PG_BACKEND"):
        pytest.skip("DATABASE_URL: the server is not ours to stop")
    caller = subprocess.Popen(
        [sys.executable, "-c", _CALLER, str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert caller.stdout is not None
        reported = json.loads(caller.stdout.readline())
        url = reported["url"]
        server = PostgresServer(url=url, backend="probe")
        postmaster, datadir = _postmaster_and_datadir(server)
    finally:
        caller.kill()
        caller.wait()
        if caller.stdout is not None:
            caller.stdout.close()
    _wait_until_gone(postmaster, datadir)
    _wait_until_gone(reported["holder"], datadir)
    assert _refuses_connections(url)
