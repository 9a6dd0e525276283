"""`make bench`: what users feel, against the physical floor, on the local sandbox; one table.

Each row is measured side by side in the same run, against the strictest plausible API where
the API's behaviour decides (the sliding-window limiter, measured on arrival at the server):

a. budget       Budget use = pages needed / (rate x wall time from process start to exit), at
                1 s latency and rate = limit = 3 requests/s, once per limiter kind (token
                bucket, sliding window, fixed window). Pages needed are counted by the floor
                program on a latency-free twin of the same data. Target >= 95%, 0 x 429.
b. backfill     A 30-day backfill (page size 1000 allowed by the server, 1 s latency, sliding
                window 3/s): wall time from process start against its floor, pages / rate.
c. incremental  A busy account (20,000 calls a day) synced every 15 minutes: requests and
                seconds per run against the floor, the pages of (new calls + the lookback's)
                divided by the rate.
d. cpu          CPU cost: the tap writing Singer to /dev/null against the leanest possible
                client (``scripts/floor.py``: ``http.client`` keep-alive, ``json.loads``, one
                ``json.dumps`` per record), no latency, wall time from process start; the
                same floor on ``requests`` and each program's fixed start-up cost (a run over
                an empty range) are reported beside it. Target <= 1.5x.
e. e2e          ``meltano run tap-acefone target-postgres`` against target-postgres alone
                loading the same Singer messages from a file (defaults and shipped settings).
f. memory       Peak RSS of the tap (``wait4`` rusage) for backfills of 100k and 1M CDRs.

    .venv/bin/python scripts/bench.py                 # all rows, full sizes (~30 min)
    .venv/bin/python scripts/bench.py --quick         # small sizes, one repetition (~5 min)
    .venv/bin/python scripts/bench.py --only budget,cpu --reps 5 --json out.json

Exit status 0 whenever every measurement ran (a missed target is reported, not an error).
Rows d to f raise the tap's ``requests_per_second`` to its maximum (1000) so that client
pacing does not stand in for CPU cost; in row e that is the only setting changed from
meltano.yml (through a throwaway copy of the project file, which also points the free-tap
run at its own executable). Every other setting is the tap's default.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.harness import (
    REPO_ROOT,
    SANDBOX_TOKEN,
    SandboxProcess,
    iso,
    meltano_env,
    parent_death_signal,
    parse_instant,
    terminate_group,
    venv_bin,
)
from scripts.postgres import PostgresServer, redact, start_postgres, unique_schema_name

ROWS = ("budget", "backfill", "incremental", "cpu", "e2e", "memory")
LABELS = dict(zip(ROWS, "abcdef", strict=True))
LIMITER_KINDS = ("token_bucket", "sliding_window", "fixed_window")
TZ = "Asia/Kolkata"
# 23:59:59 in Asia/Kolkata: every sandbox day is a whole local day, read as whole UTC windows.
NOW = datetime(2026, 3, 12, 18, 29, 59, tzinfo=timezone.utc)
SEED = 1
# The largest page the sandbox serves. Row a uses 100 so that a budget run holds enough pages
# for the pace, not the process start, to decide it; everywhere else 1000, the most a public
# Smartflo client asks for and the tap's default page_size.
SMALL_PAGES = 100
LARGE_PAGES = 1000
RATE = 3  # requests/s: the server's limit and the tap's requests_per_second in rows a to c
FAST_RPS = 1000  # the setting's maximum
LOOKBACK_MINUTES = 120  # the tap's default
INCREMENTAL_EVERY = 15 * 60  # seconds of API time between two incremental runs
TAP_TIMEOUT = 3600.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Data volumes and repetitions of one bench mode."""

    budget_days: int
    budget_calls: int
    backfill_days: int
    backfill_calls: int
    incremental_calls: int
    incremental_runs: int
    cpu_days: int
    cpu_calls: int
    e2e_calls: int
    mem_small: tuple[int, int]  # (days, calls/day)
    mem_large: tuple[int, int]
    reps: int
    default_reps: int


FULL = Sizes(
    budget_days=3,
    budget_calls=18_000,  # ~600 pages of 100 -> ~200 s at 3 req/s, per limiter kind
    backfill_days=30,
    backfill_calls=5_000,  # ~160k CDRs, ~180 pages of 1000
    incremental_calls=20_000,
    incremental_runs=4,
    cpu_days=2,
    cpu_calls=100_000,  # ~220k CDRs (weekdays x1.1)
    e2e_calls=91_000,  # ~100k CDRs in one weekday
    mem_small=(1, 91_000),  # ~100k
    mem_large=(10, 100_000),  # ~1.0M
    reps=3,
    default_reps=1,
)
QUICK = Sizes(
    budget_days=1,
    budget_calls=3_000,
    backfill_days=30,
    backfill_calls=2_000,
    incremental_calls=20_000,
    incremental_runs=2,
    cpu_days=1,
    cpu_calls=20_000,
    e2e_calls=10_000,
    mem_small=(1, 9_100),
    mem_large=(10, 10_000),
    reps=1,
    default_reps=1,
)


def say(text: str = "") -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(text, file=sys.stderr, flush=True)


def history_range(days: int) -> tuple[str, str]:
    """(start, end) covering exactly the sandbox's ``days`` local days up to ``NOW``."""
    first_midnight = NOW + timedelta(seconds=1) - timedelta(days=days)
    return iso(first_midnight), iso(NOW)


