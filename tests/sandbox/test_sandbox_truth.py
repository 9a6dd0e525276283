"""Ground truth: the export, the admin endpoint and the API all tell the same story."""

from __future__ import annotations

import json
from datetime import timedelta

import requests

from .conftest import WIDE, fetch_all


def test_truth_equals_what_paging_the_api_returns(shared, api):
    served = fetch_all(api, shared.url, WIDE)
    truth = shared.truth()
    assert len(served) == len(truth) > 500
    assert {r["id"]: r for r in served} == {t.id: t.record for t in truth}


def test_truth_rows_are_in_true_start_order(shared):
    rows = shared.truth()
    assert [(r.started_at, r.id) for r in rows] == sorted((r.started_at, r.id) for r in rows)
    assert all(r.started_at.utcoffset() == timedelta(0) for r in rows)
    assert all(r.started_at < r.ended_at <= r.visible_at <= shared.clock.now() for r in rows)
    assert {r.version for r in rows} == {1, 2, 3}


def test_export_jsonl_matches_truth(shared, tmp_path):
    path = tmp_path / "truth.jsonl"
    assert shared.export_jsonl(path) == len(shared.truth())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["id"] for line in lines] == [t.id for t in shared.truth()]
    first, row = lines[0], shared.truth()[0]
    assert set(first) == {
        "id",
        "record",
        "started_at",
        "ended_at",
        "visible_at",
        "version",
        "facts",
    }
    assert first == row.to_json()
    assert first["started_at"].endswith("+00:00")


def test_truth_at_an_earlier_instant(shared, tmp_path):
    earlier = shared.clock.now() - timedelta(hours=6)
    rows = shared.truth(at=earlier)
    assert 0 < len(rows) < len(shared.truth())
    assert all(r.visible_at <= earlier for r in rows)
    path = tmp_path / "earlier.jsonl"
    shared.export_jsonl(path, at=earlier)
    assert len(path.read_text().splitlines()) == len(rows)


def test_admin_truth_endpoint_streams_the_export(shared, tmp_path):
    r = requests.get(f"{shared.url}/_sandbox/truth", timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/x-ndjson"
    assert int(r.headers["Content-Length"]) == len(r.content)
    path = tmp_path / "t.jsonl"
    shared.export_jsonl(path)
    assert r.content == path.read_bytes()
    at = (shared.clock.now() - timedelta(days=1)).isoformat()
    older = requests.get(f"{shared.url}/_sandbox/truth", params={"at": at}, timeout=30)
    assert 0 < len(older.text.splitlines()) < len(r.text.splitlines())
    assert (
        requests.get(
            f"{shared.url}/_sandbox/truth", params={"at": "yesterday"}, timeout=30
        ).status_code
        == 400
    )


def test_all_calls_includes_the_future_in_final_versions(shared):
    visible = {t.id for t in shared.truth()}
    everything = list(shared.all_calls())
    assert visible < {c.id for c in everything}
    assert any(c.started_at > shared.clock.now() for c in everything)
    answered = [c for c in everything if c.record["status"] == "answered"]
    assert all(c.record["recording_url"] for c in answered)
    assert all(c.version >= 2 for c in answered)
