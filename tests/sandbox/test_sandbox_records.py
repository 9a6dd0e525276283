"""Record contents: every documented key, the type variance of the real API, realistic mixes."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from typing import Any

import pytest
import requests

from .conftest import WIDE

# Every key of the sample record on the vendor page (acefone-call-records-api.txt).
SAMPLE_KEYS = {
    "id",
    "call_id",
    "uuid",
    "direction",
    "description",
    "detailed_description",
    "status",
    "blocked_number_id",
    "recording_url",
    "service",
    "date",
    "time",
    "end_stamp",
    "broadcast_id",
    "dtmf_input",
    "call_duration",
    "answered_seconds",
    "minutes_consumed",
    "charges",
    "department_name",
    "agent_number",
    "agent_number_with_prefix",
    "agent_name",
    "client_number",
    "did_number",
    "reason",
    "hangup_cause",
    "notes",
    "contact_details",
    "missed_agents",
    "call_flow",
    "accountid",
    "agent_ring_time",
    "circle",
    "agent_hangup_data",
    "transfer_missed_agent",
    "call_hint",
    "support_api_call",
    "lead_id",
    "is_incoming_from_broadcast",
    "caller_id_num",
    "sip_agent_ids",
    "dialer_call_details",
    "custom_status",
    "voicemail_recording",
    "aws_call_recording_identifier",
}
EXTRA_KEYS = {
    "sid",
    "sname",
    "is_whatsapp",
    "lead_data",
    "call_tags",
    "sip_agent_ids",
    "custom_status",
}
EPOCH_ID = re.compile(r"^(\d{10})\.\d+$")
HOST_ID = re.compile(r"^h\d\.\d\d-(\d{10})\.\d+$")
UUID_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

Record = dict[str, Any]


@pytest.fixture(scope="module")
def sample(shared) -> list[Record]:
    """The newest 300 records, served over HTTP: a "few hundred" like a first sync sees."""
    rows: list[Record] = []
    with requests.Session() as s:
        s.headers["Authorization"] = "Bearer sandbox-static-token"
        for page in (1, 2, 3):
            r = s.get(
                f"{shared.url}/v1/call/records",
                params={**WIDE, "limit": 100, "page": page},
                timeout=10,
            )
            rows += r.json()["results"]
    assert len(rows) == 300
    return rows


def _kinds(values) -> set[str]:
    return {type(v).__name__ for v in values}


def test_every_sample_key_is_present(sample):
    for rec in sample:
        assert set(rec) >= SAMPLE_KEYS | EXTRA_KEYS


def test_ids_are_objectids(sample):
    assert all(re.fullmatch(r"[0-9a-f]{24}", r["id"]) for r in sample)
    assert len({r["id"] for r in sample}) == len(sample)


def test_call_id_formats(shared, sample):
    formats = Counter(
        "epoch"
        if EPOCH_ID.match(r["call_id"])
        else "host"
        if HOST_ID.match(r["call_id"])
        else "uuid"
        if UUID_ID.match(r["call_id"])
        else "other"
        for r in sample
    )
    assert set(formats) == {"epoch", "host", "uuid"}
    assert formats["epoch"] > formats["host"]
    starts = {t.id: int(t.started_at.timestamp()) for t in shared.truth()}
    for rec in sample:
        m = EPOCH_ID.match(rec["call_id"]) or HOST_ID.match(rec["call_id"])
        if m:
            assert int(m.group(1)) == starts[rec["id"]]
        else:
            assert rec["call_hint"] == "dialer"


def test_call_flow_is_heterogeneous(sample):
    entries = [e for r in sample for e in r["call_flow"][1:]]
    assert all(
        r["call_flow"][0]["type"] == "init" and isinstance(r["call_flow"][0]["time"], str)
        for r in sample
    )
    assert {"int", "float"} <= _kinds(e["time"] for e in entries if "time" in e)
    assert any("time" not in e for e in entries)
    assert any("type" not in e and "anstime" in e for e in entries)
    assert _kinds(e["id"] for e in entries if e.get("type") == "IVR") == {"int", "str"}
    assert _kinds(e["app_id"] for e in entries if "app_id" in e) == {"int", "str"}
    assert {e.get("type") for e in entries} >= {
        "IVR",
        "DTMF",
        "Department",
        "Agent",
        "Customer",
        "hangup",
    }


@pytest.mark.parametrize(
    ("field", "kinds"),
    [
        ("circle", {"dict", "NoneType"}),
        ("notes", {"dict", "str", "NoneType"}),
        ("contact_details", {"dict", "str", "NoneType"}),
        ("agent_hangup_data", {"dict", "str", "NoneType"}),
        ("dialer_call_details", {"dict", "str", "NoneType"}),
        ("sip_agent_ids", {"str", "list", "NoneType"}),
        ("missed_agents", {"list", "dict"}),
        ("charges", {"int", "float"}),
        ("recording_url", {"str", "NoneType"}),
        ("agent_ring_time", {"str"}),
    ],
)
def test_type_variance_present_in_a_few_hundred_records(sample, field, kinds):
    assert _kinds(r[field] for r in sample) == kinds


def test_value_quirks_present(sample):
    ring = {r["agent_ring_time"] for r in sample}
    assert "N.A." in ring
    assert any(v.isdigit() for v in ring)
    assert {"0000-00-00 00:00:00", ""} <= {r["end_stamp"] for r in sample}
    assert any(r["agent_number"] and r["agent_number"].startswith("Extension-") for r in sample)
    assert any(r["agent_number"] and r["agent_number"].startswith("+91") for r in sample)
    assert {r["status"] for r in sample} == {"answered", "missed"}
    assert {r["call_hint"] for r in sample} == {"inbound", "outbound", "clicktocall", "dialer"}
    for rec in sample:
        if rec["recording_url"]:
            assert "token=" in rec["recording_url"]
        missed = (
            rec["missed_agents"]
            if isinstance(rec["missed_agents"], list)
            else [rec["missed_agents"]]
        )
        assert all(set(m) == {"number", "name"} for m in missed)
        assert rec["answered_seconds"] <= rec["call_duration"]
        assert rec["status"] == "answered" or rec["answered_seconds"] == 0


def test_realistic_call_mix(shared):
    records = [t.record for t in shared.truth()]
    n = len(records)
    answered = sum(r["status"] == "answered" for r in records) / n
    assert 0.70 <= answered <= 0.85
    hints = Counter(r["call_hint"] for r in records)
    assert 0.5 <= hints["inbound"] / n <= 0.7
    assert 0.05 <= hints["clicktocall"] / n <= 0.15
    talk = statistics.median(r["answered_seconds"] for r in records if r["status"] == "answered")
    assert 90 <= talk <= 200
    by_hour = Counter(int(r["time"][:2]) for r in records)
    assert by_hour[11] > 5 * max(by_hour[2], 1)
    per_day = Counter(r["date"] for r in records if r["date"] < "2026-03-10")
    assert per_day["2026-03-09"] > per_day["2026-03-08"]  # a Monday beats a Sunday
