"""Retention: what grows every day and is not data the user keeps is deleted once it is older
than ``WX_RETENTION_DAYS`` (90 by default), by the ``retention`` job, daily (on by default).

* Dagster's run storage. Of the finished runs older than the horizon, the event rows no view is
  built from: everything but each asset partition's latest materialisation (or observation),
  each asset check's latest evaluation and the planned materialisations of runs that did not
  succeed; and the superseded check executions (``sql/retention.sql``). Dagster derives
  partition status - what is materialised, what failed - from exactly the rows kept, also when
  it rebuilds it from scratch (after a partitions definition changes), so it reads the same
  before and after. A run left with none of them is deleted (``delete_run``); the runs that
  hold a current materialisation stay in the runs list. A run is never deleted before its
  events are sorted: Dagster deletes a run's materialisations with it, and partition status
  with them.
* The compute logs (and step outputs) of those runs: their directory of the compute log
  manager.
* The HTML reports of periods that ended before the horizon (``latest.html`` stays), the API
  call counts of days before it (a budget is only ever taken from today's), and temporary
  files a killed process left under ``WX_HOME``.
* Tick history is Dagster's own: the ``retention`` settings of the instance's dagster.yaml,
  written with the same horizon (``cli/instance.py``), which the daemon applies.

The horizon is measured on the pipeline's clock (``WX_NOW`` when pinned) against the times
Dagster recorded for each run.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster_postgres import PostgresEventLogStorage

from wx_pipeline.core import clock
from wx_pipeline.core.settings import Settings, get_settings
from wx_pipeline.defs.partitions import TIMEZONE
from wx_pipeline.defs.resources import WarehouseResource
from wx_pipeline.defs.schedules import after_ready
from wx_pipeline.report import remove_reports_before, reports_dir
from wx_pipeline.warehouse.calls import forget_calls_before

RETENTION_JOB = "retention"
#: When it runs, after the data-ready time: after the nightly, late-data and history runs start.
RETENTION_AFTER_READY = timedelta(hours=3, minutes=30)
#: Runs sorted per transaction (the first retention of a long-kept instance sorts years).
BATCH = 200
#: In Dagster's key-value store: the creation time of the newest run sorted so far.
CURSOR_KEY = "wx/retention_cursor"
#: A temporary file this old was left by a process that died while writing it.
STALE_TEMP = timedelta(days=1)
_SQL = (Path(__file__).with_name("sql") / "retention.sql").read_text(encoding="utf-8")
_FINISHED = frozenset(
    {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
)


@dataclass
class Pruned:
    """What one retention pass deleted from Dagster's storage."""

    runs_sorted: int = 0
    runs_deleted: int = 0
    events_deleted: int = 0


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def prune_runs(instance: dg.DagsterInstance, before: datetime) -> Pruned:
    """Sort the finished runs created and last updated before ``before``, oldest first, from
    where the previous pass stopped (see the module docstring); returns what went."""
    from dagster_postgres import PostgresRunStorage

    events, runs = instance.event_log_storage, instance.run_storage
    if not isinstance(events, PostgresEventLogStorage) or not isinstance(runs, PostgresRunStorage):
        return Pruned()  # every deployment's storage is Postgres; a scratch instance keeps all
    before = _utc(before)
    cursor = runs.get_cursor_values({CURSOR_KEY}).get(CURSOR_KEY)
    after = datetime.fromisoformat(cursor) if cursor else None
    done = Pruned()
    while True:
        records = instance.get_run_records(
            filters=dg.RunsFilter(created_after=after, created_before=before),
            limit=BATCH,
            ascending=True,
        )
        batch: list[dg.DagsterRun] = []
        recent = False
        for record in records:
            finished = record.dagster_run.status in _FINISHED
            if finished and _utc(record.update_timestamp) >= before:
                recent = True  # sorted once it too is older than the horizon
                break
            if finished:
                batch.append(record.dagster_run)
            # A run still unfinished at the horizon (crashed, and no monitor failed it) is
            # passed over: its rows stay.
            after = _utc(record.create_timestamp)
        _sort(instance, events, batch, done)
        if after is not None:
            runs.set_cursor_values({CURSOR_KEY: after.isoformat()})
        if recent or len(records) < BATCH:
            return done


