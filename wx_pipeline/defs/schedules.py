"""Jobs and schedules: nightly, late-data refresh, weekly and monthly, all in Beijing time.

Times follow the data-ready time (``WX_DATA_READY_TIME``, 08:00 by default; see ``clock.py``):
the nightly run starts 30 minutes after it and loads the newest final day (the newest partition:
partitions complete at the ready time), weekly and monthly runs an hour and an hour and a half
after it. The late-data refresh, two hours after it, pulls the endpoints WeChat revises late
once more for the newest final day: every run of the cumulative article endpoints reaches back
over the send dates whose totals still grow (the registry's ``revision_days``: 7 days for
getarticletotal, 30 for getarticletotaldetail), and the 2025 endpoints flag unfinished days
``is_delay``, which are never loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import dagster as dg

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.defs.ingestion import IngestionGroup
from wx_pipeline.defs.partitions import TIMEZONE
from wx_pipeline.defs.tags import ENDPOINTS_TAG
from wx_pipeline.pipeline.history import LATE_DATA_AFTER_READY, NIGHTLY_AFTER_READY
from wx_pipeline.registry import Period

if TYPE_CHECKING:  # the types define_asset_job and schedules of partitioned jobs return
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition,
    )
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def _groups(groups: Sequence[IngestionGroup], period: Period) -> list[dg.AssetKey]:
    return [g.key for g in groups if g.period is period]


#: The unpartitioned job that refreshes the dbt marts for a window of days (``window_tags``).
ANALYTICS_JOB = "analytics"
#: Jobs whose success refreshes the marts for their days (see ``sensors.py``).
INGESTION_JOBS = ("daily", "late_data")


def build_jobs(
    groups: Sequence[IngestionGroup],
    marts: dg.AssetSelection,
    sensor_checks: Sequence[dg.AssetChecksDefinition] = (),
) -> dict[str, UnresolvedAssetJobDefinition]:
    """The ingestion jobs (daily, late-data, weekly, monthly) and the marts' job.

    The marts are a job of their own rather than a step of the daily one: an unpartitioned run
    can carry the window as tags, while in a partitioned run Dagster plans every check (the
    dbt tests included) once per partition, which cost a year's backfill ~10 s. For the same
    reason ``sensor_checks`` (freshness, judged by their sensor against the clock, not by a run)
    are left out of the ingestion jobs: 1,830 planned evaluations in a year's backfill.
    """
    without = dg.AssetSelection.checks(*sensor_checks)
    daily = dg.AssetSelection.assets(*_groups(groups, Period.DAY)) - without
    revising = [
        g.key for g in groups if any(e.revision_days or e.has_is_delay for e in g.endpoints)
    ]
    return {
        "daily": dg.define_asset_job(
            "daily",
            selection=daily,
            description="Every daily asset for the selected Beijing day(s); the marts follow "
            f"in an `{ANALYTICS_JOB}` run.",
        ),
        "late_data": dg.define_asset_job(
            "late_data",
            selection=dg.AssetSelection.assets(*revising) - without,
            description="Re-pull the days the API still revises; the marts follow.",
        ),
        "weekly": dg.define_asset_job(
            "weekly", selection=dg.AssetSelection.assets(*_groups(groups, Period.WEEK))
        ),
        "monthly": dg.define_asset_job(
            "monthly", selection=dg.AssetSelection.assets(*_groups(groups, Period.MONTH))
        ),
        ANALYTICS_JOB: dg.define_asset_job(
            ANALYTICS_JOB,
            selection=marts,
            description="One windowed `dbt build` of the marts (run tags wx/window_start and "
            "wx/window_end; none: everything), started after every successful ingestion run.",
        ),
    }


def after_ready(ready: time, delay: timedelta) -> tuple[int, int]:
    """(hour, minute) ``delay`` after ``ready``; settings keep ready <= 20:00, so the same day."""
    total = ready.hour * 60 + ready.minute + int(delay.total_seconds()) // 60
    return total // 60, total % 60


def build_schedules(
    jobs: dict[str, UnresolvedAssetJobDefinition],
    groups: Sequence[IngestionGroup],
    ready: time,
) -> list[dg.ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition]:
    revising = sorted(
        e.name for g in groups for e in g.endpoints if e.revision_days or e.has_is_delay
    )
    nightly_h, nightly_m = after_ready(ready, NIGHTLY_AFTER_READY)
    weekly_h, weekly_m = after_ready(ready, timedelta(minutes=60))
    monthly_h, monthly_m = after_ready(ready, timedelta(minutes=90))
    late_h, late_m = after_ready(ready, LATE_DATA_AFTER_READY)

    @dg.schedule(
        name="late_data_refresh",
        job=jobs["late_data"],
        cron_schedule=f"{late_m} {late_h} * * *",
        execution_timezone=TIMEZONE,
        description=f"Daily at {late_h:02d}:{late_m:02d} Beijing: pull {', '.join(revising)} "
        "once more for the newest final day (cumulative ones over every send date whose totals "
        "still grow).",
    )
    def late_data_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        assert context.scheduled_execution_time is not None
        day = late_day(context.scheduled_execution_time, ready)
        return dg.RunRequest(
            run_key=f"late-{day}",
            partition_key=day.isoformat(),
            tags={ENDPOINTS_TAG: ",".join(revising)},
        )

    return [
        dg.build_schedule_from_partitioned_job(
            jobs["daily"],
            name="nightly",
            hour_of_day=nightly_h,
            minute_of_hour=nightly_m,
            description=f"{nightly_h:02d}:{nightly_m:02d} Beijing, once yesterday's data is "
            "final: every daily asset for the newest final day (the marts follow).",
        ),
        late_data_refresh,
        dg.build_schedule_from_partitioned_job(
            jobs["weekly"],
            name="weekly",
            hour_of_day=weekly_h,
            minute_of_hour=weekly_m,
            day_of_week=1,
        ),
        dg.build_schedule_from_partitioned_job(
            jobs["monthly"],
            name="monthly",
            hour_of_day=monthly_h,
            minute_of_hour=monthly_m,
            day_of_month=1,
        ),
    ]


def late_day(scheduled: datetime, ready: time) -> date:
    """The day the late-data refresh pulls again: the newest final day at ``scheduled``."""
    return newest_final_day(scheduled, ready)
