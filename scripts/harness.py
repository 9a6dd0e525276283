"""Shared by ``scripts/demo.py`` and the end-to-end tests.

- :class:`SandboxProcess`: the ``acefone-sandbox`` CLI in a subprocess, with its admin API
  (virtual clock, ground truth).
- :func:`meltano_env` / :func:`run_meltano`: a hermetic ``meltano run tap-acefone
  target-postgres`` against that sandbox and a given PostgreSQL, with its own Meltano
  system database (so the state of a demo or test never touches the user's).
- :func:`emitted_record_count`: RECORDs the tap reported in its METRIC log lines.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SANDBOX_TOKEN = "sandbox-static-token"
SANDBOX_EMAIL = "ops@example.com"
SANDBOX_PASSWORD = "sandbox-password"
STATE_ID = "dev:tap-acefone-to-target-postgres"

# Inherited variables that would leak a user's own configuration into a demo or test run.
_HERMETIC_PREFIXES = ("TAP_ACEFONE_", "TARGET_POSTGRES_", "MELTANO_")
_PR_SET_PDEATHSIG = 1


def parent_death_signal(sig: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when its parent dies (Linux).

    libc is resolved here, in the parent: the child, forked from a possibly multi-threaded
    process, only makes the ``prctl`` call. Returns None where ``prctl`` is unavailable.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


def venv_bin(name: str) -> str:
    """``name`` next to the running interpreter (the project venv), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found next to {sys.executable} nor in PATH")
    return found


def terminate_group(proc: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """SIGTERM the process group ``proc`` leads, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # any grandchildren left behind
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def parse_instant(value: str) -> datetime:
    """ISO 8601 with offset (``Z`` accepted) -> aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def iso(instant: datetime) -> str:
    """Aware datetime -> ``YYYY-MM-DDTHH:MM:SS+00:00``."""
    return instant.astimezone(timezone.utc).replace(microsecond=0).isoformat()


# ------------------------------------------------------------------------ sandbox


@dataclasses.dataclass
class TruthRow:
    """One CDR as the sandbox knows it (latest visible version)."""

    id: str
    record: dict[str, Any]
    started_at: datetime
    ended_at: datetime | None
    visible_at: datetime | None
    version: int | None
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)


class SandboxProcess:
    """``acefone-sandbox`` on a free port in a subprocess; a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        seed: int = 7,
        days: int = 3,
        calls_per_day: int = 600,
        now: str | None = None,
        tz: str | None = None,
        extra_args: Sequence[str] = (),
        start_timeout: float = 120.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.days = days
        self.args = [
            "--port",
            "0",
            "--port-file",
            str(self.workdir / "sandbox.url"),
            "--seed",
            str(seed),
            "--days",
            str(days),
            "--calls-per-day",
            str(calls_per_day),
        ]
        if now:
            self.args += ["--now", now]
        if tz:
            self.args += ["--timezone", tz]
        self.args += list(extra_args)
        self.start_timeout = start_timeout
        self.log_path = self.workdir / "sandbox.log"
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SandboxProcess:
        """Start the sandbox and wait until it wrote its URL."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        port_file = self.workdir / "sandbox.url"
        port_file.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [venv_bin("acefone-sandbox"), *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
                preexec_fn=parent_death_signal(signal.SIGTERM),  # noqa: PLW1509
            )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"acefone-sandbox exited with {self._proc.returncode}:\n{self.log_tail()}"
                )
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text.startswith("http") and self._responds(text):
                self.url = text.rstrip("/")
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"acefone-sandbox not ready after {self.start_timeout:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    @staticmethod
    def _responds(url: str) -> bool:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/_sandbox/clock", timeout=5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM the sandbox (SIGKILL if it lingers); idempotent."""
        if self._proc is not None:
            terminate_group(self._proc, timeout=10.0)
            self._proc = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the sandbox's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- admin API

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read()

    def stats(self) -> dict[str, Any]:
        """``GET /_sandbox/stats``: requests, pages, 429s by cause, most in flight."""
        return json.loads(self._request("GET", "/_sandbox/stats"))

    def reset_stats(self) -> None:
        """``POST /_sandbox/stats/reset``."""
        self._request("POST", "/_sandbox/stats/reset", {})

    def now(self) -> datetime:
        """The sandbox's virtual clock."""
        return parse_instant(json.loads(self._request("GET", "/_sandbox/clock"))["now"])

    def advance(self, seconds: float) -> datetime:
        """Move the virtual clock forward; return the new now."""
        self._request("POST", "/_sandbox/clock", {"advance_seconds": seconds})
        return self.now()

    def truth(self) -> list[TruthRow]:
        """Every CDR visible now, in its latest version."""
        rows = []
        for line in self._request("GET", "/_sandbox/truth").decode().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            rows.append(
                TruthRow(
                    id=str(item["id"]),
                    record=item["record"],
                    started_at=parse_instant(item["started_at"]),
                    ended_at=parse_instant(item["ended_at"]) if item.get("ended_at") else None,
                    visible_at=(
                        parse_instant(item["visible_at"]) if item.get("visible_at") else None
                    ),
                    version=item.get("version"),
                    facts=item.get("facts") or {},
                )
            )
        return rows


