"""The HTTP side: routing, auth, rate limiting, fault injection and the admin endpoints.

Built on ``http.server.ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive. Every
response is written in a single ``sendall`` with an exact ``Content-Length`` (TCP_NODELAY is
also set), so loopback clients never hit Nagle/delayed-ACK stalls.

Status codes and bodies follow the API notes §2: unknown paths get API Gateway's 403
``Missing Authentication Token``, throttling gets 429 with ``"success": "false"`` (a string),
gateway faults are HTML pages.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import socket
import struct
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any
from urllib.parse import parse_qsl

from typing_extensions import override

from . import reference
from .auth import TokenStore, bearer_token
from .calls import local_string
from .clock import Clock, parse_iso
from .config import VARIANT_FIELDS, SandboxConfig
from .faults import FaultDecision, FaultInjector, Faults
from .people import Team
from .query import LimitTooLargeError, QueryError, parse_call_query, parse_params
from .ratelimit import Verdict, build_limiter, reset_header, retry_after_header
from .realtime import RealTime
from .reqlog import PageFacts, RequestLog
from .stats import Stats
from .store import CallStore

# The kernel's receive timestamp of a socket's data (Linux: 35 where Python does not name it).
SO_TIMESTAMPNS: int | None = getattr(
    socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None
)
_TIMESTAMP_SPACE = socket.CMSG_SPACE(16)

JSON = "application/json"
NDJSON = "application/x-ndjson"
HTML = "text/html"
MISSING_TOKEN = b'{"message":"Missing Authentication Token"}'
TOO_MANY = b'{"success":"false","message":"Too Many Attempts."}'
# What a token without Access Control permission for an endpoint gets (notes §2).
FORBIDDEN = {"success": False, "message": "You do not have permission to access this API."}
GATEWAY_PAGE = (
    "<html><head><title>{code} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {phrase}</h1></center>\r\n</body>\r\n</html>\r\n"
)
MAINTENANCE_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    b"<title>Service Unavailable</title>"
    b"</head>\n<body><h1>We&#39;ll be back soon.</h1><p>Our servers are busy. Please try again.</p>"
    b"</body></html>\n"
)
LOGIN_PATHS = ("/v1/auth/login", "/v1/auth/refresh")
MAX_BODY = 1 << 20
SPOOL_BYTES = 32 << 20


@dataclass
class Request:
    """What the app needs from an HTTP request (``arrived_at`` is set at the limiter)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float | None = None
    # When the kernel received the request's first byte (epoch seconds), where it says.
    received_wall: float | None = None
    _params: dict[str, list[str]] | None = None

    def params(self) -> dict[str, list[str]]:
        """The query string, parsed once."""
        if self._params is None:
            self._params = parse_params(self.query)
        return self._params


@dataclass
class Response:
    """A complete response.

    ``stream`` (with ``length``) replaces ``body`` for big payloads; ``reset`` means "drop the
    connection without answering".
    """

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: IO[bytes] | None = None
    length: int = 0
    reset: bool = False
    page: PageFacts | None = None  # what a records page served, for the request log


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    """Encode ``payload`` compactly, like the PHP backend."""
    return Response(
        status, json.dumps(payload, separators=(",", ":")).encode(), JSON, headers or []
    )


