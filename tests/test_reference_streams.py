"""users, departments, ivrs and my_numbers, and the analyst fields that join calls to them."""

from __future__ import annotations

import hashlib

import pytest

from tap_acefone.errors import FatalResponseError
from tap_acefone.tap import TapAcefone
from tests.taprun import run_tap, tap_config
from tests.truth import truth_in


def catalog_selecting(sandbox, *streams):
    """A catalog, as Meltano writes one, that selects only `streams`."""
    catalog = TapAcefone(config=tap_config(sandbox, days=1)).catalog_dict
    for entry in catalog["streams"]:
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
        root["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def test_reference_streams_reconcile_with_the_team(sandbox):
    run = run_tap(tap_config(sandbox, days=1, page_size=3))
    team = sandbox.team
    users = run.records_of("users")
    assert sorted(u["id"] for u in users) == sorted(str(a.user_id) for a in team.agents)
    assert {u["agent_id"] for u in users} == {a.agent_id for a in team.agents}
    assert len(users) == len({u["id"] for u in users}), "cursor paging repeated a user"
    departments = run.records_of("departments")
    assert sorted(d["id"] for d in departments) == sorted(d.dept_id for d in team.departments)
    assert all(isinstance(d["agent_count"], int) for d in departments)
    assert sorted(i["id"] for i in run.records_of("ivrs")) == sorted(
        str(i.ivr_id) for i in team.ivrs
    )
    numbers = run.records_of("my_numbers")
    assert sorted(n["did_e164"] for n in numbers) == sorted(d.did for d in team.dids)
    routed = [n for n in numbers if n["destination"]]
    assert all(n["destination_type"] in {"ivr", "department"} for n in routed)


def test_calls_join_to_users_departments_and_numbers(sandbox):
    config = tap_config(sandbox, days=2)
    run = run_tap(config)
    agent_ids = {u["agent_id"] for u in run.records_of("users")}
    department_ids = {d["id"] for d in run.records_of("departments")}
    dids = {n["did_e164"] for n in run.records_of("my_numbers")}
    calls = run.records
    answered = [c for c in calls if c["status"] == "answered" and c["answered_agent_id"]]
    assert answered
    assert {c["answered_agent_id"] for c in answered} <= agent_ids
    with_department = [c for c in calls if c["department_id"]]
    assert with_department
    assert {c["department_id"] for c in with_department} <= department_ids
    assert {c["did_number_e164"] for c in calls if c["did_number_e164"]} <= dids
    assert len(calls) == len(truth_in(sandbox, config))


def test_analyst_fields_sit_beside_untouched_raw_values(sandbox):
    run = run_tap(tap_config(sandbox, days=2))
    calls = run.records
    for call in calls:
        assert call["has_recording"] == bool(call["recording_url"])
        if str(call["agent_ring_time"]).isdigit():
            assert call["ring_seconds"] == int(call["agent_ring_time"])
        else:
            assert call["ring_seconds"] is None
        if str(call["agent_number"]).startswith("Extension-"):
            assert call["agent_number_e164"] is None
    assert any(str(c["agent_number"]).startswith("Extension-") for c in calls)
    assert any(c["agent_ring_time"] == "N.A." for c in calls)
    assert all(
        c["client_number_e164"] == c["client_number"]
        for c in calls
        if str(c["client_number"]).startswith("+91")
    )


def test_a_default_selected_stream_without_permission_is_skipped(make_sandbox, caplog):
    sandbox = make_sandbox(denied_paths=("/v1/users",))
    run = run_tap(tap_config(sandbox, days=1))
    assert run.records
    assert not run.records_of("users")
    assert run.records_of("departments")
    assert any(
        "Skipping stream users" in r.getMessage() and r.levelname == "WARNING"
        for r in caplog.records
    )


def test_an_explicitly_selected_stream_without_permission_fails(make_sandbox):
    sandbox = make_sandbox(denied_paths=("/v1/users",))
    config = tap_config(sandbox, days=1)
    catalog = catalog_selecting(sandbox, "call_records", "users")
    with pytest.raises(FatalResponseError, match="Stream users: GET /v1/users was refused"):
        TapAcefone(config=config, catalog=catalog).sync_all()


def _hashed(field):
    return f"md5(config['hash_seed'] + {field}) if {field} else None"


# The README's recipe: the customer's number also appears in caller_id_num (inbound calls),
# contact_details, lead_data and the call_flow steps, so those go too.
STREAM_MAPS_RECIPE = {
    "stream_maps": {
        "call_records": {
            "client_number": _hashed("client_number"),
            "client_number_e164": _hashed("client_number_e164"),
            "caller_id_num": _hashed("caller_id_num"),
            "contact_details": "__NULL__",
            "lead_data": "__NULL__",
            "call_flow": "__NULL__",
        }
    },
    "stream_map_config": {"hash_seed": "a-secret-seed-from-your-vault"},
}


def test_the_readme_stream_maps_recipe_hashes_client_numbers(sandbox):
    plain = run_tap(tap_config(sandbox, days=1))
    hashed = run_tap(tap_config(sandbox, days=1, **STREAM_MAPS_RECIPE))
    seed = STREAM_MAPS_RECIPE["stream_map_config"]["hash_seed"]
    originals = {r["id"]: r for r in plain.records}
    assert hashed.records
    for record in hashed.records:
        number = originals[record["id"]]["client_number"] or ""
        assert record["client_number"] == hashlib.md5((seed + number).encode()).hexdigest()
        assert record["agent_name"] == originals[record["id"]]["agent_name"]
    output = str(hashed.messages)
    assert seed not in output
    assert not any(r["client_number"] in output for r in plain.records if r["client_number"])
