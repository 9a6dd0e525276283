"""Each field is coerced to its declared type, whatever shape the API sent."""

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tap_acefone.records import (
    RecordShaper,
    add_call_instants,
    redact_recording_url,
    start_epoch_hint,
    to_boolean,
    to_integer,
    to_list,
    to_number,
    to_object,
    to_text,
)

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "call_records.json").read_text())


@pytest.mark.parametrize(
    ("func", "raw", "expected"),
    [
        (to_text, 1, "1"),
        (to_text, True, "true"),
        (to_text, {"a": 1}, '{"a":1}'),
        # An object or a list in a text field arrives as compact JSON, readable back as JSON.
        (to_text, {"a": 1, "b": [2, "é"]}, '{"a":1,"b":[2,"é"]}'),
        (to_text, ["x", "y"], '["x","y"]'),
        (to_text, None, None),
        (to_integer, "54", 54),
        (to_integer, 54.0, 54),
        (to_integer, 54.6, 55),
        (to_integer, "N.A.", None),
        (to_integer, "", None),
        (to_integer, [1], None),
        (to_number, "0.5", 0.5),
        (to_number, "nan", None),
        (to_number, float("inf"), None),
        (to_boolean, "false", False),
        (to_boolean, 1, True),
        (to_boolean, "maybe", None),
        (to_list, {"number": "+91"}, [{"number": "+91"}]),
        (to_list, "", []),
        (to_list, '[{"a": 1}]', [{"a": 1}]),
        (to_list, "x", ["x"]),
        (to_object, "x", {"value": "x"}),
        (to_object, '{"a": 1}', {"a": 1}),
        (to_object, "[1]", {"value": "[1]"}),
        (to_object, {"a": 1}, {"a": 1}),
    ],
)
def test_coercions(func, raw, expected):
    assert func(raw) == expected


def test_shaper_fills_every_declared_field_and_keeps_unknown_ones_aside():
    shaper = RecordShaper(SCHEMA)
    record = shaper.shape({"id": 1, "call_duration": "40", "brand_new_field": {"x": 1}})
    assert record["id"] == "1"
    assert record["call_duration"] == 40
    assert record["extra_fields"] == {"brand_new_field": {"x": 1}}
    assert list(record) == list(SCHEMA["properties"])  # every property, in schema order
    assert record["started_at"] is None  # a slot for the derived instant, filled in later


# Every variant the API sends (notes "Type variance"), and the one shape each arrives in.
@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("notes", "follow up next week", {"message": "follow up next week"}),
        ("notes", "", {"message": ""}),
        (
            "notes",
            {"message": "m", "created_by": 288207, "x": [1]},
            {"message": "m", "created_by": 288207, "x": [1]},
        ),
        ("notes", None, None),
        ("notes", 42, {"message": 42}),
        ("notes", ["a", "b"], {"message": ["a", "b"]}),
        ("contact_details", "Customer 00012", {"name": "Customer 00012"}),
        ("contact_details", {"name": "C", "number": "+9198"}, {"name": "C", "number": "+9198"}),
        ("circle", "Delhi", {"circle": "Delhi"}),
        ("circle", {"operator": "Jio", "circle": "Delhi"}, {"operator": "Jio", "circle": "Delhi"}),
        ("agent_hangup_data", '{"disposition": "Interested"}', {"disposition": "Interested"}),
        ("agent_hangup_data", "Interested", {"disposition": "Interested"}),
        ("agent_hangup_data", "{not json", {"disposition": "{not json"}),
        (
            "dialer_call_details",
            '{"campaign_id": 3001, "attempt": "2", "disposition_name": null}',
            {"campaign_id": 3001, "attempt": "2", "disposition_name": None},
        ),
        ("sip_agent_ids", "0602141810277", ["0602141810277"]),
        ("sip_agent_ids", ["0602141810277"], ["0602141810277"]),
        ("sip_agent_ids", None, None),
        ("call_tags", "vip", ["vip"]),
        ("call_tags", [], []),
        ("missed_agents", {"number": "+91", "name": "A"}, [{"number": "+91", "name": "A"}]),
        ("extra_fields", None, None),
    ],
)
def test_each_variant_arrives_in_the_one_declared_shape(field, raw, expected):
    shaper = RecordShaper(SCHEMA)
    record = {"id": "x", field: raw} if field != "extra_fields" else {"id": "x"}
    assert shaper.shape(record)[field] == expected
    fast = shaper.fields_as_they_are(record)
    assert fast is None or fast == shaper.fields_one_by_one(record)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"call_id": "1714657799.11930963"}, 1714657799.0),
        ({"call_id": "h3.08-1770534283.2156835"}, 1770534283.0),
        (
            {
                "call_id": "12a445d3-635d-45da-a3b9-161ac269a3a0",
                "call_flow": [{"type": "x"}, {"time": "1714657803"}],
            },
            1714657803.0,
        ),
        ({"call_id": None, "call_flow": [{"time": 1714657803.338}]}, 1714657803.338),
        ({"call_id": None, "call_flow": "junk"}, None),
    ],
)
def test_start_epoch_hint(record, expected):
    assert start_epoch_hint(record) == expected


def test_instants_are_utc_and_null_when_the_stamp_is_invalid():
    record = {"date": "2024-05-02", "time": "19:19:59", "end_stamp": "0000-00-00 00:00:00"}
    add_call_instants(record, ZoneInfo("Asia/Kolkata"))
    assert record["started_at"] == "2024-05-02T13:49:59+00:00"
    assert record["ended_at"] is None


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("keep", "https://h/file/recording?callId=1.2&type=rec&token=abc"),
        ("strip_token", "https://h/file/recording?callId=1.2&type=rec"),
        ("drop", None),
    ],
)
def test_recording_url_modes(mode, expected):
    record = {"recording_url": "https://h/file/recording?callId=1.2&type=rec&token=abc"}
    assert redact_recording_url(record, mode)["recording_url"] == expected
