"""Idempotent loads: replace one account's rows of a date window, all tables of an endpoint at once.

One transaction per (endpoint, account, window), or per several accounts' windows of one
endpoint (``load_windows``): take an advisory lock on each (endpoint, account), DELETE the
window from every table of the endpoint (main and child tables), COPY the new rows, replace the
window's days in the coverage ledger, commit. Loading the same window twice leaves
what loading it once does; two loads of the same endpoint and account wait for each other, so
overlapping windows never duplicate or lose rows; a load that dies mid-COPY (killed connection,
error) rolls back to the previous contents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa
from pandas.api.types import is_datetime64_dtype
from psycopg import Cursor, sql

from wx_pipeline.registry import Endpoint, Table
from wx_pipeline.warehouse.copy_format import copy_data
from wx_pipeline.warehouse.coverage import LedgerDay, write_ledger
from wx_pipeline.warehouse.db import driver_connection
from wx_pipeline.warehouse.normalize.dtypes import frame_dtypes
from wx_pipeline.warehouse.schema import ACCOUNT_ID, FACT_SCHEMA

_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


class FrameMismatchError(ValueError):
    """The frames handed to the loader do not fit the endpoint, account or window (a bug)."""


def lock_key(endpoint: Endpoint, account_id: str) -> str:
    """The advisory-lock name serialising loads of one endpoint's tables for one account."""
    return f"wx:load:{endpoint.name}:{account_id}"


@dataclass(frozen=True)
class WindowLoad:
    """One account's window of an endpoint: its frames (one per table) and ledger days."""

    account_id: str
    begin: date
    end: date
    frames: Mapping[str, pd.DataFrame]
    ledger: Sequence[LedgerDay] | None = None


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
    load = WindowLoad(account_id, begin, end, frames, ledger)
    return load_windows(engine, endpoint, [load], run_id)[0]


def load_windows(
    engine: sa.Engine, endpoint: Endpoint, loads: Sequence[WindowLoad], run_id: str | None
) -> list[dict[str, int]]:
    """Several windows of `endpoint` (of different accounts, say) replaced as `load_window`
    replaces one, all in one transaction: all or none. Returns the rows per table of each."""
    expected = sorted(t.name for t in endpoint.tables)
    checked: list[dict[str, pd.DataFrame]] = []
    for load in loads:
        if load.begin > load.end:
            raise FrameMismatchError(f"empty window {load.begin}..{load.end}")
        if sorted(load.frames) != expected:
            raise FrameMismatchError(
                f"{endpoint.name} loads tables {expected}, got frames for {sorted(load.frames)}"
            )
        checked.append(
            {
                t.name: _checked(t, load.frames[t.name], load.account_id, load.begin, load.end)
                for t in endpoint.tables
            }
        )
    with engine.connect() as conn, conn.begin():
        # In one order, so that two runs loading overlapping accounts wait rather than deadlock.
        for key in sorted({lock_key(endpoint, load.account_id) for load in loads}):
            conn.execute(_LOCK, {"key": key})
        raw = driver_connection(conn)
        with raw.cursor() as cur:
            for load, frames in zip(loads, checked, strict=True):
                _replace(cur, endpoint, load, frames, run_id)
    return [{name: len(frame) for name, frame in frames.items()} for frames in checked]


def _replace(
    cur: Cursor[object],
    endpoint: Endpoint,
    load: WindowLoad,
    frames: Mapping[str, pd.DataFrame],
    run_id: str | None,
) -> None:
    """DELETE one window from every table of `endpoint`, COPY its rows, write its ledger days."""
    for table in endpoint.tables:
        cur.execute(
            sql.SQL("DELETE FROM {}.{} WHERE {} = %s AND ref_date BETWEEN %s AND %s").format(
                sql.Identifier(FACT_SCHEMA),
                sql.Identifier(table.name),
                sql.Identifier(ACCOUNT_ID),
            ),
            (load.account_id, load.begin, load.end),
        )
        frame = frames[table.name]
        if not len(frame):
            continue
        data = copy_data(table, frame, load.account_id, run_id)
        with cur.copy(data.statement) as copy:
            for chunk in data.chunks:
                copy.write(chunk)
    if load.ledger is not None:
        main = frames[endpoint.table.name]
        write_ledger(
            cur, endpoint, load.account_id, load.begin, load.end, load.ledger, main, run_id
        )


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
