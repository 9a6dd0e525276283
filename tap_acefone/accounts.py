"""The account identity: one `account_id` column and key part in every stream.

Reference ids (users.id, departments.id, ...) are small integers that collide across
accounts, and nothing in a CDR says which account served it. With the `account_id` setting
(a label the user chooses, such as `acme`), every stream gains an `account_id` column
holding that label, placed first in its schema and first in its primary key, so any number
of accounts load into the same tables and upsert without colliding. Unset, nothing changes:
same schemas, same keys, same records.

The pure functions below do the work; `bind` applies them to one stream instance, and is
the only thing the streams call (from `AcefoneStream.__init__`), so every stream the tap
discovers is covered, whatever its schema source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tap_acefone.errors import SettingsError
from tap_acefone.sdk_internals import replace_schema

if TYPE_CHECKING:
    from singer_sdk import Stream, Tap

SETTING = "account_id"
COLUMN = "account_id"
EXTRA_FIELDS = "extra_fields"
MAX_LENGTH = 40
ALLOWED = (
    f"1 to {MAX_LENGTH} lowercase letters, digits, '_' or '-', starting with a letter or digit"
)
# Lowercase only, so that `acme` and `Acme` can never become two accounts in one table; the
# same label is safe in SQL literals, file names, Meltano plugin names and Dagster tags.
_LABEL = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_LENGTH - 1}}}")
DESCRIPTION = (
    f"Optional label of this account ({ALLOWED}; e.g. acme). When set, every stream gets an "
    "account_id column holding it, first in the primary key, so several accounts load into "
    "the same tables without colliding. Unset, no column is added."
)
_COLUMN_SCHEMA: dict[str, Any] = {
    "type": ["string"],
    "description": "The account this row came from: the tap's account_id setting.",
}


def account_label(config: Mapping[str, Any]) -> str | None:
    """The configured account label, or None when the tap runs for one unnamed account."""
    value = config.get(SETTING)
    return None if value is None else str(value)


def check_account_id(config: Mapping[str, Any]) -> list[str]:
    """One message when `account_id` is set but not a label the tables can be keyed on."""
    value = config.get(SETTING)
    if not isinstance(value, str):  # unset, or a type the JSON schema check already named
        return []
    if not value.strip():
        return [f"account_id is empty: unset it, or use {ALLOWED} (e.g. acme)."]
    if _LABEL.fullmatch(value) is None:
        return [f"account_id {value[:60]!r} is not allowed: use {ALLOWED} (e.g. acme)."]
    return []


def schema_with_account(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` with the account column first (the source schema is shared).

    A raw API field of the same name (call records may carry the vendor's `account_id`)
    gives way to the label; `stamp_record` keeps its value in `extra_fields`.
    """
    properties = {name: prop for name, prop in schema["properties"].items() if name != COLUMN}
    return {**schema, "properties": {COLUMN: dict(_COLUMN_SCHEMA), **properties}}


def key_with_account(keys: Sequence[str]) -> tuple[str, ...]:
    """The account column first, then the stream's own key.

    A stream without a key stays without one: a key of `account_id` alone would make an
    upserting target keep one row per account.
    """
    if not keys:
        return ()
    return (COLUMN, *(key for key in keys if key != COLUMN))


def stamp_record(record: dict[str, Any] | None, label: str) -> dict[str, Any] | None:
    """`record` with the account label; a different raw value moves to `extra_fields`."""
    if record is None:
        return None
    raw = record.get(COLUMN)
    if raw is not None and raw != label and EXTRA_FIELDS in record:
        record[EXTRA_FIELDS] = {**(record[EXTRA_FIELDS] or {}), COLUMN: raw}
    record[COLUMN] = label
    return record


def check_catalog_keys(stream_name: str, catalog_keys: Sequence[str], label: str | None) -> None:
    """Refuse an input catalog whose keys disagree with the setting.

    Meltano discovers the catalog again when the config changes, so this only trips on a
    catalog file made before `account_id` was set (or unset): loading with it would key the
    rows without their account (or on a column no row carries).
    """
    has_key = COLUMN in catalog_keys
    if label is not None and not has_key:
        raise SettingsError(
            f"account_id is set but the catalog's key of stream {stream_name} has no "
            f"account_id ({list(catalog_keys)}): discover the catalog again (tap-acefone "
            "--discover), or remove the catalog file so Meltano discovers it."
        )
    if label is None and has_key:
        raise SettingsError(
            f"The catalog keys stream {stream_name} on account_id but the account_id setting "
            "is unset: set account_id, or discover the catalog again."
        )


def bind(stream: Stream, tap: Tap) -> None:
    """Give `stream` the account column, key and record stamp when `account_id` is set.

    Runs right after the SDK built the stream, before any subclass reads its schema. The
    record stamp wraps the stream's own `post_process`, whatever a subclass made of it, so
    the label is on the final record that stream maps, selection and targets see.
    """
    label = account_label(stream.config)
    catalog = tap.input_catalog
    entry = catalog.get_stream(stream.name) if catalog is not None else None
    if entry is not None and entry.key_properties is not None:
        check_catalog_keys(stream.name, entry.key_properties, label)
    if label is None:
        return
    replace_schema(stream, schema_with_account(stream.schema))
    stream.primary_keys = key_with_account(stream.primary_keys)
    stream.post_process = _stamping(stream.post_process, label)  # type: ignore[method-assign]


def _stamping(
    post_process: Callable[..., dict[str, Any] | None], label: str
) -> Callable[..., dict[str, Any] | None]:
    def stamped(row: dict[str, Any], context: Any = None) -> dict[str, Any] | None:
        return stamp_record(post_process(row, context), label)

    return stamped
