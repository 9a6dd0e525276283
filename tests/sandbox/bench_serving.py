"""Serving-speed benchmark: ``.venv/bin/python tests/sandbox/bench_serving.py``.

Runs the ``acefone-sandbox`` CLI in a subprocess (so server and client CPU can be told apart,
read from /proc) and pages through one busy local day over loopback with a keep-alive
``requests.Session``, the way the tap does: first cold (each record version is built and
JSON-encoded on first serve), then warm (pages are joined from cached bytes). Finally it
times the in-process page assembly alone, without HTTP. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import requests

from tap_acefone.sandbox import Sandbox, SandboxConfig
from tap_acefone.sandbox.query import parse_call_query

NOW = "2026-03-11T12:00:00+00:00"  # a Wednesday: full weekday volume the day before
WINDOW = {"from_date": "2026-03-10 00:00:00", "to_date": "2026-03-10 23:59:59"}
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _sweep(session: requests.Session, url: str, params: dict[str, str], pages: int) -> float:
    started = time.perf_counter()
    for page in range(1, pages + 1):
        response = session.get(url, params={**params, "page": str(page)}, timeout=300)
        response.raise_for_status()
        if not response.content.endswith(b"]}"):
            raise RuntimeError("short page")
    return time.perf_counter() - started


def _over_http(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "url"
        command = [
            sys.executable, "-m", "tap_acefone.sandbox", "--port", "0",
            "--port-file", str(port_file), "--days", "2", "--calls-per-day",
            str(args.calls_per_day), "--now", NOW, "--page-size-max", str(args.limit),
        ]  # fmt: skip
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            print(server.stdout.readline().strip())
            base = port_file.read_text().strip()
            with requests.Session() as session:
                session.headers["Authorization"] = "Bearer sandbox-static-token"
                url = f"{base}/v1/call/records"
                params = {**WINDOW, "limit": str(args.limit)}
                started = time.perf_counter()
                count = session.get(url, params=params, timeout=300).json()["count"]
                took = time.perf_counter() - started
                print(f"first request (generate the day, scan, count={count}): {took:.2f} s")
                pages = min(args.pages, count // args.limit)
                for label in ("cold (build + encode each record)", "warm (cached bytes)"):
                    cpu = _cpu_seconds(server.pid)
                    took = _sweep(session, url, params, pages)
                    cpu = _cpu_seconds(server.pid) - cpu
                    print(
                        f"{label}: {pages} pages x {args.limit} in {took:.2f} s = "
                        f"{pages / took:,.0f} pages/s, {1000 * took / pages:.2f} ms/page wall, "
                        f"server CPU {1000 * cpu / pages:.2f} ms/page"
                    )
        finally:
            server.terminate()
            server.wait(30)
            server.stdout.close()


def _in_process(args: argparse.Namespace) -> None:
    now = datetime.fromisoformat(NOW).astimezone(timezone.utc)
    sb = Sandbox(
        SandboxConfig(days=2, calls_per_day=args.calls_per_day, now=now, page_size_max=args.limit)
    )
    query = parse_call_query(
        "&".join(f"{k}={v}" for k, v in {**WINDOW, "limit": args.limit}.items()),
        now_local="2026-03-11 17:30:00",
        default_limit=20,
        page_size_max=args.limit,
    )
    now_ts = sb.clock.timestamp()
    pages = min(args.pages, len(sb.store.matches(query, now_ts)) // args.limit)
    for label in ("cold", "warm"):
        started = time.perf_counter()
        for page in range(1, pages + 1):
            sb.store.page(replace(query, page=page), now_ts)
        took = time.perf_counter() - started
        print(f"in-process page assembly (no HTTP), {label}: {1000 * took / pages:.3f} ms/page")


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print one line per result."""
    parser = argparse.ArgumentParser(prog="bench_serving.py")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--calls-per-day", type=int, default=100_000)
    args = parser.parse_args(argv)
    _over_http(args)
    _in_process(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
