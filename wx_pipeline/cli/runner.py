"""Running the Dagster definitions from the CLI: the instance, ``wx-pipeline run`` and ``dev``.

Both use one Dagster instance under ``$WX_HOME/dagster`` whose storage is Postgres (the
embedded server's ``dagster`` database, or the configured warehouse), so a run started by
``wx-pipeline run`` shows up in the UI of ``wx-pipeline dev`` with every partition's status.
Event writes are batched (``DAGSTER_EVENT_BATCH_SIZE``): Dagster writes one event per asset
and partition, and at a year of partitions that bookkeeping dominates a run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from wx_pipeline.core import clock
from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import Settings
from wx_pipeline.runtime.supervise import supervise
from wx_pipeline.warehouse.normalize.drift import Drift

#: Events per write to the instance's event log; measured in bench/backfill.py.
EVENT_BATCH_SIZE = 1000
#: One "materialisation planned" event per asset and run instead of one per asset and partition.
#: Dagster plans every asset of a range run per partition, the unpartitioned dbt models too, and
#: stores those events one by one: 48 keys x 365 days took ~220 s of a year's backfill before
#: its first step (bench/backfill.py). The cost: partitions of a failed run show as missing, not
#: failed, and a running backfill's partitions are not shown in progress.
PLANNED_EVENTS_AS_SUBSET = True
#: API-bound ops that may run at once across all runs (the ``wechat_api`` pool).
API_POOL_LIMIT = 2

_DAGSTER_YAML = """\
# Written by wx-pipeline from the WX_* settings; edits are overwritten.
storage:
  postgres:
    postgres_url:
      env: WX_DAGSTER_STORAGE_URL
concurrency:
  pools:
    default_limit: {pool_limit}
    granularity: op
python_logs:  # the client's retry warnings show in the run's event log
  managed_python_loggers: [wx_pipeline]
  python_log_level: {log_level}
retention:  # the daemon's tick history, kept as long as the runs' detail (WX_RETENTION_DAYS)
  schedule:
    purge_after_days: {retention_days}
  sensor:
    purge_after_days:
      skipped: {skipped_days}
      failure: {retention_days}
      success: {retention_days}
telemetry:
  enabled: false
"""
#: Days a sensor's skipped ticks are kept (every 30 s, they say only that nothing happened).
SKIPPED_TICK_DAYS = 7


class RunFailedError(WxUserError):
    """A pipeline run failed; the message says which step and why."""


def dagster_home(settings: Settings) -> Path:
    return settings.home / "dagster"


def write_dagster_yaml(home: Path, log_level: str = "WARNING", retention_days: int = 90) -> Path:
    """Write the instance config into ``home`` (``DAGSTER_HOME``)."""
    home.mkdir(parents=True, exist_ok=True)
    text = _DAGSTER_YAML.format(
        pool_limit=API_POOL_LIMIT,
        log_level=log_level,
        retention_days=retention_days,
        skipped_days=min(SKIPPED_TICK_DAYS, retention_days),
    )
    (home / "dagster.yaml").write_text(text)
    return home


def prepare_instance(settings: Settings) -> dict[str, str]:
    """Write ``dagster.yaml`` under WX_HOME and return the environment Dagster needs.

    The storage URL reaches Dagster through an environment variable, so a password never
    lands in a file or in the UI.
    """
    from wx_pipeline.warehouse.embedded import ensure_database, warehouse_url

    home = write_dagster_yaml(dagster_home(settings), settings.log_level, settings.retention_days)
    url = warehouse_url(settings)
    if settings.warehouse_url is None:
        url = ensure_database(url, "dagster")  # the embedded server: keep run history apart
    storage = make_url(url).set(drivername="postgresql+psycopg2")  # dagster-postgres' driver
    return {
        "DAGSTER_HOME": str(home),
        "WX_DAGSTER_STORAGE_URL": storage.render_as_string(hide_password=False),
        "DAGSTER_EVENT_BATCH_SIZE": str(EVENT_BATCH_SIZE),
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": str(PLANNED_EVENTS_AS_SUBSET).lower(),
    }


#: How long `dagster dev` gets to stop its services after a stop signal (a container stop
#: waits 10 s before SIGKILL).
DEV_STOP_GRACE = 7.0


def dev(settings: Settings, host: str, port: int) -> None:
    """The Dagster UI and daemon on ``workspace.yaml``, until a stop signal (`dagster dev`
    treats SIGTERM as Ctrl-C: it shuts its services down in order; see supervise.py)."""
    env = {**os.environ, **prepare_instance(settings)}
    dagster = Path(sys.executable).with_name("dagster")
    executable = str(dagster) if dagster.exists() else shutil.which("dagster") or "dagster"
    argv = [executable, "dev", "-w", str(_workspace_file()), "-h", host, "-p", str(port)]
    sys.exit(supervise(argv, env, grace=DEV_STOP_GRACE))


def _workspace_file() -> Path:
    for candidate in (Path.cwd() / "workspace.yaml", Path(__file__).parents[2] / "workspace.yaml"):
        if candidate.exists():
            return candidate
    raise WxUserError("workspace.yaml not found: run from the wx-pipeline checkout")


@dataclass
class RunSummary:
    """What ``wx-pipeline run`` prints: per asset rows and API calls, and the run's timing."""

    first: date
    last: date
    run_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # per fact table
    api_calls: dict[str, tuple[int, int]] = field(default_factory=dict)  # asset -> (made, min)
    seconds: float = 0.0
    metrics: list[dict[str, str]] = field(default_factory=list)  # one row per account
    retired: set[str] = field(default_factory=set)  # endpoints WeChat retired (47009): skipped
    report: str | None = None  # the HTML report the marts' run wrote
    #: What real answers differed in (unknown fields and codes, fields left out): once each.
    drift: Drift = field(default_factory=Drift)


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _definitions(settings: Settings) -> Any:
    """The code location's definitions for ``settings`` (the module's own when they are the
    process's settings: building them again costs half a second)."""
    from wx_pipeline import definitions

    if settings == definitions.SETTINGS:
        return definitions.defs
    return definitions.build_definitions(settings)


