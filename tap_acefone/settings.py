"""The tap's settings: the one place they are described, and the checks JSON schema cannot express.

`CONFIG_SCHEMA` is the source of truth: one `th.Property` per setting, with its type, bounds
(`minimum`/`maximum`), allowed values, default, title, description and, for text whose form
matters, `examples`. `tap-acefone --about` publishes it; `make settings`
(scripts/generate_settings.py) writes meltano.yml's tap-acefone `settings:` and the README's
settings table from that, and the tests fail when either drifts. A new setting needs only its
`th.Property` here (and `make settings`): tests/test_settings_env.py then sets it through its
environment variable under Meltano (a text setting whose value must have a particular form
needs an `examples` entry, which the test uses).

Every message names the setting it is about, so `tap-acefone` can exit with one clear line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from singer_sdk import typing as th

from tap_acefone import accounts
from tap_acefone.phones import is_region
from tap_acefone.profile import FILTER_ON, GRANULARITIES
from tap_acefone.windows import parse_setting_instant

API_HOSTS = {
    "Acefone India": "https://api.acefone.in",
    "Servetel": "https://api.servetel.in",
    "Tata Tele Smartflo": "https://api-smartflo.tatateleservices.com",
    "Acefone UK": "https://api-account-uk.acefone.com",
}
OPERATORS = (">", "<", ">=", "<=", "!=")
RECORDING_URL_MODES = ("keep", "strip_token", "drop")
INCOMPLETE_WINDOW_POLICIES = ("fail", "continue")

_SCHEMA = th.PropertiesList(
    th.Property(
        "api_url",
        th.StringType,
        default=API_HOSTS["Acefone India"],
        examples=[API_HOSTS["Servetel"]],
        title="API URL",
        description="Base URL of your brand's API: "
        + ", ".join(f"{url} ({brand})" for brand, url in API_HOSTS.items())
        + ".",
    ),
    th.Property(
        "api_token",
        th.StringType,
        secret=True,
        title="API token",
        description="A static API token from the portal (API Connect -> API Tokens). "
        "Use this or email + password.",
    ),
    th.Property(
        "email",
        th.StringType,
        title="Login email",
        description="Login email for the short-lived token flow; needs password. "
        "Use this or api_token.",
    ),
    th.Property(
        "password",
        th.StringType,
        secret=True,
        title="Password",
        description="Password of the login email.",
    ),
    th.Property(
        "start_date",
        th.StringType,
        required=True,
        examples=["2025-01-01"],
        title="Start date",
        description="Earliest call start to extract, ISO 8601. A date or a time without offset "
        "is read in the account time zone (2024-01-01 = local midnight).",
    ),
    th.Property(
        "end_date",
        th.StringType,
        examples=["2025-02-01T00:00:00+05:30"],
        title="End date",
        description="Optional: extract calls that started before this instant (ISO 8601, "
        "account time zone when no offset). Default: now.",
    ),
    th.Property(
        "timezone",
        th.StringType,
        default="Asia/Kolkata",
        examples=["Europe/London"],
        title="Account time zone",
        description="IANA time zone of the account: the API's dates and times are wall-clock "
        "times in it.",
    ),
    th.Property(
        "page_size",
        th.IntegerType(minimum=1, maximum=1000),
        # 1000, the most a public Smartflo client asks for: a server that allows less clamps
        # the page at no cost, one that refuses costs one request (the tap then asks what the
        # refusal names), and pages too slow when large are asked for smaller (streams.py).
        default=1000,
        title="Page size",
        description="Records asked for per page. The server may send fewer: the tap reads "
        "the page size from the rows it got. A refused or too slow page size is lowered for "
        "the rest of the run.",
    ),
    th.Property(
        "window_hours",
        th.IntegerType(minimum=1, maximum=720),
        default=24,
        title="Window hours",
        description="Length of each date window read as one paged query.",
    ),
    th.Property(
        "lookback_minutes",
        th.IntegerType(minimum=0, maximum=10080),
        default=120,
        title="Lookback minutes",
        description="Each incremental run re-reads this much before the bookmark, to catch "
        "late-arriving and changed CDRs.",
    ),
    th.Property(
        "requests_per_second",
        # singer-sdk 0.54 annotates every numeric bound as int, also for DecimalType, whose
        # bounds are JSON numbers: the float is written to the schema as it is.
        th.DecimalType(minimum=0.01, maximum=1000),  # type: ignore[arg-type]
        default=2,
        title="Requests per second",
        description="Client-side pace of API requests; keep it under your account's limit.",
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(minimum=1, maximum=3600),
        default=120,
        title="Request timeout",
        description="Seconds to wait for one API response before retrying it.",
    ),
    th.Property(
        "max_tries",
        th.IntegerType(minimum=1, maximum=50),
        default=8,
        title="Max tries",
        description="Tries per request on 429, 5xx, timeouts and broken bodies before the run "
        "fails.",
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType(minimum=1, maximum=16),
        default=4,
        title="Max concurrency",
        description="Most pages of one window fetched at the same time, still paced by "
        "requests_per_second; the tap fetches that far ahead only while it waits for pages. "
        "1 reads page after page.",
    ),
    th.Property(
        "on_incomplete_window",
        th.StringType,
        default="fail",
        allowed_values=list(INCOMPLETE_WINDOW_POLICIES),
        title="On incomplete window",
        description="What to do when the API counts more calls in a window than it serves, even "
        "after the window is split and read again: fail (stop before the bookmark passes the "
        "window; the default) or continue (log it, record it in sync_windows, move on).",
    ),
    th.Property(
        "api_profile",
        th.ObjectType(
            th.Property("filter_on", th.StringType, allowed_values=list(FILTER_ON)),
            th.Property("granularity", th.StringType, allowed_values=list(GRANULARITIES)),
            th.Property("check_record_clocks", th.BooleanType),
            additional_properties=False,
        ),
        examples=[{"filter_on": "start", "granularity": "second"}],
        title="API profile",
        description="What acefone-probe found about this account's API, pinned so the tap "
        "can skip safeguards it does not need (paste the probe's recommended value): "
        "filter_on start (no read beyond end_date), granularity day (each local day asked "
        "once), check_record_clocks false (no timezone self-check). Unset, the tap is exact "
        "under every API behaviour; a pin the API contradicts stops the run or is read "
        "around (see the README's Probe section).",
    ),
    th.Property(
        "recording_url_mode",
        th.StringType,
        default="keep",
        allowed_values=list(RECORDING_URL_MODES),
        title="Recording URL mode",
        description="recording_url embeds its own access token: keep it, strip_token (remove "
        "the token= parameter) or drop (null the URL).",
    ),
    th.Property(
        "default_region",
        th.StringType,
        default="IN",
        examples=["GB"],
        title="Default phone region",
        description="Region (ISO 3166 code such as IN or GB) used to read national phone numbers "
        "when filling the *_e164 fields.",
    ),
    th.Property(
        "call_type",
        th.StringType,
        allowed_values=["c", "m"],
        title="Call type filter",
        description="Only answered (c) or only missed (m) calls; all calls when unset.",
    ),
    th.Property(
        "direction",
        th.StringType,
        allowed_values=["inbound", "outbound"],
        title="Direction filter",
        description="Only inbound or only outbound calls; both when unset.",
    ),
    th.Property(
        "agents",
        th.ArrayType(th.StringType),
        title="Agents filter",
        description="Only calls of these agents, by agent ID.",
    ),
    th.Property(
        "department",
        th.ArrayType(th.StringType),
        title="Departments filter",
        description="Only calls of these department IDs.",
    ),
    th.Property(
        "ivr", th.ArrayType(th.StringType), title="IVRs filter", description="Only these IVR IDs."
    ),
    th.Property(
        "callerid",
        th.StringType,
        examples=["9876543210"],
        title="Caller ID filter",
        description="Only calls with this client number.",
    ),
    th.Property(
        "destination",
        th.StringType,
        examples=["+918069000000"],
        title="Destination filter",
        description="Only inbound calls directed to this number (unreliable on some accounts).",
    ),
    th.Property(
        "did_number",
        th.StringType,
        examples=["+918069000000"],
        title="DID filter",
        description="Only calls routed through this DID number.",
    ),
    th.Property(
        "duration",
        th.IntegerType(minimum=0, maximum=7 * 86400),
        title="Duration filter",
        description="Compare call_duration (seconds) with this value, using operator.",
    ),
    th.Property(
        "operator",
        th.StringType,
        allowed_values=list(OPERATORS),
        requires_properties=["duration"],
        title="Duration operator",
        description="Operator for the duration filter: >, <, >=, <= or !=.",
    ),
    th.Property(
        "services",
        th.StringType,
        examples=["ivr,click_to_call"],
        title="Services filter",
        description="Comma-separated services to include.",
    ),
    th.Property(
        "broadcast",
        th.BooleanType,
        title="Broadcast filter",
        description="Whether to include broadcast call records.",
    ),
    th.Property(
        accounts.SETTING, th.StringType, title="Account ID", description=accounts.DESCRIPTION
    ),
).to_dict()


def _with_bounds_described(schema: dict[str, Any]) -> dict[str, Any]:
    """Append each bounded setting's range to its description, so every listing shows it."""
    for prop in schema["properties"].values():
        if "minimum" in prop and "maximum" in prop:
            prop["description"] += f" From {prop['minimum']:g} to {prop['maximum']:g}."
    return schema


