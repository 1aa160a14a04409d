"""Property tests: normalizing never loses or invents a row, and keeps every key and counter.

Payloads are drawn for every registry endpoint: random item counts (0 included), nested entries
and child elements, values over the whole valid range (unknown codes, empty and odd text,
optional fields sent, null or absent), underscore-less spellings and extra fields mixed in. The
expectation is computed by walking the JSON, not by the normalizer's code.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wx_pipeline.registry import (
    ENDPOINTS,
    Column,
    Endpoint,
    Level,
    Nesting,
    Table,
    Transform,
    period_start,
)
from wx_pipeline.warehouse.normalize import DriftKind, normalize
from wx_pipeline.warehouse.normalize.codes import code_list
from wx_pipeline.wechat.raw import RawResponse
from wx_pipeline_tests.warehouse.payloads import FETCHED_AT, table_rows

ABSENT = object()
EXTRA = "zz_new_field"


def value_of(col: Column) -> st.SearchStrategy[Any]:
    codes = code_list(col)
    if codes is not None:
        unknown = st.text(max_size=6) if col.type == "text" else st.integers(0, 2**15 - 1)
        return st.one_of(st.sampled_from(sorted(codes, key=str)), unknown)
    if col.transform is Transform.HHMM_TO_HOUR:
        return st.sampled_from(range(0, 2400, 100))
    if col.name == "msgid":
        return st.builds(lambda m, i: f"{m}_{i}", st.integers(0, 2**62), st.integers(1, 8))
    if col.type == "date":
        return st.dates(date(2014, 12, 1), date(2026, 12, 31)).map(date.isoformat)
    if col.type == "text":
        return st.text(max_size=20)
    if col.type == "double precision":
        return st.floats(allow_nan=False, allow_infinity=False)
    if col.type == "bigint":
        value: st.SearchStrategy[Any] = st.integers(0, 2**63 - 1)
        return st.one_of(value, st.none(), st.just(ABSENT)) if col.optional else value
    return st.integers(1, 5)  # position


def fields_at(tables: tuple[Table, ...], level: Level) -> dict[str, Column]:
    return {
        c.api_field: c
        for t in tables
        for c in t.columns
        if c.level is level and c.transform not in (Transform.MSGID_DATA_ID, Transform.MSGID_INDEX)
    }


@st.composite
def obj(draw: st.DrawFn, columns: dict[str, Column]) -> dict[str, Any]:
    out = {}
    for name, col in columns.items():
        value = draw(value_of(col))
        if value is not ABSENT:
            out[name] = value
    if draw(st.booleans()):
        out = {k.replace("_", ""): v for k, v in out.items()}
    if draw(st.integers(0, 4)) == 0:
        out[EXTRA] = 1
    return out


def canonical(o: dict[str, Any], name: str) -> Any:
    return o.get(name, o.get(name.replace("_", "")))


def unique(objs: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for o in objs:
        seen.setdefault(tuple(canonical(o, f) for f in fields), o)
    return list(seen.values())


def key_fields(table: Table, level: Level) -> list[str]:
    return [table.column(k).api_field for k in table.key if table.column(k).level is level]


@st.composite
def answers(draw: st.DrawFn, endpoint: Endpoint) -> RawResponse:
    day = period_start(endpoint.period, draw(st.dates(date(2015, 1, 1), date(2026, 6, 1))))
    main = endpoint.table
    items = draw(st.lists(obj(fields_at((main,), Level.ITEM)), max_size=6))
    for item in items:
        item["ref_date" if "ref_date" in item else "refdate"] = day.isoformat()
    items = unique(items, key_fields(main, Level.ITEM))
    nested_name = endpoint.nested_field
    for item in items:
        if nested_name is None:
            continue
        entries = draw(
            st.lists(obj(fields_at(endpoint.tables, Level.NESTED)), min_size=1, max_size=4)
        )
        entries = unique(entries, key_fields(main, Level.NESTED))
        for entry in entries:
            for child in endpoint.child_tables:
                assert child.array_field is not None
                elements = draw(st.lists(obj(fields_at((child,), Level.ELEMENT)), max_size=5))
                entry[child.array_field] = unique(elements, key_fields(child, Level.ELEMENT))
        item[nested_name] = entries[0] if endpoint.nesting is Nesting.DETAIL else entries
    return RawResponse.of("wxprop", endpoint.name, day, day, FETCHED_AT, {"list": items})


def plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value.item() if hasattr(value, "item") else value


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rows_keys_and_counters_survive_normalization(
    endpoint: Endpoint, data: st.DataObject
) -> None:
    answer = data.draw(answers(endpoint))
    result = normalize(answer)
    expected = table_rows(endpoint, answer.body)
    for table in endpoint.tables:
        frame = result.frames[table.name]
        rows = expected[table.name]
        assert len(frame) == len(rows), table.name
        # Every key, as sent (hours HHMM -> 0..23), in order.
        want_keys = []
        for row in rows:
            key = []
            for name in table.key:
                col = table.column(name)
                raw = canonical(row, col.api_field)
                key.append(raw // 100 if col.transform is Transform.HHMM_TO_HOUR else raw)
            want_keys.append(tuple(key))
        got_keys = [
            tuple(plain(v) for v in rec) for rec in frame[list(table.key)].itertuples(index=False)
        ]
        assert got_keys == want_keys
        # Counters: same values row by row (NULL where an optional one was absent or null).
        for col in table.columns:
            if col.type != "bigint" or col.transform is not Transform.NONE:
                continue
            want = [canonical(row, col.api_field) for row in rows]
            got = [None if pd.isna(v) else int(v) for v in frame[col.name]]
            assert got == want, col.name
    drift = sum(1 for rows in walk_objects(endpoint, answer.body) for o in rows if EXTRA in o)
    assert sum(result.drift.counts(DriftKind.UNKNOWN_FIELD).values()) == drift


def walk_objects(endpoint: Endpoint, body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """All JSON objects by level: items, entries, elements."""
    items = body["list"]
    entries: list[dict[str, Any]] = []
    elements: list[dict[str, Any]] = []
    for item in items:
        if endpoint.nesting is Nesting.FLAT:
            continue
        nested = item[endpoint.nested_field or ""]
        for entry in [nested] if endpoint.nesting is Nesting.DETAIL else nested:
            entries.append(entry)
            for child in endpoint.child_tables:
                elements.extend(entry.get(child.array_field or "") or [])
    return [items, entries, elements]


def test_msgid_split_round_trips() -> None:
    @given(st.integers(0, 2**63 - 1), st.integers(0, 2**15 - 1))
    @settings(max_examples=50, deadline=None)
    def check(message_id: int, index: int) -> None:
        endpoint = next(e for e in ENDPOINTS if e.name == "getarticleshare")
        item = {
            "ref_date": "2025-11-03",
            "msgid": f"{message_id}_{index}",
            "detail": {"share_user": 1},
        }
        answer = RawResponse.of(
            "wx", endpoint.name, date(2025, 11, 3), date(2025, 11, 3), FETCHED_AT, {"list": [item]}
        )
        row = normalize(answer).frames["article_share"].iloc[0]
        assert (int(row["msg_data_id"]), int(row["article_index"])) == (message_id, index)
        assert row["msgid"] == f"{message_id}_{index}"

    check()


def test_dates_in_window_accepted_for_every_day_of_a_span() -> None:
    endpoint = next(e for e in ENDPOINTS if e.name == "getusersummary")
    begin = date(2024, 2, 26)
    items = [
        {
            "ref_date": (begin + timedelta(days=d)).isoformat(),
            "user_source": 0,
            "new_user": d,
            "cancel_user": 0,
        }
        for d in range(7)
    ]
    answer = RawResponse.of(
        "wx", endpoint.name, begin, begin + timedelta(days=6), FETCHED_AT, {"list": items}
    )
    frame = normalize(answer).frames["user_summary"]
    assert frame["new_user"].tolist() == list(range(7))
