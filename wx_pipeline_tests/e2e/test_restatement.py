"""WeChat restates days it already published: the warehouse follows, marts included.

Two weeks of two accounts are loaded; the simulator then restates four of the days (a
follower source, a read source, an hour, a message type and an article vanish; others
appear) and the same window is run again. The facts and every mart must then equal a clean
load of the restated data into an empty warehouse (fingerprints of both), with no mart row
left that no fact row backs - the keys that vanished must vanish from the marts too. The same
holds after `wx-pipeline renormalize` (the archive holds both answers: the latest wins) and,
for the account that stays, after `wx-pipeline purge` of the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from wx_pipeline.cli import main
from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.core.settings import get_settings
from wx_pipeline.simulator import SimAccount, SimulatorConfig, run_in_thread
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline_tests.e2e.harness import configure, run
from wx_pipeline_tests.fingerprint import Fingerprint, differences, fingerprint

pytestmark = pytest.mark.slow

ACCOUNTS = [
    SimAccount(app_id="wxrst0000000000001", secret="r" * 32, name="Small", followers=6_000),
    SimAccount(app_id="wxrst0000000000002", secret="q" * 32, name="Medium", followers=120_000),
]
#: Restated days, as offsets from the window's first day, and their revisions.
RESTATED = {2: 1, 5: 2, 9: 1, 13: 1}

#: Each mart, and the facts a row of it must have behind it (mart condition, fact EXISTS).
ORPHANS = {
    "fct_follower_sources_daily": "select 1 from wechat.user_summary f where f.account_id = "
    "m.account_id and f.ref_date = m.date_day and f.user_source = m.user_source",
    "fct_reads_hourly": "select 1 from wechat.user_read_hour f where f.account_id = m.account_id "
    "and f.ref_date = m.date_day and f.hour = m.hour and f.user_source = m.user_source",
    "fct_callback_latency_hourly": "select 1 from wechat.interface_summary_hour f where "
    "f.account_id = m.account_id and f.ref_date = m.date_day and f.hour = m.hour",
    "fct_message_activity_daily": "select 1 from wechat.upstream_msg f where f.account_id = "
    "m.account_id and f.ref_date = m.date_day and f.msg_type = m.code "
    "union all select 1 from wechat.upstream_msg_dist f where f.account_id = m.account_id "
    "and f.ref_date = m.date_day and f.count_interval = m.code",
}


@dataclass
class Stages:
    first: date
    last: date
    restated_days: list[date]
    loaded: Fingerprint  # after the first load
    rerun: Fingerprint  # after the restated window ran again
    clean: Fingerprint  # a clean load of the restated data
    clean_kept: Fingerprint  # the clean load, the account that stays only
    renormalized: Fingerprint
    purged: Fingerprint
    sources_before: set[tuple[str, date, int]]
    sources_after: set[tuple[str, date, int]]
    orphans: dict[str, int]
    renormalize_output: str
    purge_output: str


def _sources(url: str, days: list[date]) -> set[tuple[str, date, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select account_id, ref_date, user_source from wechat.user_summary "
                    "where ref_date = any(:days)"
                ),
                {"days": days},
            ).all()
    finally:
        engine.dispose()
    return {(str(a), cast(date, d), cast(int, s)) for a, d, s in rows}


def _orphans(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                mart: int(
                    conn.execute(
                        sa.text(f"select count(*) from analytics.{mart} m where not exists ({q})")
                    ).scalar_one()
                )
                for mart, q in ORPHANS.items()
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def stages(
    new_database_module: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
    pinned_now: datetime,
) -> Stages:
    make_db = new_database_module
    last = newest_final_day(pinned_now)
    first = last - timedelta(days=13)
    days = [first + timedelta(days=k) for k in RESTATED]
    tmp = tmp_path_factory.mktemp("restatement")
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    config = SimulatorConfig(seed=23, now=pinned_now, accounts=ACCOUNTS)
    with run_in_thread(config) as sim, pytest.MonkeyPatch.context() as mp:
        url = make_db("restated")
        configure(mp, tmp / "a", sim, url, ACCOUNTS, pinned_now)
        run(first, last)
        loaded, sources_before = fingerprint(url), _sources(url, days)

        sim.restate({first + timedelta(days=k): rev for k, rev in RESTATED.items()})
        run(first, last)
        rerun, sources_after, orphans = fingerprint(url), _sources(url, days), _orphans(url)

        clean_url = make_db("clean")
        configure(mp, tmp / "b", sim, clean_url, ACCOUNTS, pinned_now)
        run(first, last)
        clean = fingerprint(clean_url)
        clean_kept = fingerprint(clean_url, accounts=[ACCOUNTS[0].app_id])

        configure(mp, tmp / "a", sim, url, ACCOUNTS, pinned_now)
        cli = CliRunner()
        renormalized_run = cli.invoke(main, ["renormalize"])
        renormalized = fingerprint(url)
        purged_run = cli.invoke(main, ["purge", "--account", ACCOUNTS[1].app_id, "--yes"])
        purged = fingerprint(url)
        get_settings.cache_clear()
    assert renormalized_run.exit_code == 0, renormalized_run.output
    assert purged_run.exit_code == 0, purged_run.output
    return Stages(
        first,
        last,
        days,
        loaded,
        rerun,
        clean,
        clean_kept,
        renormalized,
        purged,
        sources_before,
        sources_after,
        orphans,
        renormalized_run.output,
        purged_run.output,
    )


def test_the_restatement_changed_what_the_marts_hold(stages: Stages) -> None:
    """The scenario is worth its name: keys vanished and appeared, facts and marts changed."""
    assert stages.sources_before - stages.sources_after, "no follower source vanished"
    assert stages.sources_after - stages.sources_before, "no follower source appeared"
    changed = set(differences(stages.loaded, stages.clean))
    for table in (
        "wechat.user_summary",
        "wechat.user_read_hour",
        "wechat.article_total_detail",
        "analytics.fct_follower_sources_daily",
        "analytics.fct_reads_hourly",
        "analytics.fct_message_activity_daily",
        "analytics.fct_callback_latency_hourly",
        "analytics.fct_article_performance",
    ):
        assert any(line.startswith(f"{table}:") for line in changed), table


def test_running_the_window_again_equals_a_clean_load(stages: Stages) -> None:
    assert differences(stages.rerun, stages.clean) == []


def test_no_mart_row_is_left_without_its_fact_row(stages: Stages) -> None:
    assert stages.orphans == dict.fromkeys(ORPHANS, 0)


def test_renormalize_rebuilds_facts_and_marts_to_the_restated_truth(stages: Stages) -> None:
    assert "marts rebuilt for" in stages.renormalize_output
    assert differences(stages.renormalized, stages.clean) == []


def test_purging_one_account_leaves_the_other_as_a_clean_load(stages: Stages) -> None:
    assert "purged" in stages.purge_output
    assert differences(stages.purged, stages.clean_kept) == []
    assert stages.purged["analytics.fct_follower_sources_daily"][0] > 0