# ------------------------------------------------------------------------ meltano


def meltano_env(
    *,
    sandbox_url: str,
    start_date: str,
    end_date: str,
    sqlalchemy_url: str,
    meltano_db: Path,
    target_schema: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for a hermetic ``meltano`` call against the sandbox and a PostgreSQL.

    Every inherited ``TAP_ACEFONE_*``, ``TARGET_POSTGRES_*`` and ``MELTANO_*`` variable is
    dropped first, so a user's own settings or state database never leak in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_HERMETIC_PREFIXES)}
    env.update(
        {
            "MELTANO_DATABASE_URI": f"sqlite:///{meltano_db}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_ENVIRONMENT": "dev",
            "TAP_ACEFONE_API_URL": sandbox_url,
            "TAP_ACEFONE_API_TOKEN": SANDBOX_TOKEN,
            "TAP_ACEFONE_START_DATE": start_date,
            "TAP_ACEFONE_END_DATE": end_date,
            "TARGET_POSTGRES_SQLALCHEMY_URL": sqlalchemy_url,
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if target_schema:
        env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] = target_schema
    if extra:
        env.update(extra)
    return env


@dataclasses.dataclass
class MeltanoResult:
    """Outcome of one meltano invocation."""

    args: list[str]
    returncode: int
    seconds: float
    log_path: Path

    @property
    def log(self) -> str:
        """Everything meltano printed (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        """The end of the log."""
        return "\n".join(self.log.splitlines()[-lines:])

    def check(self) -> MeltanoResult:
        """Raise with the log tail unless meltano exited 0."""
        if self.returncode != 0:
            raise RuntimeError(
                f"`meltano {' '.join(self.args)}` exited with {self.returncode}; "
                f"log {self.log_path}:\n{self.tail()}"
            )
        return self


def start_meltano(
    args: Sequence[str], env: Mapping[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start ``meltano ARGS`` in the repo, its output going to ``log``.

    It leads its own process group (so the whole tree can be signalled) and is stopped if
    this process dies.
    """
    return subprocess.Popen(
        [venv_bin("meltano"), *args],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
        env=dict(env),
        start_new_session=True,
        preexec_fn=parent_death_signal(signal.SIGTERM),  # noqa: PLW1509
    )


def run_meltano(
    args: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    *,
    timeout: float = 1800.0,
) -> MeltanoResult:
    """Run ``meltano ARGS`` in the repo; output goes to ``log_path``.

    Meltano leads its own process group, so on timeout, Ctrl-C or SIGTERM the whole tree
    (meltano, the tap, the target) is stopped.
    """
    started = time.monotonic()
    with open(log_path, "ab") as log:
        proc = start_meltano(args, env, log)
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            terminate_group(proc)
            raise RuntimeError(
                f"`meltano {' '.join(args)}` timed out after {timeout:.0f}s"
            ) from None
        finally:
            terminate_group(proc)
    return MeltanoResult(list(args), returncode, time.monotonic() - started, Path(log_path))


_KV_METRIC = re.compile(r"\bmetric_name=record_count\s+metric_value=(\d+)")


def emitted_record_count(log_text: str, plugin: str = "tap-acefone") -> int | None:
    """Total RECORD messages ``plugin`` reported in its ``record_count`` metrics.

    Reads a ``meltano run`` log. Meltano renders the SDK's structured METRIC logs as
    ``METRIC metric_name=record_count metric_value=N`` (without the stream tag); the older
    plain form is ``METRIC: {"type": "counter", "metric": "record_count", "value": N, ...}``.
    The SDK's counters are reset after each report, so the values add up. ``None`` when the
    log holds no such metric.
    """
    total: int | None = None
    decoder = json.JSONDecoder()
    for line in log_text.splitlines():
        if plugin not in line or "METRIC" not in line:
            continue
        match = _KV_METRIC.search(line)
        if match:
            total = (total or 0) + int(match.group(1))
            continue
        idx = line.find("METRIC: {")
        if idx < 0:
            continue
        with contextlib.suppress(ValueError):
            payload, _ = decoder.raw_decode(line[idx + len("METRIC: ") :])
            if payload.get("metric") == "record_count" and payload.get("type") == "counter":
                total = (total or 0) + int(payload.get("value", 0))
    return total


def history_window(sandbox_now: datetime, days: int) -> tuple[str, str]:
    """(start_date, end_date) that cover a sandbox with ``days`` days of history.

    One extra day of margin: the sandbox's days are account-local days, which can begin
    before ``now - days`` in UTC.
    """
    return iso(sandbox_now - timedelta(days=days + 1)), iso(sandbox_now)
