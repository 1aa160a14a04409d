"""The report's reads: one .sql file per section in sql/, run against the `analytics` marts with
bound parameters (accounts as a text array, the period, the latency threshold, top N); the
sums and ratios they share with the dashboards come from the dbt semantic layer
(`{{ metric('name') }}`, see wx_pipeline/marts/metrics.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from wx_pipeline.core.clock import newest_final
from wx_pipeline.core.errors import WxUserError
from wx_pipeline.marts import metrics
from wx_pipeline.report.model import DEFAULT_DAYS, KeyFigures, Period, ReportData, Row

SQL_DIR = Path(__file__).with_name("sql")
#: Section queries, run for every report; each file's stem names its rows in ReportData.
SECTION_QUERIES = (
    "followers_daily",
    "follower_sources",
    "article_leaderboard",
    "article_read_sources",
    "reads_by_weekday_hour",
    "messages_by_type",
    "message_senders",
    "callbacks_daily",
)
#: Marts the queries read; all must exist (dbt has built them) before a report can be made.
MARTS = (
    "dim_account",
    "dim_date",
    "fct_follower_growth_daily",
    "fct_follower_sources_daily",
    "fct_article_performance",
    "fct_reads_hourly",
    "fct_message_activity_daily",
    "fct_callback_latency_daily",
)


class ReportError(WxUserError):
    """The report cannot be made as asked (marts missing, an empty period); one line."""


@cache
def statement(name: str) -> sa.TextClause:
    """The query in sql/<name>.sql, its ``{{ metric('...') }}`` rendered from the semantic layer."""
    return sa.text(metrics.render((SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")))


def _rows(conn: Connection, name: str, params: Mapping[str, Any]) -> list[Row]:
    return [dict(r) for r in conn.execute(statement(name), dict(params)).mappings()]


def require_marts(conn: Connection) -> None:
    missing = [
        m
        for m in MARTS
        if conn.execute(sa.text("select to_regclass(:name)"), {"name": f"analytics.{m}"}).scalar()
        is None
    ]
    if missing:
        raise ReportError(
            f"the analytics marts are not built yet (missing: {', '.join(missing)}): "
            "run the pipeline or `wx-pipeline dbt build` first"
        )


def resolve(
    conn: Connection,
    accounts: Sequence[str] | None,
    first: date | None,
    last: date | None,
) -> tuple[list[str], Period]:
    """The accounts (None or empty: every account in dim_account) and the period (no end: the
    newest day the selected accounts have data for; no start: DEFAULT_DAYS days to the end)."""
    known = _rows(conn, "accounts", {})
    selected = list(dict.fromkeys(accounts)) if accounts else [r["account_id"] for r in known]
    if last is None:
        ends = [r["last_data_date"] for r in known if r["account_id"] in selected]
        last = max(ends) if ends else newest_final()
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ReportError(f"report period: the first day {first} is after the last day {last}")
    return selected, Period(first, last)


def fetch(
    conn: Connection,
    accounts: Sequence[str],
    period: Period,
    *,
    names: Mapping[str, str],
    latency_threshold_ms: float,
    top_articles: int,
) -> ReportData:
    """Every section's rows and the key figures of `accounts` over `period`."""
    params = {
        "accounts": list(accounts),
        "first": period.first,
        "last": period.last,
        "threshold": latency_threshold_ms,
        "top": top_articles,
    }
    figures = tuple(
        KeyFigures.from_row(r, names.get(r["account_id"], r["account_id"]))
        for r in _rows(conn, "key_figures", params)
    )
    return ReportData(
        period=period,
        latency_threshold_ms=latency_threshold_ms,
        top_articles=top_articles,
        figures=figures,
        rows={name: _rows(conn, name, params) for name in SECTION_QUERIES},
    )
