"""The demo's HTML report: right numbers, self-contained, and drawn by a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.report import CHART_IDS, percent, read_report, write_report
from tests.transform.browser import read_charts, rendered_dom
from tests.transform.conftest import Pipeline
from tests.transform.expected import Settings, expected_marts, rate

pytestmark = pytest.mark.e2e

# Anything that would make the page fetch from the network when opened.
EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I
)


def test_the_report_numbers_match_ground_truth(analytics_pipeline: Pipeline) -> None:
    snapshot = analytics_pipeline.incremental
    marts = expected_marts(snapshot.truth, analytics_pipeline.reference, Settings())
    with analytics_pipeline.server.connect() as conn:
        report = read_report(conn, analytics_pipeline.marts_schema)
    daily = marts["call_volume_daily"].values()
    total = {
        name: sum(row[name] for row in daily)
        for name in (
            "calls_offered",
            "calls_answered",
            "calls_queued",
            "calls_answered_within_service_level",
            "total_wait_seconds",
        )
    }
    assert report.offered == total["calls_offered"] > 0
    assert report.answer_rate == rate(total["calls_answered"], total["calls_offered"])
    assert report.service_level == rate(
        total["calls_answered_within_service_level"], total["calls_queued"]
    )
    assert report.avg_speed_of_answer == rate(
        total["total_wait_seconds"], total["calls_answered"], 1
    )
    pending = marts["call_back_list"]
    assert report.numbers_to_call_back == len(pending) > 0
    assert report.missed_calls_pending == sum(r["missed_calls"] for r in pending.values())
    talk: dict[str, int] = {}
    for (_, _, agent), row in marts["agent_daily"].items():
        talk[row["agent_name"] or agent] = (
            talk.get(row["agent_name"] or agent, 0) + row["total_talk_seconds"]
        )
    best = sorted(talk.items(), key=lambda item: (-item[1], item[0]))[: len(report.agents)]
    assert [(a.name, a.talk_seconds) for a in report.agents] == best


def test_the_report_renders_its_charts_offline_in_chromium(
    analytics_pipeline: Pipeline, tmp_path: Path
) -> None:
    with analytics_pipeline.server.connect() as conn:
        report = read_report(conn, analytics_pipeline.marts_schema)
    page = write_report(report, tmp_path / "report.html")
    text = page.read_text()
    assert not EXTERNAL.search(text), "the page loads something from the network"

    dom = rendered_dom(page, tmp_path / "chromium-profile")
    charts = read_charts(dom, CHART_IDS)
    for chart in CHART_IDS:
        assert charts.svgs[chart] >= 1, f"{chart}: plotly drew nothing (no main-svg)"

    # Calls per hour: two bar traces over all 24 hours, a marker for each hour with calls.
    assert charts.bars["chart-hourly"] == 2 * 24
    assert charts.markers["chart-hourly"] == sum(1 for h in report.hours if h.offered)
    # Service level per day: one bar per day, labelled with its value.
    assert charts.bars["chart-service-level"] == len(report.days) > 1
    for day in report.days:
        assert percent(day.service_level) in charts.texts["chart-service-level"]
    # Agents by talk time: one bar per agent, named.
    assert charts.bars["chart-agents"] == len(report.agents) > 0
    assert {a.name for a in report.agents} <= set(charts.texts["chart-agents"])
    # The call-back list: every number shown, in a drawn table.
    shown = set(charts.texts["chart-call-backs"])
    assert report.call_backs
    assert {c.customer_number for c in report.call_backs} <= shown
    # The headline tiles.
    assert percent(report.answer_rate) in dom