def check_range(settings: Settings, first: date, last: date) -> None:
    """Refuse a range that cannot be run, with one line (before anything starts)."""
    if first > last:
        raise WxUserError(f"--start {first} is after --end {last}")
    if first < settings.start_date:
        raise WxUserError(f"--start {first} is before WX_START_DATE ({settings.start_date})")
    # Refused rather than loaded provisionally: a partial day would look like a real drop.
    clock.require_final(last, clock.now(settings), settings.data_ready_time)


@contextmanager
def open_instance(settings: Settings) -> Iterator[tuple[Any, Any]]:
    """(definitions, instance) for in-process runs recorded in the UI's instance."""
    import dagster as dg

    from wx_pipeline.warehouse.db import require_reachable

    if settings.warehouse_url is not None:  # one line, not Dagster's traceback
        require_reachable(settings.warehouse_url)
    with _env(prepare_instance(settings)):
        defs = _definitions(settings)
        # Entered, the instance is also the one definitions load against (Dagster looks
        # its state storage up from context).
        with dg.DagsterInstance.get() as instance:
            # dagster-postgres otherwise opens a connection per event write and query: ~3 s
            # of a year's run. A long-lived process may hold a small pool, as the UI does.
            instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=4)
            reap_dead_runs(instance, settings)
            yield defs, instance


def _process_tags() -> dict[str, str]:
    """Which process runs a run of `wx-pipeline run` (no daemon watches those)."""
    from wx_pipeline.defs.tags import RUN_HOST_TAG, RUN_PID_TAG

    return {RUN_HOST_TAG: socket.gethostname(), RUN_PID_TAG: str(os.getpid())}


def _alert(settings: Settings, job: str, tags: dict[str, str], failure: str, run_id: str) -> None:
    """The message Dagster's run-failure sensor would post; it leaves runs tagged with a
    process to that process, so the team gets each failure once, daemon running or not."""
    if settings.alert_webhook is None:
        return
    from wx_pipeline.defs.alerts import partition_range, run_url
    from wx_pipeline.runtime.alerts import format_run_failure, post_alert
    from wx_pipeline.wechat.redaction import redact

    text = format_run_failure(job, partition_range(tags), failure, run_url(settings.ui_url, run_id))
    post_alert(settings.alert_webhook.get_secret_value(), redact(text))


