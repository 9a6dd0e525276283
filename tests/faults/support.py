"""What every fault case shares.

- Distinctive secrets (a static token, a spare one, a password) that the sandbox accepts, and
  a record of every login token the sandbox issues, so any of them can be searched for in
  everything a run printed.
- `run_cli`: the `tap-acefone` console script as a subprocess, its stdout read message by
  message as it is written (a callback can act at that moment, e.g. SIGKILL the tap, revoke a
  token, advance the clock), its stderr captured, and a wall-clock bound enforced by killing
  it: a hang fails the test instead of stalling CI.
- The only two outcomes a fault case may have: `assert_reconciles` (exit 0 and the records,
  upserted by id, equal the sandbox's ground truth field by field) or `assert_fails_cleanly`
  (non-zero exit, no traceback, exactly one error line that says what failed). Both also
  check that no secret appears anywhere in stdout (records, STATE) or stderr (logs, errors).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from tap_acefone.sandbox import Sandbox
from tests.taprun import TapRun, iso
from tests.truth import assert_exactly_once, assert_matches_truth, truth_in

# Distinctive values: if any of them shows up in output, it leaked.
STATIC_TOKEN = "tok_FAULTSUITE_9f3c1a7e5b2d4c60e8"
SPARE_TOKEN = "tok_FAULTSUITE_SPARE_4e8a2c9d71b0"
EMAIL = "faults@example.com"
PASSWORD = "pw_FAULTSUITE_c41e0b9a77d2f3"
SECRETS = {"api_token": STATIC_TOKEN, "spare api_token": SPARE_TOKEN, "password": PASSWORD}

# Generous: every case here finishes in a few seconds; this only turns a hang into a failure.
RUN_TIMEOUT_S = 90.0

# ERROR lines the SDK adds around the one that carries the reason.
SDK_CONTEXT_LINES = ("An unhandled error occurred while syncing", "Config validation failed")

Message = dict[str, Any]


# --------------------------------------------------------------------------- the sandbox


def secret_sandbox(make_sandbox: Callable[..., Sandbox], **knobs: Any) -> Sandbox:
    """A sandbox that accepts only the distinctive secrets and records every login token."""
    knobs.setdefault("api_tokens", (STATIC_TOKEN, SPARE_TOKEN))
    knobs.setdefault("logins", {EMAIL: PASSWORD})
    sandbox = make_sandbox(**knobs)
    issued: list[str] = []
    new_token = sandbox.tokens._new_token  # the one place every login/refresh token is made

    def recording(subject: str) -> str:
        token = new_token(subject)
        issued.append(token)
        return token

    sandbox.tokens._new_token = recording  # type: ignore[method-assign]
    sandbox.issued_login_tokens = issued  # type: ignore[attr-defined]
    return sandbox


def login_tokens(sandbox: Any) -> list[str]:
    """Every login token the sandbox issued so far (empty for a sandbox in a subprocess)."""
    return list(getattr(sandbox, "issued_login_tokens", []))


def fault_config(
    sandbox: Sandbox,
    *,
    hours: int = 24,
    login: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """A config over `hours` of settled history, ending 6 hours before the sandbox's now.

    CDRs keep changing for about four hours after a call (late arrival, recording, notes);
    ending six hours back keeps the ground truth of the range fixed even when a test moves
    the sandbox clock (token expiry), so reconciliation can be exact.
    """
    end = sandbox.clock.now() - timedelta(hours=6)
    config: dict[str, Any] = {
        "api_url": sandbox.url,
        "start_date": iso(end - timedelta(hours=hours)),
        "end_date": iso(end),
        "requests_per_second": 100,
        "request_timeout": 5,
        "window_hours": 4,
        "page_size": 25,
    }
    if login:
        config.update(email=EMAIL, password=PASSWORD)
    else:
        config["api_token"] = STATIC_TOKEN
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


# --------------------------------------------------------------- an API the sandbox is not

Answer = tuple[int, bytes]
GATEWAY_403: Answer = (403, b'{"message":"Missing Authentication Token"}')


class FakeAPI(BaseHTTPRequestHandler):
    """Answers /v1/call/records with `answer(path)`, every other path with the gateway's 403.

    For misbehaviour the sandbox does not model; subclass it per test module.
    """

    answer: ClassVar[Callable[[str], Answer]] = staticmethod(lambda path: (200, b"{}"))

    def do_GET(self) -> None:
        wanted = self.path.startswith("/v1/call/records")
        status, body = type(self).answer(self.path) if wanted else GATEWAY_403
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(handler: type[FakeAPI]) -> Iterator[ThreadingHTTPServer]:
    """`handler` on a loopback port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def fake_api_config(server: ThreadingHTTPServer, **overrides: Any) -> dict[str, Any]:
    """One day in one window against `server`, two tries per request."""
    return {
        "api_url": f"http://127.0.0.1:{server.server_address[1]}",
        "api_token": STATIC_TOKEN,
        "start_date": "2026-03-09T00:00:00+00:00",
        "end_date": "2026-03-10T00:00:00+00:00",
        "window_hours": 24,
        "requests_per_second": 100,
        "max_tries": 2,
        **overrides,
    }


