"""`make soak`: one installation runs its schedules for N consecutive days; does it stay fast
and bounded?

Question: after a year of nightly runs, is the nightly run as fast as in its first month, is
the Dagster UI as quick to show an asset's partitions and the runs list, and how much does each
store grow per account-day?

One installation, as `make bench` sets one up: a PostgreSQL of its own (the warehouse and, in
the same database, Dagster's run storage, as with `WX_WAREHOUSE_URL`), the simulator in its
own process, `WX_HOME` with the instance config `wx-pipeline dev` gives the daemon. The days
are the N days up to the suite's newest final day; the 30 days before them (``--warm-up``, the
longest look-back of a nightly run) are loaded first in one untimed backfill, as a team starts,
and `WX_START_DATE` is the first of those (no history to fill). For each day D, at each
schedule's time on D+1 (`WX_NOW` and the simulator's clock move there; Dagster decides which
partitions exist by the real clock, so every day is in the past), every schedule of the code
location that fires that day is evaluated as the daemon would (nightly, weekly on Mondays,
monthly on the 1st, the late-data refresh, the history fill, the upkeep), its run requests
executed, and after each successful run the `analytics_after_ingestion` sensor is evaluated
and the marts' run it asks for executed.

Per block of days (``--block``) it prints one row: the nightly run's wall time (the daily run
and the marts' run after it) and its ingestion and dbt steps (Dagster's step stats), medians
of the block; Dagster's storage (rows and MB of runs, event log, asset tables, ticks); the
compute logs and the rest of `WX_HOME`; the warehouse by schema; and the time the UI's
GraphQL queries take (a `dagster-webserver` on the instance the whole time): an asset's
partition status (the UI's PartitionHealthQuery) and the runs list (its RunsFeedRootQuery).
Then the slowdown ratios, the growth per account-day of each store, and the plan of each
incremental mart's query for the last day (`EXPLAIN`): index scans or full scans.

Runs execute in this process, one after the other, against the same instance and
definitions (`wx_pipeline.cli.runner.execute_job`, as `wx-pipeline run` does): the daemon would
start each in a process of its own (start-up ~4 s) and its steps in processes of their own
(compute logs per step rather than per run). The daemon's own ticks (sensors every 30 s) are
not made here.

    .venv/bin/python bench/soak.py                       # 1 account x 365 days (~50 min, 2 cores)
    .venv/bin/python bench/soak.py --days 180            # past the 90-day horizon (~25 min)
    .venv/bin/python bench/soak.py --days 40 --block 10  # a short one while developing
    .venv/bin/python bench/soak.py --accounts 100 --days 90
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import psycopg
from suite import BIN, LAST, OUT, ROOT, Warehouse, simulator, write_accounts

from wx_pipeline.core.settings import BEIJING, get_settings
from wx_pipeline.registry import ENDPOINTS
from wx_pipeline.warehouse.embedded import libpq_url

#: Dagster's tables by what they hold; rows are counted in the first (sizes include indexes
#: and TOAST).
DAGSTER_TABLES = {
    "runs": ("runs", "run_tags", "snapshots", "bulk_actions", "backfill_tags"),
    "events": ("event_logs", "asset_event_tags"),
    "assets": (
        "asset_keys",
        "asset_check_executions",
        "dynamic_partitions",
        "asset_daemon_asset_evaluations",
        "pending_steps",
        "concurrency_slots",
        "concurrency_limits",
        "kvs",
    ),
    "ticks": ("job_ticks", "jobs", "instigators"),
}
WAREHOUSE_SCHEMAS = ("wechat", "wechat_raw", "wechat_meta", "analytics")
#: The UI's queries, as dagster-webserver 1.13.27's pages send them (PartitionHealthQuery as
#: written there; the runs feed without the fragments of its action menu).
PARTITION_HEALTH = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
        ... on DefaultPartitionStatuses {
          materializedPartitions materializingPartitions failedPartitions
        }
      }
    }
  }
}
"""
RUNS_FEED = """
query RunsFeedRootQuery($limit: Int!, $cursor: String, $filter: RunsFilter, $view: RunsFeedView!) {
  runsFeedOrError(limit: $limit, cursor: $cursor, filter: $filter, view: $view) {
    ... on RunsFeedConnection {
      cursor
      hasMore
      results {
        __typename id runStatus creationTime startTime endTime jobName
        tags { key value }
        ... on Run {
          assetSelectionPreview: assetSelection(limit: 25) { ... on AssetKey { path } }
          assetSelectionCount
          assetCheckSelectionPreview: assetCheckSelection(limit: 25) {
            name assetKey { path }
          }
          assetCheckSelectionCount
        }
      }
    }
  }
}
"""
#: The asset whose partitions the UI query reads: a daily one, loaded every night.
PARTITIONED_ASSET = ["wechat", "followers"]