def reap_dead_runs(instance: Any, settings: Settings | None = None) -> list[str]:
    """Runs that a `wx-pipeline` process of this host started and that died with it (killed,
    out of memory): marked failed, their pool slots freed and alerted, as Dagster's run
    monitoring does for runs it launched, so a later run does not wait on slots no one holds.
    Returns their ids.
    """
    import dagster as dg
    import psutil

    from wx_pipeline.defs.tags import RUN_HOST_TAG, RUN_PID_TAG

    alive = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=list(alive), tags={RUN_HOST_TAG: socket.gethostname()})
    )
    reaped = []
    for run in runs:
        pid = int(run.tags.get(RUN_PID_TAG, "0"))
        record = instance.get_run_record_by_id(run.run_id)
        started = record.start_time if record and record.start_time else 0.0
        try:
            # The same pid, started after the run: another process now.
            gone = psutil.Process(pid).create_time() > started + 1
        except (psutil.NoSuchProcess, ValueError):
            gone = True
        if pid and gone:
            said = "the wx-pipeline process running it ended before the run did (killed)"
            instance.report_run_failed(run, said)
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            if settings is not None:
                _alert(settings, run.job_name, run.tags, said, run.run_id)
            reaped.append(run.run_id)
    return reaped


def execute_job(
    settings: Settings,
    defs: Any,
    instance: Any,
    job_name: str,
    tags: dict[str, str],
    selected: Any = None,
) -> Any:
    """One job in this process; a failure is one line (RunFailedError)."""
    import sqlalchemy.exc

    tags = {**tags, **_process_tags()}
    try:
        with _stderr_kept_for_debug(settings.log_level == "DEBUG"):
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance,
                tags=tags,
                asset_selection=selected,
                raise_on_error=False,
                # Progress bars and the one-line failure replace Dagster's console log.
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            )
    except sqlalchemy.exc.OperationalError as exc:
        # Dagster's own storage went away (a Postgres restart) and it gave up on the run: the
        # warehouse kept only whole loads, so running again completes it.
        said = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        line = (
            f"{job_name}: lost the connection to Dagster's storage in PostgreSQL ({said}); "
            "nothing partial was loaded: run the same command again"
        )
        _alert(settings, job_name, tags, line, "")
        raise RunFailedError(line) from None
    if not result.success:
        line = _failure_text(result, job_name)
        _alert(settings, job_name, tags, line, result.run_id)
        raise RunFailedError(line)
    return result


@contextmanager
def _stderr_kept_for_debug(show: bool) -> Iterator[None]:
    """Dagster writes its storage errors straight to stderr, traceback after traceback; the
    run's event log (the UI) has them, so the CLI keeps them for WX_LOG_LEVEL=DEBUG only."""
    import io
    from contextlib import redirect_stderr

    kept = io.StringIO()
    try:
        with redirect_stderr(kept):
            yield
    finally:
        if show and kept.getvalue():
            from wx_pipeline.wechat.redaction import redact

            sys.stderr.write(redact(kept.getvalue()))


