"""Idempotent loads: replace one account's rows of a date window, all tables of an endpoint at once.

One transaction per (endpoint, account, window), or per several accounts' windows of one
endpoint (``load_windows``): take an advisory lock on each (endpoint, account), DELETE the
window from every table of the endpoint (main and child tables), COPY the new rows, replace the
window's days in the coverage ledger, commit. Each window's old and new rows are
fingerprinted (a sum of row hashes over the data columns, in the same transaction), so the
caller learns whether the load changed anything: a late-data refresh that WeChat did not
restate need not rebuild the marts. Loading the same window twice leaves what loading it once
does; two loads of the same endpoint and account wait for each other, so
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
#: A window's rows as (count, sum of row hashes) over its data columns: order-free, and the
#: same for the same rows whatever run loaded them (``_loaded_at`` and ``_run_id`` left out).
_FINGERPRINT = "count(*), coalesce(sum(hashtextextended(w::text, 0)), 0)"
_WINDOW = "{account} = %s AND ref_date BETWEEN %s AND %s"
#: Delete one account's window of a table, fingerprinting what it held.
_DELETE_WINDOW = sql.SQL(
    f"WITH w AS (DELETE FROM {{table}} WHERE {_WINDOW} RETURNING {{fields}}) "
    f"SELECT {_FINGERPRINT} FROM w"
)
#: The fingerprint of the window's rows now.
_WINDOW_FINGERPRINT = sql.SQL(
    f"SELECT {_FINGERPRINT} FROM (SELECT {{fields}} FROM {{table}} WHERE {_WINDOW}) AS w"
)


class FrameMismatchError(ValueError):
    """The frames handed to the loader do not fit the endpoint, account or window (a bug)."""


def lock_key(endpoint: Endpoint, account_id: str) -> str:
    """The advisory-lock name serialising loads of one endpoint's tables for one account."""
    return f"wx:load:{endpoint.name}:{account_id}"


@dataclass(frozen=True)
class Loaded:
    """What loading one window did: rows per table, the rows they replaced (deleted) per
    table, and whether they differ from those (new days, or days the API restated)."""

    rows: dict[str, int]
    changed: bool
    replaced: dict[str, int]


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
) -> Loaded:
    """Replace `account_id`'s rows with ref_date in [begin, end] in every table of `endpoint`.

    `frames` holds one frame per table of the endpoint (normalized: `account_id` + registry
    columns); every row must belong to `account_id` and lie in the window. `ledger` (the days
    the frames' answers cover) replaces the window's days in the coverage ledger in the same
    transaction; None leaves the ledger alone. Returns the rows loaded per table and whether
    they changed the window.
    """
    load = WindowLoad(account_id, begin, end, frames, ledger)
    return load_windows(engine, endpoint, [load], run_id)[0]


def load_windows(
    engine: sa.Engine, endpoint: Endpoint, loads: Sequence[WindowLoad], run_id: str | None
) -> list[Loaded]:
    """Several windows of `endpoint` (of different accounts, say) replaced as `load_window`
    replaces one, all in one transaction: all or none. Returns what each load did."""
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
            done = [
                _replace(cur, endpoint, load, frames, run_id)
                for load, frames in zip(loads, checked, strict=True)
            ]
    return [
        Loaded({name: len(frame) for name, frame in frames.items()}, changed, replaced)
        for frames, (changed, replaced) in zip(checked, done, strict=True)
    ]


def _replace(
    cur: Cursor[object],
    endpoint: Endpoint,
    load: WindowLoad,
    frames: Mapping[str, pd.DataFrame],
    run_id: str | None,
) -> tuple[bool, dict[str, int]]:
    """DELETE one window from every table of `endpoint`, COPY its rows, write its ledger days;
    whether any table's rows differ from before, and the rows deleted per table."""
    changed = False
    replaced: dict[str, int] = {}
    window = (load.account_id, load.begin, load.end)
    for table in endpoint.tables:
        parts = {
            "table": sql.Identifier(FACT_SCHEMA, table.name),
            "account": sql.Identifier(ACCOUNT_ID),
            "fields": sql.SQL(", ").join(
                map(sql.Identifier, [ACCOUNT_ID, *(c.name for c in table.columns)])
            ),
        }
        before = _fingerprint(cur, _DELETE_WINDOW.format(**parts), window)
        replaced[table.name] = before[0]
        frame = frames[table.name]
        if len(frame):
            data = copy_data(table, frame, load.account_id, run_id)
            with cur.copy(data.statement) as copy:
                for chunk in data.chunks:
                    copy.write(chunk)
        # Only as many rows as before can be the same rows: then read them back (a backfill
        # into empty days never does).
        if changed or before[0] != len(frame):
            changed = True
        elif len(frame):
            changed = _fingerprint(cur, _WINDOW_FINGERPRINT.format(**parts), window) != before
    if load.ledger is not None:
        main = frames[endpoint.table.name]
        write_ledger(
            cur, endpoint, load.account_id, load.begin, load.end, load.ledger, main, run_id
        )
    return changed, replaced


def _fingerprint(
    cur: Cursor[object], query: sql.Composed, window: tuple[str, date, date]
) -> tuple[int, int]:
    row = cur.execute(query, window).fetchone()
    assert isinstance(row, tuple)
    return int(row[0]), int(row[1])


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