CONFIG_SCHEMA = _with_bounds_described(_SCHEMA)

# A plain decimal number written as text, such as "0.5" or "2".
_DECIMAL_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def numbers_from_text(config: Mapping[str, Any]) -> dict[str, float]:
    """The number settings that `config` holds as decimal text, as numbers.

    Environment variables hand over text, and for a fractional number that text is all a
    tap can get: Meltano 4.4's `decimal` kind turns `TAP_ACEFONE_REQUESTS_PER_SECOND=0.5`
    into a `Decimal` that its own JSON encoder then refuses (`meltano config print` and every
    `meltano run` crash with `Object of type Decimal is not JSON serializable`), and the
    SDK's `--config=ENV` passes number settings on as text too. So meltano.yml declares
    number settings as `kind: string` and the tap reads their text here, before validation,
    so the schema's bounds apply to them. Other text is left for the schema to refuse.
    """
    numbers = {}
    for name, prop in CONFIG_SCHEMA["properties"].items():
        value = config.get(name)
        is_number = "number" in prop.get("type", ())
        if is_number and isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
            numbers[name] = float(value)
    return numbers


def check_settings(config: Mapping[str, Any]) -> list[str]:
    """Return one message per problem JSON schema cannot see; empty when all is well."""
    checks: tuple[Callable[[Mapping[str, Any]], list[str]], ...] = (
        _check_auth,
        _check_start_date,
        _check_url,
        _check_timezone_and_dates,
        _check_region,
        accounts.check_account_id,
    )
    return [message for check in checks for message in check(config)]


