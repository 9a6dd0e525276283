"""Turn a call skeleton into the exact CDR dict the API serves, version by version.

The record carries every key of the vendor's sample record plus the extra fields seen in
the wild (notes §3.5), with the type variance real clients must survive: ``call_id`` in
three formats, heterogeneous ``call_flow`` entries (``time`` as string, int, float or
missing; ``id``/``app_id`` as string or int; untyped entries), ``"N.A."`` ring times,
object/string/null ``notes``/``contact_details``/``agent_hangup_data``/``dialer_call_details``,
string-or-list ``sip_agent_ids``, a single dict instead of a ``missed_agents`` list,
int-or-float ``charges`` and invalid ``end_stamp`` values.

All cosmetic choices come from ``random.Random(call.rseed)`` drawn in a fixed order, so a
record is identical whichever version is built first; the version flags only decide which
of the pre-drawn later values are shown.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .calls import (
    BROADCAST,
    CALL_HINTS,
    CLICKTOCALL,
    DIALER,
    DIRECTIONS,
    INBOUND,
    LOCAL_FORMAT,
    Call,
    utc_offset,
)
from .people import CIRCLES, OPERATORS, Agent, Did, Team

READABLE_FORMAT = "%d-%m-%Y %H:%M:%S"
HOST_PREFIXES = ("h1.02", "h2.11", "h3.08", "h4.01")
# fmt: off
HANGUP_CAUSES = (
    "NormalClearing", "Normal clearing", "destination_hangup", "destination_not_set",
    "disconnected_by_caller", "disconnected_by_callee", "hangup_as_per_destination",
)
# fmt: on
REASONS = ("disconnected_by_caller", "disconnected_by_callee")
DISPOSITIONS = ("Interested", "Not interested", "Call back later", "Wrong number", "Converted")
CUSTOM_STATUSES = ("Follow up", "Resolved", "Escalated", "Callback requested")
NOTE_TEXTS = (
    "Customer asked for a callback tomorrow",
    "Refund request raised",
    "Shared pricing over email",
    "Escalated to supervisor",
    "Address updated",
)
TAGS = (["vip"], ["complaint"], ["renewal", "priority"], ["new-lead"])
SIP_TRUNKS = ("TATA-BLR-UNLIMITED-8069182000", "TATA-MUM-UNLIMITED-2271234000")
Formatter = Callable[[float, str], str]


def call_id_of(call: Call) -> str:
    """The call's ``call_id``: epoch.seq, host-prefixed epoch.seq, or a UUID for dialer calls.

    Derived from skeleton fields only, so the ``call_id`` filter can compute it cheaply. The
    epoch is the true UTC start second, as on the real platform.
    """
    if call.kind == DIALER:
        digest = hashlib.md5(f"{call.rseed}".encode(), usedforsecurity=False).digest()
        return str(uuid.UUID(bytes=digest, version=4))
    seq = (call.rseed >> 8) % 100_000_000
    if (call.rseed & 0xFF) < 31:  # ~12%: the host-prefixed format seen in Smartflo payloads
        prefix = HOST_PREFIXES[(call.rseed >> 40) % len(HOST_PREFIXES)]
        return f"{prefix}-{call.start}.{seq}"
    return f"{call.start}.{seq}"


def _formatter(tz: ZoneInfo, start: int, end: int) -> Formatter:
    """Local-time formatting for one call: a fixed offset unless DST changes mid-call."""
    offset = utc_offset(tz, start)
    if utc_offset(tz, end) == offset:
        return lambda ts, fmt: time.strftime(fmt, time.gmtime(int(ts) + offset))
    return lambda ts, fmt: datetime.fromtimestamp(int(ts), tz).strftime(fmt)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class _Draws:
    """Every cosmetic random choice for one call, drawn in one fixed order."""

    init_offset: int
    no_plus: float
    end_stamp: float
    circle: float
    notes_initial: float
    notes_kind: float
    note_text: str
    contact: float
    hangup_data: float
    transfer: float
    sip: float
    missed_single: float
    ring_na: float
    dialer_as_string: float
    missed_recording: float
    detail: float
    whatsapp: float
    tags: float
    support: float
    from_broadcast: float
    charge_kind: float
    disposition: str
    custom_status: str
    reason: str
    hangup_cause: str
    uniq_tail: str
    lead_id: str


def _draw(rng: random.Random) -> _Draws:
    u = rng.random
    return _Draws(
        init_offset=rng.randint(0, 5),
        no_plus=u(),
        end_stamp=u(),
        circle=u(),
        notes_initial=u(),
        notes_kind=u(),
        note_text=rng.choice(NOTE_TEXTS),
        contact=u(),
        hangup_data=u(),
        transfer=u(),
        sip=u(),
        missed_single=u(),
        ring_na=u(),
        dialer_as_string=u(),
        missed_recording=u(),
        detail=u(),
        whatsapp=u(),
        tags=u(),
        support=u(),
        from_broadcast=u(),
        charge_kind=u(),
        disposition=rng.choice(DISPOSITIONS),
        custom_status=rng.choice(CUSTOM_STATUSES),
        reason=rng.choice(REASONS),
        hangup_cause=rng.choice(HANGUP_CAUSES),
        uniq_tail=f"{rng.getrandbits(20):05x}",
        lead_id=str(rng.randint(1_000_000, 9_999_999)),
    )


@dataclass(frozen=True)
class _Ctx:
    """What every field builder needs about one call."""

    call: Call
    team: Team
    draws: _Draws
    agent: Agent | None
    did: Did
    client: str
    cid: str
    init_t: int
    fmt: Formatter
    campaign: tuple[int, str]


def _context(call: Call, team: Team, tz: ZoneInfo, draws: _Draws) -> _Ctx:
    client = team.customers[call.client]
    if call.kind == DIALER and draws.no_plus < 0.5:
        client = client.lstrip("+")  # dialer legs often lack the "+"
    return _Ctx(
        call=call,
        team=team,
        draws=draws,
        agent=team.agents[call.agent] if call.agent >= 0 else None,
        did=team.dids[call.did],
        client=client,
        cid=call_id_of(call),
        init_t=call.start + draws.init_offset,
        fmt=_formatter(tz, call.start, call.end + 60),
        campaign=team.campaigns[call.rseed % len(team.campaigns)],
    )


def build_record(
    call: Call, team: Team, tz: ZoneInfo, *, recorded: bool, annotated: bool
) -> dict[str, Any]:
    """The CDR for ``call`` with the recording / annotation changes applied or not."""
    rng = random.Random(call.rseed)
    d = _draw(rng)
    c = _context(call, team, tz, d)
    agent = c.agent
    minutes = -(-call.duration // 60)
    local_date, local_time = call.local.split(" ")
    return {
        "id": call.oid,
        "call_id": c.cid,
        "uuid": f"{c.init_t:08x}{d.uniq_tail}",
        "direction": DIRECTIONS[call.kind],
        "description": _description(call),
        "detailed_description": _detailed(call, agent) if d.detail < 0.15 else None,
        "status": "answered" if call.answered else "missed",
        "blocked_number_id": None,
        "recording_url": _recording_url(c, recorded=recorded),
        "service": call.service,
        "date": local_date,
        "time": local_time,
        "end_stamp": _end_stamp(c),
        "broadcast_id": team.broadcast_ids[call.broadcast] if call.broadcast >= 0 else None,
        "dtmf_input": _dtmf(call, team),
        "call_duration": call.duration,
        "answered_seconds": call.answered_seconds,
        "minutes_consumed": minutes,
        "charges": _charges(c, minutes),
        "department_name": team.departments[call.dept].name if call.dept >= 0 else None,
        "agent_number": agent.number if agent else None,
        "agent_number_with_prefix": agent.number if agent else None,
        "agent_name": agent.name if agent else None,
        "client_number": c.client,
        "did_number": c.did.did,
        "reason": d.reason,
        "hangup_cause": d.hangup_cause,
        "notes": _notes(c, annotated=annotated),
        "contact_details": _contact(c),
        "missed_agents": _missed_agents(c),
        "call_flow": _call_flow(rng, c),
        "accountid": team.account_name,
        "agent_ring_time": _ring_time(c),
        "circle": _circle(c),
        "agent_hangup_data": _hangup_data(c),
        "transfer_missed_agent": _transfer(c),
        "call_hint": CALL_HINTS[call.kind],
        "support_api_call": call.kind == CLICKTOCALL and d.support < 0.3,
        "lead_id": d.lead_id if call.kind == DIALER else None,
        "is_incoming_from_broadcast": call.kind == INBOUND and d.from_broadcast < 0.02,
        "caller_id_num": c.client if call.kind == INBOUND else c.did.did,
        "sip_agent_ids": _sip_ids(c),
        "dialer_call_details": _dialer_details(c, annotated=annotated),
        "custom_status": d.custom_status if annotated else None,
        "voicemail_recording": call.voicemail,
        "aws_call_recording_identifier": _md5(f"{call.oid}:aws"),
        "sid": str(c.did.number_id),
        "sname": c.did.alias,
        "is_whatsapp": d.whatsapp < 0.02,
        "lead_data": _lead_data(c),
        "call_tags": TAGS[int(d.tags * 100) % len(TAGS)] if d.tags < 0.15 else [],
    }


# -- field builders ---------------------------------------------------------------------
def _recording_url(c: _Ctx, *, recorded: bool) -> str | None:
    """Answered calls get it in a later version; missed inbound calls often have the greeting."""
    token = _md5(f"{c.call.rseed}:rec")
    url = f"https://customer.servetel.in/file/recording?callId={c.cid}&type=rec&token={token}"
    u = c.draws.missed_recording
    if c.call.answered:
        return url if recorded else None
    if c.call.kind == INBOUND and u < 0.75:
        return url
    return "" if u > 0.95 else None


def _end_stamp(c: _Ctx) -> str:
    """Local hangup time, occasionally the invalid values the real API sends."""
    u = c.draws.end_stamp
    if u < 0.02:
        return "0000-00-00 00:00:00"
    if u < 0.035:
        return ""
    return c.fmt(c.call.end, LOCAL_FORMAT)


def _charges(c: _Ctx, minutes: int) -> int | float:
    """0 for inbound/missed; whole rupees or a float tariff for answered outbound calls."""
    if c.call.kind == INBOUND or not c.call.answered:
        return 0
    return minutes if c.draws.charge_kind < 0.5 else round(minutes * 0.6, 2)


def _notes(c: _Ctx, *, annotated: bool) -> Any:
    """Object, string or null; annotation (a later version) always sets one."""
    d, agent = c.draws, c.agent
    note_obj = {
        "message": d.note_text,
        "created_by": agent.user_id if agent else None,
        "name": agent.name if agent else None,
    }
    if annotated:
        return note_obj if d.notes_kind < 0.6 else d.note_text
    if d.notes_initial < 0.05:
        return note_obj
    return d.note_text if d.notes_initial < 0.10 else None


def _contact(c: _Ctx) -> Any:
    u = c.draws.contact
    if u < 0.55:
        return None
    name = f"Customer {c.call.client:05d}"
    return {"name": name, "number": c.client} if u < 0.90 else name


def _missed_agents(c: _Ctx) -> Any:
    """A list of ``{number, name}``, or (sometimes, for one agent) the bare dict."""
    agents = c.team.agents
    missed = [{"number": agents[i].number, "name": agents[i].name} for i in c.call.missed]
    return missed[0] if len(missed) == 1 and c.draws.missed_single < 0.25 else missed


def _ring_time(c: _Ctx) -> str:
    if c.agent is not None and c.call.answered and c.draws.ring_na >= 0.07:
        return str(c.call.ring)
    return "N.A."


def _circle(c: _Ctx) -> dict[str, str] | None:
    if c.draws.circle < 0.10:
        return None
    client = c.call.client
    return {
        "operator": OPERATORS[client % len(OPERATORS)],
        "circle": CIRCLES[client * 7 % len(CIRCLES)],
    }


def _hangup_data(c: _Ctx) -> Any:
    u = c.draws.hangup_data
    if c.agent is None or u < 0.80:
        return None
    if u < 0.92:
        return {"disposition": c.draws.disposition, "remarks": "", "hangup_by": "agent"}
    return json.dumps({"disposition": c.draws.disposition})


def _transfer(c: _Ctx) -> list[dict[str, str]]:
    call = c.call
    if not (call.kind == INBOUND and call.answered and c.draws.transfer < 0.05):
        return []
    other = c.team.agents[(call.agent + 1) % len(c.team.agents)]
    return [{"number": other.number, "name": other.name}]


def _sip_ids(c: _Ctx) -> Any:
    if c.agent is None or c.agent.extension is None:
        return None
    return c.agent.extension if c.draws.sip < 0.5 else [c.agent.extension]


def _dialer_details(c: _Ctx, *, annotated: bool) -> Any:
    """Dialer calls: an object (disposition added later) or the same as a JSON string."""
    if c.call.kind != DIALER:
        return None
    details = {
        "campaign_id": c.campaign[0],
        "campaign_name": c.campaign[1],
        "lead_id": c.draws.lead_id,
        "attempt": 1 + c.call.rseed % 3,
        "disposition_name": c.draws.disposition if annotated else None,
    }
    return json.dumps(details) if c.draws.dialer_as_string < 0.2 else details


def _lead_data(c: _Ctx) -> list[dict[str, str]]:
    if c.call.kind != DIALER:
        return []
    return [{"name": "field_0", "value": c.client}, {"name": "field_1", "value": c.campaign[1]}]


def _description(call: Call) -> str:
    if call.kind == INBOUND:
        if call.answered:
            return "Call answered by agent"
        if call.voicemail:
            return "Voicemail left by caller"
        return "Call disconnected in IVR" if call.dept < 0 else "Call missed by agent"
    if call.kind == BROADCAST:
        return "Broadcast call answered" if call.answered else "Broadcast call not answered"
    return "Call answered by customer" if call.answered else "Call not answered by customer"


def _detailed(call: Call, agent: Agent | None) -> str:
    tries = len(call.missed) + (1 if call.answered else 0)
    who = agent.name if agent else "no agent"
    return f"{tries} agent attempt(s); handled by {who}"


def _dtmf(call: Call, team: Team) -> str | None:
    if call.ivr < 0 or call.dept < 0:
        return None
    for option, dept in team.ivrs[call.ivr].options:
        if dept == call.dept:
            return option
    return None


# -- call_flow ------------------------------------------------------------------------------
class _FlowWriter:
    """Builds ``call_flow`` entries with the record's time-type style."""

    def __init__(self, rng: random.Random, fmt: Formatter, floor: int) -> None:
        self.fmt = fmt
        self.floor = floor  # no entry is stamped before the init entry
        self.rng = rng
        self.entries: list[dict[str, Any]] = []
        # One style per record: 80% int times, 12% some floats, 8% some missing times.
        style = rng.random()
        self.float_rate = 0.5 if 0.80 <= style < 0.92 else 0.0
        self.missing_rate = 0.5 if style >= 0.92 else 0.0
        self.id_as_int = rng.random() < 0.5

    def add(
        self, entry: dict[str, Any], t: float, *, readable: bool = True, fixed: bool = False
    ) -> None:
        """Append ``entry`` stamped at ``t`` (``fixed`` entries always get an int time)."""
        u = self.rng.random()
        frac = self.rng.random()
        t = max(t, self.floor)
        if not fixed and u < self.missing_rate:
            self.entries.append(entry)
            return
        entry["time"] = round(t + frac, 3) if not fixed and u < self.float_rate else int(t)
        if readable:
            entry["readableTime"] = self.fmt(t, READABLE_FORMAT)
        self.entries.append(entry)

    def some_id(self, value: int) -> int | str:
        """``id``/``app_id`` values switch between int and string from record to record."""
        return value if self.id_as_int else str(value)


