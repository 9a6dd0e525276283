"""The call store: days on demand, cached matching sets, and pages built from cached bytes.

Memory stays bounded at any scale: days are regenerated from the seed when needed and only a
few are kept (an LRU sized in calls); matching sets are compact ``array('q')`` of packed
(day, index) references, cached per (query, clock instant) so paging a big window does not
rescan it per page; each record version is JSON-encoded once and pages are joined bytes.
"""

from __future__ import annotations

import json
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from .bounds import Bounds
from .calls import (
    DIRECTIONS,
    INBOUND,
    LOCAL_FORMAT,
    Call,
    DayPlan,
    day_call_count,
    fixed_offset,
    generate_day,
    local_midnight,
    local_string,
)
from .envelope import Envelope
from .ordering import Ties
from .people import normalize_number
from .query import CallQuery
from .records import build_record, call_id_of

INDEX_BITS = 24
INDEX_MASK = (1 << INDEX_BITS) - 1
MATCH_CACHE_SIZE = 16


class Day:
    """One generated local day: calls sorted by (local start, id) and their encoded versions."""

    __slots__ = ("calls", "encoded", "ends", "locals", "ordinal")

    def __init__(self, ordinal: int, calls: list[Call]) -> None:
        self.ordinal = ordinal
        self.calls = calls
        self.locals = [c.local for c in calls]
        self.ends: list[str] | None = None  # local hangup strings, built on first need
        self.encoded: dict[tuple[int, bool, bool], bytes] = {}


class ServedPage(NamedTuple):
    """One records page: the body and the facts the stats and the request log keep."""

    body: bytes
    size: int
    true_count: int
    count: int | None  # as reported (None when the envelope omits it)
    limit: int
    ids: tuple[str, ...]


def encode_record(record: dict[str, Any]) -> bytes:
    """Compact JSON, as the PHP backend sends it."""
    return json.dumps(record, separators=(",", ":")).encode()


