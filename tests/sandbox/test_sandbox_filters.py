"""The date window (inclusive bounds, defaults, 400s) and every documented filter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from .conftest import WIDE, fetch_all

Record = dict[str, Any]


def _local(record: Record) -> str:
    return f"{record['date']} {record['time']}"


def _truth_records(sb) -> list[Record]:
    return [t.record for t in sb.truth()]


def _ids(rows: list[Record]) -> set[str]:
    return {r["id"] for r in rows}


def _check(
    sb, api, params: dict[str, Any], predicate: Callable[[Record], bool], *, minimum: int = 1
) -> None:
    expected = {r["id"] for r in _truth_records(sb) if predicate(r)}
    got = fetch_all(api, sb.url, {**WIDE, **params})
    assert _ids(got) == expected
    assert len(got) == len(expected) >= minimum, (
        f"filter {params} matched too little to prove anything"
    )
    assert len(expected) < len(_truth_records(sb)), f"filter {params} matched everything"


def _agent_ids(record: Record) -> set[str]:
    return {e.get("id") for e in record["call_flow"] if e.get("type") == "Agent"}


def test_both_bounds_are_inclusive(shared, api):
    records = _truth_records(shared)
    target = records[len(records) // 2]
    stamp = _local(target)
    same = {r["id"] for r in records if _local(r) == stamp}
    exact = fetch_all(api, shared.url, {"from_date": stamp, "to_date": stamp})
    assert _ids(exact) == same
    assert target["id"] in same
    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    after = (moment + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    before = (moment - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert target["id"] not in _ids(
        fetch_all(api, shared.url, {"from_date": after, "to_date": "2100-01-01 00:00:00"})
    )
    assert target["id"] not in _ids(
        fetch_all(api, shared.url, {"from_date": "2000-01-01 00:00:00", "to_date": before})
    )
    window = fetch_all(api, shared.url, {"from_date": before, "to_date": after})
    assert same <= _ids(window)


def test_window_selects_on_local_start(shared, api):
    params = {"from_date": "2026-03-09 10:00:00", "to_date": "2026-03-09 14:59:59"}
    got = fetch_all(api, shared.url, params)
    expected = {
        r["id"]
        for r in _truth_records(shared)
        if params["from_date"] <= _local(r) <= params["to_date"]
    }
    assert _ids(got) == expected
    assert len(expected) > 50


def test_date_only_bounds_mean_midnight(shared, api):
    got = fetch_all(api, shared.url, {"from_date": "2026-03-09", "to_date": "2026-03-10"})
    expected = {
        r["id"]
        for r in _truth_records(shared)
        if "2026-03-09 00:00:00" <= _local(r) <= "2026-03-10 00:00:00"
    }
    assert _ids(got) == expected


def test_missing_dates_default_to_today_until_now(shared, api):
    tz = ZoneInfo(shared.config.timezone)
    now_local = shared.clock.now().astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    got = fetch_all(api, shared.url, {})
    expected = {
        r["id"]
        for r in _truth_records(shared)
        if now_local[:10] + " 00:00:00" <= _local(r) <= now_local
    }
    assert _ids(got) == expected
    assert expected
    only_from = fetch_all(api, shared.url, {"from_date": "2026-03-09 00:00:00"})
    assert _ids(only_from) == {r["id"] for r in _truth_records(shared) if r["date"] >= "2026-03-09"}


@pytest.mark.parametrize(
    "bad",
    [
        "2026/03/10 10:00:00",
        "yesterday",
        "2026-03-10T10:00:00",
        "2026-13-01 00:00:00",
        "2026-03-10 25:00:00",
    ],
)
def test_malformed_date_is_400(shared, api, bad):
    for key in ("from_date", "to_date"):
        r = api.get(f"{shared.url}/v1/call/records", params={key: bad}, timeout=10)
        assert r.status_code == 400
        assert r.json() == {"success": False, "message": "Invalid date format"}


def test_call_type(shared, api):
    _check(shared, api, {"call_type": "c"}, lambda r: r["status"] == "answered")
    _check(shared, api, {"call_type": "m"}, lambda r: r["status"] == "missed")


def test_direction(shared, api):
    _check(shared, api, {"direction": "inbound"}, lambda r: r["direction"] == "inbound")
    _check(shared, api, {"direction": "outbound"}, lambda r: r["direction"] == "outbound")


def test_agents_in_every_encoding(shared, api):
    users = api.get(f"{shared.url}/v1/users", params={"limit": 100}, timeout=10).json()["data"]
    a, b = users[1]["agent"]["id"], users[2]["agent"]["id"]

    def one(r: Record) -> bool:
        return a in _agent_ids(r)

    def both(r: Record) -> bool:
        return bool({a, b} & _agent_ids(r))

    _check(shared, api, {"agents[]": f"agent||{a}"}, one)
    _check(shared, api, {"agents": f"agent|{a}"}, one)
    _check(shared, api, {"agents": a}, one)
    _check(shared, api, {"agents[]": [f"agent||{a}", f"agent||{b}"]}, both)
    _check(shared, api, {"agents": [f"agent|{a}", f"agent|{b}"]}, both)
    _check(shared, api, {"agents": f"agent|{a},agent|{b}"}, both)
    _check(shared, api, {"agents[0]": f"agent||{a}", "agents[1]": f"agent||{b}"}, both)
    # Missed agents count too: some matches list the agent only as a missed leg.
    missed_only = [
        r
        for r in fetch_all(api, shared.url, {**WIDE, "agents[]": f"agent||{a}"})
        if all(e.get("id") != a or e.get("dialst") == "Missed" for e in r["call_flow"])
    ]
    assert missed_only
    assert fetch_all(api, shared.url, {**WIDE, "agents[]": "agent||999999999999"}) == []


def test_department(shared, api):
    depts = api.get(f"{shared.url}/v1/departments", timeout=10).json()
    first, second = depts[0], depts[1]
    _check(
        shared, api, {"department": first["id"]}, lambda r: r["department_name"] == first["name"]
    )
    _check(
        shared,
        api,
        {"department[]": [first["id"], second["id"]]},
        lambda r: r["department_name"] in (first["name"], second["name"]),
    )
    _check(
        shared,
        api,
        {"department": first["name"].lower()},
        lambda r: r["department_name"] == first["name"],
    )


def test_ivr(shared, api):
    ivr = api.get(f"{shared.url}/v1/ivrs", timeout=10).json()["ivrs"][0]

    def via(r: Record) -> bool:
        return any(
            e.get("type") == "IVR" and str(e.get("id")) == str(ivr["id"]) for e in r["call_flow"]
        )

    _check(shared, api, {"ivr": ivr["id"]}, via)
    _check(shared, api, {"ivr[]": ivr["id"]}, via)


def test_callerid_ignores_plus_and_country_code(shared, api):
    records = _truth_records(shared)
    number = next(r["client_number"] for r in records if r["client_number"].startswith("+91"))
    ten = number[3:]

    def same(r: Record) -> bool:
        return r["client_number"].lstrip("+").removeprefix("91") == ten

    for form in (number, number[1:], ten):
        _check(shared, api, {"callerid": form}, same)


def test_did_number_and_destination(shared, api):
    numbers = api.get(f"{shared.url}/v1/my_number", timeout=10).json()
    did = numbers[0]["did"]
    _check(shared, api, {"did_number": did}, lambda r: r["did_number"] == did)
    _check(shared, api, {"did_number": did[3:]}, lambda r: r["did_number"] == did)
    _check(
        shared,
        api,
        {"destination": did},
        lambda r: r["did_number"] == did and r["direction"] == "inbound",
    )


@pytest.mark.parametrize(
    ("operator", "compare"),
    [
        (">", lambda d: d > 120),
        ("<", lambda d: d < 120),
        (">=", lambda d: d >= 120),
        ("<=", lambda d: d <= 120),
        ("!=", lambda d: d != 120),
    ],
)
def test_duration_with_operator(shared, api, operator, compare):
    _check(
        shared, api, {"duration": 120, "operator": operator}, lambda r: compare(r["call_duration"])
    )


def test_duration_without_operator_is_equality(shared, api):
    value = _truth_records(shared)[0]["call_duration"]
    _check(shared, api, {"duration": value}, lambda r: r["call_duration"] == value)
    _check(shared, api, {"duration": value, "operator": "="}, lambda r: r["call_duration"] == value)


def test_services_match_any(shared, api):
    def has(*names: str) -> Callable[[Record], bool]:
        return lambda r: any(s in r["service"].split(",") for s in names)

    _check(shared, api, {"services": "Voicemail"}, has("Voicemail"))
    _check(shared, api, {"services": "dialer,broadcast"}, has("Dialer", "Broadcast"))


def test_broadcast_flag(shared, api):
    _check(shared, api, {"broadcast": "0"}, lambda r: r["broadcast_id"] is None)
    _check(shared, api, {"broadcast": "false"}, lambda r: r["broadcast_id"] is None)
    everything = fetch_all(api, shared.url, {**WIDE, "broadcast": "true"})
    assert any(r["broadcast_id"] for r in everything)
    assert len(everything) == len(_truth_records(shared))


def test_call_id_lookup(shared, api):
    target = _truth_records(shared)[5]
    rows = fetch_all(api, shared.url, {**WIDE, "call_id": target["call_id"]})
    assert [r["id"] for r in rows] == [target["id"]]


def test_unknown_params_are_ignored(shared, api):
    plain = fetch_all(api, shared.url, WIDE)
    noisy = fetch_all(
        api, shared.url, {**WIDE, "client_number": "+910000000000", "caller_id": "x", "sort": "asc"}
    )
    assert [r["id"] for r in noisy] == [r["id"] for r in plain]


def test_filters_combine(shared, api):
    _check(
        shared,
        api,
        {"direction": "inbound", "call_type": "m"},
        lambda r: r["direction"] == "inbound" and r["status"] == "missed",
    )


def test_records_served_verbatim_from_truth(shared):
    with requests.Session() as s:
        s.headers["Authorization"] = "sandbox-static-token"
        rows = fetch_all(s, shared.url, WIDE)
    by_id = {t.id: t.record for t in shared.truth()}
    assert all(by_id[r["id"]] == r for r in rows)


@pytest.mark.parametrize(
    "params",
    [
        {"duration": "inf"},
        {"duration": "abc", "operator": "<>"},
        {"page": "99999999999999999999"},
        {"limit": "1e3"},
        {"call_type": "x"},
        {"agents[]": "agent||"},
    ],
)
def test_odd_values_never_break_the_server(shared, api, params):
    r = api.get(f"{shared.url}/v1/call/records", params={**WIDE, **params}, timeout=10)
    assert r.status_code == 200
    assert set(r.json()) == {"count", "limit", "size", "page", "results"}