# ------------------------------------------------------------------------ running the tap


@dataclass(kw_only=True)
class CliRun(TapRun):
    """Everything one `tap-acefone` process wrote, and how it ended."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    killed: bool = False
    partial_tail: str = ""

    def reason_lines(self) -> list[str]:
        """The ERROR/CRITICAL log lines that carry a reason (not the SDK's context lines)."""
        lines = []
        for line in self.stderr.splitlines():
            if "| ERROR" not in line and "| CRITICAL" not in line:
                continue
            message = line.split("|", 3)[-1].strip()
            if not message.startswith(SDK_CONTEXT_LINES):
                lines.append(message)
        return lines

    def describe(self) -> str:
        """The end of stderr, for assertion messages."""
        tail = "\n".join(self.stderr.splitlines()[-25:])
        return f"exit {self.returncode} after {self.seconds:.1f}s; stderr tail:\n{tail}"


class Control:
    """Handed to an `on_message` callback: what it may do to the running tap."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self.killed = False

    def kill(self) -> None:
        """SIGKILL the tap (its whole process group) right now."""
        if not self.killed:
            self.killed = True
            _killpg(self._proc)


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def tap_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any inherited tap setting, log level or unbuffered stdout.

    Without PYTHONUNBUFFERED the tap's stdout is block-buffered, as in production: records
    reach the pipe in bursts (at each STATE, or when the buffer fills), so a kill can leave
    half a line behind. Pass {"PYTHONUNBUFFERED": "1"} for line-by-line output.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TAP_ACEFONE_") and k not in ("LOGLEVEL", "PYTHONUNBUFFERED")
    }
    env.update(extra or {})
    return env


def run_cli(
    config: Mapping[str, Any] | str,
    workdir: Path,
    *,
    state: Mapping[str, Any] | str | None = None,
    on_message: Callable[[Message, Control], None] | None = None,
    timeout: float = RUN_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
) -> CliRun:
    """Run `tap-acefone --config ... [--state ...]`, handing each message to `on_message`.

    `config` and `state` may be dicts (written as JSON) or raw text (written as is, e.g.
    corrupt JSON).
    After `control.kill()`, stdout is still read to its end: what the tap flushed before it
    died is what a target would have received. A run that outlives `timeout` is killed and
    reported with `timed_out`.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.json"
    config_path.write_text(config if isinstance(config, str) else json.dumps(config))
    command = [str(Path(sys.executable).parent / "tap-acefone"), "--config", str(config_path)]
    if state is not None:
        state_path = workdir / "state.json"
        state_path.write_text(state if isinstance(state, str) else json.dumps(state))
        command += ["--state", str(state_path)]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=tap_env(env),
        start_new_session=True,
    )
    control = Control(proc)
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        _killpg(proc)

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    stderr_chunks: list[bytes] = []
    stderr_reader = threading.Thread(
        target=lambda: stderr_chunks.extend(iter(lambda: proc.stderr.read(65536), b"")),  # type: ignore[union-attr]
        daemon=True,
    )
    stderr_reader.start()
    watchdog.start()
    lines: list[str] = []
    messages: list[Message] = []
    partial = ""
    try:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            if not raw.endswith(b"\n"):
                partial = raw.decode("utf-8", errors="replace")
                break
            line = raw.decode("utf-8")
            lines.append(line)
            if not line.strip():
                continue
            message = json.loads(line)
            messages.append(message)
            if on_message is not None and not control.killed:
                on_message(message, control)
        returncode = proc.wait(timeout=timeout)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            _killpg(proc)
            proc.wait()
        stderr_reader.join(10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    return CliRun(
        returncode=returncode,
        stdout="".join(lines),
        stderr=b"".join(stderr_chunks).decode("utf-8", errors="replace"),
        messages=messages,
        seconds=time.monotonic() - started,
        timed_out=timed_out.is_set(),
        killed=control.killed,
        partial_tail=partial,
    )


# ------------------------------------------------------------------------------ outcomes


def assert_reconciles(
    run: CliRun,
    sandbox: Sandbox,
    config: Mapping[str, Any],
    *,
    earlier: Iterable[dict] = (),
) -> None:
    """Outcome 1: the sync completed and what it delivered equals the ground truth.

    `earlier` are records delivered by previous (interrupted or failed) runs of the same
    sync, loaded first: the union, upserted by id, must equal the truth.
    """
    assert not run.timed_out, f"the tap hung; {run.describe()}"
    assert run.returncode == 0, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    assert_exactly_once(run.records)
    assert_matches_truth([*earlier, *run.records], truth_in(sandbox, config))
    assert_no_secrets(run, sandbox)


def assert_fails_cleanly(run: CliRun, sandbox: Any, *needles: str) -> str:
    """Outcome 2: a non-zero exit with one error line naming what failed; returns the line."""
    assert not run.timed_out, f"the tap hung; {run.describe()}"
    assert run.returncode not in (0, None), run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    reasons = run.reason_lines()
    assert len(reasons) == 1, f"expected one error line, got {reasons}; {run.describe()}"
    for needle in needles:
        assert needle in reasons[0], (needle, reasons[0])
    assert not run.partial_tail, "the tap exited with half a message on stdout"
    assert_no_secrets(run, sandbox)
    return reasons[0]


# ------------------------------------------------------------------------------- secrets


def secret_values(sandbox: Any) -> dict[str, str]:
    """Name -> value of everything that must never be printed, login tokens included.

    A login token is a JWT: its payload (with a random jti) and signature are each unique,
    so each is searched for on its own as well as the whole token.
    """
    values = dict(SECRETS)
    for n, token in enumerate(login_tokens(sandbox)):
        values[f"login token #{n}"] = token
        for part_name, part in zip(("payload", "signature"), token.split(".")[1:], strict=False):
            values[f"login token #{n} {part_name}"] = part
    return values


def find_leaks(texts: Mapping[str, str], sandbox: Any) -> list[str]:
    """`where: what` for every secret found in any of `texts` (name -> text)."""
    leaks = []
    for where, text in texts.items():
        for name, value in secret_values(sandbox).items():
            if value and value in text:
                line = next(n for n, line in enumerate(text.splitlines(), 1) if value in line)
                leaks.append(f"{where} line {line}: {name}")
    return leaks


def assert_no_secrets(run: CliRun, sandbox: Any) -> None:
    """No token, password or login token in stdout (records, STATE) or stderr (logs)."""
    texts = {"stdout": run.stdout + run.partial_tail, "stderr": run.stderr}
    leaks = find_leaks(texts, sandbox)
    assert not leaks, f"secrets leaked: {leaks}"


def recording_tokens(rows: Iterable[Any]) -> set[str]:
    """The access tokens embedded in the ground truth's recording URLs."""
    tokens = set()
    for row in rows:
        url = row.record.get("recording_url")
        if isinstance(url, str) and url:
            tokens |= {v for k, v in parse_qsl(urlsplit(url).query) if k == "token" and v}
    return tokens


def assert_no_recording_tokens(text: str, tokens: set[str]) -> None:
    assert tokens, "the ground truth holds no recording tokens; the check proves nothing"
    assert "token=" not in text
    leaked = sorted(t for t in tokens if t in text)
    assert not leaked, f"{len(leaked)} recording tokens in the output, e.g. {leaked[:3]}"


# ------------------------------------------------------------------------------ re-reads


def assert_rerun_bounds(
    first_ids: Iterable[str],
    rerun_records: list[dict],
    bookmark: str | None,
    config: Mapping[str, Any],
) -> None:
    """A rerun starts at bookmark - lookback, and re-reads only the interrupted window.

    Records the first run had already delivered may come again only from
    [bookmark - lookback, bookmark + window_hours): the lookback plus the window that was in
    progress when the first run died, each widened by the one second every query reaches into
    its neighbours (the API's bounds may be inclusive or exclusive).
    """
    if bookmark is None:  # died before its first window was complete: starts over
        return
    mark = datetime.fromisoformat(bookmark)
    overlap = timedelta(seconds=1)
    floor = (
        max(
            mark - timedelta(minutes=int(config.get("lookback_minutes", 120))),
            datetime.fromisoformat(config["start_date"]),
        )
        - overlap
    )
    ceiling = mark + timedelta(hours=int(config.get("window_hours", 24))) + overlap
    starts = [r["started_at"] for r in rerun_records if r["started_at"]]
    assert not starts or min(starts) >= iso(floor), (min(starts), iso(floor))
    seen = set(first_ids)
    reread = [r for r in rerun_records if r["id"] in seen]
    outside = [r["started_at"] for r in reread if not iso(floor) <= r["started_at"] < iso(ceiling)]
    assert not outside, f"re-read outside [{iso(floor)}, {iso(ceiling)}): {outside[:5]}"