def run_pipeline(
    settings: Settings,
    first: date,
    last: date,
    groups: Sequence[str] = (),
    accounts: Sequence[str] = (),
) -> RunSummary:
    """Materialise every asset (or the selected groups) over [first, last] in as few runs as
    the partitions allow: one daily run (ingestion, checks), weekly and monthly runs, then one
    run of the marts over the same days; ``accounts`` (app ids) limits every run to them."""
    from wx_pipeline.defs.tags import accounts_tags, select_accounts
    from wx_pipeline.warehouse.embedded import warehouse_url

    check_range(settings, first, last)
    if accounts and not settings.uses_simulator:
        select_accounts(settings.accounts(), accounts)  # an unknown id: one line, before anything
    started = time.perf_counter()
    summary = RunSummary(first, last)
    with open_instance(settings) as (defs, instance):
        for job_name, tags in _run_plan(first, last):
            selected = _selection(defs, defs.resolve_job_def(job_name), groups)
            if selected is not None and not selected:
                continue
            result = execute_job(
                settings, defs, instance, job_name, {**tags, **accounts_tags(accounts)}, selected
            )
            summary.run_ids.append(result.run_id)
            _collect(result, summary)
        summary.metrics = key_metrics(warehouse_url(settings), first, last)
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class HistorySummary:
    """What ``wx-pipeline history`` prints."""

    summary: str
    calls: int = 0  # datacube calls the fill made
    planned: int = 0  # the windows it planned: the fewest calls for what it loaded
    run_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_history(settings: Settings, accounts: Sequence[str] = ()) -> HistorySummary:
    """The history fill in this process (recorded in the UI), then the marts for what it
    loaded, as the sensor does after a scheduled fill."""
    from wx_pipeline.defs.history import HISTORY_JOB
    from wx_pipeline.defs.partitions import window_tags
    from wx_pipeline.defs.schedules import ANALYTICS_JOB
    from wx_pipeline.defs.tags import accounts_tags, select_accounts
    from wx_pipeline.warehouse.coverage import loaded_by_run
    from wx_pipeline.warehouse.db import make_engine
    from wx_pipeline.warehouse.embedded import warehouse_url

    if accounts and not settings.uses_simulator:
        select_accounts(settings.accounts(), accounts)
    started = time.perf_counter()
    with open_instance(settings) as (defs, instance):
        result = execute_job(settings, defs, instance, HISTORY_JOB, accounts_tags(accounts))
        meta = _op_metadata(result)
        out = HistorySummary(
            str(meta.get("summary", "history: done")),
            calls=int(meta.get("api_calls", 0)),
            planned=int(meta.get("api_calls_planned", 0)),
            run_ids=[result.run_id],
        )
        engine = make_engine(warehouse_url(settings))
        try:
            with engine.connect() as conn:
                loaded = loaded_by_run(conn, result.run_id)
        finally:
            engine.dispose()
        if loaded is not None:
            tags = {**window_tags(loaded.first, loaded.last), **accounts_tags(loaded.accounts)}
            out.run_ids.append(execute_job(settings, defs, instance, ANALYTICS_JOB, tags).run_id)
    out.seconds = time.perf_counter() - started
    return out


def _op_metadata(result: Any) -> dict[str, Any]:
    """The metadata of the run's (one) output, as plain values."""
    for event in result.all_events:
        if event.is_successful_output:
            return {k: v.value for k, v in event.event_specific_data.metadata.items()}
    return {}


#: Key-metric columns of the summary: heading -> column of key_metrics.sql.
METRICS = {
    "account": "account_id",
    "followers at end": "followers",
    "net growth": "net_growth",
    "callbacks": "callbacks",
    "avg latency ms": "avg_latency_ms",
    "articles sent": "articles",
}


def key_metrics(url: str, first: date, last: date) -> list[dict[str, str]]:
    """One row of headline figures per account, from the marts (none before dbt has run)."""
    import sqlalchemy as sa

    from wx_pipeline.warehouse.db import make_engine

    query = sa.text((Path(__file__).with_name("sql") / "key_metrics.sql").read_text())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if (
                conn.execute(
                    sa.text("select to_regclass('analytics.fct_follower_growth_daily')")
                ).scalar()
                is None
            ):
                return []
            rows = conn.execute(query, {"first": first, "last": last}).mappings().all()
    finally:
        engine.dispose()
    return [{head: _fmt(row[col]) for head, col in METRICS.items()} for row in rows]


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _run_plan(first: date, last: date) -> list[tuple[str, dict[str, str]]]:
    """(job, tags): the daily range, the whole weeks/months inside it, then the marts."""
    from wx_pipeline.defs.partitions import range_tags, window_tags
    from wx_pipeline.defs.schedules import ANALYTICS_JOB
    from wx_pipeline.registry import Period, period_end, period_starts

    plan = [("daily", range_tags(first, last))]
    for job, period in (("weekly", Period.WEEK), ("monthly", Period.MONTH)):
        starts = [s for s in period_starts(period, first, last) if period_end(period, s) <= last]
        if starts:
            plan.append((job, range_tags(starts[0], starts[-1])))
    # As the sensor does after a scheduled or UI run: one windowed dbt build after the facts.
    plan.append((ANALYTICS_JOB, window_tags(first, last)))
    return plan


def _selection(defs: Any, job: Any, groups: Sequence[str]) -> Any:
    if not groups:
        return None
    graph = defs.resolve_asset_graph()
    known = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    unknown = sorted(set(groups) - known)
    if unknown:
        raise WxUserError(
            f"--select: unknown group {', '.join(unknown)}; groups: {', '.join(sorted(known))}"
        )
    return [k for k in job.asset_layer.executable_asset_keys if graph.get(k).group_name in groups]


