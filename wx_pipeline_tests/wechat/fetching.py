"""The client with whole-range fetches, for the client's own tests.

The pipeline fetches chunk by chunk (`pipeline/stream.py` calls
`DatacubeClient.fetch_windows`); these tests ask for a range and get every answer, or many
ranges at once with each one's errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from wx_pipeline.core.settings import Account
from wx_pipeline.registry import Endpoint
from wx_pipeline.wechat.client import DatacubeClient, Job, JobResult
from wx_pipeline.wechat.errors import WeChatError
from wx_pipeline.wechat.raw import RawResponse

T = TypeVar("T")
#: Told (windows fetched, windows planned) as `fetch_many` advances.
OnProgress = Callable[[int, int], None]


@dataclass
class FetchReport:
    """The outcome of `fetch_many`: per job results, and the calls it took."""

    results: list[JobResult]
    calls_made: int  # datacube calls made meanwhile, retries and token retries included
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


class FetchingClient(DatacubeClient):
    async def _run_job(self, job: Job, window_done: Callable[[], None] | None = None) -> JobResult:
        windows = self.plan(job.endpoint, job.first, job.last)
        return await self.fetch_windows(job, windows, asyncio.Event(), window_done)

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
        planned = sum(len(self.plan(j.endpoint, j.first, j.last)) for j in normalized)
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
        """`fetch` for synchronous callers (opens and closes its own event loop)."""
        return asyncio.run(self._closing(self.fetch(account, endpoint, start, end)))

    def fetch_many_sync(
        self,
        jobs: Sequence[tuple[Account, Endpoint | str, date, date] | Job],
        on_progress: OnProgress | None = None,
    ) -> FetchReport:
        """`fetch_many` for synchronous callers."""
        return asyncio.run(self._closing(self.fetch_many(jobs, on_progress)))

    async def _closing(self, work: Awaitable[T]) -> T:
        try:
            return await work
        finally:
            await self.aclose()
