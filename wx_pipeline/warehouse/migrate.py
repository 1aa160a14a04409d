"""Schema migrations with Alembic, configured in code (no alembic.ini).

`migrate(url)` brings the warehouse to the newest revision; the CLI (`wx-pipeline warehouse
migrate`) and every pipeline run call it. It holds a transaction-scoped advisory lock while
upgrading, so two processes migrating at once run one after the other and the second finds
nothing to do; Postgres DDL is transactional, so a failed upgrade leaves the schema as it was.

A registry change (new column, new table) needs a new revision: `new_revision()` autogenerates
one against a database at head, to be reviewed and committed under `migrations/versions/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from wx_pipeline.warehouse.db import make_engine
from wx_pipeline.warehouse.schema import include_name, metadata

MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
# Not Alembic's default name: the Dagster instance (dagster-postgres) keeps its own
# `alembic_version` table, and may share the database when WX_WAREHOUSE_URL is set.
VERSION_TABLE: Final = "wx_alembic_version"
# Any constant bigint works; it only has to differ from the loaders' lock keys (hashed names).
_MIGRATE_LOCK: Final = sa.text("SELECT pg_advisory_xact_lock(hashtextextended('wx:migrate', 0))")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config for the project's migrations, bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision in `migrations/versions/`."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def _engine(target: str | sa.Engine) -> sa.Engine:
    return make_engine(target) if isinstance(target, str) else target


def migrate(target: str | sa.Engine) -> str:
    """Upgrade the warehouse at `target` (URL or engine) to head; returns the head revision."""
    engine = _engine(target)
    try:
        with engine.begin() as conn:
            conn.execute(_MIGRATE_LOCK)
            # Alembic sees the open transaction and runs inside it: lock, DDL and version row
            # commit together.
            command.upgrade(alembic_config(conn), "head")
    finally:
        if isinstance(target, str):
            engine.dispose()
    return head_revision()


def current_revision(target: str | sa.Engine) -> str | None:
    """The revision the warehouse is at; None before the first migration."""
    engine = _engine(target)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE}
            ).get_current_revision()
    finally:
        if isinstance(target, str):
            engine.dispose()


def schema_drift(target: str | sa.Engine) -> list[Any]:
    """What autogenerate would change: empty when the database matches `schema.metadata`."""
    engine = _engine(target)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": VERSION_TABLE,
                    "include_schemas": True,
                    "include_name": include_name,
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            diffs: list[Any] = compare_metadata(context, metadata)
            return diffs
    finally:
        if isinstance(target, str):
            engine.dispose()


def new_revision(target: str | sa.Engine, message: str, rev_id: str | None = None) -> Path:
    """Autogenerate a revision from the difference between the database (at head) and the
    registry metadata; returns the new file, to be reviewed before it is committed."""
    engine = _engine(target)
    try:
        with engine.connect() as conn:
            script = command.revision(
                alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id
            )
    finally:
        if isinstance(target, str):
            engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic produced no single revision")
    return Path(script.path)
