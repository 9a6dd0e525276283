"""The account_id setting: a column and the first key part of every stream, or nothing at all.

Every check runs over `tap.streams` (or the whole discovered catalog), so a stream added
later is covered without a new test.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from singer_sdk import StreamSchema

from tap_acefone.accounts import key_with_account
from tap_acefone.client import AcefoneStream
from tap_acefone.streams import CallRecordsStream
from tap_acefone.tap import TapAcefone
from tests.taprun import run_tap, run_tap_cli, tap_config
from tests.test_reference_streams import STREAM_MAPS_RECIPE

LABEL = "acme-in"


def declared(stream: AcefoneStream) -> tuple[dict[str, Any] | None, tuple[str, ...] | None]:
    """The schema and key the stream's class declares (None where it declares none)."""
    schema_attr = inspect.getattr_static(type(stream), "schema")
    if isinstance(schema_attr, StreamSchema):
        schema = schema_attr.get_stream_schema(stream, type(stream))
    else:
        schema = schema_attr if isinstance(schema_attr, dict) else None
    keys_attr = inspect.getattr_static(type(stream), "primary_keys")
    keys = tuple(keys_attr) if isinstance(keys_attr, tuple | list) else None
    return schema, keys


def discover(config: dict[str, Any], tmp_path: Path) -> dict[str, dict[str, Any]]:
    """`tap-acefone --discover` as Meltano runs it: catalog entries by stream."""
    path = tmp_path / "discover-config.json"
    path.write_text(json.dumps(config))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "tap-acefone"), "--config", str(path), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {e["tap_stream_id"]: e for e in json.loads(result.stdout)["streams"]}


def schema_messages(run) -> dict[str, dict[str, Any]]:
    return {m["stream"]: m for m in run.messages if m["type"] == "SCHEMA"}


def records_by_stream(run) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for message in run.messages:
        if message["type"] == "RECORD":
            out.setdefault(message["stream"], []).append(message["record"])
    return out


# What differs between two runs whatever the account: the audit rows' run and timings.
PER_RUN = {"account_id", "run_id", "run_started_at", "seconds"}


def without_account(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in PER_RUN} for r in records]


# ------------------------------------------------------------------------------ unset


def test_unset_every_stream_is_exactly_as_declared(sandbox):
    config = tap_config(sandbox, days=1)
    tap = TapAcefone(config=config)
    for stream in tap.streams.values():
        schema, keys = declared(stream)
        if schema is not None:
            assert stream.schema == schema, stream.name
        if keys is not None:
            assert tuple(stream.primary_keys) == keys, stream.name
    run = run_tap(config)
    for name, message in schema_messages(run).items():
        assert message["key_properties"] == list(tap.streams[name].primary_keys), name
        assert "account_id" not in message["key_properties"], name
    for name, records in records_by_stream(run).items():
        # call_records declares the API's own account_id field; the sandbox never sends it.
        assert all(r.get("account_id") is None for r in records), name


# -------------------------------------------------------------------------------- set


def test_set_every_stream_has_the_column_first_and_keys_on_it_first(sandbox, tmp_path):
    plain = TapAcefone(config=tap_config(sandbox, days=1))
    config = tap_config(sandbox, days=1, account_id=LABEL)
    tap = TapAcefone(config=config)
    assert set(tap.streams) == set(plain.streams)
    for name, stream in tap.streams.items():
        before = plain.streams[name]
        assert next(iter(stream.schema["properties"])) == "account_id", name
        assert stream.schema["properties"]["account_id"]["type"] == ["string"], name
        assert tuple(stream.primary_keys) == ("account_id", *before.primary_keys), name
        others = {k: v for k, v in stream.schema["properties"].items() if k != "account_id"}
        assert others == {k: v for k, v in before.schema["properties"].items() if k != "account_id"}

    entries = discover(config, tmp_path)
    assert set(entries) == set(tap.streams)
    for name, entry in entries.items():
        keys = ["account_id", *plain.streams[name].primary_keys]
        assert entry["key_properties"] == keys, name
        assert next(iter(entry["schema"]["properties"])) == "account_id", name
        metadata = {tuple(m["breadcrumb"]): m["metadata"] for m in entry["metadata"]}
        assert metadata[()]["table-key-properties"] == keys, name
        # A key property cannot be deselected: `meltano select` never drops the column.
        assert metadata[("properties", "account_id")]["inclusion"] == "automatic", name


def test_set_every_message_carries_the_account(sandbox):
    run = run_tap(tap_config(sandbox, days=1, account_id=LABEL))
    unset = run_tap(tap_config(sandbox, days=1))
    schemas = schema_messages(run)
    assert set(schemas) == set(schema_messages(unset))
    for name, message in schemas.items():
        before = schema_messages(unset)[name]
        assert message["key_properties"] == ["account_id", *before["key_properties"]], name
        assert next(iter(message["schema"]["properties"])) == "account_id", name
    stamped, plain = records_by_stream(run), records_by_stream(unset)
    assert set(stamped) == set(plain)
    for name, records in stamped.items():
        assert records, name
        assert {r["account_id"] for r in records} == {LABEL}, name
        # Nothing else differs (call_records' raw account_id field is null on both sides).
        assert without_account(records) == without_account(plain[name]), name


