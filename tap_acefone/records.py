"""Make every record conform to its declared schema, whatever shape the API sent.

The API's types drift (numbers as strings, "N.A.", a dict where a list belongs, integer ids
on old accounts). Each value is coerced by the type its schema property declares, so the
target can always load it without altering a column; values that cannot be read become null
rather than failing the run, and fields the schema does not know are kept in `extra_fields`.
Whatever the input, the output validates against the schema and can be written as JSON:
text that UTF-8 cannot encode or PostgreSQL cannot store (lone surrogates from unpaired
escapes, NUL) is replaced by U+FFFD, integers beyond 64 bits (no BIGINT column holds them)
become null, and a record without an `id` (no target could upsert it) is skipped by
`conform_call_record`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import msgspec

from tap_acefone.windows import iso_utc, parse_local, parse_local_stamp

Coercer = Callable[[Any], Any]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_CALL_ID_EPOCH = re.compile(r"(?:^|-)(\d{10})(?:\.\d+)?$")
# Epoch hints outside these bounds (2001 .. 2286) are not timestamps.
_EPOCH_MIN, _EPOCH_MAX = 1e9, 1e10
EXTRA_FIELDS = "extra_fields"
DERIVED = ("started_at", "ended_at", EXTRA_FIELDS)
# The range of a PostgreSQL BIGINT (and of most warehouses' integer columns).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# A call_duration beyond a week is junk, not a hint for the end instant.
_MAX_DURATION_HINT = 7 * 86400
# Lone surrogates (UTF-8 cannot encode them) and NUL (PostgreSQL cannot store it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NUL_ESCAPE = b"\\u0000"
_TOKEN_PARAM = re.compile(r"(?i)(^|[?&;])token=[^&;#]*")
_PROBE = msgspec.json.Encoder()


def to_text(value: Any) -> str | None:
    """Any scalar as text; containers as compact JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def to_number(value: Any) -> int | float | None:
    """A finite number from a number or numeric text; None otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def to_integer(value: Any) -> int | None:
    """A whole number, rounding fractions to the nearest integer; None beyond 64 bits."""
    number = to_number(value)
    if number is None:
        return None
    whole = number if isinstance(number, int) else round(number)
    return whole if _INT64_MIN <= whole <= _INT64_MAX else None


def to_boolean(value: Any) -> bool | None:
    """Booleans, 0/1 and the usual words; None when unreadable."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def to_list(value: Any) -> list | None:
    """A list: a lone object is wrapped, empty text is an empty list, JSON text is parsed."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                return [value]
            return parsed if isinstance(parsed, list) else [value]
    return [value]


def to_object(value: Any) -> dict | None:
    """An object or null."""
    return value if isinstance(value, dict) else None


def keep(value: Any) -> Any:
    """Free-form JSON kept exactly as sent."""
    return value


def coercer_for(prop: Mapping[str, Any]) -> Coercer:
    """Pick the coercion matching a property's declared JSON type."""
    types = prop.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    kinds = types - {"null"}
    if len(kinds) > 1:
        return keep
    kind = next(iter(kinds), None)
    return {
        "string": to_text,
        "integer": to_integer,
        "number": to_number,
        "boolean": to_boolean,
        "array": to_list,
        "object": to_object,
    }.get(kind, keep)


class RecordShaper:
    """Coerces raw records into one stream's schema."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        properties = schema["properties"]
        self.coercers: dict[str, Coercer] = {
            name: coercer_for(prop) for name, prop in properties.items() if name not in DERIVED
        }
        self.known = frozenset(properties)
        self.keeps_extras = EXTRA_FIELDS in properties

    def shape(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Return a new record with declared fields coerced and unknown ones set aside.

        A raw field named like a derived one (`started_at`, `ended_at`, `extra_fields`) is
        not overwritten silently: it is kept in `extra_fields` under its own name. Text that
        no UTF-8 writer accepts is repaired (`ensure_encodable`).
        """
        record = {name: coerce(raw.get(name)) for name, coerce in self.coercers.items()}
        if self.keeps_extras:
            extras = {key: value for key, value in raw.items() if key not in self.coercers}
            record[EXTRA_FIELDS] = extras or None
        return ensure_encodable(record)