# ------------------------------------------------------------------ measured processes


@dataclasses.dataclass
class Run:
    """One measured process: wall clock, its own CPU and peak RSS (wait4 rusage)."""

    what: str
    wall: float
    user: float
    system: float
    maxrss_mb: float
    returncode: int
    server_cpu: float = 0.0
    records: int | None = None
    pages: int | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def cpu(self) -> float:
        """User + system seconds of the process and its waited-for children."""
        return self.user + self.system

    def rate(self) -> float:
        """Records per wall second."""
        return (self.records or 0) / self.wall if self.wall else 0.0


def measure(
    what: str,
    cmd: Sequence[str],
    *,
    stdout: Path | None = None,
    stdin: Path | None = None,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = TAP_TIMEOUT,
) -> Run:
    """Run ``cmd`` to completion; wall time and the child's rusage from ``wait4``.

    stdout goes to ``stdout`` (default /dev/null), stderr to ``log``.
    """
    out = open(stdout, "wb") if stdout else open(os.devnull, "wb")  # noqa: SIM115
    inp = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115
    with open(log, "ab") as err:
        err.write(f"\n===== {what}: {' '.join(map(str, cmd))}\n".encode())
        err.flush()
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(map(str, cmd)),
            stdin=inp,
            stdout=out,
            stderr=err,
            env=env,
            cwd=cwd or REPO_ROOT,
            start_new_session=True,
            preexec_fn=parent_death_signal(signal.SIGTERM),  # noqa: PLW1509
        )
        timer = threading.Timer(timeout, lambda: terminate_group(proc, timeout=5))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            terminate_group(proc)
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # nothing of it may linger
    out.close()
    if stdin:
        inp.close()  # type: ignore[union-attr]
    return Run(
        what=what,
        wall=wall,
        user=usage.ru_utime,
        system=usage.ru_stime,
        maxrss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
    )


