"""Records of unexpected shapes never crash the tap nor break its declared schema.

Hypothesis feeds the record path arbitrary JSON for every known field (other types, missing,
null, huge numbers, NaN, very long text, unpaired surrogate escapes, non-ASCII), extra fields
with odd names and nested junk. Whatever comes in, what goes out must validate against the
stream's schema with the validator the SDK's targets use (Draft 2020-12, formats checked,
`date-time` strictly) and be writable by the tap's message writer. target-postgres runs with
`validate_records: false` (meltano.yml), so this is the guarantee the loader relies on.

Three levels: `RecordShaper` + `conform_call_record` (records.py), the stream's own
`CallRecordsStream.conform` (every derived field
included), and a few whole runs of the tap against a tiny
API serving such records, through HTTP, JSON decoding, state and the writer.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from datetime import datetime
from http.server import ThreadingHTTPServer
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import jsonschema
import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from singer_sdk.sinks.core import JSONSchemaValidator

from tap_acefone.client import decode_json
from tap_acefone.records import (
    RecordShaper,
    _declared_kind,
    conform_call_record,
    ensure_encodable,
    may_hold_unstorable_text,
)
from tap_acefone.tap import TapAcefone
from tests.faults.support import STATIC_TOKEN, FakeAPI, fake_api_config, serving
from tests.taprun import run_tap

KOLKATA = ZoneInfo("Asia/Kolkata")
PROFILE = settings(
    max_examples=200,
    derandomize=bool(os.environ.get("CI")),  # explore locally; CI replays one fixed sequence
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _tap(**overrides: Any) -> TapAcefone:
    config = {
        "api_url": "http://127.0.0.1:9",
        "api_token": STATIC_TOKEN,
        "start_date": "2026-03-01",
        **overrides,
    }
    return TapAcefone(config=config, validate_config=True)


MODES = ("keep", "strip_token", "drop")
STREAMS = {mode: _tap(recording_url_mode=mode).streams["call_records"] for mode in MODES}
STREAM = STREAMS["keep"]
SCHEMA = STREAM.schema  # what the SCHEMA message declares
SHAPER = RecordShaper(SCHEMA)
RAW_FIELDS = sorted(name for name in SCHEMA["properties"] if name in SHAPER.coerced)

# --------------------------------------------------------------------------- validation

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    """RFC 3339, strictly (jsonschema only checks date-time with an optional extra)."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


# The class targets built on the SDK validate with (Sink.get_validator), formats on.
VALIDATOR = JSONSchemaValidator(SCHEMA, validate_formats=True, format_checker=FORMATS)
WRITER = msgspec.json.Encoder()  # what MsgSpecWriter (and so the tap's writer) encodes with


INTEGER_FIELDS = [
    name for name, prop in SCHEMA["properties"].items() if "integer" in prop.get("type", [])
]


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def assert_conforms(record: dict) -> None:
    """Valid against the declared schema, writable, and loadable into PostgreSQL: only UTC
    instants, BIGINT-sized integers, no NUL character in any text or key."""
    VALIDATOR.validate(record)
    WRITER.encode(record)
    for name in INTEGER_FIELDS:  # target-postgres makes these BIGINT columns
        value = record.get(name)
        assert value is None or -(2**63) <= value < 2**63, (name, value)
    assert not [text for text in _texts(record) if "\x00" in text]
    for name in ("started_at", "ended_at"):
        value = record.get(name)
        assert value is None or value.endswith("+00:00"), (name, value)


# ---------------------------------------------------------------------------- strategies

