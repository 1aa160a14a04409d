"""Retention keeps what is materialised: on an instance with Postgres storage, as deployed,
runs past the horizon lose the event rows no view needs (and the runs holding nothing go),
while each partition's status - materialised or failed - reads the same through Dagster's own
status API, before and after, also once Dagster rebuilds it from the events; the retention job
also drops old reports, past days' call counts and stale temporary files, and nothing newer."""

import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.storage.compute_log_manager import ComputeIOType
from sqlalchemy.engine import make_url

from wx_pipeline.core.settings import get_settings
from wx_pipeline.defs.resources import WarehouseResource
from wx_pipeline.defs.retention import STALE_TEMP, prune_runs, retention
from wx_pipeline.report import report_path, reports_dir
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline.warehouse.schema import api_calls

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-08")
FAILING = "2026-01-05"
KEY = dg.AssetKey("daily")
CHECK = dg.AssetCheckKey(KEY, "positive")


@dg.asset(partitions_def=DAYS, check_specs=[dg.AssetCheckSpec("positive", asset="daily")])
def daily(context: dg.AssetExecutionContext) -> Iterator[object]:
    print(f"loading {context.partition_key}")  # a compute log to keep or delete
    if context.partition_key == FAILING:
        raise RuntimeError("the API was down")
    yield dg.MaterializeResult(metadata={"rows": 3})
    yield dg.AssetCheckResult(check_name="positive", passed=True)


@dg.asset
def summary() -> None:
    pass


@dg.op
def housekeeping() -> None:
    pass


@dg.job
def chores() -> None:
    housekeeping()


@pytest.fixture
def instance(new_database: Callable[[str], str]) -> Iterator[dg.DagsterInstance]:
    url = make_url(new_database("retention")).set(drivername="postgresql+psycopg2")
    storage = {"postgres": {"postgres_url": url.render_as_string(hide_password=False)}}
    with dg.instance_for_test(overrides={"storage": storage}) as instance:
        yield instance


def _status(instance: dg.DagsterInstance) -> dict[str, dg.AssetPartitionStatus | None]:
    """Each partition's status as Dagster reports it (the UI's partition health)."""
    return dict(instance.get_status_by_partition(KEY, DAYS.get_partition_keys(), DAYS) or {})


def _events(instance: dg.DagsterInstance) -> int:
    """Rows of Dagster's event log."""
    with instance.event_log_storage.index_connection() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(sa.text("select count(*) from event_logs")).scalar_one())


def _check(instance: dg.DagsterInstance) -> tuple[str, str, str | None]:
    """The check's latest execution as the UI shows it: run, status, evaluation's event."""
    (record,) = instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK]).values()
    event = record.event.dagster_event if record.event else None
    return record.run_id, record.status.value, event.event_type_value if event else None


