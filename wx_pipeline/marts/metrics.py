"""The metrics of the dbt semantic layer (`dbt/models/marts/_semantic.yml`) as SQL.

The semantic layer is where the marts' sums and ratios are defined, once; `dbt parse` validates
it and the dbt docs list it. Querying it through MetricFlow would add a query engine neither the
report nor Superset can use, so this module renders each metric as the one SQL aggregate
expression both need, over the columns of its mart: a simple metric is its measure's
aggregation (``sum``, ``max``, ``min``, ``count``, ``count_distinct``) of the measure's
expression, a ratio metric the ratio of two such aggregates (``::double precision``, NULL
when the denominator is 0, as the marts' ``ratio`` macro). Anything else the semantic layer
can express (filters, cumulative, derived or conversion metrics) is refused rather than
rendered wrong.

The definitions come from the manifest `dbt parse` writes (`make install` prepares it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from wx_pipeline.core.errors import WxUserError
from wx_pipeline.marts.run import read_manifest

#: Measure aggregations rendered, as SQL.
AGGREGATIONS: Final = {
    "sum": "sum({})",
    "max": "max({})",
    "min": "min({})",
    "count": "count({})",
    "count_distinct": "count(distinct {})",
}
#: `{{ metric('name') }}` in a .sql file (the report's queries).
PLACEHOLDER: Final = re.compile(r"\{\{\s*metric\(\s*'(\w+)'\s*\)\s*\}\}")


class MetricError(WxUserError):
    """A metric is unknown or uses what this module does not render."""


@dataclass(frozen=True)
class Metric:
    """One metric of the semantic layer, rendered."""

    name: str
    label: str
    description: str
    #: The mart (dbt model name) whose columns `sql` aggregates.
    model: str
    #: The aggregate expression, e.g. ``sum(fail_count)``.
    sql: str
    #: A ratio of two aggregates (a rate or an average), rather than a sum or an extreme.
    is_ratio: bool
    #: False for running totals and rolling sums: they add up over accounts, not over days.
    additive_over_time: bool


def _measures(manifest: Mapping[str, Any]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Every measure by name, with the model its semantic model reads."""
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for semantic_model in manifest["semantic_models"].values():
        (model_id,) = semantic_model["depends_on"]["nodes"]
        model = manifest["nodes"][model_id]["name"]
        for measure in semantic_model["measures"]:
            found[measure["name"]] = (model, measure)
    return found


def _aggregate(name: str, measures: Mapping[str, tuple[str, Mapping[str, Any]]]) -> str:
    _, measure = measures[name]
    template = AGGREGATIONS.get(measure["agg"])
    if template is None:
        raise MetricError(f"measure {name}: aggregation {measure['agg']!r} is not rendered")
    expression = " ".join((measure.get("expr") or name).split())
    return template.format(expression)


def _input_measure(metric: Mapping[str, Any], role: str) -> str:
    ref = metric["type_params"][role]
    if ref.get("filter") or ref.get("offset_window") or ref.get("offset_to_grain"):
        raise MetricError(f"metric {metric['name']}: a {role} with a filter or an offset")
    return str(ref["name"])


def metrics_from_manifest(manifest: Mapping[str, Any]) -> dict[str, Metric]:
    """Every metric of a parsed manifest, rendered (in the manifest's order)."""
    measures = _measures(manifest)
    by_name = {m["name"]: m for m in manifest["metrics"].values()}
    rendered: dict[str, Metric] = {}

    def simple(name: str) -> tuple[str, str, bool]:
        """The model, aggregate and additivity of the simple metric `name`."""
        metric = by_name[name]
        if metric["type"] != "simple" or metric.get("filter"):
            raise MetricError(f"metric {name}: only unfiltered simple metrics are ratio inputs")
        (measure,) = metric["type_params"]["input_measures"]
        model, props = measures[measure["name"]]
        return model, _aggregate(measure["name"], measures), not props["non_additive_dimension"]

    for name, metric in by_name.items():
        if metric["type"] == "simple":
            model, sql, additive = simple(name)
            is_ratio = False
        elif metric["type"] == "ratio":
            top_model, top, _ = simple(_input_measure(metric, "numerator"))
            bottom_model, bottom, _ = simple(_input_measure(metric, "denominator"))
            if top_model != bottom_model:
                raise MetricError(f"metric {name}: numerator and denominator on different marts")
            model, additive, is_ratio = top_model, True, True
            sql = f"({top})::double precision / nullif({bottom}, 0)"
        else:
            raise MetricError(f"metric {name}: type {metric['type']!r} is not rendered")
        rendered[name] = Metric(
            name=name,
            label=metric.get("label") or name,
            description=" ".join((metric.get("description") or "").split()),
            model=model,
            sql=sql,
            is_ratio=is_ratio,
            additive_over_time=additive,
        )
    return rendered


@dataclass(frozen=True)
class Dimension:
    """A dimension of the semantic layer computed from a mart's columns (an ``expr`` that is
    not just a column name), e.g. the weekday of a day."""

    name: str
    description: str
    model: str
    sql: str


def dimensions_from_manifest(manifest: Mapping[str, Any]) -> list[Dimension]:
    """Every dimension of a parsed manifest whose expression is more than a column name."""
    found = []
    for semantic_model in manifest["semantic_models"].values():
        (model_id,) = semantic_model["depends_on"]["nodes"]
        columns = manifest["nodes"][model_id]["columns"]
        for dimension in semantic_model["dimensions"]:
            expression = " ".join((dimension.get("expr") or dimension["name"]).split())
            if expression in columns:
                continue
            found.append(
                Dimension(
                    name=dimension["name"],
                    description=" ".join((dimension.get("description") or "").split()),
                    model=manifest["nodes"][model_id]["name"],
                    sql=expression,
                )
            )
    return found


@cache
def load_metrics() -> dict[str, Metric]:
    """The project's metrics, from its manifest."""
    return metrics_from_manifest(read_manifest())


def metric_sql(name: str) -> str:
    """The aggregate expression of metric `name`."""
    found = load_metrics().get(name)
    if found is None:
        raise MetricError(f"no metric {name!r} in the dbt semantic layer (_semantic.yml)")
    return found.sql


def render(sql: str) -> str:
    """`sql` with every ``{{ metric('name') }}`` replaced by that metric's expression."""
    return PLACEHOLDER.sub(lambda m: metric_sql(m.group(1)), sql)
