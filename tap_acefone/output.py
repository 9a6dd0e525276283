"""How Singer messages reach stdout.

The SDK's msgspec writer flushes stdout after every message: one system call per record,
a large share of the tap's per-record cost. Here RECORD messages collect in a buffer of
their own and reach stdout in blocks of about `BLOCK_BYTES`. Every other message (SCHEMA,
STATE, ...) first writes out what is buffered and then flushes stdout, so a STATE message is
never delivered before the records it covers and records keep their order; a stream that
ends flushes too (`AcefoneStream.get_records`). Large blocks matter beyond the system calls:
each write releases the GIL, and winning it back from the page-fetching threads costs more
than the write itself.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, SingerMessageType
from typing_extensions import override

BLOCK_BYTES = 1 << 20


class BufferedSingerWriter(MsgSpecWriter):
    """msgspec serialisation; records written in blocks, flushed at every other message."""

    _lines: list[bytes] | None = None
    _size = 0

    @override
    def write_message(self, message: Message) -> None:
        """Buffer a RECORD; write everything out (and flush) before any other message."""
        if self._lines is None:
            self._lines = []
        line = bytes(self.format_message(message))  # the SDK reuses its encoding buffer
        self._lines.append(line)
        self._size += len(line)
        if message.type != SingerMessageType.RECORD:
            self.flush()
        elif self._size >= BLOCK_BYTES:
            self._write_pending()

    def flush(self) -> None:
        """Write out the buffered records and flush stdout (a stream's records are done)."""
        self._write_pending()
        sys.stdout.flush()

    def _write_pending(self) -> None:
        # One join copies each line once; a growing bytearray would copy the block many
        # times over as it reallocates.
        if self._lines:
            sys.stdout.buffer.write(b"".join(self._lines))
            self._lines.clear()
            self._size = 0
