"""Start and stop a throwaway PostgreSQL for tests and the demo.

Library use::

    from scripts.postgres import start_postgres

    with start_postgres() as pg:
        print(pg.url)  # postgresql+psycopg://postgres@127.0.0.1:PORT/tap_acefone (SQLAlchemy)
        print(pg.dsn)  # postgresql://postgres@127.0.0.1:PORT/tap_acefone (libpq / psycopg)

Command line::

    python scripts/postgres.py run -- CMD ARGS...    # a server for the life of CMD, which
                                                     # gets DATABASE_URL and
                                                     # TARGET_POSTGRES_SQLALCHEMY_URL
    python scripts/postgres.py start --state-file F  # leaves a server running, prints its URL
    python scripts/postgres.py stop --state-file F   # stops it and deletes its data

Where the server comes from, in this order:

1. ``DATABASE_URL`` is set: that server is used. A uniquely named database is created on it
   (or, without CREATEDB privilege, a uniquely named schema) and dropped again on stop.
2. PostgreSQL binaries on this machine (``initdb``/``postgres`` in PATH, or
   ``/usr/lib/postgresql/*/bin``): a fresh cluster in a temporary directory.
3. The ``pgserver`` wheel from PyPI (installed on demand into the running Python
   environment), whose bundled binaries are used the same way.

``TAP_ACEFONE_PG_BACKEND=external|local|pgserver`` forces one of them.

The private cluster listens on 127.0.0.1 only, on a free port, with trust authentication,
fsync off and TimeZone UTC. PostgreSQL refuses to run as root, so as root the server runs as
the ``postgres`` system user if it exists, else as ``nobody`` (``TAP_ACEFONE_PG_USER``
overrides). In library use the server is the child of the calling process and is sent
SIGQUIT by the kernel if that process dies without stopping it, so nothing is left running.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import dataclasses
import glob
import importlib
import importlib.util
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

BACKEND_ENV = "TAP_ACEFONE_PG_BACKEND"
USER_ENV = "TAP_ACEFONE_PG_USER"
DATABASE_NAME = "tap_acefone"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0

STALE_AFTER_S = 600.0
BASE_PREFIX = "tap-acefone-pg-"

_PR_SET_PDEATHSIG = 1
_LIVE: list[PostgresServer] = []


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


def _redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


# ------------------------------------------------------------------------ server


@dataclasses.dataclass
class PostgresServer:
    """A running PostgreSQL that this module started (or borrowed from ``DATABASE_URL``)."""

    url: str
    """SQLAlchemy URL, ``postgresql+psycopg://...`` (what target-postgres wants)."""
    backend: str
    """``external``, ``local`` or ``pgserver``."""
    datadir: str | None = None
    pid: int | None = None
    bindir: str | None = None
    admin_dsn: str | None = None
    """External backend: DSN of the database used to create/drop ``created_database``."""
    created_database: str | None = None
    created_schema: str | None = None
    log_file: str | None = None
    _proc: subprocess.Popen[bytes] | None = dataclasses.field(default=None, repr=False)
    _stopped: bool = dataclasses.field(default=False, repr=False)

    @property
    def dsn(self) -> str:
        """The same server as a libpq DSN, for ``psycopg.connect``."""
        return to_libpq_dsn(self.url)

    def connect(self, **kwargs: Any) -> Any:
        """Open a psycopg 3 connection (autocommit unless told otherwise)."""
        import psycopg  # noqa: PLC0415

        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.dsn, **kwargs)

    def stop(self) -> None:
        """Stop the server (or drop what was created on the external one); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(ValueError):
            _LIVE.remove(self)
        if self.backend == "external":
            _drop_external(self)
            return
        try:
            _stop_process(self)
        finally:
            if self.datadir:
                shutil.rmtree(Path(self.datadir).parent, ignore_errors=True)

    def state(self) -> dict[str, Any]:
        """JSON-serialisable description, for ``stop --state-file``."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not f.name.startswith("_")
        }

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_postgres(backend: str | None = None, *, tie_to_parent: bool = True) -> PostgresServer:
    """Start (or borrow) a PostgreSQL server and return it; call ``.stop()`` when done.

    Args:
        backend: ``external``, ``local`` or ``pgserver``; default: ``$TAP_ACEFONE_PG_BACKEND``
            or the first that is available (see the module docstring).
        tie_to_parent: have the kernel stop the server if this process dies (library use).

    """
    backend = backend or os.environ.get(BACKEND_ENV) or None
    if backend is None:
        if os.environ.get("DATABASE_URL"):
            backend = "external"
        elif find_local_bindir() is not None:
            backend = "local"
        else:
            backend = "pgserver"
    if backend == "external":
        url = os.environ.get("DATABASE_URL")
        if not url:
            raise PostgresError("backend 'external' needs DATABASE_URL")
        server = _start_external(url)
    elif backend == "local":
        bindir = find_local_bindir()
        if bindir is None:
            raise PostgresError("no PostgreSQL binaries (initdb, postgres) found on this machine")
        server = _start_cluster(bindir, "local", tie_to_parent=tie_to_parent)
    elif backend == "pgserver":
        server = _start_cluster(pgserver_bindir(), "pgserver", tie_to_parent=tie_to_parent)
    else:
        raise PostgresError(f"unknown backend {backend!r}; use external, local or pgserver")
    if tie_to_parent:
        _LIVE.append(server)
    return server


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
    suffix = uuid.uuid4().hex[:12]
    dbname = f"tap_acefone_{suffix}"
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.errors.InsufficientPrivilege:
            schema = f"tap_acefone_{suffix}"
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            _log(f"no CREATEDB privilege: using schema {schema} in {_redact(url)}")
            return PostgresServer(
                url=to_sqlalchemy_url(url),
                backend="external",
                admin_dsn=admin_dsn,
                created_schema=schema,
            )
    _log(f"using DATABASE_URL server, database {dbname}")
    return PostgresServer(
        url=to_sqlalchemy_url(_with_database(url, dbname)),
        backend="external",
        admin_dsn=admin_dsn,
        created_database=dbname,
    )