def test_set_with_the_discovered_catalog_as_meltano_passes_it(sandbox, tmp_path):
    config = tap_config(sandbox, days=1, account_id=LABEL)
    catalog = {"streams": list(discover(config, tmp_path).values())}
    run = run_tap(config, catalog=catalog)
    for name, message in schema_messages(run).items():
        assert message["key_properties"][0] == "account_id", name
    records = records_by_stream(run)
    assert set(records) == set(records_by_stream(run_tap(tap_config(sandbox, days=1))))
    assert all(r["account_id"] == LABEL for rs in records.values() for r in rs)


def test_the_account_survives_stream_maps(sandbox):
    maps = {
        **STREAM_MAPS_RECIPE,
        "stream_maps": {**STREAM_MAPS_RECIPE["stream_maps"], "users": {"__alias__": "agents"}},
    }
    run = run_tap(tap_config(sandbox, days=1, account_id=LABEL, **maps))
    records = records_by_stream(run)
    assert "agents" in records
    assert "users" not in records
    for name, rows in records.items():
        assert rows, name
        assert {r["account_id"] for r in rows} == {LABEL}, name
    assert all(
        r["client_number"] is None or len(r["client_number"]) == 32 for r in records["call_records"]
    )
    for name, message in schema_messages(run).items():
        assert message["key_properties"][0] == "account_id", name
        assert "account_id" in message["schema"]["properties"], name


def test_an_account_id_sent_by_the_api_moves_to_extra_fields(sandbox):
    tap = TapAcefone(config=tap_config(sandbox, days=1, account_id=LABEL))
    stream = tap.streams[CallRecordsStream.name]
    row = sandbox.truth()[0].record | {"account_id": 40113}
    record = stream.post_process(stream.conform(dict(row)))
    assert record["account_id"] == LABEL
    assert record["extra_fields"] == {"account_id": "40113"}
    unset = TapAcefone(config=tap_config(sandbox, days=1)).streams[CallRecordsStream.name]
    assert unset.post_process(unset.conform(dict(row)))["account_id"] == "40113"


class _KeylessStream(AcefoneStream):
    """A stream of the kind an audit log is: no key, schema given to the constructor."""

    name = "keyless_audit"
    path = "/v1/nothing"
    primary_keys: ClassVar[tuple[str, ...]] = ()


def test_a_keyless_stream_stays_keyless_and_a_constructor_schema_gets_the_column(sandbox):
    schema = {"type": "object", "properties": {"window_start": {"type": ["string"]}}}
    tap = TapAcefone(config=tap_config(sandbox, days=1, account_id=LABEL))
    stream = _KeylessStream(tap, schema=schema)
    assert list(stream.schema["properties"]) == ["account_id", "window_start"]
    assert tuple(stream.primary_keys) == ()
    assert schema["properties"] == {"window_start": {"type": ["string"]}}, "source mutated"
    assert stream.post_process({"window_start": "x"}) == {"window_start": "x", "account_id": LABEL}
    assert key_with_account(("account_id", "id")) == ("account_id", "id")


# ------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("catalog_label", "config_label", "expected"),
    [
        (None, LABEL, "account_id is set but the catalog's key of stream"),
        (LABEL, None, "keys stream call_records on account_id but the account_id setting"),
    ],
    ids=["catalog-without-account", "catalog-with-account-setting-unset"],
)
def test_a_catalog_that_disagrees_with_the_setting_exits_1_in_one_line(
    sandbox, tmp_path, catalog_label, config_label, expected
):
    made_with = tap_config(sandbox, days=1, account_id=catalog_label)
    catalog = {"streams": list(discover(made_with, tmp_path).values())}
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    config = tap_config(sandbox, days=1, account_id=config_label)
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "tap-acefone"),
            "--config",
            str(tmp_path / "config.json"),
            "--catalog",
            str(tmp_path / "catalog.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert '"type":"RECORD"' not in result.stdout.replace(" ", "")


@pytest.mark.parametrize(
    "value",
    ["Acme", "acme corp", "", "  ", "a" * 41, "-acme", "_acme", "acme;drop", "acmé", "acme\n"],
)
def test_a_bad_account_id_exits_1_saying_what_is_allowed(tmp_path, value):
    config = {
        "api_url": "http://127.0.0.1:9",
        "api_token": "s3cret-token-value-123",
        "start_date": "2026-03-01",
        "account_id": value,
    }
    result = run_tap_cli(config, tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if "account_id" in line]
    assert lines, result.stderr
    assert "lowercase letters, digits, '_' or '-'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-token-value-123" not in result.stderr


def test_an_account_id_of_the_wrong_type_is_named(tmp_path):
    config = {
        "api_url": "http://127.0.0.1:9",
        "api_token": "s3cret-token-value-123",
        "start_date": "2026-03-01",
        "account_id": 42,
    }
    result = run_tap_cli(config, tmp_path, timeout=60)
    assert result.returncode == 1
    assert "config['account_id']" in result.stderr


@pytest.mark.parametrize("value", ["acme", "a", "servetel-north_2", "0brand", "x" * 40])
def test_good_account_ids_are_accepted(value):
    config = {"api_token": "t", "start_date": "2026-03-01", "account_id": value}
    TapAcefone(config=config, validate_config=True, setup_mapper=False)
