"""What a simulator run is made of: its accounts, its fault rates and its settings."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from wx_pipeline.core.errors import WxUserError


class SimulatorConfigError(WxUserError):
    """A bad simulator option or accounts file; one line for the CLI."""


@dataclass(frozen=True)
class SimAccount:
    """One simulated Official Account. ``followers`` is its size around late 2025."""

    app_id: str
    secret: str
    name: str
    followers: int
    ip_whitelist: tuple[str, ...] = ()  # empty: any caller allowed


@dataclass(frozen=True)
class SimAuthorizer:
    """An account that authorised the simulated third-party platform."""

    app_id: str
    refresh_token: str
    #: Whether it granted the permission set holding the datacube (48001 on every call if not).
    datacube: bool = True
    #: The account revokes the platform once this many of its datacube calls were answered (a
    #: revocation in the middle of a run); None: never.
    revoke_after_calls: int | None = None


@dataclass(frozen=True)
class SimComponent:
    """The simulated WeChat Open Platform third-party platform ("component")."""

    app_id: str
    secret: str
    token: str  # signs the pushes to the authorisation event URL
    aes_key: str  # EncodingAESKey: 43 characters
    authorizers: tuple[SimAuthorizer, ...] = ()
    ip_whitelist: tuple[str, ...] = ()  # the platform's: empty, any caller allowed
    #: Hand out a new refresh token with every authorizer token (the old one then fails 61023),
    #: as WeChat may: a client must store the newest at once.
    rotate_refresh_tokens: bool = False

    def __post_init__(self) -> None:
        if len(self.aes_key) != 43:
            raise SimulatorConfigError("the component's aes_key must be 43 characters")
        ids = [a.app_id for a in self.authorizers]
        if len(set(ids)) != len(ids):
            raise SimulatorConfigError("the component's authorizers repeat an app id")


@dataclass(frozen=True)
class FaultConfig:
    """Injected failures, each with its own rate (0.0 = off); decided per datacube call."""

    system_busy: float = 0.0  # errcode -1
    minute_limit: float = 0.0  # errcode 45011
    not_ready: float = 0.0  # errcode 61503
    http_500: float = 0.0
    http_502: float = 0.0
    http_503: float = 0.0
    slow: float = 0.0  # delay the (otherwise normal) answer by slow_seconds
    slow_seconds: float = 2.0
    reset: float = 0.0  # connection closed mid-body
    truncated: float = 0.0  # complete HTTP response whose JSON body is cut short
    invalidate_token_every: int | None = None  # the account's token dies every N datacube calls

    def __post_init__(self) -> None:
        rates = {f.name: getattr(self, f.name) for f in fields(self) if f.name in RATE_FIELDS}
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise SimulatorConfigError(f"fault rate {name} must be within 0..1, got {rate}")
        exclusive = sum(rate for name, rate in rates.items() if name != "slow")
        if exclusive > 1.0:
            raise SimulatorConfigError(f"fault rates add up to {exclusive:.3f}, more than 1")
        if self.slow_seconds < 0:
            raise SimulatorConfigError("slow_seconds must be >= 0")
        if self.invalidate_token_every is not None and self.invalidate_token_every < 1:
            raise SimulatorConfigError("invalidate_token_every must be >= 1")

    @property
    def any(self) -> bool:
        return any(getattr(self, name) for name in RATE_FIELDS) or bool(self.invalidate_token_every)


#: Rates of faults that replace the answer, in the order a draw is matched against them.
EXCLUSIVE_FAULTS: tuple[str, ...] = (
    "system_busy",
    "minute_limit",
    "not_ready",
    "http_500",
    "http_502",
    "http_503",
    "reset",
    "truncated",
)
RATE_FIELDS: frozenset[str] = frozenset({*EXCLUSIVE_FAULTS, "slow"})


@dataclass
class SimulatorConfig:
    """Everything a simulator run depends on; same config + same calls = same answers."""

    seed: int = 0
    now: datetime | None = None  # tz-aware; None = the real clock
    accounts: list[SimAccount] | None = None  # None = demo_accounts(seed)
    faults: FaultConfig = field(default_factory=FaultConfig)
    legacy_retired_from: date | None = None  # legacy article endpoints answer 47009 from then
    daily_quota: int = 1000  # per account, endpoint and Beijing day -> 45009
    minute_quota: int | None = None  # per account, endpoint and minute -> 45011
    token_ttl: int = 7200
    span_overrides: dict[str, int] = field(default_factory=dict)
    #: With ``now`` set, whether the clock then runs in real time (the CLI) or stands still
    #: until ``advance()`` (tests: reproducible quota minutes and token expiry).
    now_ticks: bool = False
    #: Added to every datacube answer, as a real API's network and processing time would be.
    latency_ms: float = 0.0
    #: A third-party platform the accounts in ``component.authorizers`` authorised.
    component: SimComponent | None = None
    #: Where to push verify tickets (and authorisation events), as WeChat does to the
    #: platform's authorisation event URL: once at start, then every ``push_every`` seconds.
    push_ticket_to: str | None = None
    push_every: float | None = None
    #: Days WeChat restated after first publishing them: day -> revision (see
    #: ``data.common.Revisions``); ``SimulatorServer.restate`` changes them while serving.
    revisions: dict[date, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.now is not None and self.now.tzinfo is None:
            raise SimulatorConfigError("SimulatorConfig.now must be timezone-aware")
        if self.daily_quota < 1 or (self.minute_quota is not None and self.minute_quota < 1):
            raise SimulatorConfigError("quotas must be >= 1")
        if self.token_ttl < 1:
            raise SimulatorConfigError("token_ttl must be >= 1")
        if self.latency_ms < 0:
            raise SimulatorConfigError("latency_ms must be >= 0")
        if self.push_ticket_to is not None and self.component is None:
            raise SimulatorConfigError("push_ticket_to needs a component")
        if self.push_every is not None and self.push_every <= 0:
            raise SimulatorConfigError("push_every must be > 0 seconds")
        if any(r < 0 for r in self.revisions.values()):
            raise SimulatorConfigError("revisions must be >= 0")

    def resolved_accounts(self) -> list[SimAccount]:
        accounts = demo_accounts(self.seed) if self.accounts is None else list(self.accounts)
        ids = [a.app_id for a in accounts]
        if not accounts or len(set(ids)) != len(ids):
            raise SimulatorConfigError("the simulator needs accounts with unique app ids")
        strangers = (
            {a.app_id for a in self.component.authorizers} - set(ids) if self.component else set()
        )
        if strangers:
            raise SimulatorConfigError(f"authorizers without an account: {sorted(strangers)}")
        return accounts


def _hex(seed: int, label: str, length: int) -> str:
    digest = hashlib.blake2b(f"{seed}:{label}".encode(), digest_size=32).hexdigest()
    return digest[:length]


def demo_accounts(seed: int) -> list[SimAccount]:
    """Three accounts of different sizes, ids and secrets derived from the seed."""
    sizes = (("demo-small", 3_200), ("demo-medium", 82_000), ("demo-large", 1_480_000))
    return [
        SimAccount(
            app_id="wx" + _hex(seed, f"appid:{name}", 16),
            secret=_hex(seed, f"secret:{name}", 32),
            name=name,
            followers=followers,
        )
        for name, followers in sizes
    ]


def demo_component(
    seed: int, accounts: list[SimAccount], refresh_tokens: dict[str, str] | None = None
) -> SimComponent:
    """A platform every one of ``accounts`` authorised, credentials derived from the seed
    (refresh tokens from ``refresh_tokens`` where given)."""
    given = refresh_tokens or {}
    return SimComponent(
        app_id="wx" + _hex(seed, "component:appid", 16),
        secret=_hex(seed, "component:secret", 32),
        token=_hex(seed, "component:token", 32),
        aes_key=_hex(seed, "component:aes", 64)[:43],
        authorizers=tuple(
            SimAuthorizer(
                a.app_id,
                given.get(a.app_id) or "refreshtoken@@@" + _hex(seed, f"refresh:{a.app_id}", 40),
            )
            for a in accounts
        ),
    )


def load_accounts_file(path: Path, environ: dict[str, str] | None = None) -> list[SimAccount]:
    """Accounts from YAML: a list of ``{app_id, name, secret | secret_env, followers?,
    ip_whitelist?}``; the project's own accounts file (``secret_env``) works as is, and so do
    its platform entries (``authorizer_refresh_token_env``: see ``load_refresh_tokens``)."""
    env = dict(os.environ) if environ is None else environ
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SimulatorConfigError(f"cannot read accounts file {path}: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise SimulatorConfigError(f"accounts file {path}: expected a non-empty YAML list")
    accounts: list[SimAccount] = []
    for index, entry in enumerate(raw, start=1):
        where = f"accounts file {path}, entry {index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("app_id"), str):
            raise SimulatorConfigError(f"{where}: expected a mapping with an app_id")
        secret = entry.get("secret")
        if secret is None and isinstance(entry.get("secret_env"), str):
            secret = env.get(entry["secret_env"])
        if secret is None and _refresh_token(entry, env):
            secret = _hex(0, f"secret:{entry['app_id']}", 32)  # an authorizer: never used
        if not isinstance(secret, str) or not secret:
            raise SimulatorConfigError(f"{where}: expected secret (or secret_env set)")
        followers = entry.get("followers", 50_000)
        whitelist = entry.get("ip_whitelist", [])
        if not isinstance(followers, int) or followers < 0 or not isinstance(whitelist, list):
            raise SimulatorConfigError(f"{where}: followers must be an int, ip_whitelist a list")
        accounts.append(
            SimAccount(
                app_id=entry["app_id"],
                secret=secret,
                name=str(entry.get("name", entry["app_id"])),
                followers=followers,
                ip_whitelist=tuple(str(ip) for ip in whitelist),
            )
        )
    return accounts


def _refresh_token(entry: dict[str, Any], env: dict[str, str]) -> str | None:
    token = entry.get("authorizer_refresh_token")
    if token is None and isinstance(entry.get("authorizer_refresh_token_env"), str):
        token = env.get(entry["authorizer_refresh_token_env"])
    return token if isinstance(token, str) and token else None


def load_refresh_tokens(path: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The authorizer refresh tokens an accounts file gives (``authorizer_refresh_token`` or
    ``authorizer_refresh_token_env``), per app id."""
    env = dict(os.environ) if environ is None else environ
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict) and (token := _refresh_token(entry, env)):
            found[str(entry.get("app_id"))] = token
    return found
