"""Run one `meltano run <job>` and say how it ended, in terms an orchestrator acts on.

Never `--force`: Meltano refuses to start a pipeline whose previous run is still alive (its
heartbeat is fresh), and that refusal is the last line of defence when something outside
the orchestrator (a cron entry, a person) runs the same account.

How a failure is retried depends on who failed:

- the extractor alone ("Extractor failed"): the tap has already retried every transient API
  fault `max_tries` times; what remains is a refused token or login, a permission, a
  setting or a state, which a retry cannot fix, and retrying a refused login can lock the
  account. Not retried: the run fails at once with the tap's own error line.
- anything else (the loader or the warehouse, Meltano itself, "already running"): retried.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

# Enough for the plugins' error lines to survive Meltano's own traceback box after them.
TAIL_LINES = 200


class Verdict(Enum):
    """How a `meltano run` ended."""

    SUCCEEDED = "succeeded"
    EXTRACTOR_FAILED = "extractor failed"
    ALREADY_RUNNING = "already running"
    FAILED = "failed"

    @property
    def retriable(self) -> bool:
        """Whether running the same job again may succeed."""
        return self in (Verdict.ALREADY_RUNNING, Verdict.FAILED)


@dataclass(frozen=True)
class LogError:
    """One error Meltano or a plugin logged: who said it, and what."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(frozen=True)
class MeltanoOutcome:
    """The exit code of one `meltano run` and the end of what it printed."""

    args: tuple[str, ...]
    returncode: int
    tail: tuple[str, ...]
    seconds: float

    @property
    def verdict(self) -> Verdict:
        """Succeeded, or which kind of failure."""
        return classify(self.returncode, self.tail)

    def reason(self) -> str:
        """Why it failed, in the words of whoever failed: the plugins' errors before Meltano's."""
        found = [e for e in errors(self.tail) if e.message]
        plugins = [e for e in found if e.source != "meltano"]
        chosen = plugins[-1:] or found[-1:]
        return str(chosen[0]) if chosen else " / ".join(self.tail[-3:])


def classify(returncode: int, lines: Iterable[str]) -> Verdict:
    """The verdict from the exit code and Meltano's closing lines."""
    if returncode == 0:
        return Verdict.SUCCEEDED
    text = "\n".join(lines)
    if "pipeline is already running" in text:
        return Verdict.ALREADY_RUNNING
    if "Extractor failed" in text and "Extractor and loader failed" not in text:
        return Verdict.EXTRACTOR_FAILED
    return Verdict.FAILED


# Meltano's console format: `2026-03-10T12:00:00.000000Z [error    ] tap-acefone--acme message`.
_CONSOLE = re.compile(r"^\S+ \[(?P<level>[a-z]+)\s*\] (?P<source>\S+)\s+(?P<message>.*)$")


def errors(lines: Iterable[str]) -> list[LogError]:
    """The error-level lines of Meltano's output (console or JSON log format)."""
    found = []
    for line in lines:
        text = line.strip()
        if text.startswith("{"):
            try:
                entry = json.loads(text)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") == "error":
                source = entry.get("plugin_logger") or entry.get("string_id") or "meltano"
                found.append(LogError(str(source), str(entry.get("event", ""))))
            continue
        match = _CONSOLE.match(text)
        if match and match["level"] == "error":
            found.append(LogError(match["source"], match["message"]))
    return found


def run_meltano(
    meltano: str,
    args: Sequence[str],
    *,
    project_dir: str,
    env: Mapping[str, str] | None = None,
    echo: Callable[[str], None] = print,
) -> MeltanoOutcome:
    """Run `meltano ARGS` in the project; every output line goes to `echo` as it comes.

    Meltano leads its own process group, so stopping this run (the orchestrator cancels it,
    or this process is terminated) stops Meltano, the tap and the target with it; Meltano
    then records its job as failed and keeps the last state the target committed.
    """
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    proc = subprocess.Popen(
        [meltano, *args],
        cwd=project_dir,
        env=dict(os.environ if env is None else env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            echo(line)
        returncode = proc.wait()
    finally:
        _stop(proc)
    return MeltanoOutcome(tuple(args), returncode, tuple(tail), time.monotonic() - started)


def _stop(proc: subprocess.Popen[str], grace: float = 30.0) -> None:
    """SIGTERM Meltano's process group, then SIGKILL what is left after `grace` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
