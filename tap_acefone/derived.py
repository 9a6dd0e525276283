"""Fields computed from a call record for analysts; the raw fields beside them stay untouched.

They answer the questions every dashboard asks without hand-written SQL: which agent answered
(joins `users.agent_id`), which department the call reached (joins `departments.id`), the
customer's number in E.164, how long it rang, and whether a recording exists.
"""

from __future__ import annotations

from typing import Any

from tap_acefone.phones import e164_or_none
from tap_acefone.records import to_integer

PHONE_FIELDS = ("client_number", "agent_number", "did_number")
_E164_FIELDS = tuple((name, f"{name}_e164") for name in PHONE_FIELDS)
# `call_flow` step types as sent ("Agent", "agent ", ...) -> normalised; few distinct ones.
_KIND_OF: dict[str, str] = {}
_MAX_KINDS = 1024


def add_analyst_fields(record: dict[str, Any], region: str) -> dict[str, Any]:
    """Set the E.164 numbers, ring time, recording flag and the agent/department join keys."""
    for name, e164_name in _E164_FIELDS:
        record[e164_name] = e164_or_none(record.get(name), region)
    record["ring_seconds"] = _ring_seconds(record.get("agent_ring_time"))
    url = record.get("recording_url")
    record["has_recording"] = isinstance(url, str) and bool(url.strip())
    record["answered_agent_id"], record["department_id"] = _flow_keys(record.get("call_flow"))
    return record


def _ring_seconds(value: object) -> int | None:
    """`agent_ring_time` as seconds when the API reports a number ("N.A." otherwise)."""
    seconds = to_integer(value)
    return seconds if seconds is not None and seconds >= 0 else None


def _flow_keys(flow: object) -> tuple[str | None, str | None]:
    """From `call_flow`: the agent who answered and the department the call reached.

    The answering agent is the last `Agent` step whose dial status is Answered; the
    department is the first `Department` step with an id. One pass over the journey.
    """
    answered = department = None
    for entry in flow if isinstance(flow, list) else ():
        if not isinstance(entry, dict):
            continue
        kind = _kind(entry.get("type", ""))
        if kind == "agent" and str(entry.get("dialst", "")).lower() == "answered":
            answered = _text_id(entry.get("id")) or answered
        elif kind == "department" and department is None:
            department = _text_id(entry.get("id"))
    return answered, department


def _kind(raw: object) -> str:
    """A step's type, trimmed and lower-cased (remembered: the same few come every call)."""
    if type(raw) is not str:
        return str(raw).strip().lower()
    kind = _KIND_OF.get(raw)
    if kind is None:
        kind = raw.strip().lower()
        if len(_KIND_OF) < _MAX_KINDS:
            _KIND_OF[raw] = kind
    return kind


def _text_id(value: object) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None