def checked(run: Run, log: Path) -> Run:
    """Raise with the log's tail unless the process exited 0."""
    if run.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"{run.what} exited with {run.returncode}; log {log}:\n{tail}")
    return run


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process so far (/proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ---------------------------------------------------------------------- the sandbox


class Sandbox(SandboxProcess):
    """``acefone-sandbox`` with the bench's fixed clock and its admin counters."""

    def __init__(
        self, workdir: Path, days: int, calls: int, *extra: str, pages: int = LARGE_PAGES
    ) -> None:
        super().__init__(
            workdir,
            seed=SEED,
            days=days,
            calls_per_day=calls,
            now=iso(NOW),
            tz=TZ,
            extra_args=["--page-size-max", str(pages), *extra],
        )
        self.start_date, self.end_date = history_range(days)

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._proc is not None
        return self._proc.pid


def strict_api(kind: str = "sliding_window") -> tuple[str, ...]:
    """Sandbox arguments: 1 s per page and an account limit of ``RATE`` requests/s."""
    return ("--latency", "1", "--rate-limit", str(RATE), "--rate-limit-kind", kind)


def last_state(singer: Path) -> dict[str, Any] | None:
    """The value of the last STATE message in a Singer file."""
    state = None
    with singer.open("rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"STATE"') or b'"type": "STATE"' in line[:40]:
                state = json.loads(line)["value"]
    return state


class Bench:
    """Everything one ``bench.py`` invocation starts, measures and reports."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.reps = args.reps or self.sizes.reps
        self.workdir = Path(tempfile.mkdtemp(prefix="tap-acefone-bench-"))
        self.log = self.workdir / "bench.log"
        self.results: dict[str, Any] = {}
        self.runs: list[Run] = []
        self._stack = contextlib.ExitStack()

    # -- helpers ----------------------------------------------------------------------
    def sandbox(
        self, name: str, days: int, calls: int, *extra: str, pages: int = LARGE_PAGES
    ) -> Sandbox:
        """Start a sandbox that is stopped when the bench ends (or earlier, by the caller)."""
        say(
            f"   sandbox {name}: {days} day(s) x {calls:,} calls/day, pages <= {pages} "
            f"{' '.join(extra)}".rstrip()
        )
        box = Sandbox(self.workdir / name, days, calls, *extra, pages=pages)
        self._stack.callback(box.stop)
        return box.start()

    def tap_config(self, box: Sandbox, name: str, **overrides: Any) -> Path:
        """A tap config file for ``box``'s whole history; every other setting the default."""
        config = {
            "api_url": box.url,
            "api_token": SANDBOX_TOKEN,
            "start_date": box.start_date,
            "end_date": box.end_date,
            "timezone": TZ,
            "requests_per_second": FAST_RPS,
            **overrides,
        }
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def catalog(self, config: Path) -> Path:
        """The discovered catalog with only ``call_records`` selected (what the floor reads)."""
        path = self.workdir / "catalog.json"
        if not path.exists():
            found = subprocess.run(
                [venv_bin("tap-acefone"), "--config", str(config), "--discover"],
                capture_output=True,
                check=True,
                cwd=REPO_ROOT,
            )
            catalog = json.loads(found.stdout)
            for stream in catalog["streams"]:
                for entry in stream.get("metadata", []):
                    if not entry.get("breadcrumb"):
                        entry["metadata"]["selected"] = stream["tap_stream_id"] == "call_records"
            path.write_text(json.dumps(catalog))
        return path

    def _served(self, run: Run, box: Sandbox, cpu_before: float) -> Run:
        stats = box.stats()
        run.server_cpu = proc_cpu(box.pid) - cpu_before
        run.pages = stats["pages_served"]
        run.records = stats["records_served"]
        run.extra["rate_limited_429"] = stats["rate_limited_429"]
        run.extra["rate_limited_by_cause"] = stats.get("rate_limited_by_cause", {})
        run.extra["max_in_flight"] = stats["max_in_flight"]
        run.extra["requests_total"] = stats["requests_total"]
        self.runs.append(run)
        return run

    def run_tap(
        self,
        box: Sandbox,
        config: Path,
        what: str,
        stdout: Path | None = None,
        state: Path | None = None,
    ) -> Run:
        """The tap's CLI against ``box`` (Singer to /dev/null unless ``stdout``)."""
        box.reset_stats()
        cpu_before = proc_cpu(box.pid)
        log = self.workdir / "tap.log"
        cmd = [venv_bin("tap-acefone"), "--config", config, "--catalog", self.catalog(config)]
        if state is not None:
            cmd += ["--state", state]
        run = checked(measure(what, cmd, stdout=stdout, log=log), log)
        run = self._served(run, box, cpu_before)
        say(
            f"   {what}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, "
            f"{run.extra['requests_total']} requests, {run.extra['rate_limited_429']} x 429, "
            f"{run.records:,} records, {run.rate():,.0f} rec/s, peak RSS {run.maxrss_mb:.0f} MB"
        )
        return run

    def run_floor(
        self,
        box: Sandbox,
        what: str,
        *,
        client: str = "http.client",
        start: str | None = None,
        end: str | None = None,
    ) -> Run:
        """``scripts/floor.py`` against ``box``, output to /dev/null."""
        box.reset_stats()
        cpu_before = proc_cpu(box.pid)
        log = self.workdir / "floor.log"
        cmd = [
            sys.executable,
            REPO_ROOT / "scripts" / "floor.py",
            "--url",
            box.url,
            "--start",
            start or box.start_date,
            "--end",
            end or box.end_date,
            "--timezone",
            TZ,
            "--page-size",
            str(LARGE_PAGES),
            "--client",
            client,
        ]
        run = self._served(checked(measure(what, cmd, log=log), log), box, cpu_before)
        say(
            f"   {what}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, {run.pages} pages, "
            f"{run.records:,} records, {run.rate():,.0f} rec/s, peak RSS {run.maxrss_mb:.0f} MB"
        )
        return run

    def pages_needed(self, name: str, days: int, calls: int, pages: int) -> Run:
        """The floor's pages on a latency-free, unlimited twin of a sandbox (same data)."""
        twin = self.sandbox(f"{name}-twin", days, calls, pages=pages)
        try:
            return self.run_floor(twin, f"floor on a latency-free twin of {name} (counts pages)")
        finally:
            twin.stop()

    # -- row a --------------------------------------------------------------------------
    def row_budget(self) -> None:
        """Budget use at rate = limit, 1 s latency, for each limiter kind."""
        s = self.sizes
        say(f"== row a: request budget (latency 1 s, limit {RATE}/s, tap {RATE}/s), per limiter")
        count = self.pages_needed("budget", s.budget_days, s.budget_calls, SMALL_PAGES)
        pages = count.pages or 0
        out: dict[str, Any] = {"floor_pages": pages, "records": count.records}
        for kind in LIMITER_KINDS:
            box = self.sandbox(
                f"budget-{kind}",
                s.budget_days,
                s.budget_calls,
                *strict_api(kind),
                pages=SMALL_PAGES,
            )
            config = self.tap_config(box, f"budget-{kind}", requests_per_second=RATE)
            run = self.run_tap(box, config, f"tap at {RATE} req/s, {kind}")
            box.stop()
            if (run.records or 0) < (count.records or 0):
                raise RuntimeError(f"{run.what}: {run.records} records < {count.records}")
            out[kind] = {
                "tap_wall_s": run.wall,
                "tap_requests": run.extra["requests_total"],
                "tap_pages_served": run.pages,
                "rate_limited_429": run.extra["rate_limited_429"],
                "rate_limited_by_cause": run.extra["rate_limited_by_cause"],
                "max_in_flight": run.extra["max_in_flight"],
                "floor_s": pages / RATE,
                "budget_use": pages / (RATE * run.wall),
            }
        self.results["budget"] = out

    # -- row b --------------------------------------------------------------------------
    def row_backfill(self) -> None:
        """A 30-day backfill against pages / rate, on the strictest limiter."""
        s = self.sizes
        say(f"== row b: {s.backfill_days}-day backfill (latency 1 s, sliding window {RATE}/s)")
        count = self.pages_needed("backfill", s.backfill_days, s.backfill_calls, LARGE_PAGES)
        box = self.sandbox("backfill", s.backfill_days, s.backfill_calls, *strict_api())
        config = self.tap_config(box, "backfill", requests_per_second=RATE)
        run = self.run_tap(box, config, f"tap backfill at {RATE} req/s")
        box.stop()
        pages = count.pages or 0
        self.results["backfill"] = {
            "days": s.backfill_days,
            "records": count.records,
            "floor_pages": pages,
            "floor_s": pages / RATE,
            "tap_wall_s": run.wall,
            "tap_requests": run.extra["requests_total"],
            "rate_limited_429": run.extra["rate_limited_429"],
            "records_per_request": (count.records or 0) / max(1, run.extra["requests_total"]),
            "ratio": run.wall / (pages / RATE) if pages else 0.0,
        }

    # -- row c --------------------------------------------------------------------------
    def row_incremental(self) -> None:
        """Runs every 15 minutes of API time on a busy account, each against its floor."""
        s = self.sizes
        say(
            f"== row c: incremental every {INCREMENTAL_EVERY // 60} min "
            f"({s.incremental_calls:,} calls/day, latency 1 s, sliding window {RATE}/s)"
        )
        box = self.sandbox("incremental", 1, s.incremental_calls, *strict_api())
        config = self.tap_config(box, "incr-0", requests_per_second=RATE)
        singer = self.workdir / "incremental.singer"
        first = self.run_tap(box, config, "first run (backfill of one day)", stdout=singer)
        runs: list[dict[str, Any]] = []
        for i in range(1, s.incremental_runs + 1):
            state = last_state(singer)
            if state is None:
                raise RuntimeError("the tap wrote no STATE")
            state_path = self.workdir / f"state-{i}.json"
            state_path.write_text(json.dumps(state))
            bookmark = parse_instant(state["bookmarks"]["call_records"]["replication_key_value"])
            end = box.advance(INCREMENTAL_EVERY)
            since = bookmark - timedelta(minutes=LOOKBACK_MINUTES)
            calls = sum(1 for row in box.truth() if since <= row.started_at <= end)
            config = self.tap_config(box, f"incr-{i}", requests_per_second=RATE, end_date=iso(end))
            run = self.run_tap(box, config, f"incremental run {i}", stdout=singer, state=state_path)
            floor_pages = max(1, math.ceil(calls / LARGE_PAGES))
            runs.append(
                {
                    "calls_in_range": calls,
                    "records": run.records,
                    "requests": run.extra["requests_total"],
                    "rate_limited_429": run.extra["rate_limited_429"],
                    "wall_s": run.wall,
                    "floor_pages": floor_pages,
                    "floor_s": floor_pages / RATE,
                }
            )
        box.stop()
        singer.unlink(missing_ok=True)
        self.results["incremental"] = {
            "first_run_wall_s": first.wall,
            "first_run_requests": first.extra["requests_total"],
            "runs": runs,
            "requests_median": statistics.median(r["requests"] for r in runs),
            "wall_median_s": statistics.median(r["wall_s"] for r in runs),
            "floor_pages_median": statistics.median(r["floor_pages"] for r in runs),
            "floor_s_median": statistics.median(r["floor_s"] for r in runs),
            "rate_limited_429": sum(r["rate_limited_429"] for r in runs),
        }

    # -- row d --------------------------------------------------------------------------
    def row_cpu(self) -> None:
        """Tap vs the leanest client, no latency, interleaved; start-up costs beside."""
        s = self.sizes
        say(f"== row d: CPU cost per record ({self.reps} interleaved round(s))")
        box = self.sandbox("cpu", s.cpu_days, s.cpu_calls)
        config = self.tap_config(box, "cpu")
        warm = self.run_floor(box, "floor (warming the server)")
        # The tap asks each window one second wider than the floor: the server builds and
        # caches the answer of each query once, so the tap warms it for its own queries too.
        self.run_tap(box, config, "tap (warming the server for its queries)")
        # A range holding no call: what each program costs before its first record.
        history_start = parse_instant(box.start_date)
        empty_start = iso(history_start - timedelta(minutes=2))
        empty_end = iso(history_start - timedelta(minutes=1))
        empty = self.tap_config(
            box, "cpu-empty", start_date=empty_start, end_date=empty_end, lookback_minutes=0
        )
        runs: dict[str, list[Run]] = {"tap": [], "floor": [], "requests": [], "tap0": [], "f0": []}
        steps = {
            "tap": lambda i: self.run_tap(box, config, f"tap #{i}"),
            "floor": lambda i: self.run_floor(box, f"floor #{i}"),
            "requests": lambda i: self.run_floor(box, f"floor on requests #{i}", client="requests"),
            "tap0": lambda i: self.run_tap(box, empty, f"tap, empty range #{i}"),
            "f0": lambda i: self.run_floor(
                box, f"floor, empty range #{i}", start=empty_start, end=empty_end
            ),
        }
        order = list(steps)
        for i in range(1, self.reps + 1):
            shift = (i - 1) % len(order)
            for name in order[shift:] + order[:shift]:
                runs[name].append(steps[name](i))
        box.stop()
        for run in runs["tap"]:
            if run.records != warm.records:
                raise RuntimeError(f"{run.what} read {run.records} records, floor {warm.records}")
        wall = {name: statistics.median(r.wall for r in group) for name, group in runs.items()}
        records = warm.records or 0
        self.results["cpu"] = {
            "records": records,
            "pages": warm.pages,
            **{f"{name}_wall_s": [round(r.wall, 3) for r in group] for name, group in runs.items()},
            **{f"{name}_cpu_s": [round(r.cpu, 3) for r in group] for name, group in runs.items()},
            "tap_max_in_flight": max(r.extra["max_in_flight"] for r in runs["tap"]),
            "tap_rss_mb": max(r.maxrss_mb for r in runs["tap"]),
            "tap_median_wall_s": wall["tap"],
            "floor_median_wall_s": wall["floor"],
            "requests_floor_median_wall_s": wall["requests"],
            "tap_startup_s": wall["tap0"],
            "floor_startup_s": wall["f0"],
            "tap_rec_s": records / wall["tap"],
            "floor_rec_s": records / wall["floor"],
            "tap_cpu_us_per_record": statistics.median(r.cpu for r in runs["tap"]) / records * 1e6,
            "floor_cpu_us_per_record": statistics.median(r.cpu for r in runs["floor"])
            / records
            * 1e6,
            "ratio": wall["tap"] / wall["floor"],
            "ratio_vs_requests": wall["tap"] / wall["requests"],
            "ratio_after_startup": (wall["tap"] - wall["tap0"]) / (wall["floor"] - wall["f0"]),
        }

    # -- row e --------------------------------------------------------------------------
    def meltano_project(self, name: str, rps: float, executable: Path | None = None) -> Path:
        """A copy of meltano.yml changing only the tap's requests_per_second (and executable)."""
        import yaml  # noqa: PLC0415  (Meltano's dependency, in the venv)

        project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
        extractor = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-acefone")
        extractor.setdefault("config", {})["requests_per_second"] = rps
        if executable is not None:
            extractor["executable"] = str(executable)
        root = self.workdir / f"meltano-{name}"
        root.mkdir(exist_ok=True)
        (root / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))
        return root

    def meltano_sys_dir(self) -> Path:
        """A private .meltano (catalog cache, run files) sharing the repo's installed plugins.

        Concurrent `meltano run`s of tests or demos in the repo would otherwise race on
        .meltano/run/tap-acefone/ (the discovered catalog).
        """
        sys_dir = self.workdir / "meltano-sys"
        if not sys_dir.exists():
            sys_dir.mkdir()
            for kind in ("extractors", "loaders"):
                (sys_dir / kind).symlink_to(REPO_ROOT / ".meltano" / kind)
        return sys_dir

    def row_e2e(self, pg: PostgresServer) -> None:
        """Meltano run vs target-postgres alone from a file (defaults and shipped settings)."""
        s = self.sizes
        say(f"== row e: end to end ({self.reps} interleaved pair(s), defaults x{s.default_reps})")
        box = self.sandbox("e2e", 1, s.e2e_calls)
        warm = self.run_floor(box, "floor (warming the server)")
        records = warm.records or 0
        singer = self.workdir / "e2e.singer"
        to_file = self.run_tap(box, self.tap_config(box, "e2e"), "tap -> Singer file", singer)
        e2e = EndToEnd(self, box, pg, singer)
        pipes: list[Run] = []
        alone: list[Run] = []
        free: list[Run] = []
        defaults: list[Run] = []
        for i in range(1, self.reps + 1):
            steps = [
                lambda i=i: pipes.append(e2e.pipeline(i)),
                lambda i=i: alone.append(e2e.target_alone("shipped", e2e.shipped, i)),
                lambda i=i: free.append(e2e.pipeline(i, free_tap=True)),
            ]
            shift = (i - 1) % len(steps)
            for step in steps[shift:] + steps[:shift]:
                step()
            if i <= s.default_reps:
                defaults.append(e2e.target_alone("defaults", {}, i))
        box.stop()
        for run in (*pipes, *alone, *free, *defaults):
            if run.records != records:
                raise RuntimeError(f"{run.what} loaded {run.records} rows, expected {records}")
        pipe_wall = statistics.median(r.wall for r in pipes)
        alone_wall = statistics.median(r.wall for r in alone)
        default_wall = statistics.median(r.wall for r in defaults)
        free_wall = statistics.median(r.wall for r in free)
        self.results["e2e"] = {
            "free_tap_wall_s": [round(r.wall, 2) for r in free],
            "free_tap_cpu_s": [round(r.cpu, 2) for r in free],
            "free_tap_rows_s": records / free_wall,
            "overhead_vs_free_tap": pipe_wall / free_wall,
            "free_tap_vs_alone": free_wall / alone_wall,
            "records": records,
            "shipped_loader_settings": e2e.shipped,
            "tap_to_file_s": to_file.wall,
            "tap_to_file_cpu_s": to_file.cpu,
            "singer_file_mb": singer.stat().st_size / 1e6,
            "pipeline_wall_s": [round(r.wall, 2) for r in pipes],
            "pipeline_cpu_s": [round(r.cpu, 2) for r in pipes],
            "pipeline_server_cpu_s": [round(r.server_cpu, 2) for r in pipes],
            "alone_shipped_wall_s": [round(r.wall, 2) for r in alone],
            "alone_shipped_cpu_s": [round(r.cpu, 2) for r in alone],
            "alone_defaults_wall_s": [round(r.wall, 2) for r in defaults],
            "alone_defaults_cpu_s": [round(r.cpu, 2) for r in defaults],
            "pipeline_rows_s": records / pipe_wall,
            "alone_shipped_rows_s": records / alone_wall,
            "alone_defaults_rows_s": records / default_wall,
            "speedup_vs_defaults": default_wall / pipe_wall,
            "overhead_vs_alone": pipe_wall / alone_wall,
        }
        singer.unlink(missing_ok=True)

    # -- row f --------------------------------------------------------------------------
    def row_memory(self) -> None:
        """Peak RSS of the tap for a small and a 10x larger backfill."""
        say("== row f: memory (peak RSS of the tap process)")
        out: dict[str, Any] = {}
        for label, (days, calls) in (
            ("small", self.sizes.mem_small),
            ("large", self.sizes.mem_large),
        ):
            box = self.sandbox(f"mem-{label}", days, calls)
            run = self.run_tap(box, self.tap_config(box, f"mem-{label}"), f"tap backfill ({label})")
            box.stop()
            out[label] = {
                "records": run.records,
                "rss_mb": run.maxrss_mb,
                "wall_s": run.wall,
                "cpu_s": run.cpu,
                "rec_s": run.rate(),
            }
        out["growth"] = out["large"]["rss_mb"] / out["small"]["rss_mb"] - 1
        self.results["memory"] = out

    # -- the whole thing ----------------------------------------------------------------
    def run(self) -> int:
        """Run the selected rows; print the table; 0 unless a measurement failed."""
        only = self.args.only
        failed = False
        mode = "quick" if self.args.quick else "full"
        say(f"== tap-acefone bench ({mode}); work dir {self.workdir}")
        self.results["machine"] = machine_facts()
        try:
            with self._stack:
                for row in ROWS:
                    if row not in only:
                        continue
                    try:
                        if row == "e2e":
                            pg = start_postgres()
                            try:
                                say(f"   PostgreSQL ({pg.backend}) at {redact(pg.url)}")
                                self.results["machine"]["postgres"] = server_version(pg)
                                self.row_e2e(pg)
                            finally:
                                pg.stop()
                        else:
                            getattr(self, f"row_{row}")()
                    except (RuntimeError, OSError, ValueError, KeyError) as exc:
                        failed = True
                        self.results[row] = {"error": str(exc)}
                        say(f"!! row {row} failed: {exc}")
        except KeyboardInterrupt:
            say("\n== interrupted")
            return 130
        table, missed = render(self.results, self.args.quick)
        print(table)
        if missed:
            print("\nMissed targets: " + "; ".join(missed))
        else:
            print("\nAll targets met.")
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(self.results, indent=2, default=str))
            say(f"   results written to {self.args.json}")
        if self.args.keep or failed:
            say(f"   logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return 1 if failed else 0


class EndToEnd:
    """Row 3's two kinds of run: the Meltano pipeline, and target-postgres alone."""

    def __init__(self, bench: Bench, box: Sandbox, pg: PostgresServer, singer: Path) -> None:
        self.bench = bench
        self.box = box
        self.pg = pg
        self.singer = singer
        self.root = bench.meltano_project("project", FAST_RPS)
        self.free_root = bench.meltano_project("free-tap", FAST_RPS, self._cat_tap())
        self.sys_dir = bench.meltano_sys_dir()
        self.meltano_db = bench.workdir / "meltano.db"
        self.target = str(REPO_ROOT / ".meltano/loaders/target-postgres/venv/bin/target-postgres")
        self.shipped = self._shipped_loader_settings()

    def _cat_tap(self) -> Path:
        """A tap that costs nothing: discovery by the real tap, then `cat` of its output."""
        tap = REPO_ROOT / ".meltano/extractors/tap-acefone/venv/bin/tap-acefone"
        script = self.bench.workdir / "tap-is-cat.sh"
        script.write_text(
            "#!/bin/sh\n"
            f'for arg in "$@"; do [ "$arg" = --discover ] && exec "{tap}" "$@"; done\n'
            f'exec cat "{self.singer}"\n'
        )
        script.chmod(0o755)
        return script

    def env(self, schema: str, root: Path | None = None) -> dict[str, str]:
        """Hermetic Meltano environment on the throwaway project copy."""
        env = meltano_env(
            sandbox_url=self.box.url,
            start_date=self.box.start_date,
            end_date=self.box.end_date,
            sqlalchemy_url=self.pg.url,
            meltano_db=self.meltano_db,
            target_schema=schema,
            extra={
                "MELTANO_PROJECT_ROOT": str(root or self.root),
                "MELTANO_SYS_DIR_ROOT": str(self.sys_dir),
                "TAP_ACEFONE_TIMEZONE": TZ,
            },
        )
        env.pop("PYTHONUNBUFFERED", None)
        return env

    def _shipped_loader_settings(self) -> dict[str, Any]:
        """The loader config exactly as `meltano run` hands it to target-postgres."""
        dump = subprocess.run(
            [venv_bin("meltano"), "invoke", "--dump=config", "target-postgres"],
            env=self.env("unused"),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if dump.returncode != 0:
            raise RuntimeError(f"meltano invoke --dump=config failed:\n{dump.stderr[-3000:]}")
        config = json.loads(dump.stdout)
        return {
            k: v for k, v in config.items() if k not in ("sqlalchemy_url", "default_target_schema")
        }

    def target_alone(self, kind: str, settings: dict[str, Any], i: int) -> Run:
        """target-postgres reading the tap's Singer file into a fresh schema."""
        schema = unique_schema_name(f"bench_{kind}")
        config = {**settings, "sqlalchemy_url": self.pg.url, "default_target_schema": schema}
        path = self.bench.workdir / f"target-{kind}.json"
        path.write_text(json.dumps(config))
        checkpoint(self.pg)
        log = self.bench.workdir / "target.log"
        what = f"target-postgres alone, {kind} #{i}"
        run = checked(
            measure(what, [self.target, "--config", path], stdin=self.singer, log=log), log
        )
        run.records = loaded_rows(self.pg, schema)
        self.bench.runs.append(run)
        say(
            f"   {run.what}: {run.wall:.2f} s, {run.records:,} rows, {run.rate():,.0f} rows/s, "
            f"CPU {run.cpu:.1f} s, peak RSS {run.maxrss_mb:.0f} MB"
        )
        return run

    def pipeline(self, i: int, *, free_tap: bool = False) -> Run:
        """`meltano run tap-acefone target-postgres` into a fresh schema, without state.

        With ``free_tap`` the tap is replaced by `cat` of its recorded output: what Meltano
        and the target need when the tap costs nothing.
        """
        schema = unique_schema_name("bench_meltano")
        what = f"meltano run, tap replaced by cat #{i}" if free_tap else f"meltano run #{i}"
        root = self.free_root if free_tap else self.root
        checkpoint(self.pg)
        cpu_before = proc_cpu(self.box.pid)
        log = self.bench.workdir / "meltano.log"
        cmd = [
            venv_bin("meltano"),
            "run",
            "--no-install",
            "--full-refresh",
            "--force",
            "tap-acefone",
            "target-postgres",
        ]
        run = checked(measure(what, cmd, env=self.env(schema, root), log=log), log)
        run.server_cpu = proc_cpu(self.box.pid) - cpu_before
        run.records = loaded_rows(self.pg, schema)
        self.bench.runs.append(run)
        say(
            f"   {run.what}: {run.wall:.2f} s, {run.records:,} rows, {run.rate():,.0f} rows/s, "
            f"CPU (meltano + tap + target) {run.cpu:.1f} s"
        )
        return run


def checkpoint(pg: PostgresServer) -> None:
    """Flush PostgreSQL's dirty buffers so one run's writes do not bill the next."""
    with contextlib.suppress(Exception), pg.connect() as conn:
        conn.execute("CHECKPOINT")


def loaded_rows(pg: PostgresServer, schema: str) -> int:
    """Rows in ``schema.call_records``; the schema is dropped afterwards."""
    with pg.connect() as conn:
        row = conn.execute(f'SELECT count(*) FROM "{schema}".call_records').fetchone()
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return int(row[0]) if row else 0


def server_version(pg: PostgresServer) -> str:
    """``SHOW server_version``."""
    with pg.connect() as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def machine_facts() -> dict[str, Any]:
    """nproc, CPU model, RAM, Python, key package versions, git revision."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_gib = 0.0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
    from importlib import metadata  # noqa: PLC0415

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    rev = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(ram_gib, 1),
        "python": platform.python_version(),
        "singer_sdk": version("singer-sdk"),
        "requests": version("requests"),
        "msgspec": version("msgspec"),
        "target_postgres": "0.8.1",
        "git": rev,
        "command": "scripts/bench.py " + " ".join(sys.argv[1:]),
        "loadavg_at_start": os.getloadavg(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


# ------------------------------------------------------------------------- the table


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def render(results: dict[str, Any], quick: bool) -> tuple[str, list[str]]:
    """The one table (markdown), and the targets that were missed."""
    rows: list[tuple[str, str, str, str, str, str]] = []
    missed: list[str] = []

    def add(row: str, tap: str, ref: str, ratio: str, target: str, *, ok: bool | None) -> None:
        verdict = "n/a" if ok is None else _verdict(ok)
        rows.append((row, tap, ref, ratio, target, verdict))
        if ok is False:
            missed.append(f"{row}: {ratio} (target {target})")

    def failed(name: str, title: str, target: str) -> bool:
        entry = results.get(name)
        if entry and "error" in entry:
            add(f"{LABELS[name]}. {title}", "error", entry["error"][:60], "-", target, ok=False)
            return True
        return not entry

    if not failed("budget", "Budget use", ">= 95%, 0 x 429"):
        budget = results["budget"]
        for kind in LIMITER_KINDS:
            run = budget[kind]
            add(
                f"a. Budget use, {kind.replace('_', ' ')} ({budget['floor_pages']} pages, "
                f"1 s latency, rate = limit = {RATE}/s)",
                f"{run['tap_wall_s']:.1f} s, {run['tap_requests']} requests, "
                f"{run['rate_limited_429']} x 429",
                f"pages / rate = {run['floor_s']:.1f} s",
                f"{run['budget_use']:.1%}",
                ">= 95%, 0 x 429",
                ok=run["budget_use"] >= 0.95 and run["rate_limited_429"] == 0,
            )

    if not failed("backfill", "Backfill", "-"):
        b = results["backfill"]
        add(
            f"b. {b['days']}-day backfill ({b['records']:,} CDRs, sliding window {RATE}/s, "
            "1 s latency)",
            f"{b['tap_wall_s']:.1f} s, {b['tap_requests']} requests "
            f"({b['records_per_request']:,.0f} records each), {b['rate_limited_429']} x 429",
            f"{b['floor_pages']} pages / rate = {b['floor_s']:.1f} s",
            f"{b['ratio']:.2f}x the floor",
            "-",
            ok=None,
        )

    if not failed("incremental", "Incremental runs", "0 x 429"):
        c = results["incremental"]
        add(
            f"c. Incremental every {INCREMENTAL_EVERY // 60} min, 20,000 calls/day "
            f"({len(c['runs'])} runs, medians)",
            f"{c['requests_median']:g} requests, {c['wall_median_s']:.1f} s a run, "
            f"{c['rate_limited_429']} x 429",
            f"{c['floor_pages_median']:g} pages (new + lookback) / rate = "
            f"{c['floor_s_median']:.1f} s",
            f"{c['requests_median'] / c['floor_pages_median']:.1f}x the requests",
            "0 x 429",
            ok=c["rate_limited_429"] == 0,
        )

    if not failed("cpu", "CPU cost", "<= 1.5x"):
        cpu = results["cpu"]
        add(
            f"d. CPU cost ({cpu['records']:,} CDRs, no latency, wall from process start)",
            f"{cpu['tap_rec_s']:,.0f} rec/s ({cpu['tap_median_wall_s']:.1f} s, of which "
            f"{cpu['tap_startup_s']:.1f} s start-up; {cpu['tap_cpu_us_per_record']:.0f} µs "
            "CPU/rec)",
            f"http.client floor {cpu['floor_rec_s']:,.0f} rec/s "
            f"({cpu['floor_median_wall_s']:.1f} s, {cpu['floor_startup_s']:.2f} s start-up; "
            f"{cpu['floor_cpu_us_per_record']:.0f} µs CPU/rec); on requests "
            f"{cpu['requests_floor_median_wall_s']:.1f} s",
            f"{cpu['ratio']:.2f}x ({cpu['ratio_vs_requests']:.2f}x vs requests, "
            f"{cpu['ratio_after_startup']:.2f}x after start-up)",
            "<= 1.5x",
            ok=cpu["ratio"] <= 1.5,
        )

    e2e = results.get("e2e")
    if e2e and "error" not in e2e:
        add(
            f"e1. End to end vs target defaults ({e2e['records']:,} CDRs)",
            f"meltano run {e2e['pipeline_rows_s']:,.0f} rows/s "
            f"({statistics.median(e2e['pipeline_wall_s']):.1f} s)",
            f"target alone, defaults {e2e['alone_defaults_rows_s']:,.0f} rows/s "
            f"({statistics.median(e2e['alone_defaults_wall_s']):.1f} s)",
            f"{e2e['speedup_vs_defaults']:.2f}x",
            ">= 3x",
            ok=e2e["speedup_vs_defaults"] >= 3,
        )
        add(
            "e2. What the tap adds to the load",
            f"meltano run {statistics.median(e2e['pipeline_wall_s']):.1f} s",
            f"target alone, shipped settings {e2e['alone_shipped_rows_s']:,.0f} rows/s "
            f"({statistics.median(e2e['alone_shipped_wall_s']):.1f} s)",
            f"+{e2e['overhead_vs_alone'] - 1:.0%}",
            "<= +20%",
            ok=e2e["overhead_vs_alone"] <= 1.2,
        )
        add(
            "e3. (reference) Meltano with a free tap: `cat` of the tap's output",
            f"meltano run {statistics.median(e2e['pipeline_wall_s']):.1f} s",
            f"free tap {e2e['free_tap_rows_s']:,.0f} rows/s "
            f"({statistics.median(e2e['free_tap_wall_s']):.1f} s = target alone "
            f"+{e2e['free_tap_vs_alone'] - 1:.0%})",
            f"tap's own share +{e2e['overhead_vs_free_tap'] - 1:.0%}",
            "-",
            ok=None,
        )
    elif e2e:
        add("e. End to end", "error", e2e["error"][:60], "-", ">= 3x, <= +20%", ok=False)

    if not failed("memory", "Memory", "< 200 MB, < +20%"):
        mem = results["memory"]
        small, large = mem["small"], mem["large"]
        peak = max(small["rss_mb"], large["rss_mb"])
        add(
            f"f. Peak RSS ({small['records']:,} -> {large['records']:,} CDRs)",
            f"{small['rss_mb']:.0f} MB -> {large['rss_mb']:.0f} MB",
            "-",
            f"growth {mem['growth']:+.1%}",
            "< 200 MB, < +20%",
            ok=peak < 200 and mem["growth"] < 0.2,
        )

    head = ("Row", "Tap", "Floor / reference", "Ratio", "Target", "Result")
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    m = results.get("machine", {})
    lines.append("")
    lines.append(
        f"Machine: {m.get('nproc')} CPUs ({m.get('cpu_model')}), {m.get('ram_gib')} GiB RAM, "
        f"Python {m.get('python')}, singer-sdk {m.get('singer_sdk')}, "
        f"target-postgres {m.get('target_postgres')}, PostgreSQL {m.get('postgres', 'n/a')}; "
        f"git {m.get('git')}; {m.get('date')}; `{m.get('command')}`"
        + ("; QUICK sizes (not the targets' sizes)" if quick else "")
    )
    return "\n".join(lines), missed


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The bench's options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small data, one repetition")
    p.add_argument(
        "--only",
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        default=list(ROWS),
        help=f"comma-separated rows to run, of {','.join(ROWS)} (default all)",
    )
    p.add_argument("--reps", type=int, default=0, help="interleaved rounds of rows d and e")
    p.add_argument("--json", help="also write every measurement to this JSON file")
    p.add_argument("--keep", action="store_true", help="keep the work dir (configs, logs)")
    args = p.parse_args(argv)
    unknown = set(args.only) - set(ROWS)
    if unknown:
        p.error(f"unknown row(s) {', '.join(sorted(unknown))}; use {', '.join(ROWS)}")
    return args


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return Bench(parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
