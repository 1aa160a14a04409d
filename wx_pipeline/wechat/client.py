"""The datacube client: fetch an account's endpoint over a date range with the fewest calls.

A ``Job`` is one (account, endpoint, range): the client clamps the range to what the endpoint
can answer (its first date, the configured start, the newest final day of
``wx_pipeline/core/clock.py``; whole final periods for week/month endpoints) and splits it
with the registry's ``plan_windows`` (the one definition of "fewest calls").
``DatacubeClient.fetch_windows`` fetches some windows of a job concurrently on one keep-alive
``httpx.AsyncClient`` and returns every raw response with its request; the streaming pass
(``pipeline/stream.py``) calls it chunk by chunk. WeChat limits calls per app id, so
concurrency is bounded per account (``WX_API_CONCURRENCY``) and, across all accounts, by a
global cap (``WX_API_GLOBAL_CONCURRENCY``) that keeps this machine and its connections in
bounds.

Failure paths (spec section 5) are typed in ``errors.py``; transient ones are retried
(``retry.py``) with tenacity (exponential backoff with jitter, bounded attempts and total time;
45011 waits for the next minute). Every datacube call is counted per account, endpoint and
Beijing day (``quota.py``); tokens come from ``tokens.py`` through one interface whatever the
account's credential kind (its own AppSecret, or the third-party platform it authorised:
``component.py``); secrets never leave ``redaction.py``'s reach.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any, TypeVar

import httpx

from wx_pipeline.core import clock as pipeline_clock
from wx_pipeline.core.settings import (
    BEIJING,
    DEFAULT_DATA_READY_TIME,
    Account,
    Component,
    CredentialKind,
    Settings,
)
from wx_pipeline.registry import DATA_START, Endpoint, Window, plan_windows, with_spans
from wx_pipeline.wechat import answers
from wx_pipeline.wechat.component import CredentialStore, PlatformTokens
from wx_pipeline.wechat.errors import (
    TOKEN_CODES,
    TRANSIENT_CODES,
    BudgetExceededError,
    CallContext,
    ConfigurationError,
    EndpointRetiredError,
    MalformedResponseError,
    QuotaExhaustedError,
    TokenRejectedError,
    TransientError,
    WeChatError,
    error_for,
)
from wx_pipeline.wechat.quota import CallCounter, CallKey, CallStore
from wx_pipeline.wechat.raw import RawResponse
from wx_pipeline.wechat.redaction import install_log_redaction, register_secret
from wx_pipeline.wechat.retry import Clock, RetryPolicy, Sleep, with_retries
from wx_pipeline.wechat.tokens import (
    PROCESS_TOKENS,
    AccessToken,
    AppSecretTokens,
    TokenCache,
    TokenManager,
    TokenMode,
    TokenSource,
)
from wx_pipeline.wechat.transport import DEFAULT_TIMEOUT, Session, exchange, http_client, send

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Job:
    """One unit of work: an account's endpoint over [first, last] (ref_dates requested)."""

    account: Account
    endpoint: Endpoint
    first: date
    last: date


@dataclass
class JobResult:
    """What one job produced: the responses it got (even when a later window failed)."""

    job: Job
    windows: list[Window]  # the calls the range needs after clamping; len() = minimum calls
    responses: list[RawResponse]
    errors: list[WeChatError] = field(default_factory=list)

    @property
    def error(self) -> WeChatError | None:
        return self.errors[0] if self.errors else None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def retired(self) -> bool:
        return isinstance(self.error, EndpointRetiredError)

    @property
    def minimum_calls(self) -> int:
        return len(self.windows)