def _sort(
    instance: dg.DagsterInstance,
    events: PostgresEventLogStorage,
    batch: Sequence[dg.DagsterRun],
    done: Pruned,
) -> None:
    """One transaction over ``batch``'s events; then the runs left with none are deleted and
    every run's compute logs."""
    if not batch:
        return
    ids = [run.run_id for run in batch]
    params = {
        "run_ids": ids,
        "unsuccessful": [r.run_id for r in batch if r.status != dg.DagsterRunStatus.SUCCESS],
        "asset_events": [
            dg.DagsterEventType.ASSET_MATERIALIZATION.value,
            dg.DagsterEventType.ASSET_OBSERVATION.value,
        ],
        "check_evaluation": dg.DagsterEventType.ASSET_CHECK_EVALUATION.value,
        "planned": dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value,
    }
    with events.index_transaction() as conn:
        row = conn.execute(sa.text(_SQL), params).one()
    deleted, kept = int(row.events_deleted), {str(r) for r in row.kept_runs}
    empty = set(ids) - kept
    for run_id in empty:
        instance.delete_run(run_id)
    for run_id in ids:
        try:
            instance.compute_log_manager.delete_logs(prefix=[run_id])
        except NotImplementedError:  # a log manager that cannot delete keeps them
            break
    done.runs_sorted += len(ids)
    done.runs_deleted += len(empty)
    done.events_deleted += deleted


def remove_stale_temp_files(settings: Settings, now: datetime) -> int:
    """Delete the ``*.tmp`` files under WX_HOME (not the embedded warehouse's data) last
    written more than ``STALE_TEMP`` before ``now``; how many went."""
    removed = 0
    for path in _temp_files(settings):
        if now.timestamp() - path.stat().st_mtime > STALE_TEMP.total_seconds():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _temp_files(settings: Settings) -> Iterator[Path]:
    if not settings.home.is_dir():
        return
    for child in settings.home.iterdir():
        if child != settings.pgdata and child.is_dir():
            yield from (p for p in child.rglob("*.tmp") if p.is_file())


@dg.op(
    description="Delete what is older than WX_RETENTION_DAYS and is not data: the event rows "
    "of finished runs no view needs (each partition's latest materialisation stays), runs "
    "left empty, compute logs, old reports, call counts of past days, stale temporary files.",
    out=dg.Out(dg.Nothing),
)
def apply_retention(
    context: dg.OpExecutionContext, warehouse: WarehouseResource
) -> dg.Output[None]:
    settings = get_settings()
    now = clock.now(settings)
    before = now - timedelta(days=settings.retention_days)
    pruned = prune_runs(context.instance, before)
    reports = remove_reports_before(reports_dir(settings.home), before.date())
    with warehouse.engine().begin() as conn:
        calls = forget_calls_before(conn, before.date())
    temp = remove_stale_temp_files(settings, now)
    summary = (
        f"retention ({settings.retention_days} days, before {before:%Y-%m-%d %H:%M} Beijing): "
        f"{pruned.runs_sorted:,} runs sorted, {pruned.runs_deleted:,} deleted, "
        f"{pruned.events_deleted:,} event rows deleted, {reports:,} reports, {calls:,} call "
        f"counts, {temp:,} temporary files"
    )
    context.log.info(summary)
    return dg.Output(
        None,
        metadata={
            "summary": summary,
            "runs_sorted": pruned.runs_sorted,
            "runs_deleted": pruned.runs_deleted,
            "events_deleted": pruned.events_deleted,
            "reports_deleted": reports,
            "call_counts_deleted": calls,
            "temp_files_deleted": temp,
        },
    )


@dg.job(name=RETENTION_JOB, description=apply_retention.description)
def retention() -> None:
    apply_retention()


def retention_schedule(ready: time) -> dg.ScheduleDefinition:
    """Daily, on by default: the retention must not wait for someone to start it."""
    hour, minute = after_ready(ready, RETENTION_AFTER_READY)
    return dg.ScheduleDefinition(
        name=RETENTION_JOB,
        job=retention,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Daily at {hour:02d}:{minute:02d} Beijing: {apply_retention.description}",
    )