# --- the clock and the schedules -------------------------------------------------------------


def _cron_field(spec: str, value: int) -> bool:
    return spec == "*" or any(int(part) == value for part in spec.split(","))


#: Days loaded before the soak's first, untimed: the longest look-back of a nightly or
#: late-data run (the registry's revision days).
WARM_UP_DAYS: Final = max(e.revision_days for e in ENDPOINTS)


def fires_on(cron: str, day: date) -> tuple[int, int] | None:
    """(hour, minute) at which ``cron`` (five fields of numbers or ``*``, as the project's
    schedules are written) fires on ``day``, or None."""
    minute, hour, dom, month, dow = cron.split()
    if not (
        _cron_field(dom, day.day)
        and _cron_field(month, day.month)
        and _cron_field(dow, day.isoweekday() % 7)
    ):
        return None
    return int(hour), int(minute)


@dataclass(frozen=True)
class Cpu:
    """CPU seconds, by whom: this process (Dagster and the pipeline's Python), the children it
    waited for (dbt) and PostgreSQL (its backends, autovacuum and the rest)."""

    python: float
    dbt: float
    postgres: float

    @property
    def total(self) -> float:
        return self.python + self.dbt + self.postgres

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(self.python + other.python, self.dbt + other.dbt, self.postgres + other.postgres)

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.python - other.python, self.dbt - other.dbt, self.postgres - other.postgres)


@dataclass
class RunTime:
    job: str
    run_id: str
    seconds: float
    cpu: Cpu = field(default_factory=lambda: Cpu(0.0, 0.0, 0.0))
    ingest: float = 0.0  # the run's ingestion steps (Dagster's step stats)
    dbt: float = 0.0  # its dbt step

    def __add__(self, other: RunTime) -> RunTime:
        return RunTime(
            self.job,
            self.run_id,
            self.seconds + other.seconds,
            self.cpu + other.cpu,
            self.ingest + other.ingest,
            self.dbt + other.dbt,
        )


@dataclass
class Day:
    day: date
    runs: list[tuple[str, RunTime]] = field(default_factory=list)  # (schedule or sensor, run)

    def nightly(self) -> RunTime:
        """The nightly run and the marts' run after it, summed."""
        total = RunTime("nightly", "", 0.0)
        after_nightly = False
        for origin, run in self.runs:
            if origin == "nightly" or (after_nightly and run.job == "analytics"):
                total += run
            after_nightly = origin == "nightly"
        return total

    def others(self) -> float:
        """Wall seconds of every other run of the day."""
        return sum(r.seconds for _, r in self.runs) - self.nightly().seconds


