"""End to end: simulator truth -> warehouse -> `dbt build` -> marts, checked against figures
computed here straight from the truth, then rebuilt over windows without changing a row.

Two weeks around 2025-11-01 for two accounts, so articles come from both the legacy and the
2025 endpoints.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from wx_pipeline.core.settings import BEIJING
from wx_pipeline.marts.generate import CODE_LISTS
from wx_pipeline.marts.metrics import load_metrics
from wx_pipeline.marts.run import run_dbt, window_args, window_env
from wx_pipeline.registry import TABLES, V2025_START
from wx_pipeline.registry.codes import ALL_SOURCES, SCENE_DESC
from wx_pipeline.simulator import SimulatorConfig, SimulatorServer, demo_accounts, run_in_thread
from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline.warehouse.migrate import migrate
from wx_pipeline_tests.simtruth import load_responses, truth_responses

pytestmark = pytest.mark.slow

FIRST, LAST = date(2025, 10, 25), date(2025, 11, 7)
NOW = datetime(2025, 12, 20, 12, tzinfo=BEIJING)
#: The one Monday-to-Sunday week inside the window.
WEEK = (date(2025, 10, 27), date(2025, 11, 2))
MARTS = (
    "fct_follower_growth_daily",
    "fct_follower_sources_daily",
    "fct_callback_latency_hourly",
    "fct_callback_latency_daily",
    "fct_callback_latency_weekly",
    "fct_article_performance",
    "fct_reads_hourly",
    "fct_message_activity_daily",
    "dim_account",
    "dim_date",
)
#: Tests allowed to warn: the simulator sends the undocumented share scene 5, as WeChat does.
EXPECTED_WARNINGS = ("accepted_values_stg_wechat__user_share",)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(seed=11, now=NOW, accounts=demo_accounts(11)[:2])
    with run_in_thread(config) as server:
        yield server


@pytest.fixture(scope="module")
def dbt_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # Own target and log dirs: the project's dbt/target (Dagster's manifest) stays untouched.
    root = tmp_path_factory.mktemp("dbt")
    return {"DBT_TARGET_PATH": str(root / "target"), "DBT_LOG_PATH": str(root / "logs")}


def _build(url: str, dirs: dict[str, str], *args: str) -> dict[str, Any]:
    result = run_dbt(["build", *args], url, capture=True, extra_env=dirs)
    assert result.returncode == 0, result.stdout[-4000:]
    run_results = Path(dirs["DBT_TARGET_PATH"]) / "run_results.json"
    loaded: dict[str, Any] = json.loads(run_results.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def warehouse(
    database_url: str, sim: SimulatorServer, dbt_dirs: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    migrate(database_url)
    load_responses(database_url, truth_responses(sim, sim.accounts, FIRST, LAST), FIRST, LAST)
    return database_url, _build(database_url, dbt_dirs)


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(sql).fetchall()


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    return {m: sorted(_query(url, f"select * from analytics.{m}"), key=repr) for m in MARTS}


def test_build_passes_every_test(warehouse: tuple[str, dict[str, Any]]) -> None:
    _, results = warehouse
    by_status: dict[str, list[str]] = defaultdict(list)
    for result in results["results"]:
        by_status[result["status"]].append(result["unique_id"].split(".")[2])
    assert set(by_status) <= {"success", "pass", "warn", "no-op"}, dict(by_status)
    # dbt lists the exposures as nodes it had nothing to do for.
    assert sorted(by_status["no-op"]) == ["account_detail", "agency_overview", "html_report"]
    for name in by_status["warn"]:
        assert name.startswith(EXPECTED_WARNINGS), name
    backed = [n for n in by_status["pass"] if n.endswith("_backed_by_facts")]
    assert len(backed) == 8  # every incremental mart's rows have their facts
    # Each staging view keeps its fact table's grain (tests the pipeline's builds leave out).
    grains = [n for n in by_status["pass"] if n.startswith("unique_combination_stg_wechat__")]
    assert len(grains) == len(TABLES)
    # And each code seed's key.
    seed_keys = [n for n in by_status["pass"] if n.startswith("unique_code_")]
    assert len(seed_keys) == len(CODE_LISTS)


def test_relations_have_exactly_the_documented_columns(
    warehouse: tuple[str, dict[str, Any]], dbt_dirs: dict[str, str]
) -> None:
    url, _ = warehouse
    manifest = json.loads((Path(dbt_dirs["DBT_TARGET_PATH"]) / "manifest.json").read_text("utf-8"))
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    for node in models:
        actual = _query(
            url,
            "select column_name from information_schema.columns "
            f"where table_schema = '{node['schema']}' and table_name = '{node['alias']}' "
            "order by ordinal_position",
        )
        assert [c for (c,) in actual] == list(node["columns"]), node["name"]


def test_follower_growth_equals_the_truth(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer
) -> None:
    url, _ = warehouse
    rows = _query(
        url,
        "select account_id, date_day, net_growth, cumulative_followers, reconciliation_gap, "
        "net_growth_7d from analytics.fct_follower_growth_daily",
    )
    mart = {(a, d): (n, c, g, n7) for a, d, n, c, g, n7 in rows}
    for account in sim.accounts:
        net = {
            day: sum(
                i["new_user"] - i["cancel_user"]
                for i in sim.truth(account.app_id, "getusersummary", day)
            )
            for day in _days(FIRST - timedelta(days=6), LAST)
        }
        for day in _days(FIRST, LAST):
            (cumulate,) = sim.truth(account.app_id, "getusercumulate", day)
            net_growth, cumulative, gap, net_7d = mart[(account.app_id, day)]
            assert net_growth == net[day]
            assert cumulative == cumulate["cumulate_user"]
            assert gap == (None if day == FIRST else 0)
            if day >= FIRST + timedelta(days=6):  # a full week loaded
                assert net_7d == sum(net[day - timedelta(days=k)] for k in range(7))


def test_weekly_latency_is_the_ratio_of_the_weeks_sums(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer
) -> None:
    url, _ = warehouse
    rows = _query(
        url,
        "select account_id, callback_count, avg_latency_ms, max_latency_ms "
        f"from analytics.fct_callback_latency_weekly where week_start = '{WEEK[0]}'",
    )
    assert len(rows) == len(sim.accounts)
    for account_id, count, avg, peak in rows:
        days = [sim.truth(account_id, "getinterfacesummary", d)[0] for d in _days(*WEEK)]
        total_count = sum(d["callback_count"] for d in days)
        assert count == total_count
        assert avg == pytest.approx(sum(d["total_time_cost"] for d in days) / total_count)
        assert peak == max(d["max_time_cost"] for d in days)


def test_hourly_latency_equals_the_truth(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer
) -> None:
    url, _ = warehouse
    rows = _query(
        url,
        "select account_id, date_day, hour, callback_count, avg_latency_ms "
        "from analytics.fct_callback_latency_hourly",
    )
    mart = {(a, d, h): (c, avg) for a, d, h, c, avg in rows}
    expected = {}
    for account in sim.accounts:
        for day in _days(FIRST, LAST):
            for i in sim.truth(account.app_id, "getinterfacesummaryhour", day):
                count = i["callback_count"]
                avg = i["total_time_cost"] / count if count else None
                expected[(account.app_id, day, i["ref_hour"] // 100)] = (count, avg)
    assert mart.keys() == expected.keys()
    for key, (count, avg) in expected.items():
        assert mart[key][0] == count
        assert mart[key][1] == pytest.approx(avg)


def test_article_day_3_reads_stitch_legacy_and_2025(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer
) -> None:
    url, _ = warehouse
    rows = _query(
        url,
        "select account_id, msgid, send_date, data_source, read_users_day_3, target_user "
        "from analytics.fct_article_performance",
    )
    mart = {(a, m): (d, s, r3, t) for a, m, d, s, r3, t in rows}
    expected = {}
    for account in sim.accounts:
        for day in _days(FIRST, LAST):
            if day < V2025_START:
                for item in sim.truth(account.app_id, "getarticletotal", day):
                    (detail,) = [
                        d
                        for d in item["details"]
                        if d["stat_date"] == (day + timedelta(days=3)).isoformat()
                    ]
                    expected[(account.app_id, item["msgid"])] = (
                        day,
                        "getarticletotal",
                        detail["int_page_read_user"],
                        detail["target_user"],
                    )
            else:
                cumulate = sim.truth(account.app_id, "getusercumulate", day - timedelta(days=1))
                for item in sim.truth(account.app_id, "getarticletotaldetail", day):
                    (detail,) = [
                        d
                        for d in item["detail_list"]
                        if d["stat_date"] == (day + timedelta(days=3)).isoformat()
                    ]
                    expected[(account.app_id, item["msgid"])] = (
                        day,
                        "getarticletotaldetail",
                        detail["read_user"],
                        cumulate[0]["cumulate_user"],
                    )
    sources = {s for _, s, _, _ in expected.values()}
    assert sources == {"getarticletotal", "getarticletotaldetail"}  # both generations covered
    assert mart == expected


#: fct_article_performance's source columns and the 2025 scene each one sums.
SOURCE_COLUMNS = {
    "read_users_from_conversation": "account message",
    "read_users_from_chat": "chat",
    "read_users_from_moments": "Moments",
    "read_users_from_history": "account home page",
    "read_users_from_other": "other",
    "read_users_from_top_stories": "recommended",
    "read_users_from_search": "Search",
}


def test_2025_article_sources_are_the_newest_days_scenes(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer
) -> None:
    """A 2025 article's readers by source are its read_user_source entries of day 6 (the newest
    the mart reports; NOW is weeks after the window), scene by scene."""
    url, _ = warehouse
    rows = _query(
        url,
        f"select account_id, msgid, stats_through_day, {', '.join(SOURCE_COLUMNS)} "
        "from analytics.fct_article_performance where data_source = 'getarticletotaldetail'",
    )
    mart = {(a, m): (day, tuple(sources)) for a, m, day, *sources in rows}
    scene = {label: code for code, label in SCENE_DESC.items()}
    expected = {}
    for account in sim.accounts:
        for sent in _days(V2025_START, LAST):
            for item in sim.truth(account.app_id, "getarticletotaldetail", sent):
                (detail,) = [
                    d
                    for d in item["detail_list"]
                    if d["stat_date"] == (sent + timedelta(days=6)).isoformat()
                ]
                counts = {s["scene_desc"]: s["user_count"] for s in detail["read_user_source"]}
                sources = tuple(counts.get(scene[s]) for s in SOURCE_COLUMNS.values())
                expected[(account.app_id, item["msgid"])] = (6, sources)
    assert len(expected) >= 2  # two accounts' 2025 articles of the window
    assert any(None in sources for _, sources in expected.values())  # a scene not reported
    assert mart == expected


def test_hourly_reads_by_source_equal_the_truth(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer
) -> None:
    url, _ = warehouse
    rows = _query(
        url,
        "select account_id, date_day, hour, user_source, reads, share_users "
        "from analytics.fct_reads_hourly",
    )
    expected = {
        (account.app_id, day, i["ref_hour"] // 100, i["user_source"]): (
            i["int_page_read_count"],
            i["share_user"],
        )
        for account in sim.accounts
        for day in _days(FIRST, LAST)
        for i in sim.truth(account.app_id, "getuserreadhour", day)
        if i["user_source"] != ALL_SOURCES
    }
    assert len(expected) > 1000
    assert {(a, d, h, s): (r, sh) for a, d, h, s, r, sh in rows} == expected


def test_message_activity_equals_the_truth(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer
) -> None:
    url, _ = warehouse
    rows = _query(
        url,
        "select account_id, date_day, breakdown, code, message_users, messages "
        "from analytics.fct_message_activity_daily",
    )
    expected: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for account in sim.accounts:
        for day in _days(FIRST, LAST):
            for i in sim.truth(account.app_id, "getupstreammsg", day):
                key = (account.app_id, day, "msg_type", i["msg_type"])
                expected[key] = (i["msg_user"], i["msg_count"])
            for i in sim.truth(account.app_id, "getupstreammsgdist", day):
                key = (account.app_id, day, "activity_bucket", i["count_interval"])
                expected[key] = (i["msg_user"], None)
    assert {r[:4]: r[4:] for r in rows} == expected


def test_rebuilding_windows_changes_no_row(
    warehouse: tuple[str, dict[str, Any]], dbt_dirs: dict[str, str]
) -> None:
    url, _ = warehouse
    before = _snapshot(url)
    assert all(before[m] for m in MARTS)
    _build(url, dbt_dirs, *window_args(FIRST, LAST))
    assert _snapshot(url) == before
    # A nightly-sized window in the middle: rolling sums and article days need their look-back.
    _build(url, dbt_dirs, *window_args(date(2025, 11, 3), date(2025, 11, 3)))
    assert _snapshot(url) == before


def test_dim_account_reads_its_window_and_its_rows_as_built(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer, dbt_dirs: dict[str, str]
) -> None:
    """A windowed build updates an account's row from the window's facts and the row as built
    before, not from every fact row ever loaded (a nightly build would grow with the
    installation's age); a build without a window reads them all."""
    url, _ = warehouse
    account = sim.accounts[0].app_id
    before = _snapshot(url)["dim_account"]
    with psycopg.connect(libpq_url(url)) as conn:  # a first day no fact row has, a lost count
        conn.execute(
            "update analytics.dim_account set first_data_date = date '2000-01-01', "
            "latest_followers = -1 where account_id = %s",
            (account,),
        )
    dim = ["--select", "dim_account"]
    _build(url, dbt_dirs, *dim, *window_args(LAST, LAST))
    after = {r[0]: r for r in _query(url, "select * from analytics.dim_account")}
    assert after[account][1] == date(2000, 1, 1)  # outside the window: kept as built
    assert after[account][3] != -1  # the window's newest follower count
    assert sorted(after.values(), key=repr) == [
        (*r[:1], date(2000, 1, 1), *r[2:]) if r[0] == account else r for r in before
    ]
    _build(url, dbt_dirs, *dim)  # no window: every fact row
    assert _snapshot(url)["dim_account"] == before


def test_a_seed_is_reloaded_only_when_it_changed(
    warehouse: tuple[str, dict[str, Any]], dbt_dirs: dict[str, str]
) -> None:
    """The code seeds are not rewritten by every build: each keeps its file's fingerprint as
    the table's comment; one whose comment differs (a changed file, a table made by hand) is
    loaded again."""
    url, _ = warehouse

    def seed() -> dict[str, str]:
        results = _build(url, dbt_dirs, "--select", "resource_type:seed")["results"]
        return {
            r["unique_id"].split(".")[-1]: r["message"]
            for r in results
            if r["unique_id"].startswith("seed.")  # their tests come along
        }

    seeds = {c.seed for c in CODE_LISTS.values()}
    assert seed() == dict.fromkeys(seeds, "UNCHANGED")
    stale = sorted(seeds)[0]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"comment on table analytics_staging.{stale} is 'edited'")
    again = seed()
    assert again.pop(stale).startswith("INSERT ")
    assert again == dict.fromkeys(seeds - {stale}, "UNCHANGED")
    assert seed() == dict.fromkeys(seeds, "UNCHANGED")  # its fingerprint is back
    assert _query(url, f"select count(*) from analytics_staging.{stale}")[0][0] > 0


