"""Every property of every stream the tap offers loads into any target.

Most targets pick one column type per property: pipelinewise-target-postgres and
target-duckdb make a property that allows "object" a jsonb / JSON column and then cannot load
a bare string into it. So each property (nested ones included) allows exactly one JSON type
besides null, and never `anyOf`/`oneOf`. What the targets' type mappings need besides:

- integers declare the int64 range: pipelinewise targets make an integer without `maximum`
  a `numeric` (postgres) or `hugeint` (duckdb) column, with it a `bigint`;
- `format: date-time` only on strings;
- arrays declare no `items`: MeltanoLabs target-postgres makes an array with typed items a
  PostgreSQL array (`jsonb[]`, `text[]`) instead of `jsonb`, and existing tables keep jsonb;
- objects declare no nested `properties`: singer-sdk's schema flattening turns declared keys
  into columns but leaves a null object under its own name, which the flattened schema does
  not have (meltanolabs-target-csv then fails: "dict contains fields not in fieldnames").

Checked on the streams the tap discovers (so a new stream is checked without editing this
file), on the SCHEMA messages a real run writes (schema flattening on and off: what the SDK
adds), and on the records of that run: each value has its declared type, keys in schema order.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import pytest

from tap_acefone.sandbox import Sandbox, SandboxConfig
from tap_acefone.tap import TapAcefone
from tests.taprun import STATIC_TOKEN, TapRun, run_tap, tap_config

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
COMPOSITES = ("anyOf", "oneOf", "allOf", "not", "if")
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def discovered_schemas() -> dict[str, dict[str, Any]]:
    tap = TapAcefone(
        config={
            "api_url": "http://127.0.0.1:9",
            "api_token": STATIC_TOKEN,
            "start_date": "2026-03-01",
        }
    )
    return {entry["tap_stream_id"]: entry["schema"] for entry in tap.catalog_dict["streams"]}


DISCOVERED = discovered_schemas()


def kinds_of(schema: dict[str, Any]) -> set[str]:
    types = schema.get("type", [])
    return ({types} if isinstance(types, str) else set(types)) - {"null"}


def type_problems(schema: dict[str, Any], path: str, *, top: bool = True) -> list[str]:
    """What in this (sub)schema a one-column-type-per-property target cannot load."""
    problems = [f"{path}: uses {key}" for key in COMPOSITES if key in schema]
    kinds = kinds_of(schema)
    if len(kinds) != 1:
        problems.append(f"{path}: allows {sorted(kinds) or 'no type'}, not exactly one")
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    if kind == "integer" and not (
        schema.get("minimum", -math.inf) >= INT64_MIN
        and schema.get("maximum", math.inf) <= INT64_MAX
    ):
        problems.append(f"{path}: an integer without the int64 range (minimum/maximum)")
    if "format" in schema and kind != "string":
        problems.append(f"{path}: format {schema['format']} on a {kind}")
    if kind == "array" and "items" in schema and not top:
        problems.extend(type_problems(schema["items"], f"{path}[]", top=False))
    elif kind == "array" and "items" in schema:
        problems.append(
            f"{path}: an array declaring items (MeltanoLabs target-postgres: not jsonb)"
        )
    if kind == "object" and schema.get("properties") and top:
        problems.append(f"{path}: an object declaring properties (breaks SDK flattening)")
    for name, sub in (schema.get("properties") or {}).items():
        problems.extend(type_problems(sub, f"{path}.{name}", top=False))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        problems.extend(type_problems(extra, f"{path}.*", top=False))
    return problems


def stream_problems(stream: str, schema: dict[str, Any]) -> list[str]:
    problems = [p for key in COMPOSITES if key in schema for p in [f"{stream}: uses {key}"]]
    for name, prop in schema["properties"].items():
        problems.extend(type_problems(prop, f"{stream}.{name}"))
    return problems


@pytest.mark.parametrize("stream", sorted(DISCOVERED))
def test_every_property_of_a_discovered_stream_allows_one_type(stream):
    assert stream_problems(stream, DISCOVERED[stream]) == []


def test_the_check_catches_each_kind_of_problem():
    bad = {
        "properties": {
            "anything": {"type": ["object", "string", "null"]},
            "union": {"anyOf": [{"type": "string"}, {"type": "object"}]},
            "untyped": {},
            "count": {"type": ["integer", "null"]},
            "when": {
                "type": ["integer", "null"],
                "format": "date-time",
                "minimum": 0,
                "maximum": 1,
            },
            "tags": {"type": ["array", "null"], "items": {"type": "string"}},
            "nested": {"type": "object", "properties": {"deep": {"type": ["number", "string"]}}},
        }
    }
    problems = stream_problems("s", bad)
    for name in ("anything", "union", "untyped", "count", "when", "tags", "nested", "nested.deep"):
        assert any(p.startswith(f"s.{name}:") for p in problems), (name, problems)


# ----------------------------------------------------------------- a real run's output

# 2 days x 200 calls: every type variant the sandbox serves shows up (asserted below).
SANDBOX = {
    "seed": 7,
    "days": 2,
    "calls_per_day": 200,
    "now": datetime(2026, 3, 10, 12, tzinfo=timezone.utc),
}
FLATTENED = {"flattening_enabled": True, "flattening_max_depth": 3}


@pytest.fixture(scope="module")
def served() -> tuple[dict[str, TapRun | Exception], list[Any]]:
    """One sandbox, read as emitted and with the SDK's schema flattening; its ground truth.

    A run that fails fails only the tests of its own mode.
    """
    runs: dict[str, TapRun | Exception] = {}
    with Sandbox(SandboxConfig(**SANDBOX)) as sandbox:
        for mode, overrides in (("as emitted", {}), ("flattened", FLATTENED)):
            try:
                runs[mode] = run_tap(tap_config(sandbox, days=2, **overrides))
            except Exception as exc:  # re-raised by the tests of this mode
                runs[mode] = exc
        return runs, sandbox.truth()


def run_of(served: tuple[dict[str, TapRun | Exception], list[Any]], mode: str) -> TapRun:
    run = served[0][mode]
    if isinstance(run, Exception):
        raise run
    return run


def schemas_of(run: TapRun) -> dict[str, dict[str, Any]]:
    return {m["stream"]: m["schema"] for m in run.messages if m["type"] == "SCHEMA"}


@pytest.mark.parametrize("mode", ["as emitted", "flattened"])
def test_every_stream_of_a_run_declares_one_type_per_property(served, mode):
    schemas = schemas_of(run_of(served, mode))
    assert set(schemas) == set(DISCOVERED)
    problems = [p for stream, schema in schemas.items() for p in stream_problems(stream, schema)]
    assert problems == []


def value_problems(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Where a delivered value does not have its declared type (nested declared keys too)."""
    if value is None:
        return [] if "null" in schema.get("type", []) else [f"{path}: null"]
    (kind,) = kinds_of(schema)
    if not isinstance(value, JSON_TYPES[kind]) or (kind != "boolean" and isinstance(value, bool)):
        return [f"{path}: {type(value).__name__} {value!r:.60} for {kind}"]
    problems = []
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(value, dict) and name in value:
            problems.extend(value_problems(value[name], sub, f"{path}.{name}"))
    return problems