class Installation:
    """The pipeline's definitions and instance in this process, driven by a moving clock.

    Dagster records each run's times by the real clock; the soak moves them (the run's row:
    created, updated, started, ended) to the simulated moment the run stands for, so that the
    runs list and the retention see a year go by, not an hour."""

    def __init__(
        self,
        defs: Any,
        instance: Any,
        base_url: str,
        url: str,
        log: Path,
        start: datetime,
        cpu: Callable[[], Cpu],
    ) -> None:
        self.defs, self.instance, self.base_url, self.log = defs, instance, base_url, log
        self.cpu = cpu
        self.repository = defs.get_repository_def()
        self.schedules = [defs.resolve_schedule_def(s.name) for s in defs.schedules]
        self.sensor = defs.resolve_sensor_def("analytics_after_ingestion")
        self.storage = psycopg.connect(libpq_url(url), autocommit=True)
        self.moment = start  # the simulated time

    def set_clock(self, moment: datetime) -> None:
        """The pipeline's clock (WX_NOW) and the simulator's, at ``moment``."""
        self.moment = moment
        os.environ["WX_NOW"] = moment.isoformat()
        get_settings.cache_clear()
        answer = httpx.post(f"{self.base_url}/_sim/clock", params={"now": moment.isoformat()})
        answer.raise_for_status()

    def due(self, day: date) -> list[tuple[datetime, Any]]:
        """The schedules that fire on ``day`` (Beijing), with their times, in order."""
        out = []
        for schedule in self.schedules:
            at = fires_on(str(schedule.cron_schedule), day)
            if at is not None:
                moment = datetime(day.year, day.month, day.day, *at, tzinfo=BEIJING)
                out.append((moment, schedule))
        return sorted(out, key=lambda pair: pair[0])

    def tick(self, moment: datetime, schedule: Any) -> list[tuple[str, RunTime]]:
        """The schedule's tick at ``moment``: its runs, and the marts' runs the sensor asks for
        after each."""
        import dagster as dg

        self.set_clock(moment)
        context = dg.build_schedule_context(
            instance=self.instance, scheduled_execution_time=moment, repository_def=self.repository
        )
        done = []
        for request in schedule.evaluate_tick(context).run_requests or []:
            tags = {**schedule.tags, **request.tags, "dagster/schedule_name": schedule.name}
            if request.partition_key:
                tags["dagster/partition"] = request.partition_key
            run = self.execute(request.job_name or schedule.job_name, tags)
            done.append((schedule.name, run))
            done += self.after(run)
        return done

    def after(self, run: RunTime) -> list[tuple[str, RunTime]]:
        """What `analytics_after_ingestion` starts after ``run``."""
        import dagster as dg

        from wx_pipeline.defs.resources import WarehouseResource

        dagster_run = self.instance.get_run_by_id(run.run_id)
        context = dg.build_run_status_sensor_context(
            sensor_name=self.sensor.name,
            dagster_event=dg.DagsterEvent(
                event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=run.job
            ),
            dagster_instance=self.instance,
            dagster_run=dagster_run,
            resources={"warehouse": WarehouseResource()},
        )
        request = self.sensor(context)
        if not isinstance(request, dg.RunRequest):
            return []
        tags = {**request.tags, "dagster/sensor_name": self.sensor.name}
        job = request.job_name or "analytics"
        return [(self.sensor.name, self.execute(job, tags, request.asset_selection))]

    def execute(self, job: str, tags: dict[str, str], selection: Any = None) -> RunTime:
        from wx_pipeline.cli.runner import execute_job
        from wx_pipeline.defs.dbt import DBT_STEP
        from wx_pipeline.defs.ingestion import KEY_PREFIX

        shift = self.moment.timestamp() - time.time()
        cpu, started = self.cpu(), time.perf_counter()
        # dbt's output, which dagster-dbt echoes, goes to the log rather than the table.
        with self.log.open("a") as log, redirect_stdout(log):
            result = execute_job(get_settings(), self.defs, self.instance, job, tags, selection)
        run = RunTime(job, result.run_id, time.perf_counter() - started, self.cpu() - cpu)
        self.moment += timedelta(seconds=run.seconds)
        self.storage.execute(
            "UPDATE runs SET create_timestamp = create_timestamp + make_interval(secs => %(s)s),"
            " update_timestamp = update_timestamp + make_interval(secs => %(s)s),"
            " start_time = start_time + %(s)s, end_time = end_time + %(s)s"
            " WHERE run_id = %(run)s",
            {"s": shift, "run": result.run_id},
        )
        for step in self.instance.get_run_step_stats(result.run_id):
            if step.start_time is None or step.end_time is None:
                continue
            if step.step_key.startswith(f"{KEY_PREFIX}__"):
                run.ingest += step.end_time - step.start_time
            elif step.step_key == DBT_STEP:
                run.dbt += step.end_time - step.start_time
        return run


def cpu_seconds(warehouse: Warehouse) -> Callable[[], Cpu]:
    """CPU seconds so far of this process, the children it waited for (dbt) and PostgreSQL:
    a run's share is the difference of two readings, less moved by a busy machine than its
    wall time."""

    def now() -> Cpu:
        me, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return Cpu(
            me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime, warehouse.cpu()
        )

    return now