class SandboxApp:
    """Everything behind the socket: one :meth:`handle` call per request."""

    def __init__(
        self,
        *,
        config: SandboxConfig,
        clock: Clock,
        store: CallStore,
        team: Team,
        tokens: TokenStore,
        injector: FaultInjector,
        stats: Stats,
        stop: threading.Event,
        truth_lines: Callable[[float], Iterator[bytes]],
        realtime: RealTime,
        reqlog: RequestLog | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.team = team
        self.tokens = tokens
        self.injector = injector
        self.stats = stats
        self.stop = stop
        self.truth_lines = truth_lines
        self.realtime = realtime
        self.reqlog = reqlog
        # Monotonic + this = epoch seconds (captured once: calendar windows and Reset).
        self.epoch_offset = realtime.time() - realtime.monotonic()
        self.limiter = None
        if config.rate_limit:
            n, period = config.rate_limit_window
            self.limiter = build_limiter(
                config.rate_limit_kind,
                config.rate_limit,
                n=n,
                period=period,
                epoch_offset=self.epoch_offset,
            )
        self._arrival_lock = threading.Lock()
        self._jitter_lock = threading.Lock()
        self._jitter = (
            random.Random(f"acefone-sandbox:{config.variant_seed}:jitter")
            if config.arrival_jitter
            else None
        )
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/v1/call/records"): self.call_records,
            ("GET", "/v1/users"): self.users,
            ("GET", "/v1/departments"): self.departments,
            ("GET", "/v1/ivrs"): self.ivrs,
            ("GET", "/v1/my_number"): self.my_number,
            ("POST", "/v1/auth/login"): self.login,
            ("POST", "/v1/auth/refresh"): self.refresh,
        }
        self._static_json = {
            "departments": json.dumps(reference.departments(team), separators=(",", ":")).encode(),
            "ivrs": json.dumps(reference.ivrs(team), separators=(",", ":")).encode(),
            "my_number": json.dumps(reference.my_numbers(team), separators=(",", ":")).encode(),
        }

    # -- dispatch ---------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        """Route one request; admin paths bypass auth, faults, latency and counters."""
        if req.path == "/_sandbox" or req.path.startswith("/_sandbox/"):
            return self.admin(req)
        route = self.routes.get(("GET" if req.method == "HEAD" else req.method, req.path))
        with self.stats.in_flight(req.path):
            if route is None:
                response = Response(
                    403,
                    MISSING_TOKEN,
                    JSON,
                    [("x-amzn-ErrorType", "MissingAuthenticationTokenException")],
                )
            else:
                response = self._api(route, req)
            if not response.reset:
                self.stats.status(response.status)
        if self.reqlog is not None:
            self.reqlog.add(
                method=req.method,
                path=req.path,
                params=req.params(),
                status=0 if response.reset else response.status,
                arrived_at=self.realtime.monotonic() if req.arrived_at is None else req.arrived_at,
                page=response.page,
            )
        return response

    def _api(self, route: Callable[[Request], Response], req: Request) -> Response:
        """Jitter, the rate limit, latency and faults wrapped around a route handler.

        The limiter sees a request when it arrives (after the network's jitter), before the
        server works on it: a throttle middleware such as Laravel's answers 429 before the
        controller's slow query, so the latency, which stands for that work, comes after it.
        """
        delay = 0.0
        if self._jitter is not None:
            with self._jitter_lock:
                delay = self._jitter.uniform(0.0, self.config.arrival_jitter)
            self.realtime.wait(delay)
        decision = self.injector.draw(is_login=req.path in LOGIN_PATHS)
        verdict = self._arrive(req, delay)
        if verdict is not None and not verdict.allowed:
            self.stats.rate_limited("limiter")
            return self._too_many(verdict.wait, verdict, req.arrived_at)
        if self.config.latency:
            self.realtime.wait(self.config.latency)
        if decision.slow:
            self.stats.fault("slow")
            self.realtime.wait(self.injector.slow_seconds)
        if decision.kind == "reset":
            self.stats.fault("reset")
            return Response(0, reset=True)
        response = self._answer(route, req, decision)
        if verdict is not None and self.config.rate_limit_headers:
            response.headers[:0] = [
                ("X-RateLimit-Limit", str(verdict.limit)),
                ("X-RateLimit-Remaining", str(verdict.remaining)),
            ]
        return response

    def _arrive(self, req: Request, jitter: float = 0.0) -> Verdict | None:
        """The request reaches the limiter: stamp it, count it, let the limiter decide.

        It is stamped when it arrived, not when a handler thread got round to it: a handler
        waits for this process's interpreter behind threads building other pages (tens of
        ms for a first 1000-row page), a delay no real network adds and the tap cannot see.
        Where the kernel timestamped the request's first byte, that lag is taken off; the
        modelled network (`arrival_jitter`) still comes on top.
        """
        with self._arrival_lock:
            now = self.realtime.monotonic()
            if req.received_wall is not None:
                now -= max(0.0, self.realtime.lag_since(req.received_wall) - jitter)
            req.arrived_at = now
            self.stats.arrival(now)
            return self.limiter.take(now) if self.limiter is not None else None

    def _answer(
        self, route: Callable[[Request], Response], req: Request, decision: FaultDecision
    ) -> Response:
        if decision.kind in ("429", "5xx", "invalid_json", "success_false"):
            self.stats.fault(decision.kind)
            if decision.kind == "429":
                self.stats.rate_limited("fault")
            return self._fault_response(decision)
        if req.path in self.config.denied_paths and self._authorized(req) is None:
            return json_response(403, FORBIDDEN)
        response = route(req)
        if decision.kind == "truncated_json" and response.body:
            self.stats.fault("truncated_json")
            cut = 1 + int(decision.aux * (len(response.body) - 1))
            response.body = response.body[:cut]
        return response

    def _too_many(
        self, wait: float, verdict: Verdict | None = None, arrived_at: float | None = None
    ) -> Response:
        """429 "Too Many Attempts."; a limiter's carries the Laravel headers when asked."""
        retry = [("Retry-After", retry_after_header(wait))] if self.config.retry_after else []
        if verdict is None or arrived_at is None or not self.config.rate_limit_headers:
            return Response(429, TOO_MANY, JSON, retry)
        epoch = arrived_at + self.epoch_offset
        headers = [
            ("X-RateLimit-Limit", str(verdict.limit)),
            ("X-RateLimit-Remaining", "0"),
            *retry,
            ("X-RateLimit-Reset", reset_header(epoch, wait)),
        ]
        return Response(429, TOO_MANY, JSON, headers)

    def _fault_response(self, decision: FaultDecision) -> Response:
        if decision.kind == "429":
            return self._too_many(1.0)
        if decision.kind == "5xx":
            return _gateway_page(decision.status)
        if decision.kind == "invalid_json":
            return Response(200, MAINTENANCE_PAGE, HTML)
        return Response(200, TOO_MANY, JSON)  # success_false: HTTP 200, throttled body

    def _authorized(self, req: Request) -> Response | None:
        """The 401 response, or ``None`` when the token is good."""
        problem = self.tokens.check(bearer_token(req.headers.get("authorization")))
        if problem is None:
            return None
        return json_response(401, {"success": False, "message": problem})

    # -- /v1 routes -------------------------------------------------------------------
    def call_records(self, req: Request) -> Response:
        """``GET /v1/call/records``: the paged, filtered, clock-visible CDRs."""
        denied = self._authorized(req)
        if denied is not None:
            return denied
        cfg = self.config
        now_ts = self.clock.timestamp()
        try:
            query = parse_call_query(
                req.params(),
                now_local=local_string(now_ts, self.store.plan.tz),
                default_limit=cfg.default_limit,
                page_size_max=cfg.page_size_max,
                ignore_limit=cfg.ignore_limit,
                refuse_over_max=cfg.limit_over_max == "refuse",
            )
        except LimitTooLargeError as exc:
            message = str(exc)
            return json_response(422, {"message": message, "errors": {"limit": [message]}})
        except QueryError as exc:
            return json_response(400, {"success": False, "message": str(exc)})
        if cfg.slow_page_above is not None and query.limit > cfg.slow_page_above:
            # "very slow with a large page size over a busy day" (notes §2)
            self.stats.fault("slow_page")
            if cfg.slow_page_fault == "504":
                return _gateway_page(504)
            self.realtime.wait(self.injector.slow_seconds)
        served = self.store.page(query, now_ts, want_ids=self.reqlog is not None)
        self.stats.page(served.size)
        if cfg.latency_per_record:
            self.realtime.wait(served.size * cfg.latency_per_record)
        if cfg.seconds_per_page:
            # Real reads take time: calls end and CDRs land while a window is being paged.
            self.clock.advance(timedelta(seconds=cfg.seconds_per_page))
        response = Response(200, served.body)
        if self.reqlog is not None:
            response.page = PageFacts(
                count=served.reported_count,
                true_count=served.true_count,
                size=served.size,
                page=query.page,
                limit=served.limit,
                ids=served.ids,
                from_local=query.from_local,
                to_local=query.to_local,
            )
        return response

    def users(self, req: Request) -> Response:
        """``GET /v1/users``: cursor pages by ``last_seen_id``."""
        denied = self._authorized(req)
        if denied is not None:
            return denied
        params = parse_params(req.query)
        limit = _int_param(params, "limit", self.config.default_limit, minimum=1)
        last_seen = _int_param(params, "last_seen_id", None, minimum=0)
        page = reference.users_page(
            self.team, limit=min(limit, self.config.page_size_max), last_seen_id=last_seen
        )
        if self.config.users_number_style != "int":
            page = reference.restyle_numbers(page, self.config.users_number_style)
        return json_response(200, page)

    def departments(self, req: Request) -> Response:
        """``GET /v1/departments``: a bare JSON array."""
        return self._authorized(req) or Response(200, self._static_json["departments"])

    def ivrs(self, req: Request) -> Response:
        """``GET /v1/ivrs``: ``{"ivrs": [...]}``."""
        return self._authorized(req) or Response(200, self._static_json["ivrs"])

    def my_number(self, req: Request) -> Response:
        """``GET /v1/my_number``: a bare JSON array of DIDs."""
        return self._authorized(req) or Response(200, self._static_json["my_number"])

    def login(self, req: Request) -> Response:
        """``POST /v1/auth/login`` with ``email`` (or ``login_id``) and ``password``."""
        fields = _body_fields(req)
        identity = fields.get("email") or fields.get("login_id")
        password = fields.get("password")
        result = self.tokens.login(
            identity if isinstance(identity, str) else None,
            password if isinstance(password, str) else None,
        )
        return json_response(result.status, result.body)

    def refresh(self, req: Request) -> Response:
        """``POST /v1/auth/refresh`` with the current token in ``Authorization``."""
        result = self.tokens.refresh(bearer_token(req.headers.get("authorization")))
        return json_response(result.status, result.body)

    # -- /_sandbox admin ----------------------------------------------------------------
    def admin(self, req: Request) -> Response:
        """Test/script controls: clock, truth, stats, faults, revocation, the request log."""
        handler = self._admin_routes.get((req.method, req.path.rstrip("/")))
        if handler is None:
            return json_response(404, {"error": f"no admin endpoint {req.method} {req.path}"})
        try:
            return handler(req)
        except (ValueError, TypeError) as exc:
            return json_response(400, {"error": str(exc)})

    @property
    def _admin_routes(self) -> dict[tuple[str, str], Callable[[Request], Response]]:
        return {
            ("GET", "/_sandbox/clock"): lambda _: json_response(
                200, {"now": self.clock.now().isoformat()}
            ),
            ("POST", "/_sandbox/clock"): lambda r: self._admin_clock(_json_body(r)),
            ("GET", "/_sandbox/truth"): self._admin_truth,
            ("GET", "/_sandbox/stats"): lambda _: json_response(200, self.stats.snapshot()),
            ("POST", "/_sandbox/stats/reset"): self._admin_reset_stats,
            ("GET", "/_sandbox/faults"): lambda _: json_response(
                200, self.injector.faults.to_dict()
            ),
            ("POST", "/_sandbox/faults"): self._admin_faults,
            ("POST", "/_sandbox/revoke"): self._admin_revoke,
            ("GET", "/_sandbox/info"): lambda _: json_response(200, self.info()),
            ("GET", "/_sandbox/requests"): self._admin_requests,
        }

    def _admin_reset_stats(self, _: Request) -> Response:
        self.stats.reset()
        if self.reqlog is not None:
            self.reqlog.clear()
        return json_response(200, self.stats.snapshot())

    def _admin_faults(self, req: Request) -> Response:
        faults = Faults.from_dict(_json_body(req))
        self.injector.configure(faults)
        return json_response(200, faults.to_dict())

    def _admin_revoke(self, req: Request) -> Response:
        token = _json_body(req).get("token")
        if not isinstance(token, str) or not token:
            raise ValueError('body must be {"token": "<token>"}')
        self.tokens.revoke(token)
        return json_response(200, {"revoked": True})

    def _admin_requests(self, _: Request) -> Response:
        if self.reqlog is None:
            raise ValueError("the request log is off: start with log_requests / --log-requests")
        return Response(200, self.reqlog.jsonl(), NDJSON)

    def info(self) -> dict[str, Any]:
        """Non-secret facts about the account, for scripts."""
        cfg = self.config
        return {
            "timezone": cfg.timezone,
            "seed": cfg.seed,
            "days": cfg.days,
            "calls_per_day": cfg.calls_per_day,
            "first_day": _iso_day(self.store.first),
            "last_day": _iso_day(self.store.last),
            "order": cfg.order,
            "page_size_max": cfg.page_size_max,
            "default_limit": cfg.default_limit,
            "generated_calls": self.store.total_calls(),
            "now": self.clock.now().isoformat(),
            "variants": {name: getattr(cfg, name) for name in VARIANT_FIELDS},
        }

    def _admin_clock(self, body: dict[str, Any]) -> Response:
        if "advance_seconds" in body:
            seconds = body["advance_seconds"]
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
                raise ValueError("advance_seconds must be a number")
            now = self.clock.advance(timedelta(seconds=seconds))
        elif "set" in body:
            if not isinstance(body["set"], str):
                raise ValueError("set must be an ISO-8601 string")
            now = self.clock.set(parse_iso(body["set"]))
        else:
            raise ValueError('body must be {"advance_seconds": N} or {"set": "<iso>"}')
        return json_response(200, {"now": now.isoformat()})

    def _admin_truth(self, req: Request) -> Response:
        at_raw = dict(parse_qsl(req.query)).get("at")
        at_ts = parse_iso(at_raw).timestamp() if at_raw else self.clock.timestamp()
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed after sending
        for line in self.truth_lines(at_ts):
            spool.write(line)
        length = spool.tell()
        spool.seek(0)
        return Response(200, content_type=NDJSON, stream=spool, length=length)


