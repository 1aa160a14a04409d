"""Data-quality checks that read the fact tables back after a load.

The reconciliations the API promises (spec section 3): total followers move by the day's net
growth, hours add up to their day, and the ALL read source is the sum of the others. The
checks are generated from the registry (``hourly_of``, measures, keys) over SQL templates in
``sql/``. They run in one op over the run's partition window: each failing row is listed in
the check's metadata, so a backfill of a year is checked without a step per partition.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from wx_pipeline.core.clock import newest_final
from wx_pipeline.defs.ingestion import IngestionGroup
from wx_pipeline.defs.partitions import run_window
from wx_pipeline.defs.resources import WarehouseResource
from wx_pipeline.registry import Agg, Endpoint, Table
from wx_pipeline.registry.codes import ALL_SOURCES

_SQL_DIR = Path(__file__).with_name("sql")
_DEFAULT_DAYS = 7  # window checked when a check runs outside a partitioned run


@cache
def _template(name: str) -> str:
    return (_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class SqlCheck:
    """One reconciliation: a query returning the offending rows (none = passed)."""

    name: str
    asset: dg.AssetKey
    description: str
    sql: str
    extra_assets: tuple[dg.AssetKey, ...] = ()

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(self.asset, self.name)


def _keys(table: Table, drop: Sequence[str]) -> str:
    return "".join(f", {k}" for k in table.key if k not in ("ref_date", *drop))


def _mismatch(measures: Sequence[str], left: str, right: str) -> str:
    return " or ".join(f"coalesce({left}.{m}, 0) <> coalesce({right}.{m}, 0)" for m in measures)


def _hourly_check(hourly: Endpoint, daily: Endpoint, key_of: Mapping[str, dg.AssetKey]) -> SqlCheck:
    h, d = hourly.table, daily.table
    measures = [c for c in d.measures if c.name in {m.name for m in h.measures}]
    names = [c.name for c in measures]
    keys = _keys(h, drop=("hour",))
    sql = _template("hourly_vs_daily").format(
        hourly=h.name,
        daily=d.name,
        keys=keys,
        key_note=keys.replace(", ", " and ") if keys else "",
        hourly_measures=", ".join(
            f"{'max' if c.agg is Agg.MAX else 'sum'}({c.name}) as {c.name}" for c in measures
        ),
        daily_measures=", ".join(names),
        mismatch=_mismatch(names, "hourly", "daily"),
    )
    asset, daily_asset = key_of[h.name], key_of[d.name]
    return SqlCheck(
        name=f"{h.name}_adds_up_to_{d.name}",
        asset=asset,
        description=f"The hours of {h.name} add up to {d.name} ({', '.join(names)}).",
        sql=sql,
        extra_assets=() if daily_asset == asset else (daily_asset,),
    )


def _all_row_check(table: Table, asset: dg.AssetKey) -> SqlCheck:
    names = [c.name for c in table.measures]
    keys = _keys(table, drop=("user_source",))
    sql = _template("all_row_vs_sources").format(
        table=table.name,
        keys=keys,
        key_note=keys.replace(", ", " and ") if keys else "",
        sum_measures=", ".join(f"sum({m}) as {m}" for m in names),
        measures=", ".join(names),
        mismatch=_mismatch(names, "total", "sources"),
    )
    return SqlCheck(
        name=f"{table.name}_all_row_is_sum_of_sources",
        asset=asset,
        description=f"In {table.name}, the ALL row ({ALL_SOURCES}) equals the sum of the sources.",
        sql=sql,
    )


def sql_checks(groups: Sequence[IngestionGroup]) -> list[SqlCheck]:
    """Every reconciliation the registry implies, attached to the asset that loads it."""
    endpoints = {e.name: e for g in groups for e in g.endpoints}
    key_of = {t: g.key for g in groups for t in g.tables}
    checks: list[SqlCheck] = []
    if "user_cumulate" in key_of and "user_summary" in key_of:
        checks.append(
            SqlCheck(
                name="followers_reconcile",
                asset=key_of["user_cumulate"],
                description="The day-over-day change of total followers equals the day's net "
                "growth (new - cancelled over all sources).",
                sql=_template("follower_reconciliation"),
            )
        )
    for e in endpoints.values():
        if e.hourly_of and e.hourly_of in endpoints:
            checks.append(_hourly_check(e, endpoints[e.hourly_of], key_of))
        if any(c.name == "user_source" for c in e.table.columns) and e.table.name.startswith(
            "user_read"
        ):
            checks.append(_all_row_check(e.table, key_of[e.table.name]))
    return checks


def _window(context: dg.AssetCheckExecutionContext) -> tuple[date, date]:
    """The Beijing dates of the run's partition (range), or the last final days when
    unpartitioned."""
    window = run_window(context.run.tags)
    if window is not None:
        return window
    last = newest_final()
    return last - timedelta(days=_DEFAULT_DAYS - 1), last


def build_reconciliation_checks(groups: Sequence[IngestionGroup]) -> dg.AssetChecksDefinition:
    """One op that evaluates whichever reconciliations the run selected."""
    checks = {c.key: c for c in sql_checks(groups)}

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                c.name,
                asset=c.asset,
                description=c.description,
                additional_deps=list(c.extra_assets),
            )
            for c in checks.values()
        ],
        can_subset=True,
        name="reconciliations",
    )
    def _reconcile(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        first, last = _window(context)
        with warehouse.engine().connect() as conn:
            for key in context.selected_asset_check_keys:
                check = checks[key]
                bad = conn.execute(sa.text(check.sql), {"first": first, "last": last}).all()
                yield dg.AssetCheckResult(
                    asset_key=check.asset,
                    check_name=check.name,
                    passed=not bad,
                    metadata={
                        "first_date": first.isoformat(),
                        "last_date": last.isoformat(),
                        "mismatches": len(bad),
                        "examples": "\n".join(str(tuple(r)) for r in bad[:10]) or "none",
                    },
                )

    return _reconcile