def test_a_pipeline_window_rewrites_only_its_days_and_accounts(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer, dbt_dirs: dict[str, str]
) -> None:
    """The window and accounts as the pipeline passes them (environment variables, read by the
    models only when executing): rows inside are rebuilt, rows outside are not touched."""
    url, _ = warehouse
    this, other = (a.app_id for a in sim.accounts)
    day, outside = date(2025, 11, 3), date(2025, 10, 30)
    mart = "analytics.fct_follower_growth_daily"

    def set_growth(value: int | None, account: str, when: date) -> None:
        with psycopg.connect(libpq_url(url)) as conn:
            conn.execute(
                f"update {mart} set net_growth = coalesce(%s, new_followers - cancelled_followers)"
                " where account_id = %s and date_day = %s",
                (value, account, when),
            )

    def growth(account: str, when: date) -> int:
        rows = _query(
            url,
            f"select net_growth from {mart} where account_id = '{account}' and date_day = '{when}'",
        )
        assert len(rows) == 1
        return int(rows[0][0])

    tampered = [(this, day), (this, outside), (other, day)]
    for account, when in tampered:
        set_growth(-999_999, account, when)
    try:
        env = {**dbt_dirs, **window_env((day, day), [this])}
        result = run_dbt(
            ["build", "--select", "fct_follower_growth_daily"], url, capture=True, extra_env=env
        )
        assert result.returncode == 0, result.stdout[-4000:]
        assert growth(this, day) != -999_999  # in the window: rebuilt from the facts
        assert growth(this, outside) == -999_999  # another day: left as it was
        assert growth(other, day) == -999_999  # another account: left as it was
    finally:
        for account, when in tampered:
            set_growth(None, account, when)


