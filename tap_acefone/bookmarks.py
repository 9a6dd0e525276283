"""The call_records bookmark: the UTC end of the last window read to completion.

The API returns a window's records in no reliable order, so the SDK's own per-record
bookmark for unsorted streams is only promoted when the whole run ends: an interrupted
backfill would start over. Instead, after each window is read to its end, the bookmark is
moved to that window's end and a STATE message is written, so an interruption costs at most
the window in progress. This writes the SDK's state dict (`get_context_state`, `tap_state`)
and hands it to the tap's public `state_writer`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from singer_sdk.helpers.types import Context

from tap_acefone.errors import StateError
from tap_acefone.windows import iso_utc

if TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.streams import Stream

PROGRESS_MARKERS = "progress_markers"


def read_bookmark(stream: Stream, context: Context | None) -> datetime | None:
    """The stored bookmark as a UTC instant, or None on a first run."""
    value = stream.get_context_state(context).get("replication_key_value")
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise StateError(
            f"The state's bookmark for {stream.name} ({str(value)[:40]!r}) is not an ISO 8601 "
            "timestamp. Fix the state, or clear it to start again from start_date."
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def begin(stream: Stream) -> None:
    """Mark progress as tracked per window, so the SDK does not warn it is not resumable."""
    state = stream.get_context_state(None)
    state.setdefault(PROGRESS_MARKERS, {"Note": "The bookmark advances after each window."})


def checkpoint(stream: Stream, tap: Tap, window_end: datetime) -> None:
    """Record that every record starting before `window_end` has been emitted, and say so."""
    value = iso_utc(window_end)
    state = stream.get_context_state(None)
    markers = state.setdefault(PROGRESS_MARKERS, {})
    for entry in (state, markers):
        entry["replication_key"] = stream.replication_key
        entry["replication_key_value"] = value
    tap.state_writer.write_state(stream.tap_state)
