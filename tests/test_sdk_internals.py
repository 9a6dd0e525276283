"""The singer-sdk internals `tap_acefone/sdk_internals.py` relies on are still what it expects.

An SDK upgrade that renames or reshapes any of them fails here, in CI, not at run time.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_acefone.sdk_internals import ConfigValidationHooks, FastRecordMessages
from tap_acefone.streams import CallRecordsStream
from tap_acefone.tap import TapAcefone
from tests.taprun import tap_config


def test_the_private_members_overridden_still_exist_with_the_same_signatures():
    record_messages = inspect.signature(Stream._generate_record_messages)
    assert list(record_messages.parameters) == ["self", "record"]
    validate = inspect.signature(Tap._validate_config)
    assert list(validate.parameters) == ["self", "raise_errors"]
    assert validate.parameters["raise_errors"].kind is inspect.Parameter.KEYWORD_ONLY
    assert issubclass(CallRecordsStream, FastRecordMessages)
    assert issubclass(TapAcefone, ConfigValidationHooks)


def test_the_fast_record_messages_equal_the_sdks(sandbox, monkeypatch):
    tap = TapAcefone(config=tap_config(sandbox, days=1))
    stream = tap.streams["call_records"]
    record = stream.conform(sandbox.truth()[0].record)
    assert record is not None
    fast = [m.to_dict() for m in stream._generate_record_messages(dict(record))]
    monkeypatch.setattr(CallRecordsStream, "_deselects_properties", True)
    slow = [m.to_dict() for m in Stream._generate_record_messages(stream, dict(record))]
    for message in (*fast, *slow):
        message.pop("time_extracted")
    assert fast == slow


def test_the_raw_config_is_a_dict_the_tap_may_rewrite_before_validation(sandbox):
    config = tap_config(sandbox, days=1, requests_per_second="3.5")
    tap = TapAcefone(config=config)
    assert isinstance(tap._config, dict)  # what prepare_config is handed
    assert tap.config["requests_per_second"] == pytest.approx(3.5)


def test_config_errors_still_name_the_setting_the_way_secrets_are_found(sandbox):
    # review_config_errors finds a secret setting's message by "config['<name>']": the SDK
    # must still phrase its messages so.
    with pytest.raises(ConfigValidationError) as err:
        TapAcefone(config=tap_config(sandbox, days=1, page_size="many"))
    assert any("config['page_size']" in message for message in err.value.errors)


def test_stream_versions_are_still_carried_by_streams(sandbox):
    stream = TapAcefone(config=tap_config(sandbox, days=1)).streams["call_records"]
    assert hasattr(stream, "_stream_version")


def test_a_stream_without_children_generates_no_child_context(sandbox):
    stream = TapAcefone(config=tap_config(sandbox, days=1)).streams["call_records"]
    record = {"id": "a"}
    assert stream.child_streams == []
    assert list(stream.generate_child_contexts(record, None)) == []
    # A stream with a child (partitioned by the record) gets the SDK's default.
    stream.child_streams.append(SimpleNamespace(state_partitioning_keys=["id"]))
    assert list(stream.generate_child_contexts(record, None)) == [record]
