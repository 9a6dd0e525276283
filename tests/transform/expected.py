"""Every mart of transform/, computed again in plain Python from the sandbox's ground truth.

Nothing here reads what the tap derived (its E.164 columns, `answered_agent_id`, ...) or
what dbt built: each call is taken from the raw API record the sandbox served plus its true
UTC start and end, and the reference names from the sandbox's own reference endpoints. The
rules are the ones the README's "Analytics" section states, written a second time,
independently of the SQL, so that the two can be compared exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

Row = dict[str, Any]
Key = tuple[Any, ...]

_EPOCH_TEXT = re.compile(r"^[0-9]{9,11}(\.[0-9]+)?$")
_DIGITS = re.compile(r"^[0-9]+$")
_IVR_TYPES = {"ivr", "auto attendant", "auto+attendant"}
_QUEUE_TYPES = {"department", "inbound queue", "queue"}


@dataclasses.dataclass(frozen=True)
class Settings:
    """The dbt variables the marts were built with (their defaults unless a test says so)."""

    timezone: str = "Asia/Kolkata"
    service_level_seconds: int = 20
    repeat_call_window_hours: int = 24
    call_back_target_hours: int = 4
    account_id: str = "default"
    region: str = "IN"


@dataclasses.dataclass(frozen=True)
class Reference:
    """Names from the sandbox's reference endpoints."""

    agent_names: Mapping[str, str]  # agent id -> user name
    department_names: Mapping[str, str]  # department id -> name
    did_aliases: Mapping[str, str]  # DID in E.164 -> alias


@dataclasses.dataclass(frozen=True)
class Step:
    """One call_flow entry, read by the README's step rules."""

    number: int
    kind: str
    at: datetime | None
    agent_id: str | None
    dial_status: str | None
    department_id: str | None


# ------------------------------------------------------------------------ small readers


def _text(value: Any) -> str | None:
    """A JSON value as PostgreSQL's ->> gives it, trimmed of spaces; None when blank."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = json.dumps(value)
    else:
        text = json.dumps(value, separators=(", ", ": "))
    return text.strip(" ") or None


def _scalar_id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return _text(value)


def _epoch(value: Any) -> datetime | None:
    """Epoch seconds (int, float or numeric text) -> naive UTC, fraction dropped."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = _text(value)
    if text is None or not _EPOCH_TEXT.match(text):
        return None
    seconds = math.floor(Decimal(text))
    return datetime(1970, 1, 1) + timedelta(seconds=seconds)


