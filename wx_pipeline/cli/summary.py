"""What the CLI prints after a run: the rows and API calls per asset, the key metrics from
the marts, warnings (retired endpoints, drift) and where the report is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from wx_pipeline.warehouse.normalize.drift import Drift


@dataclass
class RunSummary:
    """What ``wx-pipeline run`` prints: per asset rows and API calls, and the run's timing."""

    first: date
    last: date
    run_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # per fact table
    api_calls: dict[str, tuple[int, int]] = field(default_factory=dict)  # asset -> (made, min)
    seconds: float = 0.0
    metrics: list[dict[str, str]] = field(default_factory=list)  # one row per account
    retired: set[str] = field(default_factory=set)  # endpoints WeChat retired (47009): skipped
    report: str | None = None  # the HTML report the marts' run wrote
    #: What real answers differed in (unknown fields and codes, fields left out): once each.
    drift: Drift = field(default_factory=Drift)


@dataclass
class HistorySummary:
    """What ``wx-pipeline history`` prints."""

    summary: str
    calls: int = 0  # datacube calls the fill made
    planned: int = 0  # the windows it planned: the fewest calls for what it loaded
    run_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0


def op_metadata(result: Any) -> dict[str, Any]:
    """The metadata of the run's (one) output, as plain values."""
    for event in result.all_events:
        if event.is_successful_output:
            return {k: v.value for k, v in event.event_specific_data.metadata.items()}
    return {}


#: Key-metric columns of the summary: heading -> column of key_metrics.sql.
METRICS = {
    "account": "account_id",
    "followers at end": "followers",
    "net growth": "net_growth",
    "callbacks": "callbacks",
    "avg latency ms": "avg_latency_ms",
    "articles sent": "articles",
}


def key_metrics(url: str, first: date, last: date) -> list[dict[str, str]]:
    """One row of headline figures per account, from the marts (none before dbt has run)."""
    import sqlalchemy as sa

    from wx_pipeline.warehouse.db import make_engine

    query = sa.text((Path(__file__).with_name("sql") / "key_metrics.sql").read_text())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if (
                conn.execute(
                    sa.text("select to_regclass('analytics.fct_follower_growth_daily')")
                ).scalar()
                is None
            ):
                return []
            rows = conn.execute(query, {"first": first, "last": last}).mappings().all()
    finally:
        engine.dispose()
    return [{head: _fmt(row[col]) for head, col in METRICS.items()} for row in rows]


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{int(value):,}"


def collect(result: Any, summary: RunSummary) -> None:
    from wx_pipeline.defs.ingestion import DRIFT_KEY

    seen: set[str] = set()
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        name = "/".join(mat.asset_key.path)
        if name in seen:  # one event per partition, same metadata
            continue
        seen.add(name)
        meta = {k: v.value for k, v in mat.metadata.items()}
        for key, value in meta.items():
            if key.startswith("rows/"):
                summary.rows[key[5:]] = summary.rows.get(key[5:], 0) + int(value)
        if "api_calls" in meta:
            summary.api_calls[name] = (int(meta["api_calls"]), int(meta["api_calls_minimum"]))
        if name == "analytics/report":
            summary.report = str(meta["path"])
        if meta.get("retired_endpoints"):
            summary.retired.update(str(meta["retired_endpoints"]).split(", "))
    for check in result.get_asset_check_evaluations():
        if check.check_name == "no_schema_drift" and DRIFT_KEY in check.metadata:
            summary.drift.update(Drift.from_json(check.metadata[DRIFT_KEY].value))


def print_summary(summary: RunSummary) -> None:
    """The table ``wx-pipeline run`` ends with."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows = Table(title=f"wx-pipeline run {summary.first} .. {summary.last}")
    rows.add_column("fact table")
    rows.add_column("rows", justify="right")
    for table, n in sorted(summary.rows.items()):
        rows.add_row(f"wechat.{table}", f"{n:,}")
    rows.add_row("[bold]total", f"[bold]{sum(summary.rows.values()):,}")
    console.print(rows)
    calls = Table(title="API calls")
    calls.add_column("asset")
    calls.add_column("made", justify="right")
    calls.add_column("minimum", justify="right")
    for asset, (made, minimum) in sorted(summary.api_calls.items()):
        calls.add_row(asset, f"{made:,}", f"{minimum:,}")
    console.print(calls)
    if summary.metrics:
        metrics = Table(title="Key metrics (from the analytics marts)")
        for i, heading in enumerate(METRICS):
            if i == 0:  # app ids are what users search for: never cut them
                metrics.add_column(heading, no_wrap=True, min_width=18)
            else:
                metrics.add_column(heading, justify="right")
        for row in summary.metrics:
            metrics.add_row(*row.values())
        console.print(metrics)
    for name in sorted(summary.retired):
        console.print(f"warning: {name} is retired by WeChat (47009): skipped, not a failure")
    for line in summary.drift.lines():
        console.print(f"warning: {line}")
    if summary.report:
        console.print(f"report: {summary.report}")
    console.print(f"done in {summary.seconds:.1f} s; runs: {', '.join(summary.run_ids)}")
