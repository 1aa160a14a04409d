"""The exact shape of an endpoint's list items, read from the registry: field names, which
level they sit at, nested objects and arrays, optional fields and known undocumented extras.

Generators hand ``conform`` a dict of values; it returns the item in registry order and raises
on a missing required field or a field the registry does not know, so the simulator cannot
drift from the registry unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from wx_pipeline.wechat.endpoints import BY_NAME, Level, Nesting


@dataclass(frozen=True)
class Shape:
    item_fields: tuple[str, ...]
    nested_field: str | None
    nested_is_list: bool
    nested_fields: tuple[str, ...]
    arrays: dict[str, tuple[str, ...]]  # array field (inside the nested entry) -> element fields
    optional: frozenset[str]


def _unique(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


@cache
def shape_of(endpoint_name: str) -> Shape:
    ep = BY_NAME[endpoint_name]
    cols = [c for t in ep.tables for c in t.columns]
    arrays = {
        t.array_field: _unique([c.api_field for c in t.columns if c.level is Level.ELEMENT])
        for t in ep.child_tables
        if t.array_field
    }
    return Shape(
        item_fields=_unique(
            [c.api_field for c in cols if c.level is Level.ITEM] + sorted(ep.known_extra_fields)
        ),
        nested_field=ep.nested_field,
        nested_is_list=ep.nesting in (Nesting.DETAILS, Nesting.DETAIL_LIST),
        nested_fields=_unique(
            [c.api_field for c in cols if c.level is Level.NESTED] + list(arrays)
        ),
        arrays=arrays,
        optional=frozenset(c.api_field for c in cols if c.optional),
    )


def _pick(
    fields: tuple[str, ...],
    values: dict[str, Any],
    optional: frozenset[str],
    where: str,
    extra_ok: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    unknown = set(values) - set(fields) - extra_ok
    if unknown:
        raise KeyError(f"{where}: fields not in the registry: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name in fields:
        if name in values:
            out[name] = values[name]
        elif name not in optional:
            raise KeyError(f"{where}: required field {name!r} missing")
    return out


def conform(endpoint_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as the API sends it: registry order, registry names, nothing else."""
    shape = shape_of(endpoint_name)
    nested_key = frozenset({shape.nested_field}) if shape.nested_field else frozenset()
    item = _pick(shape.item_fields, values, shape.optional, endpoint_name, nested_key)
    if shape.nested_field is None:
        return item
    raw = values[shape.nested_field]
    entries = raw if shape.nested_is_list else [raw]
    shaped = []
    for entry in entries:
        nested = _pick(shape.nested_fields, entry, shape.optional, endpoint_name)
        for array, fields in shape.arrays.items():
            nested[array] = [
                _pick(fields, element, shape.optional, f"{endpoint_name}.{array}")
                for element in nested[array]
            ]
        shaped.append(nested)
    item[shape.nested_field] = shaped if shape.nested_is_list else shaped[0]
    return item
