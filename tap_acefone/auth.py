"""Credentials: a static portal token, or an email/password login with 1-hour tokens.

Both put `Authorization: Bearer <token>` on every request. Login tokens are renewed a few
minutes before they expire and once more when the API refuses one. No secret is ever logged
or placed in an error message.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from typing_extensions import override

from tap_acefone.errors import FatalResponseError, TokenExpiredError, TransientResponseError
from tap_acefone.retries import parse_retry_after

# Renew a login token this long before the API would expire it, so a slow page fetched just
# before expiry does not fail on arrival.
RENEW_MARGIN_SECONDS = 300
DEFAULT_LIFETIME_SECONDS = 3600

PostFunc = Callable[[str, dict[str, Any] | None, dict[str, str]], requests.Response]
T = TypeVar("T")


class RetryFunc(Protocol):
    """Runs a call with the tap's pacing and retries (see `TapAcefone._retry`)."""

    def __call__(self, func: Callable[[], T], what: str) -> T:
        """`func()`, retried; `what` names the request in messages."""
        ...


def bearer_value(token: str) -> str:
    """Header value for a token, tolerating a pasted `Bearer ` prefix or stray whitespace."""
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[len("bearer ") :].strip()
    return f"Bearer {token}"


class AcefoneAuthenticator(APIAuthenticatorBase):
    """What the request path asks of a credential: what a 401 means, and forgetting a token."""

    def rejected(self, status: int, sent: str | None = None) -> Exception:
        """The error for the API refusing this credential (sent as `sent`) with `status`."""
        raise NotImplementedError

    def invalidate(self, refused: TokenExpiredError | None = None) -> None:
        """Forget a token the API refused (nothing to forget for a static token)."""


class StaticTokenAuthenticator(AcefoneAuthenticator):
    """A long-lived token generated in the portal under API Connect -> API Tokens."""

    def __init__(self, *, token: str) -> None:
        super().__init__()
        self.auth_headers = {"Authorization": bearer_value(token)}

    @override
    def rejected(self, status: int, sent: str | None = None) -> FatalResponseError:
        """The error for a refused static token: only a new token helps."""
        return FatalResponseError(
            f"The API refused api_token (HTTP {status}): it is wrong, expired, deleted or "
            "blacklisted. Generate a new token in the Acefone portal under API Connect -> "
            "API Tokens and set it as api_token."
        )


class LoginAuthenticator(AcefoneAuthenticator):
    """Logs in with email and password and keeps a fresh short-lived token.

    `post(path, json, headers)` sends one request; `retry(func, what)` runs `func` with the
    tap's pacing and retries, so a rate-limited login is retried like any other call.
    """

    def __init__(
        self,
        *,
        email: str,
        password: str,
        post: PostFunc,
        retry: RetryFunc,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._email = email
        self._password = password
        self._post = post
        self._retry = retry
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        # A refused login, kept for the run: the other threads waiting for a token fail with
        # it instead of sending the same password again (repeated failures lock accounts).
        self._refused: FatalResponseError | None = None
        self._renew_at = 0.0
        self._expires_at = 0.0
        # What the API said the last token it granted lives (`expires_in`), for the probe.
        self.granted_seconds: float | None = None

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Attach a token that is valid for at least the renewal margin."""
        request.headers["Authorization"] = bearer_value(self.current_token())
        return request

    def current_token(self) -> str:
        """Return a usable token, logging in or refreshing first when needed."""
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._expires_at:
                self._login()
            elif now >= self._renew_at:
                self._refresh()
            assert self._token is not None
            return self._token

    def renew(self) -> bool:
        """Refresh the token now, as before its expiry; False if the API made us log in again.

        The probe uses it to learn whether `/v1/auth/refresh` works on this account.
        """
        with self._lock:
            if self._token is None:
                self._login()
            return self._refresh()

    @override
    def invalidate(self, refused: TokenExpiredError | None = None) -> None:
        """Forget the token the API just refused, so the next request logs in afresh.

        Several requests in flight are refused together when a token expires: only the first
        to get here forgets it; the others find a new token already there and retry with it.
        """
        with self._lock:
            sent = refused.sent if refused is not None else None
            if sent is None or (self._token is not None and sent == bearer_value(self._token)):
                self._token = None

    @override
    def rejected(self, status: int, sent: str | None = None) -> TokenExpiredError:
        """A refused login token is renewed and the request retried once."""
        return TokenExpiredError(f"HTTP {status}: the login token was refused", sent=sent)

    def _login(self) -> None:
        if self._refused is not None:
            raise FatalResponseError(str(self._refused))

        def attempt() -> None:
            credentials = {"email": self._email, "password": self._password}
            self._accept(self._post("/v1/auth/login", credentials, {}), action="log in")

        try:
            self._retry(attempt, "POST /v1/auth/login")
        except FatalResponseError as exc:
            self._refused = exc
            raise

    def _refresh(self) -> bool:
        assert self._token is not None
        headers = {"Authorization": bearer_value(self._token)}

        def attempt() -> bool:
            response = self._post("/v1/auth/refresh", None, headers)
            if response.status_code in (401, 403):
                return False
            self._accept(response, action="refresh the login token")
            return True

        if not self._retry(attempt, "POST /v1/auth/refresh"):
            self._token = None
            self._login()
            return False
        return True

    def _accept(self, response: requests.Response, *, action: str) -> None:
        body = _json_or_none(response)
        status = response.status_code
        if _is_transient(status, body):
            # A throttled login is a 429 like any other: the pacer slows down and holds for
            # the server's Retry-After (on_backoff), and the retry waits exactly that long.
            raise TransientResponseError(
                f"could not {action}: HTTP {status}",
                parse_retry_after(response.headers.get("Retry-After")) if status == 429 else None,
                throttled=status == 429 or _says_too_many(body),
                status=status,
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code >= 400 or not isinstance(token, str) or not token:
            message = body.get("message") if isinstance(body, dict) else None
            detail = f": {message}" if isinstance(message, str) else ""
            raise FatalResponseError(
                f"Could not {action} as {self._email} (HTTP {response.status_code}{detail}). "
                "Check email and password; repeated failures can lock the account."
            )
        lifetime = _lifetime(body.get("expires_in"))
        self.granted_seconds = lifetime if body.get("expires_in") is not None else None
        now = self._clock()
        self._token = token
        self._expires_at = now + lifetime
        self._renew_at = now + max(lifetime - RENEW_MARGIN_SECONDS, lifetime / 2)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _is_transient(status: int, body: Any) -> bool:
    """Throttling, gateway trouble or a cut body; never a refused password.

    A refused password must not be retried (repeated failures lock the account), so a
    `success: false` body counts as transient only when it is the rate-limit page, which sends
    `success` as the string "false" or says it is throttling.
    """
    if status == 429 or status >= 500:
        return True
    if status != 200:
        return False
    if not isinstance(body, dict):
        return True
    return body.get("success") == "false" or _says_too_many(body)


def _says_too_many(body: Any) -> bool:
    """The rate-limit page ("Too Many Attempts."), whatever status it came with."""
    return isinstance(body, dict) and "too many" in str(body.get("message", "")).lower()


def _lifetime(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS
    # An infinite lifetime (JSON 1e999) would keep a token past the API's real expiry.
    return seconds if 0 < seconds < math.inf else DEFAULT_LIFETIME_SECONDS