def _has_logs(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the compute log manager holds stdout captured for the run."""
    prefix = [run_id, "compute_logs"]  # where Dagster keys a run's captured logs
    try:
        manager = instance.compute_log_manager
        return bool(manager.get_log_keys_for_log_key_prefix(prefix, io_type=ComputeIOType.STDOUT))
    except FileNotFoundError:
        return False


def test_partition_status_survives_retention(instance: dg.DagsterInstance) -> None:
    runs: dict[str, list[str]] = {}
    for day in ("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-02"):
        result = dg.materialize([daily], instance=instance, partition_key=day)
        runs.setdefault(day, []).append(result.run_id)
    failed = dg.materialize([daily], instance=instance, partition_key=FAILING, raise_on_error=False)
    assert not failed.success
    old_summary, new_summary = (dg.materialize([summary], instance=instance).run_id for _ in "ab")
    chore = chores.execute_in_process(instance=instance).run_id
    statuses = _status(instance)
    done = dg.AssetPartitionStatus.MATERIALIZED
    assert statuses == {
        **{d: done for d in ("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04")},
        FAILING: dg.AssetPartitionStatus.FAILED,
        **{d: None for d in ("2026-01-06", "2026-01-07")},  # never run: missing
    }
    latest_summary = instance.get_latest_materialization_event(dg.AssetKey("summary"))
    check = _check(instance)
    assert _has_logs(instance, runs["2026-01-01"][0])
    events_before = _events(instance)

    # The horizon just after the last run: every run is past it (no wall clock read).
    last = max(r.update_timestamp for r in instance.get_run_records())
    pruned = prune_runs(instance, last + timedelta(seconds=1))

    assert pruned.runs_sorted == 9
    deleted = {runs["2026-01-02"][0], old_summary, chore}  # superseded, or holding nothing
    assert pruned.runs_deleted == len(deleted)
    left = {r.run_id for r in instance.get_runs()}
    assert not deleted & left
    assert {runs["2026-01-01"][0], runs["2026-01-02"][1], failed.run_id, new_summary} <= left
    assert 0 < pruned.events_deleted == events_before - _events(instance)
    assert not _has_logs(instance, runs["2026-01-01"][0])  # kept runs lose their logs too

    assert _status(instance) == statuses
    latest = instance.get_latest_materialization_event(dg.AssetKey("summary"))
    assert latest is not None
    assert latest_summary is not None
    assert latest.run_id == latest_summary.run_id == new_summary
    assert _check(instance) == check
    # Rebuilt from the events alone (as after a partitions definition changes): the same.
    instance.wipe_asset_cached_status([KEY])
    assert _status(instance) == statuses

    # Where the previous pass stopped: nothing is sorted twice, newer runs wait their turn.
    newer = dg.materialize([daily], instance=instance, partition_key="2026-01-06").run_id
    (record,) = instance.get_run_records(filters=dg.RunsFilter(run_ids=[newer]))
    # The horizon at the newer run's creation (a fixed "+1 s" would take it in on a fast machine).
    assert prune_runs(instance, record.create_timestamp).runs_sorted == 0
    assert newer in {r.run_id for r in instance.get_runs()}


def test_the_retention_job_drops_old_files_and_counts_only(
    instance: dg.DagsterInstance,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pinned_now: datetime,
) -> None:
    monkeypatch.setenv("WX_HOME", str(tmp_path))
    monkeypatch.setenv("WX_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    migrate(database_url)
    today = pinned_now.date()
    horizon = today - timedelta(days=30)
    reports = reports_dir(tmp_path)
    reports.mkdir()
    old, kept = report_path(reports, horizon - timedelta(days=1)), report_path(reports, horizon)
    for path in (old, kept, reports / "latest.html", reports / "notes.html"):
        path.write_text("<html></html>")
    stale, fresh = reports / ".report-x.html.1.tmp", tmp_path / "dbt-parse" / "state.1.tmp"
    warehouse_tmp = tmp_path / "pgdata" / "pg_stat_tmp" / "global.tmp"
    for path in (stale, fresh, warehouse_tmp):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("partial")
    long_ago = (pinned_now - STALE_TEMP - timedelta(hours=1)).timestamp()
    os.utime(stale, (long_ago, long_ago))
    os.utime(warehouse_tmp, (long_ago, long_ago))
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(api_calls),
            [
                {"account_id": "wxa", "endpoint": "getusersummary", "day": d, "calls": 3}
                for d in (horizon - timedelta(days=1), horizon, today)
            ],
        )

    result = retention.execute_in_process(
        instance=instance, resources={"warehouse": WarehouseResource(url=database_url)}
    )

    assert result.success
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        [kept.name, "latest.html", "notes.html"]
    )
    assert not stale.exists()
    assert fresh.exists()
    assert warehouse_tmp.exists()
    with engine.connect() as conn:
        days: list[date] = list(
            conn.execute(sa.select(api_calls.c.day).order_by(api_calls.c.day)).scalars()
        )
    engine.dispose()
    assert days == [horizon, today]
    (output,) = [e for e in result.all_events if e.is_successful_output]
    meta = output.event_specific_data.metadata  # type: ignore[union-attr]
    assert (meta["reports_deleted"].value, meta["call_counts_deleted"].value) == (1, 1)
    assert meta["temp_files_deleted"].value == 1
    get_settings.cache_clear()


def test_the_retention_runs_by_itself_after_the_other_schedules() -> None:
    from wx_pipeline.definitions import defs

    schedule = defs.resolve_schedule_def("retention")
    assert schedule.default_status is dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "30 11 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
