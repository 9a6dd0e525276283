"""`make demo`: tap-acefone -> target-postgres -> dbt against the local sandbox, twice.

1. Start the Acefone sandbox (3 days of calls) and a throwaway PostgreSQL.
2. ``meltano run tap-acefone target-postgres dbt-postgres:build`` with a throwaway Meltano
   system database: load the calls, build and test the dbt marts (transform/), then print
   the headline numbers read from the marts.
3. Advance the sandbox clock (late calls arrive, earlier ones change), run again from
   Meltano's stored state, report what the second run re-read, added and updated, and the
   marts' numbers again.
4. Write the one-page HTML report (charts; opens offline) and print where it is.

Everything started here is stopped on exit, failure, Ctrl-C or SIGTERM. Exit status 0 only
if every step worked and the table matches the sandbox's ground truth.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.dbt_env import dbt_env
from scripts.harness import (
    REPO_ROOT,
    STATE_ID,
    SandboxProcess,
    emitted_record_count,
    history_window,
    iso,
    meltano_env,
    run_meltano,
)
from scripts.postgres import PostgresServer, redact, start_postgres
from scripts.report import headline_lines, percent, read_report, write_report

SCHEMA = "tap_acefone"
TABLE = f"{SCHEMA}.call_records"
MARTS = "analytics"
TZ = "Asia/Kolkata"
PIPELINE = ["run", "tap-acefone", "target-postgres", "dbt-postgres:build"]
DEFAULT_REPORT = REPO_ROOT / "output" / "acefone-report.html"
_DBT_DONE = re.compile(r"Done\. (PASS=\d+ WARN=\d+ ERROR=\d+ SKIP=\d+)")


def say(text: str = "") -> None:
    """Print a line of the demo's report right away."""
    print(text, flush=True)


