"""How long to wait before trying a failed request again, and when to stop trying."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests

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


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, overridden by the server's `Retry-After`."""

    max_tries: int = 8
    base_seconds: float = 1.0
    cap_seconds: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_WAIT_SECONDS)
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a `Retry-After` header given as seconds or as an HTTP date; None if absent/bad."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max((when - current).total_seconds(), 0.0)


def call_with_retries(
    func: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    pacer: Pacer,
    logger: logging.Logger,
    on_token_expired: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
) -> T:
    """Call `func` at the paced rate, retrying transient failures with backoff.

    A refused login token is renewed once through `on_token_expired` and does not count as a
    try; anything else transient counts, and after `policy.max_tries` tries the last failure
    is reported as a `GaveUpError` naming `what`. Once `stop` is set, no further try starts.
    """
    attempt = 0
    renewed = False
    if stop is not None:
        sleep = stop.wait
    while True:
        attempt += 1
        if stop is not None and stop.is_set():
            raise AbandonedError(what)
        pacer.wait()
        try:
            return func()
        except TokenExpiredError as exc:
            if renewed or on_token_expired is None:
                raise FatalResponseError(f"{what}: {exc}") from None
            renewed = True
            attempt -= 1
            logger.info("%s: the login token was refused; logging in again", what)
            on_token_expired()
        except RETRIABLE_ERRORS as exc:
            reason = describe_failure(exc)
            if attempt >= policy.max_tries:
                msg = f"{what} failed {attempt} times in a row; last failure: {reason}"
                raise GaveUpError(msg) from None
            retry_after = getattr(exc, "retry_after", None)
            wait = policy.delay(attempt, retry_after)
            if retry_after is not None:
                pacer.hold(wait)
            logger.warning(
                "%s: %s; try %d of %d again in %.1f s",
                what,
                reason,
                attempt + 1,
                policy.max_tries,
                wait,
            )
            sleep(wait)


def describe_failure(exc: BaseException) -> str:
    """One secret-free phrase for a failure (requests' own messages can carry full URLs)."""
    if isinstance(exc, TransientResponseError):
        return str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "the request timed out"
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionResetError):
        return "the connection failed or was reset"
    return f"{type(exc).__name__}"


RETRIABLE_ERRORS = (
    TransientResponseError,
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
