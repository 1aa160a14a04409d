"""Alembic environment: runs on the connection `migrate.py` hands over (never from a URL here)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from wx_pipeline.warehouse.migrate import VERSION_TABLE
from wx_pipeline.warehouse.schema import include_name, metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through wx_pipeline.warehouse.migrate, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_schemas=True,
    include_name=include_name,
    compare_type=True,
    compare_server_default=True,
)
with context.begin_transaction():
    context.run_migrations()
