"""The probe: a minute against a live account answers every question the vendor leaves open.

Read-only and bounded (`MAX_REQUESTS`, plus `BURST_MAX` with `find_rate_limit`), paced by the
tap's own pacer at `requests_per_second`, and sent through the tap's one request path
(`AcefoneStream.fetch`: auth, retries, error handling): the probe asks what a sync would ask,
only narrower. It chooses its questions from calls it has already seen:

1. a page of the last day's calls (the last week, the last month, if the day was empty);
2. the same page again, and page 2: is the order stable between requests and across pages;
3. `limit` left out, 5 and 1000 (500, 200 if that fails): the default and largest page, whether
   `limit` is honoured and echoed, the latency per page size; the last page and the one
   after it: what a page past the end holds;
4. windows of a few seconds around one call's start and end: whether the API filters on the
   start or the end, to the second or by date; then `[f-1, f]`, `[f, f+1]`, `[f, f]`:
   whether `to_date` and `from_date` are inclusive;
5. the offset between each record's own Unix time and its wall clock, against `timezone`;
6. the login's `expires_in` and a refresh (with email/password); each reference endpoint;
7. the rate-limit headers of every answer; with `find_rate_limit`, requests as fast as they
   go until the first 429 (after a short rest), whose wait says the period.

Every finding is a type, a count, a choice or a duration (`probe_report` renders them):
nothing of a record, no URL, no token.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from importlib import metadata
from typing import Any, cast

import requests
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from tap_acefone import probe_checks as checks
from tap_acefone.auth import LoginAuthenticator
from tap_acefone.client import AcefoneStream
from tap_acefone.clocks import format_offset, offset_report
from tap_acefone.errors import AcefoneError
from tap_acefone.pacing import Pacer
from tap_acefone.pages import Page
from tap_acefone.reference import PermissionDeniedError
from tap_acefone.retries import RETRIABLE_ERRORS, RetryPolicy
from tap_acefone.selfchecks import local_start
from tap_acefone.settings import API_HOSTS
from tap_acefone.streams import AGENT_PREFIX, CallRecordsStream
from tap_acefone.tap import TapAcefone
from tap_acefone.windows import Window, to_local

# The most requests the probe sends without --find-rate-limit (retries included).
MAX_REQUESTS = 40
# With --find-rate-limit: at most this many more, as fast as they go, until the first 429.
BURST_MAX = 300
BURST_RATE = 1000.0
BURST_WORKERS = 16
# Seconds of rest before the burst, so a per-second limiter has forgotten earlier requests.
REST_SECONDS = 2.0
# Tries per request (the probe asks small, cheap questions; a failure is itself an answer).
PROBE_TRIES = 3
PAGE = 100
LARGE_PAGES = (1000, 500, 200)
SMALL_PAGE = 5
# Look this far back for calls: a day, then a week, then a month.
SPANS = (timedelta(days=1), timedelta(days=7), timedelta(days=31))
FAR_PAGE = 10_000
# A window longer than the ~30 days some integrations keep to ("Tata API limitation").
LONG_WINDOW_DAYS = 45
REFERENCE = ("users", "departments", "ivrs", "my_numbers")


class ProbeBudgetError(Exception):
    """The probe reached its request budget."""


# What a probe request may fail with and still be an answer to report.
PROBE_FAILURES: tuple[type[Exception], ...] = (AcefoneError, *RETRIABLE_ERRORS)


# ... or may end because the probe's budget is spent.
FAILED_OR_SPENT: tuple[type[Exception], ...] = (ProbeBudgetError, *PROBE_FAILURES)


class ProbePacer(Pacer):
    """The tap's pacer on the probe's clock, counting every request against the budget.

    The probe asks one question at a time (the burst aside), so a wait never needs to be
    abandoned: it always sleeps on the probe's own clock, which tests drive by hand.
    """

    def __init__(self, rate: float, *, budget: int, **clocks: Any) -> None:
        super().__init__(rate, **clocks)
        self.budget = budget
        self.sent = 0
        self._count_lock = threading.Lock()

    @override
    def wait(self, stop: threading.Event | None = None) -> bool:
        """Wait for the next start, if the budget allows one more request."""
        with self._count_lock:
            if self.sent >= self.budget:
                raise ProbeBudgetError(f"the probe's budget of {self.budget} requests is spent")
            self.sent += 1
        return super().wait(None)

    @contextmanager
    def running_at(self, rate: float, *, more: int) -> Iterator[None]:
        """Pace at `rate` and allow `more` requests for a while (the burst)."""
        saved = self.configured, self.current, self.budget
        self.configured = self.current = rate
        self.budget = self.sent + more
        try:
            yield
        finally:
            self.configured, self.current = saved[0], saved[1]
            self.budget = max(saved[2], self.sent)


class ProbeTap(TapAcefone):
    """The tap with the probe's pacer and fewer tries; otherwise the very same machinery."""

    def __init__(self, *, probe_clock: ProbeClock, **kwargs: Any) -> None:
        self._probe_clock = probe_clock
        self.tries = PROBE_TRIES
        super().__init__(**kwargs)

    @cached_property
    @override
    def pacer(self) -> ProbePacer:
        """Paced at `requests_per_second`, on the probe's clock, within the budget."""
        clock = self._probe_clock
        return ProbePacer(
            float(self.config["requests_per_second"]),
            budget=MAX_REQUESTS,
            clock=clock.monotonic,
            sleep=clock.sleep,
            wall_clock=clock.wall,
        )

    @property
    @override
    def retry_policy(self) -> RetryPolicy:
        """At most `PROBE_TRIES` tries (fewer if `max_tries` says so)."""
        return RetryPolicy(max_tries=min(int(self.config["max_tries"]), self.tries))


