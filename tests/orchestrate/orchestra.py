"""Accounts, their sandboxes and a real Dagster instance driving the project's Meltano jobs.

One `Orchestra` is what a team running many accounts has: one sandbox (fake API) per
account, Meltano's system database in PostgreSQL (a schema of its own), the warehouse schema
all accounts load into, and a Dagster home holding the shipped orchestrate/dagster.yaml,
with `dagster-daemon` running the queue. Runs are submitted with `dagster job launch`, as a
person or a CI job would, and observed through Dagster's own run and event storage.

Dagster is imported only inside methods: the `orchestrate_extra` fixture installs it first.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from scripts.harness import (
    REPO_ROOT,
    MeltanoResult,
    SandboxProcess,
    iso,
    parent_death_signal,
    parse_instant,
    run_meltano,
    terminate_group,
    venv_bin,
)
from scripts.postgres import PostgresServer, unique_schema_name

WORKSPACE = REPO_ROOT / "orchestrate" / "workspace.yaml"
DAGSTER_YAML = REPO_ROOT / "orchestrate" / "dagster.yaml"
# A token no sandbox accepts, given to the parent plugin: an account that inherited it
# instead of its own credentials would fail with HTTP 401.
PARENT_TOKEN = "tap-acefone-parent-token-no-account-accepts"
_HERMETIC = ("TAP_ACEFONE_", "TARGET_POSTGRES_", "MELTANO_", "DAGSTER_", "ACEFONE_")
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
LOCATION = "tap_acefone_accounts"  # orchestrate/workspace.yaml
# The GraphQL mutation behind the UI's Launch button.
_LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
  }
}
"""


