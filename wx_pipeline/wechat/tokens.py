"""Access tokens: one per account, cached, refreshed before expiry, one refresh in flight.

``TokenManager`` is the one interface the client's calls get tokens from, whatever the
account's credential kind; a ``TokenSource`` per kind issues them: ``AppSecretTokens`` here for
accounts with their own AppSecret, ``PlatformTokens`` (``component.py``) for accounts that
authorised the agency's third-party platform.

Two token APIs exist for an AppSecret (spec section 5):

* ``stable`` (``POST /cgi-bin/stable_token``, the default): the API itself hands every caller
  the same token while it is valid and rolls it over 5 minutes before expiry, so processes of a
  run share it without any help; the process keeps it in memory.
* ``token`` (``GET /cgi-bin/token``): every call issues a *new* token and supersedes the old
  one (after a 5-minute overlap), so two processes fetching independently keep breaking each
  other (40001). Processes of one run therefore share the token through a small file under
  ``$WX_HOME/tokens`` guarded by an exclusive ``flock``: the first process fetches and writes,
  the others read. The file is mode 0600; it holds a live credential.

Refreshing: a token is replaced once it is inside the 5-minute rollover window, or when the API
rejects it (40001/40014/42001). A per-account ``asyncio.Lock`` keeps one refresh in flight;
callers that waited get the token the first one fetched, not a refresh of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final, Protocol

from wx_pipeline.core.settings import Account, CredentialKind
from wx_pipeline.wechat.errors import ConfigurationError, WeChatError
from wx_pipeline.wechat.redaction import register_secret

#: Tokens are replaced this long before they expire (stable_token rolls over then too).
ROLLOVER: Final = timedelta(minutes=5)


class TokenMode(StrEnum):
    STABLE = "stable"  # /cgi-bin/stable_token
    TOKEN = "token"  # /cgi-bin/token


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: datetime

    def usable(self, now: datetime) -> bool:
        return now < self.expires_at - ROLLOVER


#: Fetches a token from the API; ``force`` asks stable_token for a new one (rate-limited).
Issuer = Callable[[Account, bool], Awaitable[AccessToken]]
CacheKey = tuple[str, str, str]  # (base_url, source tag, app_id)


class TokenSource(Protocol):
    """Where the tokens of one credential kind come from (``TokenManager`` picks the source by
    the account's ``credential_kind``; nothing above the manager knows there are two)."""

    #: Part of the cache key: tokens of different sources never stand in for each other.
    tag: str

    async def issue(self, account: Account, rejected: str | None) -> AccessToken:
        """A token for ``account`` other than ``rejected`` (which the API just refused)."""
        ...


class TokenCache:
    """Tokens held by the process, shared by every client in it."""

    def __init__(self) -> None:
        self._tokens: dict[CacheKey, AccessToken] = {}

    def get(self, key: CacheKey) -> AccessToken | None:
        return self._tokens.get(key)

    def put(self, key: CacheKey, token: AccessToken) -> None:
        self._tokens[key] = token

    def drop(self, key: CacheKey) -> None:
        self._tokens.pop(key, None)

    def clear(self) -> None:
        self._tokens.clear()

    def __repr__(self) -> str:
        return f"TokenCache({len(self._tokens)} tokens)"


#: The process-wide cache clients use unless given their own.
PROCESS_TOKENS: Final = TokenCache()


class AppSecretTokens:
    """Tokens from the account's own AppSecret: ``stable_token`` or ``token`` (see the module
    docstring for how processes share the latter)."""

    def __init__(
        self,
        *,
        base_url: str,
        mode: TokenMode,
        issue: Issuer,
        clock: Callable[[], datetime],
        shared_dir: Path | None = None,
    ) -> None:
        self.tag = mode.value
        self._base_url = base_url
        self._mode = mode
        self._issue = issue
        self._clock = clock
        self._shared_dir = shared_dir if mode is TokenMode.TOKEN else None

    def __repr__(self) -> str:
        return f"AppSecretTokens(mode={self._mode.value})"

    async def issue(self, account: Account, rejected: str | None) -> AccessToken:
        if self._shared_dir is not None:
            return await self._obtain_shared(account, rejected, self._shared_dir)
        token = await self._issue(account, False)
        if self._mode is TokenMode.STABLE and token.value == rejected:
            # stable_token still hands out the token the API refuses: force a new one.
            token = await self._issue(account, True)
        return token

    async def _obtain_shared(
        self, account: Account, rejected: str | None, directory: Path
    ) -> AccessToken:
        url_tag = hashlib.sha256(self._base_url.encode()).hexdigest()[:8]
        path = directory / f"{account.app_id}-{url_tag}.json"
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_suffix(".lock")) as acquire:
            await asyncio.to_thread(acquire)
            token = _read_token(path)
            if token is not None:
                register_secret(token.value)
                if token.value != rejected and token.usable(self._clock()):
                    return token
            token = await self._issue(account, False)
            _write_token(path, token)
            return token


