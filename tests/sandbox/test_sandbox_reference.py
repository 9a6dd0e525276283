"""Reference endpoints: their shapes, the users cursor, and consistency with the CDRs."""

from __future__ import annotations

import requests

from .conftest import WIDE, fetch_all


def _users(api, sb, **params):
    r = api.get(f"{sb.url}/v1/users", params=params, timeout=10)
    assert r.status_code == 200
    return r.json()


def test_users_cursor_paging(shared, api):
    everyone = _users(api, shared, limit=100)
    assert everyone["has_more"] is False
    total = everyone["count"]
    assert 10 <= total <= 40
    seen, last, pages = [], None, 0
    while True:
        params = {"limit": 7} if last is None else {"limit": 7, "last_seen_id": last}
        page = _users(api, shared, **params)
        pages += 1
        assert page["count"] == len(page["data"]) <= 7
        seen += [u["id"] for u in page["data"]]
        if page["data"]:
            assert page["last_seen_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        last = page["last_seen_id"]
    assert pages == -(-total // 7)
    assert seen == sorted(seen) == [u["id"] for u in everyone["data"]]
    assert _users(api, shared, last_seen_id=seen[-1])["data"] == []


def test_user_shape(shared, api):
    user = _users(api, shared, limit=1)["data"][0]
    assert set(user) == {
        "id",
        "name",
        "agent",
        "login_id",
        "is_login_based_calling_enabled",
        "is_international_outbound_enabled",
        "user_role",
        "extension",
        "user_status",
    }
    assert isinstance(user["id"], int)
    assert set(user["agent"]) == {"id", "name", "status", "follow_me_number"}
    assert user["agent"]["id"].startswith("0502")
    assert user["agent"]["status"] in range(5)
    assert "@" in user["login_id"]
    assert set(user["user_role"]) == {"id", "name"}


def test_departments_shape_uses_strings(shared, api):
    depts = api.get(f"{shared.url}/v1/departments", timeout=10).json()
    assert isinstance(depts, list)
    assert 3 <= len(depts) <= 5
    for d in depts:
        assert isinstance(d["id"], str)
        assert d["id"].isdigit()
        for key in ("agent_count", "calls_answered", "calls_missed", "queue_timeout"):
            assert isinstance(d[key], str), key
            assert d[key].isdigit(), key
        assert isinstance(d["use_as_queue"], bool)
        assert d["sticky_agent"] == {}
        assert d["transcription"] == {}
        assert int(d["agent_count"]) == len(d["agents"]) > 0
        assert all(set(a) == {"id", "name", "eid", "timeout"} for a in d["agents"])


def test_ivrs_and_numbers_shape(shared, api):
    ivrs = api.get(f"{shared.url}/v1/ivrs", timeout=10).json()
    assert list(ivrs) == ["ivrs"]
    assert 2 <= len(ivrs["ivrs"]) <= 3
    for ivr in ivrs["ivrs"]:
        assert isinstance(ivr["id"], int)
        assert isinstance(ivr["timeout"], int)
        assert ivr["ivr_menu"]
        assert all(
            set(m)
            == {"option", "destination_type", "destination_id", "sms_template_id", "webhook_id"}
            for m in ivr["ivr_menu"]
        )
    numbers = api.get(f"{shared.url}/v1/my_number", timeout=10).json()
    assert isinstance(numbers, list)
    assert 3 <= len(numbers) <= 6
    assert all(set(n) == {"id", "did", "alias", "destination_name", "destination"} for n in numbers)
    assert all(n["did"].startswith("+9180") for n in numbers)
    assert any(n["destination"] is None for n in numbers)


def test_cdrs_agree_with_reference_data(shared, api):
    users = _users(api, shared, limit=100)["data"]
    depts = api.get(f"{shared.url}/v1/departments", timeout=10).json()
    ivrs = api.get(f"{shared.url}/v1/ivrs", timeout=10).json()["ivrs"]
    numbers = api.get(f"{shared.url}/v1/my_number", timeout=10).json()
    agent_ids = {u["agent"]["id"] for u in users}
    names = {u["name"] for u in users}
    emails = {u["login_id"] for u in users}
    dept_names = {d["name"] for d in depts}
    ivr_ids = {str(i["id"]) for i in ivrs}
    dids = {n["did"] for n in numbers}
    members = {d["name"]: {a["id"] for a in d["agents"]} for d in depts}
    rows = fetch_all(api, shared.url, WIDE)
    assert rows
    for rec in rows:
        assert rec["did_number"] in dids
        assert rec["agent_name"] is None or rec["agent_name"] in names
        assert rec["department_name"] is None or rec["department_name"] in dept_names
        missed = (
            rec["missed_agents"]
            if isinstance(rec["missed_agents"], list)
            else [rec["missed_agents"]]
        )
        assert all(m["name"] in names for m in missed)
        for entry in rec["call_flow"]:
            if entry.get("type") == "Agent":
                assert entry["id"] in agent_ids
                assert entry["name"] in emails
                if rec["department_name"]:
                    assert entry["id"] in members[rec["department_name"]]
            if entry.get("type") == "IVR":
                assert str(entry["id"]) in ivr_ids
    assert len({r["department_name"] for r in rows} - {None}) >= 2


def test_denied_paths_answer_403_to_a_valid_token_only(start_sandbox, api):
    sb = start_sandbox(denied_paths=("/v1/users",))
    refused = api.get(f"{sb.url}/v1/users", timeout=10)
    assert refused.status_code == 403
    assert refused.json()["success"] is False
    assert api.get(f"{sb.url}/v1/departments", timeout=10).status_code == 200
    assert requests.get(f"{sb.url}/v1/users", timeout=10).status_code == 401