@dataclass
class Account:
    """One account: its Meltano plugin and job, its sandbox and its credentials."""

    name: str
    seed: int
    timezone: str
    now: str
    login: bool = False
    days: int = 2
    calls_per_day: int = 60
    start_date: str = ""
    sandbox: SandboxProcess | None = field(default=None, repr=False)

    @property
    def plugin(self) -> str:
        return f"tap-acefone--{self.name}"

    @property
    def prefix(self) -> str:
        """Meltano's variable prefix for the plugin's settings."""
        return re.sub(r"[^A-Z0-9]", "_", self.plugin.upper()) + "_"

    @property
    def meltano_job(self) -> str:
        return f"acefone-{self.name}"

    @property
    def dagster_job(self) -> str:
        return self.meltano_job.replace("-", "_")

    @property
    def state_id(self) -> str:
        return f"dev:{self.plugin}-to-target-postgres"

    @property
    def token(self) -> str:
        return f"{self.name}-static-token"

    @property
    def email(self) -> str:
        return f"ops@{self.name}.example"

    @property
    def password(self) -> str:
        return f"{self.name}-login-password"

    @property
    def url(self) -> str:
        assert self.sandbox is not None
        return self.sandbox.url

    def start(self, workdir: Path) -> None:
        self.sandbox = SandboxProcess(
            workdir / f"sandbox-{self.name}",
            seed=self.seed,
            days=self.days,
            calls_per_day=self.calls_per_day,
            now=self.now,
            tz=self.timezone,
            extra_args=["--api-token", self.token, "--login", f"{self.email}:{self.password}"],
        ).start()
        start = parse_instant(self.now) - timedelta(days=self.days + 1)
        self.start_date = iso(start)

    def env(self) -> dict[str, str]:
        """This account's settings, each through its own variable (as a container gets them)."""
        env = {
            f"{self.prefix}API_URL": self.url,
            f"{self.prefix}START_DATE": self.start_date,
            f"{self.prefix}TIMEZONE": self.timezone,
        }
        if self.login:
            env[f"{self.prefix}EMAIL"] = self.email
            env[f"{self.prefix}PASSWORD"] = self.password
        else:
            env[f"{self.prefix}API_TOKEN"] = self.token
        return env

    def run_env(self) -> dict[str, str]:
        """What changes from run to run: read up to the sandbox's clock (not the real one)."""
        assert self.sandbox is not None
        return {f"{self.prefix}END_DATE": iso(self.sandbox.now())}

    def admin(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        assert self.sandbox is not None
        return json.loads(self.sandbox._request(method, path, body) or b"null")

    def get(self, path: str) -> Any:
        """An API answer, as the account's own token reads it (the reference ground truth)."""
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


class Orchestra:
    """Accounts, PostgreSQL (warehouse + Meltano's system database) and a Dagster instance."""

    def __init__(
        self,
        tmp_path: Path,
        pg: PostgresServer,
        target_schema: str,
        accounts: Sequence[Account],
        dagster_yaml: str | None = None,
    ) -> None:
        self.tmp = tmp_path
        self.pg = pg
        self.target_schema = target_schema
        self.accounts = {a.name: a for a in accounts}
        self.meltano_schema = unique_schema_name("meltano_system")
        self.home = tmp_path / "dagster_home"
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text(dagster_yaml or DAGSTER_YAML.read_text())
        self._daemon: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._instance: Any = None
        with pg.connect() as conn:
            conn.execute(f'CREATE SCHEMA "{self.meltano_schema}"')
        for account in accounts:
            account.start(tmp_path)

    # -- environment

    @property
    def meltano_db(self) -> str:
        glue = "&" if "?" in self.pg.url else "?"
        return f"{self.pg.url}{glue}options=-csearch_path%3D{self.meltano_schema}"

    def env(self) -> dict[str, str]:
        """What the orchestrator's processes (and so every Meltano run) see."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_HERMETIC)}
        env.update(
            {
                "DAGSTER_HOME": str(self.home),
                "MELTANO_DATABASE_URI": self.meltano_db,
                "MELTANO_ENVIRONMENT": "dev",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "TARGET_POSTGRES_SQLALCHEMY_URL": self.pg.url,
                "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": self.target_schema,
                "TAP_ACEFONE_API_TOKEN": PARENT_TOKEN,
                "ACEFONE_ORCHESTRATE_RETRY_DELAY": "1",
                "NO_COLOR": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for account in self.accounts.values():
            env.update(account.env())
        return env

    # -- Dagster

    @contextlib.contextmanager
    def daemon(self) -> Iterator[None]:
        """`dagster-daemon run` (schedules, the run queue, run monitoring) while inside."""
        log = open(self.home / "daemon.log", "ab")  # noqa: SIM115
        self._daemon = subprocess.Popen(
            [venv_bin("dagster-daemon"), "run", "-w", str(WORKSPACE)],
            cwd=REPO_ROOT,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=parent_death_signal(signal.SIGTERM),  # noqa: PLW1509
        )
        try:
            yield
        finally:
            terminate_group(self._daemon, timeout=30)
            self._daemon = None
            log.close()

    @contextlib.contextmanager
    def webserver(self) -> Iterator[None]:
        """`dagster-webserver` on a free port while inside: the UI, and GraphQL to launch runs."""
        self._port = _free_port()
        log = open(self.home / "webserver.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                venv_bin("dagster-webserver"),
                "-w",
                str(WORKSPACE),
                "-h",
                "127.0.0.1",
                "-p",
                str(self._port),
            ],
            cwd=REPO_ROOT,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=parent_death_signal(signal.SIGTERM),  # noqa: PLW1509
        )
        try:
            deadline = time.monotonic() + 300
            while not _answers(f"http://127.0.0.1:{self._port}/server_info"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"dagster-webserver did not start:\n{self._tail(log)}")
                time.sleep(0.5)
            yield
        finally:
            terminate_group(proc, timeout=30)
            log.close()

    def launch(
        self, accounts: Sequence[Account], env: Mapping[str, str] | None = None
    ) -> dict[str, Account]:
        """Submit one run of each account's job, as the UI's Launch button does; run id -> account.

        With the shipped dagster.yaml a submitted run waits in the queue until the daemon
        admits it. `env` adds variables to the runs' config (the op's `env`).
        """
        return {self._launch(account, env or {}): account for account in accounts}

    def _launch(self, account: Account, env: Mapping[str, str]) -> str:
        op_name = f"meltano_run_{account.dagster_job}"
        run_config = {"ops": {op_name: {"config": {"env": {**account.run_env(), **env}}}}}
        body = json.dumps(
            {
                "query": _LAUNCH_RUN,
                "variables": {
                    "params": {
                        "selector": {
                            "repositoryLocationName": LOCATION,
                            "repositoryName": "__repository__",
                            "jobName": account.dagster_job,
                        },
                        "runConfigData": run_config,
                    }
                },
            }
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self._port}/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read())
        result = (answer.get("data") or {}).get("launchRun") or {}
        assert result.get("__typename") == "LaunchRunSuccess", answer
        return str(result["run"]["runId"])

    def _tail(self, log: Any) -> str:
        log.flush()
        return "\n".join(Path(log.name).read_text(errors="replace").splitlines()[-30:])

    @property
    def instance(self) -> Any:
        if self._instance is None:
            from dagster import DagsterInstance  # noqa: PLC0415

            self._instance = DagsterInstance.from_config(str(self.home))
        return self._instance

    def records(self, run_ids: Sequence[str]) -> dict[str, Any]:
        from dagster import RunsFilter  # noqa: PLC0415

        found = self.instance.get_run_records(filters=RunsFilter(run_ids=list(run_ids)))
        return {r.dagster_run.run_id: r for r in found}

    def status(self, run_id: str) -> str:
        return self.records([run_id])[run_id].dagster_run.status.value

    def wait(self, run_ids: Sequence[str], timeout: float = 900.0) -> dict[str, Any]:
        """Wait until every run has ended; its records (status, start and end times)."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.records(run_ids)
            if len(records) == len(run_ids) and all(
                r.dagster_run.status.value in TERMINAL for r in records.values()
            ):
                return records
            if self._daemon is not None and self._daemon.poll() is not None:
                raise AssertionError(f"dagster-daemon exited:\n{self.daemon_log()}")
            if time.monotonic() > deadline:
                states = {i: r.dagster_run.status.value for i, r in records.items()}
                raise AssertionError(
                    f"runs not done after {timeout:.0f}s: {states}\n{self.daemon_log()}"
                )
            time.sleep(1.0)

    def events(self, run_id: str) -> list[Any]:
        return list(self.instance.all_logs(run_id))

    def event_types(self, run_id: str) -> list[str]:
        return [e.dagster_event.event_type_value for e in self.events(run_id) if e.dagster_event]

    def attempts(self, run_id: str) -> int:
        """How many times the run's step was tried (its first start and each retry)."""
        types = self.event_types(run_id)
        return types.count("STEP_START") + types.count("STEP_RESTARTED")

    def event_time(self, run_id: str, event_type: str) -> float:
        """When the run's first event of this type (a `DagsterEventType` name) was logged."""
        from dagster import DagsterEventType  # noqa: PLC0415

        wanted = DagsterEventType[event_type]
        times = [
            e.timestamp
            for e in self.events(run_id)
            if e.dagster_event and e.dagster_event.event_type == wanted
        ]
        assert times, f"run {run_id} has no {event_type} event: {self.event_types(run_id)}"
        return times[0]

    def failure(self, run_id: str) -> str:
        """What Dagster says about the run's failed step(s)."""
        texts = []
        for entry in self.events(run_id):
            event = entry.dagster_event
            if event is None or event.event_type_value != "STEP_FAILURE":
                continue
            data = event.step_failure_data
            if data.user_failure_data is not None:
                texts.append(str(data.user_failure_data.description))
            if data.error is not None:
                texts.append(data.error.message)
        return "\n".join(texts)

    def compute_log(self, run_id: str) -> str:
        """Everything the run's op printed (Meltano's output)."""
        parts = []
        for path in sorted((self.home / "storage" / run_id).rglob("*")):
            if path.is_file() and path.suffix in (".out", ".err", ".complete"):
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def daemon_log(self, lines: int = 60) -> str:
        path = self.home / "daemon.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def explain(self, run_ids: Sequence[str]) -> str:
        """Diagnostics for an assertion message."""
        out = []
        for run_id in run_ids:
            out.append(f"--- run {run_id}: {self.status(run_id)}\n{self.failure(run_id)}")
            out.append("\n".join(self.compute_log(run_id).splitlines()[-25:]))
        return "\n".join(out)

    # -- Meltano

    def meltano(self, args: Sequence[str], label: str) -> MeltanoResult:
        """`meltano ARGS` outside the orchestrator, with the orchestrator's environment."""
        env = self.env()
        for account in self.accounts.values():
            env.update(account.run_env())
        return run_meltano(args, env, self.tmp / f"meltano-{label}.log", timeout=600)

    def state(self, account: Account) -> dict[str, Any] | None:
        """The Singer state Meltano keeps for the account, merged as `meltano state get` does."""
        from meltano.core.state_store.base import MeltanoState  # noqa: PLC0415

        with self.pg.connect() as conn:
            row = conn.execute(
                f'SELECT partial_state, completed_state FROM "{self.meltano_schema}".state '
                "WHERE state_id = %s",
                (account.state_id,),
            ).fetchone()
        if row is None:
            return None
        partial, completed = (json.loads(v) if isinstance(v, str) else v for v in row)
        merged = json.loads(MeltanoState(account.state_id, partial, completed).json_merged())
        return merged.get("singer_state") or None

    def bookmark(self, account: Account) -> str | None:
        state = self.state(account) or {}
        return state.get("bookmarks", {}).get("call_records", {}).get("replication_key_value")

    def meltano_jobs(self, account: Account) -> list[dict[str, Any]]:
        """Meltano's job rows for the account's pipeline, oldest first."""
        with self.pg.connect() as conn:
            (exists,) = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (f'"{self.meltano_schema}".runs',)
            ).fetchone()
            if not exists:  # no Meltano command has run yet
                return []
            cur = conn.execute(
                f'SELECT state, started_at, ended_at FROM "{self.meltano_schema}".runs '
                "WHERE job_name = %s ORDER BY started_at",
                (account.state_id,),
            )
            return [dict(zip(("state", "started_at", "ended_at"), r, strict=True)) for r in cur]

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None
        for account in self.accounts.values():
            if account.sandbox is not None:
                account.sandbox.stop()
        with self.pg.connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.meltano_schema}" CASCADE')
