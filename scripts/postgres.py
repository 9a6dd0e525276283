"""A throwaway PostgreSQL for the tests, ``make demo`` and ``make bench``, from well-kept tools.

::

    from scripts.postgres import start_postgres

    with start_postgres() as pg:
        pg.url  # postgresql+psycopg://...  (SQLAlchemy: what target-postgres wants)
        pg.dsn  # postgresql://...          (libpq / psycopg)

Where the server comes from, in this order (``TAP_ACEFONE_PG_BACKEND=external|local|pgserver``
forces one):

1. ``external``: ``DATABASE_URL`` is set. A uniquely named database is created on that server
   (without the CREATEDB privilege, a uniquely named schema) and dropped again on stop.
2. ``local``: the machine's PostgreSQL, through ``pg_virtualenv`` from Debian's
   postgresql-common (installed with Debian's and Ubuntu's ``postgresql``, as ``.ci/run``
   does). It creates a temporary cluster, runs it as the ``postgres`` account when we are
   root (PostgreSQL refuses to run as root), and drops it when done.
3. ``pgserver``: the ``pgserver`` wheel from PyPI (installed on demand into this Python),
   whose bundled binaries need nothing from the machine. As root it runs the server as a
   ``pgserver`` account, which it creates with ``useradd`` if missing.

Why these tools (measured on the 2-core dev box, as root; commands in the infra report):
pg_virtualenv is maintained with Debian's PostgreSQL packages and handles root itself, ready
in about 2.8 s (``pg_ctlcluster start`` is most of it); pgserver is the only one that works
without any PostgreSQL on the machine (about 0.6 s; bundles PostgreSQL 16.2, unreleased since
2024, so it is only the fallback). pytest-postgresql 10 and testing.postgresql run ``initdb``
as the calling user, which PostgreSQL refuses as root, have no fallback without system
binaries, and are pytest-only or unmaintained (testing.postgresql: 2017).

What this module keeps because none of those tools does it:

- the choice above, and a database of its own on a ``DATABASE_URL`` server;
- the server's lifetime tied to the caller. Each tool runs in a child *holder* process that
  reports the server and then reads its stdin; when the caller stops the server, exits or is
  killed (SIGKILL included) that pipe closes, and the tool's own cleanup stops the cluster
  and deletes its data. (pg_virtualenv lives as long as one command; pgserver stops its
  server at interpreter exit only.)
- the two URL forms, and per-test schemas (:func:`fresh_schema`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

BACKEND_ENV = "TAP_ACEFONE_PG_BACKEND"
BACKENDS = ("external", "local", "pgserver")
DATABASE_NAME = "tap_acefone"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
READY = "tap-acefone-postgres-ready"
READY_FD_ENV = "TAP_ACEFONE_PG_READY_FD"
# Server settings for a throwaway test server: UTC sessions (target-postgres' INSERT path
# converts offsets through the session time zone) and no durability.
SERVER_SETTINGS = {
    "timezone": "UTC",
    "log_timezone": "UTC",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


class PostgresError(RuntimeError):
    """The throwaway PostgreSQL could not be started or stopped."""


def _log(message: str) -> None:
    print(f"[postgres] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- URLs


def to_sqlalchemy_url(url: str) -> str:
    """Return ``url`` with the ``postgresql+psycopg`` (psycopg 3) SQLAlchemy driver."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    if scheme.split("+", 1)[0] not in {"postgres", "postgresql"}:
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"postgresql+psycopg://{rest}"


def to_libpq_dsn(url: str) -> str:
    """Return ``url`` in the plain ``postgresql://`` form libpq and psycopg accept."""
    _, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    return f"postgresql://{rest}"


