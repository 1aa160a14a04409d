"""Migrations: idempotent, safe to run concurrently, matching the registry, documented."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command

from wx_pipeline.registry import TABLES
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    schema_drift,
)
from wx_pipeline.warehouse.schema import FACT_SCHEMA, FACT_TABLES, RAW_SCHEMA

EXPECTED_TABLES = {
    "user_summary", "user_cumulate", "article_summary", "article_total", "user_read",
    "user_read_hour", "user_share", "user_share_hour", "article_read", "article_read_source",
    "article_share", "biz_summary", "biz_summary_read_source", "article_total_detail",
    "article_total_detail_read_source", "article_total_detail_jump_position", "upstream_msg",
    "upstream_msg_hour", "upstream_msg_week", "upstream_msg_month", "upstream_msg_dist",
    "upstream_msg_dist_week", "upstream_msg_dist_month", "interface_summary",
    "interface_summary_hour",
}  # fmt: skip


def test_fresh_database_migrates_concurrently_to_head_without_drift(database_url: str) -> None:
    assert current_revision(database_url) is None
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(database_url)
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert current_revision(database_url) == head_revision()
    assert migrate(database_url) == head_revision()  # again: nothing to do, no error
    assert schema_drift(database_url) == []


def test_every_issue_table_exists_with_its_key(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names(schema=FACT_SCHEMA)) == EXPECTED_TABLES
        assert set(TABLES) == EXPECTED_TABLES
        for name, table in TABLES.items():
            pk = inspector.get_pk_constraint(name, schema=FACT_SCHEMA)["constrained_columns"]
            assert pk == ["account_id", *table.key], name
            columns = {c["name"]: c for c in inspector.get_columns(name, schema=FACT_SCHEMA)}
            assert list(columns)[-2:] == ["_loaded_at", "_run_id"]
            for col in table.columns:
                # Only the key's fields are required: anything else an answer left out is NULL.
                required = col.api_field in table.key_fields
                assert columns[col.name]["nullable"] is not required, (name, col.name)
        assert inspector.get_table_names(schema=RAW_SCHEMA) == ["api_response"]
    finally:
        engine.dispose()


def test_hours_are_smallint_and_rates_double(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            types: dict[str, str] = dict(
                conn.execute(
                    sa.text(
                        "SELECT table_name || '.' || column_name, data_type "
                        "FROM information_schema.columns WHERE table_schema = 'wechat'"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert types["user_read_hour.hour"] == "smallint"
    assert types["user_read_hour.ref_date"] == "date"
    assert types["user_read_hour.int_page_read_count"] == "bigint"
    assert types["article_total_detail.read_finish_rate"] == "double precision"
    assert types["article_summary.msgid"] == "text"
    assert types["article_summary.msg_data_id"] == "bigint"
    assert types["article_summary.article_index"] == "smallint"
    assert types["user_summary._loaded_at"] == "timestamp with time zone"


def test_every_table_and_column_has_its_description_as_comment(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT c.relname, a.attname, col_description(c.oid, a.attnum), "
                    "obj_description(c.oid, 'pg_class') "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                    "AND NOT a.attisdropped "
                    "WHERE n.nspname IN ('wechat', 'wechat_raw') AND c.relkind = 'r'"
                )
            ).all()
    finally:
        engine.dispose()
    assert {r[0] for r in rows} == EXPECTED_TABLES | {"api_response"}
    missing = [(r[0], r[1]) for r in rows if not r[2] or not r[3]]
    assert missing == []
    comments = {(r[0], r[1]): r[2] for r in rows}
    tables = {r[0]: r[3] for r in rows}
    # Spec descriptions, code lists included; grain first in the table comment.
    assert "99999999 all" in comments[("user_read_hour", "user_source")]
    assert "255 other" in comments[("user_share", "share_scene")]
    assert "朋友圈 Moments" in comments[("article_read_source", "scene_desc")]
    assert tables["user_read_hour"].startswith("One row per day, hour and read source")
    for name, table in TABLES.items():
        assert tables[name].startswith(table.description)


def test_drift_check_notices_a_database_that_differs_from_the_registry(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE wechat.user_cumulate ADD COLUMN stray integer"))
            conn.execute(sa.text("COMMENT ON COLUMN wechat.user_summary.new_user IS 'changed'"))
        diffs = [str(d) for d in schema_drift(engine)]
        assert any("stray" in d for d in diffs)
        assert any("new_user" in d for d in diffs)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE wechat.user_cumulate DROP COLUMN stray"))
            comment = str(FACT_TABLES["user_summary"].c.new_user.comment).replace("'", "''")
            conn.execute(sa.text(f"COMMENT ON COLUMN wechat.user_summary.new_user IS '{comment}'"))
        assert schema_drift(engine) == []
        engine.dispose()


def test_the_platform_revision_applies_on_a_warehouse_at_the_previous_one(
    new_database: Callable[[str], str],
) -> None:
    """0005 (the platform's credentials and events) on a warehouse at 0004 that holds data:
    the data stays, the new tables come, and it goes back down cleanly."""
    url = new_database("at_0004")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0004")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO wechat_meta.coverage (account_id, endpoint, day, rows, final) "
                    "VALUES ('wxold', 'getusersummary', :day, 3, true)"
                ),
                {"day": date(2026, 3, 1)},
            )
        assert current_revision(engine) == "0004"
        assert migrate(engine) == head_revision() == current_revision(engine)
        assert schema_drift(engine) == []
        inspector = sa.inspect(engine)
        meta = set(inspector.get_table_names(schema="wechat_meta"))
        assert {"component_credentials", "component_events"} <= meta
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT count(*) FROM wechat_meta.coverage")).scalar()
        assert kept == 1
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004")
        meta = set(sa.inspect(engine).get_table_names(schema="wechat_meta"))
        assert not {"component_credentials", "component_events"} & meta
        assert migrate(engine) == current_revision(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", sorted(FACT_TABLES))
def test_metadata_comment_comes_from_registry(name: str) -> None:
    table = TABLES[name]
    sa_table = FACT_TABLES[name]
    for col in table.columns:
        assert sa_table.c[col.name].comment == col.description
