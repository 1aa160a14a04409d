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

from wx_pipeline.registry import BY_NAME, Level, Nesting


@dataclass(frozen=True)
class Shape:
    item_fields: tuple[str, ...]
    nested_field: str | None
    nested_is_list: bool
    nested_fields: tuple[str, ...]
    arrays: dict[str, tuple[str, ...]]  # array field (inside the nested entry) -> element fields
    optional: frozenset[str]
    nested_key: frozenset[str]  # the nested field, allowed beside the item fields


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
        nested_key=frozenset({ep.nested_field}) if ep.nested_field else frozenset(),
    )


@cache
def _plan(
    fields: tuple[str, ...],
    keys: tuple[str, ...],
    optional: frozenset[str],
    where: str,
    extra_ok: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """The fields to copy, in registry order, for a dict with ``keys``; raises as ``_pick``.

    Checked once per distinct key tuple: generators build their dicts alike day after day."""
    unknown = set(keys) - set(fields) - extra_ok
    if unknown:
        raise KeyError(f"{where}: fields not in the registry: {sorted(unknown)}")
    present = set(keys)
    out: list[str] = []
    for name in fields:
        if name in present:
            out.append(name)
        elif name not in optional:
            raise KeyError(f"{where}: required field {name!r} missing")
    return tuple(out)


def _pick(
    fields: tuple[str, ...],
    values: dict[str, Any],
    optional: frozenset[str],
    where: str,
    extra_ok: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    keys = tuple(values)
    plan = _plan(fields, keys, optional, where, extra_ok)
    # Generators build fresh dicts, so one already in registry order can be passed on as is.
    return values if plan == keys else {name: values[name] for name in plan}


def conform(endpoint_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as the API sends it: registry order, registry names, nothing else.

    ``values`` (and its nested dicts) must be freshly built: they may be returned, or updated
    in place, rather than copied."""
    shape = shape_of(endpoint_name)
    if shape.nested_field is None:
        return _pick(shape.item_fields, values, shape.optional, endpoint_name)
    keys = tuple(values)
    plan = _plan(shape.item_fields, keys, shape.optional, endpoint_name, shape.nested_key)
    raw = values[shape.nested_field]
    # The nested field goes last; already there, the dict can be reused like in ``_pick``.
    in_order = keys[-1] == shape.nested_field and keys[:-1] == plan
    item = values if in_order else {name: values[name] for name in plan}
    entries = raw if shape.nested_is_list else [raw]
    shaped = []
    for entry in entries:
        nested = _pick(shape.nested_fields, entry, shape.optional, endpoint_name)
        for array, fields in shape.arrays.items():
            nested[array] = _pick_all(
                fields, nested[array], shape.optional, f"{endpoint_name}.{array}"
            )
        shaped.append(nested)
    item[shape.nested_field] = shaped if shape.nested_is_list else shaped[0]
    return item


def _pick_all(
    fields: tuple[str, ...], values: list[dict[str, Any]], optional: frozenset[str], where: str
) -> list[dict[str, Any]]:
    """``_pick`` of every dict; runs of dicts with the same keys are checked once."""
    out: list[dict[str, Any]] = []
    seen: tuple[str, ...] | None = None
    plan: tuple[str, ...] = ()
    for value in values:
        keys = tuple(value)
        if keys != seen:
            plan = _plan(fields, keys, optional, where)
            seen = keys
        out.append(value if plan == keys else {name: value[name] for name in plan})
    return out


def conform_all(endpoint_name: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``conform`` of every item (see there)."""
    shape = shape_of(endpoint_name)
    if shape.nested_field is not None:
        return [conform(endpoint_name, item) for item in items]
    return _pick_all(shape.item_fields, items, shape.optional, endpoint_name)
