"""Pytest plugin: a throwaway PostgreSQL for the whole test session.

Enable it from ``tests/conftest.py``::

    pytest_plugins = ["tests.postgres_fixture"]

Fixtures:

- ``postgres_server`` (session): the :class:`scripts.postgres.PostgresServer`, started on first
  use and stopped (data dir removed) at the end of the session.
- ``postgres_url`` (session): its SQLAlchemy URL, ``postgresql+psycopg://...``, as
  target-postgres wants it.
- ``postgres_dsn`` (session): the same as a libpq DSN for ``psycopg.connect``.
- ``postgres_schema`` (function): a fresh, unique schema name for this test (not created:
  target-postgres creates it); the schema is dropped, CASCADE, after the test.
- ``pg_conn`` (function): an autocommit psycopg connection, closed after the test.

The server comes from ``DATABASE_URL`` if set, else the machine's PostgreSQL through Debian's
``pg_virtualenv``, else the ``pgserver`` wheel (see ``scripts/postgres.py``;
``TAP_ACEFONE_PG_BACKEND`` forces one).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from scripts.postgres import PostgresServer, fresh_schema, start_postgres  # noqa: E402

if TYPE_CHECKING:
    import psycopg


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://``) of the session's database."""
    return postgres_server.url


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """libpq DSN (``postgresql://``) of the session's database."""
    return postgres_server.dsn


@pytest.fixture
def postgres_schema(
    postgres_server: PostgresServer, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A unique schema name for this test, dropped after it."""
    with fresh_schema(postgres_server, request.node.name) as name:
        yield name


@pytest.fixture
def pg_conn(postgres_server: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit psycopg 3 connection to the session's database."""
    conn = postgres_server.connect()
    try:
        yield conn
    finally:
        conn.close()