# Text as json.loads can produce it: any code point, unpaired surrogates included.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
odd_text = st.one_of(
    any_text,
    st.sampled_from(["", " ", "N.A.", "null", "0000-00-00 00:00:00", "[1,2", "{}", "∞", "٣٤"]),
    # very long (cheap to generate: a character repeated, then some random text)
    st.builds(
        lambda c, n, tail: c * n + tail, st.characters(), st.integers(500, 200_000), any_text
    ),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: 2**80 is valid JSON
    st.floats(),  # NaN and ±inf: json.loads reads NaN, Infinity and 1e400
    odd_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=6,
)
digits = st.integers(min_value=-(10**20), max_value=10**20).map(str)
local_dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),  # year 0001 to 9999
    st.sampled_from(["2026-02-30", "2026-3-9", "0000-00-00", "9999-12-31", "0001-01-01"]),
)
local_times = st.one_of(
    st.times().map(lambda t: t.strftime("%H:%M:%S")),
    st.sampled_from(["24:00:00", "1:02", "99:99:99", "01:30:00"]),
)
stamps = st.builds(lambda d, t: f"{d} {t}", local_dates, local_times)
urls = st.builds(
    lambda host, token, extra: f"https://{host}/file/recording?callId=1.2&token={token}{extra}",
    st.sampled_from(["customer.servetel.in", "[::1", "h\u00e9llo.example", "x"]),
    any_text,
    st.sampled_from(["", "&type=rec", "&Token=x", "#frag", "&token=again"]),
)
call_flows = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["init", "Agent", "Department", "IVR", "x", ""]),
                "id": json_scalars,
                "time": st.one_of(
                    json_scalars, st.integers(10**9, 10**10).map(str), st.floats(1e9, 1e10)
                ),
                "dialst": st.sampled_from(["Answered", "answered", "Missed", ""]),
            },
        ),
        json_values,
    ),
    max_size=5,
)
FIELD_VALUES = {
    "id": st.one_of(st.text(max_size=30), st.integers(), st.floats(), json_values),
    "call_id": st.one_of(
        st.builds("{}.{}".format, st.integers(0, 10**11), st.integers(0, 10**8)),
        st.builds("h3.08-{}.{}".format, st.integers(10**9, 10**10), st.integers(0, 99)),
        st.uuids().map(str),
        json_values,
    ),
    "date": st.one_of(local_dates, json_values),
    "time": st.one_of(local_times, json_values),
    "end_stamp": st.one_of(stamps, json_values),
    "recording_url": st.one_of(urls, json_values),
    "call_flow": st.one_of(call_flows, json_values),
    "call_duration": st.one_of(digits, st.floats(), json_values),
    "agent_ring_time": st.one_of(digits, st.just("N.A."), json_values),
    "client_number": st.one_of(
        st.sampled_from(["+918386241437", "08386241437", "Extension-0602141810277", "+91 83"]),
        json_values,
    ),
}
odd_keys = st.one_of(
    any_text,
    st.builds(lambda c, n: c * n, st.characters(), st.integers(200, 2000)),
    st.sampled_from(["started_at", "ended_at", "extra_fields", "ÉTAT", "客户", "", " ", "$oid"]),
)


def raw_records(*, with_id: bool) -> st.SearchStrategy[dict]:
    """An API record: any subset of the known fields, each of any shape, plus odd extras."""
    values = {name: FIELD_VALUES.get(name, json_values) for name in RAW_FIELDS}
    ids = values.pop("id")
    if with_id:  # a present, non-null id (the case the stream's conform must handle)
        ids = ids.filter(lambda v: v is not None)
        known = st.fixed_dictionaries({"id": ids}, optional=values)
    else:
        known = st.fixed_dictionaries({}, optional={**values, "id": ids})
    extras = st.dictionaries(odd_keys, json_values, max_size=3)
    return st.builds(lambda k, e: {**e, **k}, known, extras)


# ------------------------------------------------------------------------ the properties


def has_usable_id(raw: dict) -> bool:
    """Present, not null, and not blank text (after the shaper's text coercion)."""
    raw_id = raw.get("id")
    return raw_id is not None and not (isinstance(raw_id, str) and not raw_id.strip())


