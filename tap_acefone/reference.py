"""Reference streams: the people, teams, menus and numbers behind the calls.

Small full-table reads. A token may lack Access Control permission for any of them: with the
default selection (every stream) such a stream is skipped with a warning naming it; once the
user has chosen streams (a catalog that deselects some), a chosen stream that is refused
fails the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from singer_sdk import StreamSchema
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_acefone.client import AcefoneStream
from tap_acefone.errors import FatalResponseError
from tap_acefone.pages import Page, read_flag, read_number
from tap_acefone.phones import e164_or_none
from tap_acefone.records import RecordShaper
from tap_acefone.streams import SCHEMAS_DIR

if TYPE_CHECKING:
    from tap_acefone.tap import TapAcefone


class PermissionDeniedError(FatalResponseError):
    """HTTP 403 on a reference endpoint."""


class ReferenceStream(AcefoneStream):
    """A full-table stream of one reference endpoint."""

    primary_keys: ClassVar[tuple[str, ...]] = ("id",)
    replication_key = None
    schema: ClassVar[StreamSchema] = StreamSchema(SCHEMAS_DIR)

    def __init__(self, tap: TapAcefone) -> None:
        super().__init__(tap)
        self._shaper = RecordShaper(self.schema)

    @override
    def read_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Read the endpoint; a refused, merely default-selected stream is skipped."""
        try:
            yield from super().read_records(context)
        except PermissionDeniedError:
            if self.chosen_explicitly():
                raise
            self.logger.warning(
                "Skipping stream %s: the API token may not read %s (HTTP 403). Grant the token "
                "this permission under API Connect, or deselect the stream.",
                self.name,
                self.path,
            )

    @override
    def validate_response(self, response: requests.Response) -> None:
        """As every stream, but a 403 is this stream's own permission problem."""
        if response.status_code == 403:
            raise PermissionDeniedError(
                f"Stream {self.name}: GET {self.path} was refused with HTTP 403: the API token "
                "lacks Access Control permission for it. Grant it under API Connect, or "
                "deselect the stream."
            )
        super().validate_response(response)

    def chosen_explicitly(self) -> bool:
        """Selected in a catalog that deselects some other stream (a deliberate choice)."""
        catalog = self.tap.input_catalog
        if catalog is None:
            return False
        selected = {entry.tap_stream_id: entry.metadata.root.selected for entry in catalog.streams}
        return selected.get(self.name) is True and False in selected.values()

    @override
    def shape(self, row: dict[str, Any], page: Page) -> dict[str, Any]:
        """Coerce every field to its declared type."""
        return self._shaper.shape(row, clean=page.clean)


class UsersStream(ReferenceStream):
    """Users and their agents (joins call_records.answered_agent_id on agent_id)."""

    name = "users"
    path = "/v1/users"
    records_key: ClassVar[str | None] = "data"

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """Page size and the cursor."""
        # A team fits in few pages: 100 (the documented maximum of sibling endpoints) risks no
        # refusal of a larger page size.
        params: dict[str, Any] = {"limit": min(int(self.config["page_size"]), 100)}
        if next_page_token is not None:
            params["last_seen_id"] = next_page_token
        return params

    @override
    def next_page_token(self, page: Page, previous: Any) -> Any:
        """`/v1/users` pages by cursor: `last_seen_id` while the API says `has_more`.

        Both are read leniently (a flag as bool, 0/1 or text; the cursor as a number or
        numeric text, else the id of the page's last row). A cursor that does not move ends
        the paging rather than asking for the same page forever.
        """
        if not read_flag(page.meta.get("has_more")) or not page.rows:
            return None
        cursor = _cursor(page.meta.get("last_seen_id"))
        if cursor is None:
            cursor = _cursor(page.rows[-1].get("id"))
        return None if cursor is None or cursor == previous else cursor

    @override
    def shape(self, row: dict[str, Any], page: Page) -> dict[str, Any]:
        """Add `agent_id`, the key call_flow uses for the user's agent."""
        record = super().shape(row, page)
        agent = record.get("agent")
        agent_id = agent.get("id") if isinstance(agent, dict) else None
        record["agent_id"] = None if agent_id is None else str(agent_id)
        return record


class DepartmentsStream(ReferenceStream):
    """Departments (joins call_records.department_id on id)."""

    name = "departments"
    path = "/v1/departments"
    records_key: ClassVar[str | None] = None


class IvrsStream(ReferenceStream):
    """IVR menus."""

    name = "ivrs"
    path = "/v1/ivrs"
    records_key: ClassVar[str | None] = "ivrs"


class MyNumbersStream(ReferenceStream):
    """The account's DID numbers (joins call_records.did_number_e164 on did_e164)."""

    name = "my_numbers"
    path = "/v1/my_number"
    records_key: ClassVar[str | None] = None

    @override
    def shape(self, row: dict[str, Any], page: Page) -> dict[str, Any]:
        """Add the DID in E.164 and split `destination` ("ivr||4101") into type and id."""
        record = super().shape(row, page)
        record["did_e164"] = e164_or_none(record.get("did"), self.config["default_region"])
        kind, _, target = (record.get("destination") or "").partition("||")
        record["destination_type"] = kind or None
        record["destination_id"] = target or None
        return record


def _cursor(value: object) -> int | str | None:
    """A cursor value: a number (sent as int, float or text), or other non-blank text."""
    number = read_number(value)
    if number is not None:
        return number
    return value.strip() if isinstance(value, str) and value.strip() else None


REFERENCE_STREAMS: tuple[type[ReferenceStream], ...] = (
    UsersStream,
    DepartmentsStream,
    IvrsStream,
    MyNumbersStream,
)
