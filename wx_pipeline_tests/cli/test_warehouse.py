"""`wx-pipeline warehouse migrate`, `warehouse grant-bi ROLE` and `renormalize`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from psycopg import sql

from wx_pipeline import registry
from wx_pipeline.cli import main
from wx_pipeline.warehouse.archive import archive_responses
from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline.warehouse.migrate import head_revision
from wx_pipeline.wechat.raw import RawResponse
from wx_pipeline_tests.warehouse.dbrows import db_rows
from wx_pipeline_tests.warehouse.payloads import FETCHED_AT, response


@pytest.fixture
def cli(wx_env: pytest.MonkeyPatch, database_url: str) -> CliRunner:
    wx_env.setenv("WX_WAREHOUSE_URL", database_url)
    return CliRunner()


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_migrate_then_up_to_date(cli: CliRunner) -> None:
    first = cli.invoke(main, ["warehouse", "migrate"])
    assert first.exit_code == 0, first.output
    assert first.output == f"warehouse schema migrated from empty to revision {head_revision()}\n"
    again = cli.invoke(main, ["warehouse", "migrate"])
    assert again.exit_code == 0, again.output
    assert again.output == f"warehouse schema up to date (revision {head_revision()})\n"


def test_grant_bi(cli: CliRunner, database_url: str) -> None:
    role = f"bi_cli_{uuid.uuid4().hex[:6]}"
    admin = libpq_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        result = cli.invoke(main, ["warehouse", "grant-bi", role])
        assert result.exit_code == 0, result.output
        assert result.output == f"{role} can now read analytics, wechat (SELECT only)\n"
        with psycopg.connect(admin, user=role, autocommit=True) as bi:
            assert bi.execute("SELECT count(*) FROM wechat.user_summary").fetchone() == (0,)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

    missing = cli.invoke(main, ["warehouse", "grant-bi", "nobody_at_all"])
    assert missing.exit_code == 2
    assert missing.output.startswith("wx-pipeline: role 'nobody_at_all' does not exist")
    assert missing.output.count("\n") == 1


def test_renormalize_rebuilds_from_the_archive(cli: CliRunner, engine: sa.Engine) -> None:
    assert cli.invoke(main, ["warehouse", "migrate"]).exit_code == 0
    endpoint = registry.get("getusershare")
    items = [
        {"ref_date": "2024-04-01", "share_scene": scene, "share_count": 20, "share_user": 3}
        for scene in (1, 2, 9)
    ]
    answer = response(endpoint, date(2024, 4, 1), items, account_id="wxcli")
    archive_responses(engine, [answer], "fetch-run")
    result = cli.invoke(
        main,
        [
            "renormalize",
            "--endpoint",
            "getusershare",
            "--start",
            "2024-04-01",
            "--end",
            "2024-04-30",
            "--facts-only",  # the marts' rebuild: e2e/test_restatement.py
        ],
    )
    assert result.exit_code == 0, result.output
    rows = len(answer.body["list"])
    assert "rebuilt from 1 archived responses in 1 windows" in result.output
    assert f"wechat.user_share: {rows} rows" in result.output
    assert (
        "warning: getusershare sent code user_share.share_scene=9, which no code list names (the "
        "rows are kept): once, first in archive row" in result.output
    )
    assert "marts rebuilt" not in result.output
    assert len(db_rows(engine, "user_share", "wxcli")) == rows


def test_renormalize_reports_invalid_archived_data_in_one_line(
    cli: CliRunner, engine: sa.Engine
) -> None:
    assert cli.invoke(main, ["warehouse", "migrate"]).exit_code == 0
    bad = RawResponse.of(
        "wxclibad",
        "getusercumulate",
        date(2024, 4, 2),
        date(2024, 4, 2),
        FETCHED_AT,
        {"list": [{"ref_date": "2024-04-02", "cumulate_user": -7}]},
    )
    (archive_id,) = archive_responses(engine, [bad], None)
    result = cli.invoke(
        main, ["renormalize", "--endpoint", "getusercumulate", "--account", "wxclibad"]
    )
    assert result.exit_code == 2
    assert result.output == (
        "wx-pipeline: invalid getusercumulate data for account wxclibad "
        f"(2024-04-02..2024-04-02, archive row {archive_id}): cumulate_user = -7: "
        "negative counter for bigint\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "getnothing"], "unknown endpoint 'getnothing'"),
        (["--start", "2024-05-02", "--end", "2024-05-01"], "is after --end"),
        (["--start", "2024-13-01"], "is not a date YYYY-MM-DD"),
    ],
)
def test_renormalize_rejects_bad_arguments(cli: CliRunner, args: list[str], message: str) -> None:
    result = cli.invoke(main, ["renormalize", *args])
    assert result.exit_code == 2
    assert message in result.output