def test_a_window_refresh_drops_a_key_the_facts_no_longer_have(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer, dbt_dirs: dict[str, str]
) -> None:
    """A mart row with no fact row behind it (a key WeChat restated away) fails the mart's
    error test, and the next refresh of its window removes it."""
    url, _ = warehouse
    account = sim.accounts[0].app_id
    day = date(2025, 11, 3)
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(
            "insert into analytics.fct_follower_sources_daily values "
            "(%s, %s, 424242, 'unknown', 5, 1, 4)",
            (account, day),
        )
    check = ["test", "--select", "fct_follower_sources_daily_backed_by_facts"]
    failed = run_dbt([*check, *window_args(day, day)], url, capture=True, extra_env=dbt_dirs)
    assert failed.returncode != 0
    assert "FAIL 1 fct_follower_sources_daily_backed_by_facts" in " ".join(failed.stdout.split())
    _build(url, dbt_dirs, "--select", "fct_follower_sources_daily", *window_args(day, day))
    orphan = "select 1 from analytics.fct_follower_sources_daily where user_source = 424242"
    assert _query(url, orphan) == []
    passed = run_dbt([*check, *window_args(day, day)], url, capture=True, extra_env=dbt_dirs)
    assert passed.returncode == 0, passed.stdout[-2000:]


