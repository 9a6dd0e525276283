"""Validation of the API-variant knobs: each mistake is refused with a message naming it."""

from __future__ import annotations

import pytest

from tap_acefone.sandbox import SandboxConfig


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"from_bound": "open"}, "from_bound must be one of"),
        ({"to_bound": "closed"}, "to_bound must be one of"),
        ({"filter_on": "middle"}, "filter_on must be one of"),
        ({"bound_granularity": "hour"}, "bound_granularity must be one of"),
        ({"bound_granularity": "day", "to_bound": "exclusive"}, "to_bound='exclusive'"),
        ({"bound_granularity": "day", "from_bound": "exclusive"}, "from_bound='exclusive'"),
        ({"sort_key": "minute"}, "sort_key must be one of"),
        ({"unstable_ties": "yes"}, "unstable_ties must be True or False"),
        ({"variant_seed": 1.5}, "variant_seed must be an integer"),
        ({"number_style": "hex"}, "number_style must be one of"),
        ({"users_number_style": "str"}, "users_number_style must be one of"),
        ({"omit_count": 1}, "omit_count must be True or False"),
        ({"omit_limit": None}, "omit_limit must be True or False"),
        ({"past_end": "error"}, "past_end must be one of"),
        ({"ignore_limit": "no"}, "ignore_limit must be True or False"),
        ({"count_offset": "3"}, "count_offset must be an integer"),
        ({"burst_calls": -1}, "burst_calls must be >= 0"),
        ({"rate_limit_kind": "leaky"}, "rate_limit_kind must be one of"),
        ({"rate_limit_kind": "sliding_window"}, "needs a rate_limit"),
        ({"rate_limit_period": "hour", "rate_limit": 1}, "rate_limit_period must be one of"),
        ({"rate_limit_period": "minute", "rate_limit": 1}, "applies to rate_limit_kind"),
        (
            {"rate_limit": 0.4, "rate_limit_kind": "sliding_window"},
            r"at least 1 request per window: round\(0.4 x 1 s\) = 0",
        ),
        ({"rate_limit_headers": True}, "needs a rate_limit"),
        ({"arrival_jitter": -1}, "arrival_jitter must be >= 0"),
        ({"arrival_jitter": float("nan")}, "arrival_jitter must be >= 0"),
        ({"slow_page_above": -1}, "slow_page_above must be >= 0"),
        ({"slow_page_above": 2.5}, "slow_page_above must be an integer"),
        ({"slow_page_fault": "503"}, "slow_page_fault must be one of"),
        ({"latency_per_record": "1"}, "latency_per_record must be >= 0"),
        ({"log_requests": "true"}, "log_requests must be True or False"),
    ],
)
def test_bad_variant_values_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        SandboxConfig(**overrides)


def test_day_granularity_explains_why_it_is_inclusive():
    with pytest.raises(ValueError, match="return nothing for the same-day windows"):
        SandboxConfig(bound_granularity="day", to_bound="exclusive")


def test_window_sizes():
    assert SandboxConfig(rate_limit=2.5, rate_limit_kind="fixed_window").rate_limit_window == (
        2,
        1,
    )
    minute = SandboxConfig(
        rate_limit=0.4, rate_limit_kind="sliding_window", rate_limit_period="minute"
    )
    assert minute.rate_limit_window == (24, 60)


def test_every_variant_is_off_by_default():
    cfg = SandboxConfig()
    assert (cfg.from_bound, cfg.to_bound, cfg.filter_on, cfg.bound_granularity) == (
        "inclusive",
        "inclusive",
        "start",
        "second",
    )
    assert (cfg.sort_key, cfg.unstable_ties, cfg.variant_seed) == ("second", False, 0)
    assert (cfg.number_style, cfg.omit_count, cfg.omit_limit) == ("int", False, False)
    assert (cfg.past_end, cfg.ignore_limit, cfg.count_offset, cfg.burst_calls) == (
        "empty",
        False,
        0,
        0,
    )
    assert (cfg.rate_limit_kind, cfg.rate_limit_period, cfg.arrival_jitter) == (
        "token_bucket",
        "second",
        0.0,
    )
    assert (cfg.rate_limit_headers, cfg.slow_page_above, cfg.slow_page_fault) == (
        False,
        None,
        "timeout",
    )
    assert (cfg.latency_per_record, cfg.log_requests) == (0.0, False)
    assert cfg.users_number_style == "int"
