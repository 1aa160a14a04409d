"""Validate and convert one column's raw JSON values into a typed array, vectorised.

Each converter takes the values of one field across many objects (None where the field is
missing or null) and returns an array of the frame dtype, or raises `BadValue` naming the
position of the first invalid value. Type checks run over `set(map(type, values))` and the
numeric checks in numpy, so a column of 200k values costs milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from wx_pipeline.registry import Column, SqlType, Transform
from wx_pipeline.warehouse.normalize.dtypes import DATE_DTYPE, TEXT_DTYPE

_NONE: Final = type(None)
_INT_RANGES: Final[dict[SqlType, tuple[int, int]]] = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    # Every bigint of the registry is a count or an amount: never negative.
    "bigint": (0, 2**63 - 1),
}
_INT_DTYPES: Final[dict[SqlType, type[np.integer[Any]]]] = {
    "smallint": np.int16,
    "integer": np.int32,
    "bigint": np.int64,
}
_MSGID: Final = re.compile(r"(\d+)_(\d+)")

# A converted column: a numpy array or a pandas extension array (nullable ints, strings).
Array = NDArray[Any] | pd.api.extensions.ExtensionArray


class BadValue(Exception):
    """The value at `index` of a column is invalid; `reason` says why."""

    def __init__(self, index: int, value: object, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.value = value
        self.reason = reason


def _first(invalid: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(np.asarray(invalid))[0])


def _require_types(values: Sequence[Any], allowed: frozenset[type], expected: str) -> set[type]:
    types = set(map(type, values))
    if types <= allowed:
        return types
    for i, v in enumerate(values):
        if type(v) not in allowed:
            raise BadValue(i, v, "missing or null" if v is None else f"not {expected}")
    raise AssertionError("unreachable")  # pragma: no cover


def integers(values: Sequence[Any], sql_type: SqlType, *, optional: bool = False) -> Array:
    """JSON integers (bools and floats rejected) within the SQL type's range; with `optional`,
    None where missing: a nullable array then (numpy's when nothing is missing)."""
    lo, hi = _INT_RANGES[sql_type]
    allowed: frozenset[type] = frozenset({int, _NONE}) if optional else frozenset({int})
    try:
        types = _require_types(values, allowed, "an integer")
    except BadValue as wrong:
        # orjson reads an integer beyond 64 bits as a float: say what is wrong with it.
        if isinstance(wrong.value, float) and abs(wrong.value) >= 2**63:
            raise BadValue(wrong.index, wrong.value, f"out of range for {sql_type}") from None
        raise
    nulls = None
    if _NONE in types:
        nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        values = [0 if v is None else v for v in values]
    try:
        wide = np.array(values, dtype=np.int64)
    except OverflowError:
        for i, v in enumerate(values):
            if not lo <= v <= hi:
                raise BadValue(i, v, f"out of range for {sql_type}") from None
        raise
    bad = (wide < lo) | (wide > hi)
    if bad.any():
        i = _first(bad)
        reason = "negative counter" if sql_type == "bigint" and wide[i] < 0 else "out of range"
        raise BadValue(i, values[i], f"{reason} for {sql_type}")
    narrow = wide.astype(_INT_DTYPES[sql_type], copy=False)
    if nulls is not None:
        return pd.arrays.IntegerArray(narrow, nulls)
    return narrow


def floats(values: Sequence[Any], *, optional: bool = False) -> Array:
    """JSON numbers (integers allowed: the API sends 0 for 0.0); NaN where optional and absent."""
    allowed: frozenset[type] = frozenset({int, float, _NONE} if optional else {int, float})
    _require_types(values, allowed, "a number")
    # Finite: orjson refuses NaN, Infinity and numbers beyond a double (RawResponse.body).
    return np.array(values, dtype=np.float64)


def dates(values: Sequence[Any]) -> Array:
    """`YYYY-MM-DD` strings of real calendar days."""
    _require_types(values, frozenset({str}), "a YYYY-MM-DD string")
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    parsed = pd.to_datetime(pd.Index(values, dtype=object), format="%Y-%m-%d", errors="coerce")
    bad = (lengths != 10) | np.asarray(parsed.isna())
    if bad.any():
        i = _first(bad)
        raise BadValue(i, values[i], "not a YYYY-MM-DD date")
    return np.asarray(parsed.as_unit("us").to_numpy(), dtype=DATE_DTYPE)


def hours(values: Sequence[Any]) -> Array:
    """HHMM hours 0, 100, ..., 2300 -> 0..23."""
    _require_types(values, frozenset({int}), "an integer")
    try:
        hhmm = np.array(values, dtype=np.int64)
    except OverflowError:
        hhmm = np.array([v if -1 <= v <= 9999 else -1 for v in values], dtype=np.int64)
    bad = (hhmm < 0) | (hhmm > 2300) | (hhmm % 100 != 0)
    if bad.any():
        i = _first(bad)
        raise BadValue(i, values[i], "not an HHMM hour 0, 100, ..., 2300")
    return (hhmm // 100).astype(np.int16)


def texts(values: Sequence[Any], *, optional: bool = False) -> Array:
    """JSON strings, kept exactly as sent."""
    allowed: frozenset[type] = frozenset({str, _NONE} if optional else {str})
    _require_types(values, allowed, "a string")
    return pd.array(np.array(values, dtype=object), dtype=TEXT_DTYPE)


def msgid_parts(values: Sequence[Any]) -> tuple[Array, Array, Array]:
    """msgid as sent, and its split: `"12003_3"` -> ("12003_3", 12003, 3)."""
    text = texts(values)
    data_ids = np.empty(len(values), dtype=np.int64)
    indexes = np.empty(len(values), dtype=np.int16)
    for i, value in enumerate(values):
        match = _MSGID.fullmatch(value)
        if match is None:
            raise BadValue(i, value, 'not "<message id>_<article index>"')
        data_id, index = int(match[1]), int(match[2])
        if data_id >= 2**63 or index >= 2**15:
            raise BadValue(i, value, "msgid part out of range")
        data_ids[i] = data_id
        indexes[i] = index
    return text, data_ids, indexes


def convert(col: Column, values: Sequence[Any], *, nullable: bool | None = None) -> Array:
    """The typed array of registry column `col` from its field's raw values; None (missing)
    is allowed where `nullable` (default: the column is registry-optional)."""
    optional = col.optional if nullable is None else nullable
    if col.transform is Transform.HHMM_TO_HOUR:
        return hours(values)
    if col.transform in (Transform.MSGID_DATA_ID, Transform.MSGID_INDEX):
        _, data_ids, indexes = msgid_parts(values)
        return data_ids if col.transform is Transform.MSGID_DATA_ID else indexes
    if col.name == "msgid":
        return msgid_parts(values)[0]
    if col.type == "date":
        return dates(values)
    if col.type == "text":
        return texts(values, optional=optional)
    if col.type == "double precision":
        return floats(values, optional=optional)
    return integers(values, col.type, optional=optional)
