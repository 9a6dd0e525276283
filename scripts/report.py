"""The one-page call-centre report, read from the dbt marts (transform/).

:func:`read_report` gathers the headline numbers and the series behind each chart from the
marts in a PostgreSQL schema; :func:`headline_lines` prints the headline as text (the demo's
output); :func:`render_html` draws the page with plotly: calls and answer rate per local
hour, service level per local day, agents by talk time and the call-back list. plotly.js is
embedded once in the page, so the file opens offline, from a mail attachment or a laptop
without network.

Command line (after ``meltano run tap-acefone target-postgres dbt-postgres:build``)::

    python scripts/report.py --dsn postgresql://user@host/db --schema analytics --out report.html
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import sys
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Charts on the page, by the id of the element that holds each.
CHART_IDS = ("chart-hourly", "chart-service-level", "chart-agents", "chart-call-backs")
CALL_BACK_ROWS = 25
TOP_AGENTS = 10


@dataclasses.dataclass(frozen=True)
class Hour:
    """One local hour of the day, over the whole period."""

    hour: int
    offered: int
    answered: int

    @property
    def answer_rate(self) -> Decimal | None:
        """Answered / offered."""
        return ratio(self.answered, self.offered)


@dataclasses.dataclass(frozen=True)
class Day:
    """One local day."""

    day: date
    offered: int
    answered: int
    queued: int
    within_service_level: int

    @property
    def answer_rate(self) -> Decimal | None:
        """Answer rate: answered / offered."""
        return ratio(self.answered, self.offered)

    @property
    def service_level(self) -> Decimal | None:
        """Answered within the threshold / queued."""
        return ratio(self.within_service_level, self.queued)


@dataclasses.dataclass(frozen=True)
class Agent:
    """An agent over the whole period."""

    name: str
    calls_answered: int
    outbound_calls: int
    talk_seconds: int


@dataclasses.dataclass(frozen=True)
class CallBack:
    """A customer waiting for a call back."""

    customer_number: str
    missed_calls: int
    first_missed_at: datetime
    last_department_name: str | None
    failed_attempts: int


@dataclasses.dataclass(frozen=True)
class Report:
    """Everything the page and the demo's headline show."""

    schema: str
    first_day: date | None
    last_day: date | None
    offered: int
    answered: int
    queued: int
    within_service_level: int
    abandoned: int
    total_wait_seconds: int
    total_handle_seconds: int
    handled: int
    missed_calls: int
    missed_calls_resolved: int
    numbers_to_call_back: int
    missed_calls_pending: int
    hours: list[Hour]
    days: list[Day]
    agents: list[Agent]
    call_backs: list[CallBack]

    @property
    def answer_rate(self) -> Decimal | None:
        """Answered / offered, over the period."""
        return ratio(self.answered, self.offered)

    @property
    def abandonment_rate(self) -> Decimal | None:
        """Abandoned before any agent rang / offered."""
        return ratio(self.abandoned, self.offered)

    @property
    def service_level(self) -> Decimal | None:
        """Answered within the threshold / queued."""
        return ratio(self.within_service_level, self.queued)

    @property
    def avg_speed_of_answer(self) -> Decimal | None:
        """Seconds from queue to answer, on average."""
        return ratio(self.total_wait_seconds, self.answered, places=1)

    @property
    def avg_handle_time(self) -> Decimal | None:
        """Handle seconds per answered call with an agent."""
        return ratio(self.total_handle_seconds, self.handled, places=1)


def ratio(numerator: int, denominator: int, places: int = 4) -> Decimal | None:
    """Numerator / denominator rounded half up, as the marts round; None for 0 / 0."""
    if not denominator:
        return None
    exponent = Decimal(1).scaleb(-places)
    return (Decimal(numerator) / Decimal(denominator)).quantize(exponent, ROUND_HALF_UP)


def percent(value: Decimal | None) -> str:
    """0.8032 -> '80.3%'."""
    return "n/a" if value is None else f"{value * 100:.1f}%"


def duration(seconds: int | Decimal | None) -> str:
    """Seconds as '2h 05m' (or '45 s' below a minute)."""
    if seconds is None:
        return "n/a"
    whole = int(seconds)
    if whole < 60:
        return f"{seconds} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


# --------------------------------------------------------------------------- reading


def _one(conn: Any, sql: str) -> tuple[Any, ...]:
    row = conn.execute(sql).fetchone()
    return tuple(0 if value is None else value for value in row)