@dataclass(frozen=True)
class ProbeClock:
    """What the probe runs on: the machine's clocks, or a test's hand-driven ones."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Any] = time.sleep
    wall: Callable[[], float] = time.time


@dataclass
class Answer:
    """One page the probe read, and how long it took."""

    page: Page | None
    seconds: float
    bounds: tuple[str, str]
    limit: int | None
    failure: str | None = None

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The page's rows (none for a failed request)."""
        return self.page.rows if self.page is not None else []

    @property
    def ids(self) -> list[str]:
        """The page's ids, in order."""
        return checks.row_ids(self.rows)

    @property
    def count(self) -> int | None:
        """The envelope's count, read leniently."""
        return self.page.count if self.page is not None else None


@dataclass
class Probe:
    """One run of the probe against the account a tap config describes."""

    config: Mapping[str, Any]
    parse_env: bool = False
    find_rate_limit: bool = False
    clock: ProbeClock = field(default_factory=ProbeClock)
    burst_workers: int = BURST_WORKERS
    report: dict[str, Any] = field(default_factory=dict)
    observations: list[checks.Observation] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)
    narrow: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tap = ProbeTap(
            probe_clock=self.clock,
            config=dict(self.config),
            parse_env_config=self.parse_env,
            validate_config=True,
            setup_mapper=False,
        )
        self.stream: CallRecordsStream = self.tap.streams["call_records"]  # type: ignore[assignment]
        self.tz = self.tap.account_tz
        self._lock = threading.Lock()
        self._sent_at: dict[int, float] = {}
        self.tap.session.hooks["response"].append(self._observe)
        self._send = self.tap.session.send
        self.tap.session.send = self._timed_send  # type: ignore[method-assign]

    # -- the run ----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Ask every question; return the report (see `probe_report` for its shape)."""
        started = self.clock.monotonic()
        report = self.report
        report.update(_identity(self.tap), find_rate_limit=self.find_rate_limit)
        try:
            window, first = self._discover()
            if first is not None and first.rows:
                self._ordering_and_paging(window, first)
                self._bounds(window)
                self._timezone()
                self._open_questions(window, first)
            self._auth(window)
            self._reference()
            report["rate_limit"] = self._headers()
            if self.find_rate_limit:
                report["rate_limit"]["measured"] = self._find_rate_limit(window)
        except ProbeBudgetError as exc:
            report["stopped"] = str(exc)
        except AcefoneError as exc:
            report["stopped"] = f"{type(exc).__name__}: the API refused a request"
            self.tap.logger.error("The probe stopped: %s", exc)
        report["requests"] = self.tap.pacer.sent
        report["seconds"] = round(self.clock.monotonic() - started, 3)
        report["recommended"] = recommend(report, self.config_values())
        return report

    def config_values(self) -> dict[str, Any]:
        """The settings a recommendation starts from."""
        config = self.tap.config
        return {
            "page_size": int(config["page_size"]),
            "requests_per_second": float(config["requests_per_second"]),
            "window_hours": int(config["window_hours"]),
            "timezone": str(config["timezone"]),
        }

    # -- 1. calls to ask about ---------------------------------------------------------
    def _discover(self) -> tuple[Window, Answer | None]:
        end = self.tap.end_date or datetime.now(timezone.utc).replace(microsecond=0)
        answer: Answer | None = None
        window = Window(end - SPANS[0], end)
        for span in SPANS:
            window = Window(end - span, end)
            answer = self._ask(window.query_bounds(self.tz), PAGE)
            if answer.rows:
                break
        days = (window.end - window.start).total_seconds() / 86400
        count = answer.count if answer is not None else None
        self.report["volume"] = {
            "looked_back_days": round(days),
            "calls_found": count if count is not None else (len(answer.rows) if answer else 0),
            "calls_per_day": round(count / days, 1) if count is not None else None,
        }
        return window, answer

    # -- 2, 3. ordering, paging, envelope ---------------------------------------------
    def _ordering_and_paging(self, window: Window, first: Answer) -> None:
        bounds = window.query_bounds(self.tz)
        again = self._ask(bounds, PAGE)
        more = first.count is None or first.count > len(first.rows)
        second = self._ask(bounds, PAGE, page=2) if more else None
        tries = [self._limit_try(first)]
        tries.append(self._limit_try(self._ask(bounds, None)))
        tries.append(self._limit_try(self._ask(bounds, SMALL_PAGE)))
        for size in LARGE_PAGES:
            # One try each: a large page that fails is the answer (the next size is asked).
            self.tap.tries = 1
            try:
                large = self._ask(bounds, size, tolerate=True)
            finally:
                self.tap.tries = PROBE_TRIES
            tries.append(self._limit_try(large))
            if large.page is not None:
                break
        past, last = self._past_end(bounds, first)
        order = checks.ordering(first.rows, last.rows if last else [])
        overlap = len(set(first.ids) & set(second.ids)) if second is not None else None
        self.report["ordering"] = {
            "order": order.order,
            "sort_key": order.sort_key,
            "same_order_on_identical_requests": first.ids == again.ids,
            "same_rows_on_identical_requests": set(first.ids) == set(again.ids),
            "tied_rows_on_page_1": checks.tied_rows(first.rows, order.sort_key),
            "rows_repeated_on_page_2": overlap,
        }
        found = checks.paging(tries)
        self.report["paging"] = {
            **dataclasses.asdict(found),
            "past_end": past,
        }
        meta = first.page.meta if first.page is not None else {}
        self.report["envelope"] = {
            key: checks.number_type(meta, key) for key in ("count", "limit", "size", "page")
        }
        self.report["latency"] = [
            {
                "limit": t.asked,
                "rows": t.served,
                "seconds": round(t.seconds, 3),
                "ms_per_row": round(1000 * t.seconds / t.served, 2) if t.served else None,
                "failure": t.failure,
            }
            for t in sorted(tries, key=lambda t: t.asked or 0)
        ]

    def _limit_try(self, answer: Answer) -> checks.LimitTry:
        page = answer.page
        return checks.LimitTry(
            asked=answer.limit,
            served=page.size if page is not None else None,
            echoed=page.limit if page is not None else None,
            count=page.count if page is not None else None,
            seconds=answer.seconds,
            failure=answer.failure,
        )

    def _past_end(self, bounds: tuple[str, str], first: Answer) -> tuple[str, Answer | None]:
        """What a page past the last holds: nothing, the last page again, or other rows."""
        size = len(first.rows)
        if first.count is not None and size:
            last_number = max(1, math.ceil(first.count / size))
            last = self._ask(bounds, PAGE, page=last_number) if last_number > 1 else first
            past = self._ask(bounds, PAGE, page=last_number + 1)
        else:
            last = self._ask(bounds, PAGE, page=FAR_PAGE)
            past = self._ask(bounds, PAGE, page=FAR_PAGE + 1)
            if not last.rows:
                return "empty", None
        if not past.rows:
            return "empty", last
        if past.ids == last.ids:
            return "repeats_last_page", last
        return "other_rows", last

    # -- 4. bounds ---------------------------------------------------------------------
    def _bounds(self, window: Window) -> None:
        pivot = checks.pick_pivot(self.seen)
        if pivot is None:
            self.report["bounds"] = dataclasses.asdict(checks.Bounds())
            return
        pivot_id = str(pivot["id"])
        start, end = local_start(pivot), checks.local_end(pivot)
        assert start is not None
        assert end is not None
        around_start = self._narrow(checks.shift(start, -1), checks.shift(start, 1))
        if checks.outside_rows(around_start.rows, around_start.bounds):
            found = checks.bounds_from(
                date_only=True,
                in_start_window=None,
                in_end_window=None,
                end_date_filter=self._end_date_filter(),
            )
        else:
            around_end = self._narrow(checks.shift(end, -1), checks.shift(end, 1))
            found = checks.bounds_from(
                date_only=False,
                in_start_window=pivot_id in around_start.ids,
                in_end_window=pivot_id in around_end.ids,
            )
            edge = {"start": start, "end": end}.get(found.filter_on)
            if edge is not None:
                to_edge = self._narrow(checks.shift(edge, -1), edge)
                from_edge = self._narrow(edge, checks.shift(edge, 1))
                both = self._narrow(edge, edge)
                found = checks.bounds_from(
                    date_only=False,
                    in_start_window=pivot_id in around_start.ids,
                    in_end_window=pivot_id in around_end.ids,
                    in_to_edge=pivot_id in to_edge.ids,
                    in_from_edge=pivot_id in from_edge.ids,
                    in_both_edges=pivot_id in both.ids,
                )
        self.report["bounds"] = dataclasses.asdict(found)
        self.report["count_on_one_page_answers"] = self._count_check()

    def _narrow(self, low: str, high: str) -> Answer:
        answer = self._ask((low, high), PAGE)
        self.narrow.append(answer)
        return answer

    def _end_date_filter(self) -> bool | None:
        """On a date-only API, whether a call crossing midnight comes back for its end date."""
        crossing = next(
            (
                row
                for row in self.seen
                if (start := local_start(row))
                and (end := checks.local_end(row))
                and start[:10] < end[:10]
            ),
            None,
        )
        if crossing is None:
            return None
        end = checks.local_end(crossing)
        assert end is not None
        noon = end[:10] + " 12:00:00"
        answer = self._narrow(noon, noon)
        if answer.count is not None and answer.count > len(answer.rows):
            return None  # the day holds more than a page: absence would prove nothing
        return str(crossing["id"]) in answer.ids

    def _count_check(self) -> dict[str, Any]:
        """Whether `count` equals the rows of answers that fit one page (where it must)."""
        whole = [
            a
            for a in self.narrow
            if a.page is not None and a.count is not None and len(a.rows) < (a.limit or PAGE)
        ]
        offsets = sorted({(a.count or 0) - len(set(a.ids)) for a in whole})
        return {
            "answers": len(whole),
            "count_minus_rows": offsets,
            "matches": offsets == [0] if whole else None,
        }

    # -- 5. time zone ------------------------------------------------------------------
    def _timezone(self) -> None:
        records = [r for r in (self.stream.conform(dict(row)) for row in self.seen) if r]
        found = offset_report(records, self.tz)
        self.report["timezone"] = {
            "setting": self.tz.key,
            "setting_offset": (
                format_offset(found.setting_offset) if found.setting_offset is not None else None
            ),
            "data_offset": format_offset(found.offset) if found.offset is not None else None,
            "records_checked": found.checked,
            "share_at_data_offset": round(found.share, 3),
            "setting_matches_data": found.matches,
            "zones_fitting_data": found.zones[:12],
            "zones_fitting_count": len(found.zones),
        }

    # -- 5b. the other open questions: dates left out, the longest window, array filters --
    def _open_questions(self, window: Window, first: Answer) -> None:
        """What the API does without dates, with a long window, with the agents filter."""
        found: dict[str, Any] = {}
        end = window.end
        undated = self._ask_params({"limit": 1}, drop=("from_date", "to_date"))
        today = self._ask((to_local(end, self.tz)[:10] + " 00:00:00", to_local(end, self.tz)), 1)
        found["without_dates"] = _same_calls(undated, today, first)
        long = Window(end - timedelta(days=LONG_WINDOW_DAYS), end)
        long_answer = self._ask(long.query_bounds(self.tz), 1, tolerate=True)
        found["window_of_45_days"] = (
            "accepted" if long_answer.page is not None else f"refused ({long_answer.failure})"
        )
        agent = next(
            (
                str(step["id"])
                for row in first.rows
                for step in (row.get("call_flow") or [])
                if isinstance(step, dict) and step.get("type") == "Agent" and step.get("id")
            ),
            None,
        )
        if agent is not None and first.count is not None:
            filtered = self._ask_params(
                {
                    "from_date": first.bounds[0],
                    "to_date": first.bounds[1],
                    "limit": 1,
                    "agents[]": [AGENT_PREFIX + agent],
                },
            )
            count = filtered.count
            found["agents_filter"] = (
                "unknown"
                if count is None
                else "ignored"
                if count >= first.count
                else "matches nothing"
                if count == 0
                else "honoured"
            )
        self.report["open_questions"] = found

    def _since_start(self) -> float:
        """Seconds since the latest request started (its answer's latency, on arrival)."""
        started = self.tap.pacer.last_start
        return 0.0 if started is None else self.clock.monotonic() - started

    def _ask_params(self, params: dict[str, Any], drop: tuple[str, ...] = ()) -> Answer:
        """One page with exactly these parameters (the configured filters kept)."""
        context = {"window_start": _EPOCH, "window_end": _EPOCH, "limit": params.get("limit")}
        request = self.stream.get_http_request(page=PageContext(context, 1))
        merged = {k: v for k, v in request.params.items() if k not in drop} | params
        page = self.stream.fetch(dataclasses.replace(request, params=merged))
        seconds = self._since_start()
        bounds = (str(merged.get("from_date", "")), str(merged.get("to_date", "")))
        return Answer(page, seconds, bounds, params.get("limit"))

    # -- 6. auth and reference endpoints ----------------------------------------------
    def _auth(self, window: Window) -> None:
        auth = self.tap.authenticator
        if not isinstance(auth, LoginAuthenticator):
            self.report["auth"] = {"kind": "static token"}
            return
        found: dict[str, Any] = {"kind": "login", "expires_in": _whole(auth.granted_seconds)}
        found["refresh_works"] = auth.renew()
        found["expires_in_after_refresh"] = _whole(auth.granted_seconds)
        check = self._ask(window.query_bounds(self.tz), 1, tolerate=True)
        found["renewed_token_accepted"] = check.page is not None
        self.report["auth"] = found

    def _reference(self) -> None:
        found = {}
        for name in REFERENCE:
            stream = cast(AcefoneStream, self.tap.streams[name])
            try:
                stream.fetch(stream.get_http_request(page=PageContext(None, None)))
                found[name] = "readable"
            except PermissionDeniedError:
                found[name] = "refused (HTTP 403)"
            except PROBE_FAILURES:
                found[name] = "failed"
        self.report["reference_endpoints"] = found

    # -- 7. rate limit -----------------------------------------------------------------
    def _headers(self) -> dict[str, Any]:
        found = checks.header_limit(self._snapshot())
        return {
            "headers": found.names,
            "stated_limit": found.limit,
            "stated_period_seconds": found.period,
            "throttled_during_probe": found.throttled,
            "retry_after_sent": found.retry_after_sent,
            "measured": None,
        }

    def _find_rate_limit(self, window: Window) -> dict[str, Any]:
        """Rounds of 1, 2, 3, ... requests sent at once, a rest between, until the first 429.

        After a rest of `REST_SECONDS` a limiter counting per second has forgotten the
        rounds before, so the round of N+1 requests is the first refused, and only its last
        request is: the probe stops at the first 429. A limiter counting per minute refuses
        once the rounds add up to its limit (the rest of that round, in flight, may be
        refused too); the wait it asks for says which kind it is.
        """
        pacer = self.tap.pacer
        bounds = window.query_bounds(self.tz)
        start = len(self._snapshot())
        self.tap.tries = 1
        size = 0
        round_start = start
        try:
            with pacer.running_at(BURST_RATE, more=BURST_MAX):
                while pacer.sent + size + 1 <= pacer.budget:
                    size += 1
                    round_start = len(self._snapshot())
                    pacer.hold(REST_SECONDS)
                    self._round(bounds, size)
                    if any(o.status == 429 for o in self._snapshot()[round_start:]):
                        break
        finally:
            self.tap.tries = PROBE_TRIES
        observations = self._snapshot()
        stated = checks.header_limit(observations).limit
        reset = next(
            (
                checks.number(checks.header(o, "X-RateLimit-Reset"))
                for o in observations[start:]
                if o.status == 429
            ),
            None,
        )
        until = pacer.seconds_until(reset) if reset is not None else None
        found = checks.measured_limit(
            observations,
            burst_from=start,
            round_from=round_start,
            wall_seconds_until=until,
            stated_limit=stated,
        )
        return {**dataclasses.asdict(found), "rounds": size}

    def _round(self, bounds: tuple[str, str], size: int) -> None:
        """`size` requests at once (one after another with one worker, as tests run it).

        No request of the round is sent after one was refused; requests already in flight
        (a round sent at once) may be refused too, at most the round's size.
        """
        refused = threading.Event()

        def one(_: int) -> None:
            if refused.is_set():
                return
            try:
                self._fetch(bounds, 1, page=1)
            except FAILED_OR_SPENT:
                refused.set()

        if self.burst_workers <= 1:
            for number in range(size):
                one(number)
            return
        with ThreadPoolExecutor(max_workers=min(size, self.burst_workers)) as workers:
            list(workers.map(one, range(size)))

    # -- the one request path ------------------------------------------------------------
    def _ask(
        self, bounds: tuple[str, str], limit: int | None, page: int = 1, *, tolerate: bool = False
    ) -> Answer:
        """One page of `bounds`, timed; with `tolerate`, a failure is an answer too.

        The time is the last try's, from its start (after the pacer let it go) to its page.
        """
        try:
            result = self._fetch(bounds, limit, page=page)
        except PROBE_FAILURES as exc:
            if not tolerate:
                raise
            seconds = self._since_start()
            return Answer(None, seconds, bounds, limit, failure=_failure(exc))
        seconds = self._since_start()
        with self._lock:
            known = {str(row.get("id")) for row in self.seen}
            self.seen.extend(row for row in result.rows if str(row.get("id")) not in known)
        return Answer(result, seconds, bounds, limit)

    def _fetch(self, bounds: tuple[str, str], limit: int | None, *, page: int) -> Page:
        context = {"window_start": _EPOCH, "window_end": _EPOCH, "limit": limit}
        request = self.stream.get_http_request(page=PageContext(context, page))
        params = dict(request.params)
        params["from_date"], params["to_date"] = bounds
        if limit is None:
            params.pop("limit", None)
        return self.stream.fetch(dataclasses.replace(request, params=params))

    def _timed_send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """The session's `send`, noting when each request left, on the probe's clock.

        A limiter counts requests when they arrive, and a throttle answers its 429 at once
        while accepted requests take the server's time: ordered by when their answers came,
        the accepted requests of a round would all seem to come after its 429.
        """
        with self._lock:
            self._sent_at[id(request)] = self.clock.monotonic()
        return self._send(request, **kwargs)

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """The session's response hook: the status and the limiter's headers, nothing else."""
        kept = {
            name: value
            for name, value in response.headers.items()
            if name.lower() in _RATE_HEADER_NAMES
        }
        with self._lock:
            sent = self._sent_at.pop(id(response.request), None)
        observation = checks.Observation(
            at=self.clock.monotonic() if sent is None else sent,
            method=response.request.method or "GET",
            status=response.status_code,
            headers=kept,
        )
        with self._lock:
            self.observations.append(observation)

    def _snapshot(self) -> list[checks.Observation]:
        with self._lock:
            return list(self.observations)


