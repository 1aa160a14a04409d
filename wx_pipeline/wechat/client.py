"""The datacube client: fetch an account's endpoint over a date range with the fewest calls.

``DatacubeClient.fetch`` clamps the range to what the endpoint can answer (its first date, the
configured start, the newest final day of ``wx_pipeline/clock.py``; whole final periods for
week/month endpoints), splits it with the registry's ``plan_windows`` (the one definition of
"fewest calls"), runs the calls concurrently on one keep-alive ``httpx.AsyncClient`` and
returns every raw response with its request. WeChat limits calls per app id, so concurrency is
bounded per account (``WX_API_CONCURRENCY``) and, across all accounts, by a global cap
(``WX_API_GLOBAL_CONCURRENCY``) that keeps this machine and its connections in bounds.
``fetch_windows`` fetches some windows of one job (the streaming pass in ``ingest.py`` calls it
chunk by chunk); ``fetch_many`` runs many (account, endpoint, range) jobs at once and reports
each job's responses or typed error without letting one job's failure stop others;
``fetch_many_sync`` wraps it for synchronous callers.

Failure paths (spec section 5) are typed in ``errors.py``; transient ones are retried here with
tenacity (exponential backoff with jitter, bounded attempts and total time; 45011 waits for the
next minute). Every datacube call is counted per account, endpoint and Beijing day
(``quota.py``); tokens come from ``tokens.py`` through one interface whatever the account's
credential kind (its own AppSecret, or the third-party platform it authorised: ``component.py``);
secrets never leave ``redaction.py``'s reach.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from wx_pipeline import __version__
from wx_pipeline import clock as pipeline_clock
from wx_pipeline.settings import (
    BEIJING,
    DEFAULT_DATA_READY_TIME,
    Account,
    Component,
    CredentialKind,
    Settings,
)
from wx_pipeline.wechat import answers
from wx_pipeline.wechat.component import CredentialStore, PlatformTokens
from wx_pipeline.wechat.endpoints import DATA_START, Endpoint, Window, plan_windows, registry
from wx_pipeline.wechat.errors import (
    MINUTE_LIMIT,
    TOKEN_CODES,
    TRANSIENT_CODES,
    BudgetExceededError,
    CallContext,
    ConfigurationError,
    EndpointRetiredError,
    MalformedResponseError,
    QuotaExhaustedError,
    RequestError,
    TokenRejectedError,
    TransientError,
    WeChatError,
    error_for,
)
from wx_pipeline.wechat.quota import CallCounter, CallKey, CallStore
from wx_pipeline.wechat.raw import RawResponse
from wx_pipeline.wechat.redaction import install_log_redaction, register_secret
from wx_pipeline.wechat.tokens import (
    PROCESS_TOKENS,
    AccessToken,
    AppSecretTokens,
    TokenCache,
    TokenManager,
    TokenMode,
    TokenSource,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
#: Told (windows fetched, windows planned) as ``fetch_many`` advances.
OnProgress = Callable[[int, int], None]

#: Datacube answers are small; a call slower than this is stuck rather than busy.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0, pool=60.0)
#: How long an idle connection is kept for the account's next call. httpx's 5 s let a run of
#: many accounts, which comes back to an account endpoint by endpoint, open new connections
#: for most calls (a nightly run of 100 accounts: ~7 s of its CPU in connecting); servers
#: commonly keep idle connections 30 s or more, and httpx checks one is open before reuse.
KEEPALIVE_SECONDS: Final = 20.0


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried; every attempt counts against the daily quota."""

    max_attempts: int = 6
    max_total_seconds: float = 300.0  # no retry sleep may end later than this after the start
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5


@dataclass(frozen=True)
class Job:
    """One unit of work: an account's endpoint over a date range (inclusive)."""

    account: Account
    endpoint: Endpoint
    start: date
    end: date


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


@dataclass
class FetchReport:
    """The outcome of ``fetch_many``: per job results, and the calls it took."""

    results: list[JobResult]
    calls_made: int  # datacube calls made during this run, retries and token retries included
    wall_seconds: float

    @property
    def minimum_calls(self) -> int:
        return sum(r.minimum_calls for r in self.results)

    @property
    def responses(self) -> list[RawResponse]:
        return [resp for r in self.results for resp in r.responses]

    @property
    def errors(self) -> list[WeChatError]:
        return [e for r in self.results for e in r.errors]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


