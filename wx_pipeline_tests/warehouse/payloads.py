"""Valid datacube answers for any registry endpoint, built from the spec's field rules.

Used by the normalizer, loader and renormalize tests. Field names, nesting and code lists come
from the registry (so every endpoint is covered), values follow the spec: counters are
non-negative ints, hours HHMM, msgids "<id>_<index>", 2025 scene descriptions Chinese text.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wx_pipeline.registry import (
    Column,
    Endpoint,
    Level,
    Nesting,
    Table,
    Transform,
    period_start,
)
from wx_pipeline.warehouse.normalize.codes import code_list
from wx_pipeline.wechat.raw import RawResponse

FETCHED_AT = datetime(2025, 12, 1, 1, 0, tzinfo=UTC)


def _value(col: Column, rnd: random.Random, day: date, position: int) -> Any:
    codes = code_list(col)
    if codes is not None:
        return sorted(codes, key=str)[position % len(codes)]
    if col.transform is Transform.HHMM_TO_HOUR:
        return (position % 24) * 100
    if col.type == "date":
        return (day + timedelta(days=position)).isoformat()
    if col.type == "double precision":
        return round(rnd.random(), 4)
    if col.type == "text":
        return rnd.choice(["12月27日 DiLi日报", "马航丢画记", "", 'a, "quoted"\nline'])
    if col.name == "position":
        return position + 1
    return rnd.randint(0, 50_000)


def _object(
    table: Table, level: Level, rnd: random.Random, day: date, position: int
) -> dict[str, Any]:
    return {
        c.api_field: _value(c, rnd, day, position)
        for c in table.columns
        if c.level is level and c.transform not in (Transform.MSGID_DATA_ID, Transform.MSGID_INDEX)
    }


def items_for(
    endpoint: Endpoint, day: date, rows: int, seed: int = 0, *, dense: bool = False
) -> list[dict[str, Any]]:
    """`rows` list items for `day` (distinct keys), nested entries and child arrays included
    (`dense`: at least one nested entry and child element everywhere)."""
    low = 1 if dense else 0
    rnd = random.Random(f"{endpoint.name}{day}{seed}")
    table = endpoint.table
    items = []
    for i in range(rows):
        item = _object(table, Level.ITEM, rnd, day, i)
        item["ref_date"] = day.isoformat()
        if "msgid" in item:
            item["msgid"] = f"{2247483000 + i // 3}_{i % 3 + 1}"
        if endpoint.nesting is not Nesting.FLAT:
            count = 1 if endpoint.nesting is Nesting.DETAIL else rnd.randint(low, 3)
            entries = []
            for j in range(count):
                entry = _object(table, Level.NESTED, rnd, day, j)
                for child in endpoint.child_tables:
                    assert child.array_field is not None
                    entry[child.array_field] = [
                        _object(child, Level.ELEMENT, rnd, day, k)
                        for k in range(rnd.randint(low, 4))
                    ]
                entries.append(entry)
            nested = endpoint.nested_field
            assert nested is not None
            item[nested] = entries[0] if endpoint.nesting is Nesting.DETAIL else entries
        items.append(item)
    # Keep one item per item-level key (small code lists repeat after a few rows).
    fields = [table.column(k).api_field for k in table.key if table.column(k).level is Level.ITEM]
    unique = {tuple(item[f] for f in fields): item for item in reversed(items)}
    items = [item for item in items if unique[tuple(item[f] for f in fields)] is item]
    return items


def response(
    endpoint: Endpoint,
    day: date,
    items: list[dict[str, Any]] | None = None,
    *,
    account_id: str = "wx0123456789abcdef",
    end: date | None = None,
    fetched_at: datetime = FETCHED_AT,
    **extra: Any,
) -> RawResponse:
    """A RawResponse of `endpoint` for [day, end or day]."""
    body: dict[str, Any] = {"list": items if items is not None else items_for(endpoint, day, 5)}
    if endpoint.has_is_delay:
        body["is_delay"] = False
    body.update(extra)
    return RawResponse.of(account_id, endpoint.name, day, end or day, fetched_at, body)


def period_day(endpoint: Endpoint, near: date) -> date:
    """A valid ref_date for `endpoint` near `near` (a Monday / 1st for week / month grains)."""
    return period_start(endpoint.period, near)


def table_rows(endpoint: Endpoint, body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows as merged JSON objects (item + entry + element), straight from JSON."""
    rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in endpoint.tables}
    for item in body["list"]:
        if endpoint.nesting is Nesting.FLAT:
            rows[endpoint.table.name].append(item)
            continue
        nested = item[endpoint.nested_field or ""]
        for entry in [nested] if endpoint.nesting is Nesting.DETAIL else nested:
            rows[endpoint.table.name].append({**item, **entry})
            for child in endpoint.child_tables:
                for element in entry.get(child.array_field or "") or []:
                    rows[child.name].append({**item, **entry, **element})
    return rows