def _failure_text(result: Any, job_name: str) -> str:
    """One line: the run's account problems once each (a wrong secret fails every asset),
    then any other step's failure, reduced to what the tool said."""
    from wx_pipeline.defs.ingestion import PROBLEMS_KEY
    from wx_pipeline.pipeline.outcome import Problem, merge_problems

    failures = [e for e in result.all_events if e.is_step_failure]
    if not failures:
        ended = [e for e in result.all_events if e.is_run_failure]
        said = ended[-1].message if ended and ended[-1].message else ""
        return f"the {job_name} run failed" + (f": {' '.join(said.split())}" if said else "")
    problems: list[Problem] = []
    lines = []
    for event in failures:
        data = event.event_specific_data
        metadata = data.user_failure_data.metadata if data.user_failure_data else {}
        if PROBLEMS_KEY in metadata:
            problems += [Problem.from_json(p) for p in metadata[PROBLEMS_KEY].value]
            continue
        error = data.error
        # Dagster prefixes the exception's class path; the message itself says what is wrong.
        message = re.sub(r"^[\w.]+: ", "", (error.message if error else "failed").strip())
        lines.append(f"{event.step_key}: {_tool_said(message)}")
    lines = [p.line() for p in merge_problems(problems)] + lines
    return f"the {job_name} run failed: " + " | ".join(lines)


def _tool_said(message: str) -> str:
    """dagster-dbt's failure wraps what dbt said in advice to read logs: keep dbt's words."""
    _, found, said = message.partition("Errors parsed from dbt logs:")
    return " ".join(said.split()) if found and said.strip() else message


def _collect(result: Any, summary: RunSummary) -> None:
    from wx_pipeline.defs.ingestion import DRIFT_KEY

    seen: set[str] = set()
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        name = "/".join(mat.asset_key.path)
        if name in seen:  # one event per partition, same metadata
            continue
        seen.add(name)
        meta = {k: v.value for k, v in mat.metadata.items()}
        for key, value in meta.items():
            if key.startswith("rows/"):
                summary.rows[key[5:]] = summary.rows.get(key[5:], 0) + int(value)
        if "api_calls" in meta:
            summary.api_calls[name] = (int(meta["api_calls"]), int(meta["api_calls_minimum"]))
        if name == "analytics/report":
            summary.report = str(meta["path"])
        if meta.get("retired_endpoints"):
            summary.retired.update(str(meta["retired_endpoints"]).split(", "))
    for check in result.get_asset_check_evaluations():
        if check.check_name == "no_schema_drift" and DRIFT_KEY in check.metadata:
            summary.drift.update(Drift.from_json(check.metadata[DRIFT_KEY].value))


def print_summary(summary: RunSummary) -> None:
    """The table ``wx-pipeline run`` ends with."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows = Table(title=f"wx-pipeline run {summary.first} .. {summary.last}")
    rows.add_column("fact table")
    rows.add_column("rows", justify="right")
    for table, n in sorted(summary.rows.items()):
        rows.add_row(f"wechat.{table}", f"{n:,}")
    rows.add_row("[bold]total", f"[bold]{sum(summary.rows.values()):,}")
    console.print(rows)
    calls = Table(title="API calls")
    calls.add_column("asset")
    calls.add_column("made", justify="right")
    calls.add_column("minimum", justify="right")
    for asset, (made, minimum) in sorted(summary.api_calls.items()):
        calls.add_row(asset, f"{made:,}", f"{minimum:,}")
    console.print(calls)
    if summary.metrics:
        metrics = Table(title="Key metrics (from the analytics marts)")
        for i, heading in enumerate(METRICS):
            if i == 0:  # app ids are what users search for: never cut them
                metrics.add_column(heading, no_wrap=True, min_width=18)
            else:
                metrics.add_column(heading, justify="right")
        for row in summary.metrics:
            metrics.add_row(*row.values())
        console.print(metrics)
    for name in sorted(summary.retired):
        console.print(f"warning: {name} is retired by WeChat (47009): skipped, not a failure")
    for line in summary.drift.lines():
        console.print(f"warning: {line}")
    if summary.report:
        console.print(f"report: {summary.report}")
    console.print(f"done in {summary.seconds:.1f} s; runs: {', '.join(summary.run_ids)}")