# --- what the installation holds ---------------------------------------------------------------


@dataclass
class Block:
    """The figures of one block of days, measured at its end."""

    last_day: date
    days: list[Day]
    dagster: dict[str, tuple[int, int]]  # group -> (rows, bytes)
    files: dict[str, int]  # what WX_HOME holds: bytes by kind
    warehouse: dict[str, int]  # schema -> bytes
    ui_ms: dict[str, float]  # query -> median ms
    load: float  # the machine's 1-minute load average, the mean of the block's days


def dagster_storage(url: str) -> dict[str, tuple[int, int]]:
    """Per group of Dagster's tables: the rows of its first table, the bytes of all."""
    out = {}
    with psycopg.connect(libpq_url(url)) as conn:
        present = {
            str(r[0])
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        for group, tables in DAGSTER_TABLES.items():
            rows = size = 0
            for table in (t for t in tables if t in present):
                row = conn.execute(
                    f"SELECT count(*), pg_total_relation_size('public.{table}') FROM public.{table}"
                ).fetchone()
                assert row is not None
                rows = rows or int(row[0])
                size += int(row[1])
            out[group] = (rows, size)
    return out


def warehouse_bytes(url: str) -> dict[str, int]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT n.nspname, coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname = ANY(%s) GROUP BY n.nspname",
            [list(WAREHOUSE_SCHEMAS)],
        ).fetchall()
    found = {str(name): int(size) for name, size in rows}
    return {s: found.get(s, 0) for s in WAREHOUSE_SCHEMAS}


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def home_files(home: Path) -> dict[str, int]:
    """Bytes under WX_HOME: Dagster's compute logs, the reports, the rest (Dagster's step
    outputs, dbt's state and docs, tokens)."""
    storage = home / "dagster" / "storage"
    logs = (
        sum(
            p.stat().st_size
            for p in storage.rglob("*")
            if p.is_file() and "compute_logs" in p.parts
        )
        if storage.exists()
        else 0
    )
    reports = _bytes(home / "reports")
    return {"compute logs": logs, "reports": reports, "other": _bytes(home) - logs - reports}


# --- the UI ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def webserver(log: Path) -> Iterator[str]:
    """dagster-webserver on the instance and code location, as `wx-pipeline dev` serves them;
    its GraphQL URL."""
    port = _free_port()
    args = [
        str(BIN / "dagster-webserver"),
        "-w", str(ROOT / "workspace.yaml"),
        "-h", "127.0.0.1",
        "-p", str(port),
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                sys.exit(f"dagster-webserver exited {proc.returncode}: see {log}")
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"dagster-webserver did not answer within 180 s: see {log}")
            time.sleep(0.5)
        yield f"{url}/graphql"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _graphql(url: str, query: str, variables: dict[str, Any]) -> float:
    """Milliseconds one query takes, answered without errors."""
    started = time.perf_counter()
    answer = httpx.post(url, json={"query": query, "variables": variables}, timeout=300)
    ms = (time.perf_counter() - started) * 1000
    body = answer.json()
    if answer.status_code != 200 or body.get("errors"):
        sys.exit(f"GraphQL query failed: {json.dumps(body)[:500]}")
    return ms


def ui_times(url: str, repeat: int = 3) -> dict[str, float]:
    """Median milliseconds of the UI's queries, after one of each to warm the server up."""
    queries: dict[str, tuple[str, dict[str, Any]]] = {
        "partitions": (PARTITION_HEALTH, {"assetKey": {"path": PARTITIONED_ASSET}}),
        "runs": (RUNS_FEED, {"limit": 30, "view": "ROOTS", "filter": {}}),
    }
    out = {}
    for name, (query, variables) in queries.items():
        _graphql(url, query, variables)
        out[name] = statistics.median(_graphql(url, query, variables) for _ in range(repeat))
    return out