@pytest.mark.parametrize("mode", ["as emitted", "flattened"])
def test_every_record_has_its_declared_types_in_schema_order(served, mode):
    run = run_of(served, mode)
    schemas = schemas_of(run)
    problems: list[str] = []
    seen: set[str] = set()
    for message in run.messages:
        if message["type"] != "RECORD" or len(problems) > 20:
            continue
        stream, record = message["stream"], message["record"]
        seen.add(stream)
        properties = schemas[stream]["properties"]
        if mode == "as emitted" and list(record) != list(properties):
            problems.append(f"{stream} {record.get('id')}: keys not in schema order")
        # The SDK's flattening leaves a null object under its own name (not in the
        # flattened schema, whose columns are its declared keys): only that may be extra.
        extra = {name: record[name] for name in record if name not in properties}
        if any(value is not None for value in extra.values()):
            problems.append(f"{stream} {record.get('id')}: undeclared {sorted(extra)}")
        for name, prop in properties.items():
            problems.extend(value_problems(record.get(name), prop, f"{stream}.{name}"))
    assert problems == []
    assert seen == set(DISCOVERED)


def test_the_run_saw_every_type_variant_the_sandbox_serves(served):
    """Otherwise the checks above prove less than they claim."""
    raw_kinds: dict[str, set[str]] = {}
    for row in served[1]:
        for name, value in row.record.items():
            raw_kinds.setdefault(name, set()).add(type(value).__name__)
    wanted = {
        "notes": {"dict", "str", "NoneType"},
        "contact_details": {"dict", "str", "NoneType"},
        "agent_hangup_data": {"dict", "str", "NoneType"},
        "dialer_call_details": {"dict", "str", "NoneType"},
        "sip_agent_ids": {"list", "str", "NoneType"},
        "missed_agents": {"list", "dict"},
        "circle": {"dict", "NoneType"},
        "charges": {"int", "float"},
    }
    missing = {name: kinds - raw_kinds[name] for name, kinds in wanted.items()}
    assert not any(missing.values()), missing
