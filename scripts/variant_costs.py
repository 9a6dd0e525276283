"""What each undocumented API behaviour costs the tap, in requests, against the fewest possible.

Not a test (tests/test_api_variants.py proves exactness): for each variant the sandbox plays,
one sync of the same data, the requests it took (from the audit stream), and the fewest pages
any client would need for the calls served (one request per full page). Prints a markdown
table::

    .venv/bin/python scripts/variant_costs.py [--days 3] [--calls-per-day 300] [--page 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tap_acefone.sandbox import Sandbox, SandboxConfig
from tap_acefone.tap import TapAcefone

NOW = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
VARIANTS: dict[str, dict[str, Any]] = {
    "none (the sandbox's defaults)": {},
    "to_date exclusive": {"to_bound": "exclusive"},
    "both bounds exclusive": {"from_bound": "exclusive", "to_bound": "exclusive"},
    "filters on the end of calls": {"filter_on": "end"},
    "filters on the date only": {"bound_granularity": "day"},
    "same-second ties reordered per request": {"unstable_ties": True},
    "sorted by day, a day reordered per request": {"sort_key": "day", "unstable_ties": True},
    "a fresh order on every request": {"order": "shuffled", "unstable_ties": True},
    "no count": {"omit_count": True},
    "no count, a fresh order on every request": {
        "omit_count": True,
        "order": "shuffled",
        "unstable_ties": True,
    },
    "count as text": {"number_style": "string"},
    "a page past the end repeats the last": {"past_end": "repeat_last"},
    "limit ignored (20 rows a page)": {"ignore_limit": True},
    "date only, a day reordered per request": {
        "bound_granularity": "day",
        "sort_key": "day",
        "unstable_ties": True,
    },
}


def sync(knobs: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The audit rows of one sync of the variant's sandbox."""
    config = SandboxConfig(
        seed=7,
        days=args.days,
        calls_per_day=args.calls_per_day,
        now=NOW,
        page_size_max=args.page,
        **knobs,
    )
    with Sandbox(config) as sandbox:
        tap_config = {
            "api_url": sandbox.url,
            "api_token": "sandbox-static-token",
            "start_date": (NOW - timedelta(days=args.days)).isoformat(),
            "end_date": NOW.isoformat(),
            "requests_per_second": 1000,
            "window_hours": args.window_hours,
        }
        raw = io.BytesIO()
        out = io.TextIOWrapper(raw, encoding="utf-8")
        with contextlib.redirect_stdout(out):
            TapAcefone(config=tap_config).sync_all()
            out.flush()
    lines = raw.getvalue().decode().splitlines()
    messages = [json.loads(line) for line in lines if line.strip()]
    return [
        m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "sync_windows"
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--calls-per-day", type=int, default=300)
    parser.add_argument("--page", type=int, default=20, help="the sandbox's page_size_max")
    parser.add_argument("--window-hours", type=int, default=24)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    print(
        f"{args.days} days x {args.calls_per_day} calls, pages of {args.page}, "
        f"windows of {args.window_hours} h\n"
    )
    print("| API variant | requests | fewest pages | ratio | splits | passes | complete |")
    print("|---|---|---|---|---|---|---|")
    for name, knobs in VARIANTS.items():
        rows = sync(knobs, args)
        requests = sum(r["requests"] for r in rows)
        page = min(args.page, 20) if knobs.get("ignore_limit") else args.page
        fewest = sum(max(1, -(-r["distinct_served"] // page)) for r in rows)
        print(
            f"| {name} | {requests} | {fewest} | {requests / fewest:.2f}x "
            f"| {sum(r['splits'] for r in rows)} | {sum(r['passes'] for r in rows)} "
            f"| {all(r['complete'] for r in rows)} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