def test_a_windowed_build_tests_the_rows_of_its_window_only(
    warehouse: tuple[str, dict[str, Any]], sim: SimulatorServer, dbt_dirs: dict[str, str]
) -> None:
    """A nightly build's tests read its window, not every day ever loaded (their cost would
    grow with the installation's age): a broken row on another day is not read, the same row in
    the window fails, and a test without a window reads every row."""
    url, _ = warehouse
    broken, elsewhere = date(2025, 10, 30), date(2025, 11, 3)
    mart = "analytics.fct_follower_growth_daily"
    with psycopg.connect(libpq_url(url)) as conn:  # a row of an account dim_account lacks
        conn.execute(
            f"create temp table planted as select * from {mart} where date_day = %s limit 1",
            (broken,),
        )
        conn.execute("update planted set account_id = 'wx_planted'")
        conn.execute(f"insert into {mart} select * from planted")
    check = ["test", "--select", "fct_follower_growth_daily"]
    failing = "relationships_fct_follower_growth_daily_account_id"
    try:
        for window, fails in (((elsewhere, elsewhere), False), ((broken, broken), True)):
            result = run_dbt([*check, *window_args(*window)], url, capture=True, extra_env=dbt_dirs)
            said = " ".join(result.stdout.split())
            assert (result.returncode != 0) is fails, said[-2000:]
            assert (f"FAIL 1 {failing}" in said) is fails, said[-2000:]
        whole = run_dbt(check, url, capture=True, extra_env=dbt_dirs)
        assert f"FAIL 1 {failing}" in " ".join(whole.stdout.split())
    finally:
        with psycopg.connect(libpq_url(url)) as conn:
            conn.execute(f"delete from {mart} where account_id = 'wx_planted'")


