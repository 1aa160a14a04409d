"""The semantic layer's metrics as SQL: rendered from the manifest `dbt parse` writes, refusing
what they cannot render, and the report's placeholders all resolving to them."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from wx_pipeline.marts.metrics import PLACEHOLDER, MetricError, metrics_from_manifest, render
from wx_pipeline.marts.run import prepare_manifest
from wx_pipeline.report.queries import SQL_DIR


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = prepare_manifest(tmp_path_factory.mktemp("dbt-target"))
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_ratios_are_ratios_of_sums_on_their_mart(manifest: dict[str, Any]) -> None:
    metrics = metrics_from_manifest(manifest)
    failure = metrics["callback_failure_rate"]
    assert failure.model == "fct_callback_latency_daily"
    assert failure.is_ratio
    assert failure.sql == "(sum(fail_count))::double precision / nullif(sum(callback_count), 0)"
    latency = metrics["callback_avg_latency_ms"]
    assert latency.sql == (
        "(sum(total_latency_ms))::double precision / nullif(sum(callback_count), 0)"
    )
    read_rate = metrics["article_read_rate"]
    assert read_rate.model == "fct_article_performance"
    assert read_rate.sql.endswith("/ nullif(sum(target_user), 0)")
    assert metrics["reads_per_day"].sql.endswith("/ nullif(count(distinct date_day), 0)")
    # No metric averages a mart's per-row ratio.
    for metric in metrics.values():
        assert not re.search(r"\b(avg|average)\(", metric.sql), metric.name
        assert "failure_rate)" not in metric.sql
        assert "avg_latency_ms)" not in metric.sql


def test_running_totals_say_they_do_not_add_up_over_days(manifest: dict[str, Any]) -> None:
    metrics = metrics_from_manifest(manifest)
    assert {n for n, m in metrics.items() if not m.additive_over_time} == {
        "followers",
        "net_growth_7d",
        "net_growth_28d",
    }
    assert metrics["net_growth"].additive_over_time
    assert metrics["net_growth"].sql == "sum(net_growth)"
    assert metrics["callback_max_latency_ms"].sql == "max(max_latency_ms)"


def test_every_metric_reads_a_mart_in_analytics(manifest: dict[str, Any]) -> None:
    marts = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "analytics"
    }
    metrics = metrics_from_manifest(manifest)
    assert len(metrics) >= 25
    assert {m.model for m in metrics.values()} <= marts
    assert all(m.label and m.description for m in metrics.values())


def _semantic_model(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = (s for s in manifest["semantic_models"].values() if s["name"] == name)
    assert isinstance(found, dict)
    return found


def test_what_it_cannot_render_is_refused(manifest: dict[str, Any]) -> None:
    averaged = copy.deepcopy(manifest)
    _semantic_model(averaged, "callbacks_daily")["measures"][0]["agg"] = "average"
    with pytest.raises(MetricError, match="aggregation 'average'"):
        metrics_from_manifest(averaged)

    cumulative = copy.deepcopy(manifest)
    cumulative["metrics"]["metric.wx_pipeline.net_growth"]["type"] = "cumulative"
    with pytest.raises(MetricError, match="type 'cumulative'"):
        metrics_from_manifest(cumulative)

    filtered = copy.deepcopy(manifest)
    ratio = filtered["metrics"]["metric.wx_pipeline.callback_failure_rate"]
    ratio["type_params"]["numerator"]["filter"] = {"where_filters": ["x"]}
    with pytest.raises(MetricError, match="filter"):
        metrics_from_manifest(filtered)


def test_the_reports_placeholders_are_all_metrics() -> None:
    used = {
        name
        for path in SQL_DIR.glob("*.sql")
        for name in PLACEHOLDER.findall(path.read_text(encoding="utf-8"))
    }
    assert {"callback_failure_rate", "callback_avg_latency_ms", "net_growth"} <= used
    rendered = render((SQL_DIR / "key_figures.sql").read_text(encoding="utf-8"))
    assert "{{" not in rendered
    assert "(sum(fail_count))::double precision / nullif(sum(callback_count), 0)" in rendered
    with pytest.raises(MetricError, match="no metric 'nonsense'"):
        render("select {{ metric('nonsense') }}")
