"""Every use of singer-sdk surface that is not its documented API, in one place.

`tests/test_sdk_internals.py` fails when the SDK changes any of it, so an SDK upgrade breaks
in CI rather than at run time:

- `FastRecordMessages` replaces `Stream._generate_record_messages` (private) to skip the
  SDK's per-record deselection walk when nothing is deselected: measured as the largest single
  cost of writing a record.
- `RecordWriter` writes RECORD messages of one stream while another stream syncs (the audit
  rows of `sync_windows`, written as each call_records window completes). It uses only public
  members, but repeats what the SDK's private `_generate_schema_messages` and
  `_generate_record_messages` do, so it lives here too.
- `replace_schema` gives one stream instance a schema of its own (the `account_id` column),
  through the SDK's private `_schema` where its class keeps the schema there.
- `ConfigValidationHooks` wraps `Tap._validate_config` (private; the SDK offers no hook
  around config validation) and writes the config before it is validated (`Tap._config`,
  private), so the tap can read numbers given as text and keep secrets out of messages.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Iterable
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import RecordMessage, SchemaMessage
from typing_extensions import override


class FastRecordMessages(Stream):
    """Record messages without the SDK's deselection walk when it cannot change anything.

    The SDK walks every property of every record (and into every object) looking for
    deselected ones, even when none is. A stream whose records already hold exactly the
    schema's properties with conforming values (TYPE_CONFORMANCE_LEVEL NONE) gains nothing
    from the walk unless a property is deselected; then, or with conformance on, the SDK's own
    path runs.
    """

    @override
    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        if self._deselects_properties or self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=datetime.now(timezone.utc),
                )

    @cached_property
    def _deselects_properties(self) -> bool:
        return not all(selected for breadcrumb, selected in self.mask.items() if breadcrumb)


def replace_schema(stream: Stream, schema: dict[str, Any]) -> None:
    """Replace this instance's schema, wherever its class keeps it.

    The SDK's own `schema` property reads `_schema`; a class-level schema (a `StreamSchema`
    descriptor or a plain dict) is shadowed by an instance attribute of the same name.
    """
    if isinstance(inspect.getattr_static(type(stream), "schema"), property):
        stream._schema = schema
    else:
        vars(stream)["schema"] = schema


class ConfigValidationHooks(Tap):
    """Hooks around the SDK's config validation, which offers none of its own."""

    def prepare_config(self, config: dict[str, Any]) -> None:
        """Rewrite the raw config in place before it is validated."""

    def review_config_errors(self, errors: list[str]) -> list[str]:
        """The SDK's validation messages as the user should see them."""
        return errors

    def extra_config_errors(self) -> list[str]:
        """Problems the JSON schema cannot express, one message each."""
        return []

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        self.prepare_config(self._config)
        try:
            errors = super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            reviewed = self.review_config_errors(exc.errors)
            raise ConfigValidationError(str(exc), errors=reviewed, schema=exc.schema) from None
        errors = self.review_config_errors(errors)
        extra = self.extra_config_errors()
        if extra and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=extra)
        return errors + extra


class RecordWriter:
    """Writes one stream's messages on behalf of another stream's sync."""

    def __init__(self, stream: Stream, tap: Tap) -> None:
        self._stream = stream
        self._tap = tap
        self._schema_written = False

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """SCHEMA first (once), then the rows, through the stream's maps and selection."""
        stream = self._stream
        if not stream.selected:
            return
        if not self._schema_written:
            self._schema_written = True
            for stream_map in stream.stream_maps:
                if not isinstance(stream_map, RemoveRecordTransform):
                    self._tap.write_message(
                        SchemaMessage(
                            stream_map.stream_alias,
                            stream_map.transformed_schema,
                            stream_map.transformed_key_properties,
                            None,
                        )
                    )
        deselected = {
            breadcrumb[-1]
            for breadcrumb, selected in stream.mask.items()
            if len(breadcrumb) == 2 and not selected
        }
        for row in rows:
            record = {key: value for key, value in row.items() if key not in deselected}
            for stream_map in stream.stream_maps:
                mapped = stream_map.transform(record)
                if mapped is not None:
                    self._tap.write_message(
                        RecordMessage(
                            stream=stream_map.stream_alias,
                            record=mapped,
                            time_extracted=datetime.now(timezone.utc),
                        )
                    )
