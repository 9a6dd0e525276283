"""Envelope variants: number styles, missing keys, past the end, ignored limit, phantom count."""

from __future__ import annotations

import json

import pytest

from .conftest import WIDE, fetch_all


def _get(api, sb, **params):
    r = api.get(f"{sb.url}/v1/call/records", params={**WIDE, **params}, timeout=30)
    assert r.status_code == 200, r.text
    return r


@pytest.mark.parametrize(
    ("style", "kind", "raw"),
    [
        ("int", int, b'"limit":50,"size":50,"page":2,'),
        ("string", str, b'"limit":"50","size":"50","page":"2",'),
        ("float", float, b'"limit":50.0,"size":50.0,"page":2.0,'),
    ],
)
def test_number_style(start_sandbox, api, style, kind, raw):
    sb = start_sandbox(number_style=style)
    r = _get(api, sb, limit=50, page=2)
    body = r.json()
    assert list(body) == ["count", "limit", "size", "page", "results"]
    for key in ("count", "limit", "size", "page"):
        assert type(body[key]) is kind, key
    count = len(sb.truth())
    assert r.content.startswith(b'{"count":' + json.dumps(kind(count)).encode() + b",")
    assert raw in r.content
    assert int(float(body["count"])) == count
    assert len(body["results"]) == 50


@pytest.mark.parametrize(
    ("overrides", "keys"),
    [
        ({"omit_count": True}, ["limit", "size", "page", "results"]),
        ({"omit_limit": True}, ["count", "size", "page", "results"]),
        ({"omit_count": True, "omit_limit": True}, ["size", "page", "results"]),
    ],
)
def test_omitted_keys(start_sandbox, api, overrides, keys):
    sb = start_sandbox(**overrides)
    body = _get(api, sb, limit=30).json()
    assert list(body) == keys
    assert body["size"] == len(body["results"]) == 30
    assert {r["id"] for r in fetch_all(api, sb.url, WIDE, limit=30)} == {t.id for t in sb.truth()}


def test_past_end_repeats_the_last_page(start_sandbox, api):
    sb = start_sandbox(past_end="repeat_last")
    count = len(sb.truth())
    last = -(-count // 100)
    tail = _get(api, sb, limit=100, page=last).json()
    assert 0 < tail["size"] < 100
    for page in (last + 1, last + 5):
        past = _get(api, sb, limit=100, page=page).json()
        assert past["results"] == tail["results"]
        assert past["size"] == tail["size"]
        assert past["page"] == page
        assert past["count"] == count


def test_past_end_repeats_a_full_last_page(start_sandbox, api):
    sb = start_sandbox(past_end="repeat_last", page_size_max=1000)
    window = {"from_date": "2026-03-09 00:00:00", "to_date": "2026-03-09 23:59:59"}
    count = _get(api, sb, **window, limit=1).json()["count"]
    page_one = _get(api, sb, **window, limit=count).json()
    page_two = _get(api, sb, **window, limit=count, page=2).json()
    assert page_two["results"] == page_one["results"]
    assert page_two["size"] == count


def test_past_end_of_an_empty_window_is_empty(start_sandbox, api):
    sb = start_sandbox(past_end="repeat_last")
    empty = {"from_date": "2000-01-01 00:00:00", "to_date": "2000-01-02 00:00:00"}
    body = _get(api, sb, **empty, page=3).json()
    assert body["results"] == []
    assert body["count"] == 0


def test_ignore_limit_serves_the_default_page(start_sandbox, api):
    sb = start_sandbox(ignore_limit=True, default_limit=20)
    for asked in (100, 5, 1000):
        body = _get(api, sb, limit=asked).json()
        assert body["limit"] == 20
        assert body["size"] == len(body["results"]) == 20
    second = _get(api, sb, limit=100, page=2).json()
    first_40 = [r["id"] for r in fetch_all(api, sb.url, WIDE, limit=20)][:40]
    assert [r["id"] for r in second["results"]] == first_40[20:40]


@pytest.mark.parametrize("offset", [7, -3])
def test_count_offset_reports_a_count_the_pages_never_meet(start_sandbox, api, offset):
    sb = start_sandbox(count_offset=offset)
    truth = {t.id for t in sb.truth()}
    assert _get(api, sb, limit=10).json()["count"] == len(truth) + offset
    assert {r["id"] for r in fetch_all(api, sb.url, WIDE, limit=100)} == truth
    empty = {"from_date": "2000-01-01 00:00:00", "to_date": "2000-01-02 00:00:00"}
    assert _get(api, sb, **empty).json()["count"] == max(0, offset)


@pytest.mark.parametrize(("style", "kind"), [("string", str), ("float", float)])
def test_users_cursor_number_style(start_sandbox, api, style, kind):
    sb = start_sandbox(users_number_style=style)
    everyone = api.get(f"{sb.url}/v1/users", params={"limit": 100}, timeout=10).json()
    seen, last = [], None
    for _ in range(20):  # a cursor the server misreads would page forever
        params = {"limit": 7} if last is None else {"limit": 7, "last_seen_id": last}
        page = api.get(f"{sb.url}/v1/users", params=params, timeout=10).json()
        assert type(page["count"]) is kind
        assert type(page["last_seen_id"]) is kind
        assert int(float(page["count"])) == len(page["data"])
        assert int(float(page["last_seen_id"])) == page["data"][-1]["id"]
        assert all(type(u["id"]) is int for u in page["data"]), "rows keep their types"
        seen += [u["id"] for u in page["data"]]
        if not page["has_more"]:
            break
        last = page["last_seen_id"]  # sent back as the server wrote it
    else:
        pytest.fail("the cursor never reached the last page")
    assert seen == [u["id"] for u in everyone["data"]]
    assert len(seen) == len(set(seen)) > 7
