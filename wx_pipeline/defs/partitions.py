"""Partitions of the ingestion assets: Beijing days, Monday weeks and calendar months.

The latest partition is always the last complete period (yesterday, last week, last month),
which is also the newest data the API serves.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import dagster as dg

from wx_pipeline.wechat.endpoints import Period, period_start

TIMEZONE = "Asia/Shanghai"


@cache
def partitions_for(period: Period, first: date) -> dg.TimeWindowPartitionsDefinition:
    """The partitions of a ``period`` asset whose data starts on ``first``."""
    if period is Period.WEEK:
        monday = period_start(Period.WEEK, first)
        start = monday if monday == first else monday + timedelta(days=7)
        return dg.WeeklyPartitionsDefinition(
            start_date=start.isoformat(), day_offset=1, timezone=TIMEZONE
        )
    if period is Period.MONTH:
        month = period_start(Period.MONTH, first)
        start = month if month == first else (month + timedelta(days=32)).replace(day=1)
        return dg.MonthlyPartitionsDefinition(start_date=start.isoformat(), timezone=TIMEZONE)
    return dg.DailyPartitionsDefinition(start_date=first.isoformat(), timezone=TIMEZONE)


def window_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last Beijing date covered by the run's partition (range), inclusive."""
    window = context.partition_time_window
    return window.start.date(), window.end.date() - timedelta(days=1)
