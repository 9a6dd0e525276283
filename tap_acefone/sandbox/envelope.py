"""The records envelope ``{count, limit, size, page, results}`` in every plausible shape.

Only the sample's shape is documented: four ints. A PHP backend may as well send numeric
strings (``"531"``) or floats (``531.0``), leave ``count`` or ``limit`` out, or report a
``count`` that the pages never meet. The template is built once; a page is one ``%``.
"""

from __future__ import annotations

NUMBER_FORMATS = {"int": b"%d", "string": b'"%d"', "float": b"%d.0"}


class Envelope:
    """Formats a page body; the default is byte for byte the documented sample's shape."""

    __slots__ = ("_count", "_count_offset", "_limit", "_template")

    def __init__(
        self,
        *,
        number_style: str = "int",
        omit_count: bool = False,
        omit_limit: bool = False,
        count_offset: int = 0,
    ) -> None:
        number = NUMBER_FORMATS[number_style]
        self._count = not omit_count
        self._limit = not omit_limit
        self._count_offset = count_offset
        keys = [k for k, on in (("count", self._count), ("limit", self._limit)) if on]
        keys += ["size", "page"]
        fields = b",".join(b'"%s":%s' % (k.encode(), number) for k in keys)
        self._template = b"{" + fields + b',"results":[%b]}'

    def reported_count(self, true_count: int) -> int | None:
        """The ``count`` the envelope shows (``None`` when it is left out)."""
        return max(0, true_count + self._count_offset) if self._count else None

    def body(self, *, true_count: int, limit: int, size: int, page: int, rows: bytes) -> bytes:
        """The whole response body."""
        values: tuple[int | bytes, ...] = (size, page, rows)
        if self._limit:
            values = (limit, *values)
        if self._count:
            values = (max(0, true_count + self._count_offset), *values)
        return self._template % values
