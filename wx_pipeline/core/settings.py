"""Every `WX_*` setting, read from the environment and validated once.

Other modules call `get_settings()` and never read `os.environ` for `WX_*` themselves, so a bad
value is reported once, as one line naming the variable, before any work starts.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.registry.types import DATA_START

# WeChat's datacube days are Beijing calendar days.
BEIJING = ZoneInfo("Asia/Shanghai")

WECHAT_API_BASE_URL = "https://api.weixin.qq.com"

ENV_PREFIX = "WX_"

# What each variable should look like; used for every validation failure of that variable so
# the message is uniform and never depends on pydantic's wording.
_EXPECTED: dict[str, str] = {
    "home": "a directory path",
    "warehouse_url": "a PostgreSQL URL like postgresql://user:pass@host:5432/db",
    "api_base_url": "an http(s) URL like https://api.weixin.qq.com",
    "accounts_file": "a path to an existing YAML file",
    "app_id": "a WeChat app id like wx0123456789abcdef",
    "app_secret": "a non-empty secret",
    "start_date": f"a date YYYY-MM-DD not before {DATA_START.isoformat()}",
    "span_overrides": (
        "comma-separated endpoint=days pairs like getupstreammsgweek=1,getupstreammsgdist=15"
    ),
    "api_concurrency": "a positive integer",
    "api_global_concurrency": "a positive integer",
    "api_timeout": "a number of seconds > 0",
    "retry_max_wait": "a number of seconds > 0",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "alert_webhook": "an http(s) URL of a WeCom group robot (.../cgi-bin/webhook/send?key=...) "
    "or a Slack incoming webhook",
    "ui_url": "an http(s) URL like https://dagster.example.com",
    "daily_budget": "a positive integer",
    "token_mode": "'stable' or 'token'",
    "now": "a Beijing time 'YYYY-MM-DD HH:MM' or an ISO 8601 time with offset",
    "data_ready_time": "a Beijing time of day HH:MM between 00:00 and 20:00",
    "retention_days": "a positive integer (days)",
    "component_app_id": "the app id of a WeChat Open Platform third-party platform, like "
    "wx0123456789abcdef",
    "component_app_secret": "the platform's non-empty AppSecret",
    "component_token": "the platform's message verification token: 3 to 32 letters and digits",
    "bi_role": "a PostgreSQL role name: a letter or _, then letters, digits or _ (63 at most)",
    "bi_admin_password": "a non-empty password of at least 8 characters",
    "component_aes_key": "the platform's EncodingAESKey: 43 characters, base64 of a 32-byte key "
    "with its trailing '=' removed",
}
#: When WeChat's data for a day is final, on the next day (Beijing), unless WX_DATA_READY_TIME says.
DEFAULT_DATA_READY_TIME = time(8, 0)
#: The latest ready time accepted: the schedules run up to 2 hours after it, the same day.
LATEST_DATA_READY_TIME = time(20, 0)
_SECRET_FIELDS = frozenset(
    {
        "app_secret",
        "alert_webhook",
        "component_app_secret",
        "component_token",
        "component_aes_key",
        "bi_admin_password",
    }
)
#: The platform's settings, required together (see `Settings._resolve_component`).
COMPONENT_FIELDS: tuple[str, ...] = (
    "component_app_id",
    "component_app_secret",
    "component_token",
    "component_aes_key",
)


class SettingsError(WxUserError):
    """An invalid `WX_*` setting; str() is one line naming the variable and the expected form."""


def env_name(field: str) -> str:
    """The environment variable behind a settings field, e.g. `start_date` -> `WX_START_DATE`."""
    return f"{ENV_PREFIX}{field.upper()}"


#: How the pipeline gets an account's access token: with the account's own AppSecret, or as a
#: third-party platform ("component") the account authorised, from its authorizer refresh token.
CredentialKind = Literal["app_secret", "platform"]


class Account(BaseModel):
    """One WeChat Official Account the pipeline pulls from, with exactly one credential."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    name: str
    #: The account's AppSecret (credential kind ``app_secret``).
    secret: SecretStr | None = None
    #: The platform's authorizer refresh token for the account (kind ``platform``); the newest
    #: one the warehouse holds wins over it (WeChat may hand out a new one at any refresh).
    refresh_token: SecretStr | None = None
    #: The environment variable ``refresh_token`` came from, for messages.
    refresh_token_env: str | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> Account:
        if (self.secret is None) == (self.refresh_token is None):
            raise ValueError(
                f"account {self.app_id!r} needs exactly one of an AppSecret or an authorizer "
                "refresh token"
            )
        return self

    @property
    def credential_kind(self) -> CredentialKind:
        return "app_secret" if self.secret is not None else "platform"


