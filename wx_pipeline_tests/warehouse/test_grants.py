"""BI access: a granted role reads analytics and wechat, and can change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors, sql

from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline.warehouse.grants import UnknownRoleError, grant_bi


@pytest.fixture(scope="module")
def bi_role(engine: sa.Engine, database_url: str) -> Iterator[str]:
    """A login role (cluster-wide, so uniquely named), dropped afterwards."""
    role = f'BI reader "{uuid.uuid4().hex[:6]}"; select'  # needs quoting everywhere
    admin = libpq_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def connect_as(database_url: str, role: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_url(database_url), user=role, autocommit=True)


def test_bi_role_reads_facts_and_marts_and_writes_nothing(
    engine: sa.Engine, database_url: str, bi_role: str
) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS analytics"))
        conn.execute(sa.text("CREATE TABLE analytics.before_grant AS SELECT 1 AS n"))
        conn.execute(
            sa.text(
                "INSERT INTO wechat.user_cumulate (account_id, ref_date, cumulate_user) "
                "VALUES ('wxbi', '2024-01-01', 1217056)"
            )
        )
    grant_bi(engine, bi_role)
    grant_bi(engine, bi_role)  # idempotent
    with engine.begin() as conn:
        # Created after the grant, like new dbt models or a later migration's table.
        conn.execute(sa.text("CREATE TABLE analytics.after_grant AS SELECT 2 AS n"))
        conn.execute(sa.text("CREATE VIEW analytics.mart_view AS SELECT 3 AS n"))
        conn.execute(sa.text("CREATE TABLE wechat.added_later (n int)"))

    with connect_as(database_url, bi_role) as bi:
        assert bi.execute("SELECT current_user").fetchone() == (bi_role,)
        assert bi.execute("SELECT cumulate_user FROM wechat.user_cumulate").fetchall() == [
            (1217056,)
        ]
        assert bi.execute("SELECT n FROM analytics.before_grant").fetchall() == [(1,)]
        assert bi.execute("SELECT n FROM analytics.after_grant").fetchall() == [(2,)]
        assert bi.execute("SELECT n FROM analytics.mart_view").fetchall() == [(3,)]
        assert bi.execute("SELECT count(*) FROM wechat.added_later").fetchall() == [(0,)]
        # Column comments are visible to BI tools.
        assert bi.execute(
            "SELECT col_description('wechat.user_cumulate'::regclass, 3)"
        ).fetchone() == ("Total followers at the end of the day.",)

        refused = [
            "INSERT INTO wechat.user_cumulate VALUES ('wxbi', '2024-01-02', 1)",
            "UPDATE wechat.user_cumulate SET cumulate_user = 0",
            "DELETE FROM wechat.user_cumulate",
            "TRUNCATE wechat.user_cumulate",
            "INSERT INTO analytics.after_grant VALUES (9)",
            "UPDATE analytics.before_grant SET n = 0",
            "DELETE FROM analytics.before_grant",
            "CREATE TABLE wechat.mine (n int)",
            "CREATE TABLE analytics.mine (n int)",
            "CREATE TABLE public.mine (n int)",
            "CREATE VIEW analytics.mine AS SELECT 1",
            "CREATE SCHEMA mine",
            "SELECT count(*) FROM wechat_raw.api_response",
            "SELECT count(*) FROM wechat_meta.coverage",
            "SELECT count(*) FROM wechat_meta.api_calls",
            "SELECT count(*) FROM wechat_meta.component_credentials",  # secrets at rest
            "SELECT count(*) FROM wechat_meta.component_events",
            "ALTER TABLE wechat.user_cumulate ADD COLUMN x int",
            "DROP TABLE analytics.before_grant",
        ]
        for statement in refused:
            with pytest.raises(errors.InsufficientPrivilege):
                bi.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM wechat.user_cumulate")).scalar_one() == 1


def test_unknown_role_is_a_user_error(engine: sa.Engine) -> None:
    with pytest.raises(UnknownRoleError, match="does not exist"):
        grant_bi(engine, "no_such_role_here")
