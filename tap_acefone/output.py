"""How Singer messages reach stdout.

The SDK's msgspec writer flushes stdout after every message: one system call per record,
a large share of the tap's per-record cost. Records are written through the buffer instead,
and the stream is flushed at every other message (SCHEMA, STATE, ...), so a STATE message
is never delivered before the records it covers.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, SingerMessageType


class BufferedSingerWriter(MsgSpecWriter):
    """msgspec serialisation; flush only when a non-RECORD message is written."""

    def write_message(self, message: Message) -> None:
        """Write one message, flushing unless it is a RECORD."""
        sys.stdout.buffer.write(self.format_message(message))
        if message.type != SingerMessageType.RECORD:
            sys.stdout.flush()