def read_report(conn: Any, schema: str) -> Report:
    """The report's numbers from the marts in ``schema`` (a psycopg connection)."""
    s = '"' + schema.replace('"', '""') + '"'
    totals = _one(
        conn,
        f"""
        SELECT min(local_date), max(local_date), sum(calls_offered), sum(calls_answered),
               sum(calls_queued), sum(calls_answered_within_service_level),
               sum(calls_abandoned_in_ivr + calls_abandoned_in_queue), sum(total_wait_seconds),
               sum(total_handle_seconds), sum(calls_handled)
        FROM {s}.call_volume_daily
        """,
    )
    missed, resolved = _one(
        conn,
        f"SELECT count(*), count(*) FILTER (WHERE is_resolved) FROM {s}.missed_calls_to_call_back",
    )
    numbers, pending = _one(conn, f"SELECT count(*), sum(missed_calls) FROM {s}.call_back_list")
    hours = [
        Hour(int(h), int(o), int(a))
        for h, o, a in conn.execute(
            f"""
            SELECT local_hour, sum(calls_offered), sum(calls_answered)
            FROM {s}.call_volume_hourly GROUP BY 1 ORDER BY 1
            """
        )
    ]
    days = [
        Day(d, int(o), int(a), int(q), int(w))
        for d, o, a, q, w in conn.execute(
            f"""
            SELECT local_date, sum(calls_offered), sum(calls_answered), sum(calls_queued),
                   sum(calls_answered_within_service_level)
            FROM {s}.call_volume_daily GROUP BY 1 ORDER BY 1
            """
        )
    ]
    agents = [
        Agent(name, int(answered), int(outbound), int(talk))
        for name, answered, outbound, talk in conn.execute(
            f"""
            SELECT coalesce(agent_name, agent_id), sum(calls_answered), sum(outbound_calls),
                   sum(total_talk_seconds)
            FROM {s}.agent_daily GROUP BY agent_id, 1 ORDER BY 4 DESC, 1 LIMIT {TOP_AGENTS}
            """
        )
    ]
    call_backs = [
        CallBack(number, int(calls), first, department, int(attempts))
        for number, calls, first, department, attempts in conn.execute(
            f"""
            SELECT customer_number, missed_calls, first_missed_at, last_department_name,
                   failed_call_back_attempts
            FROM {s}.call_back_list
            ORDER BY first_missed_at, customer_number LIMIT {CALL_BACK_ROWS}
            """
        )
    ]
    first_day, last_day = totals[0] or None, totals[1] or None
    numbers_ = [int(v) for v in totals[2:]]
    return Report(
        schema=schema,
        first_day=first_day,
        last_day=last_day,
        offered=numbers_[0],
        answered=numbers_[1],
        queued=numbers_[2],
        within_service_level=numbers_[3],
        abandoned=numbers_[4],
        total_wait_seconds=numbers_[5],
        total_handle_seconds=numbers_[6],
        handled=numbers_[7],
        missed_calls=int(missed),
        missed_calls_resolved=int(resolved),
        numbers_to_call_back=int(numbers),
        missed_calls_pending=int(pending),
        hours=hours,
        days=days,
        agents=agents,
        call_backs=call_backs,
    )


def headline_lines(report: Report, service_level_seconds: int = 20) -> list[str]:
    """The headline numbers as lines of text."""
    lines = [
        f"inbound calls offered {report.offered}, answered {report.answered}: "
        f"answer rate {percent(report.answer_rate)}, "
        f"abandoned before an agent rang {percent(report.abandonment_rate)}",
        f"service level {percent(report.service_level)} (answered within "
        f"{service_level_seconds} s of queueing); average speed of answer "
        f"{duration(report.avg_speed_of_answer)}, average handle time "
        f"{duration(report.avg_handle_time)}",
        f"call-backs pending: {report.numbers_to_call_back} customers "
        f"({report.missed_calls_pending} missed calls); {report.missed_calls_resolved} of "
        f"{report.missed_calls} missed calls resolved by a later call",
        "top agents by talk time:",
    ]
    lines += [
        f"  {agent.name:<28} {agent.calls_answered:4d} answered {agent.outbound_calls:4d} "
        f"outbound  {duration(agent.talk_seconds)}"
        for agent in report.agents[:5]
    ]
    return lines


# --------------------------------------------------------------------------- drawing


