"""What the probe's answers mean: pure inferences from pages it read, no requests here.

Each function takes what the API answered (rows, envelopes, timings, response headers) and
returns a plain finding: an enum-like text, a number or None for "could not tell". Nothing
here keeps a row's content; findings are counts, types and choices, so a report built from
them holds no customer data.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

from tap_acefone.pacing import header_number
from tap_acefone.selfchecks import is_local_stamp, local_start

LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
# Response headers that can say something about the limiter (compared case-insensitively).
RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
)
# Periods a limiter plausibly counts over (a second, a minute, an hour).
PERIODS = (1, 60, 3600)
# A unstable API is read in windows whose calls fit one page, at this share of a page.
FILL = 0.8


def number_type(meta: Mapping[str, Any], key: str) -> str:
    """How the envelope writes a number: int, string, float, absent, null or other."""
    if key not in meta:
        return "absent"
    value = meta[key]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "other"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def local_end(row: Mapping[str, Any]) -> str | None:
    """The row's local hangup text, if it is a real wall-clock reading."""
    end = row.get("end_stamp")
    return end if isinstance(end, str) and is_local_stamp(end) else None


def shift(stamp: str, seconds: int) -> str:
    """A local `Y-m-d H:i:s` text moved by whole seconds (wall-clock arithmetic)."""
    moved = datetime.strptime(stamp, LOCAL_FORMAT) + timedelta(seconds=seconds)
    return moved.strftime(LOCAL_FORMAT)