def _with_database(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(dbname)))


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for logs)."""
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)


# ------------------------------------------------------------------------ server


@dataclasses.dataclass
class PostgresServer:
    """A PostgreSQL this module started (or a database it made on ``DATABASE_URL``'s)."""

    url: str
    """SQLAlchemy URL, ``postgresql+psycopg://...`` (what target-postgres wants)."""
    backend: str
    """``external``, ``local`` or ``pgserver``."""
    admin_dsn: str | None = None
    """DSN of the database used to create and drop ``created_database``."""
    created_database: str | None = None
    created_schema: str | None = None
    _holder: subprocess.Popen[bytes] | None = dataclasses.field(default=None, repr=False)
    _stopped: bool = dataclasses.field(default=False, repr=False)

    @property
    def dsn(self) -> str:
        """The same database as a libpq DSN, for ``psycopg.connect``."""
        return to_libpq_dsn(self.url)

    @property
    def holder_pid(self) -> int | None:
        """Pid of the holder process that keeps a private server alive (None: external)."""
        return self._holder.pid if self._holder is not None else None

    def connect(self, **kwargs: Any) -> Any:
        """Open a psycopg 3 connection (autocommit unless told otherwise)."""
        import psycopg  # noqa: PLC0415

        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.dsn, **kwargs)

    def stop(self) -> None:
        """Stop the server and delete its data (external: drop what was created); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._holder is not None:
            _stop_holder(self._holder)
        else:
            _drop_external(self)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def choose_backend() -> str:
    """``$TAP_ACEFONE_PG_BACKEND``, else the first available backend (see the docstring)."""
    forced = os.environ.get(BACKEND_ENV)
    if forced:
        if forced not in BACKENDS:
            raise PostgresError(f"{BACKEND_ENV}={forced!r}: use one of {', '.join(BACKENDS)}")
        return forced
    if os.environ.get("DATABASE_URL"):
        return "external"
    if find_pg_virtualenv() is not None:
        return "local"
    return "pgserver"


def start_postgres(backend: str | None = None) -> PostgresServer:
    """Start (or borrow) a PostgreSQL server and return it; call ``.stop()`` when done."""
    backend = backend or choose_backend()
    if backend == "external":
        url = os.environ.get("DATABASE_URL")
        if not url:
            raise PostgresError("backend 'external' needs DATABASE_URL")
        return _start_external(url)
    if backend == "local":
        if find_pg_virtualenv() is None:
            raise PostgresError(
                "no pg_virtualenv (Debian's postgresql-common) and PostgreSQL server on this "
                "machine; install Debian's postgresql, or use the pgserver backend"
            )
        return _start_private(backend, _pg_virtualenv_command)
    if backend == "pgserver":
        return _start_private(backend, _pgserver_command)
    raise PostgresError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")


@contextlib.contextmanager
def postgres(backend: str | None = None) -> Iterator[PostgresServer]:
    """Context manager around :func:`start_postgres`."""
    server = start_postgres(backend)
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------- schemas

_MAX_IDENTIFIER = 63


def unique_schema_name(hint: str = "t") -> str:
    """A valid, unique, lower-case PostgreSQL schema name derived from ``hint``."""
    suffix = uuid.uuid4().hex[:8]
    stem = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_") or "t"
    stem = stem[: _MAX_IDENTIFIER - len(suffix) - 3]
    return f"t_{stem}_{suffix}"


@contextlib.contextmanager
def fresh_schema(server: PostgresServer, hint: str = "t") -> Iterator[str]:
    """Yield a unique schema name; drop that schema (if anything created it) afterwards."""
    name = unique_schema_name(hint)
    try:
        yield name
    finally:
        with server.connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def schema_exists(conn: Any, name: str) -> bool:
    """Whether ``name`` is a schema in the database ``conn`` (psycopg) is connected to."""
    row = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (name,)).fetchone()
    return bool(row and row[0])


# ----------------------------------------------------------------- external server


def _start_external(url: str) -> PostgresServer:
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    admin_dsn = to_libpq_dsn(url)
    name = f"tap_acefone_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            _log(f"no CREATEDB privilege: using schema {name} in {redact(url)}")
            return PostgresServer(
                url=to_sqlalchemy_url(url),
                backend="external",
                admin_dsn=admin_dsn,
                created_schema=name,
            )
    _log(f"using DATABASE_URL server, database {name}")
    return PostgresServer(
        url=to_sqlalchemy_url(_with_database(url, name)),
        backend="external",
        admin_dsn=admin_dsn,
        created_database=name,
    )


def _drop_external(server: PostgresServer) -> None:
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    if server.admin_dsn is None:
        return
    with psycopg.connect(server.admin_dsn, autocommit=True, connect_timeout=10) as conn:
        if server.created_database:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(server.created_database)
                )
            )
        if server.created_schema:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(server.created_schema)
                )
            )


# ------------------------------------------------------------------ private server
#
# A holder writes one line, READY and the server's admin DSN, to the pipe whose fd is in
# $TAP_ACEFONE_PG_READY_FD, then reads its stdin until EOF and lets its tool stop the server
# and delete the data. Its stdout and stderr go to a file: were they a pipe to the caller, a
# killed caller would leave the tool's cleanup messages to die of SIGPIPE, and the cluster with
# them.


def find_pg_virtualenv() -> str | None:
    """``pg_virtualenv`` when it and a PostgreSQL server version are installed."""
    tool = shutil.which("pg_virtualenv")
    if tool and any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        return tool
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The holder shell: report the cluster pg_virtualenv made, then wait for stdin to close.
_PG_VIRTUALENV_HOLDER = (
    f'echo "{READY} postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres" '
    f'>&"${READY_FD_ENV}"; exec cat >/dev/null'
)


def _pg_virtualenv_command() -> tuple[list[str], dict[str, str]]:
    options = [arg for name, value in SERVER_SETTINGS.items() for arg in ("-o", f"{name}={value}")]
    command = [
        str(find_pg_virtualenv()),
        "-t",  # a temporary directory, also as root (not /etc/postgresql/*/regress)
        "-i",
        "--encoding=UTF8 --locale=C",
        *options,
        "bash",  # pg_virtualenv needs bash anyway; dash cannot redirect to fds above 9
        "-c",
        _PG_VIRTUALENV_HOLDER,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    # Our own free port: pg_virtualenv would scan up from 5432, which concurrent runs race for.
    env["PGPORT"] = str(_free_port())
    return command, env


# The holder for pgserver: a SIGTERM also ends in pgserver's atexit cleanup (stop + delete).
_PGSERVER_HOLDER = """
import os, signal, sys, tempfile
import pgserver, psycopg
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
datadir = tempfile.mkdtemp(prefix="tap-acefone-pgserver-")
server = pgserver.get_server(datadir, cleanup_mode="delete")
with psycopg.connect(server.get_uri(), autocommit=True) as conn:
    for name, value in SETTINGS.items():
        conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    conn.execute("SELECT pg_reload_conf()")