def _given(config: Mapping[str, Any], name: str) -> bool:
    value = config.get(name)
    return value is not None and (not isinstance(value, str) or value.strip() != "")


def _check_start_date(config: Mapping[str, Any]) -> list[str]:
    """`start_date` is required; blank text satisfies the schema but means nothing."""
    value = config.get("start_date")
    if isinstance(value, str) and not value.strip():
        return ["start_date is empty: set the earliest call start to extract, e.g. 2025-01-01."]
    return []


def _check_auth(config: Mapping[str, Any]) -> list[str]:
    token = _given(config, "api_token")
    email, password = _given(config, "email"), _given(config, "password")
    if token and (email or password):
        return ["Set either api_token or email + password, not both."]
    if token:
        return []
    if email and password:
        return []
    if email or password:
        missing = "password" if email else "email"
        return [f"{missing} is required with {'email' if email else 'password'}."]
    return ["Set api_token (a portal API token) or email + password."]


def _check_url(config: Mapping[str, Any]) -> list[str]:
    url = urlparse(str(config.get("api_url", "")))
    if url.scheme in ("http", "https") and url.netloc and not url.query:
        return []
    return [f"api_url must be an http(s) URL such as {API_HOSTS['Acefone India']}."]


def _check_timezone_and_dates(config: Mapping[str, Any]) -> list[str]:
    try:
        tz = ZoneInfo(str(config.get("timezone", "")))
    except (ZoneInfoNotFoundError, ValueError):
        return [
            f"timezone {str(config.get('timezone'))[:60]!r} is not an IANA time zone name "
            "such as Asia/Kolkata or Europe/London."
        ]
    instants = {}
    messages = []
    for name in ("start_date", "end_date"):
        if not _given(config, name):
            continue
        try:
            instants[name] = parse_setting_instant(str(config[name]), tz)
        except ValueError:
            messages.append(f"{name} {str(config[name])[:40]!r} is not an ISO 8601 date or time.")
    if len(instants) == 2 and instants["end_date"] <= instants["start_date"]:
        messages.append("end_date must be later than start_date.")
    return messages


def _check_region(config: Mapping[str, Any]) -> list[str]:
    region = config.get("default_region")
    if region is None or is_region(str(region)):
        return []
    return [f"default_region {str(region)[:20]!r} is not a phone region code such as IN or GB."]
