"""Offboarding: remove one account from the warehouse (`wx-pipeline purge --account APP_ID`).

One transaction deletes the account's facts (every `wechat` table), its raw answers
(`wechat_raw.api_response`), its coverage ledger and its rows in every mart of `analytics` (what
a rebuild of the marts without it gives), holding the loaders' locks of the account so no load
of it interleaves. Its call counts stay: today's quota was spent all the same.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from psycopg import sql

from wx_pipeline.registry import ENDPOINTS, TABLES
from wx_pipeline.warehouse.db import driver_connection
from wx_pipeline.warehouse.load import lock_key
from wx_pipeline.warehouse.schema import (
    ACCOUNT_ID,
    ANALYTICS_SCHEMA,
    FACT_SCHEMA,
    META_SCHEMA,
    RAW_SCHEMA,
    api_response,
    coverage,
)

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"


def purge_account(engine: sa.Engine, account_id: str) -> Counter[str]:
    """Delete every row of ``account_id``; returns the rows deleted per `schema.table`."""
    deleted: Counter[str] = Counter()
    with engine.begin() as conn:
        raw = driver_connection(conn)
        for endpoint in ENDPOINTS:
            raw.execute(_LOCK, (lock_key(endpoint, account_id),))
        marts = raw.execute(
            "SELECT table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = %s AND c.column_name = %s AND t.table_type = 'BASE TABLE' "
            "ORDER BY 1",
            (ANALYTICS_SCHEMA, ACCOUNT_ID),
        ).fetchall()
        tables = [
            *((FACT_SCHEMA, name) for name in sorted(TABLES)),
            (RAW_SCHEMA, api_response.name),
            (META_SCHEMA, coverage.name),
            *((ANALYTICS_SCHEMA, str(name)) for (name,) in marts),
        ]
        for schema, table in tables:
            cursor = raw.execute(
                sql.SQL("DELETE FROM {}.{} WHERE {} = %s").format(
                    sql.Identifier(schema), sql.Identifier(table), sql.Identifier(ACCOUNT_ID)
                ),
                (account_id,),
            )
            if cursor.rowcount:
                deleted[f"{schema}.{table}"] = cursor.rowcount
    return deleted