def _agent_entry(agent: Agent, dialst: str) -> dict[str, Any]:
    return {
        "type": "Agent",
        "id": agent.agent_id,
        "name": agent.email,
        "dialst": dialst,
        "num": agent.number,
    }


def _customer_entry(c: _Ctx) -> dict[str, Any]:
    return {
        "type": "Customer",
        "number": c.client,
        "dialst": "Answered" if c.call.answered else "Missed",
    }


def _call_flow(rng: random.Random, c: _Ctx) -> list[dict[str, Any]]:
    """A plausible, heterogeneous journey consistent with the skeleton's timings."""
    w = _FlowWriter(rng, c.fmt, c.init_t)
    streaming = rng.random() < 0.2
    agent_hangup = rng.random() < 0.15
    lower_hangup = rng.random() < 0.7
    call = c.call
    init = {"type": "init", "value": c.cid, "time": str(c.init_t)}
    init["readableTime"] = c.fmt(c.init_t, READABLE_FORMAT)
    w.entries.append(init)
    if call.kind == INBOUND:
        _inbound_flow(w, c)
    elif call.kind == BROADCAST:
        w.add({"type": "Broadcast", "id": c.team.broadcast_ids[call.broadcast]}, call.start + 1)
        w.add(_customer_entry(c), call.start + 1)
    else:
        _outbound_flow(w, c)
    end = call.end
    if call.answered:
        answered_at = end - call.talk
        if streaming:
            stream = {"type": "voice-streaming", "app_id": w.some_id(5000 + call.did)}
            w.add(stream, answered_at, readable=False)
        w.entries.append({"anstime": answered_at, "time": end})
        if agent_hangup and c.agent is not None:
            w.add({"type": "Agent-Hangup", "id": c.agent.agent_id}, end, readable=False)
    w.add({"type": "hangup" if lower_hangup else "Hangup"}, end, fixed=True)
    return w.entries


