"""The simulator under long and rough use: its caches stay bounded (least recently used first)
without changing any answer, and a client hanging up mid-request is not an error."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import httpx
import pytest

from wx_pipeline.registry import plan_windows
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.simulator import state as state_module
from wx_pipeline.simulator.cache import LruCache
from wx_pipeline.simulator.data import articles, common
from wx_pipeline.simulator.state import SimulatorState
from wx_pipeline_tests.simulator.conftest import NOON

# --- LruCache ---------------------------------------------------------------------------------


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)


def test_a_size_bound_evicts_until_the_total_fits() -> None:
    cache: LruCache[str, bytes] = LruCache(100, max_size=10, size=len)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    cache.put("c", b"90")
    assert cache.total_size == 10
    cache.put("d", b"xyz")  # 13 > 10: "a" goes
    assert cache.get("a") is None
    assert cache.total_size == 9
    cache.put("b", b"1")  # replacing counts the new size only
    assert cache.total_size == 6
    cache.put("huge", b"x" * 11)  # larger than the bound on its own: not kept, nothing evicted
    assert cache.get("huge") is None
    assert len(cache) == 3


def test_falsy_values_are_cached_too() -> None:
    made: list[int] = []

    def make() -> tuple[int, ...]:
        made.append(1)
        return ()

    cache: LruCache[str, tuple[int, ...]] = LruCache(4)
    assert cache.get_or_make("none sent", make) == ()
    assert cache.get_or_make("none sent", make) == ()
    assert made == [1]


def test_threads_share_one_cache_within_its_bounds() -> None:
    cache: LruCache[int, bytes] = LruCache(50, max_size=400, size=len)

    def work(seed: int) -> None:
        rand = random.Random(seed)
        for _ in range(2_000):
            key = rand.randrange(200)
            cache.get_or_make(key, partial(bytes, key % 13))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) <= 50
    assert cache.total_size <= 400
    assert cache.total_size == sum(k % 13 for k in range(200) if cache.get(k) is not None)


# --- the simulator's caches -------------------------------------------------------------------


#: Small accounts: few articles, so that generating the same days again and again stays cheap.
ACCOUNTS = [
    SimAccount(app_id=f"wxbounds00000000{i}", secret=f"{i}" * 32, name=f"B{i}", followers=n)
    for i, n in enumerate((2_000, 6_000))
]


@pytest.fixture
def small_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cache of the simulator far smaller than what it serves: days, sends, fragments
    and bodies are evicted and generated again all the time."""
    monkeypatch.setattr(common.DayCache, "LIMIT", 8)
    monkeypatch.setattr(articles, "SENDS_KEPT", 40)  # a day's answers look back 30 days
    monkeypatch.setattr(state_module, "BODY_BYTES", 4_000)
    monkeypatch.setattr(state_module, "BODIES_KEPT", 3)
    monkeypatch.setattr(state_module, "FRAGMENT_BYTES", 4_000)
    monkeypatch.setattr(state_module, "FRAGMENTS_KEPT", 7)


def test_bounded_caches_answer_exactly_as_roomy_ones(small_caches: None) -> None:
    config = SimulatorConfig(seed=9, now=NOON, accounts=ACCOUNTS)
    bounded = SimulatorState(config)
    with pytest.MonkeyPatch.context() as roomy:
        roomy.setattr(common.DayCache, "LIMIT", 100_000)
        roomy.setattr(articles, "SENDS_KEPT", 100_000)
        roomy.setattr(state_module, "BODY_BYTES", 2**30)
        roomy.setattr(state_module, "BODIES_KEPT", 100_000)
        roomy.setattr(state_module, "FRAGMENT_BYTES", 2**30)
        roomy.setattr(state_module, "FRAGMENTS_KEPT", 100_000)
        reference = SimulatorState(config)
    last = NOON.date() - timedelta(days=1)
    first = last - timedelta(days=20)
    requests = [
        (account.app_id, endpoint, window.begin, window.end)
        for account in ACCOUNTS
        for endpoint in reference.endpoints.values()
        for window in plan_windows(endpoint, first, last)
    ]
    expected = {r: reference.list_body(*r) for r in requests}
    # Out of order and twice over: evicted days and bodies are made again, identically.
    order = requests * 2
    random.Random(3).shuffle(order)
    for request in order:
        assert bounded.list_body(*request) == expected[request], request
    assert len(bounded._bodies) <= 3
    assert bounded._bodies.total_size <= 4_000
    assert len(bounded._fragments) <= 7
    assert bounded._fragments.total_size <= 4_000
    assert len(bounded.data.articles._sent) <= 40
    for model in (bounded.data.followers, bounded.data.reads, bounded.data.messages):
        assert len(model._days._items) <= 8
    # The roomy one kept everything it made: the bounds are what made the difference.
    assert len(reference._bodies) == len(requests)


# --- a client that hangs up -------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _uvicorn_log() -> Iterator[_Records]:
    """What uvicorn logs from here on (its logger does not propagate to pytest's, and uvicorn
    resets its handlers when a server is configured: attach after starting it)."""
    handler = _Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _hang_up_mid_body(sim: SimulatorServer, path: str) -> None:
    host, port = sim.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
            'Content-Length: 1000\r\n\r\n{"begin_date": "2025-'.encode()
        )
        time.sleep(0.2)  # the handler is reading the body


def test_a_client_hanging_up_mid_body_is_not_an_error() -> None:
    with run_in_thread(SimulatorConfig(seed=0, now=NOON)) as sim, _uvicorn_log() as uvicorn_log:
        account = sim.accounts[0]
        token = httpx.post(
            f"{sim.base_url}/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": account.app_id,
                  "secret": account.secret},
        ).json()["access_token"]  # fmt: skip
        for path in (
            f"/datacube/getusersummary?access_token={token}",
            "/cgi-bin/stable_token",
            f"/cgi-bin/openapi/quota/get?access_token={token}",
        ):
            _hang_up_mid_body(sim, path)
        time.sleep(0.3)
        day = (NOON.date() - timedelta(days=1)).isoformat()
        answer = httpx.post(
            f"{sim.base_url}/datacube/getusersummary",
            params={"access_token": token},
            json={"begin_date": day, "end_date": day},
        )
        datacube = [c for c in sim.calls if c.path.startswith("/datacube/")]
    assert answer.status_code == 200
    assert "list" in answer.json()
    assert len(datacube) == 1  # the abandoned call never arrived whole: not in the log
    problems = [r for r in uvicorn_log.records if r.levelno >= logging.WARNING]
    assert problems == [], [r.getMessage() for r in problems]
