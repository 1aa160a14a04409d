"""Tokens of accounts that authorised the agency's third-party platform (a "component").

The chain (WeChat's Open Platform documentation, "Third-party Platforms 2.0" and "ticket-token"):

* ``component_verify_ticket``: pushed by WeChat every 10 minutes to the platform's
  authorisation event URL; ``wx-pipeline component-receiver`` (or ``component-ticket store``)
  puts it in the credential store. The newest one is used; when WeChat refuses it (61005
  expired, 61006 invalid), the last one that worked.
* ``component_access_token``: ``POST /cgi-bin/component/api_component_token`` with the
  platform's app id, AppSecret and the ticket; one per platform, shared by all its accounts.
* ``authorizer_access_token``: ``POST /cgi-bin/component/api_authorizer_token`` with the
  account's refresh token; the datacube takes it in place of the account's own token. An
  answer's ``authorizer_refresh_token`` replaces the stored one at once.

Every one of these lives in a ``CredentialStore`` shared by every process (the warehouse's
``wechat_meta.component_credentials``): a process reads the current token without a lock and,
when it must get a new one, takes the store's lock for that token (one per platform, one per
account), reads again (another process may have just refreshed) and only then calls WeChat, so
processes never supersede each other's tokens or use a refresh token that was just replaced.
Tokens are replaced inside the last ``ROLLOVER`` before expiry and once when the API rejects
them; the refresh token configured in the environment seeds the store, and a newer one in the
store wins until the configured one changes (a new authorisation).

An account that revoked the platform (an ``unauthorized`` event, or its refresh token refused)
fails alone with one line and is not called again (``AuthorizationRevokedError``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from wx_pipeline.core.settings import BEIJING, Account, Component
from wx_pipeline.wechat.errors import (
    TOKEN_CODES,
    AuthorizationRevokedError,
    CallContext,
    ConfigurationError,
    MalformedResponseError,
    TokenRejectedError,
    TransientError,
    component_error_for,
    revoked_error,
)
from wx_pipeline.wechat.redaction import register_secret
from wx_pipeline.wechat.tokens import AccessToken

COMPONENT_TOKEN_PATH: Final = "/cgi-bin/component/api_component_token"
AUTHORIZER_TOKEN_PATH: Final = "/cgi-bin/component/api_authorizer_token"
#: How long WeChat accepts a ticket after pushing it.
TICKET_LIFETIME: Final = timedelta(hours=12)
#: WeChat's answers to a ticket it will not take: try the last one that worked instead.
TICKET_REFUSED: Final = frozenset({61005, 61006})

# What the store holds (its ``kind`` column); every value is a live secret.
TICKET: Final = "verify_ticket"  # the newest ticket pushed; expires_at = pushed + 12 h
GOOD_TICKET: Final = "verify_ticket_good"  # the last ticket that got a component token
COMPONENT_TOKEN: Final = "component_access_token"
REFRESH_TOKEN: Final = "authorizer_refresh_token"
AUTHORIZER_TOKEN: Final = "authorizer_access_token"

# Authorisation events: WeChat's InfoTypes, and the pipeline's own.
AUTHORIZED: Final = "authorized"
UPDATE_AUTHORIZED: Final = "updateauthorized"
UNAUTHORIZED: Final = "unauthorized"
REFRESH_REJECTED: Final = "refresh_token_rejected"  # WeChat refused the refresh token
REFRESH_CONFIGURED: Final = "refresh_token_configured"  # a new one came from the environment
WECHAT_EVENTS: Final = frozenset({AUTHORIZED, UPDATE_AUTHORIZED, UNAUTHORIZED})
#: Events after which the account is revoked until a newer event says otherwise.
REVOKING: Final = frozenset({UNAUTHORIZED, REFRESH_REJECTED})

#: The store key of platform-wide credentials (tickets, the component token).
PLATFORM: Final = ""
#: Refreshes in flight per process: each holds a warehouse connection (its lock) while WeChat
#: answers, and the pool is shared with the loads.
REFRESHES_IN_FLIGHT: Final = 4
#: How often a process waiting for another one's refresh looks again, and for how long at most.
LOCK_POLL_SECONDS: Final = 0.05
LOCK_WAIT_SECONDS: Final = 600.0


@dataclass(frozen=True)
class Stored:
    """One credential as the store holds it."""

    value: str = field(repr=False)
    expires_at: datetime | None = None
    #: Refresh tokens: the fingerprint of the configured token this one descends from.
    seed: str | None = None

    def usable(self, now: datetime, *, not_this: str | None = None) -> bool:
        return (
            self.value != not_this
            and self.expires_at is not None
            and AccessToken(self.value, self.expires_at).usable(now)
        )


@dataclass(frozen=True)
class AuthorizationEvent:
    """The newest authorisation event of an account (see the event names above)."""

    event: str
    at: datetime  # when it was received or happened
    detail: str | None = None

    @property
    def revoked(self) -> bool:
        return self.event in REVOKING


class HeldCredentials(Protocol):
    """The credentials of one key (the platform's, or one account's) while this process holds
    the store's lock on them; ``release`` ends it."""

    def get(self, kind: str) -> Stored | None: ...

    def put(self, kind: str, credential: Stored) -> None: ...

    def record(self, event: str, detail: str | None = None) -> None:
        """Record an authorisation event of this key's account."""

    def release(self) -> None: ...


