"""TapAcefone: settings, shared HTTP machinery and the list of streams."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import click
import requests
from singer_sdk import Stream
from typing_extensions import override

from tap_acefone.auth import AcefoneAuthenticator, LoginAuthenticator, StaticTokenAuthenticator
from tap_acefone.bookmarks import PROGRESS_MARKERS
from tap_acefone.errors import AcefoneError, StateError
from tap_acefone.output import BufferedSingerWriter
from tap_acefone.pacing import Pacer
from tap_acefone.reference import REFERENCE_STREAMS
from tap_acefone.retries import RetryLog, RetryPolicy, jittered, paced_tries, with_retries
from tap_acefone.sdk_internals import ConfigValidationHooks
from tap_acefone.settings import CONFIG_SCHEMA, check_settings, numbers_from_text
from tap_acefone.streams import CallRecordsStream, SyncWindowsStream
from tap_acefone.transport import StampedAdapter
from tap_acefone.windows import parse_setting_instant

T = TypeVar("T")


class TapAcefone(ConfigValidationHooks):
    """Singer tap for Acefone, Servetel and Tata Tele Smartflo call detail records."""

    name = "tap-acefone"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = BufferedSingerWriter

    @override
    def discover_streams(self) -> list[Stream]:
        """The streams this tap offers (the audit trail right after the calls it audits)."""
        return [
            CallRecordsStream(self),
            SyncWindowsStream(self),
            *(stream(self) for stream in REFERENCE_STREAMS),
        ]

    @property
    def audit_stream(self) -> SyncWindowsStream:
        """Where call_records writes one audit row per window."""
        return cast(SyncWindowsStream, self.streams[SyncWindowsStream.name])

    @cached_property
    def run_identity(self) -> dict[str, Any]:
        """The run's id and start, carried by every audit row it writes."""
        return {"run_id": str(uuid.uuid4()), "run_started": datetime.now(timezone.utc)}

    @override
    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the CLI; a known failure becomes one error line and exit code 1."""
        try:
            if kwargs.get("state") is not None:
                kwargs["state"] = _checked_state_file(kwargs["state"])
            super().invoke(*args, **kwargs)
        except AcefoneError as exc:
            cls.logger.error("%s", exc)
            raise click.exceptions.Exit(1) from None

    @override
    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, plus `--probe` (issue 17: `tap_acefone/probe_cli.py`)."""
        from tap_acefone.probe_cli import probe_options  # noqa: PLC0415 - probe_cli imports tap

        command = super().get_singer_command()
        command.params.extend(probe_options())
        return command

    @override
    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> Any:
        """Read the --config files; an unreadable one is one error line and exit code 1."""
        try:
            return super().cb_config(ctx, param, value)
        except (OSError, ValueError, TypeError) as exc:
            cls.logger.error(
                "Could not read the --config file(s) %s: %s", ", ".join(value), _why(exc)
            )
            raise click.exceptions.Exit(1) from None

    @override
    def load_state(self, state: dict[str, Any]) -> None:
        """Refuse a state the sync could not use, naming what is wrong, before reading it."""
        check_state(state, stream=CallRecordsStream.name)
        warning = foreign_state_warning(state, stream=CallRecordsStream.name)
        if warning:
            self.logger.warning("%s", warning)
        super().load_state(state)

    @override
    def prepare_config(self, config: dict[str, Any]) -> None:
        """Number settings given as text (from the environment) are read as numbers."""
        config.update(numbers_from_text(config))

    @override
    def review_config_errors(self, errors: list[str]) -> list[str]:
        """The SDK's messages quote the offending value: never for a secret setting."""
        return redact_secret_errors(errors)

    @override
    def extra_config_errors(self) -> list[str]:
        """The cross-field checks JSON schema cannot express."""
        return check_settings(self.config)

    @cached_property
    def user_agent(self) -> str:
        """Identify the tap and its version to the API (looked up once: it is sent per page)."""
        try:
            version = metadata.version("tap-acefone")
        except metadata.PackageNotFoundError:  # running from a bare source tree
            version = "0"
        return f"tap-acefone/{version} (+singer-sdk)"

    @cached_property
    def account_tz(self) -> ZoneInfo:
        """The account's time zone."""
        return ZoneInfo(self.config["timezone"])

    @cached_property
    def start_date(self) -> datetime:
        """`start_date` as a UTC instant."""
        return parse_setting_instant(str(self.config["start_date"]), self.account_tz)

    @cached_property
    def end_date(self) -> datetime | None:
        """`end_date` as a UTC instant, if set."""
        end_date = self.config.get("end_date")
        return parse_setting_instant(str(end_date), self.account_tz) if end_date else None

    @cached_property
    def run_end(self) -> datetime:
        """Where this run stops reading: `end_date`, else the moment the run started."""
        return self.end_date or datetime.now(timezone.utc).replace(microsecond=0)

    @cached_property
    def session(self) -> requests.Session:
        """One keep-alive connection pool for every request the tap makes."""
        session = requests.Session()
        session.mount("https://", StampedAdapter(pool_maxsize=8))
        session.mount("http://", StampedAdapter(pool_maxsize=8))
        return session

    @cached_property
    def pacer(self) -> Pacer:
        """The account's request budget, shared by every stream and the login."""
        return Pacer(float(self.config["requests_per_second"]))

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """How often and how patiently failed requests are tried again."""
        return RetryPolicy(max_tries=int(self.config["max_tries"]))

    @cached_property
    def authenticator(self) -> AcefoneAuthenticator:
        """Static token or login, shared by every stream."""
        token = self.config.get("api_token")
        if token:
            return StaticTokenAuthenticator(token=token)
        return LoginAuthenticator(
            email=self.config["email"],
            password=self.config["password"],
            post=self._post,
            retry=self._retry,
        )

    def _post(
        self, path: str, payload: dict[str, Any] | None, headers: dict[str, str]
    ) -> requests.Response:
        url = str(self.config["api_url"]).rstrip("/") + path
        all_headers = {"Accept": "application/json", "User-Agent": self.user_agent, **headers}
        # `auth=_no_auth` keeps the session's authenticator (which may be the one logging in
        # right now) off the login request itself.
        return self.session.post(
            url,
            json=payload,
            headers=all_headers,
            timeout=int(self.config["request_timeout"]),
            auth=_no_auth,
        )

    def _retry(self, func: Callable[[], T], what: str) -> T:
        """Run `func` (a login request) with the pacing and retries of every request."""
        policy, log = (
            self.retry_policy,
            RetryLog(what, self.retry_policy.max_tries, self.pacer, self.logger),
        )
        tries = paced_tries(func, what=what, pacer=self.pacer, logger=self.logger)
        retried = with_retries(
            tries,
            wait_gen=policy.wait_times,
            max_tries=policy.max_tries,
            jitter=jittered,
            on_backoff=log.on_backoff,
            on_giveup=log.on_giveup,
        )
        return retried()


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


