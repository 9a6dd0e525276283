"""The :class:`Sandbox` facade: builds the account, serves it, exposes the ground truth."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import Any

from .auth import TokenStore
from .bounds import Bounds
from .calls import DayPlan, local_date_of
from .clock import Clock, as_utc
from .config import SandboxConfig, utc_now_second
from .envelope import Envelope
from .faults import FaultInjector, Faults
from .people import Team, build_team
from .realtime import RealTime, SystemTime
from .reqlog import RequestLog, RequestLogEntry
from .server import SandboxApp, SandboxHTTPServer
from .stats import Stats
from .store import CallStore
from .truth import TruthRow, iter_final, iter_visible, jsonl_line, to_row


class Sandbox:
    """A running fake Acefone account. Use as a context manager, or call start()/stop().

    The data exists as soon as the object is built (``truth()`` works before ``start()``);
    the HTTP server runs on a background daemon thread between ``start()`` and ``stop()``.

    ``realtime`` is what pace runs on: the rate limiter, arrival jitter, latency and slow
    answers (default: the machine's clocks). Pass a :class:`~.realtime.ManualTime` to drive
    it by hand: its waits return at once and advance it.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, realtime: RealTime | None = None
    ) -> None:
        cfg = self.config = config or SandboxConfig()
        self.initial_now = cfg.now or utc_now_second()
        self.clock = Clock(self.initial_now)
        self._stop = threading.Event()
        self.realtime: RealTime = realtime or SystemTime(self._stop)
        tz = cfg.tz
        self.team: Team = build_team(cfg.seed, cfg.calls_per_day)
        self.plan = DayPlan(cfg.seed, cfg.calls_per_day, tz, self.team, cfg.burst_calls)
        today = local_date_of(self.initial_now.timestamp(), tz)
        self.first_day = today - timedelta(days=cfg.days - 1)
        self.last_day = today + timedelta(days=cfg.future_days)
        self.store = CallStore(
            self.plan,
            self.first_day,
            self.last_day,
            order=cfg.order,
            bounds=Bounds(cfg.from_bound, cfg.to_bound, cfg.filter_on, cfg.bound_granularity),
            sort_key=cfg.sort_key,
            unstable_ties=cfg.unstable_ties,
            variant_seed=cfg.variant_seed,
            envelope=Envelope(
                number_style=cfg.number_style,
                omit_count=cfg.omit_count,
                omit_limit=cfg.omit_limit,
                count_offset=cfg.count_offset,
            ),
            past_end=cfg.past_end,
        )
        self.tokens = TokenStore(
            self.clock,
            static_tokens=self.config.api_tokens,
            logins=self.config.logins,
            lifetime=self.config.token_lifetime,
        )
        self.injector = FaultInjector(self.config.faults)
        self._stats = Stats()
        self._reqlog = RequestLog() if cfg.log_requests else None
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Bind the port and serve on a daemon thread (idempotent)."""
        if self._server is not None:
            return self
        self._stop.clear()
        app = SandboxApp(
            config=self.config,
            clock=self.clock,
            store=self.store,
            team=self.team,
            tokens=self.tokens,
            injector=self.injector,
            stats=self._stats,
            stop=self._stop,
            truth_lines=self._truth_lines,
            realtime=self.realtime,
            reqlog=self._reqlog,
        )
        self._server = SandboxHTTPServer((self.config.host, self.config.port), app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="acefone-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers, close every connection, free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stop.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (the sandbox must be started)."""
        if self._server is None:
            raise RuntimeError(
                "the sandbox is not running; call start() or use it as a context manager"
            )
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- runtime controls -------------------------------------------------------------
    def set_faults(self, faults: Faults) -> None:
        """Replace the fault configuration (and restart its seeded draw sequence)."""
        self.injector.configure(faults)

    def revoke_token(self, token: str) -> None:
        """Blacklist a static or login token: later calls get the 401 "blacklisted" body."""
        self.tokens.revoke(token)

    def stats(self) -> dict[str, Any]:
        """Counters of API requests (see ``docs/sandbox.md`` for the keys)."""
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters and clear the request log."""
        self._stats.reset()
        if self._reqlog is not None:
            self._reqlog.clear()

    def request_log(self) -> list[RequestLogEntry]:
        """Every /v1 request since the start or the last ``reset_stats()`` (``log_requests``)."""
        if self._reqlog is None:
            raise RuntimeError("the request log is off: build the sandbox with log_requests=True")
        return self._reqlog.entries()

    # -- ground truth -----------------------------------------------------------------
    def _at(self, at: datetime | None) -> float:
        return self.clock.timestamp() if at is None else as_utc(at).timestamp()

    def iter_truth(self, at: datetime | None = None) -> Iterator[TruthRow]:
        """Lazily, every CDR visible at ``at`` (default: the clock's now), latest version."""
        for _, call, data, version in iter_visible(self.store, self._at(at)):
            yield to_row(call, data, version)

    def truth(self, at: datetime | None = None) -> list[TruthRow]:
        """Every CDR visible at ``at`` (default: the clock's now), in true UTC start order."""
        return list(self.iter_truth(at))

    def all_calls(self) -> Iterator[TruthRow]:
        """Every call the generator made, visible or not yet, in its final version."""
        for _, call, data, version in iter_final(self.store):
            yield to_row(call, data, version)

    def _truth_lines(self, at_ts: float) -> Iterator[bytes]:
        for _, call, data, version in iter_visible(self.store, at_ts):
            yield jsonl_line(call, data, version)

    def export_jsonl(self, path: str | PathLike[str], at: datetime | None = None) -> int:
        """Write ``truth(at)`` as JSON lines (streamed: any size fits); return the row count."""
        count = 0
        with Path(path).open("wb") as fh:
            for line in self._truth_lines(self._at(at)):
                fh.write(line)
                count += 1
        return count

    def history_calls(self) -> int:
        """Calls that started at or before the initial ``now`` (the CLI banner's N)."""
        return self.store.calls_started_before(self.initial_now.timestamp())