@PROFILE
@given(raw=raw_records(with_id=True), mode=st.sampled_from(MODES))
@example(raw={"id": "a", "notes": "\ud83d", "\udfff": ["\ud800x"]}, mode="keep")
@example(raw={"id": "a\x00", "agent_name": "x\x00", "notes": {"\x00": ["\x00"]}}, mode="keep")
@example(raw={"id": "a", "date": "0001-01-01", "time": "00:00:00"}, mode="keep")
@example(raw={"id": "a", "date": "9999-12-31", "time": "23:59:59"}, mode="keep")
@example(raw={"id": "a", "call_duration": 2**80, "charges": 1e400}, mode="keep")
@example(raw={"id": "a", "notes": {"x": [math.nan, math.inf, 10**30]}}, mode="keep")
@example(raw={"id": "a", "recording_url": "http://[::1/f?token=SECRET"}, mode="strip_token")
@example(raw={"id": "a", "recording_url": "https://h/f?a=\ud800&token=S"}, mode="strip_token")
@example(raw={"id": "a", "recording_url": "https://h/r?c=1.2&token=#&Token=x"}, mode="strip_token")
@example(raw={"id": "a", "started_at": "x", "extra_fields": 5, "ended_at": []}, mode="keep")
@example(raw={"id": 10**30, "call_id": "9999999999.1"}, mode="keep")
@example(raw={"id": "a", "missed_agents": "[" * 100_000, "notes": "{" * 100_000}, mode="keep")
def test_post_process_output_always_conforms(raw, mode):
    """The stream's own record path, derived fields included, for every recording mode."""
    record = STREAMS[mode].conform(json.loads(json.dumps(raw)))
    if record is None:  # skipped: only a record without a usable id may be
        assert not has_usable_id(raw), raw.get("id")
        return
    assert_conforms(record)
    url = record.get("recording_url")
    if mode == "drop":
        assert url is None
    if mode == "strip_token" and isinstance(url, str):
        assert not re.search(r"(?i)[?&;]token=", url), url
    for name in ("started_at", "ended_at", "extra_fields"):
        if name in raw:  # a raw field named like a derived one is kept, not overwritten
            kept = ensure_encodable({name: json.loads(json.dumps(raw[name]))})[name]
            assert record["extra_fields"][name] == kept


@PROFILE
@given(raw=raw_records(with_id=False))
@example(raw={})
@example(raw={"id": None, "call_id": "1773105058.1"})
@example(raw={"id": "   "})
def test_conform_call_record_skips_exactly_the_records_without_an_id(raw):
    record = conform_call_record(SHAPER, json.loads(json.dumps(raw)), KOLKATA, "strip_token")
    assert (record is not None) == has_usable_id(raw), (raw.get("id"), record and record["id"])
    if record is not None:
        assert_conforms(record)


def test_the_stream_skips_a_record_without_an_id():
    assert STREAM.conform({"call_id": "1773105058.1", "date": "2026-03-09"}) is None


# -------------------------------------------------------------- whole runs over HTTP


class _OddAPI(FakeAPI):
    """Serves one page of `records` for any window."""

    records: ClassVar[list[dict]] = []

    @staticmethod
    def answer(path: str) -> tuple[int, bytes]:
        page = 1 if "page=1&" in path or path.endswith("page=1") else 2
        results = _OddAPI.records if page == 1 else []
        # ensure_ascii: unpaired surrogates travel as \\udXXX escapes, as APIs send them
        return 200, json.dumps({"count": len(_OddAPI.records), "results": results}).encode()


@pytest.fixture(scope="module")
def odd_api() -> Iterator[ThreadingHTTPServer]:
    with serving(_OddAPI) as server:
        yield server


def _run_against(server: ThreadingHTTPServer, records: list[dict]) -> list[dict]:
    _OddAPI.records = records
    config = fake_api_config(server, recording_url_mode="strip_token")
    run = run_tap(config)
    for message in run.messages:
        if message["type"] == "SCHEMA" and message["stream"] == "call_records":
            assert message["schema"] == SCHEMA
    return run.records


