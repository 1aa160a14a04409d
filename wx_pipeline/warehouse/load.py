"""Idempotent loads: replace one account's rows of a date window, all tables of an endpoint at once.

One transaction per (endpoint, account, window): take an advisory lock on (endpoint, account),
DELETE the window from every table of the endpoint (main and child tables), COPY the new rows,
replace the window's days in the coverage ledger, commit. Loading the same window twice leaves
what loading it once does; two loads of the same endpoint and account wait for each other, so
overlapping windows never duplicate or lose rows; a load that dies mid-COPY (killed connection,
error) rolls back to the previous contents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
import sqlalchemy as sa
from pandas.api.types import is_datetime64_dtype
from psycopg import sql

from wx_pipeline.warehouse.copy_format import copy_data
from wx_pipeline.warehouse.coverage import LedgerDay, write_ledger
from wx_pipeline.warehouse.db import driver_connection
from wx_pipeline.warehouse.normalize.dtypes import frame_dtypes
from wx_pipeline.warehouse.schema import ACCOUNT_ID, FACT_SCHEMA
from wx_pipeline.wechat.endpoints import Endpoint, Table

_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


class FrameMismatchError(ValueError):
    """The frames handed to the loader do not fit the endpoint, account or window (a bug)."""


def lock_key(endpoint: Endpoint, account_id: str) -> str:
    """The advisory-lock name serialising loads of one endpoint's tables for one account."""
    return f"wx:load:{endpoint.name}:{account_id}"


def load_window(
    engine: sa.Engine,
    endpoint: Endpoint,
    account_id: str,
    begin: date,
    end: date,
    frames: Mapping[str, pd.DataFrame],
    run_id: str | None,
    ledger: Sequence[LedgerDay] | None = None,
) -> dict[str, int]:
    """Replace `account_id`'s rows with ref_date in [begin, end] in every table of `endpoint`.

    `frames` holds one frame per table of the endpoint (normalized: `account_id` + registry
    columns); every row must belong to `account_id` and lie in the window. `ledger` (the days
    the frames' answers cover) replaces the window's days in the coverage ledger in the same
    transaction; None leaves the ledger alone. Returns the rows loaded per table.
    """
    if begin > end:
        raise FrameMismatchError(f"empty window {begin}..{end}")
    expected = [t.name for t in endpoint.tables]
    if sorted(frames) != sorted(expected):
        raise FrameMismatchError(
            f"{endpoint.name} loads tables {expected}, got frames for {sorted(frames)}"
        )
    checked = {t.name: _checked(t, frames[t.name], account_id, begin, end) for t in endpoint.tables}
    with engine.connect() as conn, conn.begin():
        conn.execute(_LOCK, {"key": lock_key(endpoint, account_id)})
        raw = driver_connection(conn)
        with raw.cursor() as cur:
            for table in endpoint.tables:
                cur.execute(
                    sql.SQL(
                        "DELETE FROM {}.{} WHERE {} = %s AND ref_date BETWEEN %s AND %s"
                    ).format(
                        sql.Identifier(FACT_SCHEMA),
                        sql.Identifier(table.name),
                        sql.Identifier(ACCOUNT_ID),
                    ),
                    (account_id, begin, end),
                )
                frame = checked[table.name]
                if not len(frame):
                    continue
                data = copy_data(table, frame, account_id, run_id)
                with cur.copy(data.statement) as copy:
                    for chunk in data.chunks:
                        copy.write(chunk)
            if ledger is not None:
                main = checked[endpoint.table.name]
                write_ledger(cur, endpoint, account_id, begin, end, ledger, main, run_id)
    return {name: len(frame) for name, frame in checked.items()}


def _checked(
    table: Table, frame: pd.DataFrame, account_id: str, begin: date, end: date
) -> pd.DataFrame:
    """`frame` with its columns in table order, after checking it belongs in this load."""
    dtypes = frame_dtypes(table)
    missing = [c for c in dtypes if c not in frame.columns]
    extra = [c for c in frame.columns if c not in dtypes]
    if missing or extra:
        raise FrameMismatchError(f"{table.name} frame: missing columns {missing}, extra {extra}")
    frame = frame[list(dtypes)]
    for name, want in dtypes.items():
        have = frame[name].dtype
        if want.startswith("datetime64"):
            ok = is_datetime64_dtype(have)
        elif want == "str":
            ok = str(have) in ("str", "object", "string")
        else:
            ok = str(have).lower() == want.lower()
        if not ok:
            raise FrameMismatchError(f"{table.name}.{name} has dtype {have}, expected {want}")
    if not len(frame):
        return frame
    if bool((frame[ACCOUNT_ID] != account_id).any()):
        raise FrameMismatchError(
            f"{table.name} frame holds rows of another account than {account_id}"
        )
    ref = frame["ref_date"]
    if ref.min() < pd.Timestamp(begin) or ref.max() > pd.Timestamp(end):
        raise FrameMismatchError(
            f"{table.name} frame has ref_date {ref.min().date()}..{ref.max().date()}, "
            f"outside the window {begin}..{end}"
        )
    return frame
