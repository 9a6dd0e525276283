"""call_records, read window by window so that no undocumented API behaviour can lose a call.

Each window is asked for with bounds that are right whether the API's are inclusive or
exclusive (`windows.Window`), read until the API has served every call it counts
(`reading.WindowReader`), audited (`audit.WindowAudit`, stream `sync_windows`) and only then
checkpointed (`bookmarks`). Every record is emitted once per run (`dedupe.RecentIds`) if it
started inside the run's range.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

import requests
from singer_sdk import SchemaDirectory, Stream, StreamSchema
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from tap_acefone import accounts
from tap_acefone.audit import WindowAudit
from tap_acefone.bookmarks import begin, checkpoint, read_bookmark
from tap_acefone.client import AcefoneStream, RequestNote
from tap_acefone.collector import collections_between_pages
from tap_acefone.dedupe import CLOCK_CHANGE_MARGIN
from tap_acefone.derived import add_analyst_fields
from tap_acefone.errors import (
    FatalResponseError,
    IncompleteWindowError,
    SmallerPagesError,
    TransientResponseError,
)
from tap_acefone.pages import Page
from tap_acefone.prefetch import Prefetcher, responsive_threads
from tap_acefone.profile import ApiProfile
from tap_acefone.reading import PageRequest, RunRead, WindowPlan, WindowReader
from tap_acefone.records import RecordShaper, conform_call_record
from tap_acefone.sdk_internals import FastRecordMessages, RecordWriter
from tap_acefone.selfchecks import SyncChecks
from tap_acefone.windows import Window, iso_utc

if TYPE_CHECKING:
    from tap_acefone.tap import TapAcefone

SCHEMAS_DIR = SchemaDirectory(
    next(
        path
        for path in (
            Path(__file__).parent / "schemas",  # installed wheel
            Path(__file__).parent.parent / "schemas",  # source checkout / editable install
        )
        if path.is_dir()
    )
)

# The filter settings passed through to the API under the same name.
FILTER_SETTINGS = (
    "call_type",
    "direction",
    "callerid",
    "destination",
    "did_number",
    "duration",
    "operator",
    "services",
)
# Array filters go out in the PHP form the backend parses: `agents[]=a&agents[]=b`.
ARRAY_FILTER_SETTINGS = ("agents", "department", "ivr")
# Agents are addressed as "agent||<id>" (the API's destination syntax); IDs are accepted bare.
AGENT_PREFIX = "agent||"
# Pages are never shrunk below this many rows when they keep timing out.
MIN_PAGE_SIZE = 25
# A refused page size is halved, down to this one (the documented maximum of the API's
# sibling endpoints, notes §3.3); a refusal of it is the API's real answer.
REFUSED_FLOOR = 100
# How a refusal names the largest page size allowed (Laravel: "... not be greater than 100.").
_MAXIMUM_IN_MESSAGE = re.compile(r"greater than (\d+)")
# An API that answers with calls outside the asked bounds filters on the date alone: a call
# can then come back from any later query of the same local day.
DATE_ONLY_MARGIN = timedelta(days=1) + CLOCK_CHANGE_MARGIN


@dataclass
class PageNote(RequestNote):
    """A request note that knows the page size asked for (to shrink pages that time out)."""

    limit: int = 0


class CallRecordsStream(FastRecordMessages, AcefoneStream):
    """Call detail records, read in closed date windows of the account's local time."""

    name = "call_records"
    path = "/v1/call/records"
    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    replication_key = "started_at"
    is_sorted = False
    schema: ClassVar[StreamSchema] = StreamSchema(SCHEMAS_DIR)
    # Records are coerced to the schema as they are read (records.py), so the SDK's own
    # per-record conformance pass would only repeat that work.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapAcefone) -> None:
        super().__init__(tap)
        self._shaper = RecordShaper(self.schema)
        self._page_size = int(self.config["page_size"])
        self._largest_page = 0
        self._profile = ApiProfile.from_config(self.config)

    @property
    def account_tz(self) -> ZoneInfo:
        """The account's time zone, in which the API reads and writes wall-clock times."""
        return self.tap.account_tz

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """Window bounds in local time, the page, the page size and the configured filters."""
        assert context is not None
        # The query itself when known: a DayWindow (api_profile) asks other bounds.
        window = context.get("query") or Window(context["window_start"], context["window_end"])
        from_date, to_date = window.query_bounds(self.account_tz)
        params: dict[str, Any] = {
            "from_date": from_date,
            "to_date": to_date,
            "page": next_page_token or 1,
            "limit": context["limit"],
        }
        for name in FILTER_SETTINGS:
            if self.config.get(name) not in (None, ""):
                params[name] = self.config[name]
        if self.config.get("broadcast") is not None:
            params["broadcast"] = "true" if self.config["broadcast"] else "false"
        for name in ARRAY_FILTER_SETTINGS:
            if self.config.get(name):
                params[f"{name}[]"] = [_array_filter_value(name, v) for v in self.config[name]]
        return params

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> str:
        """Never bookmark past the end of what this run reads."""
        return iso_utc(self.tap.run_end)

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Read each window until it is complete, then move the bookmark to its end."""
        begin(self)
        plans = self.plan_windows(context)
        checks = SyncChecks(self.account_tz, self._profile, self.logger)
        run = RunRead(tail=self._tail(plans), checks=checks)
        with collections_between_pages() as collector, responsive_threads():
            yield from self._read_windows(plans, run, collector.counting(self.fetch_page))

    def _read_windows(
        self,
        plans: list[WindowPlan],
        run: RunRead,
        fetch_page: Callable[[PageRequest], Page],
    ) -> Iterator[dict[str, Any]]:
        """Each window in turn, its next windows' first pages fetched ahead; then close."""
        fetcher: Prefetcher[PageRequest] = Prefetcher(
            fetch_page, concurrency=int(self.config["max_concurrency"])
        )
        reader = WindowReader(
            fetcher=fetcher,
            run=run,
            conform=self.conform,
            page_size=lambda: self._page_size,
            tz=self.account_tz,
            logger=self.logger,
        )
        # Page 1 of this many next windows is fetched ahead: enough to keep `max_concurrency`
        # requests in flight through windows of one page each, few enough that the current
        # window's other pages still find room in the prefetcher's depth (2 x concurrency).
        ahead = max(1, int(self.config["max_concurrency"]) - 1)
        try:
            for index, plan in enumerate(plans):
                upcoming = plans[index + 1 : index + 1 + ahead]
                following = upcoming[0] if upcoming else None
                audit = yield from reader.read_window(index, plan, upcoming)
                self._finish_window(audit)
                if following is not None:
                    margin = DATE_ONLY_MARGIN if audit.date_only else CLOCK_CHANGE_MARGIN
                    run.recent.forget_before(following.query.start, margin)
        finally:
            fetcher.close()

    def plan_windows(self, context: Context | None) -> list[WindowPlan]:
        """Windows from the bookmark minus the lookback (or start_date) to end_date or now.

        The last window is asked for `lookback_minutes` beyond the run's end: an API that
        filters on the end of a call still returns every call that started before the end
        (calls that started after it are left for the next run).
        """
        start = self.tap.start_date
        lookback = timedelta(minutes=int(self.config["lookback_minutes"]))
        bookmark = read_bookmark(self, context)
        if bookmark is not None:
            start = max(start, bookmark - lookback)
        hours, tz = int(self.config["window_hours"]), self.account_tz
        windows = self._profile.windows(start, self.tap.run_end, hours, tz)
        plans = [WindowPlan(window, window) for window in windows]
        if plans and self._profile.reads_tail:
            last = plans[-1].window
            plans[-1] = WindowPlan(last, Window(last.start, last.end + lookback))
        return plans

    def _tail(self, plans: list[WindowPlan]) -> tuple[float, float] | None:
        """What the last window is asked beyond `end_date`, when one is set."""
        if self.tap.end_date is None or not plans:
            return None
        return plans[-1].window.end.timestamp(), plans[-1].query.end.timestamp()

    def conform(self, row: dict[str, Any], clean: bool = False) -> dict[str, Any] | None:
        """Coerce a row to the schema and add UTC instants and the analyst fields.

        A record without an id is skipped with a warning: no target can upsert it.
        """
        region = self.config["default_region"]
        record = conform_call_record(
            self._shaper,
            row,
            self.account_tz,
            self.config["recording_url_mode"],
            enrich=lambda shaped: add_analyst_fields(shaped, region),
            clean=clean,
        )
        if record is None:
            self.logger.warning(
                "Skipping a call record without an id (call_id %s): no target could upsert it",
                str(row.get("call_id"))[:60],
            )
        return record

    def _finish_window(self, audit: WindowAudit) -> None:
        """Log the window, write its audit row, then checkpoint or stop on a shortfall."""
        tz = self.account_tz
        self._largest_page = max(self._largest_page, audit.page_size)
        self.tap.audit_stream.write_row(audit.row(**self.tap.run_identity, tz=tz))
        if audit.complete:
            self.logger.info("Window %s: %s", audit.window.describe(tz), audit.describe())
            checkpoint(self, self.tap, audit.window.end)
            return
        missing = (
            "every call: it sends no count, and served some rows twice, so completeness "
            "cannot be shown"
            if audit.shortfall is None
            else f"{audit.shortfall} of the {audit.api_count} calls it counted"
        )
        message = (
            f"Window {audit.window.describe(tz)}: the API did not serve {missing}, even after "
            f"splitting the window and reading it again ({audit.describe()})"
        )
        if self.config["on_incomplete_window"] == "continue":
            self.logger.warning("%s; continuing (on_incomplete_window is continue)", message)
            checkpoint(self, self.tap, audit.window.end)
            return
        raise IncompleteWindowError(
            f"{message}. The bookmark stays before this window. If this account's count is "
            "known to be wrong, set on_incomplete_window to continue."
        )

    def fetch_page(self, request: PageRequest) -> Page:
        """One page of a query, along the one request path (runs on a fetch-ahead thread)."""
        context = {
            "window_start": request.query.start,
            "window_end": request.query.end,
            "query": request.query,
            "limit": request.limit,
        }
        note = PageNote(limit=request.limit)
        request.notes.append(note)
        http = self.get_http_request(page=PageContext(context, request.page))
        return self.fetch(http, note)

    @override
    def send_once(self, prepared: requests.PreparedRequest, note: RequestNote) -> Page:
        """As every stream, but pages that time out twice, or are refused, are asked smaller.

        The query is then read again from page 1 in smaller pages (`SmallerPagesError`).
        """
        try:
            return super().send_once(prepared, note)
        except (requests.exceptions.Timeout, TransientResponseError) as exc:
            if isinstance(note, PageNote) and _too_slow(exc):
                note.slow_failures += 1
                if note.slow_failures >= 2 and note.limit > MIN_PAGE_SIZE:
                    served = min(note.limit, self._largest_page or note.limit)
                    self._shrink_pages(max(MIN_PAGE_SIZE, served // 2), "keep timing out")
                    raise SmallerPagesError(note.limit) from None
            raise
        except FatalResponseError as exc:
            smaller = _allowed_page_size(exc, note)
            if smaller is not None:
                self._shrink_pages(smaller, "are refused")
                raise SmallerPagesError(smaller) from None
            raise

    def _shrink_pages(self, smaller: int, why: str) -> None:
        if smaller < self._page_size:
            self.logger.warning(
                "Pages of %d calls %s; asking for %d at a time from now on "
                "(set page_size to %d to start there)",
                self._page_size,
                why,
                smaller,
                smaller,
            )
            self._page_size = smaller


class SyncWindowsStream(Stream):
    """The audit trail of call_records: one row per window read (see `audit.py`)."""

    name = "sync_windows"
    primary_keys: ClassVar[tuple[str, ...]] = ("run_id", "window_start")
    replication_key = None
    schema: ClassVar[StreamSchema] = StreamSchema(SCHEMAS_DIR)

    def __init__(self, tap: TapAcefone) -> None:
        super().__init__(tap)
        accounts.bind(self, tap)  # the account_id column, key and stamp, when set
        self._writer = RecordWriter(self, tap)

    @override
    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Nothing of its own: call_records writes each row as its window completes."""
        return iter(())

    def write_row(self, row: dict[str, Any]) -> None:
        """Write one audit row now, so it reaches the target before the window's STATE.

        It goes through `post_process`, as the SDK's own records do (the account stamp).
        """
        record = self.post_process(row)
        if record is not None:
            self._writer.write([record])


def _allowed_page_size(exc: FatalResponseError, note: RequestNote) -> int | None:
    """The page size to ask instead of one the API refused, if a smaller one may do.

    APIs refuse a parameter out of range with 400 or 422. When the message names the largest
    size allowed ("must not be greater than 100"), that is it; otherwise the size is halved,
    down to `REFUSED_FLOOR`, below which a refusal is not about the page size.
    """
    if not isinstance(note, PageNote) or exc.status not in (400, 422):
        return None
    named = _MAXIMUM_IN_MESSAGE.search(exc.detail)
    if named is not None and 0 < int(named.group(1)) < note.limit:
        return int(named.group(1))
    if named is None and note.limit > REFUSED_FLOOR:
        return max(REFUSED_FLOOR, note.limit // 2)
    return None


def _too_slow(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    return isinstance(exc, TransientResponseError) and exc.status == 504


def _array_filter_value(name: str, value: object) -> str:
    text = str(value).strip()
    if name == "agents" and "|" not in text:
        return AGENT_PREFIX + text
    return text
