"""HTTP for the datacube client: a connection pool per account, one TLS context, and one
exchange turned into a JSON object or a typed error that never carries the URL (it holds the
access token).

A connection pool per account rather than one for all: httpcore looks over every connection of
its pool at each request, which with 30+ connections took a quarter of the pipeline's CPU; an
account never has more than its concurrency in flight.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from wx_pipeline import __version__
from wx_pipeline.wechat import answers
from wx_pipeline.wechat.errors import CallContext, RequestError, TransientError, WeChatError

#: Datacube answers are small; a call slower than this is stuck rather than busy.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0, pool=60.0)
#: How long an idle connection is kept for the account's next call. httpx's 5 s let a run of
#: many accounts, which comes back to an account endpoint by endpoint, open new connections
#: for most calls (a nightly run of 100 accounts: ~7 s of its CPU in connecting); servers
#: commonly keep idle connections 30 s or more, and httpx checks one is open before reuse.
KEEPALIVE_SECONDS: Final = 20.0


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every connection pool of the process: httpx builds one per client
    (loading the CA bundle, ~40 ms), and a run makes a pool per account and asset."""
    return httpx.create_ssl_context()


def http_client(connections: int, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """A keep-alive client for one account's calls."""
    return httpx.AsyncClient(
        verify=_tls(),
        timeout=timeout,
        limits=httpx.Limits(
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
        headers={"User-Agent": f"wx-pipeline/{__version__}"},
    )


@dataclass(frozen=True)
class Lane:
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


@dataclass
class Session:
    """The client's state bound to one event loop: a lane per account and the global limit
    (loop-bound objects cannot be carried from one loop to the next)."""

    loop: asyncio.AbstractEventLoop
    make_http: Callable[[int], httpx.AsyncClient]
    per_account: int
    everyone: asyncio.Semaphore  # all accounts together
    lanes: dict[str, Lane] = field(default_factory=dict)

    def lane(self, app_id: str) -> Lane:
        lane = self.lanes.get(app_id)
        if lane is None:
            # Token calls go beside the datacube calls: one connection of room.
            http = self.make_http(self.per_account + 1)
            lane = self.lanes[app_id] = Lane(http, asyncio.Semaphore(self.per_account))
        return lane

    async def aclose(self) -> None:
        for lane in self.lanes.values():
            await lane.http.aclose()


async def send(
    http: httpx.AsyncClient, request: httpx.Request, context: CallContext
) -> dict[str, Any]:
    """One HTTP exchange -> the JSON object, or a typed error that never carries the URL."""
    return (await exchange(http, request, context))[0]


async def exchange(
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
