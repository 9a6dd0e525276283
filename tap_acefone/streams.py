"""The streams the tap offers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import requests
from singer_sdk import SchemaDirectory, StreamSchema
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams.rest import PageContext

from tap_acefone.bookmarks import begin, checkpoint, read_bookmark
from tap_acefone.client import AcefoneStream, response_body
from tap_acefone.derived import add_analyst_fields
from tap_acefone.pagination import EnvelopePaginator, read_pages
from tap_acefone.records import RecordShaper, conform_call_record, may_hold_unstorable_text
from tap_acefone.windows import Window, iso_utc, iter_windows

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
# A window is read again when fewer distinct records arrived than the API counted (rows
# shifting between pages while calls land); after this many passes the shortfall is reported.
MAX_WINDOW_PASSES = 3


@dataclass
class WindowProgress:
    """What reading one window took, for its log line and completeness check."""

    window: Window
    started: float = field(default_factory=time.monotonic)
    pages: int = 0
    count: int | None = None
    emitted: int = 0
    ids: set[str] = field(default_factory=set)


class CallRecordsStream(AcefoneStream):
    """Call detail records, read in closed date windows of the account's local time."""

    name = "call_records"
    path = "/v1/call/records"
    primary_keys = ("id",)
    replication_key = "started_at"
    is_sorted = False
    schema: ClassVar[StreamSchema] = StreamSchema(SCHEMAS_DIR)
    # post_process already coerces every field to its declared type (records.py), so the
    # SDK's own per-record conformance pass would only repeat that work.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shaper = RecordShaper(self.schema)
        self._progress: WindowProgress | None = None
        self._page_is_clean = False

    @property
    def account_tz(self) -> ZoneInfo:
        """The account's time zone, in which the API reads and writes wall-clock times."""
        return self._tap.account_tz

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict:
        """Window bounds in local time, the page, the page size and the configured filters."""
        assert context is not None
        window = Window(context["window_start"], context["window_end"])
        from_date, to_date = window.query_bounds(self.account_tz)
        params: dict[str, Any] = {
            "from_date": from_date,
            "to_date": to_date,
            "page": next_page_token or 1,
            "limit": self.config["page_size"],
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

    def get_new_paginator(self) -> EnvelopePaginator:
        """Page numbers until the envelope says the window is exhausted."""
        return EnvelopePaginator()

    def get_replication_key_signpost(self, context: Context | None = None) -> str:
        """Never bookmark past the end of what this run reads."""
        return iso_utc(self._tap.run_end)

    def read_records(self, context: Context | None) -> Iterator[dict]:
        """Read each window to the end, then move the bookmark to the window's end.

        Records are emitted as they arrive, in whatever order the API uses; a record seen
        in this window or the previous one is not emitted twice. The previous window's ids
        are kept only when the two windows' local bounds overlap (around the autumn clock
        change): elsewhere no record can come back, and one window's ids are memory enough.
        """
        previous_ids: set[str] = set()
        begin(self)
        windows = self.plan_windows(context)
        for window, following in zip(windows, [*windows[1:], None], strict=True):
            progress = WindowProgress(window)
            self._progress = progress
            for record in self._read_window(progress):
                record_id = str(record.get("id"))
                if record_id in progress.ids:
                    continue
                progress.ids.add(record_id)
                if record_id not in previous_ids:
                    progress.emitted += 1
                    yield record
            checkpoint(self, window.end)
            self._log_window(progress)
            overlaps = following is not None and window.overlaps_locally(following, self.account_tz)
            previous_ids = progress.ids if overlaps else set()
            self._progress = None

    def plan_windows(self, context: Context | None) -> list[Window]:
        """Windows from the bookmark minus the lookback (or start_date) to end_date or now."""
        start = self._tap.start_date
        bookmark = read_bookmark(self, context)
        if bookmark is not None:
            lookback = timedelta(minutes=int(self.config["lookback_minutes"]))
            start = max(start, bookmark - lookback)
        return list(iter_windows(start, self._tap.run_end, int(self.config["window_hours"])))

    def _read_window(self, progress: WindowProgress) -> Iterable[dict]:
        """Page through the window, again if pages shifted and records went missing."""
        for attempt in range(1, MAX_WINDOW_PASSES + 1):
            window = progress.window
            yield from self.request_records(
                {"window_start": window.start, "window_end": window.end}
            )
            if progress.count is None or len(progress.ids) >= progress.count:
                return
            if attempt < MAX_WINDOW_PASSES:
                self.logger.info(
                    "Window %s: %d distinct records of %d counted; reading it again",
                    progress.window.describe(self.account_tz),
                    len(progress.ids),
                    progress.count,
                )
        self.logger.warning(
            "Window %s: the API counted %d records but served %d distinct ones after %d "
            "passes; continuing with what it served",
            progress.window.describe(self.account_tz),
            progress.count,
            len(progress.ids),
            MAX_WINDOW_PASSES,
        )

    def request_records(self, context: Context | None) -> Iterable[dict]:
        """Read one window's pages, fetching ahead concurrently, and yield rows in page order."""
        stop = threading.Event()
        send = self.request_decorator(self._request, stop=stop)

        def fetch(page: int) -> requests.Response:
            return send(self._prepare_page(context, page), context)

        concurrency = int(self.config["max_concurrency"])
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            pages = read_pages(fetch, self.get_new_paginator(), concurrency=concurrency, stop=stop)
            for response in pages:
                request_counter.increment()
                yield from self.parse_response(response)

    def _prepare_page(self, context: Context | None, page: int) -> requests.PreparedRequest:
        request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=page)
        )
        return self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
        )

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """Count pages and the API's total for the window; the page's rows.

        Also notes whether this page can hold text needing repair: its rows are processed
        before the next page is parsed.
        """
        self._page_is_clean = not may_hold_unstorable_text(response.content)
        if self._progress is not None:
            self._progress.pages += 1
            count = response_body(response).get("count")
            if isinstance(count, int) and not isinstance(count, bool):
                self._progress.count = count
        return super().parse_response(response)

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Coerce every field to its type; add UTC instants and the analyst fields.

        A record without an id is skipped with a warning: no target can upsert it.
        """
        region = self.config["default_region"]
        record = conform_call_record(
            self._shaper,
            row,
            self.account_tz,
            self.config["recording_url_mode"],
            enrich=lambda shaped: add_analyst_fields(shaped, region),
            clean=self._page_is_clean,
        )
        if record is None:
            self.logger.warning(
                "Skipping a call record without an id (call_id %s): no target could upsert it",
                str(row.get("call_id"))[:60],
            )
        return record

    def _generate_record_messages(self, record: dict) -> Iterator[RecordMessage]:
        """The SDK's record messages, minus a walk that cannot change anything here.

        The SDK walks every property of every record (and into every object) looking for
        deselected ones, even when none is: the largest single cost of writing a record.
        `post_process` already returns exactly the schema's properties with conforming
        values (TYPE_CONFORMANCE_LEVEL NONE), so without a deselected property the walk can
        change nothing. With one, or with conformance on, the SDK's own path runs.
        """
        if self._deselects_properties or self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=datetime.now(timezone.utc),
                )

    @cached_property
    def _deselects_properties(self) -> bool:
        return not all(selected for breadcrumb, selected in self.mask.items() if breadcrumb)

    def _log_window(self, progress: WindowProgress) -> None:
        self.logger.info(
            "Window %s: %d pages, %d records, %.1f s",
            progress.window.describe(self.account_tz),
            progress.pages,
            progress.emitted,
            time.monotonic() - progress.started,
        )


def _array_filter_value(name: str, value: object) -> str:
    text = str(value).strip()
    if name == "agents" and "|" not in text:
        return AGENT_PREFIX + text
    return text
