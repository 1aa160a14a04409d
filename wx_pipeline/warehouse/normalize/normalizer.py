"""Raw API responses -> one DataFrame per fact table, driven by the endpoint registry.

Pure: no I/O, no clock. A response is read in up to three levels: the `list` items, the nested
entries (`detail` / `details[]` / `detail_list[]`) and, for child tables, the elements of an
array inside the entry (`read_user_source[]`, `read_jump_position[]`). Each field is validated and
converted once per level over all responses at once (see `values.py`), then spread onto the
table rows by index arrays, so a year of one account (~3,000 responses, ~200k rows) takes a
fraction of a second.

Rules (the README's "Real answers"): a real answer never stalls an account. Underscore-less
spellings (`intpagefromsessionreaduser`) are read as their canonical field; fields the registry
does not know stay in the archive; a non-key field absent or null loads as NULL; values outside
a code list are kept. Those three are recorded as drift (`drift.py`: per endpoint and field, with
the first archive row), except registry-optional fields, which are documented as sometimes
absent. A key field an older answer lacks reads as the registry's `absent_as`. What cannot be
stored truthfully - an error body, no `list`, a key field missing or invalid, a value of the
wrong type, a date outside the request, a duplicate key - raises one `InvalidPayloadError` and
nothing is returned. A missing or null child array (`read_user_source`) yields no child rows; a
missing `details`/`detail` is an error. Entries of a cumulative tail (`stat_date`) after the
response's `final_through` were not final when fetched: they are left out (and counted), so a
partial day is never loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import chain
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd
from numpy.typing import NDArray

from wx_pipeline import registry
from wx_pipeline.registry import Endpoint, Level, Nesting, Period, Table
from wx_pipeline.warehouse.normalize.codes import code_list
from wx_pipeline.warehouse.normalize.drift import Drift, DriftKind
from wx_pipeline.warehouse.normalize.dtypes import (
    TEXT_DTYPE,
    empty_frame,
    frame_dtypes,
    nullable_dtype,
)
from wx_pipeline.warehouse.normalize.errors import InvalidPayloadError
from wx_pipeline.warehouse.normalize.values import Array, BadValue, convert
from wx_pipeline.warehouse.schema import ACCOUNT_ID
from wx_pipeline.wechat.raw import RawResponse

Index = NDArray[np.int64]
_TOP_LEVEL: Final = frozenset({"list"})


@dataclass
class Normalized:
    """Normalized rows and what was noticed on the way.

    `frames`: table name -> rows (`account_id` + the registry columns, in registry order, dtypes
    from `dtypes.py`), one frame per table of every endpoint seen (possibly empty).
    `drift`: fields the registry does not know, non-key fields left out (NULL in the rows) and
    codes outside a code list (rows kept), each with how often and the first archive row.
    """

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    drift: Drift = field(default_factory=Drift)
    #: Cumulative-tail entries left out because their stat_date was not final when fetched.
    not_final: int = 0

    @property
    def rows(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.frames.items()}

    def frames_for(self, endpoint: Endpoint, account_id: str) -> dict[str, pd.DataFrame]:
        """The frames of `endpoint`'s tables restricted to one account (empty where none)."""
        out: dict[str, pd.DataFrame] = {}
        for table in endpoint.tables:
            frame = self.frames.get(table.name)
            if frame is None or not len(frame):
                out[table.name] = empty_frame(table)
                continue
            mine = frame[ACCOUNT_ID] == account_id
            # A streamed chunk holds one account: no copy then.
            out[table.name] = frame if mine.all() else frame[mine].reset_index(drop=True)
        return out


@dataclass(frozen=True)
class _Spec:
    """What normalizing one endpoint needs, derived once from its registry entry."""

    known: frozenset[str]
    aliases: dict[str, str]  # underscore-less spelling -> canonical field name
    top_level: frozenset[str]


@cache
def _spec(endpoint: Endpoint) -> _Spec:
    known = endpoint.api_fields
    aliases = {name.replace("_", ""): name for name in known if "_" in name}
    top = _TOP_LEVEL | ({"is_delay"} if endpoint.has_is_delay else set())
    for table in endpoint.tables:
        ref = table.column("ref_date")  # the loader's window column: every table has one
        if ref.level is not Level.ITEM or ref.type != "date":
            raise AssertionError(f"{table.name}.ref_date must be an item-level date")
    return _Spec(known, aliases, frozenset(top))


@dataclass
class _Layer:
    """The objects at one level of nesting, across all responses."""

    path: str  # prefix of field paths at this level, relative to a list item
    objs: list[Any]  # dicts once require_objects has passed
    resp: Index  # response of each object
    parent: Index | None  # index of each object's parent in the level above
    cache: dict[str, Array] = field(default_factory=dict)


