"""One ingestion pass (client -> archive -> normalizer -> loader) against the simulator."""

from __future__ import annotations

import asyncio
import copy
import pickle
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from wx_pipeline.core.settings import BEIJING, Account
from wx_pipeline.pipeline import stream as ingest_module
from wx_pipeline.pipeline.outcome import IngestReport
from wx_pipeline.pipeline.store import Chunk, Stored, store_chunks
from wx_pipeline.pipeline.stream import CHUNK_DAYS, chunks, ingest
from wx_pipeline.registry import BY_NAME, ENDPOINTS, Window
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.load import load_window
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.warehouse.normalize import DriftKind, InvalidPayloadError, normalize_many
from wx_pipeline.wechat.client import DatacubeClient
from wx_pipeline.wechat.errors import TransientError
from wx_pipeline.wechat.raw import RawResponse
from wx_pipeline.wechat.retry import RetryPolicy
from wx_pipeline_tests.fingerprint import fingerprint
from wx_pipeline_tests.warehouse.payloads import items_for, response
from wx_pipeline_tests.wechat.scripted import scripted_server

GOOD = SimAccount(app_id="wxingest000000001", secret="g" * 32, name="Good", followers=5_000)
BAD = SimAccount(app_id="wxingest000000002", secret="b" * 32, name="Bad", followers=5_000)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=BEIJING)
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 8)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[sa.Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(
        seed=5, now=NOW, accounts=[GOOD, BAD], legacy_retired_from=date(2026, 1, 1)
    )
    with run_in_thread(config) as server:
        yield server


def _account(sim_account: SimAccount, secret: str | None = None) -> Account:
    return Account(
        app_id=sim_account.app_id,
        name=sim_account.name,
        secret=SecretStr(secret or sim_account.secret),
    )


def _client(sim: SimulatorServer, accounts: list[Account]) -> DatacubeClient:
    return DatacubeClient(sim.base_url, accounts, clock=lambda: NOW)


def _rows(engine: sa.Engine, table: str, account: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(f"select count(*) from wechat.{table} where account_id = :a"),
                {"a": account},
            ).scalar_one()
        )


def test_retired_endpoints_are_skipped_and_a_bad_account_fails_alone(
    sim: SimulatorServer, engine: sa.Engine
) -> None:
    good, bad = _account(GOOD), _account(BAD, secret="wrong-secret")
    client = _client(sim, [good, bad])
    report = ingest(client, engine, ENDPOINTS, [good, bad], FIRST, LAST, run_id="t1")

    assert report.retired == {e.name for e in ENDPOINTS if e.legacy}
    assert {f.account.app_id for f in report.failures} == {BAD.app_id}
    assert not report.only_transient_failures
    assert BAD.app_id in report.failure_message()
    assert "wrong-secret" not in report.failure_message()
    # The good account loaded everything that is not retired; the bad one nothing.
    for endpoint in ENDPOINTS:
        loaded = _rows(engine, endpoint.table.name, GOOD.app_id)
        if endpoint.legacy:
            assert loaded == 0, endpoint.name
        elif endpoint.table.name in ("user_cumulate", "interface_summary", "upstream_msg_hour"):
            assert loaded > 0, endpoint.name
        assert _rows(engine, endpoint.table.name, BAD.app_id) == 0
    assert report.rows["user_cumulate"] == (LAST - FIRST).days + 1
    # No wasted quota: the good account's needed calls (cumulative endpoints from the send
    # dates whose totals still grow), one call per retired endpoint (which then stops), none
    # for the bad account (its token request already fails).
    needed = sum(
        client.minimum_calls(e, e.request_start(FIRST), LAST) for e in ENDPOINTS if not e.legacy
    )
    retired = sum(1 for e in ENDPOINTS if e.legacy)
    assert report.calls_made == needed + retired


def test_every_response_is_archived_before_loading(sim: SimulatorServer, engine: sa.Engine) -> None:
    good = _account(GOOD)
    report = ingest(_client(sim, [good]), engine, ENDPOINTS, [good], FIRST, LAST, run_id="t2")
    with engine.connect() as conn:
        archived: int = conn.execute(
            sa.text("select count(*) from wechat_raw.api_response where run_id = 't2'")
        ).scalar_one()
        stamped: int = conn.execute(
            sa.text("select count(*) from wechat.user_summary where _run_id = 't2'")
        ).scalar_one()
    assert archived == report.responses > 0
    assert stamped == report.rows["user_summary"]


