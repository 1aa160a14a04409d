"""The final-day rule end to end, at the Beijing times that matter, through ``run_pipeline``.

A day D is final from 08:00 Beijing on D+1 (``WX_DATA_READY_TIME``). Before that the simulator,
like WeChat, answers for D with partial data and no error; the pipeline must never load it, must
refuse a range that asks for it with one line saying when it becomes final, and must refuse a
range in the future. Each test states the Beijing time it runs at; the pipeline's clock
(``WX_NOW``) and the simulator's move together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from wx_pipeline.core.clock import NotFinalError
from wx_pipeline.core.settings import BEIJING, get_settings
from wx_pipeline.registry import BY_NAME, Family
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline_tests.e2e.harness import Stage, assert_equals_truth, configure, run
from wx_pipeline_tests.fingerprint import differences, fingerprint

pytestmark = pytest.mark.slow

ACCOUNT = SimAccount(app_id="wxfinal00000000001", secret="f" * 32, name="Final", followers=6_000)
#: A Wednesday in a month that has both generations of article endpoints.
D = date(2026, 3, 18)
MESSAGES = [e for e in BY_NAME.values() if e.family is Family.MESSAGES]


def at(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with run_in_thread(SimulatorConfig(seed=21, now=at(D, "12:00"), accounts=[ACCOUNT])) as s:
        yield s


@pytest.fixture
def stage(
    sim: SimulatorServer, new_database: Callable[[str], str], tmp_path: Path
) -> Iterator[Callable[[datetime], Stage]]:
    """`stage(now)`: a pipeline on a fresh warehouse, its clock and the simulator's at `now`."""
    with pytest.MonkeyPatch.context() as mp:

        def make(now: datetime) -> Stage:
            url = new_database("final_day")
            home = tmp_path / url.rsplit("/", 1)[-1]
            home.mkdir()
            configure(mp, home, sim, url, [ACCOUNT], now)
            return Stage(sim, url, (ACCOUNT,), mp)

        yield make
    get_settings.cache_clear()


def _latest(url: str, sql: str) -> date | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            value: date | None = conn.execute(sa.text(sql)).scalar()
            return value
    finally:
        engine.dispose()


def _newest_call_end(sim: SimulatorServer) -> date:
    return max(c.end for c in sim.calls if c.path.startswith("/datacube/") and c.end is not None)


@pytest.mark.parametrize("hhmm", ["03:00", "07:59"])
def test_before_ready_time_only_final_days_load(
    stage: Callable[[datetime], Stage], hhmm: str
) -> None:
    """At 03:00 and 07:59 Beijing on D, yesterday (D-1) is not final: the newest day is D-2."""
    s = stage(at(D, hhmm))
    newest = D - timedelta(days=2)
    with pytest.raises(NotFinalError, match=f"{D - timedelta(days=1)} is not final yet") as err:
        run(newest - timedelta(days=2), D - timedelta(days=1))
    assert f"final from {D} 08:00 Beijing" in str(err.value)
    assert f"the newest final day is {newest}" in str(err.value)
    assert not s.sim.calls  # refused before any call

    run(newest - timedelta(days=2), newest)
    assert assert_equals_truth(s.sim, s.url, s.accounts, newest - timedelta(days=2), newest) > 0
    assert _newest_call_end(s.sim) == newest
    # No cumulative total runs past the newest final day, although WeChat already lists D-1.
    assert _latest(s.url, "select max(stat_date) from wechat.article_total") == newest
    assert _latest(s.url, "select max(stat_date) from wechat.article_total_detail") == newest


def test_after_ready_time_yesterday_loads(stage: Callable[[datetime], Stage]) -> None:
    """At 08:01 Beijing on D, D-1 is final."""
    s = stage(at(D, "08:01"))
    newest = D - timedelta(days=1)
    run(newest - timedelta(days=2), newest)
    assert assert_equals_truth(s.sim, s.url, s.accounts, newest - timedelta(days=2), newest) > 0
    assert _newest_call_end(s.sim) == newest


