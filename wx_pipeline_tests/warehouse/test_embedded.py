"""The embedded warehouse: start, reuse, URL, stop, and data surviving a restart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from wx_pipeline.core.settings import load_settings
from wx_pipeline.warehouse.embedded import (
    embedded_running,
    libpq_url,
    psql_executable,
    start_embedded,
    stop_embedded,
    warehouse_url,
)


def _query(url: str, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cursor = conn.execute(statement.encode())
        return list(cursor.fetchall()) if cursor.description else []


@pytest.mark.slow
def test_start_reuse_stop_and_data_survives_restart(wx_home: Path) -> None:
    assert not embedded_running(wx_home)
    assert stop_embedded(wx_home) is False

    url = start_embedded(wx_home)
    assert url.startswith("postgresql://postgres:@/wx?host=")
    assert (wx_home / "pgdata" / "PG_VERSION").exists()
    assert embedded_running(wx_home)
    assert _query(url, "SELECT current_database()") == [("wx",)]
    _query(url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
    started_at = _query(url, "SELECT pg_postmaster_start_time()")

    # Reuse: same server, same URL, database creation is idempotent.
    assert start_embedded(wx_home) == url
    assert embedded_running(wx_home)

    assert stop_embedded(wx_home) is True
    assert not embedded_running(wx_home)
    assert stop_embedded(wx_home) is False

    url_again = start_embedded(wx_home)
    assert _query(url_again, "SELECT v FROM kept") == [("still here",)]
    assert _query(url_again, "SELECT pg_postmaster_start_time()") != started_at


@pytest.mark.slow
def test_warehouse_url_prefers_configured_url(
    wx_env: pytest.MonkeyPatch, wx_home: Path, database_url: str
) -> None:
    assert load_settings().home == wx_home.resolve()
    assert warehouse_url(load_settings()).startswith("postgresql://postgres:@/wx?host=")
    wx_env.setenv("WX_WAREHOUSE_URL", database_url)
    assert warehouse_url(load_settings()) == database_url


def test_psql_executable_is_the_wheels_own(database_url: str) -> None:
    psql = psql_executable()
    assert psql.is_file()
    result = subprocess.run(
        [str(psql), "--dbname", libpq_url(database_url), "-tAc", "select 1"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "1"


def test_libpq_url_drops_the_driver() -> None:
    assert libpq_url("postgresql+psycopg://u:p@h:5432/db") == "postgresql://u:p@h:5432/db"