def _drop_external(server: PostgresServer) -> None:
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    assert server.admin_dsn is not None
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


# ------------------------------------------------------------------ local cluster


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_local_bindir() -> Path | None:
    """Directory holding this machine's ``initdb`` and ``postgres``, newest version first."""
    candidates: list[Path] = []
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
        candidates.append(Path(found).parent)
    patterns = ["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"]
    for pattern in patterns:
        found_dirs = sorted(glob.glob(pattern), key=_version_key, reverse=True)
        candidates.extend(Path(p) for p in found_dirs)
    for bindir in candidates:
        if all(os.access(bindir / exe, os.X_OK) for exe in ("initdb", "postgres")):
            return bindir
    return None


def pgserver_bindir() -> Path:
    """Binaries bundled in the ``pgserver`` wheel, installing it on demand.

    The package is located, not imported: importing it has side effects (and warnings).
    """
    spec = importlib.util.find_spec("pgserver")
    if spec is None:
        _log(f"installing pgserver into {sys.prefix} (no PostgreSQL binaries on this machine)")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "pgserver"],
            check=True,
        )
        importlib.invalidate_caches()
        spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("pgserver is not importable after installing it")
    bindir = Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall" / "bin"
    if not (bindir / "postgres").exists():
        raise PostgresError(f"pgserver has no bundled postgres in {bindir}")
    return bindir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account the server runs as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    names = [os.environ[USER_ENV]] if os.environ.get(USER_ENV) else ["postgres", "nobody"]
    for name in names:
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        if account.pw_uid != 0:
            return account
    raise PostgresError(
        f"running as root and none of {names} is an unprivileged account; "
        f"create one (useradd --system postgres) or set {USER_ENV}"
    )