def _inbound_flow(w: _FlowWriter, c: _Ctx) -> None:
    call, team = c.call, c.team
    start = call.start
    if call.ivr >= 0:
        ivr = team.ivrs[call.ivr]
        w.add({"type": "IVR", "id": w.some_id(ivr.ivr_id), "name": ivr.name}, start + 1)
        if call.dept >= 0:
            w.add({"type": "DTMF", "value": _dtmf(call, team)}, start + call.pre - 1)
    t = start + call.pre
    if call.dept >= 0:
        dept = team.departments[call.dept]
        w.add({"type": "Department", "id": dept.dept_id, "name": dept.name}, t)
    each = call.ring_missed // len(call.missed) if call.missed else 0
    for i in call.missed:
        w.add(_agent_entry(team.agents[i], "Missed"), t)
        t += each
    if c.agent is not None:
        w.add(_agent_entry(c.agent, "Answered"), t)
    if call.voicemail:
        w.add({"type": "Voicemail", "duration": call.talk}, call.end - call.talk)


def _outbound_flow(w: _FlowWriter, c: _Ctx) -> None:
    call = c.call
    t = call.start + 1
    if call.kind == DIALER:
        w.add({"type": "Dialer", "campaign_id": w.some_id(c.campaign[0])}, t)
    if c.agent is not None:
        w.add(_agent_entry(c.agent, "Dialed"), t)
    if call.kind == CLICKTOCALL:
        trunk = f"{SIP_TRUNKS[call.did % 2]}_{c.cid[-6:]}"
        w.add({"type": "ClickToCall", "name": f"SIP/+{c.client.lstrip('+')}@{trunk}"}, t)
    w.add(_customer_entry(c), call.start + call.pre)