def test_unit_tests_of_the_stitching_and_the_rolling_sums_pass(
    warehouse: tuple[str, dict[str, Any]], dbt_dirs: dict[str, str]
) -> None:
    """dbt's unit tests (rows in, rows out) of int_article_stats_by_day's legacy/2025
    precedence and the follower mart's rolling sums; the pipeline's builds leave them out."""
    url, _ = warehouse
    result = run_dbt(["test", "--select", "test_type:unit"], url, capture=True, extra_env=dbt_dirs)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "PASS=2" in " ".join(result.stdout.split())


def test_docs_generate_writes_the_catalog(
    warehouse: tuple[str, dict[str, Any]], dbt_dirs: dict[str, str]
) -> None:
    url, _ = warehouse
    result = run_dbt(["docs", "generate"], url, capture=True, extra_env=dbt_dirs)
    assert result.returncode == 0, result.stdout[-2000:]
    catalog = json.loads((Path(dbt_dirs["DBT_TARGET_PATH"]) / "catalog.json").read_text("utf-8"))
    assert "model.wx_pipeline.fct_article_performance" in catalog["nodes"]
    assert len(catalog["sources"]) == len(TABLES)
    # The site draws the exposures (the report, the dashboards) and lists the metrics.
    site = json.loads((Path(dbt_dirs["DBT_TARGET_PATH"]) / "manifest.json").read_text("utf-8"))
    exposures = {e["name"] for e in site["exposures"].values()}
    assert exposures == {"html_report", "agency_overview", "account_detail"}
    assert "metric.wx_pipeline.callback_failure_rate" in site["metrics"]


