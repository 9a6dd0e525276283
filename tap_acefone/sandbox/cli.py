"""``acefone-sandbox`` / ``python -m tap_acefone.sandbox``: run the fake API from a shell.

Prints one "listening" line to stdout, serves until SIGINT/SIGTERM and exits 0. Bad flag
values give a one-line error naming the flag and exit 2 (no traceback).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .clock import parse_iso
from .config import (
    BOUNDS,
    DEFAULT_API_TOKEN,
    DEFAULT_LOGIN_EMAIL,
    DEFAULT_LOGIN_PASSWORD,
    FILTER_ON,
    GRANULARITIES,
    NUMBER_STYLES,
    ORDERS,
    PAST_END,
    RATE_LIMIT_KINDS,
    RATE_LIMIT_PERIODS,
    SLOW_PAGE_FAULTS,
    SORT_KEYS,
    VARIANT_FIELDS,
    SandboxConfig,
)
from .faults import Faults
from .sandbox import Sandbox

DEFAULT_PORT = 8417


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be <= 65535, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value < 0 or math.isnan(value):
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a probability between 0 and 1, got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _requests_per_second(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected requests per second, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _timezone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown IANA time zone {text!r}") from None
    return text


def _instant(text: str) -> Any:
    try:
        return parse_iso(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected an ISO-8601 instant with an offset, "
            f"e.g. 2026-03-10T12:00:00+00:00, got {text!r}"
        ) from None


def _login(text: str) -> tuple[str, str]:
    email, sep, password = text.partition(":")
    if not sep or not email or not password:
        raise argparse.ArgumentTypeError(
            f"expected EMAIL:PASSWORD, got {text.split(':', maxsplit=1)[0]!r}:…"
        )
    return email, password


def build_parser() -> argparse.ArgumentParser:
    """The CLI's flags; ``--help`` documents every knob."""
    p = _Parser(
        prog="acefone-sandbox",
        description="Run a local fake of the Acefone / Servetel / Smartflo REST API "
        "(GET /v1/call/records, /v1/users, /v1/departments, /v1/ivrs, /v1/my_number, /v1/auth/*) "
        "with deterministic data, a virtual clock (/_sandbox/clock) and fault injection.",
    )
    net = p.add_argument_group("server")
    net.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    net.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 = any free port)",
    )
    net.add_argument(
        "--port-file",
        metavar="PATH",
        help="write the base URL to PATH once listening (for scripts)",
    )
    data = p.add_argument_group("data")
    data.add_argument("--seed", type=_int, default=1, help="data seed (default 1)")
    data.add_argument(
        "--days",
        type=_positive_int,
        default=7,
        help="local days of history ending at --now (default 7)",
    )
    data.add_argument(
        "--calls-per-day",
        type=_non_negative_int,
        default=500,
        help="average calls per day (default 500)",
    )
    data.add_argument(
        "--future-days",
        type=_non_negative_int,
        default=2,
        help="days generated after --now, revealed by advancing the clock (default 2)",
    )
    data.add_argument(
        "--timezone",
        type=_timezone,
        default="Asia/Kolkata",
        help="account time zone (default Asia/Kolkata)",
    )
    data.add_argument(
        "--now",
        type=_instant,
        default=None,
        help="initial virtual clock, ISO-8601 with offset (default: current UTC second)",
    )
    api = p.add_argument_group("API behaviour")
    api.add_argument(
        "--order", choices=ORDERS, default="newest", help="record order (default newest)"
    )
    api.add_argument(
        "--page-size-max",
        type=_positive_int,
        default=100,
        help="larger `limit` values are clamped to this (default 100)",
    )
    api.add_argument(
        "--default-limit",
        type=_positive_int,
        default=20,
        help="page size when `limit` is absent (default 20)",
    )
    api.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        help="seconds added to every API response (default 0)",
    )
    api.add_argument(
        "--rate-limit",
        type=_requests_per_second,
        default=None,
        help="account-wide requests/second before 429 (default: unlimited)",
    )
    api.add_argument(
        "--no-retry-after", action="store_true", help="omit the Retry-After header on 429"
    )
    api.add_argument(
        "--token-lifetime",
        type=_positive_int,
        default=3600,
        help="login token lifetime in seconds (default 3600)",
    )
    api.add_argument(
        "--deny-path",
        action="append",
        metavar="PATH",
        help="answer 403 on this endpoint, as for a token lacking its permission (repeatable)",
    )
    api.add_argument(
        "--api-token",
        action="append",
        metavar="TOKEN",
        help=f"static API token (repeatable; default {DEFAULT_API_TOKEN})",
    )
    api.add_argument(
        "--login",
        action="append",
        type=_login,
        metavar="EMAIL:PASSWORD",
        help="login credentials (repeatable; default "
        f"{DEFAULT_LOGIN_EMAIL}:{DEFAULT_LOGIN_PASSWORD})",
    )
    _add_rate_limit_flags(p)
    _add_variant_flags(p)
    f = p.add_argument_group("faults (probabilities per /v1 request)")
    f.add_argument("--fault-429", type=_rate, default=0.0, help="429 Too Many Attempts")
    f.add_argument("--fault-5xx", type=_rate, default=0.0, help="502/503/504 HTML gateway page")
    f.add_argument(
        "--fault-truncated", type=_rate, default=0.0, help="200 with the JSON body cut short"
    )
    f.add_argument(
        "--fault-invalid-json", type=_rate, default=0.0, help="200 with an HTML (non-JSON) body"
    )
    f.add_argument(
        "--fault-success-false",
        type=_rate,
        default=0.0,
        help='200 with {"success":"false","message":"Too Many Attempts."}',
    )
    f.add_argument(
        "--fault-reset",
        type=_rate,
        default=0.0,
        help="drop the connection (TCP RST) without answering",
    )
    f.add_argument(
        "--fault-slow", type=_rate, default=0.0, help="delay the answer by --slow-seconds"
    )
    f.add_argument(
        "--slow-seconds", type=_seconds, default=5.0, help="delay for --fault-slow (default 5)"
    )
    f.add_argument("--fault-seed", type=_int, default=0, help="seed of the fault draws (default 0)")
    f.add_argument(
        "--fault-login",
        action="store_true",
        help="also inject faults on /v1/auth/login and /refresh",
    )
    out = p.add_argument_group("other")
    out.add_argument(
        "--export",
        metavar="PATH",
        help="write the ground truth at the initial clock as JSON lines to PATH and exit",
    )
    out.add_argument(
        "--log-requests",
        action="store_true",
        help="keep a log of every /v1 request (GET /_sandbox/requests, JSON lines)",
    )
    return p


