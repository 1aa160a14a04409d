"""Statistics after big loads: a pass that grew a fact table by a tenth or more analyses it at
once (the marts' run plans on its new size); a nightly day's rows, and re-pulled days, leave it
to autovacuum, which the ANALYZE never waits for."""

from __future__ import annotations

from datetime import date

import psycopg
import sqlalchemy as sa

from wx_pipeline.pipeline.outcome import IngestReport
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline.warehouse.statistics import analyse_grown


def _add_days(engine: sa.Engine, first: int, days: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into wechat.user_summary (account_id, ref_date, user_source, new_user, "
                "cancel_user) select 'wxstats', date '2020-01-01' + i, 0, 1, 1 "
                "from generate_series(cast(:first as integer), cast(:last as integer)) as i"
            ),
            {"first": first, "last": first + days - 1},
        )


def _counted(engine: sa.Engine) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(
                sa.text(
                    "select reltuples from pg_class where oid = 'wechat.user_summary'::regclass"
                )
            ).scalar_one()
        )


def test_a_big_load_is_analysed_at_once_a_small_one_is_not(engine: sa.Engine) -> None:
    with engine.begin() as conn:  # autovacuum stays out of the counts
        conn.execute(sa.text("alter table wechat.user_summary set (autovacuum_enabled = false)"))
    _add_days(engine, 0, 1000)
    assert analyse_grown(engine, {"user_summary": 1000, "not_a_table": 10**6}) == ["user_summary"]
    assert _counted(engine) == 1000
    _add_days(engine, 1000, 140)  # under a tenth + 50 rows: autovacuum's business
    assert analyse_grown(engine, {"user_summary": 140}) == []
    assert _counted(engine) == 1000
    _add_days(engine, 1140, 160)
    assert analyse_grown(engine, {"user_summary": 160}) == ["user_summary"]
    assert _counted(engine) == 1300


def test_rows_that_replace_rows_are_not_growth() -> None:
    """A pass that re-pulled days (the article totals of the last month, every night) rewrote
    its tables without growing them: no ANALYZE, which would stop autovacuum's work on them."""
    report = IngestReport(date(2026, 1, 1), date(2026, 1, 1), ["wxstats"])
    report.rows.update({"article_total_detail": 30_000, "user_summary": 40})
    report.replaced.update({"article_total_detail": 29_800})
    assert report.growth() == {"article_total_detail": 200, "user_summary": 40}


def test_analyse_never_waits_for_a_vacuum_at_work(engine: sa.Engine, database_url: str) -> None:
    """PostgreSQL cancels an autovacuum that blocks another command: an ANALYZE waiting for
    the lock a vacuum holds would stop it. The ANALYZE skips the table instead (the lock
    held here as a vacuum holds it; without SKIP_LOCKED the ANALYZE waits and times out)."""
    _add_days(engine, 2000, 2000)
    impatient = make_engine(database_url, connect_args={"options": "-c lock_timeout=2000"})
    try:
        with psycopg.connect(libpq_url(database_url)) as vacuum:
            vacuum.execute("lock table wechat.user_summary in share update exclusive mode")
            before = _counted(engine)
            assert analyse_grown(impatient, {"user_summary": 2000}) == ["user_summary"]
            assert _counted(engine) == before  # skipped: the vacuum analyses it when due
        assert analyse_grown(impatient, {"user_summary": 2000}) == ["user_summary"]
        assert _counted(engine) == before + 2000
    finally:
        impatient.dispose()