class _Run:
    """Normalizing the responses of one endpoint."""

    def __init__(
        self,
        endpoint: Endpoint,
        responses: Sequence[RawResponse],
        archive_ids: Sequence[int | None],
        out: Normalized,
    ) -> None:
        self.endpoint = endpoint
        self.spec = _spec(endpoint)
        self.responses = responses
        self.archive_ids = archive_ids
        self.out = out

    def error(self, resp: int, field_path: str, value: object, reason: str) -> InvalidPayloadError:
        r = self.responses[resp]
        return InvalidPayloadError(
            endpoint=self.endpoint.name,
            account_id=r.account_id,
            field=field_path,
            value=value,
            reason=reason,
            archive_id=self.archive_ids[resp],
            window=(r.begin, r.end),
        )

    def note(self, kind: DriftKind, what: str, count: int, resp: int) -> None:
        """Record drift seen `count` times, first in response `resp`."""
        self.out.drift.add(kind, self.endpoint.name, what, count, self.archive_ids[resp])

    # --- levels ------------------------------------------------------------------------------

    def items(self) -> _Layer:
        lists: list[list[Any]] = []
        for i, response in enumerate(self.responses):
            try:
                body: Any = response.body
            except orjson.JSONDecodeError as exc:
                preview = response.content[:80].decode(errors="replace")
                raise self.error(i, "$", preview, f"not JSON ({exc})") from None
            if not isinstance(body, dict):
                raise self.error(i, "$", body, "the body is not a JSON object")
            if "errcode" in body:
                reason = f"an error answer, not data ({body.get('errmsg', 'no errmsg')})"
                raise self.error(i, "$.errcode", body["errcode"], reason)
            items = body.get("list")
            if not isinstance(items, list):
                raise self.error(i, "$.list", items, "missing or not an array")
            for key in sorted(body.keys() - self.spec.top_level):
                self.note(DriftKind.UNKNOWN_FIELD, f"$.{key}", 1, i)
            lists.append(items)
        counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        resp = np.repeat(np.arange(len(lists), dtype=np.int64), counts)
        layer = _Layer("", list(chain.from_iterable(lists)), resp, None)
        self.require_objects(layer, "list[]")
        self.canonicalize(layer)
        return layer

    def nested(self, items: _Layer) -> _Layer | None:
        name = self.endpoint.nested_field
        if name is None:
            return None
        values = [item.get(name) for item in items.objs]
        if self.endpoint.nesting is Nesting.DETAIL:
            layer = _Layer(f"{name}.", values, items.resp, np.arange(len(values), dtype=np.int64))
            self.require_objects(layer, name, parents=items)
        else:
            layer = self.expand(items, values, name, lenient=False)
        self.canonicalize(layer)
        if self.endpoint.cumulative:
            layer = self.without_unfinal(layer)
        return layer

    def without_unfinal(self, layer: _Layer) -> _Layer:
        """`layer` without the tail entries whose stat_date was after the response's newest
        final day; an unreadable stat_date stays, so validation reports it."""
        finals = [r.final_through for r in self.responses]
        if not any(finals):
            return layer

        def final(obj: dict[str, Any], resp: int) -> bool:
            last, text = finals[resp], obj.get("stat_date")
            if last is None or not isinstance(text, str):
                return True
            try:
                return date.fromisoformat(text) <= last
            except ValueError:
                return True

        keep = np.fromiter(
            (final(obj, int(r)) for obj, r in zip(layer.objs, layer.resp, strict=True)),
            dtype=bool,
            count=len(layer.objs),
        )
        if keep.all():
            return layer
        self.out.not_final += int((~keep).sum())
        assert layer.parent is not None
        return _Layer(
            layer.path,
            [obj for obj, k in zip(layer.objs, keep, strict=True) if k],
            layer.resp[keep],
            layer.parent[keep],
        )

    def elements(self, nested: _Layer, table: Table) -> _Layer:
        assert table.array_field is not None
        values = [obj.get(table.array_field) for obj in nested.objs]
        layer = self.expand(nested, values, table.array_field, lenient=True)
        self.canonicalize(layer)
        return layer

    def expand(self, parents: _Layer, arrays: list[Any], name: str, *, lenient: bool) -> _Layer:
        """One object per element of each parent's array `name`."""
        if lenient:
            arrays = [[] if a is None else a for a in arrays]
        types = set(map(type, arrays))
        if not types <= {list}:
            i = next(i for i, a in enumerate(arrays) if type(a) is not list)
            path = parents.path + name
            raise self.error(int(parents.resp[i]), path, arrays[i], "missing or not an array")
        counts = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        parent = np.repeat(np.arange(len(arrays), dtype=np.int64), counts)
        objs = list(chain.from_iterable(arrays))
        layer = _Layer(f"{parents.path}{name}[].", objs, parents.resp[parent], parent)
        self.require_objects(layer, f"{parents.path}{name}[]")
        return layer

    def require_objects(self, layer: _Layer, path: str, parents: _Layer | None = None) -> None:
        if set(map(type, layer.objs)) <= {dict}:
            return
        i = next(i for i, o in enumerate(layer.objs) if type(o) is not dict)
        reason = "missing or not an object" if parents is not None else "not an object"
        raise self.error(int(layer.resp[i]), path, layer.objs[i], reason)

    def canonicalize(self, layer: _Layer) -> None:
        """Map underscore-less spellings to canonical names; count unknown fields as drift."""
        keys: set[str] = set().union(*layer.objs) if layer.objs else set()
        unknown = keys - self.spec.known
        if not unknown:
            return
        aliased = {k for k in unknown if k in self.spec.aliases}
        for key in sorted(unknown - aliased):
            carriers = [i for i, obj in enumerate(layer.objs) if key in obj]
            first = int(layer.resp[carriers[0]])
            self.note(DriftKind.UNKNOWN_FIELD, layer.path + key, len(carriers), first)
        if aliased:
            aliases = self.spec.aliases
            layer.objs = [
                obj
                if obj.keys().isdisjoint(aliased)
                # The canonical spelling wins if an object carries both.
                else {
                    k if aliases.get(k, k) in obj else aliases.get(k, k): v for k, v in obj.items()
                }
                for obj in layer.objs
            ]

    # --- columns and tables ------------------------------------------------------------------

    def column(self, layer: _Layer, name: str, table: Table) -> Array:
        col = table.column(name)
        key_field = col.api_field in table.key_fields
        key = f"{col.name}:{col.type}:{col.transform}:{col.optional}:{key_field}"
        cached = layer.cache.get(key)
        if cached is not None:
            return cached
        api_field = col.api_field
        values = [obj.get(api_field) for obj in layer.objs]
        if key_field and col.absent_as is not None and None in values:
            # An older answer without the field: its rows are the total (registry `absent_as`).
            values = [
                v if api_field in obj else col.absent_as
                for obj, v in zip(layer.objs, values, strict=True)
            ]
        try:
            array = convert(col, values, nullable=not key_field)
        except BadValue as bad:
            path = layer.path + col.api_field
            raise self.error(int(layer.resp[bad.index]), path, bad.value, bad.reason) from None
        if not key_field and not col.optional:
            missing = _missing(array)
            if missing is not None:
                first = int(layer.resp[missing[0]])
                self.note(DriftKind.MISSING_FIELD, layer.path + api_field, len(missing), first)
        layer.cache[key] = array
        return array

    def check_ref_dates(self, items: _Layer, table: Table) -> None:
        """Every row's ref_date lies in its request's window (and is a period start)."""
        ref = np.asarray(self.column(items, "ref_date", table))
        if not len(ref):
            return
        begins = np.array([r.begin for r in self.responses], dtype="datetime64[us]")[items.resp]
        ends = np.array([r.end for r in self.responses], dtype="datetime64[us]")[items.resp]
        outside = (ref < begins) | (ref > ends)
        period = self.endpoint.period
        days = pd.DatetimeIndex(ref)
        if period is Period.WEEK:
            misaligned = np.asarray(days.day_of_week != 0)
        elif period is Period.MONTH:
            misaligned = np.asarray(days.day != 1)
        else:
            misaligned = np.zeros(len(ref), dtype=bool)
        bad = outside | misaligned
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            r = self.responses[int(items.resp[i])]
            value = str(days[i].date())
            if outside[i]:
                reason = f"outside the requested window {r.begin}..{r.end}"
            else:
                reason = f"not the first day of a {period.value}"
            raise self.error(int(items.resp[i]), "ref_date", value, reason)

    def frame(
        self, table: Table, layers: dict[Level, _Layer], index: dict[Level, Index | None]
    ) -> tuple[pd.DataFrame, Index]:
        """`table`'s rows: each column taken from its level and spread by `index`."""
        row_level = max(index, key=list(Level).index)
        row_resp = layers[row_level].resp
        accounts = pd.array(
            np.array([r.account_id for r in self.responses], dtype=object), dtype=TEXT_DTYPE
        )
        data: dict[str, Array] = {ACCOUNT_ID: accounts.take(row_resp)}
        for col in table.columns:
            array = self.column(layers[col.level], col.name, table)
            idx = index[col.level]
            data[col.name] = array if idx is None else _take(array, idx)
        frame = pd.DataFrame(data, copy=False)
        expected = frame_dtypes(table)
        for col in table.columns:  # a non-key column with missing values stays nullable
            if col.api_field not in table.key_fields and frame[col.name].hasnans:
                expected[col.name] = nullable_dtype(col)
        if dict(frame.dtypes.astype(str)) != expected:
            frame = frame.astype(expected)
        return frame, row_resp

    def check_unique(self, table: Table, frame: pd.DataFrame, row_resp: Index) -> None:
        key = [ACCOUNT_ID, *table.key]
        dup = frame.duplicated(subset=key)
        if not dup.any():
            return
        i = int(np.flatnonzero(dup.to_numpy())[0])
        row = frame.iloc[i]
        value = tuple(
            str(row[k].date())
            if isinstance(row[k], pd.Timestamp)
            else row[k].item()  # numpy scalars read as plain numbers in the message
            if isinstance(row[k], np.generic)
            else row[k]
            for k in table.key
        )
        raise self.error(
            int(row_resp[i]), ",".join(table.key), value, f"duplicate {table.name} key"
        )

    def count_codes(self, table: Table, frame: pd.DataFrame, row_resp: Index) -> None:
        for col in table.columns:
            codes = code_list(col)
            if codes is None or not len(frame):
                continue
            values = frame[col.name]
            unknown = ~values.isin(list(codes)).to_numpy()
            if not unknown.any():
                continue
            rows = np.flatnonzero(unknown)
            found, distinct = pd.factorize(values.iloc[rows])
            for i, value in enumerate(distinct):
                where = np.flatnonzero(found == i)
                plain = value.item() if isinstance(value, np.generic) else value
                what = f"{table.name}.{col.name}={plain}"
                self.note(DriftKind.UNKNOWN_CODE, what, len(where), int(row_resp[rows[where[0]]]))

    def run(self) -> None:
        items = self.items()
        nested = self.nested(items)
        main = self.endpoint.table
        self.check_ref_dates(items, main)
        tables: list[tuple[Table, dict[Level, _Layer], dict[Level, Index | None]]] = []
        if nested is None:
            tables.append((main, {Level.ITEM: items}, {Level.ITEM: None}))
        else:
            layers = {Level.ITEM: items, Level.NESTED: nested}
            tables.append((main, layers, {Level.ITEM: nested.parent, Level.NESTED: None}))
        for child in self.endpoint.child_tables:
            if nested is None or nested.parent is None:
                raise AssertionError(f"child table {child.name} needs a nested level")
            elements = self.elements(nested, child)
            assert elements.parent is not None
            tables.append(
                (
                    child,
                    {Level.ITEM: items, Level.NESTED: nested, Level.ELEMENT: elements},
                    {
                        Level.ITEM: nested.parent[elements.parent],
                        Level.NESTED: elements.parent,
                        Level.ELEMENT: None,
                    },
                )
            )
        for table, layers_, index in tables:
            frame, row_resp = self.frame(table, layers_, index)
            self.check_unique(table, frame, row_resp)
            self.count_codes(table, frame, row_resp)
            self.out.frames[table.name] = frame


