"""One ingestion pass: API client -> raw archive -> normalizers -> loader, streamed in chunks.

Used by the Dagster assets and by ``wx-pipeline run``; it composes the ``wechat`` and
``warehouse`` rooms and knows nothing of Dagster.

The unit of work is a *chunk*: consecutive API windows of one (account, endpoint), at most
``CHUNK_DAYS`` days. A chunk is fetched, archived (committed), normalised and loaded (one
transaction replacing exactly its days) before its job fetches the next one, so memory holds a
bounded number of chunks however many accounts and days a run covers. What makes a run
trustworthy holds per chunk: every answer is archived before any of its rows load (the
coverage ledger records the chunk's days in the loading transaction); an invalid
payload loads nothing of its chunk (and stops its job: retrying cannot fix data); a chunk with
a window that could not be fetched is archived but never replaces the warehouse's rows.

Jobs of many accounts run at once: the client bounds calls per account and in total, and a
bounded number of jobs (``jobs_in_flight``) hold a chunk in memory at any time. Jobs are ordered
endpoint by endpoint across accounts, so the jobs in flight belong to different accounts and
the per-account limit does not starve the global one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from functools import partial

from sqlalchemy.engine import Engine

from wx_pipeline.core.settings import Account
from wx_pipeline.pipeline.outcome import (
    AccountFailure,
    ChunkError,
    IngestReport,
    transient,
)
from wx_pipeline.pipeline.store import (
    Chunk,
    LoaderLostError,
    Stored,
    store_chunks,
    store_in_loader,
    warm_up,
)
from wx_pipeline.registry import Endpoint, Window
from wx_pipeline.runtime.heap import freeze_long_lived
from wx_pipeline.warehouse.statistics import analyse_grown
from wx_pipeline.wechat.client import DatacubeClient, Job, JobResult
from wx_pipeline.wechat.errors import BudgetExceededError

#: Days of one (account, endpoint) fetched, archived, normalised and loaded together: the unit
#: of memory and of replacement. A month keeps a chunk to a few MB for the largest accounts.
CHUNK_DAYS = 31
#: Chunks stored (archive COPY, normalising, fact COPY) at once: Postgres works on one while
#: Python encodes the next; more brings nothing on two cores.
LOADERS = 2
#: The most chunks, and answers, stored together (one endpoint, different accounts): those
#: that wait while the loaders are busy go in one batch, two transactions for all of them
#: (``store_chunks``). Meant for the small chunks of a nightly run: a loader holds a batch's
#: frames at once, so month-long chunks go one or two at a time.
BATCH_CHUNKS = 16
BATCH_ANSWERS = 64
#: A pass planning at least this many windows stores its chunks in loader processes: storing
#: is the CPU-heavy half, and in threads it holds the interpreter lock the fetching needs
#: (the daily run of a year for 5 accounts: 75 s -> 58 s). A smaller pass (a nightly one of a
#: few accounts) is not worth their start (~2 s of imports, once per process).
LOADER_PROCESS_WINDOWS = 300
#: Called with (phase, done, total) as a pass advances; the CLI draws a progress bar from it.
Progress = Callable[[str, int, int], None]


def plan_work(
    endpoints: Sequence[Endpoint], accounts: Sequence[Account], first: date, last: date
) -> list[Job]:
    """The jobs that bring [first, last] up to date: every endpoint for every account, endpoint
    by endpoint (see the module docstring); cumulative endpoints from the send dates whose
    totals reach ``first``."""
    return [Job(a, e, e.request_start(first), last) for e in endpoints for a in accounts]


def chunks(windows: Sequence[Window], days: int = CHUNK_DAYS) -> list[list[Window]]:
    """Consecutive windows grouped so that each group spans at most ``days`` days (a window
    longer than that is a group of its own)."""
    groups: list[list[Window]] = []
    for window in windows:
        if groups and (window.end - groups[-1][0].begin).days < days:
            groups[-1].append(window)
        else:
            groups.append([window])
    return groups


_loaders: ProcessPoolExecutor | None = None


def _loader_pool() -> ProcessPoolExecutor:
    """The loader processes, started once per process and shared by its passes. Spawned, not
    forked: the fetching process runs threads (Dagster's, the event loop's) whose locks a
    fork would copy mid-use."""
    global _loaders
    if _loaders is None:
        _loaders = ProcessPoolExecutor(
            LOADERS, mp_context=multiprocessing.get_context("spawn"), initializer=warm_up
        )
        _loaders.submit(warm_up)  # the first process starts now, its imports beside the fetch
    return _loaders


def _discard_loader_pool() -> None:
    global _loaders
    if _loaders is not None:
        _loaders.shutdown(wait=False, cancel_futures=True)
        _loaders = None


def ingest(
    client: DatacubeClient,
    engine: Engine,
    endpoints: Sequence[Endpoint],
    accounts: Sequence[Account],
    first: date,
    last: date,
    run_id: str | None = None,
    progress: Progress | None = None,
    jobs_in_flight: int | None = None,
    loader_processes: bool | None = None,
) -> IngestReport:
    """Fetch, archive, normalise and load ``endpoints`` x ``accounts`` over [first, last].

    Accounts that fail (wrong secret, IP whitelist, quota, invalid data...) are reported in
    ``failures`` while the others load; a retired endpoint is skipped and listed in ``retired``.
    """
    work = plan_work(endpoints, accounts, first, last)
    report = IngestReport(first, last, [a.app_id for a in accounts])
    return ingest_work(
        client, engine, work, report, run_id, progress, jobs_in_flight, loader_processes
    )


def ingest_work(
    client: DatacubeClient,
    engine: Engine,
    work: Sequence[Job],
    report: IngestReport,
    run_id: str | None = None,
    progress: Progress | None = None,
    jobs_in_flight: int | None = None,
    loader_processes: bool | None = None,
) -> IngestReport:
    """Run ``work`` (see ``plan_work``) as one streamed pass, filling ``report``; chunks are
    stored in loader processes when ``loader_processes`` says so (None: when the pass plans
    at least ``LOADER_PROCESS_WINDOWS`` windows), else in threads of this process."""
    in_flight = jobs_in_flight or max(2, client.global_concurrency)
    _Pass(client, engine, report, run_id, progress, in_flight).run(work, loader_processes)
    return report


class _Pass:
    """The state of one pass: the report, where chunks are stored, the progress counts (all
    updated on the event loop's thread: storing returns what it did)."""

    def __init__(
        self,
        client: DatacubeClient,
        engine: Engine,
        report: IngestReport,
        run_id: str | None,
        progress: Progress | None,
        jobs_in_flight: int,
    ) -> None:
        self.client = client
        self.engine = engine
        self.report = report
        self.run_id = run_id
        self.step = progress or (lambda phase, done, total: None)
        self.jobs_in_flight = jobs_in_flight
        self.planned = 0
        self.stored = 0
        self.held = 0  # answers fetched and not stored yet
        self.later: list[tuple[Job, list[Window]]] = []  # chunks for the second round
        #: The warehouse's URL for loader processes to connect to; None: stored in threads.
        self.loader_url: str | None = None

    def run(self, work: Sequence[Job], loader_processes: bool | None) -> None:
        freeze_long_lived()
        started, calls_before = time.perf_counter(), self.client.calls.total()
        # Counted now, planned again as each job starts: a decade of windows for a hundred
        # accounts is not held at once.
        self.planned = sum(len(self.client.plan(w.endpoint, w.first, w.last)) for w in work)
        self.report.minimum_calls += self.planned
        if loader_processes is None:
            loader_processes = self.planned >= LOADER_PROCESS_WINDOWS
        if loader_processes:
            self.loader_url = self.engine.url.render_as_string(hide_password=False)
        try:
            with ThreadPoolExecutor(LOADERS, thread_name_prefix="wx-load") as threads:
                asyncio.run(self._run(work, threads))
        finally:
            self.client.calls.settle()  # calls taken for chunks that never ran go back
        # A backfill's marts run next: on the statistics of the tables as they are now.
        analyse_grown(self.engine, self.report.growth())
        self.report.calls_made += self.client.calls.total() - calls_before
        self.report.seconds += time.perf_counter() - started

    async def _run(self, work: Sequence[Job], threads: ThreadPoolExecutor) -> None:
        gate = asyncio.Semaphore(self.jobs_in_flight)
        batches = _Batches(partial(self._store, threads), LOADERS)
        try:
            async with asyncio.TaskGroup() as group:
                for item in work:
                    group.create_task(self._job(item, gate, batches))
            # A chunk that met a transient failure (the API's bad minute after its retries, a
            # lost warehouse connection) gets a second round once everything else is done.
            later, self.later = self.later, []
            async with asyncio.TaskGroup() as group:
                for item, chunk in later:
                    group.create_task(self._again(item, chunk, gate, batches))
        finally:
            await self.client.aclose()

    async def _job(self, job: Job, gate: asyncio.Semaphore, batches: _Batches) -> None:
        stop = asyncio.Event()  # the job's: set by an error that holds for every window
        async with gate:
            windows = self.client.plan(job.endpoint, job.first, job.last)
            for number, chunk in enumerate(chunks(windows)):
                error = await self._chunk(job, chunk, stop, batches, probe_first=number == 0)
                if error is None:
                    if stop.is_set():  # retired
                        break
                    continue
                if transient(error):
                    self.later.append((job, chunk))
                    continue
                self._fail(job, error)
                break  # configuration, quota, budget, invalid data: the rest would fail too

    async def _again(
        self, job: Job, chunk: list[Window], gate: asyncio.Semaphore, batches: _Batches
    ) -> None:
        async with gate:
            error = await self._chunk(job, chunk, asyncio.Event(), batches, probe_first=True)
        if error is not None:
            self._fail(job, error)

    async def _chunk(
        self,
        job: Job,
        chunk: list[Window],
        stop: asyncio.Event,
        batches: _Batches,
        *,
        probe_first: bool,
    ) -> ChunkError | None:
        """Fetch, archive, normalise and load one chunk; its error, if any (retired: None,
        with ``stop`` set)."""
        try:
            await self.client.prepay(job.account, job.endpoint, len(chunk))
        except BudgetExceededError as exc:  # today's budget is spent: tomorrow's work
            return exc
        result = await self.client.fetch_windows(job, chunk, stop, probe_first=probe_first)
        self._hold(len(result.responses))
        windows = result.windows
        fetched = Chunk(
            endpoint=result.job.endpoint,
            account_id=result.job.account.app_id,
            account_name=result.job.account.name,
            begin=windows[0].begin,
            end=windows[-1].end,
            responses=result.responses,
            complete=result.ok and len(result.responses) == len(windows),
        )
        try:
            stored = await batches.store(fetched)
        finally:
            self._hold(-len(result.responses))
        return self._record(result, stored)

    async def _store(self, threads: ThreadPoolExecutor, chunks: list[Chunk]) -> list[Stored]:
        """Store a batch off the event loop (COPY and normalising would stall every call in
        flight): in a thread, or in a loader process."""
        loop = asyncio.get_running_loop()
        if self.loader_url is None:
            call = partial(store_chunks, self.engine, chunks, self.run_id)
            return await loop.run_in_executor(threads, call)
        try:
            return await loop.run_in_executor(
                _loader_pool(), store_in_loader, self.loader_url, chunks, self.run_id
            )
        except BrokenProcessPool:
            _discard_loader_pool()  # the next batch starts new loader processes
            return [
                Stored(
                    error=LoaderLostError(
                        f"a loader process died while storing {c.endpoint.name} of account "
                        f"{c.account_name!r} ({c.account_id}); nothing of it was loaded"
                    )
                )
                for c in chunks
            ]

    def _record(self, result: JobResult, stored: Stored) -> ChunkError | None:
        """Count a stored chunk in the report; its error, if any."""
        job = result.job
        error: ChunkError | None = stored.error or result.error
        if result.retired:
            error = None
        r = self.report
        r.responses += len(result.responses)
        r.store_seconds += stored.seconds
        if result.retired:
            r.retired.add(job.endpoint.name)
        if stored.loaded:
            r.chunks += 1
            r.chunks_changed += stored.changed
            r.rows.update(stored.rows)
            r.replaced.update(stored.replaced)
            r.not_final += stored.not_final
            r.drift.update(stored.drift)
        self.stored += len(result.windows)
        self.step("windows", self.stored, self.planned)
        return error

    def _hold(self, responses: int) -> None:
        self.held += responses
        self.report.peak_responses_held = max(self.report.peak_responses_held, self.held)

    def _fail(self, job: Job, error: ChunkError) -> None:
        self.report.failures.append(AccountFailure(job.account, job.endpoint.name, error))


class _Batches:
    """Chunks on their way to ``store``, at most ``slots`` batches at a time. A chunk finding
    a slot free goes alone; chunks that arrive while every slot is busy wait, and the next
    free slot takes the oldest one with others of its endpoint, up to ``BATCH_CHUNKS`` chunks
    and ``BATCH_ANSWERS`` answers."""

    def __init__(self, store: Callable[[list[Chunk]], Awaitable[list[Stored]]], slots: int):
        self._store = store
        self._slots = slots
        self._busy = 0
        self._waiting: list[tuple[Chunk, asyncio.Future[Stored]]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak ones

    async def store(self, chunk: Chunk) -> Stored:
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append((chunk, future))
        if self._busy < self._slots:
            self._busy += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._take()
                try:
                    stored = await self._store([chunk for chunk, _ in batch])
                except BaseException as exc:  # a bug, or the pass cancelled: its waiters learn
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    raise
                for (_, future), result in zip(batch, stored, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._busy -= 1

    def _take(self) -> list[tuple[Chunk, asyncio.Future[Stored]]]:
        endpoint = self._waiting[0][0].endpoint.name
        batch: list[tuple[Chunk, asyncio.Future[Stored]]] = []
        answers = 0
        for waiting in self._waiting:
            chunk = waiting[0]
            if chunk.endpoint.name != endpoint:
                continue
            if batch and (
                len(batch) == BATCH_CHUNKS or answers + len(chunk.responses) > BATCH_ANSWERS
            ):
                break
            batch.append(waiting)
            answers += len(chunk.responses)
        taken = {id(future) for _, future in batch}
        self._waiting = [w for w in self._waiting if id(w[1]) not in taken]
        return batch
