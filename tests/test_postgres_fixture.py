"""The throwaway PostgreSQL (scripts/postgres.py) and its pytest fixtures."""

from __future__ import annotations

import os
import time
from pathlib import Path

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


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_stop_leaves_nothing_behind():
    server = start_postgres()
    try:
        with server.connect() as conn:
            backend_pid = conn.execute("select pg_backend_pid()").fetchone()[0]
            assert backend_pid
    finally:
        server.stop()
    server.stop()  # idempotent
    if server.backend == "external":
        assert server.created_database or server.created_schema
        return
    assert server.pid is not None
    assert server.datadir is not None
    deadline = time.monotonic() + 5
    while _alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server.pid)
    assert not os.path.exists(Path(server.datadir).parent)
