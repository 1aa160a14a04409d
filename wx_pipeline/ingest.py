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
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from threading import Lock
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wx_pipeline.errors import WxUserError
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


class WarehouseUnavailableError(WxUserError):
    """The warehouse could not be reached (or went away) while a chunk was stored; nothing of
    the chunk was loaded (its transaction rolled back)."""

    @classmethod
    def during(cls, job: Job, exc: Exception) -> WarehouseUnavailableError:
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        detail = said[0] if said else type(exc).__name__
        return cls(
            f"warehouse connection lost while loading {job.endpoint.name} of account "
            f"{job.account.name!r} ({job.account.app_id}): {detail}"
        )


#: What can keep a chunk from loading.
ChunkError = WeChatError | InvalidPayloadError | WarehouseUnavailableError


def _transient(error: ChunkError) -> bool:
    """Worth a second round: the API's bad minute past its retries, a lost connection."""
    return isinstance(error, TransientError | WarehouseUnavailableError)


@dataclass(frozen=True)
class AccountFailure:
    """An account (or one of its endpoints) that could not be fetched or loaded, and why."""

    account: Account
    endpoint: str
    error: ChunkError


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
        return bool(self.failures) and all(_transient(f.error) for f in self.failures)

    def problems(self) -> list[Problem]:
        """The failures as problems: one per account and cause, with the endpoints it hit."""
        grouped: dict[tuple[str, int | None, str], Problem] = {}
        for f in self.failures:
            problem = Problem.of(f)
            key = (problem.account_id, problem.errcode, problem.message)
            grouped.setdefault(key, problem).endpoints.add(f.endpoint)
        return sorted(grouped.values(), key=lambda p: (p.account_id, p.message))

    def failure_message(self) -> str:
        """One line per failed account and problem."""
        return "; ".join(p.line() for p in self.problems())


#: WeChat's request ids ("rid: ...", "hint: [...]") differ at every call: not part of the cause.
_REQUEST_ID = re.compile(r"\s*(?:rid:\s*[\w-]+|hint:\s*\[[^\]]*\])")


@dataclass
class Problem:
    """One cause of failure of one account, as shown to people (one short line)."""

    account_id: str
    errcode: int | None
    message: str  # without WeChat's request id
    account_level: bool  # the account's credentials or permissions: every endpoint fails
    endpoints: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, failure: AccountFailure) -> Problem:
        error = failure.error
        context = getattr(error, "context", None)
        return cls(
            account_id=failure.account.app_id,
            errcode=getattr(error, "errcode", None),
            message=_REQUEST_ID.sub("", str(error)),
            account_level=context is not None and context.endpoint is None,
        )

    def line(self) -> str:
        if self.account_level:
            return self.message
        return f"{self.message} [{', '.join(sorted(self.endpoints))}]"

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "endpoints": sorted(self.endpoints)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        return cls(
            account_id=str(data["account_id"]),
            errcode=data.get("errcode"),
            message=str(data["message"]),
            account_level=bool(data["account_level"]),
            endpoints=set(data.get("endpoints", [])),
        )


def merge_problems(problems: Iterable[Problem]) -> list[Problem]:
    """The same problem reported by several assets (a wrong secret fails them all) once."""
    merged: dict[tuple[str, int | None, str], Problem] = {}
    for p in problems:
        key = (p.account_id, p.errcode, p.message)
        if key in merged:
            merged[key].endpoints |= p.endpoints
        else:
            merged[key] = Problem(
                p.account_id, p.errcode, p.message, p.account_level, set(p.endpoints)
            )
    return list(merged.values())


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
        self.later: list[tuple[Work, list[Window]]] = []  # chunks for the second round

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
            # A chunk that met a transient failure (the API's bad minute after its retries, a
            # lost warehouse connection) gets a second round once everything else is done.
            later, self.later = self.later, []
            async with asyncio.TaskGroup() as group:
                for item, chunk in later:
                    group.create_task(self._again(item, chunk, gate, pool))
        finally:
            await self.client.aclose()

    async def _job(self, work: Work, gate: asyncio.Semaphore, pool: ThreadPoolExecutor) -> None:
        job = Job(work.account, work.endpoint, work.first, work.last)
        stop = asyncio.Event()  # the job's: set by an error that holds for every window
        async with gate:
            windows = self.client.plan(work.endpoint, work.first, work.last)
            for number, chunk in enumerate(chunks(windows)):
                error = await self._chunk(job, chunk, stop, pool, probe_first=number == 0)
                if error is None:
                    if stop.is_set():  # retired
                        break
                    continue
                if _transient(error):
                    self.later.append((work, chunk))
                    continue
                self._fail(job, error)
                break  # configuration, quota, budget, invalid data: the rest would fail too

    async def _again(
        self, work: Work, chunk: list[Window], gate: asyncio.Semaphore, pool: ThreadPoolExecutor
    ) -> None:
        job = Job(work.account, work.endpoint, work.first, work.last)
        async with gate:
            error = await self._chunk(job, chunk, asyncio.Event(), pool, probe_first=True)
        if error is not None:
            self._fail(job, error)

    async def _chunk(
        self,
        job: Job,
        chunk: list[Window],
        stop: asyncio.Event,
        pool: ThreadPoolExecutor,
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
        try:
            # Off the event loop: COPY and normalising would stall every call in flight.
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, self._store, result)
        finally:
            self._hold(-len(result.responses))

    def _store(self, result: JobResult) -> ChunkError | None:
        """Archive a fetched chunk and, when every window came back, replace its days in the
        warehouse; the chunk's error, if any."""
        started = time.perf_counter()
        job, windows, responses = result.job, result.windows, result.responses
        error: ChunkError | None = result.error
        rows: dict[str, int] = {}
        batch = None
        try:
            ids = archive_responses(self.engine, responses, self.run_id) if responses else []
            if result.ok and len(responses) == len(windows):
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
            batch, error = None, exc
        except (sa.exc.OperationalError, sa.exc.InterfaceError, psycopg.OperationalError) as exc:
            batch, error = None, WarehouseUnavailableError.during(job, exc)
        if result.retired:
            error = None
        with self.lock:
            r = self.report
            r.responses += len(responses)
            r.store_seconds += time.perf_counter() - started
            if result.retired:
                r.retired.add(job.endpoint.name)
            if batch is not None:
                r.chunks += 1
                r.rows.update(rows)
                r.not_final += batch.not_final
                r.unknown_fields.update(batch.unknown_fields)
                r.unknown_codes.update(
                    {f"{col}={value}": n for (col, value), n in batch.unknown_codes.items()}
                )
            self.stored += len(windows)
            self.step("windows", self.stored, self.planned)
        return error

    def _hold(self, responses: int) -> None:
        with self.lock:
            self.held += responses
            self.report.peak_responses_held = max(self.report.peak_responses_held, self.held)

    def _fail(self, job: Job, error: ChunkError) -> None:
        with self.lock:
            self.report.failures.append(AccountFailure(job.account, job.endpoint.name, error))
