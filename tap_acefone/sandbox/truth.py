"""Ground truth: what the API serves, as rows tests can reconcile a pipeline against."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .calls import INBOUND, Call
from .people import Team
from .store import CallStore, Day

# Values the API writes for a hangup it has no time for.
_INVALID_END_STAMPS = ("", "0000-00-00 00:00:00")


@dataclass(frozen=True)
class TruthRow:
    """One CDR: the served ``record`` plus true UTC instants the record only approximates.

    ``record`` is exactly what the API serves for the call at the chosen instant (parsed from
    the very bytes the server sends). ``version`` counts the versions published so far
    (1 = first appearance; +1 when the recording URL appears; +1 when notes are added).
    ``facts`` says what the call really was in the terms a connector derives from a CDR (see
    :func:`facts_of`), so a pipeline's derived columns can be checked, not only its raw ones.
    """

    record: dict[str, Any]
    started_at: datetime
    ended_at: datetime
    visible_at: datetime
    version: int
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The record's primary key."""
        record_id: str = self.record["id"]  # the call's oid (sandbox.records.build_record)
        return record_id

    def to_json(self) -> dict[str, Any]:
        """The JSONL export shape."""
        return {
            "id": self.id,
            "record": self.record,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "visible_at": self.visible_at.isoformat(),
            "version": self.version,
            "facts": self.facts,
        }


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _iso(ts: int) -> str:
    return _utc(ts).isoformat()


def iter_visible(store: CallStore, at_ts: float) -> Iterator[tuple[Day, Call, bytes, int]]:
    """(day, call, record bytes, version) for every call visible at ``at_ts``, UTC start order."""
    for day, call in store.iter_calls():
        if call.visible <= at_ts:
            yield day, call, store.encoded(day, call, at_ts), call.version_at(at_ts)


def iter_final(store: CallStore) -> Iterator[tuple[Day, Call, bytes, int]]:
    """Every generated call in its final version, visible yet or not."""
    for day, call in store.iter_calls():
        yield day, call, store.encoded_final(day, call), call.version_at(float("inf"))


def to_row(call: Call, data: bytes, version: int, team: Team) -> TruthRow:
    """Build a :class:`TruthRow` from the served bytes."""
    record = json.loads(data)
    return TruthRow(
        record=record,
        started_at=_utc(call.start),
        ended_at=_utc(call.end),
        visible_at=_utc(call.visible),
        version=version,
        facts=facts_of(call, team, record),
    )


def facts_of(call: Call, team: Team, record: dict[str, Any]) -> dict[str, Any]:
    """What the call was, in the terms of the fields a connector derives from its CDR.

    - ``ended_at``: the true hangup instant (ISO, UTC), or None when the record shows no
      valid ``end_stamp`` (the real API sends ``0000-00-00 00:00:00`` or "");
    - ``client_e164`` / ``did_e164``: the customer's and the DID's numbers in E.164 (the
      record may show them without ``+``);
    - ``agent_e164``: the agent's phone in E.164, None for a softphone seat (``Extension-``);
    - ``answered_agent_id``: the agent who answered an inbound call; ``department_id``: the
      department (queue) an inbound call reached;
    - ``ring_seconds``: the answering agent's ring time when the record shows one;
    - ``has_recording``: whether the record carries a recording URL.
    """
    agent = team.agents[call.agent] if call.agent >= 0 else None
    inbound = call.kind == INBOUND
    shows_end = record.get("end_stamp") not in _INVALID_END_STAMPS
    shows_ring = str(record.get("agent_ring_time")).isdigit()
    return {
        "ended_at": _iso(call.end) if shows_end else None,
        "client_e164": team.customers[call.client],
        "did_e164": team.dids[call.did].did,
        "agent_e164": agent.phone if agent is not None and agent.extension is None else None,
        "answered_agent_id": agent.agent_id if agent is not None and inbound else None,
        "department_id": team.departments[call.dept].dept_id
        if inbound and call.dept >= 0
        else None,
        "ring_seconds": call.ring if shows_ring else None,
        "has_recording": bool(record.get("recording_url")),
    }


def jsonl_line(call: Call, data: bytes, version: int, team: Team) -> bytes:
    """One export line, splicing the cached record bytes instead of re-encoding them."""
    facts = json.dumps(facts_of(call, team, json.loads(data)), separators=(",", ":"))
    return (
        b'{"id":"%s","record":%b,"started_at":"%s","ended_at":"%s","visible_at":"%s",'
        b'"version":%d,"facts":%b}\n'
        % (
            call.oid.encode(),
            data,
            _iso(call.start).encode(),
            _iso(call.end).encode(),
            _iso(call.visible).encode(),
            version,
            facts.encode(),
        )
    )
