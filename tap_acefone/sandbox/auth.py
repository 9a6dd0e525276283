"""Tokens: long-lived static API tokens and short-lived login tokens that follow the clock.

Login tokens look like the real ones (a JWT with ``sub, iss, iat, exp, nbf, jti`` claims) but
are opaque to the sandbox: it only looks them up. They carry a random ``jti`` and signature,
so they cannot be guessed. Nothing here ever logs a token or a password.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from .clock import Clock

BLACKLISTED = "Deleted or blacklisted token provided"
EXPIRED = "Token has expired"
BAD_LOGIN = "The username or password is incorrect."
ISSUER = "https://customer.servetel.in/api/v1/auth/login"


@dataclass(frozen=True)
class AuthResult:
    """HTTP status and JSON body for an auth endpoint."""

    status: int
    body: dict[str, Any]


def bearer_token(header: str | None) -> str | None:
    """The token from an ``Authorization`` header: ``Bearer <t>`` or a raw ``<t>``."""
    if not header:
        return None
    value = header.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenStore:
    """Issues, checks, refreshes and revokes tokens."""

    def __init__(
        self, clock: Clock, *, static_tokens: tuple[str, ...], logins: dict[str, str], lifetime: int
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._static = set(static_tokens)
        self._logins = dict(logins)
        self._lifetime = lifetime
        self._issued: dict[str, float] = {}  # token -> expiry epoch (virtual clock)
        self._revoked: set[str] = set()
        self._failures: dict[str, int] = {}

    def _new_token(self, subject: str) -> str:
        now = int(self._clock.timestamp())
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        claims = {
            "sub": subject,
            "iss": ISSUER,
            "iat": now,
            "exp": now + self._lifetime,
            "nbf": now,
            "jti": secrets.token_hex(8),
        }
        token = f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(32))}"
        self._issued[token] = self._clock.timestamp() + self._lifetime
        return token

    def _grant(self, subject: str) -> AuthResult:
        token = self._new_token(subject)
        return AuthResult(
            200,
            {
                "success": True,
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self._lifetime,
            },
        )

    def login(self, identity: str | None, password: str | None) -> AuthResult:
        """``POST /v1/auth/login``: constant-time password check, failure counter per identity."""
        with self._lock:
            expected = self._logins.get(identity or "")
            ok = (
                expected is not None
                and password is not None
                and hmac.compare_digest(expected.encode(), password.encode())
            )
            key = (identity or "").lower()
            if not ok:
                self._failures[key] = self._failures.get(key, 0) + 1
                return AuthResult(
                    401,
                    {
                        "success": False,
                        "message": BAD_LOGIN,
                        "login_failed_count": self._failures[key],
                    },
                )
            self._failures.pop(key, None)
            return self._grant(identity or "")

    def check(self, token: str | None) -> str | None:
        """``None`` if ``token`` may call the API, else the 401 message."""
        if token is None:
            return BLACKLISTED
        with self._lock:
            if token in self._revoked:
                return BLACKLISTED
            if token in self._static:
                return None
            expiry = self._issued.get(token)
            if expiry is None:
                return BLACKLISTED
            if self._clock.timestamp() >= expiry:
                return EXPIRED
            return None

    def refresh(self, token: str | None) -> AuthResult:
        """``POST /v1/auth/refresh``: a valid token buys a new one; a login token is then revoked.

        Static tokens stay valid after a refresh (they are long-lived portal tokens).
        """
        problem = self.check(token)
        if problem is not None or token is None:
            return AuthResult(401, {"success": False, "message": problem or BLACKLISTED})
        with self._lock:
            if token in self._issued:
                del self._issued[token]
                self._revoked.add(token)
            return self._grant("refresh")

    def revoke(self, token: str) -> None:
        """Blacklist ``token`` (static or login); later calls get the 401 blacklisted body."""
        with self._lock:
            self._revoked.add(token)
            self._issued.pop(token, None)
