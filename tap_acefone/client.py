"""The base REST stream: the one request path every stream takes, and what each answer means.

Every request of every stream goes through `AcefoneStream.fetch`: built by the SDK's
`get_http_request`, sent along `request_decorator` (python-backoff through the SDK's
`backoff_*` hooks, the shared pacer, one login renewal), classified by `validate_response`
and decoded once into a `Page`, which the stream then reads. Nothing is stored on the
response object: values travel as return values.

The Acefone API reports trouble in several shapes: HTTP 429 with `success` as the *string*
"false", HTML pages from its AWS gateway (even with status 200), 403 for an unknown path, and
bodies cut short. `validate_response` and `read_page` turn every shape into either a transient
error (retried) or a fatal one with a message the user can act on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import msgspec
import requests
from backoff.types import Details
from singer_sdk.helpers.types import Context
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import HTTPRequest, PageContext
from typing_extensions import override

from tap_acefone import accounts
from tap_acefone.auth import AcefoneAuthenticator
from tap_acefone.errors import FatalResponseError, TransientResponseError
from tap_acefone.output import BufferedSingerWriter
from tap_acefone.pacing import header_number
from tap_acefone.pages import Page
from tap_acefone.records import may_hold_unstorable_text
from tap_acefone.retries import RetryLog, jittered, paced_tries, parse_retry_after, with_retries

if TYPE_CHECKING:
    from tap_acefone.tap import TapAcefone

T = TypeVar("T")
_DECODER = msgspec.json.Decoder()


@dataclass
class RequestNote:
    """What it took to get one answer: tries sent, and the slow ones among them.

    Passed along the request path in place of the SDK's context, so a caller can count the
    requests it cost (the audit stream) without any shared counter.
    """

    tries: int = 0
    slow_failures: int = 0


class AcefoneStream(RESTStream[Any]):
    """Shared HTTP behaviour of every Acefone stream."""

    # Where the records are in the body; None for an endpoint answering with a bare list.
    records_key: ClassVar[str | None] = "results"

    @override
    def __init__(self, tap: TapAcefone, **kwargs: Any) -> None:
        super().__init__(tap, **kwargs)
        self.tap: TapAcefone = tap
        accounts.bind(self, tap)  # the account_id column, key and stamp, when set
        self._stop = threading.Event()

    @property
    @override
    def url_base(self) -> str:
        """The brand's API host (Acefone, Servetel, Smartflo or UK)."""
        return str(self.config["api_url"]).rstrip("/")

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        """Ask for JSON and identify the tap."""
        return {"Accept": "application/json", "User-Agent": self.tap.user_agent}

    @property
    @override
    def timeout(self) -> int:
        """Per-request timeout: CDR pages of a busy day can take many seconds."""
        return int(self.config["request_timeout"])

    @property
    @override
    def authenticator(self) -> AcefoneAuthenticator:
        """One authenticator per tap, so every stream shares one login token."""
        return self.tap.authenticator

    @property
    @override
    def requests_session(self) -> requests.Session:
        """One connection pool per tap."""
        return self.tap.session

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        """None for a stream without child streams (all of ours).

        The SDK's default yields one per record anyway, and then checks each record against
        the stream maps to sync children that do not exist: 2 to 3 µs a record.
        """
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The records of `read_records`; once they end, buffered output reaches stdout.

        Ending (normally, by an error or because the SDK stopped early) abandons every
        request still fetched ahead for this stream.
        """
        self._stop.clear()
        try:
            yield from self.read_records(context)
        finally:
            self._stop.set()
            writer = self.tap.message_writer
            if isinstance(writer, BufferedSingerWriter):
                writer.flush()

    def read_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Read the endpoint page after page until `next_page_token` says there is no more."""
        token: Any = None
        with self.get_http_request_counter() as counter:
            counter.with_context(context)
            while True:
                page = self.fetch(self.get_http_request(page=PageContext(context, token)))
                counter.increment()
                yield from (self.shape(row, page) for row in page.rows)
                token = self.next_page_token(page, token)
                if token is None:
                    return

    def next_page_token(self, page: Page, previous: Any) -> Any:
        """The token of the page after `page`; None when it was the last (one page here)."""
        return None

    def shape(self, row: dict[str, Any], page: Page) -> dict[str, Any]:
        """A row as the stream's record (streams coerce it to their schema)."""
        return row

    def fetch(self, request: HTTPRequest, note: RequestNote | None = None) -> Page:
        """Send `request` along the one request path and return its decoded page."""
        prepared = self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
        )
        return self._send_with_retries(prepared, note or RequestNote())

    @cached_property
    def _send_with_retries(self) -> Callable[[requests.PreparedRequest, RequestNote], Page]:
        return self.request_decorator(self.send_once)

    def send_once(self, prepared: requests.PreparedRequest, note: RequestNote) -> Page:
        """One try: authenticate, send, classify, decode."""
        note.tries += 1
        authenticated = self.authenticator(prepared)
        response = self.requests_session.send(
            authenticated, timeout=self.timeout, allow_redirects=self.allow_redirects
        )
        self.tap.pacer.observe(response.headers)
        self.validate_response(response)
        page = self.read_page(response)
        self.tap.pacer.succeeded()
        return page

    @override
    def request_decorator(self, func: Callable[..., T]) -> Callable[..., T]:
        """Pace every try and retry transient failures, through the SDK's backoff hooks.

        The SDK's own decorator is this plus pacing, the login renewal and abandoning: its
        signature is kept, but `func` may return a `Page` rather than a response.
        """
        tries = paced_tries(
            func,
            what=f"GET {self.path}",
            pacer=self.tap.pacer,
            logger=self.logger,
            on_token_expired=self.authenticator.invalidate,
            stop=self._stop,
        )
        return with_retries(
            tries,
            wait_gen=self.backoff_wait_generator,
            max_tries=self.backoff_max_tries,
            jitter=self.backoff_jitter,
            on_backoff=self.backoff_handler,
            on_giveup=self._retry_log.on_giveup,
        )

    @cached_property
    def _retry_log(self) -> RetryLog:
        return RetryLog(
            what=f"GET {self.path}",
            max_tries=self.tap.retry_policy.max_tries,
            pacer=self.tap.pacer,
            logger=self.logger,
        )

    @override
    def backoff_wait_generator(self) -> Generator[float, BaseException | None, None]:
        """Exponential waits, or exactly what the server's `Retry-After` asks."""
        return self.tap.retry_policy.wait_times()

    @override
    def backoff_max_tries(self) -> int:
        """`max_tries`."""
        return self.tap.retry_policy.max_tries

    @override
    def backoff_jitter(self, value: float) -> float:
        """Spread exponential waits; a server's `Retry-After` is honoured exactly."""
        return jittered(value)

    @override
    def backoff_handler(self, details: Details) -> None:
        """One warning per retry; after a 429, the pacer slows down and holds."""
        self._retry_log.on_backoff(details)

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify the status; runs inside the retry loop."""
        status = response.status_code
        if status == 401:
            sent = response.request.headers.get("Authorization")
            raise self.authenticator.rejected(status, sent)
        if status == 403:
            raise FatalResponseError(
                f"GET {self.path} was refused with HTTP 403: the API token lacks Access Control "
                f"permission for this API, or api_url ({self.url_base}) is not the API host of "
                "your account."
            )
        if status == 429:
            raise TransientResponseError(
                "HTTP 429 rate limited",
                self._server_wait(response),
                throttled=True,
                status=status,
            )
        if status >= 500:
            raise TransientResponseError(f"HTTP {status} {_kind_of_body(response)}", status=status)
        if status >= 400:
            detail = _short_message(response)
            raise FatalResponseError(
                f"GET {self.path} failed with HTTP {status}: {detail}", status=status, detail=detail
            )

    def _server_wait(self, response: requests.Response) -> float | None:
        """How long a 429 asks us to wait: `Retry-After`, else `X-RateLimit-Reset`."""
        wait = parse_retry_after(response.headers.get("Retry-After"))
        at = header_number(response.headers.get("X-RateLimit-Reset"))
        if wait is None and at is not None:
            wait = self.tap.pacer.seconds_until(at)
        return wait

    def read_page(self, response: requests.Response) -> Page:
        """Decode an answer the status says is good; a body that is not one is transient."""
        try:
            body = decode_json(response.content)
        except (ValueError, RecursionError):
            raise TransientResponseError(
                f"HTTP {response.status_code} with a body that is not JSON "
                f"({_kind_of_body(response)})"
            ) from None
        if isinstance(body, dict) and _is_false(body.get("success")):
            message = str(body.get("message") or "no message")[:120]
            raise TransientResponseError(
                f"HTTP {response.status_code} success=false: {message}",
                throttled="too many" in message.lower(),
            )
        if not self._has_records(body):
            raise TransientResponseError(
                f"unexpected response shape (no '{self.records_key or '[]'}' list)"
            )
        clean = not may_hold_unstorable_text(response.content)
        return Page.from_body(body, self.records_key, clean=clean)

    def _has_records(self, body: Any) -> bool:
        if self.records_key is None:
            return isinstance(body, list)
        return isinstance(body, dict) and isinstance(body.get(self.records_key), list)

    @override
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