def _traversable_by_all(path: Path) -> bool:
    for part in [path, *path.parents]:
        try:
            if not os.stat(part).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _make_base_dir(account: pwd.struct_passwd | None) -> Path:
    parent = Path(tempfile.gettempdir())
    if account is not None and not _traversable_by_all(parent):
        parent = Path("/tmp")
    _remove_stale_dirs(parent)
    base = Path(tempfile.mkdtemp(prefix=BASE_PREFIX, dir=parent))
    if account is not None:
        os.chown(base, account.pw_uid, account.pw_gid)
    return base


def _remove_stale_dirs(parent: Path) -> None:
    """Delete data dirs left by a killed process (no live postmaster, older than 10 min)."""
    for base in parent.glob(BASE_PREFIX + "*"):
        try:
            if time.time() - base.stat().st_mtime < STALE_AFTER_S:
                continue
            pid_file = base / "data" / "postmaster.pid"
            if pid_file.exists() and _pid_alive(int(pid_file.read_text().split()[0])):
                continue
        except (OSError, ValueError, IndexError):
            continue
        _log(f"removing stale {base}")
        shutil.rmtree(base, ignore_errors=True)


def _demote(account: pwd.struct_passwd | None) -> dict[str, Any]:
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _child_env(account: pwd.struct_passwd | None, base: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C",
        "LANG": "C",
        "TZ": "UTC",
        "HOME": str(base),
    }
    if account is not None:
        env["USER"] = env["LOGNAME"] = account.pw_name
    return env


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


def _check_binaries_usable(
    bindir: Path, account: pwd.struct_passwd | None, env: dict[str, str], base: Path
) -> Path:
    """Return a bindir the server account can execute, copying the install if needed."""
    probe = subprocess.run(
        [str(bindir / "postgres"), "--version"],
        capture_output=True,
        env=env,
        cwd=base,
        check=False,
        **_demote(account),
    )
    if probe.returncode == 0:
        return bindir
    if account is None:
        raise PostgresError(f"{bindir / 'postgres'} --version failed: {probe.stderr!r}")
    # e.g. a venv under /root that the postgres account cannot read: copy the install.
    install = bindir.parent
    copy = base / "pginstall"
    shutil.copytree(install, copy, symlinks=True)
    for root, dirs, files in os.walk(copy):
        for name in dirs + files:
            os.chmod(Path(root) / name, os.stat(Path(root) / name).st_mode | 0o055)
    return copy / "bin"


def _start_cluster(bindir: Path, backend: str, *, tie_to_parent: bool) -> PostgresServer:
    account = _run_as()
    base = _make_base_dir(account)
    try:
        return _init_and_start(bindir, backend, account, base, tie_to_parent=tie_to_parent)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def _init_and_start(
    bindir: Path,
    backend: str,
    account: pwd.struct_passwd | None,
    base: Path,
    *,
    tie_to_parent: bool,
) -> PostgresServer:
    env = _child_env(account, base)
    bindir = _check_binaries_usable(bindir, account, env, base)
    datadir = base / "data"
    log_file = base / "server.log"
    started = time.monotonic()
    initdb = subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=base,
        check=False,
        **_demote(account),
    )
    if initdb.returncode != 0:
        raise PostgresError(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}{initdb.stderr}")

    last_error = ""
    for _attempt in range(3):
        port = _free_port()
        with open(datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# tap-acefone throwaway server\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {port}\n"
                f"unix_socket_directories = '{datadir}'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "timezone = 'UTC'\n"
                "log_timezone = 'UTC'\n"
                "max_connections = 100\n"
                "shared_buffers = 64MB\n"
            )
        log = open(log_file, "ab")  # noqa: SIM115 - handed to the child
        if account is not None:
            os.chown(log_file, account.pw_uid, account.pw_gid)
        try:
            proc = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(datadir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=base,
                start_new_session=True,
                preexec_fn=parent_death_signal(signal.SIGQUIT) if tie_to_parent else None,  # noqa: PLW1509
                **_demote(account),
            )
        finally:
            log.close()
        server = PostgresServer(
            url=f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE_NAME}",
            backend=backend,
            datadir=str(datadir),
            pid=proc.pid,
            bindir=str(bindir),
            log_file=str(log_file),
            _proc=proc,
        )
        try:
            _wait_ready(proc, port, log_file)
        except PostgresError as exc:
            last_error = str(exc)
            _stop_process(server)
            if "already in use" in last_error or "could not bind" in last_error:
                continue  # lost the race for the free port; try another
            raise
        _create_database(port)
        who = f" as {account.pw_name}" if account else ""
        _log(
            f"{backend} PostgreSQL ({bindir}) on 127.0.0.1:{port}{who}, pid {proc.pid}, "
            f"ready in {time.monotonic() - started:.1f}s"
        )
        return server
    raise PostgresError(f"could not start PostgreSQL:\n{last_error}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log_file: Path) -> None:
    import psycopg  # noqa: PLC0415

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise PostgresError(
                f"postgres exited with {proc.returncode} during startup:\n{_tail(log_file)}"
            )
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", connect_timeout=2
            ):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PostgresError(
                    f"postgres not ready after {START_TIMEOUT_S:.0f}s:\n{_tail(log_file)}"
                ) from None
            time.sleep(0.1)