SECRET_SETTINGS = tuple(
    name for name, prop in CONFIG_SCHEMA["properties"].items() if prop.get("secret")
)


def redact_secret_errors(errors: list[str]) -> list[str]:
    """Validation messages with any about a secret setting rewritten not to quote its value."""
    redacted = []
    for error in errors:
        secret = next((name for name in SECRET_SETTINGS if f"config['{name}']" in error), None)
        redacted.append(
            error
            if secret is None
            else f"config['{secret}'] must be text; its value is not shown because it is secret."
        )
    return redacted


def _why(exc: BaseException) -> str:
    """Why a file could not be read, without echoing its content (it may hold secrets)."""
    if isinstance(exc, ValueError) and hasattr(exc, "lineno") and hasattr(exc, "colno"):
        return f"not valid JSON (line {exc.lineno} column {exc.colno})"
    if isinstance(exc, TypeError):
        return "the file is not a JSON object"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__


def _checked_state_file(handle: Any) -> io.StringIO:
    """The --state file's text, once it is known to be JSON (empty counts as no state)."""
    text = handle.read()
    name = getattr(handle, "name", "--state")
    if not text.strip():
        text = "{}"
    fix = "Fix it, or remove it to start again from start_date."
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise StateError(f"The state file {name} is {_why(exc)}. {fix}") from None
    if not isinstance(parsed, dict):
        raise StateError(f"The state file {name} does not hold a JSON object. {fix}")
    return io.StringIO(text)


def check_state(state: Any, *, stream: str) -> None:
    """Raise StateError unless `state` is a Singer state this tap can resume from.

    Bookmarks of other streams are left alone unless the SDK could not even read them (a
    shared or foreign state is fine); this stream's bookmark, when present, must be an
    ISO 8601 timestamp.
    """
    fix = "Fix the state, or clear it to start again from start_date."
    if not isinstance(state, Mapping):
        raise StateError(f"The state is not a JSON object. {fix}")
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, Mapping):
        raise StateError(f"The state's 'bookmarks' is not a JSON object. {fix}")
    for name, entry in bookmarks.items():
        where = f"The state's bookmarks for {str(name)[:40]!r}"
        if not isinstance(entry, Mapping):
            raise StateError(f"{where} are not a JSON object. {fix}")
        partitions = entry.get("partitions", [])
        if not isinstance(partitions, list):
            raise StateError(f"{where} have a 'partitions' that is not a list. {fix}")
        for part in (entry, *partitions):
            if not isinstance(part, Mapping) or not isinstance(
                part.get(PROGRESS_MARKERS, {}), Mapping
            ):
                raise StateError(f"{where} hold an entry that is not a JSON object. {fix}")
    value = bookmarks.get(stream, {}).get("replication_key_value")
    if value is None:
        return
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, TypeError, ValueError):
        raise StateError(
            f"The state's bookmark for {stream} ({str(value)[:40]!r}) is not an ISO 8601 "
            f"timestamp. {fix}"
        ) from None


def foreign_state_warning(state: Mapping[str, Any], *, stream: str) -> str | None:
    """Why a non-empty state gives `stream` nothing to resume from, if it does not."""
    bookmarks = state.get("bookmarks") or {}
    if not state or bookmarks.get(stream, {}).get("replication_key_value") is not None:
        return None
    hint = ""
    if "singer_state" in state:
        hint = " (it looks like `meltano state get` output: pass its singer_state object)"
    return (
        f"The state holds no bookmark for {stream}{hint}; reading from start_date. Every "
        "call since start_date is read again and upserted."
    )
