"""Read-only access for BI tools: `wx-pipeline warehouse grant-bi ROLE`.

The role may read `analytics` (dbt's marts) and `wechat` (the facts): USAGE on both schemas,
SELECT on their tables and views, and the same on tables created later by the granting user
(ALTER DEFAULT PRIVILEGES). Nothing on `wechat_raw`, no CREATE, no writes.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from psycopg import sql

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.warehouse.db import driver_connection
from wx_pipeline.warehouse.schema import ANALYTICS_SCHEMA, FACT_SCHEMA

#: The schemas a BI role reads.
BI_SCHEMAS: Final = (ANALYTICS_SCHEMA, FACT_SCHEMA)


class UnknownRoleError(WxUserError):
    """The role to grant to does not exist."""


def grant_bi(engine: sa.Engine, role: str) -> None:
    """Give `role` read-only access to `analytics` (created if missing) and `wechat`."""
    with engine.begin() as conn:
        raw = driver_connection(conn)
        exists = raw.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists is None:
            raise UnknownRoleError(
                f"role {role!r} does not exist; create it first, e.g. "
                f"CREATE ROLE {sql.Identifier(role).as_string(raw)} LOGIN PASSWORD '...'"
            )
        grantee = sql.Identifier(role)
        schemas = sql.SQL(", ").join(map(sql.Identifier, BI_SCHEMAS))
        raw.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(ANALYTICS_SCHEMA))
        )
        for statement in (
            "GRANT USAGE ON SCHEMA {schemas} TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA {schemas} TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schemas} GRANT SELECT ON TABLES TO {role}",
        ):
            raw.execute(sql.SQL(statement).format(schemas=schemas, role=grantee))
