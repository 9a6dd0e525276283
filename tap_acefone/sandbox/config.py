"""Sandbox configuration: every knob in one validated, immutable dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .clock import as_utc
from .faults import Faults

ORDERS = ("newest", "oldest", "shuffled")
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
    ``timezone``, local date), so two sandboxes with the same settings serve identical
    CDRs for the dates they share. ``future_days`` local days after the initial ``now`` are
    also generated, so advancing the clock makes new calls appear.
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
