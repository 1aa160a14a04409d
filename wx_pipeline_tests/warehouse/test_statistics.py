"""Statistics after big loads: a pass that grew a fact table by a tenth or more analyses it at
once (the marts' run plans on its new size); a nightly day's rows leave it to autovacuum."""

from __future__ import annotations

import sqlalchemy as sa

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
