"""The probe's report as a person reads it (markdown) and as the project collects it (JSON).

Both come from the same dict (`Probe.run`), which holds findings only: types, counts,
choices, durations and zone names. The markdown ends with the exact commands that set the
recommended configuration, the `api_profile` value included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

SHARE_NOTE = (
    "Please share the JSON report (`--output`) with the tap-acefone project (an issue titled "
    '"probe report" with the file attached): it answers the questions the vendor leaves '
    "open. It holds no customer data: no phone numbers, names, ids, URLs or tokens, only "
    "what the API does (types, counts, choices, timings) and the account's time-zone offset."
)


def to_json(report: Mapping[str, Any]) -> str:
    """The report as the JSON file the project collects."""
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def to_markdown(report: Mapping[str, Any]) -> str:
    """The short report the probe prints."""
    lines = [
        "# tap-acefone probe report",
        "",
        (
            f"tap-acefone {report.get('tap_version')}, {report.get('brand')}, "
            f"{report.get('credentials')}: {report.get('requests')} requests in "
            f"{report.get('seconds')} s."
        ),
    ]
    if report.get("stopped"):
        lines += ["", f"The probe stopped early: {report['stopped']}."]
    lines += ["", "## Findings", "", "| Question | Answer |", "|---|---|"]
    lines += [f"| {question} | {answer} |" for question, answer in _findings(report)]
    recommended = report.get("recommended") or {}
    lines += ["", "## Recommended configuration", "", "| Setting | Value | Why |", "|---|---|---|"]
    why = recommended.get("why", {})
    for name in ("page_size", "requests_per_second", "window_hours", "timezone"):
        if name in recommended:
            lines.append(f"| {name} | {recommended[name]} | {why.get(name, 'as set')} |")
    profile = recommended.get("api_profile") or {}
    lines.append(
        f"| api_profile | `{_compact(profile)}` | what the probe found about the bounds "
        "(see the README's Probe section) |"
    )
    lines += ["", "```sh", *commands(recommended), "```", "", SHARE_NOTE, ""]
    return "\n".join(lines)


def commands(recommended: Mapping[str, Any]) -> list[str]:
    """The `meltano config set` lines that apply the recommendation."""
    lines = [
        f"meltano config set tap-acefone {name} {recommended[name]}"
        for name in ("page_size", "requests_per_second", "window_hours", "timezone")
        if name in recommended and (name != "requests_per_second" or _known_rate(recommended))
    ]
    profile = recommended.get("api_profile")
    if profile:
        lines.append(f"meltano config set tap-acefone api_profile '{_compact(profile)}'")
    return lines


def _known_rate(recommended: Mapping[str, Any]) -> bool:
    return bool(recommended.get("requests_per_second_known"))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), sort_keys=True)


def _findings(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for question, section, describe in (
        ("Bounds", "bounds", _bounds),
        ("Ordering", "ordering", _ordering),
        ("Paging", "paging", _paging),
        ("Envelope", "envelope", _envelope),
        ("Latency per page size", "latency", _latency),
        ("Rate limit", "rate_limit", _rate_limit),
        ("Login token", "auth", _auth),
        ("Time zone", "timezone", _timezone),
        ("Volume", "volume", _volume),
        ("Other open questions", "open_questions", _open_questions),
        ("Reference endpoints", "reference_endpoints", _reference),
    ):
        if report.get(section) is not None:
            found.append((question, describe(report[section], report)))
    return found


def _bounds(b: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    if b.get("granularity") == "day":
        text = "filters on the date alone (the time of day is ignored), whole days inclusive"
        if b.get("filter_on") in ("start", "end"):
            text += f"; by the date the call {'started' if b['filter_on'] == 'start' else 'ended'}"
        return text
    if b.get("granularity") == "unknown":
        return "could not tell (no call with a clear start and end was seen)"
    on = {
        "start": "filters on the call's start",
        "end": "filters on the call's end",
        "overlap": "selects calls overlapping the window",
    }.get(b.get("filter_on", ""), "could not tell what it filters on")
    text = f"{on}, to the second; from_date {b.get('from_date')}, to_date {b.get('to_date')}"
    if not b.get("consistent", True):
        text += " (the answers disagreed: not pinned)"
    return text


def _ordering(o: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    order = {
        "newest": "newest first",
        "oldest": "oldest first",
        "unordered": "no order",
    }.get(o.get("order", ""), "could not tell")
    key = {"second": "to the second", "day": "by date only"}.get(o.get("sort_key", ""), "")
    same = "same order" if o.get("same_order_on_identical_requests") else "a new order"
    if o.get("same_order_on_identical_requests") and not o.get("tied_rows_on_page_1"):
        same += " (no two calls on page 1 share a second: the order of ties is untested)"
    repeated = o.get("rows_repeated_on_page_2")
    pages = "" if repeated is None else f"; page 2 repeats {repeated} rows of page 1"
    return f"{order} {key}".strip() + f"; identical requests: {same}{pages}"


def _paging(p: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    honoured = {True: "honoured", False: "ignored", None: "honoured?"}[p.get("limit_honoured")]
    echoed = "echoed" if p.get("limit_echoed") else "not echoed"
    largest = p.get("largest_page")
    cut = " (larger limits are cut to it)" if p.get("largest_is_clamp") else ""
    asked = p.get("largest_ok_asked")
    if not p.get("largest_is_clamp") and asked and largest is not None and asked > largest:
        largest, cut = asked, f" served in full (the window held {p.get('largest_page')} calls)"
    failed = p.get("failed_sizes") or []
    failures = f"; limit {', '.join(map(str, failed))} failed" if failed else ""
    past = {
        "empty": "is empty",
        "repeats_last_page": "repeats the last page",
        "other_rows": "holds other rows",
    }.get(p.get("past_end", ""), "?")
    return (
        f"default {p.get('default_limit')} rows; limit {honoured}, {echoed}; largest page "
        f"{largest}{cut}{failures}; a page past the end {past}"
    )


def _envelope(e: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    text = ", ".join(f"{key} {kind}" for key, kind in e.items())
    count = report.get("count_on_one_page_answers") or {}
    if count.get("matches") is True:
        text += f"; count equals the rows of {count.get('answers')} one-page answers"
    elif count.get("matches") is False:
        text += (
            f"; count minus the rows of one-page answers: {count.get('count_minus_rows')} "
            "(a count the pages never meet)"
        )
    return text


def _latency(rows: Sequence[Mapping[str, Any]], _: Mapping[str, Any]) -> str:
    parts = []
    for row in rows:
        asked = "none" if row.get("limit") is None else row["limit"]
        if row.get("failure"):
            parts.append(f"limit {asked}: {row['failure']}")
        else:
            parts.append(f"limit {asked}: {row.get('rows')} rows in {row.get('seconds')} s")
    return "; ".join(parts)


def _rate_limit(r: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    names = ", ".join(r.get("headers") or []) or "no rate-limit headers"
    text = names
    if r.get("stated_limit") is not None:
        periods = {1: "a second", 60: "a minute"}
        per = periods.get(int(r.get("stated_period_seconds") or 0), "?")
        text += f" (limit {r['stated_limit']}, seemingly per {per})"
    text += f"; {r.get('throttled_during_probe', 0)} requests refused with 429"
    measured = r.get("measured")
    if measured:
        if measured.get("limit") is not None and measured.get("period"):
            text += (
                f"; measured: {measured['limit']} requests per {measured['period']} s "
                f"(the first 429 came in a round of {measured.get('rounds')} requests sent at "
                f"once; {measured.get('refused')} refused; retry in {measured.get('wait_said')} s)"
            )
        else:
            text += f"; no 429 within {measured.get('sent')} quick requests"
    return text


def _auth(a: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    if a.get("kind") != "login":
        return "static token"
    refresh = "works" if a.get("refresh_works") else "does not work (the tap logs in again)"
    return f"login token lasts {a.get('expires_in')} s; /v1/auth/refresh {refresh}"


def _timezone(t: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    if t.get("data_offset") is None:
        return f"timezone {t.get('setting')}; no record carried its own Unix time"
    verdict = "it matches" if t.get("setting_matches_data") else "it does NOT match"
    zones = ", ".join(t.get("zones_fitting_data") or [])
    more = (t.get("zones_fitting_count") or 0) - len(t.get("zones_fitting_data") or [])
    return (
        f"timezone {t.get('setting')} ({t.get('setting_offset')}); the records' own clocks say "
        f"{t.get('data_offset')} ({t.get('records_checked')} records): {verdict}; zones that "
        f"fit: {zones}{f' and {more} more' if more > 0 else ''}"
    )


def _volume(v: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    per_day = v.get("calls_per_day")
    if per_day is None:
        return (
            f"{v.get('calls_found')} calls on page 1 of the last {v.get('looked_back_days')} days"
        )
    days = v.get("looked_back_days")
    return f"about {per_day:,.0f} calls a day (over the last {days} day{'s' * (days != 1)})"


def _open_questions(q: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    parts = [f"without dates the API reads {q.get('without_dates')}"]
    parts.append(f"a window of 45 days is {q.get('window_of_45_days')}")
    if "agents_filter" in q:
        parts.append(f"agents[]=agent||<id> is {q['agents_filter']}")
    return "; ".join(parts)


def _reference(r: Mapping[str, Any], _: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} {state}" for name, state in r.items())
