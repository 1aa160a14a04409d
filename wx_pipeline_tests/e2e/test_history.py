"""Many accounts, long histories: the history fill within a daily budget, onboarding an account,
purging one; end to end through Dagster against the simulator (its quota API and its daily
quota included) and a real Postgres.

Each simulated day runs as production does: the nightly run at 08:30 Beijing, then the history
fill at 11:00; the pipeline's clock and the simulator's move together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from wx_pipeline.cli import main
from wx_pipeline.cli.runner import run_history
from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.core.settings import BEIJING, get_settings, load_settings
from wx_pipeline.simulator import SimAccount, SimulatorConfig, SimulatorServer, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.purge import purge_account
from wx_pipeline_tests.e2e.harness import Stage, assert_equals_truth, configure, run

pytestmark = pytest.mark.slow

ACCOUNTS = [
    SimAccount(app_id=f"wxhist00000000000{i}", secret=f"{i}" * 32, name=f"H{i}", followers=n)
    for i, n in enumerate((3_000, 8_000, 20_000), start=1)
]
DAY1 = date(2026, 3, 10)
#: Calls per account, endpoint and day, WeChat's and the pipeline's. The nightly run takes 30
#: of getarticletotaldetail's (its send dates whose totals grow): the 30 older days of the
#: 60-day history take the fill three days at 10 a day.
BUDGET = 40
HISTORY_DAYS = 60


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


@pytest.fixture
def stage(
    new_database: Callable[[str], str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[list[SimAccount], dict[str, str]], Stage]]:
    """`stage(accounts, settings)`: a warehouse, a simulator (all ACCOUNTS; WeChat's daily
    quota BUDGET when the test is marked `quota`) and the pipeline configured for `accounts`,
    at 08:30 on DAY1."""
    quota = BUDGET if request.node.get_closest_marker("quota") else 1000
    config = SimulatorConfig(seed=31, now=at(DAY1, 8, 30), accounts=ACCOUNTS, daily_quota=quota)
    with run_in_thread(config) as sim, pytest.MonkeyPatch.context() as mp:
        url = new_database("history")

        def make(accounts: list[SimAccount], settings: dict[str, str]) -> Stage:
            for name, value in settings.items():
                mp.setenv(name, value)
            configure(mp, tmp_path, sim, url, accounts, sim.state.clock.now())
            return Stage(sim, url, tuple(accounts), mp)

        yield make
    get_settings.cache_clear()


def _scalar(url: str, query: str, **params: object) -> object:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query), params).scalar()
    finally:
        engine.dispose()


def _datacube(sim: SimulatorServer) -> list[tuple[str, str | None, date | None, date | None]]:
    return [
        (c.path, c.app_id, c.begin, c.end) for c in sim.calls if c.path.startswith("/datacube/")
    ]


def _status() -> dict[str, Any]:
    """`wx-pipeline status --json`, as a script reads it."""
    result = CliRunner().invoke(main, ["status", "--json"])
    assert result.exit_code == 0, result.output
    status: dict[str, Any] = json.loads(result.output)
    return status


@pytest.mark.quota
def test_history_fill_within_budget_over_three_days(
    stage: Callable[[list[SimAccount], dict[str, str]], Stage],
) -> None:
    start = newest_final_day(at(DAY1, 8, 30)) - timedelta(days=HISTORY_DAYS - 1)
    s = stage(ACCOUNTS, {"WX_START_DATE": start.isoformat(), "WX_DAILY_BUDGET": str(BUDGET)})
    fill_calls: list[tuple[str, str | None, date | None, date | None]] = []
    summaries: list[str] = []
    statuses: list[dict[str, Any]] = []
    for n in range(3):
        day = DAY1 + timedelta(days=n)
        s.at(at(day, 8, 30))  # the nightly run: the newest final day
        newest = newest_final_day(at(day, 8, 30))
        run(newest, newest)
        s.at(at(day, 11, 0))  # the history fill, after it
        before = len(_datacube(s.sim))
        fill = run_history(load_settings())
        summaries.append(fill.summary)
        fill_calls += _datacube(s.sim)[before:]
        assert fill.calls == fill.planned == len(_datacube(s.sim)) - before  # the fewest calls
        assert not [c for c in s.sim.calls if c.errcode == 45009], f"45009 on day {n + 1}"
        statuses.append(_status())
    assert "calls left" in summaries[0]  # day 1 cannot finish: it says how far it got
    first_day = {a["app_id"]: a for a in statuses[0]["accounts"]}
    # More days to go, or never at a budget below the nightly and late-data runs' headroom.
    assert all(a["history_calls"] > 0 for a in first_day.values())
    assert all(a["days_of_quota"] != 0 for a in first_day.values())
    articles = next(
        f for f in first_day[ACCOUNTS[0].app_id]["families"] if f["family"] == "articles"
    )
    assert articles["calls_today"] > 0
    assert articles["missing_days"] > 0
    assert [a["history_calls"] for a in statuses[-1]["accounts"]] == [0, 0, 0], statuses[-1]
    assert "history is complete" in summaries[-1]
    # Nothing fetched twice by the fill: each day continued where the last stopped.
    assert len(fill_calls) == len(set(fill_calls)) > 0
    newest = newest_final_day(at(DAY1 + timedelta(days=2), 11, 0))
    assert assert_equals_truth(s.sim, s.url, ACCOUNTS, start, newest) > 10_000
    missing = _scalar(
        s.url,
        "select count(*) from generate_series(cast(:f as date), cast(:l as date), '1 day') d "
        "where not exists (select 1 from wechat_meta.coverage c where c.day = d::date "
        "and c.endpoint = 'getusersummary' and c.account_id = :a)",
        f=start,
        l=newest,
        a=ACCOUNTS[0].app_id,
    )
    assert missing == 0


def test_an_added_account_gets_its_history_and_no_one_else_is_called(
    stage: Callable[[list[SimAccount], dict[str, str]], Stage],
) -> None:
    newest = newest_final_day(at(DAY1, 8, 30))
    first = newest - timedelta(days=29)
    old, new = ACCOUNTS[:2], ACCOUNTS[2]
    s = stage(old, {"WX_START_DATE": first.isoformat()})
    run(first, newest)  # thirty days of the first two accounts
    s = stage([*old, new], {"WX_START_DATE": first.isoformat()})
    s.sim.reset_calls()
    run_history(load_settings())
    called = {c.app_id for c in s.sim.calls if c.app_id is not None}
    assert called == {new.app_id}
    assert assert_equals_truth(s.sim, s.url, [*old, new], first, newest) > 0


def test_purge_removes_exactly_one_account(
    stage: Callable[[list[SimAccount], dict[str, str]], Stage],
) -> None:
    newest = newest_final_day(at(DAY1, 8, 30))
    first = newest - timedelta(days=6)
    kept, gone = ACCOUNTS[0], ACCOUNTS[1]
    s = stage([kept, gone], {"WX_START_DATE": first.isoformat()})
    run(first, newest)
    engine = make_engine(s.url)
    query = (
        "select c.table_schema || '.' || c.table_name from information_schema.columns c "
        "join information_schema.tables t using (table_schema, table_name) "
        "where c.column_name = 'account_id' and t.table_type = 'BASE TABLE' "
        "and c.table_schema in ('wechat', 'wechat_raw', 'wechat_meta', 'analytics')"
    )

    def counts(account: str) -> dict[str, int]:
        with engine.connect() as conn:
            tables = [str(t) for (t,) in conn.execute(sa.text(query))]
            return {
                t: int(
                    conn.execute(
                        sa.text(f"select count(*) from {t} where account_id = :a"), {"a": account}
                    ).scalar_one()
                )
                for t in tables
            }

    try:
        kept_before, gone_before = counts(kept.app_id), counts(gone.app_id)
        assert gone_before["wechat.user_summary"] > 0
        assert gone_before["analytics.fct_follower_growth_daily"] > 0
        deleted = purge_account(engine, gone.app_id)
        gone_after = counts(gone.app_id)
        # Call counts stay: that quota was spent.
        assert {t: n for t, n in gone_after.items() if n} == {
            "wechat_meta.api_calls": gone_before["wechat_meta.api_calls"]
        }
        assert counts(kept.app_id) == kept_before
        expected = {t: n for t, n in gone_before.items() if n and t != "wechat_meta.api_calls"}
        assert dict(deleted) == expected
    finally:
        engine.dispose()