class Component(BaseModel):
    """The agency's WeChat Open Platform third-party platform (the API calls it a component)."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    secret: SecretStr
    token: SecretStr  # signs the pushes WeChat sends to the authorisation event URL
    aes_key: SecretStr  # the EncodingAESKey those pushes are encrypted with


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _AccountEntry(BaseModel):
    """One entry of the accounts YAML file (the credential lives in the environment, not the
    file): ``secret_env`` for an AppSecret, ``authorizer_refresh_token_env`` for an account that
    authorised the platform."""

    model_config = ConfigDict(extra="forbid")

    app_id: Annotated[str, Field(min_length=1, pattern=r"^\S+$")]
    name: Annotated[str, Field(min_length=1)]
    secret_env: Annotated[str | None, Field(min_length=1, pattern=_ENV_NAME)] = None
    authorizer_refresh_token_env: Annotated[str | None, Field(min_length=1, pattern=_ENV_NAME)] = (
        None
    )

    @model_validator(mode="after")
    def _one_credential(self) -> _AccountEntry:
        if (self.secret_env is None) == (self.authorizer_refresh_token_env is None):
            raise ValueError(
                "exactly one of secret_env (AppSecret) or authorizer_refresh_token_env "
                "(authorised to the platform)"
            )
        return self


class Settings(BaseSettings):
    """Validated configuration; build it with `get_settings()` (or `load_settings()` in tests)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,  # `WX_FOO=` means unset, as in most shells' intent
        extra="ignore",
        frozen=True,
    )

    home: Path = Path(".wx")
    warehouse_url: str | None = None
    api_base_url: str | None = None
    accounts_file: Path | None = None
    app_id: str | None = None
    app_secret: SecretStr | None = None
    start_date: date = DATA_START
    span_overrides: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    api_concurrency: int = Field(default=4, ge=1)  # calls in flight per account
    api_global_concurrency: int = Field(default=32, ge=1)  # calls in flight, all accounts
    api_timeout: float = Field(default=30.0, gt=0)  # an answer slower than this is retried
    retry_max_wait: float = Field(default=60.0, gt=0)  # the longest wait between two attempts
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    #: Where failed runs and failed ERROR checks are posted (its key is a secret).
    alert_webhook: SecretStr | None = None
    ui_url: str | None = None  # the Dagster UI's address, for links in alerts
    daily_budget: int | None = Field(default=None, ge=1)
    token_mode: Literal["stable", "token"] = "stable"
    #: Pins the pipeline's clock (tests, replays); unset: the real time. See clock.py.
    now: datetime | None = None
    data_ready_time: time = DEFAULT_DATA_READY_TIME
    #: Days the detail of finished runs, tick history, old reports and call counts are kept
    #: (see defs/retention.py); what is materialised is kept whatever its age.
    retention_days: int = Field(default=90, ge=1)
    #: The third-party platform, for accounts with ``authorizer_refresh_token_env``.
    component_app_id: str | None = None
    component_app_secret: SecretStr | None = None
    component_token: SecretStr | None = None
    component_aes_key: SecretStr | None = None

    #: The read-only role Superset reads the warehouse as (`wx-pipeline bi serve` makes it).
    bi_role: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "wx_bi"
    #: Superset's admin password; unset: one is generated into $WX_HOME/bi (mode 0600).
    bi_admin_password: Annotated[SecretStr | None, Field(min_length=8)] = None

    _accounts: tuple[Account, ...] = PrivateAttr(default=())
    _component: Component | None = PrivateAttr(default=None)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("warehouse_url", mode="after")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a URL") from exc
        if not url.drivername.startswith("postgresql"):
            raise ValueError("not PostgreSQL")
        return value

    @field_validator("alert_webhook", mode="after")
    @classmethod
    def _webhook_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value.get_secret_value()):
            raise ValueError("not an http(s) URL")
        return value

    @field_validator("api_base_url", "ui_url", mode="after")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("not an http(s) URL")
        return value.rstrip("/")

    @field_validator("app_id", "component_app_id", mode="after")
    @classmethod
    def _app_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\S+", value):
            raise ValueError("blank or contains whitespace")
        return value

    @field_validator("component_token", mode="after")
    @classmethod
    def _component_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{3,32}", value.get_secret_value()):
            raise ValueError("not 3 to 32 letters and digits")
        return value

    @field_validator("component_aes_key", mode="after")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_encoding_aes_key(value.get_secret_value()):
            raise ValueError("not an EncodingAESKey")
        return value

    @field_validator("start_date", mode="after")
    @classmethod
    def _not_before_datacube(cls, value: date) -> date:
        if value < DATA_START:
            raise ValueError("too early")
        return value

    @field_validator("now", mode="before")
    @classmethod
    def _parse_now(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError("not a time") from exc
        # A time without an offset is Beijing time, like every date the pipeline handles.
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BEIJING)

    @field_validator("now", mode="after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("no time zone")
        return value.astimezone(BEIJING) if value is not None else None

    @field_validator("data_ready_time", mode="before")
    @classmethod
    def _parse_ready_time(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
            raise ValueError("not HH:MM")
        return value

    @field_validator("data_ready_time", mode="after")
    @classmethod
    def _ready_time_in_day(cls, value: time) -> time:
        if value > LATEST_DATA_READY_TIME or value.second or value.microsecond:
            raise ValueError("out of range")
        return value

    @field_validator("span_overrides", mode="before")
    @classmethod
    def _parse_span_overrides(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        parsed: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)\s*=\s*([0-9]+)", part)
            if match is None or int(match.group(2)) < 1:
                raise ValueError(f"bad pair {part!r}")
            parsed[match.group(1)] = int(match.group(2))
        return parsed

    @model_validator(mode="after")
    def _resolve_accounts(self) -> Settings:
        # Raised directly (not ValueError) so pydantic passes it through unchanged.
        if (self.app_id is None) != (self.app_secret is None):
            missing = "WX_APP_SECRET" if self.app_secret is None else "WX_APP_ID"
            raise SettingsError(
                f"{missing}: expected WX_APP_ID and WX_APP_SECRET to be set together (or neither)"
            )
        if self.accounts_file is not None and self.app_id is not None:
            raise SettingsError(
                "WX_ACCOUNTS_FILE: expected either WX_ACCOUNTS_FILE or WX_APP_ID/WX_APP_SECRET, "
                "not both"
            )
        if self.accounts_file is not None:
            self._accounts = _read_accounts_file(self.accounts_file, os.environ)
        elif self.app_id is not None and self.app_secret is not None:
            self._accounts = (
                Account(app_id=self.app_id, name=self.app_id, secret=self.app_secret),
            )
        self._component = self._resolve_component()
        return self

    def _resolve_component(self) -> Component | None:
        # All four or none; and all four as soon as one account is authorised to the platform.
        values = {name: getattr(self, name) for name in COMPONENT_FIELDS}
        platform = next((a for a in self._accounts if a.credential_kind == "platform"), None)
        if not any(v is not None for v in values.values()) and platform is None:
            return None
        for name, value in values.items():
            if value is None:
                why = (
                    f"account '{platform.app_id}' in WX_ACCOUNTS_FILE uses "
                    "authorizer_refresh_token_env"
                    if platform is not None
                    else f"the platform's settings ({', '.join(map(env_name, COMPONENT_FIELDS))}) "
                    "go together"
                )
                raise SettingsError(f"{env_name(name)}: expected {_EXPECTED[name]}; {why}")
        app_id, secret, token, aes_key = values.values()
        return Component(app_id=app_id, secret=secret, token=token, aes_key=aes_key)

    def accounts(self) -> list[Account]:
        """The configured accounts, secrets resolved; empty when none is configured."""
        return list(self._accounts)

    def component(self) -> Component | None:
        """The third-party platform, when configured (always when an account uses it)."""
        return self._component

    @property
    def uses_simulator(self) -> bool:
        """True when the pipeline should talk to the local simulator instead of WeChat."""
        return self.api_base_url is None and not self._accounts

    def resolved_api_base_url(self) -> str | None:
        """The API base URL to call, or None when the local simulator must be started."""
        if self.api_base_url is not None:
            return self.api_base_url
        return None if self.uses_simulator else WECHAT_API_BASE_URL

    @property
    def pgdata(self) -> Path:
        """Where the embedded warehouse keeps its PostgreSQL data directory."""
        return self.home / "pgdata"


def is_encoding_aes_key(value: str) -> bool:
    """Whether ``value`` has the form of an EncodingAESKey: 43 base64 characters that, with the
    one '=' WeChat leaves off, decode to a 32-byte AES key."""
    if not re.fullmatch(r"[A-Za-z0-9+/]{43}", value):
        return False
    try:
        return len(base64.b64decode(value + "=", validate=True)) == 32
    except binascii.Error:
        return False


def _read_accounts_file(path: Path, environ: Mapping[str, str]) -> tuple[Account, ...]:
    var = "WX_ACCOUNTS_FILE"
    form = "a YAML list of {app_id, name, secret_env | authorizer_refresh_token_env} mappings"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{var}: expected {_EXPECTED['accounts_file']}, got '{path}'") from None
    except (OSError, yaml.YAMLError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SettingsError(f"{var}: expected {form}, cannot read '{path}': {detail}") from None
    if not isinstance(raw, list) or not raw:
        raise SettingsError(f"{var}: expected {form}, got a {type(raw).__name__} in '{path}'")

    accounts: list[Account] = []
    seen: set[str] = set()
    for index, item in enumerate(raw, start=1):
        try:
            entry = _AccountEntry.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            raise SettingsError(
                f"{var}: expected {form}; entry {index} in '{path}': {where}: {first['msg']}"
            ) from None
        if entry.app_id in seen:
            raise SettingsError(
                f"{var}: expected unique app_id values; '{entry.app_id}' repeats in '{path}'"
            )
        seen.add(entry.app_id)
        if entry.secret_env is not None:
            secret = environ.get(entry.secret_env, "")
            if not secret:
                raise SettingsError(
                    f"{entry.secret_env}: expected the app secret of account '{entry.app_id}' "
                    f"(named by secret_env in {var}), but it is not set"
                )
            accounts.append(Account(app_id=entry.app_id, name=entry.name, secret=SecretStr(secret)))
            continue
        env = entry.authorizer_refresh_token_env
        assert env is not None  # one of the two, checked by _AccountEntry
        refresh = environ.get(env, "")
        if not refresh:
            raise SettingsError(
                f"{env}: expected the authorizer refresh token of account '{entry.app_id}' "
                f"(named by authorizer_refresh_token_env in {var}), but it is not set"
            )
        accounts.append(
            Account(
                app_id=entry.app_id,
                name=entry.name,
                refresh_token=SecretStr(refresh),
                refresh_token_env=env,
            )
        )
    return tuple(accounts)


def _one_line(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    expected = _EXPECTED.get(field)
    if expected is None:  # not a field error we know; still one line
        return f"{env_name(field) if field else 'settings'}: {first['msg']}"
    if field in _SECRET_FIELDS:
        return f"{env_name(field)}: expected {expected}"
    got = first.get("input")
    shown = _redact_userinfo(got if isinstance(got, str) else str(got))
    return f"{env_name(field)}: expected {expected}, got {shown!r}"


def _redact_userinfo(value: str) -> str:
    # A URL's password must not reach the terminal, even from a malformed URL.
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", value)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings from the environment (plus overrides), uncached."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, validated on first use. Tests reset with `cache_clear()`."""
    return load_settings()
