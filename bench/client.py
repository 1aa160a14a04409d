"""How fast, and how frugal, is the datacube client? One account x 365 days x 21 endpoints.

Runs the client against the simulator (faults off) over real loopback HTTP and prints the
datacube calls made against the minimum the spans allow, the wall time and requests per second,
twice: against a cold simulator, then asking the same again of the warm one.

    .venv/bin/python bench/client.py                 # simulator in a separate process
    .venv/bin/python bench/client.py --in-thread     # simulator in this process (GIL-shared)
    .venv/bin/python bench/client.py --concurrency 8

The simulator runs in its own process by default: in a thread it shares the GIL with the client
and the figure measures both halves' Python, not the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr

from wx_pipeline.core.settings import BEIJING, Account
from wx_pipeline.registry import ENDPOINTS
from wx_pipeline.simulator import SimulatorConfig, SimulatorServer
from wx_pipeline.wechat.client import DatacubeClient, Job, JobResult

NOW = datetime(2026, 3, 15, 10, 0, tzinfo=BEIJING)
DAYS = 365


def _serve(conn: multiprocessing.connection.Connection) -> None:
    server = SimulatorServer(SimulatorConfig(seed=1, now=NOW))
    server.start()
    account = server.accounts[0]
    conn.send((server.base_url, account.app_id, account.name, account.secret))
    conn.recv()  # until the parent says stop
    server.stop()


@contextmanager
def simulator(in_thread: bool) -> Iterator[tuple[str, Account]]:
    if in_thread:
        server = SimulatorServer(SimulatorConfig(seed=1, now=NOW))
        server.start()
        sim_account = server.accounts[0]
        try:
            yield (
                server.base_url,
                Account(
                    app_id=sim_account.app_id,
                    name=sim_account.name,
                    secret=SecretStr(sim_account.secret),
                ),
            )
        finally:
            server.stop()
        return
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,))
    process.start()
    try:
        base_url, app_id, name, secret = parent.recv()
        yield base_url, Account(app_id=app_id, name=name, secret=SecretStr(secret))
    finally:
        parent.send("stop")
        process.join(timeout=15)
        if process.is_alive():
            process.terminate()


def _simulator_saw(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/_sim/calls") as answer:
        calls = json.load(answer)
    return sum(1 for c in calls if str(c["path"]).startswith("/datacube/"))


@dataclass
class Report:
    """One pass over every job: as the pipeline fetches, window by window (fetch_windows)."""

    results: list[JobResult]
    calls_made: int
    wall_seconds: float

    @property
    def minimum_calls(self) -> int:
        return sum(r.minimum_calls for r in self.results)

    @property
    def responses(self) -> int:
        return sum(len(r.responses) for r in self.results)

    @property
    def errors(self) -> list[object]:
        return [e for r in self.results for e in r.errors]


async def _fetch_all(client: DatacubeClient, jobs: list[Job]) -> Report:
    started, before = time.perf_counter(), client.calls.total()
    try:
        results = await asyncio.gather(
            *(
                client.fetch_windows(j, client.plan(j.endpoint, j.first, j.last), asyncio.Event())
                for j in jobs
            )
        )
    finally:
        await client.aclose()
    return Report(list(results), client.calls.total() - before, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-thread", action="store_true", help="run the simulator in-process")
    parser.add_argument("--concurrency", type=int, default=4, help="client concurrency (4)")
    args = parser.parse_args(argv)

    last = NOW.date() - timedelta(days=1)
    first = last - timedelta(days=DAYS - 1)
    reports: list[Report] = []
    with simulator(args.in_thread) as (base_url, account):
        # Pass 1 finds the simulator cold (it generates each answer's data on first request);
        # pass 2 asks the same again, so its figure is mostly the client's own cost.
        for _ in range(2):
            client = DatacubeClient(
                base_url, [account], concurrency=args.concurrency, clock=lambda: NOW
            )
            jobs = [Job(account, e, first, last) for e in ENDPOINTS]
            reports.append(asyncio.run(_fetch_all(client, jobs)))
        seen = _simulator_saw(base_url)

    where = "in-thread" if args.in_thread else "separate process"
    print(f"client benchmark: 1 account x {DAYS} days ({first}..{last}) x {len(ENDPOINTS)} "
          f"endpoints, simulator {where}, concurrency {args.concurrency}")  # fmt: skip
    ok = seen == sum(r.calls_made for r in reports)
    for label, report in zip(("cold simulator", "warm simulator"), reports, strict=True):
        print(f"  {label}:")
        print(f"    calls made     {report.calls_made} (minimum {report.minimum_calls})")
        print(f"    responses      {report.responses}, errors {len(report.errors)}")
        print(f"    wall time      {report.wall_seconds:.2f} s")
        print(f"    requests/s     {report.calls_made / report.wall_seconds:.0f}")
        ok = ok and not report.errors and report.calls_made == report.minimum_calls
    print(f"  simulator saw    {seen} datacube calls")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
