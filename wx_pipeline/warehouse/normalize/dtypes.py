"""The pandas dtypes of normalized frames, one per SQL type.

Chosen for a fast, exact COPY: numpy integers of the column's width and float64 load without
conversion; dates are `datetime64[us]` at midnight (pandas' default resolution, so frames built
elsewhere with `pd.to_datetime` match); text is pandas' `str` dtype. Registry-optional columns
use the nullable dtypes (`Int64` ...) so a missing value is NA, loaded as NULL; so does any other
non-key column in a frame where an answer left it out (`nullable_dtype`).
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from wx_pipeline.registry import Column, Endpoint, SqlType, Table
from wx_pipeline.warehouse.schema import ACCOUNT_ID

DATE_DTYPE: Final = "datetime64[us]"
TEXT_DTYPE: Final = "str"

_DTYPES: Final[dict[SqlType, str]] = {
    "date": DATE_DTYPE,
    "smallint": "int16",
    "integer": "int32",
    "bigint": "int64",
    "double precision": "float64",
    "text": TEXT_DTYPE,
}
_NULLABLE: Final[dict[SqlType, str]] = {
    **_DTYPES,
    "smallint": "Int16",
    "integer": "Int32",
    "bigint": "Int64",
}


def column_dtype(col: Column) -> str:
    """The dtype of `col` in a normalized frame."""
    return (_NULLABLE if col.optional else _DTYPES)[col.type]


def nullable_dtype(col: Column) -> str:
    """The dtype of `col` where values are missing (NA)."""
    return _NULLABLE[col.type]


def frame_dtypes(table: Table) -> dict[str, str]:
    """Column -> dtype of a normalized frame of `table`, in column order (account_id first)."""
    return {ACCOUNT_ID: TEXT_DTYPE, **{c.name: column_dtype(c) for c in table.columns}}


def empty_frame(table: Table) -> pd.DataFrame:
    """A frame of `table` with no rows and the exact columns and dtypes."""
    return pd.DataFrame(
        {name: pd.Series(dtype=dtype) for name, dtype in frame_dtypes(table).items()}
    )


def empty_frames(endpoint: Endpoint) -> dict[str, pd.DataFrame]:
    """An empty frame per table of `endpoint` (main table first)."""
    return {t.name: empty_frame(t) for t in endpoint.tables}
