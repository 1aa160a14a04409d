"""A warehouse fingerprint: per table, the row count and an order-independent checksum of every
column except load metadata, over the fact tables (`wechat`) and the marts (`analytics`).

Two warehouses with equal fingerprints hold the same rows, whatever order or runs loaded them;
tests compare a run under test (re-runs, crashes, faults, overlapping runs, odd hours) with a
clean one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from wx_pipeline.warehouse.db import make_engine

#: Schemas compared: the facts and dbt's marts (staging views derive from the facts).
SCHEMAS = ("wechat", "analytics")

Fingerprint = dict[str, tuple[int, str]]


def _columns(conn: sa.Connection, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        sa.text(
            "select column_name from information_schema.columns "
            "where table_schema = :s and table_name = :t order by ordinal_position"
        ),
        {"s": schema, "t": table},
    )
    # _loaded_at and _run_id say when and by which run, not what: they differ between runs.
    return [str(name) for (name,) in rows if not str(name).startswith("_")]


def fingerprint(
    url: str, schemas: Sequence[str] = SCHEMAS, accounts: Sequence[str] | None = None
) -> Fingerprint:
    """`schema.table` -> (rows, checksum) for every base table of `schemas`; with `accounts`,
    only their rows in the tables keyed by account (the others whole)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_schema = any(:schemas) and table_type = 'BASE TABLE' "
                    "order by 1, 2"
                ),
                {"schemas": list(schemas)},
            ).all()
            out: Fingerprint = {}
            for schema, table in ((str(s), str(t)) for s, t in tables):
                names = _columns(conn, schema, table)
                cols = ", ".join(f'"{c}"' for c in names)
                only = accounts is not None and "account_id" in names
                # The sum of per-row hashes does not depend on row order; numeric cannot overflow.
                row = conn.execute(
                    sa.text(
                        f"select count(*), coalesce(sum(('x' || left(md5(row({cols})::text), 15))"
                        f'::bit(60)::bigint), 0)::text from "{schema}"."{table}"'
                        + (" where account_id = any(:accounts)" if only else "")
                    ),
                    {"accounts": list(accounts or ())},
                ).one()
                out[f"{schema}.{table}"] = (int(row[0]), str(row[1]))
            return out
    finally:
        engine.dispose()


def differences(got: Fingerprint, want: Fingerprint) -> list[str]:
    """Human-readable differences, empty when the fingerprints are equal."""
    return [
        f"{name}: {got.get(name)} != {want.get(name)}"
        for name in sorted(set(got) | set(want))
        if got.get(name) != want.get(name)
    ]
