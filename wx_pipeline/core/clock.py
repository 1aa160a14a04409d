"""The pipeline's clock, and its one rule for when a day's data is final.

WeChat computes a Beijing day's statistics overnight: before the data is ready an answer for
yesterday can be partial without any error (spec section 1). The rule: a day D is **final from
``WX_DATA_READY_TIME`` (default 08:00 Beijing) on D+1**. Everything that asks "what is the
newest day" asks ``newest_final_day``: the partitions of the daily, weekly and monthly assets
(Dagster's ``hour_offset``/``minute_offset`` express the same rule, see ``defs/partitions.py``),
the default range of ``wx-pipeline run``, the client's clamp of end dates, the ``stat_date``
tails of cumulative article answers, the schedules and the simulator's processing.

``now()`` is the pipeline's clock: the real time, or ``WX_NOW`` when a test or a replay pins it.
No other module reads the wall clock for a decision about data.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.core.settings import BEIJING, DEFAULT_DATA_READY_TIME, Settings, get_settings


class NotFinalError(WxUserError):
    """A requested range reaches past the newest final day; one line says until when."""


def now(settings: Settings | None = None) -> datetime:
    """The pipeline's current time in Beijing: ``WX_NOW`` when set, else the real time."""
    pinned = (settings or get_settings()).now
    return pinned if pinned is not None else datetime.now(BEIJING)


def final_at(day: date, ready: time = DEFAULT_DATA_READY_TIME) -> datetime:
    """The moment ``day``'s data becomes final: ``ready`` o'clock Beijing on the next day."""
    return datetime.combine(day + timedelta(days=1), ready, tzinfo=BEIJING)


def newest_final_day(at: datetime, ready: time = DEFAULT_DATA_READY_TIME) -> date:
    """The newest Beijing day whose data is final at ``at``."""
    local = at.astimezone(BEIJING)
    return local.date() - timedelta(days=1 if local.time() >= ready else 2)


def newest_final(settings: Settings | None = None) -> date:
    """The newest final day now, by the pipeline's clock and ``WX_DATA_READY_TIME``."""
    settings = settings or get_settings()
    return newest_final_day(now(settings), settings.data_ready_time)


def is_final(day: date, at: datetime, ready: time = DEFAULT_DATA_READY_TIME) -> bool:
    return day <= newest_final_day(at, ready)


def require_final(last: date, at: datetime, ready: time = DEFAULT_DATA_READY_TIME) -> None:
    """Refuse a range ending on ``last`` unless ``last`` is final at ``at`` (one line)."""
    newest = newest_final_day(at, ready)
    if last <= newest:
        return
    yesterday = at.astimezone(BEIJING).date() - timedelta(days=1)
    if last > yesterday:
        raise NotFinalError(
            f"{last} is in the future for WeChat's data: the newest day that exists is "
            f"{yesterday} (final from {_when(final_at(yesterday, ready))})"
        )
    raise NotFinalError(
        f"{last} is not final yet: WeChat's data for it is final from "
        f"{_when(final_at(last, ready))} (WX_DATA_READY_TIME); the newest final day is {newest}"
    )


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} Beijing"