class _Backoff:
    """Exponential backoff with jitter; 45011 instead waits for the next minute of the clock."""

    def __init__(self, policy: RetryPolicy, clock: Clock) -> None:
        self._exponential = wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter
        )
        self._clock = clock
        self._jitter = policy.jitter
        self._max_wait = policy.max_wait

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.errcode == MINUTE_LIMIT:
            now = self._clock()
            to_next_minute = 60.0 - now.second - now.microsecond / 1e6
            # WX_RETRY_MAX_WAIT (60 s by default) still bounds it: a lower cap is the user's call.
            return min(to_next_minute + random.uniform(0, self._jitter), self._max_wait)
        return float(self._exponential(state))


@dataclass(frozen=True)
class _Lane:
    """One account's connections and the limit on its calls in flight."""

    http: httpx.AsyncClient
    semaphore: asyncio.Semaphore
    #: Endpoint path -> (token, its URL): parsing the URL string was three quarters of
    #: building a request, and an account's token changes once in hours.
    urls: dict[str, tuple[str, httpx.URL]] = field(default_factory=dict)

    def url(self, base_url: str, path: str, token: str) -> httpx.URL:
        cached = self.urls.get(path)
        if cached is None or cached[0] != token:
            url = httpx.URL(f"{base_url}{path}", params={"access_token": token})
            cached = self.urls[path] = (token, url)
        return cached[1]


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every connection pool of the process: httpx builds one per client
    (loading the CA bundle, ~40 ms), and a run makes a pool per account and asset."""
    return httpx.create_ssl_context()


@dataclass
class _Session:
    """State bound to one event loop: a lane per account and the global limit.

    A connection pool per account rather than one for all: httpcore looks over every
    connection of its pool at each request, which with 30+ connections took a quarter of the
    pipeline's CPU; an account never has more than its concurrency in flight.
    """

    loop: asyncio.AbstractEventLoop
    make_http: Callable[[int], httpx.AsyncClient]
    per_account: int
    everyone: asyncio.Semaphore  # all accounts together
    lanes: dict[str, _Lane] = field(default_factory=dict)

    def lane(self, app_id: str) -> _Lane:
        lane = self.lanes.get(app_id)
        if lane is None:
            # Token calls go beside the datacube calls: one connection of room.
            http = self.make_http(self.per_account + 1)
            lane = self.lanes[app_id] = _Lane(http, asyncio.Semaphore(self.per_account))
        return lane

    async def aclose(self) -> None:
        for lane in self.lanes.values():
            await lane.http.aclose()


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
        self.endpoints = registry(span_overrides)
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
        self._session: _Session | None = None
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

    def call_counts(self) -> dict[CallKey, int]:
        """Datacube calls made so far per (account, endpoint, Beijing day)."""
        return self.calls.counts()

    # --- fetching ---------------------------------------------------------------------------

    async def fetch(
        self, account: Account, endpoint: Endpoint | str, start: date, end: date
    ) -> list[RawResponse]:
        """Every response for the range, in date order; raises the first error it met."""
        result = await self._run_job(Job(account, self.endpoint(endpoint), start, end))
        if result.error is not None:
            raise result.error
        return result.responses

    async def fetch_many(
        self,
        jobs: Sequence[tuple[Account, Endpoint | str, date, date] | Job],
        on_progress: OnProgress | None = None,
    ) -> FetchReport:
        """Run every job concurrently; each job's error stays in its result."""
        started, calls_before = time.perf_counter(), self.calls.total()
        normalized = [
            j if isinstance(j, Job) else Job(j[0], self.endpoint(j[1]), j[2], j[3]) for j in jobs
        ]
        planned = sum(len(self.plan(j.endpoint, j.start, j.end)) for j in normalized)
        fetched = 0

        def window_done() -> None:
            nonlocal fetched
            fetched += 1
            if on_progress is not None:
                on_progress(fetched, planned)

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._run_job(job, window_done)) for job in normalized]
        return FetchReport(
            results=[t.result() for t in tasks],
            calls_made=self.calls.total() - calls_before,
            wall_seconds=time.perf_counter() - started,
        )

    def fetch_sync(
        self, account: Account, endpoint: Endpoint | str, start: date, end: date
    ) -> list[RawResponse]:
        """``fetch`` for synchronous callers (opens and closes its own event loop)."""
        return asyncio.run(self._closing(self.fetch(account, endpoint, start, end)))

    def fetch_many_sync(
        self,
        jobs: Sequence[tuple[Account, Endpoint | str, date, date] | Job],
        on_progress: OnProgress | None = None,
    ) -> FetchReport:
        """``fetch_many`` for synchronous callers such as Dagster ops."""
        return asyncio.run(self._closing(self.fetch_many(jobs, on_progress)))

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
                body = await _send(lane.http, request, context)
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

    def _current_session(self) -> _Session:
        loop = asyncio.get_running_loop()
        if self._session is not None and self._session.loop is loop:
            return self._session

        # A new loop (each fetch_*_sync runs one): loop-bound objects cannot be carried over.
        def make_http(connections: int) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                verify=_tls(),
                timeout=self.timeout,
                limits=httpx.Limits(
                    max_connections=connections,
                    max_keepalive_connections=connections,
                    keepalive_expiry=KEEPALIVE_SECONDS,
                ),
                headers={"User-Agent": f"wx-pipeline/{__version__}"},
            )

        session = _Session(
            loop=loop,
            make_http=make_http,
            per_account=self.concurrency,
            everyone=asyncio.Semaphore(self.global_concurrency),
        )
        self._session = session
        return session

    async def _run_job(self, job: Job, window_done: Callable[[], None] | None = None) -> JobResult:
        windows = self.plan(job.endpoint, job.start, job.end)
        return await self.fetch_windows(job, windows, asyncio.Event(), window_done)

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
        session: _Session,
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
            return await _exchange(lane.http, request, context)

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
            body = await _send(http, request, context)
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
            answer = await _send(http, request, context)
            if (code := answers.errcode(answer)) in TRANSIENT_CODES:
                raise error_for(code, answers.errmsg(answer), context)
            return answer

        return await self._with_retries(context, attempt)

    async def _with_retries(self, context: CallContext, attempt: Callable[[], Awaitable[T]]) -> T:
        started = time.monotonic()
        try:
            # Most calls succeed at once: tenacity's machinery (~0.3 ms a call on 2 cores, a
            # seventh of the fetching CPU) is set up only once an attempt has failed.
            return await attempt()
        except TransientError as exc:
            if exc.exhausted:
                raise
            failed: TransientError | None = exc
        policy = self.retry
        attempts = 0

        async def counted() -> T:
            nonlocal attempts, failed
            attempts += 1
            if failed is not None:  # the attempt above: its failure, not a second call
                failure, failed = failed, None
                raise failure
            return await attempt()

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            logger.warning("%s; retry %d in %.2fs", exc, state.attempt_number, wait)

        retrying = AsyncRetrying(
            # Counted from the first attempt, made before tenacity started.
            stop=stop_after_attempt(policy.max_attempts)
            | stop_before_delay(policy.max_total_seconds - (time.monotonic() - started)),
            wait=_Backoff(policy, self._clock),
            # A token fetch retries inside a datacube attempt: its final failure is final here.
            retry=retry_if_exception(lambda e: isinstance(e, TransientError) and not e.exhausted),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        last: TransientError
        try:
            return await retrying(counted)
        except TransientError as exc:
            last = exc
        if last.exhausted:
            raise last
        # Raised outside the except block: nothing (no httpx request, no URL) is chained.
        final = type(last)(
            f"{last}; gave up after {attempts} attempt(s) in {time.monotonic() - started:.1f}s",
            context,
            errcode=last.errcode,
            errmsg=last.errmsg,
            attempts=attempts,
            elapsed=time.monotonic() - started,
        )
        final.exhausted = True
        raise final


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


async def _send(
    http: httpx.AsyncClient, request: httpx.Request, context: CallContext
) -> dict[str, Any]:
    """One HTTP exchange -> the JSON object, or a typed error that never carries the URL."""
    return (await _exchange(http, request, context))[0]


async def _exchange(
    http: httpx.AsyncClient, request: httpx.Request, context: CallContext
) -> tuple[dict[str, Any], bytes]:
    """One HTTP exchange -> (the JSON object, the body's bytes as received)."""
    where = context.describe()
    failure: WeChatError | None = None
    response: httpx.Response | None = None
    try:
        response = await http.send(request)
    except httpx.TimeoutException as exc:
        failure = TransientError(f"{where}: timed out ({type(exc).__name__})", context)
    except httpx.TransportError as exc:
        failure = TransientError(
            f"{where}: connection failed ({type(exc).__name__}: {exc})", context
        )
    if failure is not None or response is None:
        raise failure or TransientError(f"{where}: no response", context)
    if response.status_code >= 500:
        raise TransientError(f"{where}: HTTP {response.status_code}", context)
    if response.status_code != 200:
        raise RequestError(
            f"{where}: HTTP {response.status_code} from {request.url.path}: check "
            "WX_API_BASE_URL and the endpoint path",
            context,
        )
    return answers.parse(response.content, context), response.content