class DatacubeClient:
    """Fetches datacube data for configured accounts; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        accounts: Sequence[Account] = (),
        *,
        span_overrides: Mapping[str, int] | None = None,
        token_mode: TokenMode | str = TokenMode.STABLE,
        concurrency: int = 4,
        global_concurrency: int = 32,
        daily_budget: int | None = None,
        start_date: date = DATA_START,
        ready_time: day_time = DEFAULT_DATA_READY_TIME,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Clock = pipeline_clock.now,
        sleep: Sleep = asyncio.sleep,
        token_cache: TokenCache = PROCESS_TOKENS,
        token_dir: Path | None = None,
        call_store: CallStore | None = None,
        component: Component | None = None,
        credential_store: CredentialStore | None = None,
    ) -> None:
        if concurrency < 1 or global_concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}/{global_concurrency}")
        install_log_redaction()
        self.base_url = base_url.rstrip("/")
        self.accounts = list(accounts)
        register_secret(
            *(
                credential.get_secret_value()
                for a in self.accounts
                for credential in (a.secret, a.refresh_token)
                if credential is not None
            )
        )
        self.endpoints = with_spans(span_overrides)
        self.token_mode = TokenMode(token_mode)
        self.concurrency = concurrency  # per account
        self.global_concurrency = global_concurrency
        self.start_date = start_date
        self.ready_time = ready_time
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.calls = CallCounter(daily_budget, call_store)
        self._clock = clock
        self._sleep = sleep
        self._session: Session | None = None
        sources: dict[CredentialKind, TokenSource] = {
            "app_secret": AppSecretTokens(
                base_url=self.base_url,
                mode=self.token_mode,
                issue=self._issue_token,
                clock=clock,
                shared_dir=token_dir,
            )
        }
        # Accounts authorised to the platform get their tokens through it, shared by every
        # process through the store; without both, TokenManager fails those accounts alone.
        if component is not None and credential_store is not None:
            sources["platform"] = PlatformTokens(
                component=component,
                store=credential_store,
                call=self._platform_call,
                clock=clock,
            )
        self.tokens = TokenManager(
            base_url=self.base_url, sources=sources, clock=clock, cache=token_cache
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        base_url: str | None = None,
        accounts: Sequence[Account] | None = None,
        **kwargs: Any,
    ) -> DatacubeClient:
        """A client configured from ``WX_*`` settings; pass ``base_url``/``accounts`` to point
        it at a simulator the caller started, and ``credential_store`` (the warehouse's) when
        an account is authorised to the platform."""
        kwargs.setdefault("clock", lambda: pipeline_clock.now(settings))
        kwargs.setdefault("retry", RetryPolicy(max_wait=settings.retry_max_wait))
        kwargs.setdefault(
            "timeout",
            httpx.Timeout(settings.api_timeout, connect=min(10.0, settings.api_timeout), pool=60.0),
        )
        url = base_url or settings.resolved_api_base_url()
        if url is None:
            raise ConfigurationError(
                "no WeChat API configured: set WX_API_BASE_URL or an account, or start the "
                "simulator and pass its base_url"
            )
        return cls(
            url,
            settings.accounts() if accounts is None else accounts,
            span_overrides=settings.span_overrides,
            token_mode=settings.token_mode,
            concurrency=settings.api_concurrency,
            global_concurrency=settings.api_global_concurrency,
            daily_budget=settings.daily_budget,
            start_date=settings.start_date,
            ready_time=settings.data_ready_time,
            token_dir=settings.home / "tokens",
            component=settings.component(),
            **kwargs,
        )

    def __repr__(self) -> str:
        accounts = ", ".join(f"{a.name!r} ({a.app_id})" for a in self.accounts)
        return (
            f"DatacubeClient(base_url={self.base_url!r}, accounts=[{accounts}], "
            f"token_mode={self.token_mode.value}, concurrency={self.concurrency}/"
            f"{self.global_concurrency}, "
            f"calls={self.calls.total()})"
        )

    # --- planning ---------------------------------------------------------------------------

    def now(self) -> datetime:
        """The client's clock (the pipeline's, unless a test gives it another)."""
        return self._clock()

    def today(self) -> date:
        """The Beijing date of the client's clock."""
        return self._clock().astimezone(BEIJING).date()

    def newest_final_day(self) -> date:
        """The newest day whose data is final by the client's clock (``clock.py``'s rule)."""
        return pipeline_clock.newest_final_day(self._clock(), self.ready_time)

    def endpoint(self, endpoint: Endpoint | str) -> Endpoint:
        return endpoint if isinstance(endpoint, Endpoint) else self._lookup(endpoint)

    def _lookup(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            raise KeyError(
                f"unknown endpoint {name!r}; known: {', '.join(self.endpoints)}"
            ) from None

    def clamp(self, endpoint: Endpoint | str, start: date, end: date) -> tuple[date, date]:
        """[start, end] cut to what the endpoint can answer with final data now (may come out
        empty): never a day before its first date or past the newest final day."""
        ep = self.endpoint(endpoint)
        first = max(start, ep.first_date, self.start_date)
        last = min(end, self.newest_final_day())
        return first, last

    def plan(self, endpoint: Endpoint | str, start: date, end: date) -> list[Window]:
        """The calls ``fetch`` makes for this range, absent retries."""
        ep = self.endpoint(endpoint)
        return plan_windows(ep, *self.clamp(ep, start, end))

    def minimum_calls(self, endpoint: Endpoint | str, start: date, end: date) -> int:
        return len(self.plan(endpoint, start, end))

    async def prepay(self, account: Account, endpoint: Endpoint, calls: int) -> None:
        """Take ``calls`` of today's budget ahead (one round trip to a shared count for a chunk
        instead of one per call); when fewer are left, take none and raise
        ``BudgetExceededError``: no call is made that could not finish the chunk."""
        key = CallKey(account.app_id, endpoint.name, self.today())
        granted = await asyncio.to_thread(self.calls.prepay, key, calls)
        if granted >= calls:
            return
        await asyncio.to_thread(self.calls.release, key, granted)
        context = _context(account, endpoint.name)
        raise BudgetExceededError(
            f"{context.describe()}: {calls} more calls needed, {granted} left of today's budget "
            f"({self.calls.daily_budget or 'WeChat quota spent'}) on {key.day.isoformat()}, "
            "Beijing: the rest waits for tomorrow",
            context,
            budget=self.calls.daily_budget or 0,
            used=granted,
        )

    # --- fetching ---------------------------------------------------------------------------

    async def quota_remaining(self, account: Account, endpoint: Endpoint) -> int | None:
        """WeChat's remaining daily quota for the account's endpoint
        (``/cgi-bin/openapi/quota/get``), or None when the API does not say."""
        context = _context(account, endpoint.name)
        lane = self._current_session().lane(account.app_id)
        try:
            token = await self.tokens.get(account)
            async with lane.semaphore, self._current_session().everyone:
                request = lane.http.build_request(
                    "POST",
                    f"{self.base_url}/cgi-bin/openapi/quota/get",
                    params={"access_token": token},
                    json={"cgi_path": endpoint.path},
                )
                body = await send(lane.http, request, context)
        except WeChatError as exc:
            logger.info("%s: quota not read (%s)", context.describe(), exc)
            return None
        quota = body.get("quota")
        remain = quota.get("remain") if isinstance(quota, dict) else None
        return remain if isinstance(remain, int) and not answers.errcode(body) else None

    def quota_remaining_sync(
        self, pairs: Sequence[tuple[Account, Endpoint]]
    ) -> dict[tuple[str, str], int | None]:
        """``quota_remaining`` of many (account, endpoint) pairs at once."""

        async def all_of() -> dict[tuple[str, str], int | None]:
            found = await asyncio.gather(*(self.quota_remaining(a, e) for a, e in pairs))
            return {(a.app_id, e.name): r for (a, e), r in zip(pairs, found, strict=True)}

        return asyncio.run(self._closing(all_of()))

    async def _closing(self, work: Awaitable[T]) -> T:
        try:
            return await work
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the connections of the current event loop's session."""
        session, self._session = self._session, None
        if session is not None:
            await session.aclose()

    async def __aenter__(self) -> DatacubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- internals --------------------------------------------------------------------------

    def _current_session(self) -> Session:
        loop = asyncio.get_running_loop()
        if self._session is not None and self._session.loop is loop:
            return self._session

        # A new loop (each *_sync call runs one): loop-bound objects cannot be carried over.
        def make_http(connections: int) -> httpx.AsyncClient:
            return http_client(connections, self.timeout)

        session = Session(
            loop=loop,
            make_http=make_http,
            per_account=self.concurrency,
            everyone=asyncio.Semaphore(self.global_concurrency),
        )
        self._session = session
        return session

    async def fetch_windows(
        self,
        job: Job,
        windows: Sequence[Window],
        stop: asyncio.Event,
        window_done: Callable[[], None] | None = None,
        *,
        probe_first: bool = True,
    ) -> JobResult:
        """Fetch ``windows`` of ``job`` concurrently (within the concurrency limits).

        ``stop`` belongs to the job and outlives the call: an error that holds for every window
        (configuration, quota, budget, retired, request bug) sets it, and no new call of the
        job starts; calls in flight finish and their bodies are kept. With ``probe_first`` the
        first window goes alone, so such an error costs one call, not one per window in flight.
        """
        result = JobResult(job, list(windows), responses=[])
        got: dict[int, RawResponse] = {}

        async def one(index: int, window: Window) -> None:
            if stop.is_set():
                return
            try:
                got[index] = await self._fetch_window(job.account, job.endpoint, window, stop)
                if window_done is not None:
                    window_done()
            except _JobStopped:
                pass
            except TransientError as exc:
                result.errors.append(exc)  # retries ran out here; other windows may still work
                if exc.endpoint is None:
                    stop.set()  # ...unless it was the token: every window needs one
            except WeChatError as exc:
                result.errors.append(exc)
                stop.set()

        rest = list(enumerate(windows))
        if probe_first and rest:
            await one(*rest.pop(0))
        await asyncio.gather(*(one(i, w) for i, w in rest))
        result.responses = [got[i] for i in sorted(got)]
        if result.errors:
            # The caller reports it (the asset's failure lists every failed account).
            logger.info("%s", result.errors[0])
        return result

    async def _fetch_window(
        self, account: Account, endpoint: Endpoint, window: Window, stop: asyncio.Event
    ) -> RawResponse:
        context = _context(account, endpoint.name, window)
        session = self._current_session()

        async def attempt() -> bytes:
            token = await self.tokens.get(account)
            body, content = await self._post_datacube(
                session, endpoint, window, token, context, stop
            )
            if answers.errcode(body) in TOKEN_CODES:
                # Expired or superseded: one refresh (shared by concurrent callers), one retry.
                token = await self.tokens.refresh(account, rejected=token)
                body, content = await self._post_datacube(
                    session, endpoint, window, token, context, stop
                )
                if (code := answers.errcode(body)) in TOKEN_CODES:
                    raise TokenRejectedError(
                        f"{context.describe()}: access token rejected again right after a "
                        f"refresh ({code}): is another process fetching tokens for this account?",
                        context,
                        errcode=code,
                        errmsg=answers.errmsg(body),
                    )
            try:
                answers.judge_datacube(body, context)
            except QuotaExhaustedError:  # for every process, until midnight
                self.calls.exhausted(context, self.today())
                raise
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s: ok, %d items", context.describe(), len(body["list"]))
            return content  # the parsed body goes: bytes are what a pass holds (raw.py)

        content = await self._with_retries(context, attempt)
        fetched_at = self._clock()
        return RawResponse(
            account_id=account.app_id,
            endpoint=endpoint.name,
            begin=window.begin,
            end=window.end,
            fetched_at=fetched_at,
            content=content,
            final_through=pipeline_clock.newest_final_day(fetched_at, self.ready_time),
        )

    async def _post_datacube(
        self,
        session: Session,
        endpoint: Endpoint,
        window: Window,
        token: str,
        context: CallContext,
        stop: asyncio.Event,
    ) -> tuple[dict[str, Any], bytes]:
        lane = session.lane(context.account_id)
        request = lane.http.build_request(
            "POST",
            lane.url(self.base_url, endpoint.path, token),
            json={"begin_date": window.begin.isoformat(), "end_date": window.end.isoformat()},
        )
        async with lane.semaphore, session.everyone:
            if stop.is_set():
                raise _JobStopped
            if (failed := self.tokens.failure(context.account_id)) is not None:
                # Its token died while this call waited for a slot, and no new one will come.
                raise failed.with_traceback(None)
            # Counted (and the budget checked) as the call starts, not when it was queued.
            self.calls.reserve(context, self.today())
            return await exchange(lane.http, request, context)

    async def _issue_token(self, account: Account, force: bool) -> AccessToken:
        context = CallContext(account.app_id, account.name)
        http = self._current_session().lane(account.app_id).http
        if account.secret is None:  # TokenManager sends only AppSecret accounts here
            raise ConfigurationError(f"{context.describe()}: no AppSecret configured", context)
        secret = account.secret.get_secret_value()

        async def attempt() -> AccessToken:
            if self.token_mode is TokenMode.STABLE:
                request = http.build_request(
                    "POST",
                    f"{self.base_url}/cgi-bin/stable_token",
                    json={
                        "grant_type": "client_credential",
                        "appid": account.app_id,
                        "secret": secret,
                        "force_refresh": force,
                    },
                )
            else:
                request = http.build_request(
                    "GET",
                    f"{self.base_url}/cgi-bin/token",
                    params={
                        "grant_type": "client_credential",
                        "appid": account.app_id,
                        "secret": secret,
                    },
                )
            body = await send(http, request, context)
            if code := answers.errcode(body):
                raise error_for(code, answers.errmsg(body), context)
            value, expires_in = body.get("access_token"), body.get("expires_in")
            if not isinstance(value, str) or not value or not isinstance(expires_in, int):
                raise MalformedResponseError(
                    f"{context.describe()}: token answer lacks access_token/expires_in", context
                )
            register_secret(value)
            return AccessToken(value, self._clock() + timedelta(seconds=expires_in))

        return await self._with_retries(context, attempt)

    async def _platform_call(
        self,
        account: Account,
        path: str,
        query: dict[str, str],
        body: dict[str, Any],
        context: CallContext,
    ) -> dict[str, Any]:
        """One third-party platform token call, transient failures retried like any call;
        the answer's other errcodes are for ``PlatformTokens`` to judge."""
        http = self._current_session().lane(account.app_id).http

        async def attempt() -> dict[str, Any]:
            request = http.build_request("POST", f"{self.base_url}{path}", params=query, json=body)
            answer = await send(http, request, context)
            if (code := answers.errcode(answer)) in TRANSIENT_CODES:
                raise error_for(code, answers.errmsg(answer), context)
            return answer

        return await self._with_retries(context, attempt)

    async def _with_retries(self, context: CallContext, attempt: Callable[[], Awaitable[T]]) -> T:
        return await with_retries(attempt, context, self.retry, self._clock, self._sleep)


class _JobStopped(Exception):
    """A window not called because another window of its job met an error that holds for all."""


def _context(account: Account, endpoint: str, window: Window | None = None) -> CallContext:
    return CallContext(
        account.app_id,
        account.name,
        endpoint,
        window.begin if window else None,
        window.end if window else None,
        platform=account.credential_kind == "platform",
    )
