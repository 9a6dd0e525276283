"""Every mart dbt built equals the same metric computed in Python from the ground truth.

After the full run and after the incremental run, each model is compared row by row and
column by column with tests/transform/expected.py, which computes the marts from the raw
records the sandbox served (and their true instants), not from anything the tap derived or
dbt built. Every column of every model must be reconciled or named as lineage in
compare.py.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.transform.compare import assert_model_matches
from tests.transform.conftest import Pipeline, Snapshot
from tests.transform.expected import GRAINS, Settings, e164, expected_marts

pytestmark = pytest.mark.e2e

RUNS = ["full run", "incremental run"]


def _snapshot(pipeline: Pipeline, label: str) -> Snapshot:
    return pipeline.full if label == "full run" else pipeline.incremental


@pytest.mark.parametrize("model", list(GRAINS))
@pytest.mark.parametrize("run", RUNS)
def test_model_matches_ground_truth(analytics_pipeline: Pipeline, run: str, model: str) -> None:
    snapshot = _snapshot(analytics_pipeline, run)
    expected = expected_marts(snapshot.truth, analytics_pipeline.reference, Settings())[model]
    assert_model_matches(run, model, expected, snapshot.models[model])


def _customer(record: dict[str, Any]) -> str | None:
    return e164(record.get("client_number"), "IN")


def test_the_data_holds_the_hard_cases(analytics_pipeline: Pipeline) -> None:
    """The reconciled data contains the cases where call-centre SQL usually goes wrong."""
    zone = ZoneInfo("Asia/Kolkata")
    truth = analytics_pipeline.incremental.truth
    records = [row.record for row in truth]

    across_midnight = [
        row
        for row in truth
        if row.started_at.astimezone(zone).date() != row.ended_at.astimezone(zone).date()
    ]
    assert across_midnight, "no call runs across a local midnight"

    def agents(record: dict[str, Any], status: str) -> int:
        return sum(
            1
            for step in record["call_flow"]
            if isinstance(step, dict)
            and step.get("type") == "Agent"
            and str(step.get("dialst", "")).lower() == status
        )

    several = [r for r in records if agents(r, "missed") + agents(r, "answered") >= 3]
    assert any(r["status"] == "missed" for r in several), "no unanswered call rang 3+ agents"
    assert any(agents(r, "missed") >= 2 and agents(r, "answered") for r in several), (
        "no call was answered after ringing two agents who missed it"
    )
    assert any(r["transfer_missed_agent"] for r in records), "no transfer in the data"

    by_number: dict[str | None, list[Any]] = defaultdict(list)
    for row in truth:
        by_number[_customer(row.record)].append(row)
    before = after = 0
    for row in truth:
        record = row.record
        if record["direction"] != "inbound" or record["status"] == "answered":
            continue
        callbacks = [
            other
            for other in by_number[_customer(record)]
            if other.record["direction"] == "outbound" and other.record["status"] == "answered"
        ]
        before += any(o.started_at < row.started_at for o in callbacks)
        after += any(o.started_at > row.started_at for o in callbacks)
    assert before, "no missed call follows a connected outbound call to the same number"
    assert after, "no missed call is followed by a connected call-back"


def test_the_incremental_run_changed_what_the_marts_must_recompute(
    analytics_pipeline: Pipeline,
) -> None:
    """The second run adds calls and a local day, and resolves misses of the first."""
    full = analytics_pipeline.full.models
    incremental = analytics_pipeline.incremental.models
    new_calls = set(incremental["fct_calls"]) - set(full["fct_calls"])
    assert new_calls, "the incremental run added no calls"
    days = lambda models: {key[1] for key in models["call_volume_daily"]}  # noqa: E731
    assert days(incremental) - days(full), "the incremental run reached no new local day"
    resolved_later = [
        key
        for key, row in full["missed_calls_to_call_back"].items()
        if not row["is_resolved"] and incremental["missed_calls_to_call_back"][key]["is_resolved"]
    ]
    assert resolved_later, "no call pending after run 1 was resolved by run 2"
    reloaded = analytics_pipeline.incremental.models["fct_calls"]
    again = [
        key
        for key in set(full["fct_calls"]) & set(reloaded)
        if reloaded[key]["loaded_at"] != full["fct_calls"][key]["loaded_at"]
    ]
    assert again, "the tap re-read no call (lookback), so the merge of changed rows is untested"
    assert len(again) < len(full["fct_calls"]), "the second run re-processed every call"
