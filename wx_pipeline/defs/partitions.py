"""Partitions of the ingestion assets: Beijing days, Monday weeks and calendar months.

Each partition's time window starts at the data-ready time (``WX_DATA_READY_TIME``, 08:00
Beijing by default) of its first day, through Dagster's own ``hour_offset``/``minute_offset``:
partition D spans [D 08:00, D+1 08:00), so Dagster considers it complete exactly when the
final-day rule of ``wx_pipeline/core/clock.py`` makes D final. The newest partition of every asset
(day, week, month) is therefore always the newest final one; its key is still the plain date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta
from functools import cache

import dagster as dg

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.registry import Period, period_start

TIMEZONE = BEIJING.key  # Dagster takes the zone's name
#: The run tags Dagster reads a partition range run from (single_run backfills set them too).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
#: The days an unpartitioned run of the marts refreshes (not partition tags: a partitioned run
#: makes Dagster plan every check of the run once per partition, ~30k rows for a year).
WINDOW_START_TAG = "wx/window_start"
WINDOW_END_TAG = "wx/window_end"


@cache
def partitions_for(period: Period, first: date, ready: time) -> dg.TimeWindowPartitionsDefinition:
    """The partitions of a ``period`` asset whose data starts on ``first``; a partition is
    complete at ``ready`` (Beijing) on the day after its last day."""
    hour, minute = ready.hour, ready.minute
    if period is Period.WEEK:
        monday = period_start(Period.WEEK, first)
        start = monday if monday == first else monday + timedelta(days=7)
        return dg.WeeklyPartitionsDefinition(
            start_date=start.isoformat(),
            day_offset=1,
            hour_offset=hour,
            minute_offset=minute,
            timezone=TIMEZONE,
        )
    if period is Period.MONTH:
        month = period_start(Period.MONTH, first)
        start = month if month == first else (month + timedelta(days=32)).replace(day=1)
        return dg.MonthlyPartitionsDefinition(
            start_date=start.isoformat(), hour_offset=hour, minute_offset=minute, timezone=TIMEZONE
        )
    return dg.DailyPartitionsDefinition(
        start_date=first.isoformat(), hour_offset=hour, minute_offset=minute, timezone=TIMEZONE
    )


def window_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last Beijing date covered by the run's partition (range), inclusive."""
    window = context.partition_time_window
    return window.start.date(), window.end.date() - timedelta(days=1)


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make a run cover the partitions from ``first`` to ``last``."""
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def window_tags(first: date, last: date) -> dict[str, str]:
    """Run tags giving an unpartitioned run (the dbt marts) the days it refreshes."""
    return {WINDOW_START_TAG: first.isoformat(), WINDOW_END_TAG: last.isoformat()}


def run_window(tags: Mapping[str, str]) -> tuple[date, date] | None:
    """The days a run covers, from its tags; None when it names none (a full refresh).

    An unpartitioned run (dbt) carries ``window_tags``; the unpartitioned steps of a
    partitioned run (the reconciliations) read its partition (range), ``range_tags``.
    """
    start = tags.get(WINDOW_START_TAG) or tags.get(RANGE_START_TAG) or tags.get(PARTITION_TAG)
    end = tags.get(WINDOW_END_TAG) or tags.get(RANGE_END_TAG) or start
    if not start or not end:
        return None
    return date.fromisoformat(start), date.fromisoformat(end)