REGRESSIONS = [
    {"id": "lone-surrogates", "notes": "\ud83d", "\udfff key": ["x\ud800"], "date": "2026-03-09"},
    {"id": "nul", "agent_name": "a\x00b", "notes": {"k\x00": ["\x00"]}, "date": "2026-03-09"},
    {"id": "year-1", "date": "0001-01-01", "time": "00:00:00", "end_stamp": "0001-01-01 00:00:01"},
    {"id": "year-9999", "date": "9999-12-31", "time": "23:59:59"},
    {"id": "huge", "call_duration": 2**80, "answered_seconds": "1e400", "charges": 10**40},
    {"id": "nan", "notes": {"x": [math.nan, math.inf]}, "charges": math.nan},
    {"id": "bad-url", "recording_url": "http://[::1/f?token=SECRET-in-a-broken-url"},
    {"id": "derived-names", "started_at": "x", "ended_at": {}, "extra_fields": [1]},
    {"id": 12345, "call_flow": {"type": "Agent", "dialst": "Answered", "id": [1]}},
    {"id": "long", "agent_name": "é" * 100_000, "客户": "x" * 10_000},
]


def test_a_whole_run_over_http_delivers_odd_records_that_conform(odd_api):
    records = _run_against(odd_api, REGRESSIONS)
    assert {r["id"] for r in records} == {str(r["id"]) for r in REGRESSIONS}
    for record in records:
        assert_conforms(record)
    text = json.dumps(records)
    assert "SECRET-in-a-broken-url" not in text


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(raw_records(with_id=True), min_size=1, max_size=12))
def test_whole_runs_over_http_never_crash_on_record_shapes(odd_api, batch):
    for n, raw in enumerate(batch):
        raw["id"] = f"r{n}"  # distinct, so none is deduplicated away
    records = _run_against(odd_api, batch)
    assert len(records) == len(batch)
    for record in records:
        assert_conforms(record)


# ---------------------------------------------- the fast paths agree with the slow ones

KIND_VALUES = {
    "string": st.one_of(st.none(), any_text),
    "integer": st.one_of(st.none(), st.booleans(), st.integers(-(2**63) - 2, 2**63 + 1)),
    "number": st.one_of(st.none(), st.booleans(), st.integers(), st.floats()),
    "boolean": st.one_of(st.none(), st.booleans(), st.integers(0, 1)),
    "array": st.one_of(st.none(), st.lists(json_values, max_size=3)),
    "object": st.one_of(st.none(), st.dictionaries(any_text, json_values, max_size=3)),
}


def typed_records() -> st.SearchStrategy[dict]:
    """Records whose fields mostly have their declared types: the whole-record check's case."""
    values = {
        name: KIND_VALUES.get(_declared_kind(SCHEMA["properties"][name]), json_values)
        for name in RAW_FIELDS
    }
    extras = st.dictionaries(odd_keys, json_values, max_size=2)
    return st.builds(lambda k, e: {**e, **k}, st.fixed_dictionaries({}, optional=values), extras)


@PROFILE
@given(raw=st.one_of(typed_records(), raw_records(with_id=False)))
def test_the_whole_record_check_gives_what_the_field_by_field_path_gives(raw):
    fast = SHAPER.fields_as_they_are(raw)
    if fast is not None:
        slow = SHAPER.fields_one_by_one(raw)
        assert list(fast) == list(slow)
        assert json.dumps(fast) == json.dumps(slow)  # NaN-safe equality, types included
        assert [type(v) for v in fast.values()] == [type(v) for v in slow.values()]


def test_a_typical_record_takes_the_whole_record_check():
    raw = {"id": "69af10e0", "call_id": "1773117672.1", "call_duration": 41, "missed_agents": []}
    assert SHAPER.fields_as_they_are(raw) == SHAPER.fields_one_by_one(raw)


@PROFILE
@given(
    value=json_values,
    ensure_ascii=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]),
)
@example(value="\ud83d", ensure_ascii=False, encoding="utf-8")
@example(value="\x00", ensure_ascii=True, encoding="utf-8")
def test_a_body_found_clean_decodes_to_storable_text_only(value, ensure_ascii, encoding):
    """Pages found clean skip the per-record repair: the scan must never miss a case."""
    body = json.dumps({"results": [value]}, ensure_ascii=ensure_ascii).encode(
        encoding, "surrogatepass"
    )
    if may_hold_unstorable_text(body):
        return
    decoded = decode_json(body)
    assert not [text for text in _texts(decoded) if re.search("[\x00\ud800-\udfff]", text)]