def e164(value: Any, region: str) -> str | None:
    """A phone number in E.164 (phonenumbers), or None when it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _number(value: Any, region: str) -> str | None:
    return e164(value, region) or (value.strip(" ") or None if isinstance(value, str) else None)


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(timezone.utc).replace(tzinfo=None)


def _seconds(start: datetime, finish: datetime) -> int:
    return int((finish - start).total_seconds())


def rate(numerator: int, denominator: int, places: int = 4) -> Decimal | None:
    """numerator / denominator rounded half up (PostgreSQL's round of a numeric)."""
    if not denominator:
        return None
    exponent = Decimal(1).scaleb(-places)
    return (Decimal(numerator) / Decimal(denominator)).quantize(exponent, ROUND_HALF_UP)


# ------------------------------------------------------------------------------ steps


def _kind(step_type: str | None, step: Mapping[str, Any], agent_id: str | None, dial: str | None):
    if step_type is None:
        return "answer" if "anstime" in step else "other"
    kind = step_type.lower()
    if kind == "init":
        return "init"
    if kind in _IVR_TYPES:
        return "ivr"
    if kind == "dtmf":
        return "dtmf"
    if kind in _QUEUE_TYPES:
        return "queue_entered"
    if kind == "agent":
        if agent_id is None:
            return "customer_leg"
        return "agent_dialed" if dial == "dialed" else "agent_rung"
    if kind == "customer":
        return "customer_leg"
    if kind == "voicemail":
        return "voicemail"
    if "transfer" in kind:
        return "transfer"
    if kind == "agent-hangup":
        return "agent_hangup"
    if kind == "hangup":
        return "hangup"
    return "other"


def steps_of(record: Mapping[str, Any]) -> list[Step]:
    """The record's call_flow as steps (non-object entries skipped, numbering kept)."""
    flow = record.get("call_flow")
    if isinstance(flow, dict):
        flow = [flow]  # the tap wraps a lone object in a list
    steps = []
    for number, step in enumerate(flow if isinstance(flow, list) else [], start=1):
        if not isinstance(step, dict):
            continue
        step_type = _text(step.get("type"))
        step_id = _scalar_id(step.get("id"))
        dial = _text(step.get("dialst"))
        dial = dial.lower() if dial else None
        kind = _kind(step_type, step, step_id, dial)
        at = _epoch(step.get("anstime") if kind == "answer" else step.get("time"))
        is_agent = step_type is not None and step_type.lower() == "agent"
        is_queue = step_type is not None and step_type.lower() in _QUEUE_TYPES
        steps.append(
            Step(
                number=number,
                kind=kind,
                at=at,
                agent_id=step_id if is_agent else None,
                dial_status=dial,
                department_id=step_id if is_queue else None,
            )
        )
    return steps


# ------------------------------------------------------------------------------ calls


def _first(values: Iterable[Any]) -> Any:
    return next(iter(values), None)


def _lower(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    return (value.strip(" ").lower() or None) if isinstance(value, str) else None


def _integer(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _call_type(record: Mapping[str, Any], direction: str | None) -> str:
    service = record.get("service") or ""
    if _text(record.get("broadcast_id")) is not None or "broadcast" in service.lower():
        return "broadcast"
    if direction == "inbound":
        return "inbound"
    hint = _lower(record, "call_hint")
    return hint if hint in ("clicktocall", "dialer") else "outbound"


@dataclasses.dataclass(frozen=True)
class Journey:
    """What the steps of one call say, by the README's rules."""

    rung: list[Step]  # agent rings with an agent id
    answered_rings: list[Step]
    queue_steps: list[Step]
    answer_at: datetime | None
    dialing_agent: str | None
    has_voicemail: bool
    has_transfer: bool

    @classmethod
    def of(cls, steps: list[Step]) -> Journey:
        """Read a call's steps."""
        rung = [s for s in steps if s.kind == "agent_rung" and s.agent_id is not None]
        return cls(
            rung=rung,
            answered_rings=[s for s in rung if s.dial_status == "answered"],
            queue_steps=[s for s in steps if s.kind == "queue_entered"],
            answer_at=min((s.at for s in steps if s.kind == "answer" and s.at), default=None),
            dialing_agent=_first(
                s.agent_id for s in steps if s.kind == "agent_dialed" and s.agent_id is not None
            ),
            has_voicemail=any(s.kind == "voicemail" for s in steps),
            has_transfer=any(s.kind == "transfer" for s in steps),
        )

    @property
    def answering(self) -> Step | None:
        """The last ring an agent answered."""
        return self.answered_rings[-1] if self.answered_rings else None

    def queue_entered_at(self, started_at: datetime) -> datetime:
        """First queue step, else first ring, else the call's start."""
        return (
            min((s.at for s in self.queue_steps if s.at), default=None)
            or min((s.at for s in self.rung if s.at), default=None)
            or started_at
        )


def _outcome(record: Mapping[str, Any], journey: Journey, direction: str | None, queued: bool):
    answered = _lower(record, "status") == "answered"
    if direction != "inbound":
        return "answered" if answered else "not_answered"
    if answered:
        return "answered"
    if bool(record.get("voicemail_recording")) or journey.has_voicemail:
        return "voicemail"
    if journey.rung:
        return "missed"
    return "abandoned_in_queue" if queued else "abandoned_in_ivr"


def _ring_seconds(
    record: Mapping[str, Any], journey: Journey, answered_at: datetime | None
) -> int | None:
    text = record.get("agent_ring_time")
    if isinstance(text, str) and _DIGITS.match(text.strip(" ")):
        return int(text.strip(" "))
    answering = journey.answering
    if answered_at is not None and answering is not None and answering.at is not None:
        return max(_seconds(answering.at, answered_at), 0)
    return None


def _handle_seconds(call: Row, duration: int | None) -> int | None:
    if call["call_type"] == "broadcast" or call["agent_id"] is None:
        return None
    if call["direction"] == "inbound":
        return call["talk_seconds"] + (call["ring_seconds"] or 0) if call["is_answered"] else None
    return duration


def call_row(truth: Any, settings: Settings, ref: Reference) -> Row:
    """The fct_calls row of one call, from its raw record and true instants."""
    record = truth.record
    journey = Journey.of(steps_of(record))
    direction = _lower(record, "direction")
    is_answered = _lower(record, "status") == "answered"
    answering = journey.answering
    if direction == "inbound":
        agent_id = answering.agent_id if answering else None
    else:
        agent_id = journey.dialing_agent
    started_at = _naive(truth.started_at)
    ended_at = _naive(truth.ended_at)
    answered_seconds = _integer(record.get("answered_seconds"))
    is_queued = direction == "inbound" and bool(journey.queue_steps or journey.rung)
    queue_entered_at = journey.queue_entered_at(started_at) if is_queued else None
    answered_at = None
    if is_answered:
        answered_at = journey.answer_at or ended_at - timedelta(seconds=answered_seconds or 0)
    department_id = _first(
        s.department_id for s in journey.queue_steps if s.department_id is not None
    )
    did_number = _number(record.get("did_number"), settings.region)
    transfer_missed = record.get("transfer_missed_agent")
    if isinstance(transfer_missed, dict):
        transfer_missed = [transfer_missed]
    transfer_missed_agents = len(transfer_missed) if isinstance(transfer_missed, list) else 0
    local = truth.started_at.astimezone(ZoneInfo(settings.timezone)).replace(tzinfo=None)
    url = record.get("recording_url")
    rung = journey.rung
    answered_rings = journey.answered_rings
    row = {
        "account_id": settings.account_id,
        "call_record_id": record["id"],
        "call_id": record.get("call_id"),
        "direction": direction,
        "call_type": _call_type(record, direction),
        "outcome": _outcome(record, journey, direction, is_queued),
        "is_answered": is_answered,
        "is_queued": is_queued,
        "started_at": started_at,
        "queue_entered_at": queue_entered_at,
        "answered_at": answered_at,
        "ended_at": ended_at,
        "started_at_local": local,
        "local_date": local.date(),
        "local_hour": local.hour,
        "time_zone": settings.timezone,
        "call_duration_seconds": _integer(record.get("call_duration")),
        "ivr_seconds": max(_seconds(started_at, queue_entered_at), 0) if is_queued else None,
        "wait_seconds": (
            max(_seconds(queue_entered_at, answered_at or ended_at), 0) if is_queued else None
        ),
        "ring_seconds": _ring_seconds(record, journey, answered_at),
        "talk_seconds": (answered_seconds or 0) if is_answered else 0,
        "agent_id": agent_id,
        "agent_name": ref.agent_names.get(agent_id) or _text(record.get("agent_name")),
        "department_id": department_id,
        "department_name": ref.department_names.get(department_id)
        or _text(record.get("department_name")),
        "did_number": did_number,
        "did_alias": ref.did_aliases.get(did_number) or _text(record.get("sname")),
        "customer_number": _number(record.get("client_number"), settings.region),
        "agents_rung": len({s.agent_id for s in rung}),
        "rung_agent_ids": sorted({s.agent_id for s in rung}),
        "ring_missed_agent_ids": sorted(
            {s.agent_id for s in rung if s.dial_status == "missed"} - {agent_id}
        ),
        "transfer_missed_agents": transfer_missed_agents,
        "is_transferred": journey.has_transfer
        or len({s.agent_id for s in answered_rings}) > 1
        or transfer_missed_agents > 0,
        "has_recording": isinstance(url, str) and bool(url.strip()),
        "is_incoming_from_broadcast": bool(record.get("is_incoming_from_broadcast")),
    }
    row["handle_seconds"] = _handle_seconds(row, row["call_duration_seconds"])
    return row


# ------------------------------------------------------------------------------ marts


def _history(calls: Sequence[Row], settings: Settings) -> dict[str, Row]:
    """call_record_id -> previous/next inbound call of the number, repeat and FCR flags."""
    window = timedelta(hours=settings.repeat_call_window_hours)
    latest: dict[str, datetime] = {}
    for call in calls:
        account = call["account_id"]
        latest[account] = max(latest.get(account, call["started_at"]), call["started_at"])
    by_number: dict[Key, list[Row]] = defaultdict(list)
    for call in calls:
        if (
            call["direction"] == "inbound"
            and call["call_type"] != "broadcast"
            and call["customer_number"] is not None
        ):
            by_number[(call["account_id"], call["customer_number"])].append(call)
    history = {}
    for (account, number), group in by_number.items():
        group.sort(key=lambda c: (c["started_at"], c["call_record_id"]))
        for i, call in enumerate(group):
            start = call["started_at"]
            previous = group[i - 1]["started_at"] if i else None
            following = group[i + 1]["started_at"] if i + 1 < len(group) else None
            if not call["is_answered"]:
                resolved = None
            elif following is not None and following <= start + window:
                resolved = False
            elif following is not None or start + window <= latest[account]:
                resolved = True
            else:
                resolved = None
            history[call["call_record_id"]] = {
                "account_id": account,
                "call_record_id": call["call_record_id"],
                "customer_number": number,
                "started_at": start,
                "previous_call_at": previous,
                "next_call_at": following,
                "is_repeat_call": previous is not None and previous >= start - window,
                "is_first_contact_resolved": resolved,
                "is_answered": call["is_answered"],
            }
    return history


def _volume(calls: Sequence[Row], history: Mapping[str, Row], settings: Settings, *, hourly: bool):
    groups: dict[Key, list[Row]] = defaultdict(list)
    for call in calls:
        if call["call_type"] == "broadcast":
            continue
        key = (call["account_id"], call["local_date"])
        key += (call["local_hour"],) if hourly else ()
        key += (call["department_id"], call["did_number"])
        groups[key].append(call)
    rows = {}
    for key, group in groups.items():
        inbound = [c for c in group if c["direction"] == "inbound"]
        answered = [c for c in inbound if c["is_answered"]]
        handled = [c for c in answered if c["handle_seconds"] is not None]
        outbound = [c for c in group if c["direction"] == "outbound"]
        flags = [history.get(c["call_record_id"]) for c in group]
        flags = [f for f in flags if f is not None]
        outcomes = Counter(c["outcome"] for c in inbound)
        row = {
            "department_name": max(
                (c["department_name"] for c in group if c["department_name"]), default=None
            ),
            "did_alias": max((c["did_alias"] for c in group if c["did_alias"]), default=None),
            "calls_offered": len(inbound),
            "calls_queued": sum(c["is_queued"] for c in inbound),
            "calls_answered": len(answered),
            "calls_missed": len(inbound) - len(answered),
            "calls_missed_by_agents": outcomes["missed"],
            "calls_to_voicemail": outcomes["voicemail"],
            "calls_abandoned_in_ivr": outcomes["abandoned_in_ivr"],
            "calls_abandoned_in_queue": outcomes["abandoned_in_queue"],
            "calls_answered_within_service_level": sum(
                c["wait_seconds"] is not None
                and c["wait_seconds"] <= settings.service_level_seconds
                for c in answered
            ),
            "calls_transferred": sum(c["is_transferred"] for c in inbound),
            "repeat_calls": sum(f["is_repeat_call"] for f in flags),
            "calls_resolved_first_contact": sum(
                f["is_first_contact_resolved"] is True for f in flags
            ),
            "calls_first_contact_known": sum(
                f["is_first_contact_resolved"] is not None for f in flags
            ),
            "total_wait_seconds": sum(c["wait_seconds"] or 0 for c in answered),
            "total_talk_seconds": sum(c["talk_seconds"] for c in answered),
            "total_handle_seconds": sum(c["handle_seconds"] for c in handled),
            "calls_handled": len(handled),
            "outbound_calls": len(outbound),
            "outbound_calls_connected": sum(c["is_answered"] for c in outbound),
            "outbound_talk_seconds": sum(c["talk_seconds"] for c in outbound),
        }
        row["answer_rate"] = rate(row["calls_answered"], row["calls_offered"])
        row["abandonment_rate"] = rate(
            row["calls_abandoned_in_ivr"] + row["calls_abandoned_in_queue"], row["calls_offered"]
        )
        row["service_level"] = rate(row["calls_answered_within_service_level"], row["calls_queued"])
        row["avg_speed_of_answer_seconds"] = rate(
            row["total_wait_seconds"], row["calls_answered"], 1
        )
        row["avg_handle_seconds"] = rate(row["total_handle_seconds"], row["calls_handled"], 1)
        row["first_contact_resolution_rate"] = rate(
            row["calls_resolved_first_contact"], row["calls_first_contact_known"]
        )
        rows[key] = row
    return rows


def _agent_daily(calls: Sequence[Row]) -> dict[Key, Row]:
    rows: dict[Key, Row] = {}

    def row_for(call: Row, agent: str) -> Row:
        key = (call["account_id"], call["local_date"], agent)
        return rows.setdefault(
            key,
            {
                "calls_answered": 0,
                "calls_rang_not_answered": 0,
                "inbound_talk_seconds": 0,
                "inbound_handle_seconds": 0,
                "outbound_calls": 0,
                "outbound_calls_connected": 0,
                "outbound_talk_seconds": 0,
                "_missed_calls": set(),
                "_names": [],
            },
        )

    for call in calls:
        if call["call_type"] == "broadcast":
            continue
        if call["agent_id"] is not None:
            row = row_for(call, call["agent_id"])
            if call["agent_name"]:
                row["_names"].append(call["agent_name"])
            if call["direction"] == "inbound" and call["is_answered"]:
                row["calls_answered"] += 1
                row["inbound_talk_seconds"] += call["talk_seconds"]
                row["inbound_handle_seconds"] += call["handle_seconds"] or 0
            if call["direction"] == "outbound":
                row["outbound_calls"] += 1
                row["outbound_calls_connected"] += call["is_answered"]
                row["outbound_talk_seconds"] += call["talk_seconds"]
        if call["direction"] == "inbound":
            for agent in call["ring_missed_agent_ids"]:
                row_for(call, agent)["_missed_calls"].add(call["call_record_id"])
    return rows


def agent_daily(calls: Sequence[Row], ref: Reference) -> dict[Key, Row]:
    """The agent_daily mart."""
    out = {}
    for key, row in _agent_daily(calls).items():
        missed = len(row.pop("_missed_calls"))
        names = row.pop("_names")
        row["calls_rang_not_answered"] = missed
        row["agent_name"] = ref.agent_names.get(key[2]) or max(names, default=None)
        row["ring_answer_rate"] = rate(row["calls_answered"], row["calls_answered"] + missed)
        row["avg_handle_seconds"] = rate(row["inbound_handle_seconds"], row["calls_answered"], 1)
        row["total_talk_seconds"] = row["inbound_talk_seconds"] + row["outbound_talk_seconds"]
        out[key] = row
    return out


def missed_calls_to_call_back(calls: Sequence[Row], settings: Settings) -> dict[Key, Row]:
    """The missed_calls_to_call_back mart."""
    eligible = [c for c in calls if c["call_type"] != "broadcast"]
    by_number: dict[Key, list[Row]] = defaultdict(list)
    for call in eligible:
        if call["customer_number"] is not None:
            by_number[(call["account_id"], call["customer_number"])].append(call)
    target = timedelta(hours=settings.call_back_target_hours)
    rows = {}
    for missed in eligible:
        if missed["direction"] != "inbound" or missed["is_answered"]:
            continue
        later = sorted(
            (
                c
                for c in by_number.get((missed["account_id"], missed["customer_number"]), [])
                if c["started_at"] > missed["started_at"]
            ),
            key=lambda c: (c["started_at"], c["call_record_id"]),
        )
        contact = _first(c for c in later if c["is_answered"])
        resolved_at = contact["started_at"] if contact else None
        attempts = sum(
            1
            for c in later
            if c["direction"] == "outbound"
            and not c["is_answered"]
            and (resolved_at is None or c["started_at"] < resolved_at)
        )
        rows[(missed["account_id"], missed["call_record_id"])] = {
            "customer_number": missed["customer_number"],
            "missed_at": missed["started_at"],
            "local_date": missed["local_date"],
            "local_hour": missed["local_hour"],
            "outcome": missed["outcome"],
            "agents_rung": missed["agents_rung"],
            "department_id": missed["department_id"],
            "department_name": missed["department_name"],
            "did_number": missed["did_number"],
            "did_alias": missed["did_alias"],
            "is_resolved": contact is not None,
            "resolved_at": resolved_at,
            "resolution": None
            if contact is None
            else (
                "customer_called_again"
                if contact["direction"] == "inbound"
                else "agent_called_back"
            ),
            "resolved_by_call_record_id": contact["call_record_id"] if contact else None,
            "resolved_by_agent_id": contact["agent_id"] if contact else None,
            "resolved_by_agent_name": contact["agent_name"] if contact else None,
            "resolution_delay_seconds": _seconds(missed["started_at"], resolved_at)
            if contact
            else None,
            "is_resolved_within_target": contact is not None
            and resolved_at <= missed["started_at"] + target,
            "failed_call_back_attempts": attempts,
        }
    return rows


def call_back_list(missed: Mapping[Key, Row]) -> dict[Key, Row]:
    """The call_back_list mart."""
    pending: dict[Key, list[tuple[str, Row]]] = defaultdict(list)
    for (account, call_id), row in missed.items():
        if not row["is_resolved"] and row["customer_number"] is not None:
            pending[(account, row["customer_number"])].append((call_id, row))
    out = {}
    for key, items in pending.items():
        last_id, last = max(items, key=lambda item: (item[1]["missed_at"], item[0]))
        out[key] = {
            "missed_calls": len(items),
            "first_missed_at": min(r["missed_at"] for _, r in items),
            "last_missed_at": last["missed_at"],
            "last_missed_call_record_id": last_id,
            "last_department_name": last["department_name"],
            "last_did_number": last["did_number"],
            "failed_call_back_attempts": max(r["failed_call_back_attempts"] for _, r in items),
        }
    return out


def repeat_callers(history: Mapping[str, Row]) -> dict[Key, Row]:
    """The repeat_callers mart."""
    groups: dict[Key, list[Row]] = defaultdict(list)
    for row in history.values():
        groups[(row["account_id"], row["customer_number"])].append(row)
    out = {}
    for key, rows in groups.items():
        repeats = sum(r["is_repeat_call"] for r in rows)
        if not repeats:
            continue
        gaps = [
            _seconds(r["previous_call_at"], r["started_at"])
            for r in rows
            if r["previous_call_at"] is not None
        ]
        out[key] = {
            "inbound_calls": len(rows),
            "repeat_calls": repeats,
            "answered_calls": sum(r["is_answered"] for r in rows),
            "unanswered_calls": sum(not r["is_answered"] for r in rows),
            "first_call_at": min(r["started_at"] for r in rows),
            "last_call_at": max(r["started_at"] for r in rows),
            "shortest_gap_seconds": min(gaps, default=None),
        }
    return out


def call_flow_steps(truth: Iterable[Any], settings: Settings) -> dict[Key, Row]:
    """stg_acefone__call_flow_steps, reduced to what the marts depend on."""
    rows = {}
    for row in truth:
        for step in steps_of(row.record):
            rows[(settings.account_id, row.record["id"], step.number)] = {
                "step_kind": step.kind,
                "step_at": step.at,
                "agent_id": step.agent_id,
                "dial_status": step.dial_status,
                "department_id": step.department_id,
            }
    return rows


def expected_marts(
    truth: Sequence[Any], ref: Reference, settings: Settings | None = None
) -> dict[str, dict[Key, Row]]:
    """Every reconciled model, keyed by its grain (the model's key columns, in order)."""
    settings = settings or Settings()
    calls = [call_row(row, settings, ref) for row in truth]
    history = _history(calls, settings)
    missed = missed_calls_to_call_back(calls, settings)
    fct = {
        (c["account_id"], c["call_record_id"]): {
            k: v for k, v in c.items() if k not in ("account_id", "call_record_id")
        }
        for c in calls
    }
    return {
        "fct_calls": fct,
        "stg_acefone__call_flow_steps": call_flow_steps(truth, settings),
        "call_volume_hourly": _volume(calls, history, settings, hourly=True),
        "call_volume_daily": _volume(calls, history, settings, hourly=False),
        "agent_daily": agent_daily(calls, ref),
        "missed_calls_to_call_back": missed,
        "call_back_list": call_back_list(missed),
        "repeat_callers": repeat_callers(history),
    }


#: The key columns of each reconciled model, in the order expected_marts uses.
GRAINS: dict[str, tuple[str, ...]] = {
    "fct_calls": ("account_id", "call_record_id"),
    "stg_acefone__call_flow_steps": ("account_id", "call_record_id", "step_number"),
    "call_volume_hourly": ("account_id", "local_date", "local_hour", "department_id", "did_number"),
    "call_volume_daily": ("account_id", "local_date", "department_id", "did_number"),
    "agent_daily": ("account_id", "local_date", "agent_id"),
    "missed_calls_to_call_back": ("account_id", "call_record_id"),
    "call_back_list": ("account_id", "customer_number"),
    "repeat_callers": ("account_id", "customer_number"),
}


def local_dates(rows: Iterable[Row]) -> set[date]:
    """The local dates a set of fct rows covers."""
    return {r["local_date"] for r in rows}
