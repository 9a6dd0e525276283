"""TapAcefone: settings, shared HTTP machinery and the list of streams."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
import requests
from requests.adapters import HTTPAdapter
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_acefone.auth import LoginAuthenticator, StaticTokenAuthenticator
from tap_acefone.errors import AcefoneError
from tap_acefone.output import BufferedSingerWriter
from tap_acefone.pacing import Pacer
from tap_acefone.retries import RetryPolicy, call_with_retries
from tap_acefone.settings import CONFIG_SCHEMA, check_settings
from tap_acefone.streams import CallRecordsStream
from tap_acefone.windows import parse_setting_instant

T = TypeVar("T")


class TapAcefone(Tap):
    """Singer tap for Acefone, Servetel and Tata Tele Smartflo call detail records."""

    name = "tap-acefone"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = BufferedSingerWriter

    def discover_streams(self) -> list[Stream]:
        """The streams this tap offers."""
        return [CallRecordsStream(self)]

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Run the CLI; a known failure becomes one error line and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except AcefoneError as exc:
            cls.logger.error("%s", exc)
            raise click.exceptions.Exit(1) from None

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """JSON-schema checks first, then the cross-field checks schema cannot express."""
        errors = super()._validate_config(raise_errors=raise_errors)
        extra = check_settings(self.config)
        if extra and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=extra)
        return errors + extra

    @property
    def user_agent(self) -> str:
        """Identify the tap and its version to the API."""
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
    def run_end(self) -> datetime:
        """Where this run stops reading: `end_date`, else the moment the run started."""
        end_date = self.config.get("end_date")
        if end_date:
            return parse_setting_instant(str(end_date), self.account_tz)
        return datetime.now(timezone.utc).replace(microsecond=0)

    @cached_property
    def session(self) -> requests.Session:
        """One keep-alive connection pool for every request the tap makes."""
        session = requests.Session()
        session.mount("https://", HTTPAdapter(pool_maxsize=8))
        session.mount("http://", HTTPAdapter(pool_maxsize=8))
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
    def authenticator(self) -> StaticTokenAuthenticator | LoginAuthenticator:
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
        return call_with_retries(
            func, what=what, policy=self.retry_policy, pacer=self.pacer, logger=self.logger
        )


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request
