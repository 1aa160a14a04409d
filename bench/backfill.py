"""How long does a year's backfill take through Dagster, and where does the time go?

One mid-size account (~80k followers) x ``--days`` days x every endpoint, through
``run_pipeline`` exactly as ``wx-pipeline run`` does it: the daily run (every daily asset, the
reconciliation checks and one dbt build over the range), then the weekly and monthly runs. The
Dagster instance is a real one (Postgres storage in the embedded server, the UI would show every
partition), in a temporary ``WX_HOME``. The simulator runs in a separate process so it does not
share this process's GIL.

The wall time is split with the run's own records: fetching and normalising+loading from the
ingestion assets' materialisation metadata, dbt from its step's start/success events, and
Dagster bookkeeping as the rest. Then ``--sample-days`` one-day runs of the daily job (one run
per partition, ending yesterday, so the last is the nightly run) are timed and extrapolated to
the whole range.

    .venv/bin/python bench/backfill.py [--days 365] [--sample-days 7] [--seed 1]
                                       [--batch-size N] [--steps] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from wx_pipeline.core.settings import BEIJING

ACCOUNT = {
    "app_id": "wxbackfill0000001",
    "name": "Backfill bench",
    "secret": "backfill-bench-secret-0001",
    "followers": 80_000,
}
INGEST_TARGET_S = 10.0
RUN_TARGET_S = 60.0
NIGHTLY_DBT_TARGET_S = 15.0
RUN_LOG = Path(os.devnull)  # set to $WX_HOME/runs.log in main()


@dataclass
class RunTimes:
    """What one or more Dagster runs spent, read back from the instance's event log."""

    wall: float = 0.0  # measured around run_pipeline
    runs: float = 0.0  # first to last event of each run, summed
    fetch: float = 0.0  # ingest_seconds metadata (the streamed pass, wall)
    load: float = 0.0  # store_seconds metadata (archive + normalise + load, summed over threads)
    ingest_steps: float = 0.0  # the ingestion steps' start..success
    dbt: float = 0.0  # the dbt step's start..success
    other_steps: dict[str, float] = field(default_factory=dict)  # e.g. the checks
    calls: int = 0
    minimum: int = 0
    rows: int = 0
    materialisations: int = 0
    run_ids: list[str] = field(default_factory=list)

    @property
    def bookkeeping(self) -> float:
        return self.wall - self.fetch - self.load - self.dbt

    def add(self, other: RunTimes) -> None:
        for name in ("wall", "runs", "fetch", "load", "ingest_steps", "dbt"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for step, seconds in other.other_steps.items():
            self.other_steps[step] = self.other_steps.get(step, 0.0) + seconds
        self.calls += other.calls
        self.minimum += other.minimum
        self.rows += other.rows
        self.materialisations += other.materialisations
        self.run_ids += other.run_ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def simulator(workdir: Path, seed: int) -> Iterator[str]:
    """``wx-pipeline simulator`` in a child process serving ACCOUNT; yields its base URL."""
    import yaml

    accounts = workdir / "accounts.yaml"
    accounts.write_text(yaml.safe_dump([ACCOUNT]))
    port = _free_port()
    executable = Path(sys.executable).with_name("wx-pipeline")
    log = (workdir / "simulator.log").open("wb")
    command = [str(executable), "simulator", "--port", str(port), "--seed", str(seed)]
    process = subprocess.Popen(
        [*command, "--accounts", str(accounts)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the simulator exited; see {workdir / 'simulator.log'}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the simulator did not start within 60 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def run_times(instance: Any, run_ids: list[str], wall: float) -> RunTimes:
    """Split runs' time from their events: step durations and the ingestion metadata."""
    from dagster import DagsterEventType

    times = RunTimes(wall=wall, run_ids=list(run_ids))
    for run_id in run_ids:
        logs = instance.all_logs(run_id)
        times.runs += logs[-1].timestamp - logs[0].timestamp
        started: dict[str, float] = {}
        seen: set[str] = set()
        for entry in logs:
            event = entry.dagster_event
            if event is None:
                continue
            kind = event.event_type
            if kind == DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif kind == DagsterEventType.STEP_SUCCESS:
                seconds = entry.timestamp - started[event.step_key]
                if "dbt" in event.step_key:
                    times.dbt += seconds
                elif event.step_key.startswith("wechat"):
                    times.ingest_steps += seconds
                else:
                    other = times.other_steps
                    other[event.step_key] = other.get(event.step_key, 0.0) + seconds
            elif kind == DagsterEventType.ASSET_MATERIALIZATION:
                times.materialisations += 1
                mat = event.event_specific_data.materialization
                key = "/".join(mat.asset_key.path)
                meta = {k: v.value for k, v in mat.metadata.items()}
                # Every partition of a single-run backfill carries the same metadata.
                if "ingest_seconds" not in meta or key in seen:
                    continue
                seen.add(key)
                times.fetch += float(meta["ingest_seconds"])
                times.load += float(meta["store_seconds"])
                times.calls += int(meta["api_calls"])
                times.minimum += int(meta["api_calls_minimum"])
                times.rows += sum(int(v) for k, v in meta.items() if k.startswith("rows/"))
    return times


def timeline(instance: Any, run_ids: list[str]) -> list[str]:
    """Each run's span and its steps' start offsets and durations (``--steps``)."""
    from dagster import DagsterEventType

    lines = []
    for run_id in run_ids:
        logs = instance.all_logs(run_id)
        run = instance.get_run_by_id(run_id)
        t0 = logs[0].timestamp
        lines.append(f"  run {run.job_name} {run_id[:8]}: {logs[-1].timestamp - t0:.2f} s")
        started: dict[str, float] = {}
        for entry in logs:
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type == DagsterEventType.STEP_SUCCESS:
                begin = started[event.step_key]
                lines.append(
                    f"    +{begin - t0:6.2f} s  {entry.timestamp - begin:6.2f} s  {event.step_key}"
                )
    return lines


def timed_run(settings: Any, instance: Any, first: date, last: date, steps: bool) -> RunTimes:
    from wx_pipeline.cli.runner import run_pipeline

    started = time.perf_counter()
    with redirect_stdout(RUN_LOG.open("a")):  # dagster-dbt echoes dbt's log to stdout
        summary = run_pipeline(settings, first, last)
    wall = time.perf_counter() - started
    if steps:
        print("\n".join(timeline(instance, summary.run_ids)), file=sys.stderr)
    return run_times(instance, summary.run_ids, wall)


def _line(label: str, seconds: float, note: str = "") -> str:
    return f"  {label:<48}{seconds:>8.2f} s  {note}".rstrip()


def _target(seconds: float, target: float) -> str:
    return f"target < {target:.0f} s: {'met' if seconds < target else 'MISSED'}"


def report(
    year: RunTimes, sample: list[RunTimes], days: int, first: date, last: date, batch: int
) -> str:
    per_run = RunTimes()
    for times in sample:
        per_run.add(times)
    factor = days / len(sample)
    lines = [
        f"backfill benchmark: 1 account (~{ACCOUNT['followers']:,} followers) x {days} days "
        f"({first}..{last}) x every endpoint; DAGSTER_EVENT_BATCH_SIZE={batch}",
        "single run (daily + weekly + monthly runs):",
        _line("whole run (wall)", year.wall, _target(year.wall, RUN_TARGET_S)),
        _line("  fetching (API)", year.fetch),
        _line("  normalising + loading", year.load),
        _line("  dbt build", year.dbt),
        _line("  Dagster bookkeeping (rest)", year.bookkeeping),
        *(_line(f"    of which step {k}", v) for k, v in sorted(year.other_steps.items())),
        _line(
            "    of which ingestion steps beyond fetch+load",
            year.ingest_steps - year.fetch - year.load,
        ),
        _line("    of which outside the runs' events", year.wall - year.runs),
        _line(
            "ingestion: API to fact tables (steps)",
            year.ingest_steps,
            _target(year.ingest_steps, INGEST_TARGET_S),
        ),
        f"  API calls made {year.calls:,} (minimum {year.minimum:,}); rows loaded "
        f"{year.rows:,}; materialisation events {year.materialisations:,}",
        f"one run per partition: {len(sample)} daily runs of one day (ending yesterday), "
        f"x{factor:.1f}:",
        _line("  wall, sum of the sample", per_run.wall),
        _line(
            "  wall, extrapolated to the range",
            per_run.wall * factor,
            f"({per_run.wall * factor / year.wall:.0f}x the single run)",
        ),
        _line("  per run: wall", per_run.wall / len(sample)),
        _line("  per run: fetching", per_run.fetch / len(sample)),
        _line("  per run: normalising + loading", per_run.load / len(sample)),
        _line("  per run: dbt build", per_run.dbt / len(sample)),
        _line("  per run: bookkeeping (rest)", per_run.bookkeeping / len(sample)),
        f"  API calls, extrapolated {per_run.calls * factor:,.0f} (daily endpoints only; "
        f"the single run's daily+weekly+monthly: {year.calls:,})",
        "dbt build:",
        _line("  the year (one build over the range)", year.dbt),
        _line(
            "  nightly (the last one-day run)",
            sample[-1].dbt,
            _target(sample[-1].dbt, NIGHTLY_DBT_TARGET_S),
        ),
        "  (bookkeeping = wall - fetch - load - dbt: building the definitions and creating "
        "each run (planned events), the reconciliation checks step, event writes)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days in the backfill (365)")
    parser.add_argument("--sample-days", type=int, default=7, help="one-day runs to time (7)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary WX_HOME")
    parser.add_argument("--batch-size", type=int, help="override DAGSTER_EVENT_BATCH_SIZE")
    parser.add_argument("--steps", action="store_true", help="print each run's step timings")
    args = parser.parse_args(argv)
    if args.days < 1 or args.sample_days < 1:
        parser.error("--days and --sample-days must be at least 1")

    from wx_pipeline.cli import instance as cli_instance

    if args.batch_size is not None:
        cli_instance.EVENT_BATCH_SIZE = args.batch_size  # prepare_instance reads it per call
    today = datetime.now(BEIJING).date()
    last = today - timedelta(days=2)
    first = last - timedelta(days=args.days - 1)
    sample_days = [today - timedelta(days=n) for n in range(args.sample_days, 0, -1)]

    global RUN_LOG
    home = Path(tempfile.mkdtemp(prefix="wxbf", dir="/tmp"))  # short: the socket path is in it
    RUN_LOG = home / "runs.log"
    try:
        with simulator(home, args.seed) as base_url:
            os.environ.update(
                {
                    "WX_HOME": str(home),
                    "WX_API_BASE_URL": base_url,
                    "WX_APP_ID": str(ACCOUNT["app_id"]),
                    "WX_APP_SECRET": str(ACCOUNT["secret"]),
                }
            )
            for name in ("WX_WAREHOUSE_URL", "WX_ACCOUNTS_FILE", "WX_START_DATE"):
                os.environ.pop(name, None)
            text = _bench(cli_instance, first, last, sample_days, args.days, args.steps, args.keep)
        print(text)
    finally:
        _stop_warehouse(home)
        if args.keep:
            print(f"kept {home} (WX_HOME; the embedded server is stopped)")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


def _stop_warehouse(home: Path) -> None:
    from wx_pipeline.warehouse.embedded import stop_embedded

    stop_embedded(home)


def _remove_dbt_targets(run_ids: list[str]) -> None:
    """dagster-dbt leaves a target directory per dbt step under dbt/target; drop ours."""
    from wx_pipeline.marts.run import DBT_PROJECT_DIR

    for run_id in run_ids:
        for path in (DBT_PROJECT_DIR / "target").glob(f"dbt_analytics-{run_id[:7]}-*"):
            shutil.rmtree(path, ignore_errors=True)


def _bench(
    cli_instance: Any,
    first: date,
    last: date,
    sample_days: list[date],
    days: int,
    steps: bool,
    keep: bool,
) -> str:
    import dagster as dg

    from wx_pipeline.core.settings import get_settings, load_settings

    get_settings.cache_clear()
    settings = load_settings()
    # The same instance run_pipeline uses, to read the runs' events back.
    os.environ.update(cli_instance.prepare_instance(settings))
    instance = dg.DagsterInstance.get()
    print(f"backfill {first}..{last} in one run ...", file=sys.stderr)
    year = timed_run(settings, instance, first, last, steps)
    print(f"  {year.wall:.1f} s", file=sys.stderr)
    sample: list[RunTimes] = []
    for day in sample_days:
        sample.append(timed_run(settings, instance, day, day, steps))
        print(f"  one-day run {day}: {sample[-1].wall:.1f} s", file=sys.stderr)
    if not keep:
        _remove_dbt_targets([r for times in (year, *sample) for r in times.run_ids])
    batch = int(os.environ["DAGSTER_EVENT_BATCH_SIZE"])
    return report(year, sample, days, first, last, batch)


if __name__ == "__main__":
    sys.exit(main())