def conform_call_record(
    shaper: RecordShaper,
    raw: Mapping[str, Any],
    tz: ZoneInfo,
    recording_url_mode: str,
    enrich: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """The whole record path: coerce, add the UTC instants, `enrich`, then redact.

    `enrich` (the analyst fields) sees the record before `recording_url_mode` applies.
    Returns None for a record without a usable `id` (missing, null or blank): the schema
    requires it and no target can upsert such a row. The caller logs and skips it.
    """
    record = shaper.shape(raw)
    if not isinstance(record.get("id"), str) or not record["id"].strip():
        return None
    record = add_call_instants(record, tz)
    if enrich is not None:
        record = enrich(record)
    return redact_recording_url(record, recording_url_mode)


def ensure_encodable(record: dict[str, Any]) -> dict[str, Any]:
    """The record, with text no writer or database accepts replaced by U+FFFD.

    JSON allows a surrogate escape without its pair, and `json.loads` turns it into text
    that cannot be encoded as UTF-8; JSON also allows the NUL character, which PostgreSQL
    refuses in text and jsonb. Checking costs one C-speed encode; repairing walks the record
    only when needed. (target-postgres's `sanitize_null_text_characters` uses the same
    replacement character, for top-level text only.)
    """
    try:
        encoded = _PROBE.encode(record)
    except UnicodeEncodeError:
        return _repair_text(record)
    return _repair_text(record) if _NUL_ESCAPE in encoded else record


def _repair_text(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_repair_text(key): _repair_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_repair_text(item) for item in value]
    return value


def add_call_instants(record: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """Set `started_at` and `ended_at` (UTC) from the record's local wall-clock fields."""
    hint = start_epoch_hint(record)
    started = _instant_or_none(parse_local, record.get("date"), record.get("time"), tz, hint)
    end_hint = None
    duration = record.get("call_duration")
    if started is not None and isinstance(duration, int) and 0 <= duration <= _MAX_DURATION_HINT:
        end_hint = started.timestamp() + duration
    ended = _instant_or_none(parse_local_stamp, record.get("end_stamp"), tz, end_hint)
    record["started_at"] = _iso_or_none(started)
    record["ended_at"] = _iso_or_none(ended)
    return record


def _instant_or_none(parse: Callable[..., datetime | None], *args: Any) -> datetime | None:
    """A parsed instant, or None when it is beyond what datetime holds.

    Year 0001 read in a zone east of UTC, or year 9999 west of it, overflows.
    """
    try:
        return parse(*args)
    except (OverflowError, ValueError, OSError):
        return None


def start_epoch_hint(record: Mapping[str, Any]) -> float | None:
    """The call's start as a Unix time, from `call_id` or the first timed `call_flow` entry."""
    call_id = record.get("call_id")
    if isinstance(call_id, str):
        match = _CALL_ID_EPOCH.search(call_id)
        if match:
            return float(match.group(1))
    flow = record.get("call_flow")
    for entry in flow if isinstance(flow, list) else ():
        if isinstance(entry, dict):
            epoch = to_number(entry.get("time"))
            if epoch is not None and _EPOCH_MIN <= epoch < _EPOCH_MAX:
                return float(epoch)
    return None


def _iso_or_none(instant: datetime | None) -> str | None:
    return None if instant is None else iso_utc(instant)


def redact_recording_url(record: dict[str, Any], mode: str) -> dict[str, Any]:
    """Apply `recording_url_mode`: the URL's `token=` parameter grants access to the audio."""
    url = record.get("recording_url")
    if mode == "keep" or not isinstance(url, str):
        return record
    record["recording_url"] = None if mode == "drop" else strip_query_token(url)
    return record


def strip_query_token(url: str) -> str:
    """The URL without any `token` query parameter (other parameters kept in order).

    The parameter name is matched case-insensitively; a URL that does not parse (e.g. a
    broken IPv6 host) loses its `token=` parameters textually instead of failing the run.
    """
    try:
        parts = urlsplit(url)
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.strip().lower() != "token"
        ]
        return urlunsplit(parts._replace(query=urlencode(query)))
    except (ValueError, UnicodeError):
        return _TOKEN_PARAM.sub(lambda m: "" if m.group(1) == "&" else m.group(1), url)
