"""The shape each raw API value must arrive in, as the schema descriptions document it.

Written from `schemas/call_records.json`'s descriptions, not from `tap_acefone/records.py`,
so that reconciling a delivered record with the sandbox's raw record checks the tap against
its documentation: an object property holds a non-object value under one key (text holding
a JSON object is read as that object); a list property holds a lone value as a one-item
list. Every other field, and what objects and lists hold, arrives as sent.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

# Object properties: the key a value that is not an object goes under.
OBJECTS: dict[str, str] = {
    "notes": "message",
    "contact_details": "name",
    "circle": "circle",
    "agent_hangup_data": "disposition",
    "dialer_call_details": "disposition_name",
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
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            raw = json.loads(raw)
    return raw if isinstance(raw, dict) else {OBJECTS[field]: raw}
