"""Period arithmetic and call planning, shared by the client, the simulator and the partitions:
where a week or month starts and ends, and the fewest calls a date range takes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from wx_pipeline.registry.types import Endpoint, Period


def period_start(period: Period, day: date) -> date:
    """The first day of the period containing ``day``."""
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def period_end(period: Period, start: date) -> date:
    """The last day of the period starting at ``start``."""
    if period is Period.WEEK:
        return start + timedelta(days=6)
    if period is Period.MONTH:
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return nxt - timedelta(days=1)
    return start


def next_period(period: Period, start: date) -> date:
    return period_end(period, start) + timedelta(days=1)


def period_starts(period: Period, first: date, last: date) -> Iterator[date]:
    """Starts of the periods beginning within [first, last] (first rounded up to a period)."""
    start = period_start(period, first)
    if start < first:
        start = next_period(period, start)
    while start <= last:
        yield start
        start = next_period(period, start)


@dataclass(frozen=True)
class Window:
    """The begin/end dates of one API call."""

    begin: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.begin).days + 1


def plan_windows(endpoint: Endpoint, first: date, last: date) -> list[Window]:
    """Split [first, last] into the fewest calls the endpoint's span and period rules allow.

    The caller clamps to the endpoint's availability; this only packs. For week/month
    endpoints ``first``/``last`` are rounded inward to whole periods (begin and end of a call
    are both period starts).
    """
    if first > last:
        return []
    if endpoint.period is Period.DAY:
        step = timedelta(days=endpoint.max_span)
        windows: list[Window] = []
        begin = first
        while begin <= last:
            end = min(begin + step - timedelta(days=1), last)
            windows.append(Window(begin, end))
            begin = end + timedelta(days=1)
        return windows
    starts = [
        s
        for s in period_starts(endpoint.period, first, last)
        if period_end(endpoint.period, s) <= last
    ]
    packed: list[Window] = []
    for start in starts:
        if packed and (start - packed[-1].begin).days < endpoint.max_span:
            packed[-1] = Window(packed[-1].begin, start)
        else:
            packed.append(Window(start, start))
    return packed
