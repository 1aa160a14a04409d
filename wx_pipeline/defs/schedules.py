"""Jobs and schedules: nightly, late-data refresh, weekly and monthly, all in Beijing time.

Yesterday's data is final after 08:00 Beijing, so the nightly run starts at 08:30. The
late-data refresh re-pulls the window in which the API still revises article data (the
registry's ``revision_days``: 7 days for getarticletotal, 30 for getarticletotaldetail) and
the 2025 endpoints that flag days ``is_delay``, which are always within that window.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

import dagster as dg
from dagster._core.definitions.partitions.partitioned_schedule import (
    UnresolvedPartitionedAssetScheduleDefinition,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from wx_pipeline.defs.ingestion import ENDPOINTS_TAG, IngestionGroup
from wx_pipeline.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TIMEZONE
from wx_pipeline.wechat.endpoints import Period


def _groups(groups: Sequence[IngestionGroup], period: Period) -> list[dg.AssetKey]:
    return [g.key for g in groups if g.period is period]


def build_jobs(
    groups: Sequence[IngestionGroup], downstream: dg.AssetSelection
) -> dict[str, UnresolvedAssetJobDefinition]:
    """The daily job (ingestion + dbt), the late-data job and the weekly/monthly jobs."""
    daily = dg.AssetSelection.assets(*_groups(groups, Period.DAY))
    revising = [
        g.key for g in groups if any(e.revision_days or e.has_is_delay for e in g.endpoints)
    ]
    return {
        "daily": dg.define_asset_job(
            "daily",
            selection=daily | downstream,
            description="Every daily asset for the selected Beijing day(s), then the dbt marts.",
        ),
        "late_data": dg.define_asset_job(
            "late_data",
            selection=dg.AssetSelection.assets(*revising) | downstream,
            description="Re-pull the days the API still revises, then the dbt marts.",
        ),
        "weekly": dg.define_asset_job(
            "weekly", selection=dg.AssetSelection.assets(*_groups(groups, Period.WEEK))
        ),
        "monthly": dg.define_asset_job(
            "monthly", selection=dg.AssetSelection.assets(*_groups(groups, Period.MONTH))
        ),
    }


def revision_window_days(groups: Sequence[IngestionGroup]) -> int:
    return max(e.revision_days for g in groups for e in g.endpoints)


def build_schedules(
    jobs: dict[str, UnresolvedAssetJobDefinition], groups: Sequence[IngestionGroup]
) -> list[dg.ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition]:
    days = revision_window_days(groups)
    revising = sorted(
        e.name for g in groups for e in g.endpoints if e.revision_days or e.has_is_delay
    )

    @dg.schedule(
        name="late_data_refresh",
        job=jobs["late_data"],
        cron_schedule="0 10 * * *",
        execution_timezone=TIMEZONE,
        description=f"Daily at 10:00 Beijing: re-pull the last {days} days of "
        f"{', '.join(revising)}.",
    )
    def late_data_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        assert context.scheduled_execution_time is not None
        start, end = late_window(context.scheduled_execution_time, days)
        return dg.RunRequest(
            run_key=f"late-{end}",
            tags={
                RANGE_START_TAG: start,
                RANGE_END_TAG: end,
                ENDPOINTS_TAG: ",".join(revising),
            },
        )

    return [
        dg.build_schedule_from_partitioned_job(
            jobs["daily"],
            name="nightly",
            hour_of_day=8,
            minute_of_hour=30,
            description="08:30 Beijing, when yesterday's data is final: every daily asset for "
            "yesterday, then dbt.",
        ),
        late_data_refresh,
        dg.build_schedule_from_partitioned_job(
            jobs["weekly"], name="weekly", hour_of_day=9, minute_of_hour=0, day_of_week=1
        ),
        dg.build_schedule_from_partitioned_job(
            jobs["monthly"], name="monthly", hour_of_day=9, minute_of_hour=30, day_of_month=1
        ),
    ]


def late_window(scheduled: datetime, days: int) -> tuple[str, str]:
    """The last ``days`` complete Beijing days before ``scheduled``, as partition keys."""
    from zoneinfo import ZoneInfo

    today = scheduled.astimezone(ZoneInfo(TIMEZONE)).date()
    end = today - timedelta(days=1)
    return (end - timedelta(days=days - 1)).isoformat(), end.isoformat()
