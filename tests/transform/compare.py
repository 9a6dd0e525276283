"""Compare a model dbt built with the same model computed from the ground truth."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

Rows = dict[tuple[Any, ...], dict[str, Any]]

# Columns that are lineage or raw detail, not metrics: the only ones left unreconciled.
NOT_RECONCILED = {
    "fct_calls": {"loaded_at"},
    "stg_acefone__call_flow_steps": {
        "step_type",
        "ivr_id",
        "step_name",
        "step_phone_number",
        "step_json",
    },
}


def _describe(key: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(part) for part in key) + ")"


def assert_model_matches(label: str, model: str, expected: Rows, built: Rows) -> None:
    """Same keys, every reconciled column equal, no column left unreconciled."""
    assert expected, f"{label}, {model}: the ground truth gives no rows; the test proves nothing"
    missing = sorted(set(expected) - set(built), key=str)
    unexpected = sorted(set(built) - set(expected), key=str)
    counts = f"built {len(built)} rows, ground truth {len(expected)}"
    assert not missing, (
        f"{label}, {model}: {len(missing)} rows missing, e.g. {missing[:3]}; {counts}"
    )
    assert not unexpected, (
        f"{label}, {model}: {len(unexpected)} unexpected rows, e.g. {unexpected[:3]}; {counts}"
    )

    columns = set(next(iter(built.values())))
    unreconciled = columns - set(next(iter(expected.values()))) - NOT_RECONCILED.get(model, set())
    assert not unreconciled, f"{model}: columns nobody reconciles: {sorted(unreconciled)}"

    problems: dict[str, list[str]] = defaultdict(list)
    for key, want in expected.items():
        got = built[key]
        for column, value in want.items():
            if got[column] != value:
                problems[column].append(
                    f"{_describe(key)}: built {got[column]!r}, ground truth {value!r}"
                )
    assert not problems, f"{label}, {model}: mismatches\n" + "\n".join(
        f"  {column} ({len(items)} rows), e.g. " + "; ".join(items[:3])
        for column, items in problems.items()
    )