class CallStore:
    """Answers record queries for the generated days ``first_day``..``last_day`` (local)."""

    def __init__(
        self,
        plan: DayPlan,
        first_day: date,
        last_day: date,
        *,
        order: str,
        max_cached_calls: int = 200_000,
        bounds: Bounds | None = None,
        sort_key: str = "second",
        unstable_ties: bool = False,
        variant_seed: int = 0,
        envelope: Envelope | None = None,
        past_end: str = "empty",
    ) -> None:
        self.plan = plan
        self.first = first_day.toordinal()
        self.last = last_day.toordinal()
        self.order = order
        self.bounds = bounds or Bounds()
        self.sort_key = sort_key
        self.unstable_ties = unstable_ties
        self.variant_seed = variant_seed
        self.envelope = envelope or Envelope()
        self.past_end = past_end
        self._tie_requests = 0  # records requests served with unstable ties (the tie seed)
        self.max_cached_calls = max_cached_calls
        self._lock = threading.RLock()
        self._days: OrderedDict[int, Day] = OrderedDict()
        self._cached_calls = 0
        self._matches: OrderedDict[tuple[object, ...], array] = OrderedDict()
        team = plan.team
        self._agent_lookup = _lookup(
            {a.agent_id.lower(): a.index for a in team.agents},
            {a.name.lower(): a.index for a in team.agents},
            {a.email.lower(): a.index for a in team.agents},
        )
        self._dept_lookup = _lookup(
            {d.dept_id: d.index for d in team.departments},
            {d.name.lower(): d.index for d in team.departments},
        )
        self._ivr_lookup = _lookup(
            {str(i.ivr_id): i.index for i in team.ivrs},
            {i.name.lower(): i.index for i in team.ivrs},
        )
        self._customers_norm = [normalize_number(n) for n in team.customers]
        self._dids_norm = [normalize_number(d.did) for d in team.dids]

    # -- days -------------------------------------------------------------------------
    @property
    def ordinals(self) -> range:
        """Ordinals of every generated local day."""
        return range(self.first, self.last + 1)

    def day(self, ordinal: int) -> Day:
        """The generated day (from the LRU, or generated now)."""
        with self._lock:
            day = self._days.get(ordinal)
            if day is not None:
                self._days.move_to_end(ordinal)
                return day
            day = Day(ordinal, generate_day(self.plan, ordinal))
            self._days[ordinal] = day
            self._cached_calls += len(day.calls)
            while len(self._days) > 2 and self._cached_calls > self.max_cached_calls:
                _, old = self._days.popitem(last=False)
                self._cached_calls -= len(old.calls)
            return day

    def total_calls(self) -> int:
        """Every call the generator makes (visible or not), without generating any."""
        return sum(day_call_count(self.plan, o) for o in self.ordinals)

    def calls_started_before(self, ts: float) -> int:
        """Calls whose true start is at or before ``ts`` (for the CLI banner).

        Only the day containing ``ts`` is generated; whole days use the cheap count.
        """
        total = 0
        for o in self.ordinals:
            if local_midnight(self.plan, o + 1) <= ts:
                total += day_call_count(self.plan, o)
            elif local_midnight(self.plan, o) <= ts:
                total += sum(1 for c in self.day(o).calls if c.start <= ts)
        return total

    # -- encoding ---------------------------------------------------------------------
    def encoded(self, day: Day, call: Call, ts: float) -> bytes:
        """The JSON bytes of ``call`` in its version at ``ts`` (built once, then cached)."""
        recorded, annotated = call.versions_at(ts)
        key = (call.index, recorded, annotated)
        with self._lock:
            data = day.encoded.get(key)
            if data is None:
                record = build_record(
                    call, self.plan.team, self.plan.tz, recorded=recorded, annotated=annotated
                )
                data = day.encoded[key] = encode_record(record)
            return data

    # -- queries ----------------------------------------------------------------------
    def matches(self, query: CallQuery, now_ts: float) -> array:
        """Packed references of every call matching ``query`` at ``now_ts``, in serving order.

        With ``unstable_ties`` this is the order before the per-request tie permutation.
        """
        return self._matched(query, now_ts)[0]

    def _matched(self, query: CallQuery, now_ts: float) -> tuple[array, Ties | None]:
        key = (query.filter_key(), now_ts)
        with self._lock:
            cached = self._matches.get(key)
            if cached is not None:
                self._matches.move_to_end(key)
                return cached
            result = self._scan(query, now_ts)
            self._matches[key] = result
            while len(self._matches) > MATCH_CACHE_SIZE:
                self._matches.popitem(last=False)
            return result

    def _scan(self, query: CallQuery, now_ts: float) -> tuple[array, Ties | None]:
        """The matching set in serving order, and its tie runs when ties are unstable."""
        hits = self._hits(query, now_ts)
        if self.order == "shuffled":
            keyed = sorted((call.shuffle, call.oid, packed) for _, call, packed in hits)
            out = array("q", (packed for _, _, packed in keyed))
            return out, Ties.whole(len(out)) if self.unstable_ties else None
        if self.sort_key == "day":
            chunks = []
            for _, day_hits in groupby(hits, key=itemgetter(0)):
                keyed = sorted((call.shuffle, call.oid, packed) for _, call, packed in day_hits)
                chunks.append(array("q", (packed for _, _, packed in keyed)))
            return self._by_day(chunks)
        return self._by_second(hits)

    def _hits(self, query: CallQuery, now_ts: float) -> Iterator[tuple[int, Call, int]]:
        """(day ordinal, call, packed ref) of each match, in (local start, id) order."""
        predicate = self._predicate(query)
        window = self.bounds.window(query.from_local, query.to_local)
        inside = window.contains() if self.bounds.on_end else None
        # A call ending inside the window may have started the local day before.
        first = max(self.first, window.first_day() - (1 if inside else 0))
        last = min(self.last, window.last_day())
        for ordinal in range(first, last + 1):
            day = self.day(ordinal)
            if inside is not None:
                ends = self.end_locals(day)
                candidates = [c for c, end in zip(day.calls, ends, strict=True) if inside(end)]
            else:
                lo, hi = window.slice(day.locals)
                candidates = day.calls[lo:hi]
            base = (ordinal - self.first) << INDEX_BITS
            for call in candidates:
                if call.visible <= now_ts and predicate(call):
                    yield ordinal, call, base | call.index

    def _by_second(self, hits: Iterator[tuple[int, Call, int]]) -> tuple[array, Ties | None]:
        """Sorted on the local start second (then id, unless ties are unstable)."""
        out = array("q")
        if not self.unstable_ties:
            out.extend(packed for _, _, packed in hits)
            if self.order == "newest":
                out.reverse()
            return out, None
        runs: list[tuple[int, int]] = []  # ascending runs of one local second
        run_start, prev_local = 0, ""
        for _, call, packed in hits:
            if call.local != prev_local:
                if len(out) - run_start > 1:
                    runs.append((run_start, len(out)))
                run_start, prev_local = len(out), call.local
            out.append(packed)
        if len(out) - run_start > 1:
            runs.append((run_start, len(out)))
        if self.order == "newest":
            out.reverse()
            n = len(out)
            runs = [(n - end, n - start) for start, end in reversed(runs)]
        return out, Ties(array("q", (s for s, _ in runs)), array("q", (e for _, e in runs)))

    def _by_day(self, chunks: list[array]) -> tuple[array, Ties | None]:
        """Days in order, rows of one day in a fixed arbitrary order: every day one tie run."""
        if self.order == "newest":
            chunks.reverse()
        out = array("q")
        starts, ends = array("q"), array("q")
        for chunk in chunks:
            if len(chunk) > 1:
                starts.append(len(out))
                ends.append(len(out) + len(chunk))
            out.extend(chunk)
        return out, Ties(starts, ends) if self.unstable_ties else None

    def end_locals(self, day: Day) -> list[str]:
        """Local wall-clock hangup strings of ``day``'s calls, aligned with ``day.calls``."""
        with self._lock:
            if day.ends is None:
                tz = self.plan.tz
                offsets: dict[int, int | None] = {}
                ends = []
                for call in day.calls:
                    hour = call.end // 3600
                    if hour not in offsets:
                        offsets[hour] = fixed_offset(tz, hour * 3600, hour * 3600 + 3599)
                    offset = offsets[hour]
                    ends.append(
                        time.strftime(LOCAL_FORMAT, time.gmtime(call.end + offset))
                        if offset is not None
                        else local_string(call.end, tz)
                    )
                day.ends = ends
            return day.ends

    def _predicate(self, q: CallQuery) -> Callable[[Call], bool]:
        """Compile the query's filters into one function (only the filters present)."""
        checks = [check for check in (self._people_check(q), *self._value_checks(q)) if check]
        if not checks:
            return lambda c: True
        if len(checks) == 1:
            return checks[0]
        return lambda c: all(check(c) for check in checks)

    def _people_check(self, q: CallQuery) -> Callable[[Call], bool] | None:
        """``agents``: the answering/initiating agent or any agent who missed the call."""
        if q.agents is None:
            return None
        agents = self._agent_lookup(q.agents)
        return lambda c: c.agent in agents or any(m in agents for m in c.missed)

    def _value_checks(self, q: CallQuery) -> list[Callable[[Call], bool] | None]:
        """One check per present single-field filter (``None`` for absent ones)."""
        dids, customers = self._dids_norm, self._customers_norm
        depts = self._dept_lookup(q.departments) if q.departments is not None else None
        ivrs = self._ivr_lookup(q.ivrs) if q.ivrs is not None else None
        want_answered = q.call_type == "c"
        services = q.services or frozenset()
        return [
            _when(q.call_type, lambda c: c.answered == want_answered),
            _when(q.direction, lambda c: DIRECTIONS[c.kind] == q.direction),
            _when(depts is not None, lambda c: c.dept in depts),
            _when(ivrs is not None, lambda c: c.ivr in ivrs),
            _when(q.callerid, lambda c: customers[c.client] == q.callerid),
            _when(q.destination, lambda c: c.kind == INBOUND and dids[c.did] == q.destination),
            _when(q.did_number, lambda c: dids[c.did] == q.did_number),
            _when(q.duration is not None, _duration_check(q.operator, q.duration or 0)),
            _when(q.services, lambda c: any(s.lower() in services for s in c.service.split(","))),
            _when(q.exclude_broadcast, lambda c: c.broadcast < 0),
            _when(q.call_id, lambda c: call_id_of(c) == q.call_id),
        ]

    def page(self, query: CallQuery, now_ts: float, *, want_ids: bool = False) -> ServedPage:
        """The response for ``query`` at ``now_ts`` (``ids`` only when ``want_ids``)."""
        limit = query.limit
        with self._lock:
            found, ties = self._matched(query, now_ts)
            total = len(found)
            offset = (query.page - 1) * limit
            if offset >= total and total and self.past_end == "repeat_last":
                offset = (total - 1) // limit * limit  # the last non-empty page
            stop = min(total, offset + limit)
            if ties is not None:
                self._tie_requests += 1
                positions = ties.positions(offset, stop, self.variant_seed, self._tie_requests)
                refs: Sequence[int] = [found[p] for p in positions]
            else:
                refs = found[offset:stop]
            parts = []
            ids = []
            for packed in refs:
                day = self.day(self.first + (packed >> INDEX_BITS))
                call = day.calls[packed & INDEX_MASK]
                parts.append(self.encoded(day, call, now_ts))
                if want_ids:
                    ids.append(call.oid)
        body = self.envelope.body(
            true_count=total, limit=limit, size=len(parts), page=query.page, rows=b",".join(parts)
        )
        return ServedPage(
            body=body,
            size=len(parts),
            true_count=total,
            count=self.envelope.reported_count(total),
            limit=limit,
            ids=tuple(ids),
        )

    # -- ground truth -----------------------------------------------------------------
    def iter_calls(self) -> Iterator[tuple[Day, Call]]:
        """Every generated call, in true UTC start order (then id)."""
        for ordinal in self.ordinals:
            with self._lock:
                day = self.day(ordinal)
                ordered = sorted(day.calls, key=lambda c: (c.start, c.oid))
            for call in ordered:
                yield day, call

    def encoded_final(self, day: Day, call: Call) -> bytes:
        """The last version the call will ever have."""
        return self.encoded(day, call, float("inf"))


def _lookup(*maps: dict[str, int]) -> Callable[[frozenset[str]], frozenset[int]]:
    """Resolve filter tokens (ids or lowercase names) to indices; unknown tokens match nothing."""

    def resolve(tokens: frozenset[str]) -> frozenset[int]:
        found = set()
        for token in tokens:
            for mapping in maps:
                if token in mapping:
                    found.add(mapping[token])
        return frozenset(found)

    return resolve


def _when(condition: object, check: Callable[[Call], bool]) -> Callable[[Call], bool] | None:
    """``check`` if the filter is present (truthy ``condition``), else ``None``."""
    return check if condition else None


def _duration_check(operator: str, value: int) -> Callable[[Call], bool]:
    ops: dict[str, Callable[[int], bool]] = {
        "=": lambda d: d == value,
        ">": lambda d: d > value,
        "<": lambda d: d < value,
        ">=": lambda d: d >= value,
        "<=": lambda d: d <= value,
        "!=": lambda d: d != value,
    }
    compare = ops[operator]
    return lambda c: compare(c.duration)
