"""Secrets never leak: a full run with known secrets and the tokens the API issued, DEBUG
logging and a forced failure (an account with a wrong secret), then every place a secret could
end up is searched: the process's output, every table of the warehouse (the raw archive too)
and of Dagster's storage (event log, run storage, the UI's run config), and every file under
WX_HOME (the embedded PostgreSQL's data files, Dagster's compute logs, dbt's parse state)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from wx_pipeline.simulator import SimAccount, SimulatorConfig, run_in_thread
from wx_pipeline.warehouse.embedded import libpq_url, start_embedded, stop_embedded
from wx_pipeline_tests.reliability.harness import cli_process, pipeline_env

pytestmark = pytest.mark.slow

GOOD = SimAccount(
    app_id="wxsecrets000000001", secret="GoodSecret-7f3a9c1e5b", name="Good", followers=8_000
)
BAD = SimAccount(
    app_id="wxsecrets000000002", secret="RealSecret-0d8e2b4f6a", name="Bad", followers=3_000
)
WRONG = "WrongSecret-5c7e9a1b3d"  # what the accounts file names for BAD: rejected (40125)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """WX_HOME of the run, its embedded warehouse stopped afterwards."""
    path = tmp_path / "home"
    try:
        yield path
    finally:
        stop_embedded(path)


def _table_text(url: str) -> Iterator[tuple[str, str]]:
    """(schema.table, every row as text) of every table of the database at ``url``."""
    with psycopg.connect(libpq_url(url)) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' "
            "and table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            with conn.cursor().copy(
                sql.SQL("COPY (SELECT * FROM {}.{}) TO STDOUT").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ) as copy:
                text = b"".join(bytes(chunk) for chunk in copy).decode("utf-8", "replace")
            yield f"{schema}.{table}", text


def test_no_secret_anywhere_after_a_failed_debug_run(home: Path, pinned_now: datetime) -> None:
    config = SimulatorConfig(seed=81, now=pinned_now, accounts=[GOOD, BAD])
    with run_in_thread(config) as sim:
        env = pipeline_env(home, sim.base_url, "", [GOOD, BAD], pinned_now, {BAD.app_id: WRONG})
        del env["WX_WAREHOUSE_URL"]  # the embedded warehouse, under WX_HOME
        env["WX_LOG_LEVEL"] = "DEBUG"
        outcome = cli_process(env, "run", "--days", "3")
        tokens = sim.issued_tokens
    assert outcome.code == 2, outcome.stderr
    assert "AppSecret rejected (40125" in outcome.stderr
    assert tokens  # the good account got one, and used it
    secrets = [GOOD.secret, BAD.secret, WRONG, *tokens]

    found: list[str] = []
    for secret in secrets:
        if secret in outcome.stdout or secret in outcome.stderr:
            found.append(f"output: {secret[:6]}...")
    wx = start_embedded(home)
    for database in ("wx", "dagster"):
        url = wx.rsplit("/", 1)[0] + f"/{database}?" + wx.split("?", 1)[1]
        tables = 0
        for table, text in _table_text(url):
            tables += 1
            found += [f"{database}: {table}: {s[:6]}..." for s in secrets if s in text]
        assert tables > 10, database
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any("pgdata" in p.parts for p in files)
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found += [f"{path}: {s[:6]}..." for s in secrets if s.encode() in data]
    assert found == []
