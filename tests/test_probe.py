"""The probe reports each API variant the sandbox plays, and recommends what fits it.

One test per variant knob the probe is meant to detect (bounds, ordering, envelope, paging,
limiters with and without headers, token lifetime, time zone, latency per page size), all
against the sandbox over HTTP, reading the report the probe writes. Pace and latency run on
a hand-driven clock (`ManualTime`, shared by the sandbox and the probe), so nothing sleeps
and every duration in the report is exact; one test runs on real time, with rounds sent at
once, because that is where answers come back in another order than their requests left.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tap_acefone import probe_checks as checks
from tap_acefone.probe import MAX_REQUESTS, Probe, ProbeClock
from tap_acefone.sandbox import ManualTime, Sandbox, SandboxConfig
from tests.conftest import SANDBOX_NOW
from tests.taprun import LOGIN_EMAIL, LOGIN_PASSWORD, tap_config


@pytest.fixture
def probe_of() -> Iterator[Any]:
    """Run the probe against a sandbox with the given knobs; return (report, sandbox)."""
    with ExitStack() as stack:

        def run(
            *, settings: dict[str, Any] | None = None, find_rate_limit: bool = False, **knobs: Any
        ) -> tuple[dict[str, Any], Sandbox]:
            manual = ManualTime()
            base: dict[str, Any] = {"seed": 7, "days": 3, "calls_per_day": 150, "now": SANDBOX_NOW}
            sandbox = stack.enter_context(
                Sandbox(SandboxConfig(**{**base, **knobs}), realtime=manual)
            )
            config = tap_config(sandbox, days=1, **(settings or {}))
            probe = Probe(
                config,
                find_rate_limit=find_rate_limit,
                clock=ProbeClock(manual.monotonic, manual.wait, manual.time),
                burst_workers=1,
            )
            report = probe.run()
            assert "stopped" not in report, report.get("stopped")
            # Bounded, and counted as the server counted it.
            served = sandbox.stats()["requests_total"]
            assert report["requests"] == served
            if not find_rate_limit:
                assert served <= MAX_REQUESTS
            json.dumps(report)  # the report is plain JSON
            return report, sandbox

        yield run


BOUND_VARIANTS = {
    "both inclusive": ({}, ("second", "start", "inclusive", "inclusive")),
    "to_date exclusive": ({"to_bound": "exclusive"}, ("second", "start", "inclusive", "exclusive")),
    "from_date exclusive": (
        {"from_bound": "exclusive"},
        ("second", "start", "exclusive", "inclusive"),
    ),
    "both exclusive": (
        {"from_bound": "exclusive", "to_bound": "exclusive"},
        ("second", "start", "exclusive", "exclusive"),
    ),
    "filters on the end": ({"filter_on": "end"}, ("second", "end", "inclusive", "inclusive")),
    "filters on the end, to_date exclusive": (
        {"filter_on": "end", "to_bound": "exclusive"},
        ("second", "end", "inclusive", "exclusive"),
    ),
    "date only": ({"bound_granularity": "day"}, ("day", "unknown", "inclusive", "inclusive")),
}


@pytest.mark.parametrize(("knobs", "expected"), BOUND_VARIANTS.values(), ids=BOUND_VARIANTS)
def test_the_probe_reports_the_bound_semantics(probe_of, knobs, expected):
    report, _ = probe_of(**knobs)
    bounds = report["bounds"]
    found = (bounds["granularity"], bounds["filter_on"], bounds["from_date"], bounds["to_date"])
    assert found == expected
    assert bounds["consistent"]
    granularity, filter_on = expected[:2]
    pinned = {"granularity": granularity}
    if filter_on != "unknown":
        pinned["filter_on"] = filter_on
    assert report["recommended"]["api_profile"] == pinned


ORDER_VARIANTS = {
    "newest first": ({}, "newest", "second"),
    "oldest first": ({"order": "oldest"}, "oldest", "second"),
    "shuffled": ({"order": "shuffled"}, "unordered", "none"),
    "by day, newest first": ({"sort_key": "day"}, "newest", "day"),
    "by day, oldest first": ({"sort_key": "day", "order": "oldest"}, "oldest", "day"),
}


@pytest.mark.parametrize(("knobs", "order", "key"), ORDER_VARIANTS.values(), ids=ORDER_VARIANTS)
def test_the_probe_reports_the_order(probe_of, knobs, order, key):
    report, _ = probe_of(**knobs)
    assert report["ordering"]["order"] == order
    assert report["ordering"]["sort_key"] == key
    assert report["ordering"]["same_order_on_identical_requests"] is True
    assert report["ordering"]["rows_repeated_on_page_2"] == 0
    assert report["recommended"]["window_hours"] == 24


STABILITY = {
    "ties reordered per request": {"unstable_ties": True, "calls_per_day": 20000},
    "a day reordered per request": {"sort_key": "day", "unstable_ties": True},
    "a fresh order per request": {"order": "shuffled", "unstable_ties": True},
}


@pytest.mark.parametrize("knobs", STABILITY.values(), ids=STABILITY)
def test_the_probe_reports_an_order_that_changes_between_identical_requests(probe_of, knobs):
    report, _ = probe_of(**knobs)
    ordering = report["ordering"]
    assert ordering["same_order_on_identical_requests"] is False
    assert ordering["same_rows_on_identical_requests"] in (True, False)
    assert ordering["tied_rows_on_page_1"] > 0
    # Windows that fit one page are never split: the recommendation follows the volume.
    per_hour = report["volume"]["calls_per_day"] / 24
    page = report["recommended"]["page_size"]
    assert report["recommended"]["window_hours"] == max(1, min(24, int(0.8 * page / per_hour)))


def test_stable_ties_are_reported_stable(probe_of):
    report, _ = probe_of(calls_per_day=20000)
    assert report["ordering"]["tied_rows_on_page_1"] > 0
    assert report["ordering"]["same_order_on_identical_requests"] is True


ENVELOPES = {
    "numbers": ({}, {"count": "int", "limit": "int", "size": "int", "page": "int"}),
    "numbers as text": (
        {"number_style": "string"},
        {"count": "string", "limit": "string", "size": "string", "page": "string"},
    ),
    "numbers as floats": (
        {"number_style": "float"},
        {"count": "float", "limit": "float", "size": "float", "page": "float"},
    ),
    "no count": ({"omit_count": True}, {"count": "absent", "limit": "int"}),
    "no limit": ({"omit_limit": True}, {"count": "int", "limit": "absent"}),
}


@pytest.mark.parametrize(("knobs", "types"), ENVELOPES.values(), ids=ENVELOPES)
def test_the_probe_reports_the_envelope_types(probe_of, knobs, types):
    report, _ = probe_of(**knobs)
    assert types.items() <= report["envelope"].items()
    assert report["paging"]["limit_echoed"] is (not knobs.get("omit_limit"))


def test_the_probe_reports_a_count_the_pages_never_meet(probe_of):
    report, _ = probe_of(count_offset=3)
    assert report["count_on_one_page_answers"]["matches"] is False
    assert report["count_on_one_page_answers"]["count_minus_rows"] == [3]
    clean, _ = probe_of()
    assert clean["count_on_one_page_answers"]["matches"] is True
    assert clean["count_on_one_page_answers"]["count_minus_rows"] == [0]


@pytest.mark.parametrize(
    ("knobs", "default", "largest", "clamp", "recommended"),
    [
        ({}, 20, 100, True, 100),
        ({"default_limit": 50}, 50, 100, True, 100),
        ({"page_size_max": 250, "calls_per_day": 600}, 20, 250, True, 250),
        ({"page_size_max": 1000}, 20, 1000, False, 1000),
    ],
    ids=["clamped at 100", "default 50", "clamped at 250", "1000 allowed"],
)
def test_the_probe_reports_the_default_and_largest_page(  # noqa: PLR0917 - one per column
    probe_of, knobs, default, largest, clamp, recommended
):
    report, _ = probe_of(**knobs)
    paging = report["paging"]
    assert paging["default_limit"] == default
    assert paging["limit_honoured"] is True
    assert paging["largest_is_clamp"] is clamp
    if clamp:
        assert paging["largest_page"] == largest
    else:
        assert paging["largest_ok_asked"] == largest
    assert report["recommended"]["page_size"] == recommended


def test_the_probe_reports_a_server_that_ignores_limit(probe_of):
    report, _ = probe_of(ignore_limit=True, default_limit=30)
    paging = report["paging"]
    assert paging["limit_honoured"] is False
    assert paging["largest_page"] == 30
    assert report["recommended"]["page_size"] == 30


@pytest.mark.parametrize(
    ("knobs", "past"), [({}, "empty"), ({"past_end": "repeat_last"}, "repeats_last_page")]
)
def test_the_probe_reports_what_a_page_past_the_end_holds(probe_of, knobs, past):
    report, _ = probe_of(**knobs)
    assert report["paging"]["past_end"] == past
    no_count, _ = probe_of(omit_count=True, **knobs)
    assert no_count["paging"]["past_end"] == past


def test_the_probe_reports_large_pages_that_fail(probe_of):
    report, _ = probe_of(page_size_max=1000, slow_page_above=300, slow_page_fault="504")
    assert report["paging"]["failed_sizes"] == [500, 1000]
    assert report["paging"]["largest_ok_asked"] == 200
    assert report["recommended"]["page_size"] == 200
    failures = {row["limit"]: row["failure"] for row in report["latency"]}
    assert "504" in failures[1000]
    assert failures[200] is None


def test_the_probe_times_each_page_size(probe_of):
    latency, per_record = 0.25, 0.004
    report, _ = probe_of(page_size_max=1000, latency=latency, latency_per_record=per_record)
    rows = {row["limit"]: row for row in report["latency"]}
    assert set(rows) == {None, 5, 100, 1000}
    for row in rows.values():
        assert row["seconds"] == pytest.approx(latency + row["rows"] * per_record, abs=1e-6)
    assert rows[1000]["seconds"] > rows[100]["seconds"] > rows[5]["seconds"]


LIMITERS = {
    "token bucket": {"rate_limit": 3},
    "sliding window": {"rate_limit": 3, "rate_limit_kind": "sliding_window"},
    "fixed window": {"rate_limit": 3, "rate_limit_kind": "fixed_window"},
    "sliding window per minute": {
        "rate_limit": 1.0,
        "rate_limit_kind": "sliding_window",
        "rate_limit_period": "minute",
    },
    "fixed window per minute": {
        "rate_limit": 1.0,
        "rate_limit_kind": "fixed_window",
        "rate_limit_period": "minute",
    },
}
# (limit, period) each limiter above enforces.
LIMITS = {
    "token bucket": (3, 1),
    "sliding window": (3, 1),
    "fixed window": (3, 1),
    "sliding window per minute": (60, 60),
    "fixed window per minute": (60, 60),
}


@pytest.mark.parametrize("headers", [True, False], ids=["headers", "no headers"])
@pytest.mark.parametrize("kind", LIMITERS)
def test_the_probe_reports_the_rate_limit_headers(probe_of, kind, headers):
    report, sandbox = probe_of(
        settings={"requests_per_second": 2}, rate_limit_headers=headers, **LIMITERS[kind]
    )
    rate = report["rate_limit"]
    assert sandbox.stats()["rate_limited_429"] == 0
    assert rate["throttled_during_probe"] == 0
    limit, period = LIMITS[kind]
    if headers:
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(rate["headers"])
        assert rate["stated_limit"] == limit
        assert rate["stated_period_seconds"] == period
        assert report["recommended"]["requests_per_second"] == round(limit / period, 2)
        assert report["recommended"]["requests_per_second_known"] is True
    else:
        assert rate["headers"] == []
        assert rate["stated_limit"] is None
        assert report["recommended"]["requests_per_second_known"] is False
    assert rate["measured"] is None


@pytest.mark.parametrize("headers", [True, False], ids=["headers", "no headers"])
@pytest.mark.parametrize("kind", LIMITERS)
def test_the_probe_finds_the_rate_limit_when_asked(probe_of, kind, headers):
    report, sandbox = probe_of(
        settings={"requests_per_second": 2},
        find_rate_limit=True,
        rate_limit_headers=headers,
        **LIMITERS[kind],
    )
    measured = report["rate_limit"]["measured"]
    limit, period = LIMITS[kind]
    assert (measured["limit"], measured["period"]) == (limit, period)
    # It stopped at the first 429.
    assert sandbox.stats()["rate_limited_429"] == 1
    assert report["recommended"]["requests_per_second"] == round(limit / period, 2)
    assert report["recommended"]["requests_per_second_known"] is True


def test_on_a_slow_api_the_limit_is_measured_from_when_requests_were_sent(make_sandbox):
    # Real time and rounds sent at once, as users run it: a throttle answers the round's 429
    # at once, its accepted requests only after the server's latency. Counted by when their
    # answers came, the accepted requests would all seem to follow the 429.
    sandbox = make_sandbox(
        calls_per_day=150, latency=0.3, rate_limit=3, rate_limit_kind="sliding_window"
    )
    config = tap_config(sandbox, days=1, requests_per_second=2)
    report = Probe(config, find_rate_limit=True).run()
    measured = report["rate_limit"]["measured"]
    assert (measured["limit"], measured["period"]) == (3, 1)
    assert sandbox.stats()["rate_limited_by_cause"]["limiter"] >= 1


@pytest.mark.parametrize(
    "refused_stamp", [0, 1, 2, 3], ids=lambda i: f"refused stamped {i + 1} of 4"
)
def test_every_accepted_request_of_the_refused_round_counts(refused_stamp):
    # A round of 4 sent at once to a limit of 3: which request the server refuses is the order
    # they arrived in, not the order threads stamped their send times. Answers come in order:
    # the 429 at once, the accepted after the latency.
    earlier = [
        checks.Observation(at=float(n), method="GET", status=200, headers={}) for n in (0, 3)
    ]
    stamps = [10.000, 10.001, 10.002, 10.003]
    refused = checks.Observation(
        at=stamps.pop(refused_stamp), method="GET", status=429, headers={"Retry-After": "1"}
    )
    accepted = [checks.Observation(at=at, method="GET", status=200, headers={}) for at in stamps]
    observations = [*earlier, refused, *accepted]
    found = checks.measured_limit(
        observations, burst_from=0, round_from=2, wall_seconds_until=None, stated_limit=None
    )
    assert (found.limit, found.period, found.accepted_before_429) == (3, 1, 3)


def test_without_retry_after_or_headers_the_period_stays_unknown(probe_of):
    report, sandbox = probe_of(
        settings={"requests_per_second": 2},
        find_rate_limit=True,
        rate_limit=3,
        rate_limit_kind="sliding_window",
        retry_after=False,
    )
    measured = report["rate_limit"]["measured"]
    assert measured["accepted_before_429"] == 3
    assert measured["rounds"] == 4
    assert measured["period"] is None
    assert sandbox.stats()["rate_limited_429"] == 1
    assert report["recommended"]["requests_per_second_known"] is False


@pytest.mark.parametrize("lifetime", [3600, 600])
def test_the_probe_reports_the_login_token_lifetime_and_refresh(probe_of, lifetime):
    report, sandbox = probe_of(
        token_lifetime=lifetime,
        settings={"api_token": None, "email": LOGIN_EMAIL, "password": LOGIN_PASSWORD},
    )
    auth = report["auth"]
    assert auth == {
        "kind": "login",
        "expires_in": lifetime,
        "refresh_works": True,
        "expires_in_after_refresh": lifetime,
        "renewed_token_accepted": True,
    }
    assert sandbox.stats()["requests_by_path"]["/v1/auth/refresh"] == 1


def test_a_static_token_has_no_lifetime_to_report(probe_of):
    report, _ = probe_of()
    assert report["auth"] == {"kind": "static token"}


@pytest.mark.parametrize(
    ("account", "setting", "offset", "zone"),
    [
        ("Asia/Kolkata", "Asia/Kolkata", "UTC+05:30", "Asia/Kolkata"),
        ("Europe/London", "Europe/London", "UTC+00:00", "Europe/London"),
        ("Europe/London", "Asia/Kolkata", "UTC+00:00", "Europe/London"),
        ("Asia/Kolkata", "Europe/London", "UTC+05:30", "Asia/Kolkata"),
    ],
    ids=["Kolkata right", "London right", "Kolkata set for London", "London set for Kolkata"],
)
def test_the_probe_reports_the_offset_the_data_shows(probe_of, account, setting, offset, zone):
    report, _ = probe_of(timezone=account, settings={"timezone": setting})
    found = report["timezone"]
    assert found["data_offset"] == offset
    assert found["setting_matches_data"] is (account == setting)
    assert found["zones_fitting_data"][0] == zone
    assert found["records_checked"] > 0
    assert report["recommended"]["timezone"] == (setting if account == setting else zone)


def test_the_probe_reports_reference_endpoints_the_token_may_not_read(probe_of):
    report, _ = probe_of(denied_paths=("/v1/users", "/v1/ivrs"))
    assert report["reference_endpoints"] == {
        "users": "refused (HTTP 403)",
        "departments": "readable",
        "ivrs": "refused (HTTP 403)",
        "my_numbers": "readable",
    }


def test_an_account_without_calls_gets_a_report_too(probe_of):
    report, _ = probe_of(calls_per_day=0)
    assert report["volume"]["calls_found"] == 0
    assert report["volume"]["looked_back_days"] == 31
    assert "bounds" not in report
    assert report["recommended"]["api_profile"] == {}


def test_the_probe_answers_the_other_open_questions(probe_of):
    report, _ = probe_of()
    assert report["open_questions"] == {
        "without_dates": "today (from local midnight)",  # the sandbox's default window
        "window_of_45_days": "accepted",
        "agents_filter": "honoured",
    }
