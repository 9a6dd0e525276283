"""The shape each raw API value must arrive in, as the schema descriptions document it.

Written from `schemas/call_records.json`'s descriptions, not from `tap_acefone/records.py`,
so that reconciling a delivered record with the sandbox's raw record checks the tap against
its documentation: an object property holds a non-object value under one key (text holding
a JSON object is read as that object) and its declared keys have their declared types; a
list property holds a lone value as a one-item list. Every other field arrives as sent.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

# Object properties: the key a non-object value goes under, and the declared keys' types.
OBJECTS: dict[str, tuple[str, dict[str, type]]] = {
    "notes": ("message", {"message": str, "created_by": str, "name": str}),
    "contact_details": ("name", {"name": str, "number": str}),
    "circle": ("circle", {"operator": str, "circle": str}),
    "agent_hangup_data": ("disposition", {"disposition": str, "remarks": str, "hangup_by": str}),
    "dialer_call_details": (
        "disposition_name",
        {
            "campaign_id": str,
            "campaign_name": str,
            "lead_id": str,
            "attempt": int,
            "disposition_name": str,
        },
    ),
}
LISTS = (
    "sip_agent_ids",
    "call_tags",
    "missed_agents",
    "transfer_missed_agent",
    "call_flow",
    "lead_data",
)


def expected_value(field: str, raw: Any) -> Any:
    """What `field` must hold once the tap delivered the API's `raw` value."""
    if raw is None:
        return None
    if field in OBJECTS:
        return _expected_object(field, raw)
    if field in LISTS:
        if isinstance(raw, list):
            return raw
        if raw == "":
            return []
        return [raw]
    return raw


def _expected_object(field: str, raw: Any) -> dict[str, Any]:
    key, declared = OBJECTS[field]
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            raw = json.loads(raw)
    if not isinstance(raw, dict):
        raw = {key: raw if isinstance(raw, str) else json.dumps(raw, separators=(",", ":"))}
    return {name: _as(declared.get(name), value) for name, value in raw.items()}


def _as(want: type | None, value: Any) -> Any:
    if value is None or want is None or isinstance(value, want):
        return value
    return want(value)
