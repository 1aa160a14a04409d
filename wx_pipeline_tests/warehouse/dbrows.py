"""Comparable rows of a fact table, from the database or from a normalized frame."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from wx_pipeline.registry import TABLES
from wx_pipeline.warehouse.schema import fact_table

Row = tuple[Any, ...]


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):
        return value.item()
    return value


def frame_rows(table: str, frame: pd.DataFrame) -> list[Row]:
    """`frame`'s rows as sorted tuples (account_id + registry columns), NA as None."""
    names = ["account_id", *(c.name for c in TABLES[table].columns)]
    return sorted(
        (tuple(_plain(v) for v in rec) for rec in frame[names].itertuples(index=False)), key=repr
    )


def db_rows(
    engine: sa.Engine,
    table: str,
    account_id: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[Row]:
    """The table's rows (account_id + registry columns), sorted like `frame_rows`."""
    t = fact_table(table)
    names = ["account_id", *(c.name for c in TABLES[table].columns)]
    query = sa.select(*(t.c[n] for n in names))
    if account_id is not None:
        query = query.where(t.c.account_id == account_id)
    if first is not None:
        query = query.where(t.c.ref_date >= first)
    if last is not None:
        query = query.where(t.c.ref_date <= last)
    with engine.connect() as conn:
        return sorted((tuple(r) for r in conn.execute(query)), key=repr)


def run_ids(engine: sa.Engine, table: str, account_id: str) -> dict[date, set[str | None]]:
    """Per ref_date, the run ids of the account's rows."""
    t = fact_table(table)
    out: dict[date, set[str | None]] = {}
    query = sa.select(t.c.ref_date, t.c._run_id).where(t.c.account_id == account_id)
    with engine.connect() as conn:
        for row in conn.execute(query):
            out.setdefault(row.ref_date, set()).add(row._run_id)
    return out
