"""The base REST stream: URL, auth, pacing, retries and what each API answer means.

The Acefone API reports trouble in several shapes: HTTP 429 with `success` as the *string*
"false", HTML pages from its AWS gateway (even with status 200), 403 for an unknown path, and
bodies cut short. `validate_response` turns every shape into either a transient error (retried
by `request_decorator`) or a fatal one with a message the user can act on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import requests
from singer_sdk.streams import RESTStream
from typing_extensions import override

from tap_acefone import accounts
from tap_acefone.errors import FatalResponseError, TransientResponseError
from tap_acefone.output import BufferedSingerWriter
from tap_acefone.retries import call_with_retries, parse_retry_after

_BODY_ATTR = "_acefone_body"
_DECODER = msgspec.json.Decoder()


class AcefoneStream(RESTStream[int]):
    """Shared HTTP behaviour of every Acefone stream."""

    records_key: str | None = "results"

    @override
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        accounts.bind(self)  # accounts: account_id column, key and stamp (accounts.py)

    @property
    def url_base(self) -> str:
        """The brand's API host (Acefone, Servetel, Smartflo or UK)."""
        return str(self.config["api_url"]).rstrip("/")

    @property
    def http_headers(self) -> dict[str, str]:
        """Ask for JSON and identify the tap."""
        return {"Accept": "application/json", "User-Agent": self._tap.user_agent}

    @property
    def timeout(self) -> int:
        """Per-request timeout: CDR pages of a busy day can take many seconds."""
        return int(self.config["request_timeout"])

    @property
    def authenticator(self) -> Any:
        """One authenticator per tap, so every stream shares one login token."""
        return self._tap.authenticator

    @property
    def requests_session(self) -> requests.Session:
        """One connection pool per tap."""
        return self._tap.session

    def get_records(self, context: Any) -> Iterable[dict]:
        """The records of `read_records`; once they end, buffered output reaches stdout."""
        try:
            yield from self.read_records(context)
        finally:
            writer = self._tap.message_writer
            if isinstance(writer, BufferedSingerWriter):
                writer.flush()

    def read_records(self, context: Any) -> Iterable[dict]:
        """Read the endpoint (the SDK's request loop unless a stream overrides it)."""
        return super().get_records(context)

    def request_decorator(
        self, func: Callable[..., requests.Response], stop: threading.Event | None = None
    ) -> Callable[..., Any]:
        """Pace every try and retry transient failures (replaces the SDK's backoff).

        `stop` abandons the retries of a request nobody will read any more.
        """

        def paced(prepared_request: requests.PreparedRequest, context: Any) -> requests.Response:
            return call_with_retries(
                lambda: func(prepared_request, context),
                what=f"GET {self.path}",
                policy=self._tap.retry_policy,
                pacer=self._tap.pacer,
                logger=self.logger,
                on_token_expired=getattr(self.authenticator, "invalidate", None),
                stop=stop,
            )

        return paced

    def validate_response(self, response: requests.Response) -> None:
        """Classify the answer; runs inside the retry loop, so body errors are retried too."""
        status = response.status_code
        if status == 401:
            raise self.authenticator.rejected(status)
        if status == 403:
            raise FatalResponseError(
                f"GET {self.path} was refused with HTTP 403: the API token lacks Access Control "
                f"permission for this API, or api_url ({self.url_base}) is not the API host of "
                "your account."
            )
        if status == 429:
            raise TransientResponseError(
                "HTTP 429 rate limited", parse_retry_after(response.headers.get("Retry-After"))
            )
        if status >= 500:
            raise TransientResponseError(f"HTTP {status} {_kind_of_body(response)}")
        if status >= 400:
            raise FatalResponseError(
                f"GET {self.path} failed with HTTP {status}: {_short_message(response)}"
            )
        setattr(response, _BODY_ATTR, self._decode(response))

    def _decode(self, response: requests.Response) -> Any:
        try:
            body = decode_json(response.content)
        except (ValueError, RecursionError):
            raise TransientResponseError(
                f"HTTP {response.status_code} with a body that is not JSON "
                f"({_kind_of_body(response)})"
            ) from None
        if isinstance(body, dict) and _is_false(body.get("success")):
            message = str(body.get("message") or "no message")[:120]
            raise TransientResponseError(f"HTTP {response.status_code} success=false: {message}")
        self.check_shape(body)
        return body

    def check_shape(self, body: Any) -> None:
        """Reject a body without the expected records list (retried, then reported)."""
        if self.records_key is None:
            ok = isinstance(body, list)
        else:
            ok = isinstance(body, dict) and isinstance(body.get(self.records_key), list)
        if not ok:
            raise TransientResponseError(
                f"unexpected response shape (no '{self.records_key or '[]'}' list)"
            )

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The records of a page validated by `validate_response`.

        A list rather than a generator: one layer less between each record and the SDK.
        """
        body = response_body(response)
        rows = body if self.records_key is None else body[self.records_key]
        return [row for row in rows if isinstance(row, dict)]

    def response_error_message(self, response: requests.Response) -> str:
        """A short description without headers, which may echo credentials."""
        return f"HTTP {response.status_code} for GET {self.path}: {_short_message(response)}"


def decode_json(content: bytes) -> Any:
    """Parse a body with msgspec (twice as fast as `json.loads` on CDR pages).

    What msgspec refuses but `json.loads` reads (NaN, 1e400, a lone surrogate escape, a
    byte-order mark) goes to `json.loads`, so every body parses exactly as it always did.
    """
    try:
        return _DECODER.decode(content)
    except (msgspec.DecodeError, ValueError):
        return json.loads(content)


def response_body(response: requests.Response) -> Any:
    """The JSON body `validate_response` decoded for this response."""
    return getattr(response, _BODY_ATTR)


def _is_false(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _kind_of_body(response: requests.Response) -> str:
    head = response.content[:200].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html")):
        return "an HTML error page from the gateway"
    if not head:
        return "an empty body"
    return "a truncated or malformed body"


def _short_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return _kind_of_body(response)
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:200] if message else "no message"