_RATE_HEADER_NAMES = {name.lower() for name in checks.RATE_HEADERS}
# The window a request is built for is replaced by the probe's own bounds.
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _same_calls(undated: Answer, today: Answer, day: Answer) -> str:
    """Which window a request without dates reads: today, the last 24 hours, or other."""
    count = undated.count
    if count is None:
        return "unknown (no count)"
    if count == today.count:
        return "today (from local midnight)"
    if count == day.count:
        return "the last 24 hours"
    return "another window"


def _whole(seconds: float | None) -> float | int | None:
    return int(seconds) if seconds is not None and float(seconds).is_integer() else seconds


def _failure(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("HTTP 5", "HTTP 4", "timed out"):
        if marker in text:
            index = text.index(marker)
            return text[index : index + 60].partition(";")[0].strip()
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    return type(exc).__name__


def _identity(tap: TapAcefone) -> dict[str, Any]:
    """What the report says about where it comes from: brand, version, never the URL."""
    url = str(tap.config["api_url"]).rstrip("/")
    brand = next((name for name, host in API_HOSTS.items() if host == url), "another host")
    try:
        version = metadata.version("tap-acefone")
    except metadata.PackageNotFoundError:
        version = "0"
    return {
        "probe_version": 1,
        "tap_version": version,
        "brand": brand,
        "credentials": "login" if tap.config.get("email") else "static token",
    }


def recommend(report: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration the findings support, and the api_profile value to pin."""
    paging = report.get("paging") or {}
    ordering = report.get("ordering") or {}
    bounds = report.get("bounds") or {}
    volume = report.get("volume") or {}
    rate = report.get("rate_limit") or {}
    why: dict[str, str] = {}

    page_size = current["page_size"]
    if paging.get("limit_honoured") is False and paging.get("largest_page"):
        page_size = min(1000, int(paging["largest_page"]))
        why["page_size"] = "the server ignores limit and always serves this many rows"
    elif paging.get("largest_is_clamp") and paging.get("largest_page"):
        page_size = min(1000, int(paging["largest_page"]))
        why["page_size"] = "the largest page the server serves (it cuts larger limits to it)"
    elif paging.get("largest_ok_asked"):
        page_size = min(1000, int(paging["largest_ok_asked"]))
        why["page_size"] = "the largest page tried that the server served without trouble"

    rps, rps_known = current["requests_per_second"], False
    measured = rate.get("measured") or {}
    if measured.get("limit") and measured.get("period"):
        rps, rps_known = measured["limit"] / measured["period"], True
        why["requests_per_second"] = "the limit found by going until the first 429"
    elif rate.get("stated_limit") and rate.get("stated_period_seconds"):
        rps = rate["stated_limit"] / rate["stated_period_seconds"]
        rps_known = True
        why["requests_per_second"] = "the limit the X-RateLimit-* headers state"
    elif rate.get("throttled_during_probe"):
        rps = max(0.01, current["requests_per_second"] / 2)
        why["requests_per_second"] = "the API refused requests at the current pace"
    else:
        why["requests_per_second"] = "unknown: run with --find-rate-limit to measure it"
    rps = math.floor(rps * 100) / 100

    stable = ordering.get("same_order_on_identical_requests") is not False and not ordering.get(
        "rows_repeated_on_page_2"
    )
    hours = checks.window_hours(
        calls_per_day=volume.get("calls_per_day"),
        page_size=page_size,
        stable=stable,
        date_only=bounds.get("granularity") == "day",
    )
    why["window_hours"] = (
        "the order changes between requests: windows that fit one page are never split"
        if not stable
        else "windows of a day (longer for a quiet account)"
    )
    profile: dict[str, Any] = {}
    if bounds.get("consistent", True):
        if bounds.get("filter_on") in ("start", "end"):
            profile["filter_on"] = bounds["filter_on"]
        if bounds.get("granularity") in ("second", "day"):
            profile["granularity"] = bounds["granularity"]
    tz = report.get("timezone") or {}
    timezone_value = current["timezone"]
    if tz.get("setting_matches_data") is False and tz.get("zones_fitting_data"):
        timezone_value = tz["zones_fitting_data"][0]
        why["timezone"] = (
            f"the records' own clocks say {tz.get('data_offset')}; check that this is the "
            "account's zone (others fit too: see the timezone finding)"
        )
    return {
        "page_size": page_size,
        "requests_per_second": rps,
        "requests_per_second_known": rps_known,
        "window_hours": hours,
        "timezone": timezone_value,
        "api_profile": profile,
        "why": why,
    }
