"""Make every record conform to its declared schema, whatever shape the API sent.

The API's types drift (numbers as strings, "N.A.", a dict where a list belongs, a note that
is an object on one call and a bare string on the next, integer ids on old accounts). Every
property declares exactly one JSON type besides null, because most targets pick one column
type per property and cannot load a string into the JSON column they chose; each value is
coerced to that type, losslessly where the value carries information: a list property holds
a lone value as a one-item list, an object property holds a value that is not an object
under one documented key (`SCALAR_KEYS`), and JSON text of the right kind is read as what
it holds; what an object or a list holds is kept as sent. Values that cannot be read become
null rather than failing the run, and fields the schema does not know are kept in
`extra_fields`. Records come out with their properties in schema order.
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
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import msgspec
import msgspec.structs

from tap_acefone.windows import iso_utc, parse_local, parse_local_stamp, utc_iso_if_plain

Coercer = Callable[[Any], Any]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_CALL_ID_EPOCH = re.compile(r"(?:^|-)(\d{10})(?:\.\d+)?$")
# Epoch hints outside these bounds (2001 .. 2286) are not timestamps.
_EPOCH_MIN, _EPOCH_MAX = 1e9, 1e10
EXTRA_FIELDS = "extra_fields"
# The key under which an object property keeps a value that is not an object (a bare string,
# mostly): the object's own text field, so that e.g. notes->>'message' always holds the text.
SCALAR_KEYS = {
    "notes": "message",
    "contact_details": "name",
    "circle": "circle",
    "agent_hangup_data": "disposition",
    "dialer_call_details": "disposition_name",
}
DEFAULT_SCALAR_KEY = "value"
DERIVED = ("started_at", "ended_at", EXTRA_FIELDS)
# The range of a PostgreSQL BIGINT (and of most warehouses' integer columns).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# A call_duration beyond a week is junk, not a hint for the end instant.
_MAX_DURATION_HINT = 7 * 86400
# Lone surrogates (UTF-8 cannot encode them) and NUL (PostgreSQL cannot store it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NUL_ESCAPE = b"\\u0000"
# ... and the ways a body can carry them: as escapes, as raw surrogate bytes (which
# `json.loads` accepts), or in a UTF-16/32 body (which is full of NUL bytes).
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
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


def to_list(value: Any) -> list[Any] | None:
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
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                return [value]
            return parsed if isinstance(parsed, list) else [value]
    return [value]


def to_object(value: Any, key: str = DEFAULT_SCALAR_KEY) -> dict[str, Any] | None:
    """An object: text holding a JSON object is parsed, any other value is kept under `key`.

    Nothing is dropped: `"follow up"` in a property whose object keeps its text under
    `message` becomes `{"message": "follow up"}`.
    """
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    return {key: value}


def keep(value: Any) -> Any:
    """Free-form JSON kept exactly as sent (only for a property that declares no type)."""
    return value


def coercer_for(prop: Mapping[str, Any], name: str | None = None) -> Coercer:
    """Pick the coercion matching a property's declared JSON type.

    `name` (the property's name) picks the key under which an object property keeps a value
    that is not an object (`SCALAR_KEYS`).
    """
    kind = _declared_kind(prop)
    if kind is None:
        return keep
    if kind == "object":
        key = SCALAR_KEYS.get(name or "", DEFAULT_SCALAR_KEY)
        return lambda value: to_object(value, key)
    return _COERCERS.get(kind, keep)


def _declared_kind(prop: Mapping[str, Any]) -> str | None:
    """The one JSON type a property declares besides null; None for free-form properties."""
    types = prop.get("type", [])
    kinds = ({types} if isinstance(types, str) else set(types)) - {"null"}
    return next(iter(kinds)) if len(kinds) == 1 else None


_COERCERS: dict[str, Coercer] = {
    "string": to_text,
    "integer": to_integer,
    "number": to_number,
    "boolean": to_boolean,
    "array": to_list,
    "object": to_object,
}
# Python types a value of each JSON type may already have, needing no coercion (the API
# mostly sends the right one). Integers are always bound-checked and floats checked for
# NaN, so they are never taken as they are.
_ALREADY: dict[str, frozenset[type]] = {
    "string": frozenset({str, type(None)}),
    "integer": frozenset({type(None)}),
    "number": frozenset({int, type(None)}),
    "boolean": frozenset({bool, type(None)}),
    "array": frozenset({list, type(None)}),
    "object": frozenset({dict, type(None)}),
}
_ANY: frozenset[type] = frozenset({str, int, float, bool, list, dict, type(None)})


# The same rule as msgspec types, so a whole record's scalars are checked in one C call: a
# record whose every scalar already fits is converted as it is; any other goes field by
# field. Numbers are left to Python (msgspec takes NaN as a float), and so are arrays and
# objects (`_after_check`): a lone object in a list field or a string note is common, and
# should not send the whole record down the slow path.
_Int64 = Annotated[int, msgspec.Meta(ge=_INT64_MIN, le=_INT64_MAX)]
_FITS_AS_IS: dict[str, Any] = {
    "string": str | None,
    "integer": _Int64 | None,
    "boolean": bool | None,
}
_NEVER: frozenset[type] = frozenset({type(None)})
# The derived properties' slots in the whole-record check read a name no API field has; what
# they read is discarded anyway (raw fields named like derived ones go to `extra_fields`).
_SLOT = "tap-acefone derived slot {}"


def _never_raw(_value: Any) -> None:
    return None


class RecordShaper:
    """Coerces raw records into one stream's schema, properties in schema order."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        properties = schema["properties"]
        kinds = {name: _declared_kind(prop) for name, prop in properties.items()}
        coercers = {name: coercer_for(properties[name], name) for name in properties}
        derived = frozenset(DERIVED) & set(properties)
        # The derived properties take a slot in schema order (filled in later) and never
        # take the raw value of the same name.
        self.plan: tuple[tuple[str, frozenset[type], Coercer], ...] = tuple(
            (name, _NEVER, _never_raw)
            if name in derived
            else (name, _ALREADY.get(kind, _ANY) if kind else _ANY, coercers[name])
            for name, kind in kinds.items()
        )
        self.coerced = frozenset(kinds) - derived
        self.keeps_extras = EXTRA_FIELDS in properties
        self._derived = tuple(name for name in kinds if name in derived)
        self._after_check = tuple(
            (name, fits, coerce)
            for name, fits, coerce in self.plan
            if name not in derived and kinds[name] not in _FITS_AS_IS
        )
        self._fits = msgspec.defstruct(
            "Fits",
            [
                (name, Any, msgspec.field(default=None, name=_SLOT.format(name)))
                if name in derived
                else (name, _FITS_AS_IS.get(kinds[name] or "", Any), None)
                for name in kinds
            ],
        )

    def shape(self, raw: Mapping[str, Any], *, clean: bool = False) -> dict[str, Any]:
        """Return a new record with declared fields coerced and unknown ones set aside.

        A value that already has its declared type is taken as it is, and only the others
        go through their coercion. A raw field named like a derived one (`started_at`,
        `ended_at`, `extra_fields`) is not overwritten silently: it is kept in
        `extra_fields` under its own name. Text that no UTF-8 writer accepts is repaired
        (`ensure_encodable`), unless the caller knows the record came from a body without
        such text (`clean`, see `may_hold_unstorable_text`).
        """
        record = self.fields_as_they_are(raw)
        if record is None:
            record = self.fields_one_by_one(raw)
        if self.keeps_extras:
            record[EXTRA_FIELDS] = (
                None
                if self.coerced.issuperset(raw)
                else {key: value for key, value in raw.items() if key not in self.coerced}
            )
        return record if clean else ensure_encodable(record)

    def fields_one_by_one(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The declared fields, each coerced unless it already has its type."""
        get = raw.get
        return {
            name: value if type(value) in fits else coerce(value)
            for name, fits, coerce in self.plan
            for value in (get(name),)
        }

    def fields_as_they_are(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        """The declared fields when all scalars already fit (one C call); None otherwise.

        Numbers, arrays and objects are then checked (and coerced if needed) one by one.
        """
        try:
            record = msgspec.structs.asdict(msgspec.convert(raw, self._fits, strict=True))
        except (msgspec.ValidationError, UnicodeError):  # UnicodeError: a lone surrogate key
            return None
        for name in self._derived:
            record[name] = None
        for name, fits, coerce in self._after_check:
            value = record[name]
            if type(value) not in fits:
                record[name] = coerce(value)
        return record


def may_hold_unstorable_text(body: bytes) -> bool:
    r"""Whether a JSON body can decode to text with NUL or a lone surrogate.

    A UTF-8 body can carry either only as a `\u0000` or `\uD8xx`..`\uDFxx` escape or
    as the raw bytes of a surrogate (JSON forbids a raw NUL in text); a body in UTF-16 or
    UTF-32 is full of NUL bytes. A body without any of these needs no repair: one scan per
    page instead of a check per record. A false alarm (an escaped backslash before `u`)
    only costs the per-record check.
    """
    if b"\x00" in body:
        return True
    if b"\xed" in body and _RAW_SURROGATE.search(body):
        return True
    # Single bytes first: `in` finds one byte at memchr speed, a longer needle far slower.
    return b"\\" in body and _UNSTORABLE_ESCAPE.search(body) is not None


def conform_call_record(
    shaper: RecordShaper,
    raw: Mapping[str, Any],
    tz: ZoneInfo,
    recording_url_mode: str,
    enrich: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    *,
    clean: bool = False,
) -> dict[str, Any] | None:
    """The whole record path: coerce, add the UTC instants, `enrich`, then redact.

    `enrich` (the analyst fields) sees the record before `recording_url_mode` applies.
    Returns None for a record without a usable `id` (missing, null or blank): the schema
    requires it and no target can upsert such a row. The caller logs and skips it.
    """
    record = shaper.shape(raw, clean=clean)
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
        return _repair_object(record)
    return _repair_object(record) if _NUL_ESCAPE in encoded else record


def _repair_text(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return _repair_object(value)
    if isinstance(value, list):
        return [_repair_text(item) for item in value]
    return value


def _repair_object(value: dict[Any, Any]) -> dict[Any, Any]:
    return {_repair_text(key): _repair_text(item) for key, item in value.items()}


def add_call_instants(record: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """Set `started_at` and `ended_at` (UTC) from the record's local wall-clock fields.

    Plain stamps take the quick path (`utc_iso_if_plain`); the epoch hints that settle an
    ambiguous reading are worked out only for one.
    """
    day, clock, end = record.get("date"), record.get("time"), record.get("end_stamp")
    started_at = (
        utc_iso_if_plain(f"{day} {clock}", tz)
        if isinstance(day, str) and isinstance(clock, str)
        else None
    )
    if started_at is None:
        started_at = _iso_or_none(
            _instant_or_none(parse_local, day, clock, tz, lambda: start_epoch_hint(record))
        )
    ended_at = utc_iso_if_plain(end, tz) if isinstance(end, str) else None
    if ended_at is None:
        started = None if started_at is None else datetime.fromisoformat(started_at)
        ended_at = _iso_or_none(
            _instant_or_none(parse_local_stamp, end, tz, lambda: _end_epoch_hint(record, started))
        )
    record["started_at"] = started_at
    record["ended_at"] = ended_at
    return record


def _end_epoch_hint(record: Mapping[str, Any], started: datetime | None) -> float | None:
    """The call's end as a Unix time: its start plus a plausible `call_duration`."""
    duration = record.get("call_duration")
    if started is None or not isinstance(duration, int) or not 0 <= duration <= _MAX_DURATION_HINT:
        return None
    return started.timestamp() + duration


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
    """The URL without any `token` parameter (other parameters kept in order).

    The parameter name is matched case-insensitively, in the query and in the fragment (a
    client-side router's `#...&token=...`); a URL that does not parse (e.g. a broken IPv6
    host) loses its `token=` parameters textually instead of failing the run.
    """
    try:
        parts = urlsplit(url)
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.strip().lower() != "token"
        ]
        fragment = _strip_token_text(parts.fragment)
        return urlunsplit(parts._replace(query=urlencode(query), fragment=fragment))
    except (ValueError, UnicodeError):
        return _strip_token_text(url)


def _strip_token_text(text: str) -> str:
    """`token=` parameters removed from text, wherever they stand."""
    return _TOKEN_PARAM.sub(lambda m: "" if m.group(1) == "&" else m.group(1), text)