# --- the marts' plans -------------------------------------------------------------------------


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def mart_plans(url: str, day: date) -> dict[str, list[str]]:
    """Each incremental mart's query for the window ``day`` as the nightly build compiles it,
    under EXPLAIN ANALYZE: its time, and how it reads each fact table (``Seq Scan`` is a full
    scan; the table's size in pages follows)."""
    from wx_pipeline.marts.run import run_dbt, window_env

    with tempfile.TemporaryDirectory(prefix="wx-soak-dbt-") as target:
        env = {"DBT_TARGET_PATH": target, **window_env((day, day))}
        args = ["compile", "--quiet", "--select", "config.materialized:incremental"]
        done = run_dbt(args, url, capture=True, extra_env=env)
        if done.returncode != 0:
            sys.exit(f"dbt compile failed:\n{done.stdout}{done.stderr}")
        results = json.loads((Path(target) / "run_results.json").read_text())["results"]
    plans = {}
    with psycopg.connect(libpq_url(url)) as conn:
        pages = {
            str(name): int(n)
            for name, n in conn.execute(
                "SELECT c.relname, pg_relation_size(c.oid) / current_setting('block_size')::int "
                "FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'wechat' AND c.relkind = 'r'"
            )
        }
        for result in sorted(results, key=lambda r: str(r["unique_id"])):
            if not str(result["unique_id"]).startswith("model."):
                continue  # the models' tests come along with them
            query = f"EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) {result['compiled_code']}"
            row = conn.execute(query).fetchone()
            assert row is not None
            scans = [f"{row[0][0]['Execution Time']:.1f} ms"]
            for node in _plan_nodes(row[0][0]["Plan"]):
                if node.get("Schema") != "wechat" or "Relation Name" not in node:
                    continue
                table, how = node["Relation Name"], node["Node Type"]
                inner = next((n for n in _plan_nodes(node) if "Index Name" in n), None)
                index = node.get("Index Name") or (inner or {}).get("Index Name")
                where = f" ({index})" if index else f" of {pages.get(table, 0)} pages"
                scans.append(f"{table}: {how}{where}")
            plans[str(result["unique_id"]).rsplit(".", 1)[-1]] = [scans[0], *sorted(set(scans[1:]))]
    return plans


def print_plans(plans: dict[str, list[str]], day: date) -> None:
    full = [m for m, scans in plans.items() if any(": Seq Scan" in s for s in scans)]
    print(f"incremental marts' queries for {day} (EXPLAIN ANALYZE), fact tables read:")
    for mart, (took, *scans) in plans.items():
        print(f"  {mart} ({took}): {'; '.join(scans) or 'no fact table'}")
    print(f"  {len(plans) - len(full)} of {len(plans)} marts read their window through indexes")


# --- the report --------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 2**20:,.1f}"


def block_row(b: Block, first: date) -> tuple[str, ...]:
    """One row of the table (``first``: the soak's first day)."""
    nightly = [d.nightly() for d in b.days]
    runs, events = b.dagster["runs"], b.dagster["events"]
    return (
        f"{(b.days[0].day - first).days + 1}-{(b.last_day - first).days + 1}",
        f"{statistics.median(n.seconds for n in nightly):.1f}",
        f"{statistics.median(n.cpu.total for n in nightly):.1f}",
        "/".join(
            f"{statistics.median(getattr(n.cpu, part) for n in nightly):.1f}"
            for part in ("python", "dbt", "postgres")
        ),
        f"{statistics.median(n.ingest for n in nightly):.1f}",
        f"{statistics.median(n.dbt for n in nightly):.1f}",
        f"{statistics.median(d.others() for d in b.days):.1f}",
        f"{runs[0]:,}",
        _mb(runs[1]),
        f"{events[0]:,}",
        _mb(events[1]),
        _mb(b.dagster["assets"][1]),
        f"{b.dagster['ticks'][0]:,}",
        _mb(b.files["compute logs"]),
        _mb(b.files["reports"]),
        _mb(b.files["other"]),
        *(_mb(b.warehouse[s]) for s in WAREHOUSE_SCHEMAS),
        f"{b.ui_ms['partitions']:.0f}",
        f"{b.ui_ms['runs']:.0f}",
        f"{b.load:.1f}",
    )