os.write(int(os.environ[READY_FD_ENV]), f"{READY} {server.get_uri()}\\n".encode())
sys.stdin.read()
"""


def _pgserver_command() -> tuple[list[str], dict[str, str]]:
    ensure_pgserver()
    constants = {"SETTINGS": SERVER_SETTINGS, "READY": READY, "READY_FD_ENV": READY_FD_ENV}
    code = "".join(f"{name} = {value!r}\n" for name, value in constants.items())
    code += _PGSERVER_HOLDER
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", TZ="UTC")
    return [sys.executable, "-c", code], env


def ensure_pgserver() -> None:
    """Install the ``pgserver`` wheel into this Python unless it is there.

    It is located, not imported: importing it warns (and has side effects), and only the
    holder process needs it.
    """
    if importlib.util.find_spec("pgserver") is not None:
        return
    _log(f"installing pgserver into {sys.prefix} (no PostgreSQL on this machine)")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pgserver"], check=True)
    importlib.invalidate_caches()
    if importlib.util.find_spec("pgserver") is None:
        raise PostgresError("pgserver is not importable after installing it")


def _start_private(backend: str, command: Any) -> PostgresServer:
    last_error = ""
    for _attempt in range(3):
        argv, env = command()
        started = time.monotonic()
        holder, ready, log = _spawn_holder(argv, env)
        try:
            admin_dsn = _wait_ready(holder, ready, log)
        except PostgresError as exc:
            _stop_holder(holder)
            last_error = str(exc)
            if "already in use" in last_error or "could not bind" in last_error:
                continue  # lost the race for the free port; try another
            raise
        finally:
            os.close(ready)
            log.close()
        try:
            _create_database(admin_dsn)
        except BaseException:
            _stop_holder(holder)
            raise
        server = PostgresServer(
            url=to_sqlalchemy_url(_with_database(admin_dsn, DATABASE_NAME)),
            backend=backend,
            admin_dsn=admin_dsn,
            _holder=holder,
        )
        _log(
            f"{backend} PostgreSQL at {redact(server.url)}, holder pid {holder.pid}, "
            f"ready in {time.monotonic() - started:.1f}s"
        )
        return server
    raise PostgresError(f"could not start PostgreSQL:\n{last_error}")


def _spawn_holder(
    argv: Sequence[str], env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int, IO[bytes]]:
    """Start a holder: the process, the read end of its READY pipe, and its output file."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
    ready, ready_w = os.pipe()
    try:
        holder = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**env, READY_FD_ENV: str(ready_w)},
            pass_fds=(ready_w,),
            cwd=tempfile.gettempdir(),
            # Its own session: a Ctrl-C or a group kill aimed at the caller closes the pipe
            # (and so stops the server) instead of killing the holder before it cleaned up.
            start_new_session=True,
        )
    except BaseException:
        os.close(ready)
        log.close()
        raise
    finally:
        os.close(ready_w)
    return holder, ready, log


def _wait_ready(holder: subprocess.Popen[bytes], ready: int, log: IO[bytes]) -> str:
    """The admin DSN the holder reports, once its server accepts connections."""
    deadline = time.monotonic() + START_TIMEOUT_S
    output = b""
    with selectors.DefaultSelector() as selector:
        selector.register(ready, selectors.EVENT_READ)
        while True:
            for line in output.split(b"\n")[:-1]:  # complete lines only
                if line.startswith(READY.encode() + b" "):
                    return line.decode().split(" ", 1)[1].strip()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PostgresError(
                    f"PostgreSQL not ready after {START_TIMEOUT_S:.0f}s:\n{_tail(log)}"
                )
            if selector.select(timeout=min(remaining, 1.0)):
                chunk = os.read(ready, 65536)
                if not chunk:
                    holder.wait(timeout=STOP_TIMEOUT_S)
                    raise PostgresError(
                        f"the PostgreSQL holder exited with {holder.returncode} before the "
                        f"server was ready:\n{_tail(log)}"
                    )
                output += chunk


def _tail(log: IO[bytes], lines: int = 30) -> str:
    log.seek(0)
    return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])


def _create_database(admin_dsn: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE_NAME}")


def _stop_holder(holder: subprocess.Popen[bytes]) -> None:
    """Close the holder's stdin and wait for its tool to clean up; escalate if it hangs."""
    if holder.stdin is not None:
        with contextlib.suppress(OSError):
            holder.stdin.close()
    for sig, timeout in ((None, STOP_TIMEOUT_S), (signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(holder.pid, sig)
        try:
            holder.wait(timeout=timeout)
            break
        except subprocess.TimeoutExpired:
            continue
    if holder.returncode is None:
        raise PostgresError(f"the PostgreSQL holder (pid {holder.pid}) did not stop")
