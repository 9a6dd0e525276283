"""Parsing ``GET /v1/call/records`` query strings into a normalised :class:`CallQuery`.

The parser is lenient in the ways the notes say clients differ (``agents[]=agent||id``,
``agents=agent|id``, repeated keys, comma-separated values, a ``Bearer``-less world of
inconsistent clients) and strict only where the real API is: a malformed date is a 400.
Unknown parameters are ignored, like the real API does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from .people import normalize_number

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
OPERATORS = ("=", ">", "<", ">=", "<=", "!=")
_ARRAY_SUFFIX = re.compile(r"\[[^\]]*\]$")


class QueryError(ValueError):
    """A request the real API would reject with HTTP 400 (the message is the body's)."""


@dataclass(frozen=True)
class CallQuery:
    """A normalised records query. ``filter_key`` identifies the matching set for caching."""

    from_local: str
    to_local: str
    page: int
    limit: int
    call_type: str | None = None
    direction: str | None = None
    agents: frozenset[str] | None = None
    departments: frozenset[str] | None = None
    ivrs: frozenset[str] | None = None
    callerid: str | None = None
    destination: str | None = None
    did_number: str | None = None
    duration: int | None = None
    operator: str = "="
    services: frozenset[str] | None = None
    exclude_broadcast: bool = False
    call_id: str | None = None

    def filter_key(self) -> tuple[object, ...]:
        """Everything but paging: two queries with the same key match the same calls."""
        return (
            self.from_local,
            self.to_local,
            self.call_type,
            self.direction,
            self.agents,
            self.departments,
            self.ivrs,
            self.callerid,
            self.destination,
            self.did_number,
            self.duration,
            self.operator,
            self.services,
            self.exclude_broadcast,
            self.call_id,
        )


def parse_params(query_string: str) -> dict[str, list[str]]:
    """Query string -> {key: [values]}, folding ``key[]`` / ``key[0]`` into ``key``."""
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        params.setdefault(_ARRAY_SUFFIX.sub("", key), []).append(value)
    return params


def parse_local_datetime(text: str) -> str:
    """Normalise a "Y-m-d H:i:s" (or "Y-m-d") value; raise :class:`QueryError` otherwise."""
    value = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    raise QueryError("Invalid date format")


def _first(params: dict[str, list[str]], key: str) -> str | None:
    for value in params.get(key, ()):
        if value.strip():
            return value.strip()
    return None


def _positive_int(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number >= 1 else default


def _tokens(
    params: dict[str, list[str]], key: str, *, strip_type: bool = False
) -> frozenset[str] | None:
    """Multi-valued filter values, lowercased; ``agent||id`` / ``agent|id`` keep only the id."""
    out = set()
    for value in params.get(key, ()):
        for part in value.split(","):
            token = part.strip()
            if strip_type and "|" in token:
                token = token.rsplit("|", 1)[1]
            if token:
                out.add(token.lower())
    return frozenset(out) or None


def parse_call_query(
    query_string: str | dict[str, list[str]],
    *,
    now_local: str,
    default_limit: int,
    page_size_max: int,
    ignore_limit: bool = False,
) -> CallQuery:
    """Build a :class:`CallQuery`; missing dates default to [start of today, now] locally.

    ``ignore_limit`` models a server that serves ``default_limit`` rows whatever is asked.
    """
    params = parse_params(query_string) if isinstance(query_string, str) else query_string
    raw_from, raw_to = _first(params, "from_date"), _first(params, "to_date")
    from_local = parse_local_datetime(raw_from) if raw_from else now_local[:10] + " 00:00:00"
    to_local = parse_local_datetime(raw_to) if raw_to else now_local
    asked = None if ignore_limit else _first(params, "limit")
    limit = min(_positive_int(asked, default_limit), page_size_max)
    page = _positive_int(_first(params, "page"), 1)

    call_type = (_first(params, "call_type") or "").lower()
    call_type_norm = {"c": "c", "answered": "c", "m": "m", "missed": "m"}.get(call_type)
    direction = _first(params, "direction")
    duration_raw = _first(params, "duration")
    try:
        duration = int(float(duration_raw)) if duration_raw is not None else None
    except (ValueError, OverflowError):
        duration = None
    operator = _first(params, "operator") or "="
    broadcast = (_first(params, "broadcast") or "").lower()
    numbers = {k: _first(params, k) for k in ("callerid", "destination", "did_number")}
    return CallQuery(
        from_local=from_local,
        to_local=to_local,
        page=page,
        limit=limit,
        call_type=call_type_norm,
        direction=direction.lower() if direction else None,
        agents=_tokens(params, "agents", strip_type=True),
        departments=_tokens(params, "department", strip_type=True),
        ivrs=_tokens(params, "ivr", strip_type=True),
        callerid=normalize_number(numbers["callerid"]) if numbers["callerid"] else None,
        destination=normalize_number(numbers["destination"]) if numbers["destination"] else None,
        did_number=normalize_number(numbers["did_number"]) if numbers["did_number"] else None,
        duration=duration,
        operator=operator if operator in OPERATORS else "=",
        services=_tokens(params, "services"),
        exclude_broadcast=broadcast in ("0", "false", "no"),
        call_id=_first(params, "call_id"),
    )
