"""What one answer of the API holds: its rows and its envelope, read leniently.

The vendor page types `count`, `limit`, `size` and `page` as integers, but nothing guarantees
it: PHP backends send numbers as text (`"531"`), as floats (`531.0`) or leave a key out. Every
number of an envelope is read by `read_number`, the one reader, so a `count` sent as text
cannot silently switch the completeness check off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def read_number(value: object) -> int | None:
    """A non-negative whole number from an int, an integral float or numeric text; else None.

    Booleans, fractions, negatives, NaN and anything else are not envelope numbers: None
    means "the API did not say", and callers then rely on the rows themselves.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return read_number(int(text))
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return read_number(int(value))
    return None


def read_flag(value: object) -> bool:
    """A yes/no flag sent as a boolean, a number or text ("true", "1", "false", "0")."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if isinstance(value, bool | int | float) else False


@dataclass(frozen=True)
class Page:
    """One decoded API answer.

    `rows` are the records (objects only); `meta` is the rest of the envelope (empty for an
    endpoint that answers with a bare list); `clean` says the body held no text that needs
    repair before it can be written (see `records.may_hold_unstorable_text`).
    """

    rows: list[dict[str, Any]]
    meta: Mapping[str, Any] = field(default_factory=dict)
    clean: bool = False

    @classmethod
    def from_body(cls, body: Any, records_key: str | None, *, clean: bool) -> Page:
        """The page of a body already checked to hold a list of records under `records_key`."""
        if records_key is None:
            return cls([row for row in body if isinstance(row, dict)], {}, clean)
        rows = [row for row in body[records_key] if isinstance(row, dict)]
        meta = {key: value for key, value in body.items() if key != records_key}
        return cls(rows, meta, clean)

    @property
    def size(self) -> int:
        """Rows on this page, counted: the envelope's own `size` is not trusted."""
        return len(self.rows)

    @property
    def count(self) -> int | None:
        """The total the API says matches the query, if it says."""
        return read_number(self.meta.get("count"))

    @property
    def limit(self) -> int | None:
        """The page size the API says it used, if it echoes one."""
        return read_number(self.meta.get("limit"))

    @property
    def ids(self) -> frozenset[str]:
        """The ids on this page, as text (old accounts sent integers); rows without one skipped."""
        return frozenset(str(row["id"]) for row in self.rows if row.get("id") not in (None, ""))
