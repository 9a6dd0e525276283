"""Sandbox configuration: every knob in one validated, immutable dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .clock import as_utc
from .faults import Faults

ORDERS = ("newest", "oldest", "shuffled")
# API variants: every undocumented behaviour the sandbox can play (see the README's
# "API variants"); the first value of each is the default, today's behaviour.
BOUNDS = ("inclusive", "exclusive")
FILTER_ON = ("start", "end")
GRANULARITIES = ("second", "day")
SORT_KEYS = ("second", "day")
NUMBER_STYLES = ("int", "string", "float")
PAST_END = ("empty", "repeat_last")
RATE_LIMIT_KINDS = ("token_bucket", "sliding_window", "fixed_window")
RATE_LIMIT_PERIODS = ("second", "minute")
PERIOD_SECONDS = {"second": 1, "minute": 60}
SLOW_PAGE_FAULTS = ("timeout", "504")
#: The API-variant fields (each set by the CLI flag of the same name, dashes for underscores).
VARIANT_FIELDS = (
    "from_bound",
    "to_bound",
    "filter_on",
    "bound_granularity",
    "sort_key",
    "unstable_ties",
    "variant_seed",
    "number_style",
    "omit_count",
    "omit_limit",
    "past_end",
    "ignore_limit",
    "count_offset",
    "users_number_style",
    "burst_calls",
    "rate_limit_kind",
    "rate_limit_period",
    "arrival_jitter",
    "rate_limit_headers",
    "slow_page_above",
    "slow_page_fault",
    "latency_per_record",
    "log_requests",
)
DEFAULT_API_TOKEN = "sandbox-static-token"
DEFAULT_LOGIN_EMAIL = "ops@example.com"
DEFAULT_LOGIN_PASSWORD = "sandbox-password"


def _default_logins() -> dict[str, str]:
    return {DEFAULT_LOGIN_EMAIL: DEFAULT_LOGIN_PASSWORD}


def utc_now_second() -> datetime:
    """Current UTC time truncated to the second (the default virtual ``now``)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes the fake account, its data and the server's behaviour.

    ``now=None`` means "current UTC time truncated to the second", resolved once when the
    sandbox is created. Data is a pure function of (``seed``, ``calls_per_day``,
    ``timezone``, ``burst_calls``, local date), so two sandboxes with the same settings serve
    identical CDRs for the dates they share. ``future_days`` local days after the initial
    ``now`` are also generated, so advancing the clock makes new calls appear. The API-variant
    fields (bounds, ordering, envelope, limiter, slow pages) change how the data is served,
    never which calls exist; all are off by default.
    """

    seed: int = 1
    days: int = 7
    calls_per_day: int = 500
    timezone: str = "Asia/Kolkata"
    now: datetime | None = None
    host: str = "127.0.0.1"
    port: int = 0
    page_size_max: int = 100
    default_limit: int = 20
    order: str = "newest"
    latency: float = 0.0
    rate_limit: float | None = None
    retry_after: bool = True
    token_lifetime: int = 3600
    api_tokens: tuple[str, ...] = (DEFAULT_API_TOKEN,)
    logins: dict[str, str] = field(default_factory=_default_logins)
    faults: Faults = field(default_factory=Faults)
    future_days: int = 2
    # Endpoints the account's tokens lack Access Control permission for (403).
    denied_paths: tuple[str, ...] = ()
    # Virtual seconds that pass with every call-records page served (0 = the clock stands still).
    seconds_per_page: float = 0.0
    # -- API variants (all off by default: the defaults are the behaviour above) ----------
    # Bounds of GET /v1/call/records: which end is inclusive, which instant of a call the
    # window selects on, and whether the time part of the bounds counts at all.
    from_bound: str = "inclusive"
    to_bound: str = "inclusive"
    filter_on: str = "start"
    bound_granularity: str = "second"
    # Ordering: the sort key's granularity, and whether ties come back in a new order on
    # every request (seeded by variant_seed and a per-request counter).
    sort_key: str = "second"
    unstable_ties: bool = False
    variant_seed: int = 0
    # Envelope shapes.
    number_style: str = "int"
    omit_count: bool = False
    omit_limit: bool = False
    past_end: str = "empty"
    ignore_limit: bool = False
    count_offset: int = 0
    # /v1/users' cursor envelope: how its count and last_seen_id are written.
    users_number_style: str = "int"
    # Data: one burst of this many extra calls in a single local second, every local day.
    burst_calls: int = 0
    # Rate limiting (rate_limit is the rate; these pick the limiter and what it tells).
    rate_limit_kind: str = "token_bucket"
    rate_limit_period: str = "second"
    arrival_jitter: float = 0.0
    rate_limit_headers: bool = False
    # Slow large pages: a records page whose effective limit is above this is slow or a 504.
    slow_page_above: int | None = None
    slow_page_fault: str = "timeout"
    latency_per_record: float = 0.0
    # Keep every /v1 request in a log (Sandbox.request_log(), GET /_sandbox/requests).
    log_requests: bool = False

    def __post_init__(self) -> None:
        _check_int("seed", self.seed)
        _check_int("days", self.days, minimum=1)
        _check_int("calls_per_day", self.calls_per_day, minimum=0)
        _check_int("future_days", self.future_days, minimum=0)
        _check_int("port", self.port, minimum=0, maximum=65535)
        _check_int("page_size_max", self.page_size_max, minimum=1)
        _check_int("default_limit", self.default_limit, minimum=1)
        _check_int("token_lifetime", self.token_lifetime, minimum=1)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        if self.now is not None:
            object.__setattr__(self, "now", as_utc(self.now))
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {self.order!r}")
        if not _is_number(self.latency) or self.latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {self.latency!r}")
        if self.rate_limit is not None and (
            not _is_number(self.rate_limit) or self.rate_limit <= 0
        ):
            raise ValueError(
                f"rate_limit must be > 0 requests/second or None, got {self.rate_limit!r}"
            )
        object.__setattr__(self, "api_tokens", tuple(self.api_tokens))
        object.__setattr__(self, "denied_paths", tuple(self.denied_paths))
        if not _is_number(self.seconds_per_page) or self.seconds_per_page < 0:
            raise ValueError(f"seconds_per_page must be >= 0, got {self.seconds_per_page!r}")
        if any(not isinstance(t, str) or not t for t in self.api_tokens):
            raise ValueError("api_tokens must be non-empty strings")
        if any(not isinstance(k, str) or not isinstance(v, str) for k, v in self.logins.items()):
            raise ValueError("logins must map email strings to password strings")
        if not isinstance(self.faults, Faults):
            raise ValueError("faults must be a Faults instance")
        self._check_variants()

    def _check_variants(self) -> None:
        """Validate the API-variant knobs, one clear message per mistake."""
        for name, choices in (
            ("from_bound", BOUNDS),
            ("to_bound", BOUNDS),
            ("filter_on", FILTER_ON),
            ("bound_granularity", GRANULARITIES),
            ("sort_key", SORT_KEYS),
            ("number_style", NUMBER_STYLES),
            ("users_number_style", NUMBER_STYLES),
            ("past_end", PAST_END),
            ("rate_limit_kind", RATE_LIMIT_KINDS),
            ("rate_limit_period", RATE_LIMIT_PERIODS),
            ("slow_page_fault", SLOW_PAGE_FAULTS),
        ):
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        for name in (
            "unstable_ties",
            "omit_count",
            "omit_limit",
            "ignore_limit",
            "rate_limit_headers",
            "log_requests",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        _check_int("variant_seed", self.variant_seed)
        _check_int("count_offset", self.count_offset)
        _check_int("burst_calls", self.burst_calls, minimum=0, maximum=1_000_000)
        if self.slow_page_above is not None:
            _check_int("slow_page_above", self.slow_page_above, minimum=0)
        for name in ("arrival_jitter", "latency_per_record"):
            value = getattr(self, name)
            if not _is_number(value) or not value >= 0:
                raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
        if self.bound_granularity == "day":
            exclusive = [n for n in ("from_bound", "to_bound") if getattr(self, n) == "exclusive"]
            if exclusive:
                raise ValueError(
                    f"bound_granularity='day' cannot be combined with {exclusive[0]}='exclusive':"
                    " a date-only API that excluded its from or to day would return nothing for"
                    " the same-day windows (from_date and to_date on one date) that every public"
                    " client uses and gets data from, so day granularity is inclusive by day"
                )
        self._check_rate_limit()

    def _check_rate_limit(self) -> None:
        if self.rate_limit is None:
            for name, default in (
                ("rate_limit_kind", "token_bucket"),
                ("rate_limit_period", "second"),
                ("rate_limit_headers", False),
            ):
                if getattr(self, name) != default:
                    raise ValueError(f"{name}={getattr(self, name)!r} needs a rate_limit")
            return
        if self.rate_limit_kind == "token_bucket":
            if self.rate_limit_period != "second":
                raise ValueError(
                    "rate_limit_period applies to rate_limit_kind 'sliding_window' and"
                    " 'fixed_window'; the token bucket refills continuously at rate_limit per"
                    " second"
                )
            return
        n = self.rate_limit_window[0]
        if n < 1:
            raise ValueError(
                f"rate_limit x rate_limit_period must allow at least 1 request per window:"
                f" round({self.rate_limit} x {PERIOD_SECONDS[self.rate_limit_period]} s) = {n}"
            )

    @property
    def rate_limit_window(self) -> tuple[int, int]:
        """(N requests, period seconds) of the window limiters: N = round(rate x period)."""
        period = PERIOD_SECONDS[self.rate_limit_period]
        return round((self.rate_limit or 0) * period), period

    @property
    def tz(self) -> ZoneInfo:
        """The account time zone."""
        return ZoneInfo(self.timezone)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
