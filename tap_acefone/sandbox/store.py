"""The call store: days on demand, cached matching sets, and pages built from cached bytes.

Memory stays bounded at any scale: days are regenerated from the seed when needed and only a
few are kept (an LRU sized in calls); matching sets are compact ``array('q')`` of packed
(day, index) references, cached per (query, clock instant) so paging a big window does not
rescan it per page; each record version is JSON-encoded once and pages are joined bytes.
"""

from __future__ import annotations

import json
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from .calls import DIRECTIONS, INBOUND, Call, DayPlan, day_call_count, generate_day, local_midnight
from .people import normalize_number
from .query import CallQuery
from .records import build_record, call_id_of

INDEX_BITS = 24
INDEX_MASK = (1 << INDEX_BITS) - 1
MATCH_CACHE_SIZE = 16


class Day:
    """One generated local day: calls sorted by (local start, id) and their encoded versions."""

    __slots__ = ("calls", "encoded", "locals", "ordinal")

    def __init__(self, ordinal: int, calls: list[Call]) -> None:
        self.ordinal = ordinal
        self.calls = calls
        self.locals = [c.local for c in calls]
        self.encoded: dict[tuple[int, bool, bool], bytes] = {}


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
    ) -> None:
        self.plan = plan
        self.first = first_day.toordinal()
        self.last = last_day.toordinal()
        self.order = order
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
        """Packed references of every call matching ``query`` at ``now_ts``, in serving order."""
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

    def _scan(self, query: CallQuery, now_ts: float) -> array:
        predicate = self._predicate(query)
        first = max(self.first, date.fromisoformat(query.from_local[:10]).toordinal())
        last = min(self.last, date.fromisoformat(query.to_local[:10]).toordinal())
        shuffled = self.order == "shuffled"
        keyed: list[tuple[int, str, int]] = []
        out = array("q")
        for ordinal in range(first, last + 1):
            day = self.day(ordinal)
            lo = bisect_left(day.locals, query.from_local)
            hi = bisect_right(day.locals, query.to_local)
            base = (ordinal - self.first) << INDEX_BITS
            for call in day.calls[lo:hi]:
                if call.visible <= now_ts and predicate(call):
                    if shuffled:
                        keyed.append((call.shuffle, call.oid, base | call.index))
                    else:
                        out.append(base | call.index)
        if shuffled:
            keyed.sort()
            out = array("q", (packed for _, _, packed in keyed))
        elif self.order == "newest":
            out.reverse()
        return out

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

    def page(self, query: CallQuery, now_ts: float) -> tuple[bytes, int, int]:
        """The response body for ``query`` at ``now_ts``, plus (rows on page, total count)."""
        with self._lock:
            found = self.matches(query, now_ts)
            offset = (query.page - 1) * query.limit
            refs = found[offset : offset + query.limit]
            parts = []
            for packed in refs:
                day = self.day(self.first + (packed >> INDEX_BITS))
                parts.append(self.encoded(day, day.calls[packed & INDEX_MASK], now_ts))
        body = b'{"count":%d,"limit":%d,"size":%d,"page":%d,"results":[%b]}' % (
            len(found),
            query.limit,
            len(parts),
            query.page,
            b",".join(parts),
        )
        return body, len(parts), len(found)

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
