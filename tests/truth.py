"""Reconcile what the tap delivered with what the sandbox knows it holds."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.shapes import expected_value
from tests.taprun import iso

# Fields compared value for value: identity, the wall-clock raw fields, and every field the
# sandbox changes after first serving a record (each in the shape its schema documents).
COMPARED_FIELDS = (
    "call_id",
    "date",
    "time",
    "end_stamp",
    "status",
    "agent_name",
    "client_number",
    "recording_url",
    "notes",
    "custom_status",
    "dialer_call_details",
    "call_flow",
    "call_duration",
    "answered_seconds",
    "minutes_consumed",
    "charges",
)
# Derived columns, and the sandbox fact each must equal (`TruthRow.facts`).
DERIVED_FACTS = {
    "ended_at": "ended_at",
    "client_number_e164": "client_e164",
    "did_number_e164": "did_e164",
    "agent_number_e164": "agent_e164",
    "answered_agent_id": "answered_agent_id",
    "department_id": "department_id",
    "ring_seconds": "ring_seconds",
    "has_recording": "has_recording",
}


def latest_by_id(records: list[dict]) -> dict[str, dict]:
    """What an upserting target holds after loading `records` in order."""
    return {record["id"]: record for record in records}


def assert_exactly_once(records: list[dict]) -> None:
    duplicates = [rid for rid, n in Counter(r["id"] for r in records).items() if n > 1]
    assert not duplicates, f"{len(duplicates)} records emitted more than once: {duplicates[:5]}"


def assert_matches_truth(
    records: list[dict], truth: list[Any], edges: list[Any] | None = None
) -> None:
    """The delivered records, upserted by id, equal the ground truth field by field.

    `edges` are real calls from just outside the range that the tap may also deliver (the
    API served them for a query overlapping the range): delivered, they must be exact too.
    """
    delivered = latest_by_id(records)
    expected = {row.record["id"]: row for row in truth}
    allowed = {row.record["id"]: row for row in edges or ()}
    missing = sorted(set(expected) - set(delivered))
    extra = sorted(set(delivered) - set(expected) - set(allowed))
    expected.update({key: row for key, row in allowed.items() if key in delivered})
    assert not missing, f"{len(missing)} of {len(expected)} calls never delivered: {missing[:5]}"
    assert not extra, f"{len(extra)} delivered calls unknown to the sandbox: {extra[:5]}"
    for record_id, row in expected.items():
        record = delivered[record_id]
        assert record["started_at"] == iso(row.started_at), record_id
        for name in COMPARED_FIELDS:
            assert record[name] == expected_value(name, row.record.get(name)), (record_id, name)
        assert_derived(record, row)
        kept = set(record) | set(record.get("extra_fields") or {})
        assert set(row.record) <= kept, (record_id, set(row.record) - kept)


def assert_derived(record: dict, row: Any) -> None:
    """The tap's derived columns equal what the sandbox knows the call really was."""
    facts = getattr(row, "facts", None)
    if not facts:  # a ground truth without facts (an older export) checks raw fields only
        return
    for column, fact in DERIVED_FACTS.items():
        if column in record:  # e.g. has_recording is in every record, E.164 columns too
            assert record[column] == facts[fact], (row.record["id"], column, record[column])


def truth_in(sandbox: Any, config: dict[str, Any], at: Any = None) -> list[Any]:
    """The sandbox's visible calls that started inside the config's [start_date, end_date)."""
    start, end = config["start_date"], config["end_date"]
    return [row for row in sandbox.truth(at=at) if start <= iso(row.started_at) < end]


def truth_outside(sandbox: Any, config: dict[str, Any], at: Any = None) -> list[Any]:
    """The sandbox's visible calls that started before start_date (possible edge deliveries)."""
    start = config["start_date"]
    return [row for row in sandbox.truth(at=at) if iso(row.started_at) < start]
