"""A normalized frame as a COPY statement and its data, serialised in large vectorised chunks.

Two encodings, chosen per frame:

* binary, for the frames that are all fixed-width (dates and numbers, no NULL): each chunk is
  one numpy structured array in PostgreSQL's binary COPY row layout, so a million rows cost
  tens of milliseconds of Python and the server parses nothing. The big tables (hourly reads,
  followers, messages, callbacks) take this path.
* CSV, for frames with text or NULLs (the article tables, which are small): pandas `to_csv`
  with non-numeric values quoted, so an empty string stays '' while an unquoted empty field is
  NULL (FORCE_NULL on the nullable columns turns their quoted empties into NULL).

`account_id` and `_run_id` are constant within a load: the loader passes them, not the frame.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from psycopg import sql

from wx_pipeline.warehouse.schema import ACCOUNT_ID, FACT_SCHEMA, RUN_ID
from wx_pipeline.wechat.endpoints import SqlType, Table

#: Rows per chunk handed to COPY: big enough to amortise per-call overhead, small enough to
#: bound memory (a chunk of the widest binary table is ~20 MB).
CHUNK_ROWS: Final = 200_000

_BINARY_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_BINARY_TRAILER: Final = b"\xff\xff"
_PG_EPOCH: Final = np.datetime64("2000-01-01", "D")
_FIXED: Final[dict[SqlType, str]] = {
    "date": ">i4",
    "smallint": ">i2",
    "integer": ">i4",
    "bigint": ">i8",
    "double precision": ">f8",
}


@dataclass(frozen=True)
class CopyData:
    """What to send: the COPY statement and the data chunks that follow it."""

    statement: sql.Composed
    chunks: Iterator[bytes]
    binary: bool


def copy_data(
    table: Table,
    frame: pd.DataFrame,
    account_id: str,
    run_id: str | None,
    chunk_rows: int = CHUNK_ROWS,
    *,
    into: str | None = None,
) -> CopyData:
    """The COPY of `frame` (rows of `table` for one account) into `wechat.<table>` (or
    `wechat.<into>`, a table of the same shape)."""
    names = [c.name for c in table.columns]
    columns = [ACCOUNT_ID, *names] + ([RUN_ID] if run_id is not None else [])
    target = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
        sql.Identifier(FACT_SCHEMA),
        sql.Identifier(into or table.name),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
    )
    if _fixed_width(table, frame):
        statement = sql.SQL("{} (FORMAT binary)").format(target)
        chunks = _binary_chunks(table, frame, account_id, run_id, chunk_rows)
        return CopyData(statement, chunks, binary=True)
    nullable = [c.name for c in table.columns if c.optional]
    options: sql.Composable = sql.SQL("FORMAT csv")
    if nullable:
        options = sql.SQL("FORMAT csv, FORCE_NULL ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, nullable))
        )
    statement = sql.SQL("{} ({})").format(target, options)
    return CopyData(statement, _csv_chunks(table, frame, run_id, chunk_rows), binary=False)


def _fixed_width(table: Table, frame: pd.DataFrame) -> bool:
    if any(c.type not in _FIXED for c in table.columns):
        return False
    optional = [c.name for c in table.columns if c.optional]
    return not (optional and bool(frame[optional].isna().to_numpy().any()))


def _binary_chunks(
    table: Table, frame: pd.DataFrame, account_id: str, run_id: str | None, chunk_rows: int
) -> Iterator[bytes]:
    # One row = field count, then (length, value) per field, big-endian. account_id and
    # _run_id are the same on every row: with the lengths they are written once into a reused
    # buffer, and each chunk only fills in the value columns.
    account = account_id.encode()
    run = run_id.encode() if run_id is not None else None
    constants: dict[str, object] = {"n": 1 + len(table.columns) + (run is not None)}
    fields: list[tuple[str, str]] = [("n", ">i2"), ("account_len", ">i4")]
    constants["account_len"] = len(account)
    if account:
        fields.append(("account", f"S{len(account)}"))
        constants["account"] = account
    values: dict[str, np.ndarray[Any, Any]] = {}
    for i, col in enumerate(table.columns):
        fields += [(f"len{i}", ">i4"), (f"val{i}", _FIXED[col.type])]
        constants[f"len{i}"] = np.dtype(_FIXED[col.type]).itemsize
        series = frame[col.name]
        if col.type == "date":
            days = series.to_numpy().astype("datetime64[D]") - _PG_EPOCH
            values[f"val{i}"] = days.astype(np.int32)
        else:
            values[f"val{i}"] = series.to_numpy(dtype=np.dtype(_FIXED[col.type]).newbyteorder("="))
    if run is not None:
        fields.append(("run_len", ">i4"))
        constants["run_len"] = len(run)
        if run:
            fields.append(("run", f"S{len(run)}"))
            constants["run"] = run
    buffer = np.empty(min(chunk_rows, len(frame)), dtype=np.dtype(fields))
    for name, value in constants.items():
        buffer[name] = value
    yield _BINARY_HEADER
    for start in range(0, len(frame), chunk_rows):
        rows = buffer[: min(chunk_rows, len(frame) - start)]
        for name, column in values.items():
            rows[name] = column[start : start + len(rows)]
        yield rows.tobytes()
    yield _BINARY_TRAILER


def _csv_chunks(
    table: Table, frame: pd.DataFrame, run_id: str | None, chunk_rows: int
) -> Iterator[bytes]:
    columns = [ACCOUNT_ID, *(c.name for c in table.columns)]
    out = frame[columns]
    if run_id is not None:
        out = out.assign(**{RUN_ID: run_id})
    for start in range(0, len(out), chunk_rows):
        text = out.iloc[start : start + chunk_rows].to_csv(
            header=False,
            index=False,
            quoting=csv.QUOTE_NONNUMERIC,
            lineterminator="\n",
            date_format="%Y-%m-%d",
        )
        yield text.encode()
