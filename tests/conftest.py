"""Shared fixtures: a running Acefone sandbox per test, with its clock and ground truth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import Any

import pytest

from tap_acefone.pacing import Pacer
from tap_acefone.sandbox import Sandbox, SandboxConfig

# A throwaway PostgreSQL for the tests that load into one.
pytest_plugins = ["tests.postgres_fixture"]

# A fixed instant keeps every test's data identical from run to run.
SANDBOX_NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox() -> Iterator[SandboxFactory]:
    """Start sandboxes with the given knobs; all are stopped when the test ends."""
    with ExitStack() as stack:

        def start(**knobs: Any) -> Sandbox:
            settings: dict[str, Any] = {"seed": 7, "days": 3, "calls_per_day": 150}
            settings.update(knobs)
            settings.setdefault("now", SANDBOX_NOW)
            return stack.enter_context(Sandbox(SandboxConfig(**settings)))

        yield start


@pytest.fixture
def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    """A default sandbox: three days of calls in Asia/Kolkata."""
    return make_sandbox()


@pytest.fixture
def pacer_events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, str, float | None]]:
    """(pacer time, what, value) for every request start and every 429 the pacer hears of.

    Starts carry the pace in force; 429s the server's wait. Read on the pacer's own clock, so
    the checks hold however busy the machine is.
    """
    events: list[tuple[float, str, float | None]] = []
    wait, throttled = Pacer.wait, Pacer.throttled

    def recording_wait(self: Pacer, stop: Any = None) -> bool:
        started = wait(self, stop)
        if started and self.last_start is not None:
            events.append((self.last_start, "start", self.current))
        return started

    def recording_throttled(self: Pacer, retry_after: float | None) -> None:
        events.append((self.now(), "429", retry_after))
        throttled(self, retry_after)

    monkeypatch.setattr(Pacer, "wait", recording_wait)
    monkeypatch.setattr(Pacer, "throttled", recording_throttled)
    return events
