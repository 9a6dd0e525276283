"""Run the tap the way users do, in-process or as a CLI subprocess, and collect its output."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tap_acefone.tap import TapAcefone

STATIC_TOKEN = "sandbox-static-token"
LOGIN_EMAIL = "ops@example.com"
LOGIN_PASSWORD = "sandbox-password"

Message = dict[str, Any]


@dataclass
class TapRun:
    """Everything one run of the tap wrote to stdout, plus what its logs said."""

    messages: list[Message] = field(default_factory=list)
    logs: str = ""

    @property
    def records(self) -> list[dict]:
        """The call_records records (the stream most tests are about)."""
        return self.records_of("call_records")

    def records_of(self, stream: str) -> list[dict]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict | None:
        return self.states[-1] if self.states else None

    @property
    def bookmark(self) -> str | None:
        state = self.last_state or {}
        return state.get("bookmarks", {}).get("call_records", {}).get("replication_key_value")

    @property
    def bookmarks(self) -> set[str]:
        """Every call_records bookmark the run's STATE messages carried."""
        return {
            state.get("bookmarks", {}).get("call_records", {}).get("replication_key_value")
            for state in self.states
        } - {None}

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.records]


class _MessageSink(io.RawIOBase):
    """Receives the tap's stdout bytes and hands each Singer message to a callback as it is
    written, synchronously, so a test can act at an exact point of the run."""

    def __init__(self, on_message: Callable[[Message], None]) -> None:
        self._pending = b""
        self._on_message = on_message

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._pending += bytes(data)
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            if line.strip():
                self._on_message(json.loads(line))
        return len(data)


def run_tap(
    config: dict[str, Any],
    state: dict | None = None,
    on_message: Callable[[Message], None] | None = None,
    catalog: dict | None = None,
) -> TapRun:
    """Sync in this process; `on_message` sees every message the moment it is written.

    An exception raised by `on_message` propagates out of the run like a crash at that point;
    the messages written until then are attached to it as `exc.tap_run`.
    """
    run = TapRun()

    def collect(message: Message) -> None:
        run.messages.append(message)
        if on_message is not None:
            on_message(message)

    stdout = io.TextIOWrapper(io.BufferedWriter(_MessageSink(collect)), encoding="utf-8")
    try:
        with redirect_stdout(stdout):
            TapAcefone(config=config, state=state, catalog=catalog).sync_all()
            stdout.flush()
    except BaseException as exc:
        exc.tap_run = run  # type: ignore[attr-defined]
        raise
    return run


def run_tap_cli(
    config: dict[str, Any],
    tmp_path: Path,
    state: dict | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run `tap-acefone --config ... [--state ...]` as a subprocess."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    command = [str(Path(sys.executable).parent / "tap-acefone"), "--config", str(config_path)]
    if state is not None:
        state_path = tmp_path / "state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ACEFONE_")}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def parse_messages(stdout: str) -> TapRun:
    """Messages from a CLI run's stdout."""
    return TapRun(messages=[json.loads(line) for line in stdout.splitlines() if line.strip()])


def iso(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat(timespec="seconds")


def tap_config(sandbox: Any, days: int, **overrides: Any) -> dict[str, Any]:
    """A config reading the sandbox's last `days` days up to its clock, fast-paced."""
    now = sandbox.clock.now()
    config: dict[str, Any] = {
        "api_url": sandbox.url,
        "api_token": STATIC_TOKEN,
        "start_date": iso(now - timedelta(days=days)),
        "end_date": iso(now),
        "requests_per_second": 100,
        "request_timeout": 10,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}
