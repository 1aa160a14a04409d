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
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from threading import Lock

from sqlalchemy.engine import Engine

from wx_pipeline.settings import Account
from wx_pipeline.warehouse.archive import archive_responses
from wx_pipeline.warehouse.coverage import ledger_days
from wx_pipeline.warehouse.load import load_window
from wx_pipeline.warehouse.normalize import InvalidPayloadError, normalize_many
from wx_pipeline.wechat.client import DatacubeClient, Job, JobResult
from wx_pipeline.wechat.endpoints import Endpoint, Window
from wx_pipeline.wechat.errors import BudgetExceededError, TransientError, WeChatError

#: Days of one (account, endpoint) fetched, archived, normalised and loaded together: the unit
#: of memory and of replacement. A month keeps a chunk to a few MB for the largest accounts.
CHUNK_DAYS = 31
#: Loads (archive COPY, normalising, fact COPY) running at once: Postgres works on one while
#: Python encodes the next; more brings nothing on two cores.
LOAD_THREADS = 2
#: Called with (phase, done, total) as a pass advances; the CLI draws a progress bar from it.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Work:
    """One job of a pass: an account's endpoint over [first, last] (ref_dates requested)."""

    account: Account
    endpoint: Endpoint
    first: date
    last: date


def plan_work(
    endpoints: Sequence[Endpoint], accounts: Sequence[Account], first: date, last: date
) -> list[Work]:
    """The jobs that bring [first, last] up to date: every endpoint for every account, endpoint
    by endpoint (see the module docstring); cumulative endpoints from the send dates whose
    totals reach ``first``."""
    return [Work(a, e, e.request_start(first), last) for e in endpoints for a in accounts]


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


@dataclass(frozen=True)
class AccountFailure:
    """An account (or one of its endpoints) that could not be fetched or loaded, and why."""

    account: Account
    endpoint: str
    error: WeChatError | InvalidPayloadError


@dataclass
class IngestReport:
    """What a pass did; the Dagster assets turn it into materialisation metadata."""

    first: date
    last: date
    accounts: list[str]
    rows: Counter[str] = field(default_factory=Counter)  # per fact table
    calls_made: int = 0
    minimum_calls: int = 0
    responses: int = 0
    chunks: int = 0  # chunks loaded (one transaction each)
    unknown_fields: Counter[str] = field(default_factory=Counter)  # field path -> objects
    unknown_codes: Counter[str] = field(default_factory=Counter)  # "table.column=value"
    not_final: int = 0  # cumulative-tail entries left out: their stat_date was not final yet
    retired: set[str] = field(default_factory=set)  # endpoints answering 47009
    failures: list[AccountFailure] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the pass
    store_seconds: float = 0.0  # archiving, normalising and loading, summed over threads
    #: The most answers held in memory at once (fetched, not yet stored): bounded by the jobs
    #: in flight and the chunk size, whatever the number of accounts and days.
    peak_responses_held: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def only_transient_failures(self) -> bool:
        return bool(self.failures) and all(
            isinstance(f.error, TransientError) for f in self.failures
        )

    def failure_message(self) -> str:
        """One line per failed account and problem, naming the endpoints it hit."""
        grouped: dict[tuple[str, int | None], tuple[str, set[str]]] = {}
        for f in self.failures:
            key = (f.account.app_id, getattr(f.error, "errcode", None))
            grouped.setdefault(key, (str(f.error), set()))[1].add(f.endpoint)
        problems = [
            f"{message} [{', '.join(sorted(endpoints))}]" for message, endpoints in grouped.values()
        ]
        return f"{len(problems)} account problem(s): " + "; ".join(sorted(problems))


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
) -> IngestReport:
    """Fetch, archive, normalise and load ``endpoints`` x ``accounts`` over [first, last].

    Accounts that fail (wrong secret, IP whitelist, quota, invalid data...) are reported in
    ``failures`` while the others load; a retired endpoint is skipped and listed in ``retired``.
    """
    work = plan_work(endpoints, accounts, first, last)
    report = IngestReport(first, last, [a.app_id for a in accounts])
    return ingest_work(client, engine, work, report, run_id, progress, jobs_in_flight)


def ingest_work(
    client: DatacubeClient,
    engine: Engine,
    work: Sequence[Work],
    report: IngestReport,
    run_id: str | None = None,
    progress: Progress | None = None,
    jobs_in_flight: int | None = None,
) -> IngestReport:
    """Run ``work`` (see ``plan_work``) as one streamed pass, filling ``report``."""
    in_flight = jobs_in_flight or max(2, client.global_concurrency)
    _Pass(client, engine, report, run_id, progress, in_flight).run(work)
    return report


