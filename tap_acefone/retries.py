"""How failed requests are tried again: waits, the server's `Retry-After`, and when to stop.

Retries run on python-backoff, the library the SDK's `request_decorator` uses, through the
SDK's own hooks (`backoff_wait_generator`, `backoff_jitter`, `backoff_max_tries`,
`backoff_handler`) on every stream, and through the same pieces for the login. What backoff
leaves out is added around each try by `paced_tries`: the shared pacer, one token renewal
when the API refuses a login token (not counted as a try), and giving up a fetched-ahead
request nobody will read any more.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import backoff
import requests
from backoff.types import Details

from tap_acefone.errors import (
    AbandonedError,
    FatalResponseError,
    GaveUpError,
    TokenExpiredError,
    TransientResponseError,
)
from tap_acefone.pacing import Pacer

T = TypeVar("T")

# Waits longer than this are capped: a server asking for ten minutes is better retried
# sooner than a scheduled run left hanging.
MAX_WAIT_SECONDS = 120.0

RETRIABLE_ERRORS: tuple[type[Exception], ...] = (
    TransientResponseError,
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class ServerWait(float):
    """A wait the server asked for (`Retry-After`): honoured exactly, never jittered."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff (1 s doubling up to 60 s), overridden by the server's `Retry-After`."""

    max_tries: int = 8
    base_seconds: float = 1.0
    cap_seconds: float = 60.0

    def wait_times(self) -> Generator[float, BaseException | None, None]:
        """The backoff wait generator: each failure it is sent gives the wait before the next try.

        A failure carrying `retry_after` yields that wait as a `ServerWait`; any other the
        exponential ceiling, which `jittered` then spreads.
        """
        failure = yield 0.0
        attempt = 0
        while True:
            attempt += 1
            retry_after = getattr(failure, "retry_after", None)
            if retry_after is not None:
                failure = yield ServerWait(min(max(retry_after, 0.0), MAX_WAIT_SECONDS))
            else:
                failure = yield min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1))


def jittered(value: float) -> float:
    """Spread a backoff ceiling over its upper half, so concurrent retries do not collide."""
    if isinstance(value, ServerWait):
        return float(value)
    return random.uniform(value / 2, value)


@dataclass(frozen=True)
class RetryLog:
    """What the user sees of retries: one warning per retry, one line when giving up."""

    what: str
    max_tries: int
    pacer: Pacer
    logger: logging.Logger

    def on_backoff(self, details: Details) -> None:
        """Log the retry; after a 429, slow the pacer and hold it for the server's wait."""
        failure = _failure(details)
        wait = float(details.get("wait") or 0.0)
        if isinstance(failure, TransientResponseError) and failure.throttled:
            self.pacer.throttled(wait if failure.retry_after is not None else None)
        self.logger.warning(
            "%s: %s; try %d of %d again in %.1f s",
            self.what,
            describe_failure(failure),
            details["tries"] + 1,
            self.max_tries,
            wait,
        )

    def on_giveup(self, details: Details) -> None:
        """Replace the last failure by one line that names the request and the failure."""
        reason = describe_failure(_failure(details))
        message = f"{self.what} failed {details['tries']} times in a row; last failure: {reason}"
        raise GaveUpError(message) from None


def _failure(details: Details) -> BaseException | None:
    failure = details.get("exception")
    return failure if isinstance(failure, BaseException) else None


def with_retries(
    func: Callable[..., T],
    *,
    wait_gen: Callable[[], Generator[float, Any, None]],
    max_tries: int | Callable[[], int],
    jitter: Callable[[float], float],
    on_backoff: Callable[[Details], None],
    on_giveup: Callable[[Details], None],
) -> Callable[..., T]:
    """`func` retried by python-backoff on every transient failure."""
    decorate = backoff.on_exception(
        wait_gen,
        RETRIABLE_ERRORS,
        max_tries=max_tries,
        jitter=jitter,
        on_backoff=on_backoff,
        on_giveup=on_giveup,
        logger=None,
    )
    return decorate(func)


def paced_tries(
    func: Callable[..., T],
    *,
    what: str,
    pacer: Pacer,
    logger: logging.Logger,
    on_token_expired: Callable[[TokenExpiredError], None] | None = None,
    stop: threading.Event | None = None,
) -> Callable[..., T]:
    """Each try of `func`: paced, renewing a refused login token once, abandoned on `stop`."""

    def one_try(*args: Any) -> T:
        _start(pacer, stop, what)
        try:
            return func(*args)
        except TokenExpiredError as exc:
            if on_token_expired is None:
                raise FatalResponseError(f"{what}: {exc}") from None
            logger.info("%s: the login token was refused; logging in again", what)
            on_token_expired(exc)
        _start(pacer, stop, what)
        try:
            return func(*args)
        except TokenExpiredError as exc:
            raise FatalResponseError(f"{what}: {exc}") from None

    return one_try


def _start(pacer: Pacer, stop: threading.Event | None, what: str) -> None:
    if (stop is not None and stop.is_set()) or not pacer.wait(stop):
        raise AbandonedError(what)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a `Retry-After` header given as seconds or as an HTTP date; None if absent/bad."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # NaN would crash the sleep and infinity hold the run: neither is a wait to honour.
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max((when - current).total_seconds(), 0.0)


def describe_failure(exc: BaseException | None) -> str:
    """One secret-free phrase for a failure (requests' own messages can carry full URLs)."""
    if isinstance(exc, TransientResponseError):
        return str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "the request timed out"
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionResetError):
        return "the connection failed or was reset"
    return type(exc).__name__
