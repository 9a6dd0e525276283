"""Fields computed from a call record for analysts; the raw fields beside them stay untouched.

They answer the questions every dashboard asks without hand-written SQL: which agent answered
(joins `users.agent_id`), which department the call reached (joins `departments.id`), the
customer's number in E.164, how long it rang, and whether a recording exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tap_acefone.phones import e164_or_none
from tap_acefone.records import to_integer

PHONE_FIELDS = ("client_number", "agent_number", "did_number")


def add_analyst_fields(record: dict[str, Any], region: str) -> dict[str, Any]:
    """Set the E.164 numbers, ring time, recording flag and the agent/department join keys."""
    for name in PHONE_FIELDS:
        record[f"{name}_e164"] = e164_or_none(record.get(name), region)
    record["ring_seconds"] = _ring_seconds(record.get("agent_ring_time"))
    url = record.get("recording_url")
    record["has_recording"] = isinstance(url, str) and bool(url.strip())
    flow = _entries(record.get("call_flow"))
    record["answered_agent_id"] = _answered_agent_id(flow)
    record["department_id"] = _first_id(flow, "department")
    return record


def _ring_seconds(value: object) -> int | None:
    """`agent_ring_time` as seconds when the API reports a number ("N.A." otherwise)."""
    seconds = to_integer(value)
    return seconds if seconds is not None and seconds >= 0 else None


def _entries(flow: object) -> list[dict[str, Any]]:
    return [entry for entry in flow if isinstance(entry, dict)] if isinstance(flow, list) else []


def _answered_agent_id(flow: Iterable[dict[str, Any]]) -> str | None:
    """The agent entry that answered: the last `Agent` step whose dial status is Answered."""
    answered = None
    for entry in flow:
        if _kind(entry) == "agent" and str(entry.get("dialst", "")).lower() == "answered":
            answered = _text_id(entry.get("id")) or answered
    return answered


def _first_id(flow: Iterable[dict[str, Any]], kind: str) -> str | None:
    for entry in flow:
        if _kind(entry) == kind and (found := _text_id(entry.get("id"))):
            return found
    return None


def _kind(entry: dict[str, Any]) -> str:
    return str(entry.get("type", "")).strip().lower()


def _text_id(value: object) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None
