"""Least privilege for the pipeline itself: it needs no superuser. A login role that owns the
warehouse database (nothing else: no SUPERUSER, no CREATEDB, no CREATEROLE) migrates, loads,
keeps Dagster's storage and builds the marts. (What BI roles may do: warehouse/test_grants.py.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from wx_pipeline.core.clock import newest_final_day
from wx_pipeline.simulator import SimAccount, SimulatorConfig, run_in_thread
from wx_pipeline.warehouse.embedded import libpq_url
from wx_pipeline_tests.reliability.harness import cli, pipeline_env

pytestmark = pytest.mark.slow

ACCOUNT = SimAccount(app_id="wxowner00000000001", secret="o" * 32, name="Owner", followers=5_000)


@pytest.fixture
def owner_url(postgres_admin_url: str) -> Iterator[str]:
    """A database owned by a plain login role, as docs/README tell an administrator to make."""
    role, database = f"wx_owner_{uuid.uuid4().hex[:8]}", f"wxt_owned_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(postgres_admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
    url = make_url(postgres_admin_url).set(username=role, database=database)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_pipeline_runs_as_a_plain_role_owning_its_database(
    owner_url: str, tmp_path: Path, pinned_now: datetime
) -> None:
    with psycopg.connect(libpq_url(owner_url)) as conn:
        row = conn.execute(
            "select rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname = current_user"
        ).fetchone()
    assert row == (False, False, False)
    last = newest_final_day(pinned_now)
    config = SimulatorConfig(seed=91, now=pinned_now, accounts=[ACCOUNT])
    with run_in_thread(config) as sim:
        env = pipeline_env(tmp_path, sim.base_url, owner_url, [ACCOUNT], pinned_now)
        outcome = cli(env, "run", "--start", str(last - timedelta(days=2)), "--end", str(last))
    assert outcome.code == 0, outcome.stderr
    with psycopg.connect(libpq_url(owner_url)) as conn:
        marts = conn.execute("select count(*) from analytics.fct_follower_growth_daily").fetchone()
        runs = conn.execute("select count(*) from runs").fetchone()
    assert marts == (3,)
    assert runs is not None
    assert runs[0] >= 2  # Dagster's storage, in the same database