class _Pass:
    """The state of one pass: the report, the loader threads, the progress counts."""

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
        self.lock = Lock()  # the report is updated from the loader threads
        self.planned = 0
        self.stored = 0
        self.held = 0  # answers fetched and not stored yet

    def run(self, work: Sequence[Work]) -> None:
        started, calls_before = time.perf_counter(), self.client.calls.total()
        # Counted now, planned again as each job starts: a decade of windows for a hundred
        # accounts is not held at once.
        self.planned = sum(len(self.client.plan(w.endpoint, w.first, w.last)) for w in work)
        self.report.minimum_calls += self.planned
        try:
            with ThreadPoolExecutor(LOAD_THREADS, thread_name_prefix="wx-load") as pool:
                asyncio.run(self._run(work, pool))
        finally:
            self.client.calls.settle()  # calls taken for chunks that never ran go back
        self.report.calls_made += self.client.calls.total() - calls_before
        self.report.seconds += time.perf_counter() - started

    async def _run(self, work: Sequence[Work], pool: ThreadPoolExecutor) -> None:
        gate = asyncio.Semaphore(self.jobs_in_flight)
        try:
            async with asyncio.TaskGroup() as group:
                for item in work:
                    group.create_task(self._job(item, gate, pool))
        finally:
            await self.client.aclose()

    async def _job(self, work: Work, gate: asyncio.Semaphore, pool: ThreadPoolExecutor) -> None:
        job = Job(work.account, work.endpoint, work.first, work.last)
        stop = asyncio.Event()  # the job's: set by an error that holds for every window
        loop = asyncio.get_running_loop()
        async with gate:
            windows = self.client.plan(work.endpoint, work.first, work.last)
            for number, chunk in enumerate(chunks(windows)):
                try:
                    await self.client.prepay(work.account, work.endpoint, len(chunk))
                except BudgetExceededError as exc:  # today's budget is spent: tomorrow's work
                    self._fail(job, exc)
                    break
                result = await self.client.fetch_windows(job, chunk, stop, probe_first=number == 0)
                self._hold(len(result.responses))
                # Off the event loop: COPY and normalising would stall every call in flight.
                invalid = await loop.run_in_executor(pool, self._store, result)
                self._hold(-len(result.responses))
                if invalid or stop.is_set():
                    break

    def _store(self, result: JobResult) -> bool:
        """Archive a fetched chunk and, when every window came back, replace its days in the
        warehouse. Returns True when its data is invalid (the job then stops)."""
        started = time.perf_counter()
        job, windows, responses = result.job, result.windows, result.responses
        ids = archive_responses(self.engine, responses, self.run_id) if responses else []
        invalid = False
        rows: dict[str, int] = {}
        batch = None
        if result.ok and len(responses) == len(windows):
            try:
                batch = normalize_many(responses, ids)
                rows = load_window(
                    self.engine,
                    job.endpoint,
                    job.account.app_id,
                    windows[0].begin,
                    windows[-1].end,
                    batch.frames_for(job.endpoint, job.account.app_id),
                    self.run_id,
                    ledger=ledger_days(job.endpoint, responses, ids),
                )
            except InvalidPayloadError as exc:
                invalid = True
                self._fail(job, exc)
        elif result.retired:
            with self.lock:
                self.report.retired.add(job.endpoint.name)
        elif result.error is not None:
            self._fail(job, result.error)
        with self.lock:
            r = self.report
            r.responses += len(responses)
            r.store_seconds += time.perf_counter() - started
            if batch is not None and not invalid:
                r.chunks += 1
                r.rows.update(rows)
                r.not_final += batch.not_final
                r.unknown_fields.update(batch.unknown_fields)
                r.unknown_codes.update(
                    {f"{col}={value}": n for (col, value), n in batch.unknown_codes.items()}
                )
            self.stored += len(windows)
            self.step("windows", self.stored, self.planned)
        return invalid

    def _hold(self, responses: int) -> None:
        with self.lock:
            self.held += responses
            self.report.peak_responses_held = max(self.report.peak_responses_held, self.held)

    def _fail(self, job: Job, error: WeChatError | InvalidPayloadError) -> None:
        with self.lock:
            self.report.failures.append(AccountFailure(job.account, job.endpoint.name, error))
