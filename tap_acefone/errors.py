"""The tap's failure vocabulary.

Every error a user can see is an `AcefoneError`: one line that says what failed and what to
do, and never contains a token, password or signed URL. Transient failures are
`RetriableAPIError`s, which the request loop retries before giving up with `GaveUpError`.
"""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError


class AcefoneError(Exception):
    """A failure reported to the user as one clear line; the run exits non-zero."""


class SettingsError(AcefoneError):
    """A setting is missing, malformed or inconsistent."""


class StateError(AcefoneError):
    """The incoming Singer state cannot be used."""


class FatalResponseError(AcefoneError, FatalAPIError):
    """The API refused the request in a way retrying cannot fix (401 static token, 403, 4xx).

    `status` is the HTTP status when the refusal was one; `detail` the API's own message.
    """

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class GaveUpError(AcefoneError):
    """A transient failure persisted through every allowed try."""


class IncompleteWindowError(AcefoneError):
    """The API counted more calls in a window than it served (on_incomplete_window fail)."""


class TransientResponseError(RetriableAPIError):
    """A failure worth retrying: 429, 5xx, a gateway page, a cut or invalid body.

    `throttled` marks the server saying "too many requests" (the pacer slows down);
    `retry_after` is how long it asked us to wait, when it said; `status` is the HTTP status
    when the failure was one.
    """

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        throttled: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.throttled = throttled
        self.status = status


class TokenExpiredError(TransientResponseError):
    """A login token was refused: log in again, then retry once.

    `sent` is the Authorization header the refused request carried, so that of several
    requests refused together only the first makes the tap log in again.
    """

    def __init__(self, message: str, *, sent: str | None = None) -> None:
        super().__init__(message)
        self.sent = sent


class SmallerPagesError(Exception):
    """Pages of this size keep timing out, or are refused: the query is read again smaller."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"pages of {limit} rows cannot be read")
        self.limit = limit


class AbandonedError(Exception):
    """A fetched-ahead request whose result nobody will read any more (the run is ending)."""


class TimezoneMismatchError(AcefoneError):
    """The records' own clocks say the account keeps another time zone than `timezone`."""


class ApiProfileMismatchError(AcefoneError):
    """The API serves something the pinned `api_profile` says it never would."""