def _missing(array: Array) -> Index | None:
    """Positions of the missing (NA) values of a converted column, None when there are none;
    in numpy: a non-key column is read for every row."""
    if isinstance(array, np.ndarray) and array.dtype.kind in "iu":
        return None  # numpy integers: the converter found no value missing
    where = np.flatnonzero(np.asarray(pd.isna(array)))
    return where if len(where) else None


def _take(array: Array, idx: Index) -> Array:
    if isinstance(array, np.ndarray):
        return array[idx]
    return array.take(idx)


def normalize_many(
    responses: Sequence[RawResponse], archive_ids: Sequence[int | None] | None = None
) -> Normalized:
    """Normalize many responses (any endpoints and accounts) into one frame per table.

    `archive_ids[i]` is the archive row of `responses[i]` (named in errors). Raises
    `InvalidPayloadError` at the first invalid value; nothing is returned then.
    """
    ids: Sequence[int | None] = [None] * len(responses) if archive_ids is None else archive_ids
    if len(ids) != len(responses):
        raise ValueError(f"{len(ids)} archive ids for {len(responses)} responses")
    by_endpoint: dict[str, list[int]] = {}
    for i, response in enumerate(responses):
        by_endpoint.setdefault(response.endpoint, []).append(i)
    out = Normalized()
    for name, positions in by_endpoint.items():
        endpoint = registry.get(name)
        _Run(endpoint, [responses[i] for i in positions], [ids[i] for i in positions], out).run()
    return out


def normalize(response: RawResponse, archive_id: int | None = None) -> Normalized:
    """Normalize one response; see `normalize_many`."""
    return normalize_many([response], [archive_id])