class TokenManager:
    """Hands out a valid token per account, for the lifetime of a client, whatever the
    account's credential kind: the one interface the client's calls get tokens from."""

    def __init__(
        self,
        *,
        base_url: str,
        sources: Mapping[CredentialKind, TokenSource],
        clock: Callable[[], datetime],
        cache: TokenCache,
    ) -> None:
        self._base_url = base_url
        self._sources = dict(sources)
        self._clock = clock
        self._cache = cache
        # asyncio locks belong to one event loop; each fetch_*_sync call runs a new one.
        self._locks: dict[str, asyncio.Lock] = {}
        self._locks_loop: asyncio.AbstractEventLoop | None = None
        # A configuration error is final for this client: later callers fail without a call.
        self._failed: dict[str, WeChatError] = {}

    def __repr__(self) -> str:
        sources = ", ".join(f"{kind}={s.tag}" for kind, s in self._sources.items())
        return f"TokenManager({sources}, cache={self._cache!r})"

    def _source(self, account: Account) -> TokenSource:
        source = self._sources.get(account.credential_kind)
        if source is None:
            raise ConfigurationError(
                f"account {account.name!r} ({account.app_id}): no way to get its token: "
                "an account authorised to the platform needs WX_COMPONENT_* settings and the "
                "warehouse's credential store"
            )
        return source

    def _key(self, account: Account) -> CacheKey:
        return (self._base_url, self._source(account).tag, account.app_id)

    def _lock(self, account: Account) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if loop is not self._locks_loop:
            self._locks, self._locks_loop = {}, loop
        return self._locks.setdefault(account.app_id, asyncio.Lock())

    def _cached(self, account: Account, *, not_this: str | None = None) -> str | None:
        token = self._cache.get(self._key(account))
        if token is not None and token.value != not_this and token.usable(self._clock()):
            return token.value
        return None

    def failure(self, app_id: str) -> WeChatError | None:
        """The configuration error that stopped the account's tokens (a wrong secret, a revoked
        authorisation), if any: no call of that account is worth making any more."""
        return self._failed.get(app_id)

    async def get(self, account: Account) -> str:
        """A token usable for the next few minutes."""
        if (value := self._cached(account)) is not None:
            return value
        async with self._lock(account):
            if (value := self._cached(account)) is not None:
                return value
            return await self._obtain(account, rejected=None)

    async def refresh(self, account: Account, rejected: str) -> str:
        """A token other than ``rejected``, which the API just refused."""
        async with self._lock(account):
            if (value := self._cached(account, not_this=rejected)) is not None:
                return value  # another task refreshed while this one waited
            self._cache.drop(self._key(account))
            return await self._obtain(account, rejected=rejected)

    async def _obtain(self, account: Account, rejected: str | None) -> str:
        failed = self._failed.get(account.app_id)
        if failed is not None:
            raise failed.with_traceback(None)
        try:
            token = await self._source(account).issue(account, rejected)
        except ConfigurationError as exc:
            self._failed[account.app_id] = exc
            raise
        register_secret(token.value)
        self._cache.put(self._key(account), token)
        return token.value


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[Callable[[], None]]:
    """An open lock file; call the yielded function (off the loop) to take the lock."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield lambda: fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)  # releases the lock


def _read_token(path: Path) -> AccessToken | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return AccessToken(str(data["access_token"]), datetime.fromisoformat(data["expires_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or unreadable: fetch a new one


def _write_token(path: Path, token: AccessToken) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"access_token": token.value, "expires_at": token.expires_at.isoformat()}, fh)
    os.replace(tmp, path)