def _by_key(rows: list[tuple[Any, ...]], keys: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(r[:keys]): tuple(r[keys:]) for r in rows}


@pytest.mark.parametrize(
    ("mart", "keys", "grouped_from", "group_by", "metrics", "columns"),
    [
        (
            "fct_callback_latency_weekly",
            "account_id, week_start",
            "fct_callback_latency_daily",
            "account_id, date_trunc('week', date_day)::date",
            ("callback_failure_rate", "callback_avg_latency_ms"),
            "failure_rate, avg_latency_ms",
        ),
        (
            "fct_callback_latency_daily",
            "account_id, date_day",
            "fct_callback_latency_daily",
            "account_id, date_day",
            ("callback_failure_rate", "callback_avg_latency_ms"),
            "failure_rate, avg_latency_ms",
        ),
        (
            "fct_callback_latency_hourly",
            "account_id, date_day, hour",
            "fct_callback_latency_hourly",
            "account_id, date_day, hour",
            ("hourly_callback_failure_rate", "hourly_callback_avg_latency_ms"),
            "failure_rate, avg_latency_ms",
        ),
        (
            "fct_article_performance",
            "account_id, msgid",
            "fct_article_performance",
            "account_id, msgid",
            ("article_read_rate", "article_share_rate"),
            "read_rate, share_rate",
        ),
    ],
)
def test_the_marts_ratios_are_the_semantic_layers_metrics_at_their_grain(
    warehouse: tuple[str, dict[str, Any]],
    mart: str,
    keys: str,
    grouped_from: str,
    group_by: str,
    metrics: tuple[str, ...],
    columns: str,
) -> None:
    """The ratio columns a mart stores per row are what the metrics (which the dashboards and
    the report use) compute at the mart's grain: one definition, whichever a reader uses."""
    url, _ = warehouse
    defined = load_metrics()
    expressions = ", ".join(defined[m].sql for m in metrics)
    computed = _query(
        url, f"select {group_by}, {expressions} from analytics.{grouped_from} group by {group_by}"
    )
    stored = _query(url, f"select {keys}, {columns} from analytics.{mart}")
    width = len(keys.split(","))
    assert len(stored) >= 4  # two accounts, three weeks touching the window
    expected = _by_key(stored, width)
    assert _by_key(computed, width).keys() == expected.keys()
    for key, values in _by_key(computed, width).items():
        assert values == pytest.approx(expected[key], nan_ok=True), key