def _gateway_page(status: int) -> Response:
    """API Gateway's HTML error page."""
    page = GATEWAY_PAGE.format(code=status, phrase=HTTPStatus(status).phrase).encode()
    return Response(status, page, HTML)


def _iso_day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _int_param(params: dict[str, list[str]], key: str, default: int | None, *, minimum: int) -> Any:
    """The first usable integer value; numeric strings such as "12.0" count, as in PHP."""
    for value in params.get(key, ()):
        try:
            number = int(value)
        except ValueError:
            try:
                number = int(float(value))
            except (ValueError, OverflowError):
                continue
        if number >= minimum:
            return number
    return default


def _json_body(req: Request) -> dict[str, Any]:
    try:
        data = json.loads(req.body or b"{}")
    except ValueError as exc:
        raise ValueError(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _body_fields(req: Request) -> dict[str, Any]:
    """Login bodies: JSON, or a form (some clients post forms)."""
    if "json" in req.headers.get("content-type", "") or req.body.lstrip().startswith(b"{"):
        try:
            data = json.loads(req.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return dict(parse_qsl(req.body.decode("utf-8", "replace")))


class SandboxHTTPServer(ThreadingHTTPServer):
    """Threading server that can close idle keep-alive connections on stop."""

    daemon_threads = True
    allow_reuse_address = True
    # server_bind() stores the socket's getsockname(): an AF_INET (host, port), the host a str
    # (typeshed's wider type also covers the bytes a caller may pass before binding).
    server_address: tuple[str, int]

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._conn_lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__(address, SandboxHandler)

    @override
    def server_bind(self) -> None:
        """Bind, asking the kernel to timestamp what every accepted connection receives."""
        if SO_TIMESTAMPNS is not None:
            with contextlib.suppress(OSError):  # refused: arrivals are stamped when read
                self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        super().server_bind()

    def track(self, conn: socket.socket) -> None:
        """Remember a live connection and the thread serving it."""
        with self._conn_lock:
            self._connections[conn] = threading.current_thread()

    def untrack(self, conn: socket.socket) -> None:
        """Forget a finished connection."""
        with self._conn_lock:
            self._connections.pop(conn, None)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Wake handler threads blocked on idle keep-alive sockets and wait for them."""
        with self._conn_lock:
            live = list(self._connections.items())
        for conn, _ in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for _, thread in live:
            if thread is not threading.current_thread():
                thread.join(timeout)

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level errors (client went away) are normal here; others go to stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        traceback.print_exc(file=sys.stderr)


class SandboxHandler(BaseHTTPRequestHandler):
    """Thin adapter between ``http.server`` and :class:`SandboxApp`."""

    protocol_version = "HTTP/1.1"
    server_version = "acefone-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: SandboxHTTPServer

    # Where the kernel stamps what it receives, requests are read through those stamps.
    _stamped: StampedSocketReader | None = None
    _reader: io.BufferedReader | None = None
    _received_wall: float | None = None

    @override
    def setup(self) -> None:
        """Disable Nagle, read through the kernel's receive stamps, register the connection."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if SO_TIMESTAMPNS is not None:
            self.rfile.close()  # http.server's own reader: nothing was read through it yet
            self._stamped = StampedSocketReader(self.connection)
            self._reader = io.BufferedReader(self._stamped)
            self.rfile = self._reader
        self.server.track(self.connection)

    @override
    def handle_one_request(self) -> None:
        """Wait for the next request's first byte, note when the kernel received it, answer."""
        if self._stamped is not None and self._reader is not None:
            try:
                waiting = self._reader.peek(1)
            except OSError:  # timed out or reset while idle: as http.server's own read would
                self.close_connection = True
                return
            self._received_wall = self._stamped.received if waiting else None
        super().handle_one_request()

    @override
    def finish(self) -> None:
        """Tolerate sockets the client (or a reset fault) already closed."""
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self.connection)

    @override
    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines could carry identifiers, and tests want quiet output."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # chunked uploads are not supported: do not desync
        body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
        path, _, query = self.path.partition("?")
        req = Request(
            method=self.command,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            received_wall=self._received_wall,
        )
        try:
            response = self.server.app.handle(req)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {"success": False, "message": "Server Error"})
        if response.reset:
            self._reset()
        else:
            self._send(response)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _dispatch  # noqa: N815

    def _send(self, response: Response) -> None:
        length = response.length if response.stream is not None else len(response.body)
        lines = [
            f"HTTP/1.1 {response.status} {_phrase(response.status)}",
            f"Date: {self.date_time_string()}",
            f"Server: {self.server_version}",
            f"Content-Type: {response.content_type}; charset=UTF-8"
            if response.content_type != NDJSON
            else f"Content-Type: {response.content_type}",
            f"Content-Length: {length}",
            "Cache-Control: no-cache, private",
        ]
        lines += [f"{k}: {v}" for k, v in response.headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            if self.command == "HEAD":
                self.wfile.write(head)
            elif response.stream is None:
                self.wfile.write(head + response.body)
            else:
                self.wfile.write(head)
                while chunk := response.stream.read(1 << 20):
                    self.wfile.write(chunk)
        except OSError:
            self.close_connection = True
        finally:
            if response.stream is not None:
                response.stream.close()

    def _reset(self) -> None:
        """Abort the connection with a TCP RST and no response (SO_LINGER 0, then close)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for closable in (self.wfile, self.rfile, self.connection):
            with contextlib.suppress(OSError):
                closable.close()


def _stamp_of(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The `SO_TIMESTAMPNS` receive time (epoch seconds) among a read's ancillary data."""
    for level, kind, raw in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
            seconds, nanoseconds = struct.unpack("qq", raw[:16])
            received: float = seconds + nanoseconds / 1e9
            return received
    return None


class StampedSocketReader(io.RawIOBase):
    """A socket's bytes, each read noting when the kernel received them (`received`).

    Under a `BufferedReader`, as `http.server` reads: requests are read a buffer at a time,
    not a byte at a time (an unbuffered reader, a recv a byte, doubled the sandbox's CPU for
    a warm page: README, sandbox Speed). A buffer's unread bytes all came with its last read,
    so `received` after a `peek` is when the next request reached the server (for a request
    split over segments read at once, when its last read segment did: Linux stamps a TCP
    read with its last segment's time).
    """

    def __init__(self, conn: socket.socket) -> None:
        super().__init__()
        self._conn = conn
        self.received: float | None = None

    @override
    def readable(self) -> bool:
        return True

    @override
    def readinto(self, buffer: Any) -> int:
        size, ancillary, _flags, _address = self._conn.recvmsg_into([buffer], _TIMESTAMP_SPACE)
        if size:
            self.received = _stamp_of(ancillary)
        return size


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
