"""A normalized frame as a binary COPY statement and its data, built in vectorised chunks.

Every frame travels in PostgreSQL's binary COPY row layout, so the server parses nothing and
Python touches each column once per chunk, not each value. A row is its field count, then per
field a byte length (-1 for NULL) and the value. Numbers and dates are fixed-width; text is not,
but rows whose text fields (and NULLs) have the same byte lengths share one layout: each such
group is a numpy structured array (text as `S<width>`), filled column by column and written out
with `tobytes()`. WeChat's text columns take few lengths (message ids, a handful of read
sources, titles by the dozen), so a chunk of 50,000 rows is a few dozen groups. Row order
within a COPY carries no meaning (the tables are keyed by their columns), so groups go one
after another.

`account_id` and `_run_id` are constant within a load: the loader passes them, not the frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from psycopg import sql

from wx_pipeline.registry import Column, SqlType, Table
from wx_pipeline.warehouse.schema import ACCOUNT_ID, FACT_SCHEMA, RUN_ID

#: Rows per chunk: big enough to amortise the per-chunk work, small enough to bound memory (a
#: chunk of the widest table, article_total, is ~25 MB).
CHUNK_ROWS: Final = 50_000

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
_NULL: Final = -1  # a field's length when it is NULL


@dataclass(frozen=True)
class CopyData:
    """What to send: the COPY statement and the data chunks that follow it."""

    statement: sql.Composed
    chunks: Iterator[bytes]


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
    statement = sql.SQL("{} (FORMAT binary)").format(target)
    return CopyData(statement, _binary_chunks(table, frame, account_id, run_id, chunk_rows))


@dataclass(frozen=True)
class _Field:
    """One column of a chunk, ready to be laid out: fixed-width values (``dtype``), or text as
    its distinct values' UTF-8 bytes, one array per byte length (``texts``), and each row's
    index into the array of its length (``values``). ``widths`` is each row's byte length (-1:
    NULL), or None when every row has ``dtype``'s."""

    dtype: str | None  # None: text
    values: np.ndarray[Any, Any]
    widths: np.ndarray[Any, Any] | None
    texts: dict[int, np.ndarray[Any, Any]] | None = None  # width -> `S<width>` values


def _field(col: Column, series: pd.Series, nullable: bool) -> _Field:
    if col.type == "text":
        codes, distinct = pd.factorize(series)  # NA -> -1
        encoded = [str(v).encode() for v in distinct]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        texts, index = {}, np.zeros(len(encoded) + 1, dtype=np.int64)  # the last: NULL's
        for width in np.unique(lengths).tolist():
            same = np.flatnonzero(lengths == width)
            texts[width] = np.array([encoded[i] for i in same], dtype=f"S{max(width, 1)}")
            index[same] = np.arange(len(same))
        widths = np.append(lengths, _NULL)[codes]  # code -1 (NA) takes the last entry
        return _Field(None, index[codes], widths, texts)
    dtype = _FIXED[col.type]
    if col.type == "date":
        days = series.to_numpy().astype("datetime64[D]") - _PG_EPOCH
        return _Field(dtype, days.astype(np.int32), None)
    native = np.dtype(dtype).newbyteorder("=")
    null = series.isna().to_numpy() if nullable else None
    if null is None or not null.any():
        return _Field(dtype, series.to_numpy(dtype=native), None)
    values = series.to_numpy(dtype=native, na_value=0)
    return _Field(dtype, values, np.where(null, _NULL, native.itemsize))


def _groups(fields: Sequence[_Field], rows: int) -> Iterator[tuple[Any, list[int]]]:
    """The chunk's rows grouped by their varying fields' widths: (row selection, widths)."""
    varying = [f.widths for f in fields if f.widths is not None]
    if not varying:
        yield slice(None), []
        return
    group = np.zeros(rows, dtype=np.int64)
    for widths in varying:  # one id per distinct combination, kept small by re-factorizing
        codes, distinct = pd.factorize(widths)
        group, _ = pd.factorize(group * len(distinct) + codes)
    count = int(group.max()) + 1
    first = np.unique(group, return_index=True)[1]
    # numpy sorts 16-bit integers by radix (linear); a chunk rarely has 2**15 layouts.
    order = np.argsort(group.astype(np.int16) if count < 2**15 else group, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=count))])
    combos = np.stack(varying, axis=1)[first].tolist()
    for g in range(count):
        yield order[bounds[g] : bounds[g + 1]], combos[g]


def _binary_chunks(
    table: Table, frame: pd.DataFrame, account_id: str, run_id: str | None, chunk_rows: int
) -> Iterator[bytes]:
    yield _BINARY_HEADER
    for start in range(0, len(frame), chunk_rows):
        yield from _encode(table, frame.iloc[start : start + chunk_rows], account_id, run_id)
    yield _BINARY_TRAILER


def _encode(
    table: Table, frame: pd.DataFrame, account_id: str, run_id: str | None
) -> Iterator[bytes]:
    """One chunk of rows in the binary layout, a group at a time (see the module docstring)."""
    keys = table.key_fields
    fields = [_field(col, frame[col.name], col.api_field not in keys) for col in table.columns]
    # account_id and _run_id: the same bytes on every row, written in with the lengths.
    lead: list[tuple[str, Any, int | bytes]] = [
        ("n", ">i2", 1 + len(fields) + (run_id is not None)),
        *_constant("account", account_id.encode()),
    ]
    tail = _constant("run", run_id.encode()) if run_id is not None else []
    for rows, widths in _groups(fields, len(frame)):
        layout = [(name, dtype) for name, dtype, _ in lead]
        fill: dict[str, Any] = {name: value for name, _, value in lead}
        varying = iter(widths)
        for i, f in enumerate(fields):
            width = next(varying) if f.widths is not None else np.dtype(f.dtype).itemsize
            layout.append((f"len{i}", ">i4"))
            fill[f"len{i}"] = width
            if width <= 0:  # NULL or empty text: the length says it all
                continue
            if f.texts is None:
                layout.append((f"val{i}", f.dtype))
                fill[f"val{i}"] = f.values[rows]
            else:
                layout.append((f"val{i}", f"S{width}"))
                fill[f"val{i}"] = f.texts[width][f.values[rows]]
        layout += [(name, dtype) for name, dtype, _ in tail]
        fill.update({name: value for name, _, value in tail})
        block = np.empty(len(frame) if isinstance(rows, slice) else len(rows), dtype=layout)
        for name, value in fill.items():
            block[name] = value
        yield block.tobytes()


def _constant(name: str, value: bytes) -> list[tuple[str, Any, int | bytes]]:
    """A field that is the same on every row: its length and (unless empty) its bytes."""
    parts: list[tuple[str, Any, int | bytes]] = [(f"{name}_len", ">i4", len(value))]
    if value:
        parts.append((name, f"S{len(value)}", value))
    return parts
