"""Environment for the ``dbt-postgres`` Meltano utility against a given PostgreSQL.

Meltano reads every setting of the utility from ``DBT_POSTGRES_<SETTING>`` (``host``,
``schema``, ``source_schema``, ``account_timezone``, ...) and hands dbt the connection as
``DBT_POSTGRES_*`` (read by ``transform/profiles/postgres/profiles.yml``) and the models'
variables as ``ACEFONE_*`` (read by ``transform/macros/acefone_vars.sql``). :func:`dbt_env`
sets those settings from the SQLAlchemy or libpq URL that the demo and the tests already
have, and drops any inherited ``DBT_*`` or ``ACEFONE_*`` variable first so a user's own dbt
setup never leaks into a demo or test run.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from scripts.postgres import to_libpq_dsn

_HERMETIC_PREFIXES = ("DBT_", "ACEFONE_")
STAGING_SUFFIX = "_staging"


def connection_settings(url: str) -> dict[str, str]:
    """``DBT_POSTGRES_*`` connection variables for a ``postgresql[+driver]://`` URL."""
    parts = urllib.parse.urlsplit(to_libpq_dsn(url))
    query = dict(urllib.parse.parse_qsl(parts.query))
    settings = {
        "DBT_POSTGRES_HOST": parts.hostname or query.get("host", "localhost"),
        "DBT_POSTGRES_PORT": str(parts.port or query.get("port", 5432)),
        "DBT_POSTGRES_USER": urllib.parse.unquote(parts.username or ""),
        "DBT_POSTGRES_PASSWORD": urllib.parse.unquote(parts.password or ""),
        "DBT_POSTGRES_DBNAME": urllib.parse.unquote(parts.path.lstrip("/")),
    }
    if "sslmode" in query:
        settings["DBT_POSTGRES_SSLMODE"] = query["sslmode"]
    return settings


def dbt_env(
    base: Mapping[str, str],
    *,
    postgres_url: str,
    source_schema: str,
    target_schema: str,
    workdir: Path,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``base`` (e.g. :func:`scripts.harness.meltano_env`) plus the dbt utility's settings.

    Marts go to ``target_schema``, staging views to ``target_schema + "_staging"``; dbt's
    compiled SQL and logs to ``workdir``. ``settings`` sets other settings of the utility by
    name (``{"account_timezone": "Europe/London", "service_level_seconds": "30"}``).
    """
    env = {k: v for k, v in base.items() if not k.startswith(_HERMETIC_PREFIXES)}
    env.update(connection_settings(postgres_url))
    env.update(
        {
            "DBT_POSTGRES_SCHEMA": target_schema,
            "DBT_POSTGRES_SOURCE_SCHEMA": source_schema,
            "DBT_POSTGRES_TARGET_PATH": str(workdir / "dbt-target"),
            "DBT_POSTGRES_LOG_PATH": str(workdir / "dbt-logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    for name, value in (settings or {}).items():
        env[f"DBT_POSTGRES_{name.upper()}"] = value
    return env


def model_schemas(target_schema: str) -> tuple[str, str]:
    """(marts schema, staging schema) that a build into ``target_schema`` creates."""
    return target_schema, target_schema + STAGING_SUFFIX
