"""Ground truth: what the API serves, as rows tests can reconcile a pipeline against."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .calls import Call
from .store import CallStore, Day


@dataclass(frozen=True)
class TruthRow:
    """One CDR: the served ``record`` plus true UTC instants the record only approximates.

    ``record`` is exactly what the API serves for the call at the chosen instant (parsed from
    the very bytes the server sends). ``version`` counts the versions published so far
    (1 = first appearance; +1 when the recording URL appears; +1 when notes are added).
    """

    record: dict[str, Any]
    started_at: datetime
    ended_at: datetime
    visible_at: datetime
    version: int

    @property
    def id(self) -> str:
        """The record's primary key."""
        return self.record["id"]

    def to_json(self) -> dict[str, Any]:
        """The JSONL export shape."""
        return {
            "id": self.id,
            "record": self.record,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "visible_at": self.visible_at.isoformat(),
            "version": self.version,
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


def to_row(call: Call, data: bytes, version: int) -> TruthRow:
    """Build a :class:`TruthRow` from the served bytes."""
    return TruthRow(
        record=json.loads(data),
        started_at=_utc(call.start),
        ended_at=_utc(call.end),
        visible_at=_utc(call.visible),
        version=version,
    )


def jsonl_line(call: Call, data: bytes, version: int) -> bytes:
    """One export line, splicing the cached record bytes instead of re-encoding them."""
    return (
        b'{"id":"%s","record":%b,"started_at":"%s","ended_at":"%s","visible_at":"%s","version":%d}\n'
        % (
            call.oid.encode(),
            data,
            _iso(call.start).encode(),
            _iso(call.end).encode(),
            _iso(call.visible).encode(),
            version,
        )
    )