def test_a_second_pass_replaces_rather_than_appends(
    sim: SimulatorServer, engine: sa.Engine
) -> None:
    good = _account(GOOD)
    hourly = [e for e in ENDPOINTS if e.name == "getinterfacesummaryhour"]
    window = (FIRST + timedelta(days=1), FIRST + timedelta(days=2))
    first = ingest(_client(sim, [good]), engine, hourly, [good], *window, run_id="t3")
    before = _rows(engine, "interface_summary_hour", GOOD.app_id)
    second = ingest(_client(sim, [good]), engine, hourly, [good], *window, run_id="t4")
    assert second.rows == first.rows
    assert _rows(engine, "interface_summary_hour", GOOD.app_id) == before


def test_memory_holds_a_bounded_number_of_chunks_whatever_the_range(
    sim: SimulatorServer, engine: sa.Engine
) -> None:
    """Answers are stored chunk by chunk as they arrive: never more than the jobs in flight
    times a chunk's windows are held, however many accounts and days the pass covers."""
    good = _account(GOOD)
    hourly = [e for e in ENDPOINTS if e.name in ("getinterfacesummaryhour", "getupstreammsghour")]
    first = LAST - timedelta(days=119)
    report = ingest(
        _client(sim, [good]), engine, hourly, [good], first, LAST, run_id="t5", jobs_in_flight=1
    )
    assert report.failures == []
    assert report.responses == 2 * 120  # one call per day and endpoint
    assert report.chunks == 2 * 4  # 120 days: chunks of 31, 31, 31 and 27 days
    assert 0 < report.peak_responses_held <= CHUNK_DAYS
    assert _rows(engine, "interface_summary_hour", GOOD.app_id) >= 120 * 20


def test_chunks_split_on_the_day_budget() -> None:
    day = date(2026, 1, 1)
    windows = [Window(day + timedelta(days=i), day + timedelta(days=i)) for i in range(70)]
    assert [len(c) for c in chunks(windows)] == [31, 31, 8]
    weekly = [
        Window(day + timedelta(days=7 * i), day + timedelta(days=7 * i + 6)) for i in range(6)
    ]
    assert [len(c) for c in chunks(weekly)] == [4, 2]  # 4 x 7 days fit in 31, 5 do not
    assert chunks([Window(day, day + timedelta(days=40))]) == [
        [Window(day, day + timedelta(days=40))]
    ]


def test_a_chunk_with_a_window_that_cannot_be_fetched_replaces_nothing(
    engine: sa.Engine,
) -> None:
    """Over real HTTP from a scripted server: the first chunk arrives whole and loads, a
    window of the second keeps failing, so the second chunk's days keep their previous rows
    (its answers are archived all the same: they cost quota)."""
    endpoint = BY_NAME["getinterfacesummaryhour"]
    account = Account(app_id="wxchunks0000000001", name="Chunks", secret=SecretStr("s" * 32))
    first = date(2026, 1, 1)
    days = [first + timedelta(days=i) for i in range(40)]
    old = response(endpoint, days[35], items_for(endpoint, days[35], 3), account_id=account.app_id)
    previous = normalize_many([old]).frames_for(endpoint, account.app_id)
    load_window(engine, endpoint, account.app_id, days[35], days[35], previous, "before")
    with scripted_server() as (base_url, script):
        for day in days[:31]:
            script.datacube.append((200, {"list": items_for(endpoint, day, 2)}))
        for day in days[31:35]:
            script.datacube.append((200, {"list": items_for(endpoint, day, 2)}))
        script.datacube.extend([(503, {"detail": "down"})] * 20)
        client = DatacubeClient(
            base_url,
            [account],
            concurrency=1,
            clock=lambda: NOW,
            retry=RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.001, jitter=0.0),
        )
        report = ingest(client, engine, [endpoint], [account], days[0], days[-1], run_id="t6")
    assert report.chunks == 1
    assert [f.endpoint for f in report.failures] == [endpoint.name]
    assert isinstance(report.failures[0].error, TransientError)
    with engine.connect() as conn:
        loaded: dict[str, int] = dict(
            conn.execute(
                sa.text(
                    "select _run_id, count(*) from wechat.interface_summary_hour "
                    "where account_id = :a group by 1"
                ),
                {"a": account.app_id},
            ).all()
        )
        archived: int = conn.execute(
            sa.text("select count(*) from wechat_raw.api_response where run_id = 't6'")
        ).scalar_one()
    assert loaded == {"t6": 31 * 2, "before": 3}  # chunk 2's day keeps its previous rows
    assert archived >= 31 + 4