def _add_rate_limit_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("rate limiting (with --rate-limit)")
    g.add_argument(
        "--rate-limit-kind",
        choices=RATE_LIMIT_KINDS,
        default="token_bucket",
        help="token_bucket (burst max(1, rate)), sliding_window (at most N in any sliding "
        "period, on arrival) or fixed_window (at most N per calendar period); "
        "N = round(rate x period) (default token_bucket)",
    )
    g.add_argument(
        "--rate-limit-period",
        choices=RATE_LIMIT_PERIODS,
        default="second",
        help="window of the two window kinds (default second)",
    )
    g.add_argument(
        "--arrival-jitter",
        type=_seconds,
        default=0.0,
        help="each /v1 request waits a seeded uniform [0, S] seconds before the limiter "
        "sees it (default 0)",
    )
    g.add_argument(
        "--rate-limit-headers",
        action="store_true",
        help="send Laravel's X-RateLimit-Limit/-Remaining (and -Reset on a limiter 429)",
    )


def _add_variant_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "API variants (undocumented behaviour; defaults are the sandbox's usual answers)"
    )
    g.add_argument("--from-bound", choices=BOUNDS, default="inclusive", help="from_date bound")
    g.add_argument("--to-bound", choices=BOUNDS, default="inclusive", help="to_date bound")
    g.add_argument(
        "--filter-on",
        choices=FILTER_ON,
        default="start",
        help="the dates select on the call's local start or its local end (default start)",
    )
    g.add_argument(
        "--bound-granularity",
        choices=GRANULARITIES,
        default="second",
        help="day = the time part of the dates is ignored, whole days inclusive (default second)",
    )
    g.add_argument(
        "--sort-key",
        choices=SORT_KEYS,
        default="second",
        help="newest/oldest sort on the local start second or on the local date only "
        "(default second)",
    )
    g.add_argument(
        "--unstable-ties",
        action="store_true",
        help="ties on the sort key come back in a new order on every request",
    )
    g.add_argument(
        "--variant-seed",
        type=_int,
        default=0,
        help="seed of unstable ties and arrival jitter (default 0)",
    )
    g.add_argument(
        "--number-style",
        choices=NUMBER_STYLES,
        default="int",
        help='count/limit/size/page as 531, "531" or 531.0 (default int)',
    )
    g.add_argument(
        "--users-number-style",
        choices=NUMBER_STYLES,
        default="int",
        help='/v1/users\' count and last_seen_id as 12, "12" or 12.0 (default int)',
    )
    g.add_argument("--omit-count", action="store_true", help="no count in the envelope")
    g.add_argument("--omit-limit", action="store_true", help="no limit in the envelope")
    g.add_argument(
        "--past-end",
        choices=PAST_END,
        default="empty",
        help="a page past the last one is empty or repeats the last page (default empty)",
    )
    g.add_argument(
        "--ignore-limit",
        action="store_true",
        help="serve --default-limit rows per page whatever `limit` asks",
    )
    g.add_argument(
        "--count-offset",
        type=_int,
        default=0,
        help="report count as the true count plus this (phantom rows; default 0)",
    )
    g.add_argument(
        "--burst-calls",
        type=_non_negative_int,
        default=0,
        help="every local day gets one burst of this many extra calls in one second",
    )
    g.add_argument(
        "--slow-page-above",
        type=_non_negative_int,
        default=None,
        help="a records page with an effective limit above this is slow or a 504",
    )
    g.add_argument(
        "--slow-page-fault",
        choices=SLOW_PAGE_FAULTS,
        default="timeout",
        help="timeout = answer after --slow-seconds, 504 = HTML gateway page (default timeout)",
    )
    g.add_argument(
        "--latency-per-record",
        type=_seconds,
        default=0.0,
        help="extra seconds per record on a records page (default 0)",
    )


