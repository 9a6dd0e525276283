"""Fixtures for the sandbox's own tests: real servers on loopback, real HTTP via requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from tap_acefone.sandbox import RealTime, Sandbox, SandboxConfig, TruthRow

BASE_NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
TOKEN = "sandbox-static-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WIDE = {"from_date": "2000-01-01 00:00:00", "to_date": "2100-01-01 00:00:00"}


def make_config(**overrides: Any) -> SandboxConfig:
    """The suite's default account: small, fixed seed, fixed clock."""
    values: dict[str, Any] = {"seed": 7, "days": 3, "calls_per_day": 400, "now": BASE_NOW}
    values.update(overrides)
    return SandboxConfig(**values)


def fetch_all(
    session: requests.Session, base_url: str, params: dict[str, Any], *, limit: int = 100
) -> list[dict[str, Any]]:
    """Page through ``/v1/call/records`` until a page comes back empty."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        r = session.get(
            f"{base_url}/v1/call/records",
            params={**params, "page": page, "limit": limit},
            timeout=30,
        )
        r.raise_for_status()
        results = r.json()["results"]
        if not results:
            return rows
        rows.extend(results)
        page += 1


def start_key(row: TruthRow) -> str:
    """The record's local start, as the API compares it: ``date + " " + time``."""
    return f"{row.record['date']} {row.record['time']}"


def end_key(row: TruthRow, sb: Sandbox) -> str:
    """The call's true local end (whatever its ``end_stamp`` field shows)."""
    return row.ended_at.astimezone(sb.config.tz).strftime("%Y-%m-%d %H:%M:%S")


def served_ids(
    session: requests.Session, sb: Sandbox, params: dict[str, Any], *, limit: int = 100
) -> list[str]:
    """Ids of every record a full pass over the window serves, in order."""
    return [r["id"] for r in fetch_all(session, sb.url, params, limit=limit)]


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Factory: ``start_sandbox(**config_overrides)`` -> a running sandbox, stopped at teardown."""
    started: list[Sandbox] = []

    def start(*, realtime: RealTime | None = None, **overrides: Any) -> Sandbox:
        sb = Sandbox(make_config(**overrides), realtime=realtime).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """A module-wide sandbox for read-only tests (do not move its clock or set faults)."""
    with Sandbox(make_config()) as sb:
        yield sb


@pytest.fixture
def api() -> Iterator[requests.Session]:
    """A keep-alive session carrying the static token."""
    with requests.Session() as s:
        s.headers.update(AUTH)
        yield s