def _same_pass(a: IngestReport, b: IngestReport) -> None:
    """Two passes of the same work, stored two ways, report the same: no failure, the same
    rows, chunks, answers and drift."""
    assert a.failures == b.failures == []
    assert a.rows == b.rows
    assert a.total_rows > 0
    assert a.chunks == b.chunks > 0
    assert a.responses == b.responses
    for kind in DriftKind:
        assert a.drift.counts(kind) == b.drift.counts(kind)


def test_loader_processes_store_what_threads_store(
    sim: SimulatorServer, new_database: Callable[[str], str]
) -> None:
    """A large pass stores its chunks in loader processes: the same rows, archive and ledger
    as storing them in threads, and the report counts them alike."""
    good = _account(GOOD)
    daily = [e for e in ENDPOINTS if not e.legacy]
    reports, prints = [], []
    archived: list[int] = []
    for processes in (False, True):
        url = new_database(f"loaders_{processes}")
        migrate(url)
        engine = make_engine(url)
        try:
            reports.append(
                ingest(
                    _client(sim, [good]),
                    engine,
                    daily,
                    [good],
                    FIRST,
                    LAST,
                    run_id="t-loaders",
                    loader_processes=processes,
                )
            )
            with engine.connect() as conn:
                count = sa.text("select count(*) from wechat_raw.api_response")
                archived.append(conn.execute(count).scalar_one())
        finally:
            engine.dispose()
        prints.append(fingerprint(url, ("wechat",)))
    threads, processes_ = reports
    _same_pass(threads, processes_)
    assert prints[0] == prints[1]
    assert archived == [threads.responses, processes_.responses]
    assert threads.responses > 0


def test_a_loader_process_that_dies_loses_nothing(
    sim: SimulatorServer, new_database: Callable[[str], str]
) -> None:
    """A loader process killed mid-pass (out of memory, say): its chunk's transaction goes
    with it, the chunk comes back in the second round on new loader processes, and the
    warehouse ends as after a clean pass."""
    good = _account(GOOD)
    hourly = [e for e in ENDPOINTS if e.name == "getinterfacesummaryhour"]
    url = new_database("loader_dies")
    migrate(url)
    engine = make_engine(url)
    killed = ingest_module._loader_pool()
    try:
        for process in killed._processes.values():
            process.kill()
        report = ingest(
            _client(sim, [good]),
            engine,
            hourly,
            [good],
            FIRST,
            LAST,
            run_id="t-lost",
            loader_processes=True,
        )
    finally:
        engine.dispose()
    assert report.failures == []
    assert report.rows["interface_summary_hour"] > 0
    assert ingest_module._loaders is not killed  # the pass started new loader processes
    clean = new_database("loader_clean")
    migrate(clean)
    engine = make_engine(clean)
    try:
        ingest(_client(sim, [good]), engine, hourly, [good], FIRST, LAST, loader_processes=False)
    finally:
        engine.dispose()
    assert fingerprint(url, ("wechat",)) == fingerprint(clean, ("wechat",))


def test_an_invalid_payload_error_crosses_from_a_loader_process_whole() -> None:
    error = InvalidPayloadError(
        endpoint="getusersummary",
        account_id="wx1",
        field="new_user",
        value=-1,
        reason="negative counter",
        archive_id=7,
        window=(FIRST, LAST),
    )
    back = pickle.loads(pickle.dumps(error))
    assert str(back) == str(error)
    assert (back.field, back.archive_id, back.window) == ("new_user", 7, (FIRST, LAST))


def _chunk(account_id: str, day: date, *, invalid: bool = False, complete: bool = True) -> Chunk:
    endpoint = BY_NAME["getusersummary"]
    answer = response(endpoint, day, items_for(endpoint, day, 4), account_id=account_id)
    if invalid:
        body = copy.deepcopy(answer.body)
        body["list"][0]["new_user"] = -1  # a negative counter
        answer = RawResponse.of(account_id, endpoint.name, day, day, answer.fetched_at, body)
    return Chunk(endpoint, account_id, account_id, day, day, [answer], complete)