def row_ids(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ids of rows, as text, in order (rows without one skipped)."""
    return [str(row["id"]) for row in rows if row.get("id") not in (None, "")]


def pick_pivot(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """A call to ask narrow windows about: a clear start and end, few neighbours.

    Its start and end must lie at least 3 s apart, so that windows of three seconds around
    either hold only one of them; among those, the call with the fewest other seen calls
    within two seconds of its start keeps the narrow answers small.
    """
    starts = sorted(_wall(key) for key in map(local_start, rows) if key is not None)
    best: tuple[int, str, Mapping[str, Any]] | None = None
    for row in rows:
        start, end = local_start(row), local_end(row)
        if start is None or end is None or row.get("id") in (None, ""):
            continue
        at = _wall(start)
        if not 3 <= _wall(end) - at <= 6 * 3600:
            continue
        near = bisect_right(starts, at + 2) - bisect_left(starts, at - 2)
        if best is None or (near, start) < best[:2]:
            best = (near, start, row)
    return best[2] if best is not None else None


def _wall(stamp: str) -> float:
    """A local `Y-m-d H:i:s` text as seconds on a naive wall-clock scale."""
    return datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc).timestamp()


def outside_rows(rows: Iterable[Mapping[str, Any]], bounds: tuple[str, str]) -> int:
    """Rows whose local start and end both lie outside the bounds (a date-only answer)."""
    low, high = bounds
    count = 0
    for row in rows:
        start, end = local_start(row), local_end(row)
        if start is None or end is None:
            continue
        if not low <= start <= high and not low <= end <= high:
            count += 1
    return count


@dataclass
class Ordering:
    """How the API orders a window's rows."""

    order: str = "unknown"  # newest | oldest | unordered | unknown
    sort_key: str = "unknown"  # second | day | none | unknown


def ordering(first: Sequence[Mapping[str, Any]], last: Sequence[Mapping[str, Any]]) -> Ordering:
    """The order of page 1, helped by the last page's dates when page 1 holds one date."""
    keys = [key for key in map(local_start, first) if key is not None]
    if len(set(keys)) < 2:
        return Ordering()
    if all(a >= b for a, b in pairwise(keys)):
        return Ordering("newest", "second")
    if all(a <= b for a, b in pairwise(keys)):
        return Ordering("oldest", "second")
    days = [key[:10] for key in keys]
    if len(set(days)) > 1:
        if all(a >= b for a, b in pairwise(days)):
            return Ordering("newest", "day")
        if all(a <= b for a, b in pairwise(days)):
            return Ordering("oldest", "day")
        return Ordering("unordered", "none")
    # Page 1 holds one date: the last page tells whether that date came first.
    last_days = {key[:10] for key in map(local_start, last) if key is not None}
    if last_days and max(last_days) <= days[0] and min(last_days) < days[0]:
        return Ordering("newest", "day")
    if last_days and min(last_days) >= days[0] and max(last_days) > days[0]:
        return Ordering("oldest", "day")
    return Ordering("unordered", "unknown")


def tied_rows(rows: Sequence[Mapping[str, Any]], sort_key: str) -> int:
    """Rows sharing their sort key with another row: the ties a sort may reorder.

    The key is the local start second, or its date when the API sorts by date; rows in no
    order all tie.
    """
    width = {"second": 19, "day": 10}.get(sort_key)
    if width is None:
        return len(rows)
    counts: dict[str, int] = {}
    for key in map(local_start, rows):
        if key is not None:
            counts[key[:width]] = counts.get(key[:width], 0) + 1
    return sum(n for n in counts.values() if n > 1)


@dataclass
class LimitTry:
    """One page asked with a given `limit` (None: the parameter left out)."""

    asked: int | None
    served: int | None  # rows on the page; None when the request failed
    echoed: int | None
    count: int | None
    seconds: float
    failure: str | None = None


@dataclass
class Paging:
    """What the server does with `limit`."""

    default_limit: int | None = None
    limit_honoured: bool | None = None
    limit_echoed: bool | None = None
    largest_page: int | None = None
    largest_is_clamp: bool = False
    largest_ok_asked: int | None = None
    failed_sizes: list[int] = field(default_factory=list)


def paging(tries: Sequence[LimitTry]) -> Paging:
    """Default page size, whether `limit` is honoured and echoed, and the largest page."""
    found = Paging()
    served = [t for t in tries if t.served is not None]
    found.limit_echoed = any(t.echoed is not None for t in served) if served else None
    for t in served:
        enough = t.count is None or t.count > (t.served or 0)
        if t.asked is None:
            found.default_limit = (
                t.echoed if t.echoed is not None else (t.served if enough else None)
            )
        elif t.served is not None and t.served > t.asked:
            found.limit_honoured = False
        elif t.served == t.asked and found.limit_honoured is None:
            found.limit_honoured = True
    asked = [t for t in served if t.asked is not None]
    if asked:
        best = max(asked, key=lambda t: (t.served or 0, t.asked or 0))
        found.largest_page = best.served
        found.largest_ok_asked = best.asked
        limit = best.asked or 0
        clamp_echo = best.echoed is not None and best.echoed < limit
        short = (
            best.served is not None
            and best.served < limit
            and (best.count is None or best.served < best.count)
        )
        found.largest_is_clamp = clamp_echo or short
        if clamp_echo:
            found.largest_page = best.echoed
    found.failed_sizes = sorted(t.asked for t in tries if t.served is None and t.asked)
    return found


@dataclass
class Bounds:
    """How `from_date` and `to_date` select calls."""

    granularity: str = "unknown"  # second | day | unknown
    filter_on: str = "unknown"  # start | end | overlap | unknown
    from_date: str = "unknown"  # inclusive | exclusive | unknown
    to_date: str = "unknown"
    consistent: bool = True


def bounds_from(
    *,
    date_only: bool,
    in_start_window: bool | None,
    in_end_window: bool | None,
    in_to_edge: bool | None = None,
    in_from_edge: bool | None = None,
    in_both_edges: bool | None = None,
    end_date_filter: bool | None = None,
) -> Bounds:
    """Bound semantics from whether the pivot call came back for each narrow window.

    `in_start_window`: in `[s-1, s+1]` around its start; `in_end_window`: in `[e-1, e+1]`
    around its end; `in_to_edge`: in `[f-1, f]`, `in_from_edge`: in `[f, f+1]`,
    `in_both_edges`: in `[f, f]`, with f the instant the API filters on. A date-only API
    (`date_only`) is inclusive by day; `end_date_filter` says whether a call crossing
    midnight came back for a second of the day it ended on.
    """
    if date_only:
        found = Bounds("day", "unknown", "inclusive", "inclusive")
        if end_date_filter is not None:
            found.filter_on = "end" if end_date_filter else "start"
        return found
    found = Bounds("second")
    if in_start_window is None or in_end_window is None:
        found.granularity = "unknown"
        return found
    if in_start_window and not in_end_window:
        found.filter_on = "start"
    elif in_end_window and not in_start_window:
        found.filter_on = "end"
    elif in_start_window and in_end_window:
        found.filter_on = "overlap"
        return found
    else:
        return found
    if in_to_edge is not None:
        found.to_date = "inclusive" if in_to_edge else "exclusive"
    if in_from_edge is not None:
        found.from_date = "inclusive" if in_from_edge else "exclusive"
    if in_both_edges is not None and in_to_edge is not None and in_from_edge is not None:
        found.consistent = in_both_edges == (in_to_edge and in_from_edge)
    return found


@dataclass
class Observation:
    """One response as the probe saw it: no body, only the status and the limiter's headers.

    `at` is when its request was sent (on the probe's clock), not when the answer came.
    """

    at: float
    method: str
    status: int
    headers: dict[str, str]


def header(observation: Observation, name: str) -> str | None:
    """A response header, by name in any case."""
    wanted = name.lower()
    return next((v for k, v in observation.headers.items() if k.lower() == wanted), None)


def number(text: str | None) -> float | None:
    """A header's number, if it is one (read as the tap's pacer reads it)."""
    return header_number(text)


@dataclass
class HeaderLimit:
    """What the limiter's own headers say."""

    names: list[str]
    limit: int | None
    period: int | None  # 1, or 60 when the budget is evidently counted over longer
    throttled: int
    retry_after_sent: bool | None


def header_limit(observations: Sequence[Observation]) -> HeaderLimit:
    """The headers seen, the limit they state, and over what period it seems to count.

    `X-RateLimit-Limit` states N but not the period. The budget used up (N minus the lowest
    `X-RateLimit-Remaining`) tells it: a limiter counting per second never shows more used
    than the probe sent within one second; one counting per minute shows the probe's
    requests adding up.
    """
    names = sorted(
        {k for o in observations for k in o.headers if k.lower() in _RATE_NAMES},
        key=str.lower,
    )
    limits = [number(header(o, "X-RateLimit-Limit")) for o in observations]
    known = [int(v) for v in limits if v is not None]
    limit = max(known) if known else None
    refused = [o for o in observations if o.status == 429]
    retry_after = any(header(o, "Retry-After") is not None for o in refused) if refused else None
    period = None
    remaining = [
        (o.at, number(header(o, "X-RateLimit-Remaining")))
        for o in observations
        if header(o, "X-RateLimit-Remaining") is not None
    ]
    if limit is not None and remaining:
        used = limit - min(value for _, value in remaining if value is not None)
        busiest = most_within(sorted(o.at for o in observations if o.status != 429), 1.0)
        period = 1 if used <= busiest + 1 else 60
    return HeaderLimit(names, limit, period, len(refused), retry_after)


_RATE_NAMES = {name.lower() for name in RATE_HEADERS}


def most_within(times: Sequence[float], span: float) -> int:
    """The most of `times` (sorted) inside any window of `span` seconds."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= span:
            first += 1
        most = max(most, last - first + 1)
    return most


@dataclass
class MeasuredLimit:
    """The limit found by going until the first 429 (only with --find-rate-limit)."""

    accepted_before_429: int  # in the round that drew it (requests sent at once)
    refused: int
    limit: int | None
    period: int | None
    wait_said: float | None
    sent: int


def measured_limit(
    observations: Sequence[Observation],
    *,
    burst_from: int,
    round_from: int,
    wall_seconds_until: float | None,
    stated_limit: int | None,
) -> MeasuredLimit:
    """The limit and its period from the first 429 after `observations[burst_from:]` began.

    `observations[round_from:]` is the round that drew the 429: requests sent at once, so
    every one the server accepted counts, whichever of them the probe stamped first. (Which
    request of a round arrives last is the kernel's choice, not the order threads noted
    their send times: counting only those stamped before the 429 under-counts at random.)
    The server's wait (`Retry-After`, else the `X-RateLimit-Reset` time) gives the period:
    a limiter per second never asks for more than a second or two. The limit is the one the
    headers state, else the requests the server accepted in that period up to the 429's
    round (the probe's earlier requests included: they count against the same budget).
    """
    burst = list(observations[burst_from:])
    refused = next((o for o in burst if o.status == 429), None)
    refusals = sum(1 for o in burst if o.status == 429)
    if refused is None:
        accepted = sum(1 for o in burst if o.status != 429)
        return MeasuredLimit(accepted, 0, None, None, None, len(burst))
    in_round = sum(1 for o in observations[round_from:] if o.status != 429)
    wait = number(header(refused, "Retry-After"))
    if wait is None:
        wait = wall_seconds_until
    if wait is None:
        return MeasuredLimit(in_round, refusals, stated_limit, None, None, len(burst))
    period = next((p for p in PERIODS if wait <= p + 1), PERIODS[-1])
    since = refused.at + wait - period - 1
    before_round = observations[:round_from]
    counted = in_round + sum(1 for o in before_round if o.status != 429 and since < o.at)
    limit = stated_limit if stated_limit is not None else counted
    return MeasuredLimit(in_round, refusals, limit, period, wait, len(burst))


def window_hours(
    *,
    calls_per_day: float | None,
    page_size: int,
    stable: bool,
    date_only: bool,
) -> int:
    """Window length: a day; one page of calls when the order is not stable; longer when quiet.

    With a stable order a window is read page by page and costs only its last partial page;
    a day keeps DST arithmetic simple and the bookmark close. An order that changes between
    requests makes every multi-page window fall short and be split, so windows that fit one
    page cost least. A day holding less than a page reads in longer windows (up to a week).
    """
    if date_only or calls_per_day is None:
        return 24
    per_hour = calls_per_day / 24
    if not stable:
        return max(1, min(24, math.floor(FILL * page_size / per_hour))) if per_hour else 24
    if calls_per_day >= page_size or calls_per_day <= 0:
        return 24
    return max(24, min(168, 24 * math.floor(page_size / calls_per_day)))
