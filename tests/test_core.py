"""The Singer SDK's standard tap tests, run against the sandbox over loopback."""

from __future__ import annotations

import atexit

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_acefone.sandbox import Sandbox, SandboxConfig
from tap_acefone.tap import TapAcefone
from tests.conftest import SANDBOX_NOW
from tests.taprun import tap_config

# Attribute tests for a property no sampled record fills (a flag that is always null in the
# sample) warn rather than test anything; that warning is not a failure.
pytestmark = pytest.mark.filterwarnings("ignore:No records were available to test:UserWarning")

# The harness builds its test class from a config at import time, so its sandbox lives for
# the whole session.
_SANDBOX = Sandbox(SandboxConfig(seed=3, days=2, calls_per_day=120, now=SANDBOX_NOW))
_SANDBOX.__enter__()
atexit.register(_SANDBOX.__exit__, None, None, None)

TestTapAcefone = get_tap_test_class(
    tap_class=TapAcefone,
    config=tap_config(_SANDBOX, days=2),
    suite_config=SuiteConfig(max_records_limit=200),
)


def _free_form(prop: dict) -> bool:
    """A property declared as any JSON value (JSONB in the warehouse), not one type."""
    types = prop.get("type", [])
    return isinstance(types, list) and len(set(types) - {"null"}) > 1


# The SDK's attribute tests (is_boolean, is_object, ...) assume each property has one type;
# on a free-form JSON property they would demand every value be, say, a boolean. Such
# properties are still checked, value by value, by record_matches_stream_schema.
_FREE_FORM = {
    f"call_records.{name}"
    for name, prop in TapAcefone(config=tap_config(_SANDBOX, days=2))
    .streams["call_records"]
    .schema["properties"]
    .items()
    if _free_form(prop)
}
for _name, _params in TestTapAcefone.params.items():
    if _name.startswith("test_tap_stream_attribute_"):
        TestTapAcefone.params[_name] = [p for p in _params if p.id not in _FREE_FORM]