def _count(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def snapshot(pg: PostgresServer) -> dict[str, tuple[Any, str]]:
    """Id -> (_sdc_batched_at, hash of the business columns)."""
    with pg.connect() as conn:
        rows = conn.execute(
            f"""
            SELECT id, _sdc_batched_at,
                   md5((to_jsonb(t) - ARRAY[
                        '_sdc_extracted_at', '_sdc_received_at', '_sdc_batched_at',
                        '_sdc_deleted_at', '_sdc_sequence', '_sdc_table_version',
                        '_sdc_sync_started_at'])::text)
            FROM {TABLE} t
            """
        ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def analytics(pg: PostgresServer) -> None:
    """Print the headline numbers and the days, read from the dbt marts."""
    with pg.connect() as conn:
        numbers = read_report(conn, MARTS)
    say(f"  from the dbt marts (schema {MARTS}, days and hours in {TZ}):")
    for line in headline_lines(numbers):
        say(f"    {line}")
    say("    per local day:")
    for day in numbers.days:
        say(
            f"      {day.day}  {day.offered:4d} inbound  {percent(day.answer_rate):>6} answered  "
            f"service level {percent(day.service_level):>6}"
        )


def dbt_summary(log: str) -> str:
    """The closing counts of dbt build (models and tests) in a meltano run log."""
    found = _DBT_DONE.findall(log)
    return found[-1] if found else "(no dbt summary in the log)"


def stored_bookmark(env: dict[str, str], log: Path) -> str:
    """The call_records bookmark in Meltano's stored state."""
    result = run_meltano(["state", "get", STATE_ID], env, log, timeout=120)
    if result.returncode != 0:
        return "(meltano state get failed)"
    for raw in reversed(result.log.strip().splitlines()):
        line = raw.strip()
        if line.startswith("{"):
            try:
                state = json.loads(line)
            except ValueError:
                continue
            bookmarks = state.get("singer_state", {}).get("bookmarks", {})
            book = bookmarks.get("call_records", {})
            return str(book.get("replication_key_value", book))
    return "(no state)"


def check_truth(pg: PostgresServer, sandbox: SandboxProcess) -> bool:
    """Compare the table's ids with the sandbox's ground truth; print and return the verdict."""
    truth = {row.id: row for row in sandbox.truth()}
    with pg.connect() as conn:
        ids = [r[0] for r in conn.execute(f"SELECT id FROM {TABLE}")]
    missing = set(truth) - set(ids)
    extra = set(ids) - set(truth)
    dupes = len(ids) - len(set(ids))
    ok = not missing and not extra and not dupes
    say(
        f"  vs sandbox truth: {len(truth)} CDRs visible, {len(ids)} rows; "
        f"missing {len(missing)}, unexpected {len(extra)}, duplicates {dupes} -> "
        + ("OK" if ok else "MISMATCH")
    )
    return ok


def first_run(pg: PostgresServer, env: dict[str, str], workdir: Path) -> None:
    """Run 1: the initial sync of the whole history, then every dbt model built and tested."""
    say(
        f"== run 1: meltano {' '.join(PIPELINE)} "
        f"({env['TAP_ACEFONE_START_DATE']} .. {env['TAP_ACEFONE_END_DATE']})"
    )
    result = run_meltano(PIPELINE, env, workdir / "run1.log")
    result.check()
    emitted = emitted_record_count(result.log)
    say(f"   done in {result.seconds:.1f}s; tap emitted {_count(emitted)} records (5 streams)")
    say(f"   dbt build (models and their tests): {dbt_summary(result.log)}")
    analytics(pg)
    say(f"   Meltano state bookmark: {stored_bookmark(env, workdir / 'state1.log')}")


def second_run(pg: PostgresServer, env: dict[str, str], workdir: Path) -> None:
    """Run 2: incremental, from Meltano's stored state; print what changed."""
    before = snapshot(pg)
    say("== run 2: same pipeline, from Meltano's stored state (fct_calls merges what changed)")
    result = run_meltano(PIPELINE, env, workdir / "run2.log")
    result.check()
    emitted = emitted_record_count(result.log)
    after = snapshot(pg)
    new = [i for i in after if i not in before]
    reread = [i for i in after if i in before and after[i][0] != before[i][0]]
    updated = [i for i in reread if after[i][1] != before[i][1]]
    untouched = len(after) - len(new) - len(reread)
    say(f"   done in {result.seconds:.1f}s; tap emitted {_count(emitted)} records (5 streams)")
    say(f"   rows re-read (re-loaded, _sdc_batched_at changed): {len(reread):5d}")
    say(f"     of which changed since run 1 (updated):          {len(updated):5d}")
    say(f"   new rows:                                          {len(new):5d}")
    say(f"   untouched rows:                                    {untouched:5d}")
    say(f"   dbt build (models and their tests): {dbt_summary(result.log)}")
    say(f"   Meltano state bookmark: {stored_bookmark(env, workdir / 'state2.log')}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The demo's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=3, help="days of sandbox history")
    parser.add_argument("--calls-per-day", type=int, default=600)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--advance-hours", type=float, default=3.0)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    parser.add_argument(
        "--report",
        type=Path,
        default=DEFAULT_REPORT,
        help=f"where to write the HTML report (default {DEFAULT_REPORT.relative_to(REPO_ROOT)})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 on success."""
    args = parse_args(argv)

    signal.signal(signal.SIGTERM, _raise_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="tap-acefone-demo-"))
    sandbox = SandboxProcess(
        workdir, seed=args.seed, days=args.days, calls_per_day=args.calls_per_day
    )
    pg: PostgresServer | None = None
    ok = False
    began = time.monotonic()
    try:
        say(f"== starting the sandbox ({args.days} days x {args.calls_per_day} calls/day)")
        sandbox.start()
        now = sandbox.now()
        say(f"   {sandbox.url}, virtual now {iso(now)}")
        say("== starting a throwaway PostgreSQL")
        pg = start_postgres()
        say(f"   {pg.backend}: {redact(pg.url)}")
        start_date, end_date = history_window(now, args.days)
        env = meltano_env(
            sandbox_url=sandbox.url,
            start_date=start_date,
            end_date=end_date,
            sqlalchemy_url=pg.url,
            meltano_db=workdir / "meltano.db",
            target_schema=SCHEMA,
        )
        env = dbt_env(
            env, postgres_url=pg.url, source_schema=SCHEMA, target_schema=MARTS, workdir=workdir
        )
        first_run(pg, env, workdir)
        ok = check_truth(pg, sandbox)

        later = sandbox.advance(args.advance_hours * 3600)
        say(f"== advanced the sandbox clock {args.advance_hours:g}h to {iso(later)}")
        env["TAP_ACEFONE_END_DATE"] = iso(later)
        second_run(pg, env, workdir)
        ok = check_truth(pg, sandbox) and ok
        analytics(pg)
        with pg.connect() as conn:
            page = write_report(read_report(conn, MARTS), args.report.resolve(), time_zone=TZ)
        say(f"== HTML report (charts, opens offline): {page}")
        say(f"   {page.as_uri()}")
        say(f"== demo {'OK' if ok else 'FAILED'} in {time.monotonic() - began:.0f}s")
    except KeyboardInterrupt:
        ok = False
        say("\n== interrupted")
    except Exception as exc:
        ok = False
        say(f"\n== demo FAILED: {exc}")
        if sandbox.log_path.exists():
            say(f"-- sandbox log tail:\n{sandbox.log_tail(15)}")
    finally:
        sandbox.stop()
        if pg is not None:
            pg.stop()
        if args.keep or not ok:
            say(f"   logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