class CredentialStore(Protocol):
    """Platform credentials shared between processes (the warehouse implements it in
    ``warehouse/component.py``). Blocking: the client calls it off the event loop."""

    def get(
        self, component_app_id: str, kind: str, authorizer_app_id: str = PLATFORM
    ) -> Stored | None:
        """The current credential, read without a lock."""

    def try_hold(
        self, component_app_id: str, authorizer_app_id: str = PLATFORM
    ) -> HeldCredentials | None:
        """Take the lock on the key's credentials, or None at once when another process
        holds it (the caller waits without blocking a thread, then tries again)."""

    def latest_event(
        self, component_app_id: str, authorizer_app_id: str
    ) -> AuthorizationEvent | None:
        """The account's newest authorisation event, if any."""


def fingerprint(value: str) -> str:
    """A short one-way fingerprint of a configured refresh token: tells whether the one in the
    environment changed without keeping it twice."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


#: Sends one platform token call: (account, path, query, JSON body, context) -> the answer's
#: JSON (transient failures already retried by the client).
PlatformCall = Callable[
    [Account, str, dict[str, str], dict[str, Any], CallContext], Awaitable[dict[str, Any]]
]


class PlatformTokens:
    """The ``TokenSource`` of accounts authorised to the platform (see the module docstring)."""

    def __init__(
        self,
        *,
        component: Component,
        store: CredentialStore,
        call: PlatformCall,
        clock: Callable[[], datetime],
    ) -> None:
        self.component = component
        self.tag = f"platform:{component.app_id}"
        self._store = store
        self._call = call
        self._clock = clock
        register_secret(
            component.secret.get_secret_value(),
            component.token.get_secret_value(),
            component.aes_key.get_secret_value(),
        )
        # The component token is the platform's: one per process, shared by all accounts.
        self._component_token: Stored | None = None
        self._loop_state: _LoopState | None = None
        # A configuration error of the platform holds for every account: (code, errmsg).
        self._component_failed: tuple[int, str] | None = None

    def __repr__(self) -> str:
        return f"PlatformTokens(component={self.component.app_id})"

    # --- the TokenSource ---------------------------------------------------------------------

    async def issue(self, account: Account, rejected: str | None) -> AccessToken:
        context = self._context(account, "authorizer access token")
        # After a revocation, a newly configured refresh token is let through, but the access
        # token stored from before it died with the authorisation.
        reauthorised = await self._refuse_if_revoked(account, context)
        cid = self.component.app_id
        stored = await asyncio.to_thread(self._store.get, cid, AUTHORIZER_TOKEN, account.app_id)
        if (
            not reauthorised
            and stored is not None
            and stored.usable(self._clock(), not_this=rejected)
        ):
            return self._token(stored)
        async with self._state().refreshing:
            held = await self._hold(account.app_id, context)
            try:
                if reauthorised:  # unless another process got one since
                    latest = await asyncio.to_thread(self._store.latest_event, cid, account.app_id)
                    reauthorised = latest is not None and latest.revoked
                stored = await asyncio.to_thread(held.get, AUTHORIZER_TOKEN)
                if (
                    not reauthorised
                    and stored is not None
                    and stored.usable(self._clock(), not_this=rejected)
                ):
                    return self._token(stored)  # another process refreshed meanwhile
                refresh = await asyncio.to_thread(self._refresh_token, account, held)
                return await self._authorizer_token(account, refresh, held, context)
            finally:
                await asyncio.to_thread(held.release)

    async def _hold(self, key: str, context: CallContext) -> HeldCredentials:
        """The store's lock on ``key``, waited for without blocking a thread."""
        waited = 0.0
        while True:
            held = await asyncio.to_thread(self._store.try_hold, self.component.app_id, key)
            if held is not None:
                return held
            if waited >= LOCK_WAIT_SECONDS:
                raise TransientError(
                    f"{context.describe()}: another process has been refreshing this token for "
                    f"{waited:.0f}s",
                    context,
                )
            await asyncio.sleep(LOCK_POLL_SECONDS)
            waited += LOCK_POLL_SECONDS

    # --- authorizer tokens -------------------------------------------------------------------

    async def _refuse_if_revoked(self, account: Account, context: CallContext) -> bool:
        """Raise the account's one line when its newest event revoked the platform, unless a
        refresh token was configured since: then True (its tokens are to be got anew)."""
        cid = self.component.app_id
        latest = await asyncio.to_thread(self._store.latest_event, cid, account.app_id)
        if latest is None or not latest.revoked:
            return False
        seed = self._seed(account)
        stored = await asyncio.to_thread(self._store.get, cid, REFRESH_TOKEN, account.app_id)
        if stored is not None and stored.seed != seed:
            # A refresh token configured after the one the store holds (a new authorisation):
            # it deserves one try (a refusal is recorded, and the account is refused here again).
            return True
        if stored is None:
            # Revoked before any token was got: the configured refresh token is the one the
            # revocation voided. Kept, so that one configured later is recognised as new.
            held = await self._hold(account.app_id, context)
            try:
                if await asyncio.to_thread(held.get, REFRESH_TOKEN) is None:
                    configured = Stored(self._configured(account), seed=seed)
                    await asyncio.to_thread(held.put, REFRESH_TOKEN, configured)
            finally:
                await asyncio.to_thread(held.release)
        when = latest.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        why = (
            f"an unauthorized event was received {when} Beijing"
            if latest.event == UNAUTHORIZED
            else f"WeChat refused its refresh token {when} Beijing"
        )
        raise revoked_error(context, why, refresh_token_env=account.refresh_token_env)

    def _configured(self, account: Account) -> str:
        """The refresh token the environment gives (registered: never shown)."""
        assert account.refresh_token is not None  # a platform account has one
        configured = account.refresh_token.get_secret_value()
        register_secret(configured)
        return configured

    def _seed(self, account: Account) -> str:
        return fingerprint(self._configured(account))

    def _refresh_token(self, account: Account, held: HeldCredentials) -> Stored:
        """The refresh token to use: the store's, unless the configured one changed."""
        configured = self._configured(account)
        stored = held.get(REFRESH_TOKEN)
        if stored is not None and stored.seed == self._seed(account):
            register_secret(stored.value)
            return stored
        stored = Stored(configured, seed=self._seed(account))
        held.put(REFRESH_TOKEN, stored)
        held.record(REFRESH_CONFIGURED)
        return stored

    async def _authorizer_token(
        self, account: Account, refresh: Stored, held: HeldCredentials, context: CallContext
    ) -> AccessToken:
        body: dict[str, Any] = {
            "component_appid": self.component.app_id,
            "authorizer_appid": account.app_id,
            "authorizer_refresh_token": refresh.value,
        }
        component_token = await self._component(account, rejected=None)
        answer = await self._authorizer_call(account, component_token, body, context)
        if _errcode(answer) in TOKEN_CODES:
            # The component token died (expired, superseded): one new one, one more try.
            component_token = await self._component(account, rejected=component_token)
            answer = await self._authorizer_call(account, component_token, body, context)
            if (code := _errcode(answer)) in TOKEN_CODES:
                raise TokenRejectedError(
                    f"{context.describe()}: component access token rejected again right after "
                    f"a refresh ({code})",
                    context,
                    errcode=code,
                    errmsg=_errmsg(answer),
                )
        if code := _errcode(answer):
            error = component_error_for(
                code, _errmsg(answer), context, refresh_token_env=account.refresh_token_env
            )
            if isinstance(error, AuthorizationRevokedError):
                await asyncio.to_thread(held.record, REFRESH_REJECTED, f"errcode {code}")
            raise error
        token = self._token_from(answer, "authorizer_access_token", context)
        await asyncio.to_thread(held.put, AUTHORIZER_TOKEN, Stored(token.value, token.expires_at))
        newer = answer.get("authorizer_refresh_token")
        if isinstance(newer, str) and newer and newer != refresh.value:
            register_secret(newer)
            # Stored at once: WeChat may have retired the one just used.
            await asyncio.to_thread(held.put, REFRESH_TOKEN, Stored(newer, seed=refresh.seed))
        return token

    async def _authorizer_call(
        self, account: Account, component_token: str, body: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        query = {"component_access_token": component_token}
        return await self._call(account, AUTHORIZER_TOKEN_PATH, query, body, context)

    # --- the component token -----------------------------------------------------------------

    def _state(self) -> _LoopState:
        # asyncio primitives belong to one event loop; each fetch_*_sync call runs a new one.
        loop = asyncio.get_running_loop()
        if self._loop_state is None or self._loop_state.loop is not loop:
            self._loop_state = _LoopState(
                loop, asyncio.Lock(), asyncio.Semaphore(REFRESHES_IN_FLIGHT)
            )
        return self._loop_state

    async def _component(self, account: Account, rejected: str | None) -> str:
        """The platform's component access token, other than ``rejected``."""
        context = self._context(account, "component access token")
        async with self._state().component:
            if self._component_failed is not None:
                code, errmsg = self._component_failed
                raise component_error_for(code, errmsg, context)
            mine = self._component_token
            if mine is not None and mine.usable(self._clock(), not_this=rejected):
                return mine.value
            cid = self.component.app_id
            stored = await asyncio.to_thread(self._store.get, cid, COMPONENT_TOKEN)
            if stored is None or not stored.usable(self._clock(), not_this=rejected):
                held = await self._hold(PLATFORM, context)
                try:
                    stored = await asyncio.to_thread(held.get, COMPONENT_TOKEN)
                    if stored is None or not stored.usable(self._clock(), not_this=rejected):
                        stored = await self._new_component_token(account, held, context)
                finally:
                    await asyncio.to_thread(held.release)
            register_secret(stored.value)
            self._component_token = stored
            return stored.value

    async def _new_component_token(
        self, account: Account, held: HeldCredentials, context: CallContext
    ) -> Stored:
        newest, good = await asyncio.to_thread(lambda: (held.get(TICKET), held.get(GOOD_TICKET)))
        tickets = [t.value for t in (newest, good) if t is not None]
        tickets = list(dict.fromkeys(tickets))  # the newest first, the last good one second
        if not tickets:
            raise ConfigurationError(
                f"{context.describe()}: no component_verify_ticket received yet: WeChat pushes "
                "one every 10 minutes to the platform's authorisation event URL; run wx-pipeline "
                "component-receiver there, or feed the tickets your platform server receives "
                "to wx-pipeline component-ticket store",
                context,
            )
        register_secret(*tickets)
        answer: dict[str, Any] = {}
        for number, ticket in enumerate(tickets, start=1):
            answer = await self._call(
                account,
                COMPONENT_TOKEN_PATH,
                {},
                {
                    "component_appid": self.component.app_id,
                    "component_appsecret": self.component.secret.get_secret_value(),
                    "component_verify_ticket": ticket,
                },
                context,
            )
            code = _errcode(answer)
            if code in TICKET_REFUSED and number < len(tickets):
                continue  # the newest was refused: the last good one may still work
            if code:
                error = component_error_for(code, _errmsg(answer), context)
                if isinstance(error, ConfigurationError):
                    self._component_failed = (code, _errmsg(answer))
                raise error
            token = self._token_from(answer, "component_access_token", context)
            stored = Stored(token.value, token.expires_at)
            await asyncio.to_thread(held.put, COMPONENT_TOKEN, stored)
            await asyncio.to_thread(held.put, GOOD_TICKET, Stored(ticket))
            return stored
        raise AssertionError("unreachable: the last ticket's answer returns or raises")

    # --- helpers -----------------------------------------------------------------------------

    def _context(self, account: Account, credential: str) -> CallContext:
        return CallContext(account.app_id, account.name, platform=True, credential=credential)

    def _token(self, stored: Stored) -> AccessToken:
        register_secret(stored.value)
        assert stored.expires_at is not None  # usable() checked it
        return AccessToken(stored.value, stored.expires_at)

    def _token_from(self, answer: dict[str, Any], name: str, context: CallContext) -> AccessToken:
        value, expires_in = answer.get(name), answer.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires_in, int):
            raise MalformedResponseError(
                f"{context.describe()}: token answer lacks {name}/expires_in", context
            )
        register_secret(value)
        return AccessToken(value, self._clock() + timedelta(seconds=expires_in))


@dataclass
class _LoopState:
    loop: asyncio.AbstractEventLoop
    component: asyncio.Lock  # one component token refresh in flight
    refreshing: asyncio.Semaphore  # REFRESHES_IN_FLIGHT


def _errcode(body: dict[str, Any]) -> int:
    code = body.get("errcode", 0)
    return code if isinstance(code, int) else -1


def _errmsg(body: dict[str, Any]) -> str:
    return str(body.get("errmsg", ""))