def _create_database(port: int) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(
        host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE_NAME}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone once reaped.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return waited == 0


def _wait_gone(proc: subprocess.Popen[bytes] | None, pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return True
        elif not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def _stop_process(server: PostgresServer) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL of the process group."""
    pid = server.pid
    if pid is None:
        return
    proc = server._proc
    for sig, timeout in (
        (signal.SIGINT, STOP_TIMEOUT_S),
        (signal.SIGQUIT, 10.0),
        (signal.SIGKILL, 10.0),
    ):
        if sig == signal.SIGKILL:
            # Each backend runs in its own session, so kill the postmaster's children by pid.
            for child in _children(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        if _wait_gone(proc, pid, timeout):
            break
    else:
        raise PostgresError(f"postgres pid {pid} did not stop")


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (Linux /proc)."""
    children = []
    for stat_file in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat_file).read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and int(fields[1]) == pid:
            children.append(int(Path(stat_file).parent.name))
    return children


@atexit.register
def _stop_all() -> None:
    """Stop servers the caller forgot to stop, so that no data dir outlives the process."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


# --------------------------------------------------------------------------- CLI


def _cmd_run(command: Sequence[str]) -> int:
    if not command:
        raise SystemExit("usage: postgres.py run -- COMMAND [ARGS...]")
    server = start_postgres()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        env = dict(os.environ)
        env["DATABASE_URL"] = server.url
        env["TARGET_POSTGRES_SQLALCHEMY_URL"] = server.url
        return subprocess.run(list(command), env=env, check=False).returncode
    except KeyboardInterrupt:
        _log("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _cmd_start(state_file: Path) -> int:
    server = start_postgres(tie_to_parent=False)
    try:
        state_file.write_text(json.dumps(server.state(), indent=2) + "\n", encoding="utf-8")
    except BaseException:
        server.stop()
        raise
    print(server.url)
    return 0


def _cmd_stop(state_file: Path) -> int:
    data = json.loads(state_file.read_text(encoding="utf-8"))
    fields = {f.name for f in dataclasses.fields(PostgresServer) if not f.name.startswith("_")}
    server = PostgresServer(**{k: v for k, v in data.items() if k in fields})
    server.stop()
    state_file.unlink(missing_ok=True)
    _log(f"stopped {server.backend} PostgreSQL")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start a server, run COMMAND with its URL, stop it")
    run.add_argument("argv", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    for name, help_text in (("start", "start a server and leave it running"), ("stop", "stop it")):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--state-file", type=Path, default=Path(".tmp/postgres.json"))
    args = parser.parse_args(argv)
    if args.command == "run":
        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        return _cmd_run(command)
    if args.command == "start":
        args.state_file.parent.mkdir(parents=True, exist_ok=True)
        return _cmd_start(args.state_file)
    return _cmd_stop(args.state_file)


if __name__ == "__main__":
    sys.exit(main())