def _local(instant: datetime, zone: ZoneInfo) -> str:
    """A naive UTC instant from the marts on the account's wall clock."""
    return instant.replace(tzinfo=timezone.utc).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _figures(report: Report, service_level_seconds: int, time_zone: str) -> dict[str, Any]:
    # plotly is imported here: reading the marts and printing the headline need only psycopg.
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.subplots import make_subplots  # noqa: PLC0415

    zone = ZoneInfo(time_zone)
    layout = {"margin": {"l": 60, "r": 60, "t": 50, "b": 50}, "height": 380}
    hourly = make_subplots(specs=[[{"secondary_y": True}]])
    by_hour = {h.hour: h for h in report.hours}
    hours = [by_hour.get(hour, Hour(hour, 0, 0)) for hour in range(24)]
    labels = [f"{h.hour:02d}:00" for h in hours]
    hourly.add_bar(x=labels, y=[h.answered for h in hours], name="answered")
    hourly.add_bar(x=labels, y=[h.offered - h.answered for h in hours], name="not answered")
    hourly.add_scatter(
        x=labels,
        y=[None if h.answer_rate is None else float(h.answer_rate) for h in hours],
        name="answer rate",
        mode="lines+markers",
        secondary_y=True,
    )
    hourly.update_layout(
        title="Inbound calls and answer rate per local hour (all days)", barmode="stack", **layout
    )
    hourly.update_xaxes(type="category")
    hourly.update_yaxes(title_text="calls", secondary_y=False)
    hourly.update_yaxes(
        title_text="answer rate", tickformat=".0%", range=[0, 1.05], dtick=0.2, secondary_y=True
    )

    service = go.Figure(
        go.Bar(
            x=[d.day.isoformat() for d in report.days],
            y=[None if d.service_level is None else float(d.service_level) for d in report.days],
            text=[percent(d.service_level) for d in report.days],
            name="service level",
        )
    )
    service.update_layout(
        title=f"Service level per local day (answered within {service_level_seconds} s)",
        xaxis={"type": "category"},
        yaxis={"tickformat": ".0%", "range": [0, 1.05]},
        **layout,
    )

    agents = go.Figure(
        go.Bar(
            x=[round(a.talk_seconds / 3600, 2) for a in reversed(report.agents)],
            y=[a.name for a in reversed(report.agents)],
            orientation="h",
            name="talk hours",
        )
    )
    agents.update_layout(title="Agents by talk time (hours)", **layout)

    table = go.Figure(
        go.Table(
            header={
                "values": [
                    "customer",
                    "missed calls",
                    f"waiting since ({time_zone})",
                    "last department",
                    "failed call-backs",
                ]
            },
            cells={
                "values": [
                    [c.customer_number for c in report.call_backs],
                    [c.missed_calls for c in report.call_backs],
                    [_local(c.first_missed_at, zone) for c in report.call_backs],
                    [c.last_department_name or "" for c in report.call_backs],
                    [c.failed_attempts for c in report.call_backs],
                ]
            },
        )
    )
    table.update_layout(
        title=f"Call-back list: {report.numbers_to_call_back} customers "
        f"(oldest {len(report.call_backs)} shown)",
        margin=layout["margin"],
        height=120 + 28 * max(len(report.call_backs), 1),
    )
    return dict(zip(CHART_IDS, (hourly, service, agents, table), strict=True))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.5em; margin-bottom: 0; }}
.period {{ color: #666; margin-top: 4px; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 20px 0; }}
.tile {{ border: 1px solid #ddd; border-radius: 8px; padding: 10px 16px; min-width: 150px; }}
.tile .value {{ font-size: 1.6em; font-weight: 600; }}
.tile .label {{ color: #666; font-size: 0.85em; }}
.chart {{ margin: 24px 0; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="period">{period}</p>
<div class="tiles">{tiles}</div>
{charts}
</body>
</html>
"""


def render_html(
    report: Report, service_level_seconds: int = 20, time_zone: str = "Asia/Kolkata"
) -> str:
    """The whole page, plotly.js embedded once: it needs no network to open."""
    figures = _figures(report, service_level_seconds, time_zone)
    tiles = [
        ("answer rate", percent(report.answer_rate)),
        (f"service level ({service_level_seconds} s)", percent(report.service_level)),
        ("abandoned before an agent rang", percent(report.abandonment_rate)),
        ("average speed of answer", duration(report.avg_speed_of_answer)),
        ("average handle time", duration(report.avg_handle_time)),
        ("customers to call back", str(report.numbers_to_call_back)),
    ]
    charts = []
    for index, (chart_id, figure) in enumerate(figures.items()):
        div = figure.to_html(
            full_html=False,
            include_plotlyjs=index == 0,
            div_id=chart_id,
            config={"displaylogo": False, "responsive": True},
        )
        charts.append(f'<div class="chart">{div}</div>')
    period = (
        f"{report.first_day} to {report.last_day} (account-local days), "
        f"{report.offered} inbound calls; marts in schema {html.escape(report.schema)}"
        if report.first_day
        else "no calls yet"
    )
    return _PAGE.format(
        title="Call centre report",
        period=period,
        tiles="".join(
            f'<div class="tile"><div class="value">{html.escape(v)}</div>'
            f'<div class="label">{html.escape(k)}</div></div>'
            for k, v in tiles
        ),
        charts="\n".join(charts),
    )


def write_report(
    report: Report, path: Path, service_level_seconds: int = 20, time_zone: str = "Asia/Kolkata"
) -> Path:
    """Render ``report`` into ``path`` (its directory created); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, service_level_seconds, time_zone), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Read the marts and write the page."""
    import psycopg  # noqa: PLC0415

    from scripts.postgres import to_libpq_dsn  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="PostgreSQL URL of the warehouse")
    parser.add_argument("--schema", default="analytics", help="schema of the marts")
    parser.add_argument("--out", type=Path, default=Path("acefone-report.html"))
    parser.add_argument("--service-level-seconds", type=int, default=20)
    parser.add_argument("--timezone", default="Asia/Kolkata", help="the account's time zone")
    args = parser.parse_args(argv)
    with psycopg.connect(to_libpq_dsn(args.dsn)) as conn:
        report = read_report(conn, args.schema)
    for line in headline_lines(report, args.service_level_seconds):
        print(line)
    path = write_report(report, args.out, args.service_level_seconds, args.timezone)
    print(f"report written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
