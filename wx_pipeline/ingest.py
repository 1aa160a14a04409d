"""One ingestion pass: API client -> raw archive -> normalizers -> loader, for a date range.

Used by the Dagster assets and by ``wx-pipeline run``; it composes the ``wechat`` and
``warehouse`` rooms and knows nothing of Dagster. The order of the phases is what makes a run
trustworthy: every response is archived before anything is normalised, every response is
normalised before anything is loaded (an invalid payload loads nothing), and each
(endpoint, account) is replaced in one transaction.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Engine

from wx_pipeline.settings import Account
from wx_pipeline.warehouse.archive import reserve_ids, write_archive
from wx_pipeline.warehouse.load import load_window
from wx_pipeline.warehouse.normalize import normalize_many
from wx_pipeline.wechat.client import DatacubeClient, JobResult
from wx_pipeline.wechat.endpoints import Endpoint
from wx_pipeline.wechat.errors import TransientError, WeChatError

#: Loads (and the archive COPY) running at once: Postgres works on one while Python encodes
#: the next; more brings nothing on two cores.
LOAD_THREADS = 2
#: Called with (phase, done, total) as a pass advances; the CLI draws a progress bar from it.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AccountFailure:
    """An account (or one of its endpoints) that could not be fetched, and why."""

    account: Account
    endpoint: str
    error: WeChatError


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
    unknown_fields: Counter[str] = field(default_factory=Counter)  # field path -> objects
    unknown_codes: Counter[str] = field(default_factory=Counter)  # "table.column=value"
    not_final: int = 0  # cumulative-tail entries left out: their stat_date was not final yet
    retired: set[str] = field(default_factory=set)  # endpoints answering 47009
    failures: list[AccountFailure] = field(default_factory=list)
    fetch_seconds: float = 0.0
    normalize_seconds: float = 0.0
    load_seconds: float = 0.0

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
        grouped: dict[tuple[str, int | None], tuple[str, list[str]]] = {}
        for f in self.failures:
            key = (f.account.app_id, f.error.errcode)
            grouped.setdefault(key, (str(f.error), []))[1].append(f.endpoint)
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
) -> IngestReport:
    """Fetch, archive, normalise and load ``endpoints`` x ``accounts`` over [first, last].

    Accounts that fail (wrong secret, IP whitelist, quota, ...) are reported in
    ``failures`` while the others load; a retired endpoint is skipped and listed in ``retired``.
    """
    report = IngestReport(first, last, [a.app_id for a in accounts])
    step = progress or (lambda phase, done, total: None)

    started = time.perf_counter()
    fetched = client.fetch_many_sync(
        # Cumulative endpoints reach back over the send dates whose totals still grow.
        [(a, e, e.request_start(first), last) for a in accounts for e in endpoints],
        on_progress=lambda done, total: step("fetch", done, total),
    )
    report.calls_made = fetched.calls_made
    report.minimum_calls = fetched.minimum_calls
    report.fetch_seconds = time.perf_counter() - started

    complete: list[JobResult] = []
    for result in fetched.results:
        if result.retired:
            report.retired.add(result.job.endpoint.name)
        elif result.error is not None:
            report.failures.append(
                AccountFailure(result.job.account, result.job.endpoint.name, result.error)
            )
        elif result.windows:
            complete.append(result)
    responses = fetched.responses
    report.responses = len(responses)

    # The raw body is kept even for a job that failed half way: it cost quota. The COPY runs
    # (mostly inside Postgres) while this thread normalises; both finish before any load.
    started = time.perf_counter()
    archive_ids = reserve_ids(engine, len(responses))
    archive_id = {id(r): i for r, i in zip(responses, archive_ids, strict=True)}
    # Only complete jobs are normalised and loaded: a half-fetched range never replaces a
    # window of the warehouse.
    loadable = [r for result in complete for r in result.responses]
    with ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool:
        archiving = pool.submit(write_archive, engine, archive_ids, responses, run_id)
        try:
            batch = normalize_many(loadable, archive_ids=[archive_id[id(r)] for r in loadable])
        finally:
            archiving.result()  # an error names an archive row: it must exist
        step("normalize", 1, 1)
        report.unknown_fields.update(batch.unknown_fields)
        report.unknown_codes.update(
            {f"{col}={value}": n for (col, value), n in batch.unknown_codes.items()}
        )
        report.not_final += batch.not_final
        report.normalize_seconds = time.perf_counter() - started

        # Each (endpoint, account) is its own transaction; two at a time keep this thread
        # encoding while Postgres ingests the other COPY.
        started = time.perf_counter()
        loads = [
            pool.submit(
                load_window,
                engine,
                result.job.endpoint,
                result.job.account.app_id,
                result.windows[0].begin,
                result.windows[-1].end,
                batch.frames_for(result.job.endpoint, result.job.account.app_id),
                run_id,
            )
            for result in complete
        ]
        for done, load in enumerate(as_completed(loads), start=1):
            report.rows.update(load.result())
            step("load", done, len(loads))
    report.load_seconds = time.perf_counter() - started
    return report