def test_a_range_in_the_future_is_refused(stage: Callable[[datetime], Stage]) -> None:
    s = stage(at(D, "12:00"))
    with pytest.raises(NotFinalError) as err:
        run(D + timedelta(days=3), D + timedelta(days=4))
    assert str(err.value) == (
        f"{D + timedelta(days=4)} is in the future for WeChat's data: the newest day that "
        f"exists is {D - timedelta(days=1)} (final from {D} 08:00 Beijing)"
    )
    assert not s.sim.calls


def test_early_run_then_nightly_equals_one_clean_run(stage: Callable[[datetime], Stage]) -> None:
    """A run at 03:00 (up to D-2), then the nightly run at 08:30 (D-1) ends exactly where one
    clean run at 08:30 (up to D-1) does: facts and marts. The nightly reaches back over the
    cumulative article totals that grew on D-1."""
    first = D - timedelta(days=5)
    early = stage(at(D, "03:00"))
    run(first, D - timedelta(days=2))
    early.at(at(D, "08:30"))
    run(D - timedelta(days=1), D - timedelta(days=1))

    clean = stage(at(D, "08:30"))
    run(first, D - timedelta(days=1))

    assert differences(fingerprint(early.url), fingerprint(clean.url)) == []
    assert assert_equals_truth(clean.sim, early.url, clean.accounts, first, D - timedelta(days=1))


def test_midnight_changes_nothing(stage: Callable[[datetime], Stage]) -> None:
    """23:59 on D and 00:00 on D+1 have the same newest final day (D-1): a run at each ends the
    same, and D itself (partly processed at 00:00) is refused until 08:00."""
    s = stage(at(D, "23:59"))
    run(D - timedelta(days=2), D - timedelta(days=1))
    before = fingerprint(s.url)
    s.at(at(D + timedelta(days=1), "00:00"))
    with pytest.raises(NotFinalError, match=f"final from {D + timedelta(days=1)} 08:00"):
        run(D - timedelta(days=1), D)
    run(D - timedelta(days=2), D - timedelta(days=1))
    assert differences(fingerprint(s.url), before) == []
    assert _newest_call_end(s.sim) == D - timedelta(days=1)


def test_last_day_of_month_waits_for_the_month_to_be_final(
    stage: Callable[[datetime], Stage],
) -> None:
    """March is final at 08:00 on April 1st: not at noon on the 31st, nor at 07:59 on the 1st."""
    march, month_end = date(2026, 3, 1), date(2026, 3, 31)
    s = stage(at(month_end, "12:00"))
    run(march, month_end - timedelta(days=1), groups=["messages"])
    monthly = "select max(ref_date) from wechat.upstream_msg_month"
    assert _latest(s.url, monthly) is None
    assert not [c for c in s.sim.calls if c.path.endswith("month")]

    s.at(at(month_end + timedelta(days=1), "07:59"))
    with pytest.raises(NotFinalError, match=f"{month_end} is not final yet"):
        run(march, month_end, groups=["messages"])

    s.at(at(month_end + timedelta(days=1), "08:01"))
    run(march, month_end, groups=["messages"])
    assert _latest(s.url, monthly) == march
    assert_equals_truth(s.sim, s.url, s.accounts, march, month_end, MESSAGES)


def test_sunday_to_monday_waits_for_the_week_to_be_final(
    stage: Callable[[datetime], Stage],
) -> None:
    """The week Monday 16th .. Sunday 22nd March is final at 08:00 on Monday 23rd."""
    monday, sunday = date(2026, 3, 16), date(2026, 3, 22)
    s = stage(at(sunday, "12:00"))
    run(monday, sunday - timedelta(days=1), groups=["messages"])
    weekly = "select max(ref_date) from wechat.upstream_msg_week"
    assert _latest(s.url, weekly) is None

    s.at(at(sunday + timedelta(days=1), "07:59"))
    with pytest.raises(NotFinalError, match=f"{sunday} is not final yet"):
        run(monday, sunday, groups=["messages"])

    s.at(at(sunday + timedelta(days=1), "08:01"))
    run(monday, sunday, groups=["messages"])
    assert _latest(s.url, weekly) == monday
    assert_equals_truth(s.sim, s.url, s.accounts, monday, sunday, MESSAGES)
