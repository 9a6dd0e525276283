"""What reaches stdout: records in blocks, never after the STATE that covers them, none left
behind, and exactly the selected properties."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest
from singer_sdk.singerlib import RecordMessage, StateMessage

from tap_acefone.output import BLOCK_BYTES, BufferedSingerWriter
from tap_acefone.streams import CallRecordsStream
from tap_acefone.tap import TapAcefone
from tests.taprun import run_tap, tap_config


class _Stdout(io.TextIOWrapper):
    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]


def _record(number: int, pad: int = 0) -> RecordMessage:
    return RecordMessage(stream="call_records", record={"id": str(number), "pad": "x" * pad})


def test_records_wait_for_the_next_other_message_and_arrive_before_it():
    writer, stdout = BufferedSingerWriter(), _Stdout()
    with redirect_stdout(stdout):
        for number in range(3):
            writer.write_message(_record(number))
        assert stdout.lines() == []
        writer.write_message(StateMessage(value={"bookmarks": {}}))
    assert [line["type"] for line in stdout.lines()] == ["RECORD"] * 3 + ["STATE"]
    assert [line["record"]["id"] for line in stdout.lines()[:3]] == ["0", "1", "2"]


def test_a_full_block_goes_out_without_waiting_and_flush_sends_the_rest():
    writer, stdout = BufferedSingerWriter(), _Stdout()
    pad = 1000
    per_block = BLOCK_BYTES // pad + 1
    with redirect_stdout(stdout):
        for number in range(per_block + 5):
            writer.write_message(_record(number, pad))
        stdout.flush()
        written = len(stdout.lines())
        writer.flush()
    assert 0 < written < per_block + 5
    assert [line["record"]["id"] for line in stdout.lines()] == [
        str(number) for number in range(per_block + 5)
    ]


def _catalog(config: dict, deselect: tuple[str, ...] = ()) -> dict:
    catalog = TapAcefone(config=config).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            breadcrumb = entry["breadcrumb"]
            if not breadcrumb:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "call_records"
            elif stream["tap_stream_id"] == "call_records" and breadcrumb[-1] in deselect:
                entry["metadata"]["selected"] = False
    return catalog


def test_a_deselected_property_is_not_emitted(sandbox):
    config = tap_config(sandbox, days=1)
    run = run_tap(config, catalog=_catalog(config, deselect=("recording_url", "notes")))
    assert run.records
    assert all("recording_url" not in r and "notes" not in r for r in run.records)
    assert all("client_number_e164" in r for r in run.records)


def test_with_everything_selected_records_are_what_the_sdk_path_emits(sandbox, monkeypatch):
    """The shortcut that skips the SDK's deselection walk changes no record."""
    config = tap_config(sandbox, days=1)
    fast = run_tap(config, catalog=_catalog(config))
    monkeypatch.setattr(CallRecordsStream, "_deselects_properties", True)
    sdk = run_tap(config, catalog=_catalog(config))
    assert fast.records
    assert fast.records == sdk.records
    assert [json.dumps(r) for r in fast.records] == [json.dumps(r) for r in sdk.records]


@pytest.mark.parametrize("stream", ["users", "my_numbers"])
def test_the_last_records_of_a_stream_are_not_left_in_the_buffer(sandbox, stream):
    config = tap_config(sandbox, days=1)
    catalog = _catalog(config)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if not meta["breadcrumb"]:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == stream
    run = run_tap(config, catalog=catalog)
    expected = {"users": sandbox.team.agents, "my_numbers": sandbox.team.dids}[stream]
    assert len(run.records_of(stream)) == len(expected)