def test_chunks_stored_together_keep_each_chunks_guarantees(
    new_database: Callable[[str], str],
) -> None:
    """Several accounts' chunks of an endpoint stored in one batch: each answer archived, the
    complete valid chunks loaded, an invalid one loads nothing of its own (the others still
    load), an incomplete one replaces nothing."""
    url = new_database("batched")
    migrate(url)
    engine = make_engine(url)
    day = date(2026, 3, 2)
    batch = [
        _chunk("wxbatch00000000001", day),
        _chunk("wxbatch00000000002", day, invalid=True),
        _chunk("wxbatch00000000003", day, complete=False),
        _chunk("wxbatch00000000004", day),
    ]
    try:
        stored = store_chunks(engine, batch, "t-batch")
        with engine.connect() as conn:
            query = "select account_id from wechat_raw.api_response where run_id = 't-batch'"
            archived = [str(row[0]) for row in conn.execute(sa.text(query))]
            assert sorted(archived) == sorted(c.account_id for c in batch)
        assert [s.loaded for s in stored] == [True, False, False, True]
        assert isinstance(stored[1].error, InvalidPayloadError)
        assert stored[1].error.account_id == "wxbatch00000000002"
        assert [s.error for s in (stored[0], stored[2], stored[3])] == [None, None, None]
        for chunk, result in zip(batch, stored, strict=True):
            rows = _rows(engine, "user_summary", chunk.account_id)
            expected = len(chunk.responses[0].body["list"]) if result.loaded else 0
            assert rows == expected == result.rows.get("user_summary", 0)
            assert rows == 0 or result.loaded
        assert stored[0].rows["user_summary"] > 0
    finally:
        engine.dispose()


def _batches_formed(arrivals: list[Chunk]) -> list[list[str]]:
    """The batches (their chunks' account ids) one busy loader slot forms: the first chunk
    arrives alone, the others while it is being stored."""
    batches: list[list[str]] = []

    async def scenario() -> list[Stored]:
        release = asyncio.Event()

        async def store(chunks: list[Chunk]) -> list[Stored]:
            batches.append([c.account_id for c in chunks])
            await release.wait()
            return [Stored(loaded=True) for _ in chunks]

        loaders = ingest_module._Batches(store, 1)
        waiting = [asyncio.ensure_future(loaders.store(arrivals[0]))]
        while not batches:  # the first is being stored
            await asyncio.sleep(0)
        waiting += [asyncio.ensure_future(loaders.store(c)) for c in arrivals[1:]]
        await asyncio.sleep(0)
        release.set()
        return list(await asyncio.gather(*waiting))

    assert all(s.loaded for s in asyncio.run(scenario()))
    return batches


def test_chunks_that_wait_for_a_busy_loader_go_together_by_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first chunk finds a loader free and goes alone; those arriving while it is busy
    wait and leave in batches of one endpoint, oldest first, within the batch's bounds."""
    day = date(2026, 3, 2)
    other = BY_NAME["getinterfacesummary"]
    arrivals = [
        _chunk("wxa", day),
        _chunk("wxb", day),
        Chunk(other, "wxc", "wxc", day, day, [], True),
        _chunk("wxd", day),
    ]
    assert _batches_formed(arrivals) == [["wxa"], ["wxb", "wxd"], ["wxc"]]
    monkeypatch.setattr(ingest_module, "BATCH_ANSWERS", 1)  # one answer each: one at a time
    assert _batches_formed(arrivals) == [["wxa"], ["wxb"], ["wxc"], ["wxd"]]


def test_a_pass_of_many_accounts_stores_what_chunk_by_chunk_stores(
    sim: SimulatorServer, new_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batched (two accounts' chunks of an endpoint together) or one chunk at a time: the same
    rows, archive and report."""
    accounts = [_account(GOOD), _account(BAD)]
    daily = [e for e in ENDPOINTS if not e.legacy]
    prints, ledgers, reports = [], [], []
    for batch in (ingest_module.BATCH_CHUNKS, 1):
        monkeypatch.setattr(ingest_module, "BATCH_CHUNKS", batch)
        url = new_database(f"batch_{batch}")
        migrate(url)
        engine = make_engine(url)
        try:
            reports.append(
                ingest(_client(sim, accounts), engine, daily, accounts, FIRST, LAST, run_id="t")
            )
            with engine.connect() as conn:  # archive ids follow the order answers were stored
                ledger = "select account_id, endpoint, day, rows, final from wechat_meta.coverage"
                ledgers.append(sorted(tuple(r) for r in conn.execute(sa.text(ledger))))
        finally:
            engine.dispose()
        prints.append(fingerprint(url, ("wechat",)))
    _same_pass(*reports)
    assert prints[0] == prints[1]
    assert ledgers[0] == ledgers[1] != []