def print_table(blocks: Sequence[Block]) -> None:
    head = (
        "days", "nightly s", "CPU s", "py/dbt/pg", "ingest s", "dbt s", "other s",
        "runs", "MB", "events", "MB", "assets MB", "ticks",
        "logs MB", "reports MB", "home MB",
        "wechat MB", "raw MB", "meta MB", "marts MB",
        "partitions ms", "runs ms", "load",
    )  # fmt: skip
    lines: list[tuple[str, ...]] = [head]
    first = blocks[0].days[0].day
    lines += [block_row(b, first) for b in blocks]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print("  ".join(str(c).rjust(w) for c, w in zip(line, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


STORES: dict[str, Callable[[Block], int]] = {
    "Dagster runs": lambda b: b.dagster["runs"][1],
    "Dagster events": lambda b: b.dagster["events"][1],
    "Dagster assets": lambda b: b.dagster["assets"][1],
    "compute logs": lambda b: b.files["compute logs"],
    "reports": lambda b: b.files["reports"],
    "rest of WX_HOME": lambda b: b.files["other"],
    "warehouse wechat": lambda b: b.warehouse["wechat"],
    "warehouse wechat_raw": lambda b: b.warehouse["wechat_raw"],
    "warehouse wechat_meta": lambda b: b.warehouse["wechat_meta"],
    "warehouse analytics": lambda b: b.warehouse["analytics"],
}


def print_ratios(
    days: Sequence[Day], blocks: Sequence[Block], span: int, accounts: int, horizon: int
) -> None:
    if len(days) >= 2 * span:
        measures: dict[str, Callable[[RunTime], float]] = {
            "": lambda r: r.seconds,
            " CPU": lambda r: r.cpu.total,
            " CPU, Python": lambda r: r.cpu.python,
            " CPU, dbt": lambda r: r.cpu.dbt,
            " CPU, PostgreSQL": lambda r: r.cpu.postgres,
        }
        for label, measure in measures.items():
            first = [measure(d.nightly()) for d in days[:span]]
            last = [measure(d.nightly()) for d in days[-span:]]
            mean = statistics.mean(last) / statistics.mean(first)
            median = statistics.median(last) / statistics.median(first)
            print(
                f"nightly run{label}, last {span} / first {span}: mean "
                f"{statistics.mean(last):.2f} / {statistics.mean(first):.2f} s = {mean:.2f}x, "
                f"median {statistics.median(last):.2f} / {statistics.median(first):.2f} s = "
                f"{median:.2f}x" + (" (target <= 1.1x)" if label in ("", " CPU") else "")
            )
    if len(blocks) < 2:
        return
    a, b = blocks[0].ui_ms, blocks[-1].ui_ms
    print(
        "UI queries, last block / first: "
        + ", ".join(f"{q} {b[q]:.0f} / {a[q]:.0f} ms = {b[q] / a[q]:.2f}x" for q in a)
        + " (target <= 1.5x)"
    )
    # What a day adds once the installation is set up (after the first block), and once the
    # retention deletes as much as a day adds (a block past the horizon).
    settled = [x for x in blocks if (x.last_day - days[0].day).days >= horizon + len(x.days)]
    spans = {"after the first block": blocks[0]}
    if len(settled) >= 2:
        spans[f"past the {horizon}-day horizon"] = settled[0]
    for label, since in spans.items():
        added = (blocks[-1].last_day - since.last_day).days * accounts
        print(f"growth per account-day, {label} (from {since.last_day}):")
        for name, get in STORES.items():
            print(f"  {name:24} {(get(blocks[-1]) - get(since)) / added / 1024:10,.1f} kB")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--block", type=int, default=30, help="days per row of the table")
    parser.add_argument("--span", type=int, default=30, help="nightly runs compared, first/last")
    parser.add_argument(
        "--warm-up",
        type=int,
        default=WARM_UP_DAYS,
        help="days loaded before the first, untimed (default: the longest look-back)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL data directory (printed)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="wx-soak-pg-"))
    warehouse = Warehouse(root)
    home = OUT / "soak-home"
    shutil.rmtree(home, ignore_errors=True)
    (OUT / "soak.log").unlink(missing_ok=True)
    first = LAST - timedelta(days=args.days - 1)
    started = time.perf_counter()
    try:
        url = warehouse.database("soak")
        accounts = write_accounts(args.accounts, OUT / "accounts" / str(args.accounts))
        start = datetime(first.year, first.month, first.day, tzinfo=BEIJING) + timedelta(days=1)
        with simulator(accounts, now=start) as (base_url, _sim):
            os.environ.update(
                {
                    **accounts.env,
                    "WX_API_BASE_URL": base_url,
                    "WX_ACCOUNTS_FILE": str(accounts.pipeline_file),
                    "WX_WAREHOUSE_URL": url,
                    "WX_HOME": str(home),
                    "WX_START_DATE": (first - timedelta(days=args.warm_up)).isoformat(),
                    "WX_NOW": start.isoformat(),
                }
            )
            get_settings.cache_clear()
            settings = get_settings()
            days, blocks = soak(
                settings, warehouse, base_url, home, start, args.days, args.block, args.warm_up
            )
            plans = mart_plans(url, LAST)
    finally:
        warehouse.server.cleanup()
        if args.keep:
            print(f"kept: {root / 'pgdata'} (database soak), {home}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print_table(blocks)
    print(
        f"{args.accounts} account(s) x {args.days} days ({first} .. {LAST}), "
        f"{time.perf_counter() - started:,.0f} s; nightly = the daily run + the marts' run after "
        "it, other = the day's other runs (medians of the block); runs, events, ticks: rows; "
        "assets: asset and check records; home: the rest of WX_HOME; raw: the archive; meta: "
        "the ledger and call counts; partitions, runs: the UI's queries; load: 1-minute load "
        "average"
    )
    print_ratios(days, blocks, args.span, args.accounts, settings.retention_days)
    print_plans(plans, LAST)
    print(f"measured {date.today().isoformat()} on {os.cpu_count()} cores")
    return 0


def soak(
    settings: Any,
    warehouse: Warehouse,
    base_url: str,
    home: Path,
    start: datetime,
    days: int,
    block: int,
    warm_up: int,
) -> tuple[list[Day], list[Block]]:
    """The ``warm_up`` days before ``start``'s day loaded at once, untimed; then every day's
    schedules, one day after the other from ``start``; a block's figures at its end."""
    from wx_pipeline.cli.instance import open_instance
    from wx_pipeline.cli.runner import run_plan

    url = str(settings.warehouse_url)
    out: list[Day] = []
    blocks: list[Block] = []
    loads: list[float] = []
    with open_instance(settings) as (defs, instance), ExitStack() as stack:
        installation = Installation(
            defs, instance, base_url, url, OUT / "soak.log", start, cpu_seconds(warehouse)
        )
        stack.callback(installation.storage.close)
        if warm_up:
            # As a team starts: one backfill of the days before its first nightly run. The
            # nightly and late-data runs reach back over the send dates whose article totals
            # still grow (up to 30 days): from an empty warehouse the first month's runs would
            # pull less each day than every later one, and the first/last ratio would measure
            # that rather than a slowdown.
            installation.set_clock(start)
            first = start.date() - timedelta(days=1)
            for job, tags in run_plan(first - timedelta(days=warm_up), first - timedelta(days=1)):
                installation.execute(job, tags)
        web: str | None = None
        for i in range(days):
            day = start.date() - timedelta(days=1) + timedelta(days=i)
            today = Day(day)
            for moment, schedule in installation.due(day + timedelta(days=1)):
                today.runs += installation.tick(moment, schedule)
            out.append(today)
            loads.append(os.getloadavg()[0])
            runs = ", ".join(f"{o}/{r.job} {r.seconds:.1f}" for o, r in today.runs)
            print(f"{day}: {runs}", file=sys.stderr, flush=True)
            if web is None:  # the instance and the code location are there now
                web = stack.enter_context(webserver(OUT / "soak-webserver.log"))
            if (i + 1) % block == 0 or i == days - 1:
                size = (i % block) + 1
                blocks.append(
                    Block(
                        day,
                        out[-size:],
                        dagster_storage(url),
                        home_files(home),
                        warehouse_bytes(url),
                        ui_times(web),
                        statistics.mean(loads[-size:]),
                    )
                )
                # The row now too: a soak stopped early still leaves its blocks in the log.
                row = block_row(blocks[-1], out[0].day)
                print("block " + "  ".join(row), file=sys.stderr, flush=True)
    return out, blocks


if __name__ == "__main__":
    sys.exit(main())