EXCLUSIVE_FAULT_FLAGS = (
    "fault_429",
    "fault_5xx",
    "fault_truncated",
    "fault_invalid_json",
    "fault_success_false",
    "fault_reset",
)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Translate parsed flags into a :class:`SandboxConfig` (raises ValueError if invalid)."""
    if sum(getattr(args, name) for name in EXCLUSIVE_FAULT_FLAGS) > 1.0 + 1e-9:
        flags = ", ".join("--" + name.replace("_", "-") for name in EXCLUSIVE_FAULT_FLAGS)
        raise ValueError(f"arguments {flags}: these probabilities must sum to at most 1")
    faults = Faults(
        seed=args.fault_seed,
        rate_429=args.fault_429,
        rate_5xx=args.fault_5xx,
        rate_truncated_json=args.fault_truncated,
        rate_invalid_json=args.fault_invalid_json,
        rate_success_false=args.fault_success_false,
        rate_reset=args.fault_reset,
        rate_slow=args.fault_slow,
        slow_seconds=args.slow_seconds,
        apply_to_login=args.fault_login,
    )
    return SandboxConfig(
        seed=args.seed,
        days=args.days,
        calls_per_day=args.calls_per_day,
        future_days=args.future_days,
        timezone=args.timezone,
        now=args.now,
        host=args.host,
        port=args.port,
        page_size_max=args.page_size_max,
        default_limit=args.default_limit,
        order=args.order,
        latency=args.latency,
        rate_limit=args.rate_limit,
        retry_after=not args.no_retry_after,
        token_lifetime=args.token_lifetime,
        api_tokens=tuple(args.api_token or (DEFAULT_API_TOKEN,)),
        denied_paths=tuple(args.deny_path or ()),
        logins=dict(args.login or [(DEFAULT_LOGIN_EMAIL, DEFAULT_LOGIN_PASSWORD)]),
        faults=faults,
        **{name: getattr(args, name) for name in VARIANT_FIELDS},
    )


def _flag_names(message: str) -> str:
    """Config errors name fields; on the command line, name the flags instead."""
    return re.sub(
        r"\b(" + "|".join(sorted((*VARIANT_FIELDS, "rate_limit"), key=len, reverse=True)) + r")\b",
        lambda m: "--" + m.group(1).replace("_", "-"),
        message,
    )


def _write_atomically(path: str, text: str) -> None:
    """Scripts poll the port file: never let them read half of it."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=".port-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, target)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``acefone-sandbox``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(_flag_names(str(exc)))
    sandbox = Sandbox(config)
    if args.export:
        try:
            rows = sandbox.export_jsonl(args.export)
        except OSError as exc:
            parser.error(f"argument --export: cannot write {args.export!r}: {exc.strerror}")
        print(f"acefone-sandbox wrote {rows} records to {args.export}", flush=True)
        return 0

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sandbox.start()
    except OSError as exc:
        parser.error(
            f"argument --port: cannot listen on {config.host}:{config.port}: {exc.strerror}"
        )
    try:
        if args.port_file:
            _write_atomically(args.port_file, sandbox.url)
        print(
            f"acefone-sandbox listening on {sandbox.url} (timezone {config.timezone}, "
            f"{sandbox.history_calls()} calls over {config.days} days)",
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
