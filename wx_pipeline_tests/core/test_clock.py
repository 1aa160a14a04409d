"""The final-day rule and the pipeline's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from wx_pipeline.core import clock
from wx_pipeline.core.clock import NotFinalError, final_at, newest_final_day, require_final
from wx_pipeline.core.settings import BEIJING, load_settings

D = date(2026, 3, 18)


def bj(hour: int, minute: int, day: date = D) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("at", "newest"),
    [
        (bj(0, 0), date(2026, 3, 16)),
        (bj(3, 0), date(2026, 3, 16)),
        (bj(7, 59), date(2026, 3, 16)),
        (bj(8, 0), date(2026, 3, 17)),
        (bj(8, 1), date(2026, 3, 17)),
        (bj(23, 59), date(2026, 3, 17)),
        # 23:59 UTC on the 17th is 07:59 on the 18th in Beijing.
        (datetime(2026, 3, 17, 23, 59, tzinfo=UTC), date(2026, 3, 16)),
        (datetime(2026, 3, 18, 0, 0, tzinfo=UTC), date(2026, 3, 17)),
    ],
)
def test_a_day_is_final_from_eight_beijing_on_the_next_day(at: datetime, newest: date) -> None:
    assert newest_final_day(at) == newest
    assert final_at(newest) <= at < final_at(newest + timedelta(days=1))


def test_the_ready_time_is_a_setting() -> None:
    assert newest_final_day(bj(9, 59), time(10, 0)) == date(2026, 3, 16)
    assert newest_final_day(bj(10, 0), time(10, 0)) == date(2026, 3, 17)
    assert final_at(date(2026, 3, 17), time(10, 30)) == bj(10, 30)


def test_not_final_is_refused_with_when_it_becomes_final() -> None:
    require_final(date(2026, 3, 16), bj(3, 0))  # final: no error
    with pytest.raises(NotFinalError) as err:
        require_final(date(2026, 3, 17), bj(3, 0))
    assert str(err.value) == (
        "2026-03-17 is not final yet: WeChat's data for it is final from 2026-03-18 08:00 "
        "Beijing (WX_DATA_READY_TIME); the newest final day is 2026-03-16"
    )


@pytest.mark.parametrize("last", [D, date(2026, 3, 25)])
def test_the_future_is_refused_naming_the_newest_day_that_exists(last: date) -> None:
    with pytest.raises(NotFinalError) as err:
        require_final(last, bj(12, 0))
    assert str(err.value) == (
        f"{last} is in the future for WeChat's data: the newest day that exists is 2026-03-17 "
        "(final from 2026-03-18 08:00 Beijing)"
    )


def test_now_is_pinned_by_wx_now(wx_env: pytest.MonkeyPatch) -> None:
    wx_env.setenv("WX_NOW", "2026-03-18 03:00")
    settings = load_settings()
    assert clock.now(settings) == bj(3, 0)
    assert clock.newest_final(settings) == date(2026, 3, 16)
    wx_env.setenv("WX_DATA_READY_TIME", "02:30")
    assert clock.newest_final(load_settings()) == date(2026, 3, 17)


def test_unpinned_now_is_the_real_time(wx_env: pytest.MonkeyPatch) -> None:
    wx_env.delenv("WX_NOW")
    before = datetime.now(BEIJING)
    now = clock.now(load_settings())
    assert before <= now <= datetime.now(BEIJING)
    assert now.tzinfo is not None
